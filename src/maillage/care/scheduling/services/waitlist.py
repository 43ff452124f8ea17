"""The waiting list: a person asks to be told when a slot of a site frees up; a freed slot is
offered to the next person in line through a private link valid for a limited time
(``MAILLAGE_WAITLIST_OFFER_HOURS``); the first to confirm gets it, through ``book()``.

:func:`offer_free_slots` is the whole matching: it expires the offers past their time, then for
each free public slot of a site with people waiting (soonest slot first) offers it to the oldest
entry that wants that weekday, within its dates, with no open offer. It runs as a task after a
cancellation (:mod:`maillage.care.scheduling.booking_tasks`) and every hour, so slots freed
through any channel (the FHIR API too) reach the list.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from maillage.care.people import audit, identity, permissions, retention
from maillage.care.people.models import Person
from maillage.care.scheduling.models import Site, Slot, SlotType
from maillage.care.scheduling.models_booking import (
    OfferStatus,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
)
from maillage.care.scheduling.services.booking import (
    BookingError,
    BookingResult,
    book,
    digest,
    local_date,
)

PURPOSE = "waitlist"
#: A slot is offered only if the person has at least this long to come.
LEAD_TIME = dt.timedelta(hours=2)
MAX_DAYS = 60


def offer_hours() -> int:
    return int(getattr(settings, "MAILLAGE_WAITLIST_OFFER_HOURS", 2))


def join(
    site: Site,
    person: Person,
    *,
    from_date: dt.date,
    until_date: dt.date,
    weekdays: str = "",
    reason: str = "",
    has_gp: bool | None = None,
    user: Any = None,
    channel: str = "web",
) -> WaitlistEntry:
    """Put ``person`` (saved or not) on ``site``'s waiting list; BookingError in French."""
    today = timezone.localdate()
    if from_date < today:
        raise BookingError("La première date souhaitée est passée.")
    if until_date < from_date:
        raise BookingError("La dernière date souhaitée précède la première.")
    if (until_date - from_date).days > MAX_DAYS:
        raise BookingError(f"La période souhaitée dépasse {MAX_DAYS} jours.")
    if any(c not in "0123456" for c in weekdays) or len(set(weekdays)) != len(weekdays):
        raise BookingError("Jours souhaités invalides.")
    if len(reason) > 500:
        raise BookingError("Le motif doit tenir en une ligne (500 caractères au plus).")
    with transaction.atomic():
        if person.pk is None:
            person = identity.get_or_create_person(person, user, PURPOSE, channel=channel)
        entry = WaitlistEntry.objects.create(
            site=site, person=person, from_date=from_date, until_date=until_date,
            weekdays="".join(sorted(weekdays)), reason=reason, has_gp=has_gp, channel=channel,
            created_by=user if getattr(user, "is_authenticated", False) else None,
            synthetic=person.synthetic,
        )  # fmt: skip
        audit.record(user, "create", entry, PURPOSE, site=site.pk)
    return entry


def _free_slots(site: Site, now: dt.datetime):
    return (
        Slot.objects.filter(
            schedule__site=site,
            schedule__active=True,
            slot_type=SlotType.PUBLIC,
            blocked=False,
            start__gt=now + LEAD_TIME,
            booked__lt=F("capacity"),
        )
        .exclude(waitlist_offers__status=OfferStatus.OPEN)
        .order_by("start")
    )


def expire_offers(now: dt.datetime | None = None) -> int:
    """Close the open offers past their time (their entries wait again)."""
    now = now or timezone.now()
    with transaction.atomic():
        stale = list(
            WaitlistOffer.objects.select_for_update().filter(
                status=OfferStatus.OPEN, expires_at__lte=now
            )
        )
        for offer in stale:
            offer.status = OfferStatus.EXPIRED
            offer.save(update_fields=["status"])
            WaitlistEntry.objects.filter(pk=offer.entry_id, status=WaitlistStatus.OFFERED).update(
                status=WaitlistStatus.WAITING
            )
    return len(stale)


