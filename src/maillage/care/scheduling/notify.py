"""Messages to the people booked: confirmation, change, cancellation, reminder the day before,
and the offer of a freed slot to the waiting list; by SMS (:mod:`.sms`) and e-mail (Django's
e-mail backend: SMTP with ``MAILLAGE_SMTP_HOST``, else files in the data folder).

A message says when, where, the reference and (when the token is at hand, at booking time) the
private link; never the reason of the visit. Each message is claimed first as a
:class:`~.models_booking.Notification` row whose unique key (booking or offer, kind, medium,
key) makes a second sending impossible, even from two workers at once; a failed sending is
marked failed (its error's class name only) and may be claimed again by a later run. A failure
never undoes the booking. Reading the person's contact to write is audited (purpose
"notification").
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from maillage.care.people import audit
from maillage.care.people.models import ConsentPurpose, Person
from maillage.care.scheduling.models import Booking, BookingStatus, Slot
from maillage.care.scheduling.models_booking import (
    Notification,
    NotificationKind,
    NotificationMedium,
    NotificationStatus,
    WaitlistOffer,
)
from maillage.care.scheduling.services.booking import local_date
from maillage.care.scheduling.services.generation import local_zone
from maillage.care.scheduling.sms import send_sms
from maillage.directory.notify import site_url

log = logging.getLogger(__name__)
PURPOSE = "notification"

DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
    "octobre", "novembre", "décembre",
)  # fmt: skip


def when(moment: dt.datetime) -> str:
    """ "mardi 8 décembre 2026 à 9 h 30" (Paris time)."""
    local = moment.astimezone(local_zone())
    return (
        f"{DAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]} {local.year} à "
        f"{local.hour} h {local.minute:02d}"
    )


def manage_link(token: str) -> str:
    return site_url() + reverse("booking:manage", args=[token])


def _where(slot: Slot) -> str:
    site = slot.schedule.site
    address = site.where
    return f"{site.name}{f', {address}' if address else ''}"


HEADLINES = {
    NotificationKind.CONFIRMATION: "Rendez-vous confirmé",
    NotificationKind.CHANGE: "Rendez-vous déplacé",
    NotificationKind.CANCELLATION: "Rendez-vous annulé",
    NotificationKind.REMINDER: "Rappel : rendez-vous demain",
}


def booking_text(booking: Booking, kind: str, token: str = "") -> tuple[str, str]:
    """(subject, text) of a message about ``booking``: never its reason."""
    slot = booking.slot
    headline = HEADLINES[kind]
    lines = [f"{headline} le {when(slot.start)}", _where(slot), f"Référence : {booking.reference}"]
    if kind == NotificationKind.CANCELLATION:
        lines.append("Pour reprendre un rendez-vous : " + site_url() + reverse("booking:index"))
    elif token:
        lines.append(f"Voir, déplacer ou annuler : {manage_link(token)}")
    else:
        phone = slot.schedule.site.phone
        lines.append(
            "Pour déplacer ou annuler : le lien reçu à la réservation"
            + (f", ou le {phone}" if phone else "")
        )
    if booking.synthetic:
        lines.append("(données de démonstration)")
    return f"{headline} — {slot.schedule.site.name}", "\n".join(lines)


def offer_text(offer: WaitlistOffer, token: str) -> tuple[str, str]:
    slot = offer.slot
    link = site_url() + reverse("booking:offer", args=[token])
    expires = offer.expires_at.astimezone(local_zone())
    text = "\n".join(
        [
            f"Un créneau s'est libéré le {when(slot.start)}",
            _where(slot),
            f"Pour le prendre, confirmez avant {expires.hour} h {expires.minute:02d} : {link}",
            "Le premier à confirmer l'obtient.",
        ]
    )
    return f"Créneau libéré — {slot.schedule.site.name}", text


def _claim(kind: str, medium: str, key: str, **about: Any) -> Notification | None:
    """The row that lets this message leave, or None when it was sent (or is being sent)."""
    try:
        with transaction.atomic():
            return Notification.objects.create(kind=kind, medium=medium, key=key, **about)
    except IntegrityError:
        pass
    # a failed sending may be tried again: take it back atomically
    retried = Notification.objects.filter(
        kind=kind, medium=medium, key=key, status=NotificationStatus.FAILED, **about
    )
    row = retried.first()
    if row is not None and retried.filter(pk=row.pk).update(
        status=NotificationStatus.SENDING, error=""
    ):
        row.status = NotificationStatus.SENDING
        return row
    return None


def _deliver(row: Notification, person: Person, subject: str, text: str) -> bool:
    try:
        if row.medium == NotificationMedium.SMS:
            send_sms(person.phone, text)
        else:
            send_mail(subject, text, None, [person.email])
    except Exception as exc:  # a gateway down never undoes a booking; no address in the log
        log.warning("notification %s non envoyée : %s", row.pk, type(exc).__name__)
        Notification.objects.filter(pk=row.pk).update(
            status=NotificationStatus.FAILED, error=type(exc).__name__[:80]
        )
        return False
    Notification.objects.filter(pk=row.pk).update(
        status=NotificationStatus.SENT, sent_at=timezone.now()
    )
    return True


def _media(person: Person) -> list[str]:
    media = []
    if person.phone:
        media.append(NotificationMedium.SMS)
    if person.email:
        media.append(NotificationMedium.EMAIL)
    return media


def notify_booking(booking: Booking, kind: str, token: str = "", key: str = "") -> int:
    """Send the ``kind`` message about ``booking`` by SMS and e-mail (each at most once per
    ``key``); returns how many left."""
    booking = Booking.objects.select_related("slot__schedule__site", "person").get(pk=booking.pk)
    person = booking.person
    if person.anonymised_at is not None:
        return 0
    subject, text = booking_text(booking, kind, token)
    sent = 0
    for medium in _media(person):
        row = _claim(kind, medium, key, booking=booking)
        if row is None:
            continue
        audit.record(None, "view", booking, PURPOSE, kind=str(kind), medium=str(medium))
        sent += _deliver(row, person, subject, text)
    return sent


def notify_offer(offer: WaitlistOffer, token: str) -> int:
    offer = WaitlistOffer.objects.select_related("entry__person", "slot__schedule__site").get(
        pk=offer.pk
    )
    person = offer.entry.person
    subject, text = offer_text(offer, token)
    sent = 0
    for medium in _media(person):
        row = _claim(NotificationKind.OFFER, medium, "", offer=offer)
        if row is None:
            continue
        audit.record(None, "view", offer.entry, PURPOSE, kind="offer", medium=str(medium))
        sent += _deliver(row, person, subject, text)
    return sent


def wants_reminders(person: Person) -> bool:
    latest = person.consents.filter(purpose=ConsentPurpose.REMINDERS).order_by("-at", "-pk").first()
    return bool(latest and latest.active)


def send_reminders(now: dt.datetime | None = None) -> dict[str, int]:
    """Remind every booking of tomorrow (Paris time) whose person asked for reminders; a second
    run, or a retried one, sends nothing more."""
    now = now or timezone.now()
    tomorrow = local_date(now) + dt.timedelta(days=1)
    zone = local_zone()
    start = dt.datetime.combine(tomorrow, dt.time(0, 0), tzinfo=zone)
    end = dt.datetime.combine(tomorrow + dt.timedelta(days=1), dt.time(0, 0), tzinfo=zone)
    due = Booking.objects.filter(
        status=BookingStatus.BOOKED,
        slot__start__gte=start,
        slot__start__lt=end,
        person__anonymised_at__isnull=True,
    ).select_related("person")
    counts = {"rendez-vous": 0, "messages": 0}
    for booking in due:
        if not wants_reminders(booking.person):
            continue
        counts["rendez-vous"] += 1
        counts["messages"] += notify_booking(
            booking, NotificationKind.REMINDER, key=str(booking.slot_id)
        )
    return counts
