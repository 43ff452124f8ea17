"""Attendance: what staff record once the slot has come (honoured, no-show), and its undoing.

``mark(booking, status, user)`` is the one way the nurse's day and the operator's screen change
a booking's attendance: checked against the user's rights on the booking
(:func:`maillage.care.people.permissions.can_access`, "update"), refused before the slot's day
(a no-show cannot be recorded in advance), audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from maillage.care.people import audit
from maillage.care.people.permissions import can_access
from maillage.care.scheduling.models import Booking, BookingStatus
from maillage.care.scheduling.services.booking import BookingError, NotAllowed, local_date

#: The statuses staff may set (cancelling is :func:`booking.cancel`'s).
MARKABLE = (BookingStatus.BOOKED, BookingStatus.HONOURED, BookingStatus.NO_SHOW)


def mark(booking: Booking, status: str, user: Any, *, now: dt.datetime | None = None) -> Booking:
    """Set the attendance of ``booking`` (``honoured``, ``no_show``, or back to ``booked``)."""
    if status not in MARKABLE:
        raise BookingError(f"Statut de présence inconnu : « {str(status)[:20]} ».")
    if user is None or not can_access(user, booking, "update"):
        raise NotAllowed("Vous ne pouvez pas modifier ce rendez-vous.")
    now = now or timezone.now()
    with transaction.atomic():
        locked = Booking.objects.select_for_update().select_related("slot").get(pk=booking.pk)
        if locked.status == BookingStatus.CANCELLED:
            raise BookingError("Ce rendez-vous a été annulé : sa présence ne s'enregistre pas.")
        if status != BookingStatus.BOOKED and local_date(locked.slot.start) > local_date(now):
            raise BookingError(
                "Le rendez-vous n'a pas encore eu lieu : la présence s'enregistre le jour même."
            )
        if locked.status != status:
            previous = locked.status
            locked.status = status
            locked.save(update_fields=["status"])
            audit.record(
                user, "update", locked, "attendance", status=str(status), previous=previous
            )
    return locked