def offer_free_slots(now: dt.datetime | None = None) -> list[tuple[WaitlistOffer, str]]:
    """Offer free slots to waiting entries; returns the new offers with their link tokens
    (the caller sends them: :func:`maillage.care.scheduling.notify.notify_offer`)."""
    now = now or timezone.now()
    expire_offers(now)
    today = local_date(now)
    WaitlistEntry.objects.filter(
        status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED], until_date__lt=today
    ).update(status=WaitlistStatus.EXPIRED)
    made: list[tuple[WaitlistOffer, str]] = []
    waiting_sites = Site.objects.filter(
        waitlist__status=WaitlistStatus.WAITING, active=True
    ).distinct()
    for site in waiting_sites:
        for slot in _free_slots(site, now)[:200]:
            day = local_date(slot.start)
            entries = WaitlistEntry.objects.filter(
                site=site, status=WaitlistStatus.WAITING, from_date__lte=day, until_date__gte=day
            ).exclude(offers__slot=slot)
            entry = next((e for e in entries if e.wants(day.weekday())), None)
            if entry is None:
                continue
            token = secrets.token_urlsafe(24)
            try:
                with transaction.atomic():
                    offer = WaitlistOffer.objects.create(
                        entry=entry,
                        slot=slot,
                        access_digest=digest(token),
                        expires_at=min(now + dt.timedelta(hours=offer_hours()), slot.start),
                    )
                    entry.status = WaitlistStatus.OFFERED
                    entry.save(update_fields=["status"])
                    audit.record(None, "update", entry, PURPOSE, offer=offer.pk, slot=slot.pk)
            except IntegrityError:  # another run offered it in the meantime
                continue
            made.append((offer, token))
    return made


def by_offer_token(token: str) -> WaitlistOffer | None:
    if not token or len(token) > 100:
        return None
    return (
        WaitlistOffer.objects.select_related("entry__person", "slot__schedule__site")
        .filter(access_digest=digest(token))
        .first()
    )


def accept(offer: WaitlistOffer, token: str, now: dt.datetime | None = None) -> BookingResult:
    """Book the offered slot for the entry's person (through ``book()``)."""
    now = now or timezone.now()
    if offer.status != OfferStatus.OPEN or offer.expires_at <= now:
        raise BookingError(
            "Cette proposition n'est plus valable (délai passé ou créneau déjà attribué)."
        )
    entry = offer.entry
    refused: BookingError | None = None
    with transaction.atomic():
        locked = WaitlistOffer.objects.select_for_update().get(pk=offer.pk)
        if locked.status != OfferStatus.OPEN:
            raise BookingError("Cette proposition n'est plus valable.")
        try:
            result = book(
                offer.slot_id, entry.person, channel="web", reason=entry.reason,
                has_gp=entry.has_gp, gp=entry.gp, now=now,
            )  # fmt: skip
        except BookingError as exc:  # taken meanwhile: the entry waits for the next one
            refused = exc
            locked.status = OfferStatus.TAKEN
            locked.save(update_fields=["status"])
            WaitlistEntry.objects.filter(pk=entry.pk).update(status=WaitlistStatus.WAITING)
        else:
            locked.status = OfferStatus.ACCEPTED
            locked.booking = result.booking
            locked.save(update_fields=["status", "booking"])
            WaitlistEntry.objects.filter(pk=entry.pk).update(status=WaitlistStatus.BOOKED)
            audit.record(None, "update", entry, PURPOSE, offer=offer.pk, booking=result.booking.pk)
    if refused is not None:
        raise refused
    return result


# --- personal data: who sees an entry, and how it expires --------------------------------------


def entry_rule(user: Any, role: str, entry: WaitlistEntry, action: str) -> bool:
    from maillage.accounts.models import Role

    if role in (Role.OPERATOR, Role.NURSE):
        return action in ("view", "create", "update") and entry.site.is_served_by(user)
    return False


def person_rule(user: Any, role: str, person: Person, action: str) -> bool:
    from maillage.accounts.models import Role

    if role not in (Role.OPERATOR, Role.NURSE) or action not in ("view", "update"):
        return False
    return WaitlistEntry.objects.filter(person=person, site__staff=user).exists()


def anonymise_entries(cutoff: dt.datetime) -> int:
    expired = WaitlistEntry.objects.filter(
        anonymised_at__isnull=True, until_date__lt=timezone.localtime(cutoff).date()
    )
    return expired.update(reason="", anonymised_at=timezone.now())


def person_entries(person: Person) -> list[dict[str, Any]]:
    return [
        {
            "site": e.site.name,
            "from_date": e.from_date.isoformat(),
            "until_date": e.until_date.isoformat(),
            "weekdays": e.weekdays,
            "reason": e.reason,
            "status": e.status,
            "created_at": e.created_at.isoformat(),
        }
        for e in WaitlistEntry.objects.filter(person=person).select_related("site")
    ]


def erase_entries(person: Person) -> int:
    return WaitlistEntry.objects.filter(person=person).update(
        reason="", status=WaitlistStatus.CANCELLED, anonymised_at=timezone.now()
    )


def merge_entries(kept: Person, duplicate: Person) -> int:
    """Identity merge: the duplicate's waiting-list entries become the kept person's."""
    return WaitlistEntry.objects.filter(person=duplicate).update(person=kept)


def register() -> None:
    permissions.register(WaitlistEntry, entry_rule)
    permissions.register_person_rule(person_rule)
    retention.register(anonymise_entries)
    retention.register_access("waitlist", person_entries)
    retention.register_erase(erase_entries)
    identity.register_merge(merge_entries)
