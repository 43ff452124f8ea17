"""The yearly re-confirmation: when it falls due, reminders before it, a link to confirm.

A registration is confirmed once a year (``confirmed_at``); it falls due 12 months after
(:func:`due_on`) and is removed a month of grace later when nobody confirmed it
(:func:`~maillage.care.register.services.registrations.remove_unconfirmed`, nightly).
Reminders go to the person by SMS (the scheduling app's backend) and e-mail when known, at
three stages: 30 days before the due date, 7 days before, and once overdue (in the month of
grace). One run sends each registration only its current stage; each (registration, due date,
stage, medium) is claimed first as a :class:`~maillage.care.register.models.ConfirmationReminder`
row, so nothing leaves twice (a second run, a retried task, two workers); a failed sending is
marked failed and may be claimed again by the next run. A confirmation moves the due date:
next year's reminders are new rows.

The message says the commune, the reference, the dates and a link to confirm (a signed token
naming the registration and its due date, :func:`signed_token`): no name, no health detail.
Reading the person's contact to write is audited (purpose ``notification``).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.core import signing
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from maillage.care.people import audit
from maillage.care.register.models import ConfirmationReminder, Registration
from maillage.care.register.services.summary import (
    CONFIRM_MONTHS,
    DUE_DAYS,
    GRACE_MONTHS,
    confirmation_cutoff,
)

log = logging.getLogger(__name__)
PURPOSE = "notification"
#: days before the due date when a reminder leaves; 0: overdue, before the removal
STAGES = (30, 7, 0)
_SALT = "maillage.register.confirm"
SUBJECT = "Registre des personnes vulnérables : confirmez votre inscription"


def due_on(registration: Registration) -> dt.date:
    """The day the yearly confirmation falls due (12 months after the last one, Paris)."""
    return confirmation_cutoff(registration.confirmed_at, months=-CONFIRM_MONTHS).date()


def removal_on(registration: Registration) -> dt.date:
    """The day an unconfirmed registration is removed (the due date and a month of grace)."""
    return confirmation_cutoff(
        registration.confirmed_at, months=-(CONFIRM_MONTHS + GRACE_MONTHS)
    ).date()


def stage_for(due: dt.date, today: dt.date) -> int | None:
    """The reminder stage of a due date seen ``today``: 30 (due within 30 days), 7 (within 7
    days), 0 (overdue), None (not yet)."""
    days = (due - today).days
    if days > STAGES[0]:
        return None
    if days > STAGES[1]:
        return STAGES[0]
    return STAGES[1] if days >= 0 else 0


# --- the link to confirm -----------------------------------------------------------------------


def signed_token(registration: Registration) -> str:
    """The token of the link in a reminder: the registration and the due date it confirms."""
    return signing.dumps(
        [registration.pk, due_on(registration).isoformat()], salt=_SALT, compress=True
    )


def confirm_url(registration: Registration) -> str:
    from maillage.directory.notify import site_url

    token = signed_token(registration)
    return f"{site_url()}{reverse('register_public:confirm', args=[token])}"


def by_token(token: str) -> tuple[Registration, bool]:
    """The registration a link names and whether the due date it confirms is still the
    current one (False: already confirmed since). Registration.DoesNotExist when the token is
    tampered with or the registration is no longer on the register. Nothing is written."""
    try:
        pk, due = signing.loads(token, salt=_SALT)
        due = dt.date.fromisoformat(due)
    except (signing.BadSignature, ValueError, TypeError):
        raise Registration.DoesNotExist from None
    registration = Registration.objects.active().select_related("commune").get(pk=pk)
    return registration, due_on(registration) == due


def confirm_by_token(token: str, now: dt.datetime | None = None) -> Registration:
    """The person (or whoever holds the reminder) confirms from the link: audited as the
    public, purpose ``register_confirmation``; a link already used changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        registration, current = by_token(token)
        registration = Registration.objects.select_for_update().get(pk=registration.pk)
        if current:
            registration.confirmed_at = now
            registration.save(update_fields=["confirmed_at"])
            audit.record(None, "update", registration, "register_confirmation", confirmed=True,
                         channel="link")  # fmt: skip
    return registration


