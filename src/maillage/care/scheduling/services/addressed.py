"""What the CPTS's care apps address to a GP: the bookings of their patients at the
teleconsultation rooms (``Booking.gp`` is one of their roles in the directory) and the people
the nurse sent to them as médecin relais (``Visit.relay`` is one of their roles); and the GP's
acknowledgement of a visit's report.

The GP is the user's practitioner (``Profile.practitioner``); their roles are that
practitioner's ``PractitionerRole`` rows. Who may see what stays the people module's rule
(:mod:`maillage.care.scheduling.personal_data`): this module selects the rows that rule opens,
and every row shown passes :func:`~maillage.care.people.permissions.can_access` again before
the page lists it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from maillage.care.people import audit
from maillage.care.people.permissions import can_access
from maillage.care.scheduling.models import Booking, BookingStatus, Visit
from maillage.care.scheduling.services.booking import BookingError, NotAllowed
from maillage.care.scheduling.services.generation import local_zone

PURPOSE = "gp_addressed"
#: How far back the page goes (the retention period empties older bookings anyway).
PAST_DAYS = 90
#: At most this many rows per part of the page (a GP has a few a week; the cap keeps a
#: misconfigured account from loading the whole history).
LIMIT = 200


def practitioner_id_of(user: Any) -> int | None:
    """The directory practitioner the account is linked to (None if none)."""
    profile = getattr(user, "profile", None)
    return getattr(profile, "practitioner_id", None)


@dataclass
class Addressed:
    """The page's rows: upcoming and past bookings (a booking appears once, with why it is
    addressed: ``as_gp`` médecin traitant, ``as_relay`` médecin relais)."""

    upcoming: list[Booking] = field(default_factory=list)
    past: list[Booking] = field(default_factory=list)

    @property
    def bookings(self) -> list[Booking]:
        return [*self.upcoming, *self.past]


def addressed_bookings(
    user: Any, *, now: dt.datetime | None = None, past_days: int = PAST_DAYS
) -> Addressed:
    """The bookings addressed to ``user``'s practitioner, from ``past_days`` ago onwards:
    not cancelled, not anonymised. Each booking carries ``the_visit`` (or None),
    ``local_start``, ``age``, ``as_gp`` and ``as_relay``."""
    practitioner = practitioner_id_of(user)
    if practitioner is None:
        return Addressed()
    now = now or timezone.now()
    since = now - dt.timedelta(days=past_days)
    rows = (
        Booking.objects.filter(
            Q(gp__practitioner_id=practitioner) | Q(visit__relay__practitioner_id=practitioner),
            slot__start__gte=since,
            anonymised_at__isnull=True,
        )
        .exclude(status=BookingStatus.CANCELLED)
        .select_related(
            "slot__schedule__site__commune", "person", "gp__practitioner", "visit__relay"
        )
        .select_related("visit__relay__practitioner")
    )
    upcoming = list(rows.filter(slot__start__gte=now).order_by("slot__start", "pk")[:LIMIT])
    past = list(rows.filter(slot__start__lt=now).order_by("-slot__start", "-pk")[:LIMIT])
    zone = local_zone()
    shown = Addressed()
    for part, target in ((upcoming, shown.upcoming), (past, shown.past)):
        for booking in part:
            if not can_access(user, booking, "view"):  # the rule decides, not this query
                continue
            visit = getattr(booking, "visit", None)
            booking.the_visit = visit
            booking.local_start = booking.slot.start.astimezone(zone)
            day = booking.local_start.date()
            booking.age = booking.person.age_on(day) if booking.person.birth_date else None
            booking.as_gp = booking.gp is not None and booking.gp.practitioner_id == practitioner
            booking.as_relay = (
                visit is not None
                and visit.relay is not None
                and visit.relay.practitioner_id == practitioner
            )
            booking.can_acknowledge = (
                booking.as_gp
                and visit is not None
                and visit.report_sent_at is not None
                and visit.report_acknowledged_at is None
            )
            target.append(booking)
    return shown


def acknowledge_report(booking_id: int, user: Any) -> Visit:
    """The GP confirms they received the visit's report: ``Visit.report_acknowledged_at``,
    audited. Only the médecin traitant the booking names (the people module's rule, action
    "update" on the visit), and only once the report was sent; a second acknowledgement
    changes nothing."""
    with transaction.atomic():
        visit = (
            Visit.objects.select_for_update(of=("self",))
            .select_related("booking__gp", "booking__slot__schedule__site")
            .filter(booking_id=booking_id)
            .first()
        )
        if visit is None or not can_access(user, visit, "update"):
            raise NotAllowed("Ce compte rendu ne vous est pas adressé.")
        if visit.report_sent_at is None:
            raise BookingError("Le compte rendu n'a pas encore été envoyé.")
        if visit.report_acknowledged_at is not None:
            return visit
        visit.report_acknowledged_at = timezone.now()
        visit.save(update_fields=["report_acknowledged_at", "updated_at"])
        audit.record(user, "update", visit, PURPOSE, report="acknowledged", by="gp")
    return visit
