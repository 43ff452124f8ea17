"""Moving a booking to another free slot of the same site, keeping its reference and its
private link. The booking keeps its row: its slot and seat change in one transaction that locks
both slots (in id order, so that two moves never deadlock); the database's seat index and
trigger have the last word, as for :func:`booking.book`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction

from maillage.care.people import audit
from maillage.care.scheduling.models import ACTIVE_STATUSES, Booking, BookingStatus, Slot
from maillage.care.scheduling.services.booking import (
    PURPOSE,
    BookingError,
    SlotFull,
    check_age,
    check_bookable,
)


def move(
    booking: Booking, slot: Slot | int, user: Any = None, *, now: dt.datetime | None = None
) -> Booking:
    """Move ``booking`` to ``slot`` (same site); BookingError (French) when it cannot."""
    if not isinstance(slot, Slot):
        found = Slot.objects.select_related("schedule__site").filter(pk=slot).first()
        if found is None:
            raise BookingError("Ce créneau n'existe pas.")
        slot = found
    if slot.pk == booking.slot_id:
        raise BookingError("Le rendez-vous est déjà sur ce créneau.")
    if slot.schedule.site_id != booking.slot.schedule.site_id:
        raise BookingError("Un rendez-vous se déplace sur un créneau du même site.")
    check_bookable(slot, user, now)
    check_age(booking.person, slot)
    with transaction.atomic():
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        if locked.status != BookingStatus.BOOKED:
            raise BookingError("Ce rendez-vous n'est plus modifiable (annulé ou passé).")
        old_id = locked.slot_id
        slots = {
            s.pk: s
            for s in Slot.objects.select_for_update()
            .filter(pk__in=[old_id, slot.pk])
            .order_by("pk")
        }
        target = slots[slot.pk]
        check_bookable(target, user, now)
        if target.booked >= target.capacity:
            raise SlotFull("Ce créneau vient d'être pris : choisissez-en un autre.")
        taken = set(
            Booking.objects.filter(slot=target, status__in=ACTIVE_STATUSES).values_list(
                "seat", flat=True
            )
        )
        moved = False
        for seat in (s for s in range(target.capacity) if s not in taken):
            try:
                with transaction.atomic():
                    Booking.objects.filter(pk=locked.pk).update(slot=target, seat=seat)
            except IntegrityError:
                continue
            moved = True
            break
        if not moved:
            raise SlotFull("Ce créneau vient d'être pris : choisissez-en un autre.")
        Slot.objects.filter(pk=target.pk).update(booked=target.booked + 1)
        old = slots[old_id]
        Slot.objects.filter(pk=old.pk).update(booked=max(old.booked - 1, 0))
        audit.record(user, "update", locked, PURPOSE, moved_from=old_id, slot=target.pk)
    return Booking.objects.select_related("slot__schedule__site", "person").get(pk=booking.pk)
