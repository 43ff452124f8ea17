"""Messages of the waiting list: every state change told to the person by SMS (file backend)
and e-mail (a real SMTP server on loopback), the proposal told to the GP; never twice, never a
health detail, a failure never undoes the change and is sent by a later call."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from maillage.accounts.models import AuditEvent
from maillage.care.attachment import notify, tasks
from maillage.care.attachment.models import Notice, Transition
from maillage.care.attachment.services import requests as service

from ..scheduling.test_booking_notify import _free_port
from ..scheduling.test_booking_notify import smtp as smtp  # the fixture
from .conftest import SAINT_DIZIER

CRITERIA = {"ald": True, "pregnancy": True, "months_without_gp": 8}
NOTE = "Diabète de type 2, insuline"


@pytest.fixture
def sms_dir(settings, tmp_path):
    settings.MAILLAGE_SMS_BACKEND = "file"
    settings.MAILLAGE_SMS_FILE_PATH = tmp_path / "sms"
    return tmp_path / "sms"


def sms_texts(folder) -> list[str]:
    """The SMS written, in the order sent (their "Date :" line)."""
    if not folder.exists():
        return []
    texts = [p.read_text(encoding="utf-8") for p in folder.iterdir()]
    return sorted(texts, key=lambda t: t.split("Date : ", 1)[1][:32])


def make_request(capture, worker):
    traits = {
        "birth_name": "ZORGBELIN", "first_names": "Philomène", "sex": "F",
        "birth_date": dt.date(1941, 2, 17), "phone": "+33353010042",
        "email": "mina.zorgbelin@example.org",
    }  # fmt: skip
    with capture(execute=True):
        made = service.create_request(
            None, traits=traits, commune_id=SAINT_DIZIER, criteria=CRITERIA, channel="web",
            consent=True, note=NOTE,
        )  # fmt: skip
    worker()  # the messages leave from the task queue
    return made


def bodies(inbox) -> list[tuple[list[str], str, str]]:
    return [
        (to, m["Subject"], m.get_body(preferencelist=("plain",)).get_content())
        for to, m in inbox.messages
    ]


def test_each_change_reaches_the_person_and_the_proposal_the_gp_without_health_details(
    demo_db, gp_near, gp_user, sms_dir, smtp, django_capture_on_commit_callbacks, worker
):
    gp_user.email = "dr.proche@example.org"
    gp_user.save()
    request = make_request(django_capture_on_commit_callbacks, worker)
    [first] = sms_texts(sms_dir)
    assert "est enregistrée" in first and request.reference in first
    [(to, subject, body)] = bodies(smtp)
    assert to == ["mina.zorgbelin@example.org"] and request.reference in body
    with django_capture_on_commit_callbacks(execute=True):
        proposal = service.propose(request, gp_near, distance_km=1.0, reasons=["proche"])
    worker()
    mails = bodies(smtp)
    [gp_mail] = [m for m in mails if m[0] == ["dr.proche@example.org"]]
    assert "Saint-Dizier" in gp_mail[2] and "/soins/medecin-traitant/" in gp_mail[2]
    assert "ZORGBELIN" not in gp_mail[2] and "Philomène" not in gp_mail[2]
    assert "sollicité" in sms_texts(sms_dir)[-1]
    with django_capture_on_commit_callbacks(execute=True):
        service.accept(gp_user, proposal)
    worker()
    assert "Dr Test PROCHE" in sms_texts(sms_dir)[-1]
    with django_capture_on_commit_callbacks(execute=True):
        service.register_patient(gp_user, proposal)
    worker()
    assert "est déclaré" in sms_texts(sms_dir)[-1]
    texts = sms_texts(sms_dir) + [b for _, _, b in bodies(smtp)]
    assert len(sms_texts(sms_dir)) == 4 and len(smtp.messages) == 5  # 4 to her, 1 to the GP
    for text in texts:  # never a health detail
        for word in ("Diabète", "insuline", "ALD", "grossesse", "enceinte", "priorité :"):
            assert word not in text
    # never twice: sending the changes again leaves nothing
    for step in Transition.objects.filter(request=request):
        assert notify.notify_transition(step.pk) == 0
    assert len(sms_texts(sms_dir)) == 4 and len(smtp.messages) == 5
    assert Notice.objects.filter(status="sent").count() == 9
    assert AuditEvent.objects.filter(purpose="notification").count() == 9  # 8 + the GP's


def test_a_decline_and_an_expiry_tell_the_person_she_keeps_her_place(
    demo_db, gp_near, gp_user, sms_dir, settings, django_capture_on_commit_callbacks, worker
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    request = make_request(django_capture_on_commit_callbacks, worker)
    with django_capture_on_commit_callbacks(execute=True):
        service.decline(gp_user, service.propose(request, gp_near, distance_km=1, reasons=[]))
    worker()
    assert "ne peut pas vous accueillir" in sms_texts(sms_dir)[-1]
    with django_capture_on_commit_callbacks(execute=True):
        service.propose(request, gp_near, distance_km=1, reasons=[])
        service.expire_overdue(timezone.now() + dt.timedelta(days=30))
    worker()
    assert "n'a pas répondu à temps" in sms_texts(sms_dir)[-1]
    assert len(sms_texts(sms_dir)) == 5


def test_an_smtp_server_down_never_undoes_the_change_and_a_later_call_sends(
    demo_db, gp_near, sms_dir, settings, smtp, django_capture_on_commit_callbacks, worker
):
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = _free_port()  # nobody listens
    settings.EMAIL_TIMEOUT = 2
    request = make_request(django_capture_on_commit_callbacks, worker)
    request.refresh_from_db()
    assert request.state == "requested"
    failed = Notice.objects.get(medium="email")
    assert failed.status == "failed" and failed.error == "ConnectionRefusedError"
    assert Notice.objects.get(medium="sms").status == "sent"
    # the task tries again later (5 minutes): nothing runs before then
    [retry] = DBTaskResult.objects.filter(status="READY", task_path=tasks.send_notices.module_path)
    assert retry.run_after > timezone.now() + dt.timedelta(minutes=4)
    assert retry.args_kwargs["args"] == [failed.transition_id, 1]
    settings.EMAIL_PORT = port
    worker()
    assert len(smtp.messages) == 0
    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())  # time passes
    worker()
    assert len(smtp.messages) == 1 and len(sms_texts(sms_dir)) == 1  # only the e-mail, again
    assert Notice.objects.get(medium="email").status == "sent"
    assert notify.notify_transition(failed.transition_id) == 0


def test_a_matching_request_does_not_wait_for_the_messages(
    demo_db, gp_near, sms_dir, smtp, django_capture_on_commit_callbacks, worker
):
    request = make_request(django_capture_on_commit_callbacks, worker)
    sent = len(sms_texts(sms_dir)), len(smtp.messages)
    with django_capture_on_commit_callbacks(execute=True):
        service.propose(request, gp_near, distance_km=1.0, reasons=["proche"])
    assert (len(sms_texts(sms_dir)), len(smtp.messages)) == sent  # queued, not sent yet
    worker()
    assert len(sms_texts(sms_dir)) == sent[0] + 1
