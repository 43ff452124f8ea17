"""The yearly re-confirmation: reminders 30 and 7 days before the due date and once overdue,
by SMS (file backend) and e-mail (a real SMTP server on loopback), run by the task worker and
never sent twice; a failed sending retried by the next run; the link that confirms with no
account; the agent's list showing who is due; removal after the month of grace."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from maillage.accounts.models import AuditEvent
from maillage.care.people.models import Person
from maillage.care.register.models import ConfirmationReminder, Registration, RemovalReason
from maillage.care.register.services import registrations, reminders
from maillage.care.register.services.summary import confirmation_cutoff

from ..attachment.test_notify import sms_dir as sms_dir  # the fixtures
from ..attachment.test_notify import sms_texts
from ..scheduling.test_booking_notify import smtp as smtp
from .conftest import HOST, registered, verified_client


def due_in(registration: Registration, days: int, now: dt.datetime) -> Registration:
    """Make ``registration`` fall due ``days`` days after ``now``."""
    confirmed = confirmation_cutoff(now + dt.timedelta(days=days))
    Registration.objects.filter(pk=registration.pk).update(confirmed_at=confirmed)
    registration.refresh_from_db()
    assert (reminders.due_on(registration) - timezone.localtime(now).date()).days == days
    return registration


def with_email(registration: Registration) -> Registration:
    Person.objects.filter(pk=registration.person_id).update(email="odile.rappel@example.org")
    return Registration.objects.select_related("person", "commune").get(pk=registration.pk)


def test_the_stages():
    today = dt.date(2027, 3, 10)
    for days, stage in [(45, None), (31, None), (30, 30), (8, 30), (7, 7), (0, 7), (-1, 0),
                        (-30, 0)]:  # fmt: skip
        assert reminders.stage_for(today + dt.timedelta(days=days), today) == stage, days


def test_reminders_at_30_and_7_days_and_overdue_by_the_worker_never_twice(
    agent_a, sms_dir, smtp, worker
):
    from maillage.care.register.tasks import send_reminders_daily

    now = timezone.now()
    due = with_email(due_in(registered(agent_a, vulnerability_notes="sous oxygène"), 20, now))
    later = due_in(registered(agent_a), 80, now)  # not yet
    send_reminders_daily.enqueue()
    worker()
    [sms] = sms_texts(sms_dir)
    [(to, subject, mail)] = [
        (to, m["Subject"], m.get_body(preferencelist=("plain",)).get_content())
        for to, m in smtp.messages
    ]
    assert to == ["odile.rappel@example.org"] and "confirmez" in subject
    deadline = reminders.due_on(due).strftime("%d/%m/%Y")
    for text in (sms, mail):
        assert "Saint-Dizier" in text and due.reference in text and deadline in text
        assert "/registre/confirmer/" in text and "(données de démonstration)" in text
        # no name, no address, no health detail
        for secret in (due.person.birth_name, due.address, "oxygène"):
            assert secret not in text
    rows = ConfirmationReminder.objects.filter(registration=due)
    assert sorted(rows.values_list("stage", "medium", "status")) == [
        (30, "email", "sent"),
        (30, "sms", "sent"),
    ]
    assert not ConfirmationReminder.objects.filter(registration=later).exists()
    assert (
        AuditEvent.objects.filter(
            user=None, action="view", target_type="register.registration", purpose="notification"
        ).count()
        == 2
    )
    # a second run the same day, or the next days: nothing more
    for days in (0, 1, 12):
        counts = reminders.send_confirmation_reminders(now + dt.timedelta(days=days))
        assert counts == {"inscriptions": 0, "messages": 0}, days
    # 7 days before: the second reminder, once
    assert reminders.send_confirmation_reminders(now + dt.timedelta(days=14))["messages"] == 2
    assert reminders.send_confirmation_reminders(now + dt.timedelta(days=15))["messages"] == 0
    # overdue: one more, saying when it will be removed
    assert reminders.send_confirmation_reminders(now + dt.timedelta(days=22))["messages"] == 2
    removal = reminders.removal_on(due).strftime("%d/%m/%Y")
    assert f"sera retirée le {removal}" in sms_texts(sms_dir)[-1]
    assert reminders.send_confirmation_reminders(now + dt.timedelta(days=40))["messages"] == 0
    assert len(sms_texts(sms_dir)) == 3 and len(smtp.messages) == 3
    # a confirmation moves the due date: next year's reminders are new ones
    registrations.confirm(agent_a, due, now=now)
    registrations.remove(agent_a, later)
    next_year = now + dt.timedelta(days=365 - 20)
    assert reminders.send_confirmation_reminders(next_year)["messages"] == 2


def test_a_failed_sending_is_retried_by_the_next_run_and_the_others_not_resent(
    agent_a, sms_dir, smtp, settings
):
    now = timezone.now()
    due = with_email(due_in(registered(agent_a), 5, now))
    settings.MAILLAGE_SMS_BACKEND = "nulle.part.Backend"
    assert reminders.send_confirmation_reminders(now)["messages"] == 1  # the e-mail
    failed = ConfirmationReminder.objects.get(registration=due, medium="sms")
    assert failed.status == "failed" and failed.error
    settings.MAILLAGE_SMS_BACKEND = "file"
    assert reminders.send_confirmation_reminders(now)["messages"] == 1  # the SMS only
    assert len(sms_texts(sms_dir)) == 1 and len(smtp.messages) == 1
    assert set(ConfirmationReminder.objects.values_list("status", flat=True)) == {"sent"}


def test_the_link_confirms_for_a_year_with_no_account(agent_a):
    now = timezone.now()
    due = due_in(registered(agent_a), 7, now)
    before = due.confirmed_at
    url = f"/registre/confirmer/{reminders.signed_token(due)}/"
    client = Client(**HOST)
    page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Saint-Dizier" in body and due.reference in body and 'data-testid="confirm"' in body
    assert due.person.birth_name not in body and due.address not in body
    due.refresh_from_db()
    assert due.confirmed_at == before  # a GET writes nothing (but its audit)
    assert AuditEvent.objects.filter(purpose="register_confirmation", action="view").exists()
    done = client.post(url)
    assert done.status_code == 200 and 'data-testid="confirmed"' in done.content.decode()
    due.refresh_from_db()
    assert due.confirmed_at > before
    assert (reminders.due_on(due) - timezone.localdate()).days > 360
    # used again: says so and changes nothing
    again = client.post(url)
    assert 'data-testid="already-confirmed"' in again.content.decode()
    confirmed = due.confirmed_at
    due.refresh_from_db()
    assert due.confirmed_at == confirmed
    assert client.get(url[:-5] + "abcd/").status_code == 404  # tampered
    registrations.remove(agent_a, due)
    assert client.get(url).status_code == 404  # no longer on the register


def test_the_agents_list_shows_who_is_due_and_the_reminder_sent(agent_a, sms_dir):
    now = timezone.now()
    due = due_in(registered(agent_a), 10, now)
    fine = registered(agent_a)
    reminders.send_confirmation_reminders(now)
    client = verified_client(agent_a)
    page = client.get("/soins/registre/").content.decode()
    assert "à reconfirmer" in page and f'data-testid="reminder-{due.pk}"' in page
    assert "rappel J-30 envoyé" in page
    only_due = client.get("/soins/registre/?echeance=1").content.decode()
    assert f"registration-{due.pk}" in only_due and f"registration-{fine.pk}" not in only_due


@pytest.mark.parametrize("days_late", [1, 40])
def test_removal_only_after_the_month_of_grace(agent_a, days_late):
    now = timezone.now()
    late = due_in(registered(agent_a), -days_late, now)
    registrations.remove_unconfirmed(now)
    late.refresh_from_db()
    removed = days_late > 31
    assert (late.removed_at is not None) == removed
    if removed:
        assert late.removal_reason == RemovalReason.NOT_CONFIRMED
        assert reminders.removal_on(late) <= timezone.localdate()
