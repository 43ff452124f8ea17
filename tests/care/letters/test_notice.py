"""The MSSanté notice of a discharge letter, through the real database worker and a real SMTP
server on loopback: it reaches the GP's MSSanté address with the signed link and no health
detail, following the link acknowledges the letter, it is never sent twice (re-import, second
task, second click), a failure is recorded, visible and tried again, and only the hospital's
referent can ask for it."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from maillage.accounts.models import AuditEvent
from maillage.care.letters.models import Discharge, LetterNotice
from maillage.care.letters.services import imports, notices
from maillage.care.letters.tasks import send_letter_notice

from ..scheduling.test_booking_notify import _free_port
from ..scheduling.test_booking_notify import smtp as smtp  # the fixture
from .conftest import HOST, discharge, paris, verified_client
from .test_import import GOOD, csv_bytes

MSSANTE = "test.alpha@medecin.mssante.fr"
NOTE = "Insuffisance cardiaque décompensée, furosémide"


@pytest.fixture
def doctor_a(doctor_a):
    doctor_a.mssante = MSSANTE
    doctor_a.save()
    return doctor_a


def mails(inbox) -> list[tuple[list[str], str, str]]:
    return [
        (to, m["Subject"], m.get_body(preferencelist=("plain",)).get_content())
        for to, m in inbox.messages
    ]


def sent_by_mssante(referent, hospital, gp, capture, **values) -> Discharge:
    with capture(execute=True):
        return discharge(
            referent, hospital, gp, stay_number="S001", letter_sent_at=paris(2026, 3, 9, 15),
            channel="mssante", note=NOTE, **values,
        )  # fmt: skip


def test_the_notice_reaches_the_gp_with_the_link_that_acknowledges_the_letter(
    referent_sd, hospital_sd, doctor_a, smtp, worker, client, settings,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    settings.MAILLAGE_MSSANTE_FROM = "ch-test@ch-test.mssante.fr"
    made = sent_by_mssante(referent_sd, hospital_sd, doctor_a, django_capture_on_commit_callbacks)
    assert LetterNotice.objects.get().status == "queued" and smtp.messages == []
    worker()  # the task enqueued after the commit
    [(to, subject, body)] = mails(smtp)
    assert to == [MSSANTE] and "accusé de réception" in subject
    assert smtp.messages[0][1]["From"] == "ch-test@ch-test.mssante.fr"
    assert hospital_sd.name in body and "09/03/2026" in body and "S001" in body
    for word in ("ZORGBELIN", "Philomène", "1941", "Médecine", "Insuffisance", "Domicile"):
        assert word not in body and word not in subject  # no identity, no health detail
    notice = LetterNotice.objects.get()
    assert notice.status == "sent" and notice.attempts == 1 and notice.sent_at is not None
    assert AuditEvent.objects.filter(purpose="notification", target_id=str(made.pk)).count() == 1
    # never twice: the task again, the queueing again
    send_letter_notice.enqueue(notice.pk)
    notices.queue(Discharge.objects.get(pk=made.pk))
    worker()
    assert len(smtp.messages) == 1
    # the link of the message: GET shows and writes nothing, POST acknowledges
    [link] = re.findall(r"https?://\S+/lettre-de-sortie/\S+/", body)
    path = "/" + link.split("/", 3)[3]
    page = client.get(path, **HOST)
    assert page.status_code == 200 and "ZORGBELIN" not in page.content.decode()
    assert Discharge.objects.get(pk=made.pk).acknowledged_at is None
    done = client.post(path, **HOST)
    assert done.status_code == 200 and 'data-testid="acknowledged"' in done.content.decode()
    assert Discharge.objects.get(pk=made.pk).acknowledged_at is not None


def test_no_notice_without_mssante_or_without_the_gps_address(
    referent_sd, hospital_sd, doctor_a, doctor_b, smtp, worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        discharge(referent_sd, hospital_sd, doctor_a, stay_number="P1", channel="post",
                  letter_sent_at=paris(2026, 3, 9, 15))  # fmt: skip
        discharge(referent_sd, hospital_sd, doctor_b, stay_number="B1", channel="mssante",
                  letter_sent_at=paris(2026, 3, 9, 15), name="AUTRE")  # fmt: skip
        discharge(referent_sd, hospital_sd, doctor_a, stay_number="U1", name="TROISIEME")
    worker()
    assert not LetterNotice.objects.exists() and smtp.messages == []


def test_a_re_import_that_dates_the_mssante_letter_sends_one_notice(
    referent_sd, hospital_sd, doctor_a, smtp, worker, django_capture_on_commit_callbacks
):
    def run(*rows: str) -> imports.Outcome:
        draft = imports.upload(referent_sd, hospital_sd, "x.csv", csv_bytes(*rows))
        mapping = imports.guess_mapping(imports.header(draft.content))
        with django_capture_on_commit_callbacks(execute=True):
            return imports.run(referent_sd, draft, mapping)

    run(GOOD[1])  # S002, letter not sent yet
    worker()
    assert smtp.messages == []
    dated = GOOD[1].replace(";;;", ";19999900001;14/03/2026 09:15;MSSanté")
    assert run(dated).counts() == "0 créés, 1 modifié, 0 inchangés"
    worker()
    assert run(dated).counts() == "0 créés, 0 modifiés, 1 inchangé"
    worker()
    [(to, _, body)] = mails(smtp)
    assert to == [MSSANTE] and "S002" in body and "QUERTAL" not in body.upper()


def test_a_failure_is_recorded_shown_and_tried_again_until_sent(
    referent_sd, hospital_sd, doctor_a, settings, smtp, worker, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    port = settings.EMAIL_PORT
    settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = _free_port(), 2  # nobody listens
    made = sent_by_mssante(referent_sd, hospital_sd, doctor_a, django_capture_on_commit_callbacks)
    worker()
    notice = LetterNotice.objects.get()
    assert notice.status == "failed" and notice.error == "ConnectionRefusedError"
    assert notice.attempts == 1 and notice.next_try_at > timezone.now()
    retry = DBTaskResult.objects.get(status="READY", task_path=send_letter_notice.module_path)
    assert retry.run_after == notice.next_try_at and retry.args_kwargs["args"] == [notice.pk]
    # the referent sees it on the list
    listed = verified_client(referent_sd).get("/soins/sorties/").content.decode()
    assert "Avis non envoyé (ConnectionRefusedError, essai 1)" in listed
    # the later try (what the worker runs at run_after), the server back
    settings.EMAIL_PORT = port
    assert notices.send(notice.pk) == "sent"
    assert notices.send(notice.pk) == "skipped"
    assert len(smtp.messages) == 1 and LetterNotice.objects.get().attempts == 2
    listed = verified_client(referent_sd).get("/soins/sorties/").content.decode()
    assert "Avis au médecin envoyé le" in listed and f"send-notice-{made.pk}" not in listed


def test_after_the_last_try_the_referent_sends_again(
    referent_sd, hospital_sd, doctor_a, settings, smtp, worker, django_capture_on_commit_callbacks
):
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = _free_port(), 2
    made = sent_by_mssante(referent_sd, hospital_sd, doctor_a, django_capture_on_commit_callbacks)
    for _ in range(notices.MAX_ATTEMPTS):
        notices.send(LetterNotice.objects.get().pk)
    notice = LetterNotice.objects.get()
    assert notice.status == "failed" and notice.attempts == 5 and notice.next_try_at is None
    client = verified_client(referent_sd)
    listed = client.get("/soins/sorties/").content.decode()
    assert "Avis non envoyé après 5 essais" in listed and f"send-notice-{made.pk}" in listed
    settings.EMAIL_PORT = port
    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post(f"/soins/sorties/{made.pk}/avis/", follow=True)
    assert "part par MSSanté" in asked.content.decode()
    worker()
    assert len(smtp.messages) == 1 and LetterNotice.objects.get().status == "sent"
    again = client.post(f"/soins/sorties/{made.pk}/avis/", follow=True)
    assert "déjà été envoyé" in again.content.decode()
    worker()
    assert len(smtp.messages) == 1


def test_only_the_hospitals_referent_asks_for_a_notice_and_only_when_it_can_go(
    referent_sd, referent_ch, gp_a, hospital_sd, doctor_a, doctor_b, smtp, worker
):
    unsent = discharge(referent_sd, hospital_sd, doctor_a, stay_number="U1")
    by_post = discharge(referent_sd, hospital_sd, doctor_a, stay_number="P1", name="POSTE",
                        channel="post", letter_sent_at=paris(2026, 3, 9, 15))  # fmt: skip
    no_address = discharge(referent_sd, hospital_sd, doctor_b, stay_number="B1", name="BETA",
                           channel="mssante", letter_sent_at=paris(2026, 3, 9, 15))  # fmt: skip
    assert verified_client(referent_ch).post(f"/soins/sorties/{unsent.pk}/avis/").status_code == 404
    assert verified_client(gp_a).post(f"/soins/sorties/{unsent.pk}/avis/").status_code == 403
    client = verified_client(referent_sd)
    assert client.get(f"/soins/sorties/{unsent.pk}/avis/").status_code == 405
    for made, message in [
        (unsent, "Indiquez d&#x27;abord l&#x27;envoi de la lettre"),
        (by_post, "pas été envoyée par MSSanté"),
        (no_address, "pas d&#x27;adresse MSSanté dans l&#x27;annuaire"),
    ]:
        page = client.post(f"/soins/sorties/{made.pk}/avis/", follow=True)
        assert message in page.content.decode()
    worker()
    assert not LetterNotice.objects.exists() and smtp.messages == []
