"""The directory's "accepts new patients" follows the GPs' capacities: declared, full, freed."""

from __future__ import annotations

import datetime as dt

from maillage.care.attachment.models import GpCapacity
from maillage.care.attachment.services import capacity as capacity_service
from maillage.care.attachment.services import requests as service
from maillage.directory.models import Location, PractitionerRole
from maillage.directory.search.index import SearchEntry
from maillage.territory.models import Commune

from .conftest import SAINT_DIZIER, make_gp
from .test_services import new_request


def _flag(capacity: GpCapacity) -> bool | None:
    return PractitionerRole.objects.get(
        practitioner=capacity.practitioner, location=capacity.location
    ).accepts_new_patients


def _indexed(capacity: GpCapacity) -> bool | None:
    role = PractitionerRole.objects.get(
        practitioner=capacity.practitioner, location=capacity.location
    )
    return SearchEntry.objects.get(kind="role", object_id=role.pk).accepts_new_patients


def _form(capacity: GpCapacity, per_month: int) -> dict:
    return {
        "location": capacity.location, "new_patients_per_month": per_month, "radius_km": None,
        "age_groups": ["adult", "senior"], "communes": [Commune.objects.get(code=SAINT_DIZIER)],
    }  # fmt: skip


def test_declaring_capacity_sets_the_directory_flag_and_its_index(demo_db, gp_user):
    capacity = make_gp("NOUVEAU", SAINT_DIZIER, 0, active=False)
    assert _flag(capacity) is None
    capacity_service.save_capacity(gp_user, capacity.practitioner_id, _form(capacity, 3))
    assert _flag(capacity) is True and _indexed(capacity) is True
    capacity_service.save_capacity(gp_user, capacity.practitioner_id, _form(capacity, 0))
    assert _flag(capacity) is False and _indexed(capacity) is False


def test_moving_the_capacity_to_another_place_clears_the_flag_of_the_place_left(demo_db, gp_user):
    capacity = make_gp("NOMADE", SAINT_DIZIER, 0, active=False)
    capacity_service.save_capacity(gp_user, capacity.practitioner_id, _form(capacity, 3))
    old_place = capacity.location
    assert _flag(capacity) is True
    new_place = Location.objects.create(
        name="Maison de santé", commune_id=SAINT_DIZIER, source="manual",
        latitude=old_place.latitude, longitude=old_place.longitude,
    )  # fmt: skip
    PractitionerRole.objects.create(
        practitioner_id=capacity.practitioner_id, location=new_place, profession_code="10"
    )
    form = {**_form(capacity, 3), "location": new_place}
    moved = capacity_service.save_capacity(gp_user, capacity.practitioner_id, form)
    assert _flag(moved) is True and _indexed(moved) is True
    left = PractitionerRole.objects.get(practitioner=moved.practitioner, location=old_place)
    assert left.accepts_new_patients is False
    assert SearchEntry.objects.get(kind="role", object_id=left.pk).accepts_new_patients is False


def test_a_full_month_clears_the_flag_and_a_decline_gives_it_back(demo_db, gp_user, gp_near):
    capacity_service.sync_directory()
    assert _flag(gp_near) is True  # room for 2
    first = new_request()
    second = new_request(name="ARBOGAST", born="1950-03-01")
    service.propose(first, gp_near, distance_km=1.0, reasons=[])
    capacity_service.sync_directory([gp_near.practitioner_id])
    assert _flag(gp_near) is True  # one place left
    proposal = service.propose(second, gp_near, distance_km=1.0, reasons=[])
    capacity_service.sync_directory([gp_near.practitioner_id])
    assert _flag(gp_near) is False and _indexed(gp_near) is False
    service.decline(gp_user, proposal)  # the place comes back
    assert _flag(gp_near) is True and _indexed(gp_near) is True


def test_the_matching_run_fills_the_month_and_the_flag_follows(demo_db, coordinator, gp_near):
    from maillage.care.attachment.services import matching

    for i, name in enumerate(["UN", "DEUX", "TROIS"]):
        new_request(name=name, born=f"19{40 + i}-01-01")
    capacity_service.sync_directory()
    assert _flag(gp_near) is True
    matching.run(coordinator, {SAINT_DIZIER})
    assert _flag(gp_near) is False  # 2 proposals: the month is full
    # next month the room is back
    capacity_service.sync_directory(now=dt.datetime.now(dt.UTC) + dt.timedelta(days=40))
    assert _flag(gp_near) is True


def test_a_capacity_whose_directory_update_fails_is_not_saved(demo_db, gp_user, monkeypatch):
    capacity = make_gp("NOUVEAU", SAINT_DIZIER, 1)

    def broken(*args, **kwargs):
        raise RuntimeError("index indisponible")

    monkeypatch.setattr(capacity_service, "sync_directory", broken)
    try:
        capacity_service.save_capacity(gp_user, capacity.practitioner_id, _form(capacity, 9))
    except RuntimeError:
        pass
    capacity.refresh_from_db()
    assert capacity.new_patients_per_month == 1  # nothing half-written