# --- reminders ---------------------------------------------------------------------------------


def reminder_text(registration: Registration, stage: int) -> str:
    due, removal = due_on(registration), removal_on(registration)
    lines = [f"Registre des personnes vulnérables de {registration.commune.name}."]
    if stage:
        lines.append(
            f"Votre inscription (réf. {registration.reference or registration.pk}) est à "
            f"confirmer avant le {due:%d/%m/%Y}."
        )
    else:
        lines.append(
            f"Votre inscription (réf. {registration.reference or registration.pk}) n'a pas été "
            f"confirmée : sans réponse, elle sera retirée le {removal:%d/%m/%Y}."
        )
    lines.append(f"Pour rester inscrit·e : {confirm_url(registration)} ou appelez votre mairie.")
    if registration.synthetic:
        lines.append("(données de démonstration)")
    return "\n".join(lines)


def _claim(
    registration: Registration, due: dt.date, stage: int, medium: str
) -> ConfirmationReminder | None:
    key = {"registration": registration, "due_on": due, "stage": stage, "medium": medium}
    try:
        with transaction.atomic():
            return ConfirmationReminder.objects.create(**key)
    except IntegrityError:
        pass
    retried = ConfirmationReminder.objects.filter(**key, status="failed")
    row = retried.first()
    if row is not None and retried.filter(pk=row.pk).update(status="sending", error=""):
        return row
    return None


def _deliver(row: ConfirmationReminder, to: str, text: str) -> bool:
    from maillage.care.scheduling.sms import send_sms

    try:
        if row.medium == "sms":
            send_sms(to, text)
        else:
            send_mail(SUBJECT, text, None, [to])
    except Exception as exc:  # a gateway down: retried by the next run; no address logged
        log.warning("rappel %s non envoyé : %s", row.pk, type(exc).__name__)
        ConfirmationReminder.objects.filter(pk=row.pk).update(
            status="failed", error=type(exc).__name__[:80]
        )
        return False
    ConfirmationReminder.objects.filter(pk=row.pk).update(status="sent", sent_at=timezone.now())
    return True


def send_confirmation_reminders(now: dt.datetime | None = None) -> dict[str, int]:
    """Remind every active registration whose confirmation falls due within 30 days or is
    overdue, at its current stage, each stage once; returns the counts."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    horizon = confirmation_cutoff(now + dt.timedelta(days=DUE_DAYS + 1))
    rows = (
        Registration.objects.active()
        .filter(confirmed_at__lt=horizon, person__anonymised_at__isnull=True)
        .select_related("person", "commune")
        .order_by("pk")
    )
    counts = {"inscriptions": 0, "messages": 0}
    for registration in rows.iterator(chunk_size=500):
        due = due_on(registration)
        stage = stage_for(due, today)
        if stage is None:
            continue
        person = registration.person
        claimed = False
        for medium, to in (("sms", person.phone), ("email", person.email)):
            if not to:
                continue
            row = _claim(registration, due, stage, medium)
            if row is None:
                continue
            claimed = True
            audit.record(None, "view", registration, PURPOSE, stage=stage, medium=medium)
            counts["messages"] += _deliver(row, to, reminder_text(registration, stage))
        counts["inscriptions"] += claimed
    return counts


def due_rows(rows: list[Registration], now: dt.datetime) -> list[dict[str, Any]]:
    """For the agent's list: each registration with its due date, whether it is due within
    30 days (or overdue), and its last reminder sent for that due date."""
    today = timezone.localtime(now).date()
    sent: dict[tuple[int, dt.date], ConfirmationReminder] = {}
    for reminder in ConfirmationReminder.objects.filter(
        registration__in=[r.pk for r in rows], status="sent"
    ).order_by("sent_at"):
        sent[(reminder.registration_id, reminder.due_on)] = reminder
    out = []
    for r in rows:
        due = due_on(r)
        out.append(
            {
                "registration": r,
                "due_on": due,
                "due": stage_for(due, today) is not None,
                "overdue": due < today,
                "removal_on": removal_on(r),
                "reminder": sent.get((r.pk, due)),
            }
        )
    return out
