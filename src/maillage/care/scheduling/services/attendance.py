"""Attendance: a booking marked honoured (the person came) or no-show, through one function,
:func:`mark`, that every screen uses (the nurse's day, the operator's screen).

Rules: only a booking of a slot that has begun (today or earlier) can be marked honoured or
no-show; a cancelled booking cannot be marked; a mark can be corrected (honoured ↔ no-show, or
back to booked the same day). Marking honoured records the arrival time on the booking's
:class:`~maillage.care.scheduling.models.Visit`. Every change is checked with
:func:`maillage.care.people.permissions.can_access` and audited (purpose "nurse_day").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from maillage.care.people import audit
from maillage.care.people.permissions import can_access
from maillage.care.scheduling.models import Booking, BookingStatus, Visit
from maillage.care.scheduling.services.booking import BookingError, NotAllowed, local_date

PURPOSE = "nurse_day"
MARKABLE = (BookingStatus.BOOKED, BookingStatus.HONOURED, BookingStatus.NO_SHOW)


def mark(
    booking: Booking,
    status: str,
    user: Any,
    *,
    arrived_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Booking:
    """Set ``booking``'s status to ``status`` (honoured, no_show, or booked to undo) for
    ``user``. Raises :class:`BookingError` (French message) or :class:`NotAllowed`."""
    now = now or timezone.now()
    if status not in MARKABLE:
        raise BookingError(f"Statut inconnu : {str(status)[:20]!r}.")
    with transaction.atomic():
        locked = (
            Booking.objects.select_for_update(of=("self",))
            .select_related("slot__schedule__site")
            .get(pk=booking.pk)
        )
        if not can_access(user, locked, "update"):
            raise NotAllowed("Ce rendez-vous n'est pas celui d'un site que vous servez.")
        if locked.status == BookingStatus.CANCELLED:
            raise BookingError("Ce rendez-vous a été annulé : il ne peut pas être pointé.")
        if status != BookingStatus.BOOKED and local_date(locked.slot.start) > local_date(now):
            raise BookingError("Ce rendez-vous est à venir : il sera pointé le jour même.")
        if locked.status == status:
            return locked
        previous = locked.status
        locked.status = status
        locked.save(update_fields=["status"])
        if status == BookingStatus.HONOURED:
            visit, _ = Visit.objects.get_or_create(booking=locked)
            if visit.arrived_at is None or arrived_at is not None:
                visit.arrived_at = arrived_at or now
                visit.recorded_by = user
                visit.save(update_fields=["arrived_at", "recorded_by", "updated_at"])
        elif previous == BookingStatus.HONOURED:
            Visit.objects.filter(booking=locked).update(arrived_at=None)
        audit.record(user, "update", locked, PURPOSE, status=status, previous=previous)
    booking.status = locked.status
    return locked
