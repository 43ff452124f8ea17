"""What scheduling tells :mod:`maillage.care.people` about its personal data: who may open a
booking (object-level rules), how bookings expire (retention), and a person's bookings for an
access or erasure request, and how its bookings follow an identity merge. Registered by the
app's ``ready``.

Rules: an operator or a nurse opens the bookings of the sites they serve (``Site.staff``); a
GP those addressed to them (``Booking.gp``, or the visit's médecin relais ``Visit.relay``, is
one of their practitioner's roles), reads only, except acknowledging the report of a visit
they are the médecin traitant of (action "update" on the visit, never on the booking: a GP
cannot cancel or move it); an API client the bookings it made; a coordinator none
(aggregates only).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.db.models.functions import Length
from django.utils import timezone

from maillage.accounts.models import Role
from maillage.care.people import identity, permissions, retention
from maillage.care.people.models import Person
from maillage.care.scheduling.models import Booking, Visit

_STAFF_ACTIONS = ("view", "create", "update")


def booking_rule(user: Any, role: str, booking: Booking, action: str) -> bool:
    if booking.booked_by_id is not None and booking.booked_by_id == user.pk:
        return action in ("view", "update")
    if role in (Role.OPERATOR, Role.NURSE):
        return action in _STAFF_ACTIONS and booking.slot.schedule.site.is_served_by(user)
    if role == Role.PROFESSIONAL:
        return action == "view" and _addressed_to(user, booking)
    return False


def _practitioner_of(user: Any) -> int | None:
    return getattr(getattr(user, "profile", None), "practitioner_id", None)


def _addressed_to(user: Any, booking: Booking) -> bool:
    """Whether ``booking`` is addressed to the user's practitioner: as médecin traitant
    (``Booking.gp``) or as médecin relais (its visit's ``relay``)."""
    practitioner = _practitioner_of(user)
    if practitioner is None:
        return False
    if booking.gp is not None and booking.gp.practitioner_id == practitioner:
        return True
    return Visit.objects.filter(booking=booking, relay__practitioner_id=practitioner).exists()


def bookings_open_to(user: Any, role: str | None) -> QuerySet[Booking]:
    """The bookings :func:`booking_rule` may open to ``user`` for "view", as one query (for
    lists: the FHIR search, the GP's page). Callers still ask ``can_access`` on each row."""
    if role is None:
        return Booking.objects.none()
    if role == Role.ADMINISTRATOR:
        return Booking.objects.all()
    mine = Q(booked_by=user)
    if role in (Role.OPERATOR, Role.NURSE):
        mine |= Q(slot__schedule__site__staff=user)
    practitioner = _practitioner_of(user)
    if role == Role.PROFESSIONAL and practitioner is not None:
        mine |= Q(gp__practitioner_id=practitioner) | Q(visit__relay__practitioner_id=practitioner)
    return Booking.objects.filter(mine).distinct()


def person_rule(user: Any, role: str, person: Person, action: str) -> bool:
    if action not in _STAFF_ACTIONS:
        return False
    bookings = Booking.objects.filter(person=person)
    if role in (Role.OPERATOR, Role.NURSE):
        return bookings.filter(slot__schedule__site__staff=user).exists()
    practitioner = _practitioner_of(user)
    if role == Role.PROFESSIONAL and action == "view" and practitioner is not None:
        addressed = Q(gp__practitioner_id=practitioner) | Q(
            visit__relay__practitioner_id=practitioner
        )
        if bookings.filter(addressed).exists():
            return True
    return bookings.filter(booked_by=user).exists()


def anonymise_bookings(cutoff: dt.datetime) -> int:
    """Bookings whose slot ended before ``cutoff``: the reason emptied (the statistics keep
    status, channel, slot, médecin traitant yes/no)."""
    expired = Booking.objects.filter(anonymised_at__isnull=True, slot__end__lt=cutoff)
    return expired.update(reason="", anonymised_at=timezone.now())


def person_bookings(person: Person) -> list[dict[str, Any]]:
    return [
        {
            "reference": b.reference,
            "site": b.slot.schedule.site.name,
            "start": b.slot.start.isoformat(),
            "end": b.slot.end.isoformat(),
            "status": b.status,
            "channel": b.channel,
            "reason": b.reason,
            "has_gp": b.has_gp,
            "gp": b.gp_id,
            "created_at": b.created_at.isoformat(),
        }
        for b in Booking.objects.filter(person=person).select_related("slot__schedule__site")
    ]


def erase_bookings(person: Person) -> int:
    return Booking.objects.filter(person=person).update(reason="", anonymised_at=timezone.now())


def visit_rule(user: Any, role: str, visit: Visit, action: str) -> bool:
    """A visit (arrival, outcome, note, report) follows its booking's rule; besides, the
    médecin traitant the booking names may update it (acknowledging the report: the only
    write :mod:`..services.addressed` makes)."""
    booking = visit.booking
    if role == Role.PROFESSIONAL and action == "update" and booking.booked_by_id != user.pk:
        practitioner = _practitioner_of(user)
        return (
            practitioner is not None
            and booking.gp is not None
            and booking.gp.practitioner_id == practitioner
        )
    return booking_rule(user, role, booking, action)


def anonymise_visits(cutoff: dt.datetime) -> int:
    """Visits of bookings whose slot ended before ``cutoff``: the note emptied (act, outcome
    and report dates stay for the statistics)."""
    # the note is encrypted: its lookups are refused, its stored length is not (empty = "")
    expired = (
        Visit.objects.filter(booking__slot__end__lt=cutoff)
        .annotate(stored=Length("note"))
        .filter(stored__gt=0)
    )
    return Visit.objects.filter(pk__in=list(expired.values_list("pk", flat=True))).update(note="")


def person_visits(person: Person) -> list[dict[str, Any]]:
    return [
        {
            "reference": v.booking.reference,
            "arrived_at": v.arrived_at.isoformat() if v.arrived_at else None,
            "act": v.act,
            "outcome": v.outcome,
            "relay": v.relay_id,
            "note": v.note,
            "report_to": v.report_to,
            "report_sent_at": v.report_sent_at.isoformat() if v.report_sent_at else None,
        }
        for v in Visit.objects.filter(booking__person=person).select_related("booking")
    ]


def erase_visits(person: Person) -> int:
    return Visit.objects.filter(booking__person=person).update(note="")


def merge_bookings(kept: Person, duplicate: Person) -> int:
    """Identity merge: the duplicate's bookings (and so their visits) become the kept
    person's."""
    return Booking.objects.filter(person=duplicate).update(person=kept)


def register() -> None:
    permissions.register(Visit, visit_rule)
    retention.register(anonymise_visits)
    retention.register_access("scheduling_visits", person_visits)
    retention.register_erase(erase_visits)
    permissions.register(Booking, booking_rule)
    permissions.register_person_rule(person_rule)
    retention.register(anonymise_bookings)
    retention.register_access("scheduling", person_bookings)
    retention.register_erase(erase_bookings)
    identity.register_merge(merge_bookings)
