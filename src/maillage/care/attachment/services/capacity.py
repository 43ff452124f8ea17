"""A GP's declared capacity and the directory's "accepts new patients" that follows it.

The directory does not know the care apps (tests/test_layers.py): the waiting list writes the
flag of the GP's activity (:class:`~maillage.directory.models.PractitionerRole`) at the
capacity's place, through the directory's own model and search index, as an edit of the
directory would. The flag is true while the GP has room this month (declared capacity minus
the proposals open or accepted since the first of the month), false when they declare 0 or
their month is full. Only a change is written (history and index refreshed once).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from maillage.care.attachment.models import GpCapacity
from maillage.care.people import audit
from maillage.directory.models import PractitionerRole
from maillage.directory.search.service import reindex_objects


def save_capacity(
    user: Any, practitioner_id: int, data: dict[str, Any], now: dt.datetime | None = None
) -> GpCapacity:
    """Create or update the GP's capacity from a valid form's ``data``; the directory follows."""
    with transaction.atomic():
        capacity = GpCapacity.objects.filter(practitioner_id=practitioner_id).first()
        capacity = capacity or GpCapacity(practitioner_id=practitioner_id)
        left = capacity.location_id if capacity.pk else None
        capacity.location = data["location"]
        capacity.new_patients_per_month = data["new_patients_per_month"]
        capacity.radius_km = data["radius_km"]
        capacity.age_groups = ",".join(data["age_groups"])
        capacity.active = data["new_patients_per_month"] > 0
        capacity.updated_by = user if getattr(user, "is_authenticated", False) else None
        capacity.save()
        capacity.communes.set(data["communes"])
        audit.record(user, "update", capacity, "attachment_capacity")
        if left is not None and left != capacity.location_id:
            _leave_place(practitioner_id, left)
        sync_directory([practitioner_id], now)
    return capacity


def _leave_place(practitioner_id: int, location_id: int) -> None:
    """The GP now takes new patients at another place: the directory stops saying so of the
    place they left (the flag the capacity had set there would otherwise stay true)."""
    roles = list(
        PractitionerRole.objects.filter(
            practitioner_id=practitioner_id, location_id=location_id, accepts_new_patients=True
        )
    )
    for role in roles:
        role.accepts_new_patients = False
        role.save(update_fields=["accepts_new_patients"])
    if roles:
        reindex_objects(roles)


def sync_directory(
    practitioner_ids: list[int] | None = None, now: dt.datetime | None = None
) -> list[PractitionerRole]:
    """Set "accepts new patients" of each GP's activity at their capacity's place to whether
    they have room this month (``practitioner_ids``: those GPs only). Returns the roles
    changed, whose search entries are refreshed."""
    from maillage.care.attachment.services.matching import room_by_capacity

    rooms = room_by_capacity(now)
    capacities = GpCapacity.objects.all()
    if practitioner_ids is not None:
        capacities = capacities.filter(practitioner_id__in=practitioner_ids)
    changed = []
    with transaction.atomic():
        for capacity in capacities:
            accepts = rooms.get(capacity.pk, 0) > 0
            roles = PractitionerRole.objects.filter(
                practitioner_id=capacity.practitioner_id, location_id=capacity.location_id
            ).exclude(accepts_new_patients=accepts)
            for role in roles:
                role.accepts_new_patients = accepts
                role.save(update_fields=["accepts_new_patients"])
                changed.append(role)
        if changed:
            reindex_objects(changed)
    return changed
