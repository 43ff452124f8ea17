"""Notifications of bookings: SMS through the file and console backends, e-mail through a real
SMTP server (aiosmtpd on loopback), reminders the day before run by the task worker and never
sent twice, a gateway down never undoes a booking and is tried again later."""

from __future__ import annotations

import datetime as dt
import io
import socket
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from maillage.care.people.models import Consent
from maillage.care.scheduling import notify, sms
from maillage.care.scheduling.models import Booking
from maillage.care.scheduling.models_booking import Notification
from maillage.care.scheduling.services import channels

from .booking_fixtures import *  # noqa: F403 (the fixtures)
from .booking_fixtures import FORM, local_slot, room_slots, sms_texts

pytestmark = pytest.mark.django_db


def form_data(**changes) -> dict:
    from maillage.care.scheduling.booking_forms import IdentityForm

    form = IdentityForm({**FORM, **changes})
    assert form.is_valid(), form.errors
    return form.cleaned_data


class Inbox:
    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(
            (list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    try:
        yield inbox
    finally:
        controller.stop()


def test_the_file_and_console_sms_backends(settings, sms_dir):
    sms.send_sms("+33353010042", "Bonjour")
    [written] = sms_texts(sms_dir)
    assert "À : +33353010042" in written and "Bonjour" in written
    assert oct((sms_dir / next(sms_dir.iterdir()).name).stat().st_mode)[-3:] == "600"
    stream = io.StringIO()
    sms.ConsoleBackend(stream).send("+33353010042", "Salut")
    assert "SMS à +33353010042" in stream.getvalue() and "Salut" in stream.getvalue()
    settings.MAILLAGE_SMS_BACKEND = "console"
    assert isinstance(sms.get_backend(), sms.ConsoleBackend)
    settings.MAILLAGE_SMS_BACKEND = "nulle.part.Backend"
    with pytest.raises(sms.SmsError):
        sms.send_sms("+33353010042", "x")
    with pytest.raises(sms.SmsError):
        sms.FileBackend(sms_dir).send("0353010042", "pas en E.164")


def test_the_confirmation_email_reaches_a_real_smtp_server_without_the_reason(room, smtp):
    result = channels.book_from_form(room_slots(room)[0], form_data(), channel="web")
    [(recipients, message)] = smtp.messages
    assert recipients == ["mina.zorgbelin@example.org"]
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "Rendez-vous confirmé" in message["Subject"]
    assert result.booking.reference in body and result.access_token in body
    assert "Salle de test" in body and "Toux" not in body
    assert Notification.objects.get(medium="email").status == "sent"


def test_an_smtp_server_down_never_undoes_the_booking_and_a_later_run_sends(
    room, settings, sms_dir
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _free_port()  # nobody listens
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 2
    result = channels.book_from_form(room_slots(room)[0], form_data(), channel="web")
    assert Booking.objects.get() == result.booking
    failed = Notification.objects.get(medium="email")
    assert failed.status == "failed" and failed.error == "ConnectionRefusedError"
    assert Notification.objects.get(medium="sms").status == "sent"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    from django.core import mail

    assert notify.notify_booking(result.booking, "confirmation") == 1  # the e-mail only
    assert len(mail.outbox) == 1 and len(sms_texts(sms_dir)) == 1
    assert Notification.objects.get(medium="email").status == "sent"


def test_reminders_the_day_before_run_by_the_worker_and_never_twice(
    room, schedule, sms_dir, worker, smtp
):
    from maillage.care.scheduling.booking_tasks import send_reminders_daily

    in_two_days = room_slots(room)[0]
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    wanted = channels.book_from_form(
        local_slot(schedule, tomorrow, 15), form_data(), channel="web"
    ).booking
    quiet = channels.book_from_form(
        local_slot(schedule, tomorrow, 16),
        # another person (the identity matching would otherwise reuse the first one)
        form_data(consent_reminders="", phone="03 53 01 00 43", email="", birth_name="Vauquelin"),
        channel="web",
    ).booking
    later = channels.book_from_form(in_two_days, form_data(), channel="web").booking
    assert Consent.objects.get(person=quiet.person, purpose="reminders").given is False
    before_sms, before_mail = len(sms_texts(sms_dir)), len(smtp.messages)
    for _ in range(2):  # a second run (or a retried one) sends nothing more
        send_reminders_daily.enqueue(reschedule=False)
        worker()
    reminders = [s for s in sms_texts(sms_dir) if "Rappel" in s]
    assert len(sms_texts(sms_dir)) == before_sms + 1
    assert len(reminders) == 1 and wanted.reference in reminders[0]
    assert "Toux" not in reminders[0]
    assert len(smtp.messages) == before_mail + 1
    sent = Notification.objects.filter(kind="reminder")
    assert {(n.booking_id, n.medium) for n in sent} == {(wanted.pk, "sms"), (wanted.pk, "email")}
    assert not Notification.objects.filter(kind="reminder", booking__in=[quiet, later]).exists()
    # the key is the slot: moved to another slot of tomorrow, it is reminded again, once
    other = local_slot(schedule, tomorrow, 17)
    channels.move_booking(wanted, other)
    notify.send_reminders()
    notify.send_reminders()
    assert Notification.objects.filter(kind="reminder", booking=wanted, medium="sms").count() == 2


def test_the_unique_claim_is_the_databases(room):
    from django.db import IntegrityError, transaction

    result = channels.book_from_form(room_slots(room)[0], form_data(), channel="web")
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(
            booking=result.booking, kind="confirmation", medium="sms", key=""
        )
