"""What the web pages and the operator's screen share around ``book()``: the free slots to
show, grouped by day; a booking made from a form (consents, médecin traitant); cancel and move
with their notifications and the waiting list's turn. Views stay thin: they call these.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from maillage.care.people import audit
from maillage.care.people.models import ConsentPurpose, Person
from maillage.care.scheduling import notify
from maillage.care.scheduling.models import Booking, Site, Slot, SlotType
from maillage.care.scheduling.models_booking import NotificationKind
from maillage.care.scheduling.services import booking as booking_service
from maillage.care.scheduling.services.booking import BookingResult, local_date
from maillage.care.scheduling.services.moving import move
from maillage.directory.models import PractitionerRole

DAYS_SHOWN = 14


@dataclass
class Day:
    date: dt.date
    slots: list[Slot]


def free_slots(
    sites: Iterable[Site] | QuerySet[Site],
    *,
    first_day: dt.date | None = None,
    days: int = DAYS_SHOWN,
    slot_types: Iterable[str] = (SlotType.PUBLIC,),
    mode: str = "",
    now: dt.datetime | None = None,
) -> QuerySet[Slot]:
    """Free, open slots of ``sites`` from ``first_day`` (today) for ``days`` days."""
    from maillage.care.scheduling.services.generation import local_zone

    now = now or timezone.now()
    first_day = first_day or local_date(now)
    zone = local_zone()
    start = max(now, dt.datetime.combine(first_day, dt.time(0, 0), tzinfo=zone))
    end = dt.datetime.combine(first_day + dt.timedelta(days=days), dt.time(0, 0), tzinfo=zone)
    qs = Slot.objects.filter(
        schedule__site__in=sites,
        schedule__site__active=True,
        schedule__active=True,
        slot_type__in=list(slot_types),
        blocked=False,
        start__gt=start,
        start__lt=end,
        booked__lt=F("capacity"),
    )
    if mode:
        qs = qs.filter(schedule__mode=mode)
    return qs.select_related("schedule__site").order_by("start", "schedule__site__name")


def by_day(slots: Iterable[Slot]) -> list[Day]:
    days: list[Day] = []
    for slot in slots:
        day = local_date(slot.start)
        if not days or days[-1].date != day:
            days.append(Day(day, []))
        days[-1].slots.append(slot)
    return days


@dataclass
class SiteDay:
    date: dt.date
    #: (site, its slots of the day), sites in name order
    sites: list[tuple[Site, list[Slot]]]


def by_day_and_site(slots: Iterable[Slot]) -> list[SiteDay]:
    """The operator's view: each day, each site's slots on one line."""
    out: list[SiteDay] = []
    for day in by_day(slots):
        per_site: dict[int, tuple[Site, list[Slot]]] = {}
        for slot in day.slots:
            site = slot.schedule.site
            per_site.setdefault(site.pk, (site, []))[1].append(slot)
        out.append(SiteDay(day.date, sorted(per_site.values(), key=lambda p: p[0].name)))
    return out


def book_from_form(
    slot: Slot,
    data: dict[str, Any],
    *,
    channel: str,
    user: Any = None,
) -> BookingResult:
    """Book ``slot`` from a form's cleaned data (identity traits, contact, médecin traitant,
    reason, consents), in one transaction; BookingError (French) and nothing written."""
    traits = {
        key: data.get(key) or ""
        for key in ("birth_name", "first_names", "used_first_name", "phone", "email")
    }
    traits["birth_date"] = data.get("birth_date")
    traits["sex"] = data.get("sex")
    traits["synthetic"] = False
    has_gp = data.get("has_gp")
    gp: PractitionerRole | None = data.get("gp_role") if has_gp else None
    consents = {
        ConsentPurpose.TELECONSULTATION.value: bool(data.get("consent_teleconsultation")),
        ConsentPurpose.REPORT_TO_GP.value: bool(data.get("consent_report")) and bool(has_gp),
        ConsentPurpose.REMINDERS.value: bool(data.get("consent_reminders")),
    }
    with transaction.atomic():
        result = booking_service.book(
            slot, traits, channel=channel, user=user, reason=data.get("reason") or "",
            has_gp=has_gp, gp=gp, consents=consents,
        )  # fmt: skip
        person = result.booking.person
        label = (data.get("gp_label") or "").strip()[:200] if has_gp else ""
        person.has_attending_doctor = has_gp
        person.attending_doctor_label = label or (str(gp.practitioner) if gp else "")
        person.attending_doctor_id = gp.practitioner_id if gp else None
        person.save(
            update_fields=["has_attending_doctor", "attending_doctor_label", "attending_doctor"]
        )
        audit.record(
            user, "update", person, booking_service.PURPOSE,
            fields=["has_attending_doctor", "attending_doctor_label", "attending_doctor"],
        )  # fmt: skip
    notify.notify_booking(result.booking, NotificationKind.CONFIRMATION, result.access_token)
    return result


def cancel_booking(booking: Booking, user: Any = None) -> Booking:
    from maillage.care.scheduling.booking_tasks import after_cancellation

    was_active = booking.status != "cancelled"
    booking = booking_service.cancel(booking, user)
    if was_active:
        notify.notify_booking(booking, NotificationKind.CANCELLATION)
        transaction.on_commit(after_cancellation)
    return booking


def move_booking(booking: Booking, slot: Slot | int, user: Any = None) -> Booking:
    from maillage.care.scheduling.booking_tasks import after_cancellation

    moved = move(booking, slot, user)
    notify.notify_booking(moved, NotificationKind.CHANGE, key=str(moved.slot_id))
    transaction.on_commit(after_cancellation)
    return moved


def view_booking(booking: Booking, user: Any, purpose: str) -> Booking:
    """Record that ``booking`` (and its person) is shown to ``user`` (None: the person through
    the private link)."""
    audit.record(user, "view", booking, purpose)
    return booking


def caller_bookings(
    user: Any, *, birth_name: str = "", birth_date: dt.date | None = None, phone: str = ""
) -> list[Booking]:
    """A caller's bookings at the sites ``user`` serves, found by birth name and date of birth,
    or by phone; the persons found and the bookings shown are audited."""
    from maillage.care.people.services import find_persons

    people: list[Person] = find_persons(
        user, "phone_booking", birth_name=birth_name, birth_date=birth_date, phone=phone
    )
    if not people:
        return []
    bookings = list(
        Booking.objects.filter(person__in=people, slot__schedule__site__staff=user)
        .select_related("slot__schedule__site", "person")
        .order_by("-slot__start")[:50]
    )
    audit.record_list(user, bookings, "phone_booking")
    return bookings


def operator_sites(user: Any) -> QuerySet[Site]:
    return Site.objects.filter(staff=user, active=True).order_by("name")
