"""FHIR Schedule, Slot and Appointment on /fhir/: searches, writes, and every emitted resource
parsed with its fhir.resources R4B model."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from fhir.resources import R4B

from maillage.accounts.models import ApiToken, AuditEvent, Profile, Role
from maillage.accounts.tokens import create_token
from maillage.care.scheduling.models import (
    Booking,
    BookingStatus,
    IdempotencyKey,
    OpeningRule,
    Schedule,
    Site,
    Slot,
    SlotType,
)
from maillage.care.scheduling.services.generation import generate
from maillage.care.scheduling.tasks import purge_idempotency_keys
from maillage.directory.models import HealthcareService, Organization

from .conftest import PARIS

pytestmark = pytest.mark.django_db
FHIR = "application/fhir+json"


def validate(resource: dict) -> None:
    R4B.get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    for entry in resource.get("entry", []):
        validate(entry["resource"])


def get(client: Client, url: str, status: int = 200) -> dict:
    response = client.get(url, HTTP_HOST="127.0.0.1")
    assert response.status_code == status, response.content[:600]
    assert response["Content-Type"].startswith(FHIR)
    data = json.loads(response.content)
    validate(data)
    return data


def token_for(username: str, role: str = Role.PROFESSIONAL) -> tuple[object, str]:
    user = get_user_model().objects.create_user(username, password="x-Long-passw0rd-1")
    Profile.objects.create(user=user, role=role)
    _, token = create_token(username)
    return user, token


def post(client: Client, body: object, token: str | None, **headers) -> tuple[int, dict, object]:
    extra = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    extra.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
    response = client.post(
        "/fhir/Appointment",
        data=body if isinstance(body, str) else json.dumps(body),
        content_type=FHIR,
        HTTP_HOST="127.0.0.1",
        **extra,
    )
    data = json.loads(response.content)
    validate(data)
    return response.status_code, data, response


def appointment(slot_id: int, **patient) -> dict:
    resource = {
        "resourceType": "Patient",
        "id": "p",
        "name": [{"use": "official", "family": "Martin", "given": ["Jeanne", "Marie"]}],
        "birthDate": "1950-03-02",
        "gender": "female",
        "telecom": [{"system": "phone", "value": "03 53 01 00 02"}],
    }
    resource.update(patient)
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": f"Slot/{slot_id}"}],
        "contained": [resource],
        "participant": [{"actor": {"reference": "#p"}, "status": "accepted"}],
        "reasonCode": [{"text": "Fièvre depuis hier"}],
    }


@pytest.fixture
def room(demo_db) -> Schedule:
    """A room linked to a directory service, with public and reserved slots next week."""
    service = HealthcareService.objects.select_related("location").get(
        slug="teleconsultation-la-noue"
    )
    site = Site.objects.create(
        slug="salle-fhir", name="Salle FHIR", kind="teleconsultation_room", service=service,
        location=service.location, organization=service.organization, commune_id="52448",
        min_age=6,
    )  # fmt: skip
    schedule = Schedule.objects.create(site=site, name="Agenda FHIR", mode="VR")
    today = timezone.localdate()
    OpeningRule.objects.create(
        schedule=schedule, weekdays="0123456", start_time=dt.time(9), end_time=dt.time(10),
        valid_from=today,
    )  # fmt: skip
    partner = Organization.objects.filter(commune_id="52448").first()
    OpeningRule.objects.create(
        schedule=schedule, weekdays="0123456", start_time=dt.time(14), end_time=dt.time(14, 30),
        valid_from=today, slot_type=SlotType.PARTNER, partner=partner,
    )  # fmt: skip
    generate(schedule, today=today + dt.timedelta(days=1), weeks=1)
    return schedule


def first_public(schedule: Schedule) -> Slot:
    return Slot.objects.filter(schedule=schedule, slot_type="public").order_by("start").first()


# --- Schedule and Slot ------------------------------------------------------------------------
def test_schedule_read_and_search_by_actor(client, room):
    data = get(client, f"/fhir/Schedule/{room.pk}")
    actors = [a["reference"] for a in data["actor"]]
    assert actors == [
        f"Location/{room.site.location_id}", f"HealthcareService/{room.site.service_id}",
    ]  # fmt: skip
    assert data["serviceType"][0]["coding"][0]["code"] == "VR"
    found = get(client, f"/fhir/Schedule?actor=HealthcareService/{room.site.service_id}")
    expected = Schedule.objects.filter(site__service_id=room.site.service_id).order_by("pk")
    assert [e["resource"]["id"] for e in found["entry"]] == [str(s.pk) for s in expected]
    assert str(room.pk) in [e["resource"]["id"] for e in found["entry"]]
    assert get(client, "/fhir/Schedule?actor=Location/999999999")["total"] == 0


def test_schedule_without_directory_entry_has_a_contained_location(client, schedule):
    data = get(client, f"/fhir/Schedule/{schedule.pk}")
    assert data["actor"][0]["reference"] == "#site"
    assert data["contained"][0]["address"]["line"] == ["1 rue de l'Essai"]


def test_slot_search_free_between_dates_with_include(client, room):
    day = timezone.localdate() + dt.timedelta(days=2)
    lower, upper = day.isoformat(), (day + dt.timedelta(days=1)).isoformat()
    url = (
        f"/fhir/Slot?status=free&start=ge{lower}&start=lt{upper}"
        f"&schedule.actor=Location/{room.site.location_id}&_include=Slot:schedule"
    )
    data = get(client, url)
    slots = [e["resource"] for e in data["entry"] if e["search"]["mode"] == "match"]
    included = [e["resource"] for e in data["entry"] if e["search"]["mode"] == "include"]
    assert data["total"] == 2 and len(slots) == 2  # 09:00 and 09:30, public only
    assert [dt.datetime.fromisoformat(s["start"]).astimezone(PARIS).hour for s in slots] == [9, 9]
    assert {s["start"][:10] for s in slots} == {lower}
    assert [r["resourceType"] for r in included] == ["Schedule"]
    assert slots[0]["meta"]["security"][0]["code"] == "PUBLIC"
    assert slots[0]["schedule"]["reference"] == f"Schedule/{room.pk}"


def test_a_booked_slot_is_no_longer_free(client, room):
    slot = first_public(room)
    Slot.objects.filter(pk=slot.pk).update(booked=1)
    data = get(client, f"/fhir/Slot?schedule=Schedule/{room.pk}&status=free&_count=100")
    assert str(slot.pk) not in [e["resource"]["id"] for e in data["entry"]]
    assert get(client, f"/fhir/Slot/{slot.pk}")["status"] == "busy"
    busy = get(client, f"/fhir/Slot?schedule={room.pk}&status=busy")
    assert [e["resource"]["id"] for e in busy["entry"]] == [str(slot.pk)]


def test_start_with_a_datetime_and_its_offset(client, room):
    slot = first_public(room)
    at = slot.start.astimezone(PARIS).isoformat()
    data = get(client, f"/fhir/Slot?schedule={room.pk}&start={quote(at)}")
    assert [e["resource"]["id"] for e in data["entry"]] == [str(slot.pk)]
    after = get(client, f"/fhir/Slot?schedule={room.pk}&start=gt{quote(at)}&_count=0")
    assert after["total"] == 7 * 2 - 1


def test_reserved_slots_are_shown_to_professionals_only(client, room):
    public_total = get(client, f"/fhir/Slot?schedule={room.pk}&_count=0")["total"]
    assert public_total == 14
    user = get_user_model().objects.create_user("pro", password="x-Long-passw0rd-1")
    Profile.objects.create(user=user, role=Role.PROFESSIONAL)
    client.force_login(user)
    data = get(client, f"/fhir/Slot?schedule={room.pk}&_count=100")
    assert data["total"] == 14 + 7
    partner = [e["resource"] for e in data["entry"] if e["resource"]["meta"]["security"][0][
        "code"] == "partner"]  # fmt: skip
    assert len(partner) == 7


def test_paging_and_count(client, room):
    data = get(client, f"/fhir/Slot?schedule={room.pk}&_count=5")
    assert len(data["entry"]) == 5 and data["total"] == 14
    assert any(link["relation"] == "next" for link in data["link"])


@pytest.mark.parametrize(
    "query",
    [
        "status=maybe",
        "start=gex2026",
        "start=2026-13-40",
        "schedule.actor=Patient/1",
        "_include=Slot:actor",
        "colour=blue",
        "_count=x",
    ],
)
def test_bad_searches_get_a_400_outcome(client, room, query):
    data = get(client, f"/fhir/Slot?{query}", status=400)
    assert data["resourceType"] == "OperationOutcome"


def test_unknown_ids_are_404(client, room):
    assert get(client, "/fhir/Slot/999999999", 404)["issue"][0]["code"] == "not-found"
    assert get(client, "/fhir/Schedule/abc", 404)["resourceType"] == "OperationOutcome"


def test_capability_statement_lists_the_new_interactions(client):
    data = get(client, "/fhir/metadata")
    resources = {r["type"]: r for r in data["rest"][0]["resource"]}
    assert {i["code"] for i in resources["Slot"]["interaction"]} == {"read", "search-type"}
    assert {p["name"] for p in resources["Slot"]["searchParam"]} >= {
        "status", "start", "schedule", "schedule.actor",
    }  # fmt: skip
    assert resources["Slot"]["searchInclude"] == ["Slot:schedule"]
    assert {i["code"] for i in resources["Appointment"]["interaction"]} == {
        "create", "read", "update", "patch", "search-type",
    }  # fmt: skip
    assert {p["name"] for p in resources["Appointment"]["searchParam"]} == {"date", "status"}
    assert "Practitioner" in resources  # the directory's resources are still there


# --- Appointment ------------------------------------------------------------------------------
def test_post_appointment_books_the_slot(client, room):
    user, token = token_for("plateforme")
    slot = first_public(room)
    status, data, response = post(client, appointment(slot.pk), token)
    assert status == 201, data
    booking = Booking.objects.get()
    assert response["Location"] == f"http://127.0.0.1/fhir/Appointment/{booking.pk}"
    assert data["status"] == "booked" and data["slot"] == [{"reference": f"Slot/{slot.pk}"}]
    assert data["identifier"][0]["value"] == booking.reference
    assert booking.channel == "api" and booking.booked_by == user
    assert booking.reason == "Fièvre depuis hier"
    assert booking.person.first_names == "Jeanne Marie"
    assert booking.person.phone == "+33353010002"
    slot.refresh_from_db()
    assert slot.booked == 1
    assert get(client, f"/fhir/Slot/{slot.pk}")["status"] == "busy"


def test_post_on_a_full_slot_is_409(client, room):
    _, token = token_for("plateforme")
    slot = first_public(room)
    assert post(client, appointment(slot.pk), token)[0] == 201
    status, data, _ = post(client, appointment(slot.pk, id="p"), token)
    assert status == 409
    assert data["resourceType"] == "OperationOutcome" and data["issue"][0]["code"] == "conflict"
    assert "vient d'être pris" in data["issue"][0]["diagnostics"]
    assert Booking.objects.count() == 1


def test_writing_needs_a_valid_token(client, room):
    slot = first_public(room)
    assert post(client, appointment(slot.pk), None)[0] == 401
    assert post(client, appointment(slot.pk), "mlg_wrong")[0] == 401
    _, token = token_for("plateforme")
    ApiToken.objects.update(revoked_at=timezone.now())
    status, _, response = post(client, appointment(slot.pk), token)
    assert status == 401 and response["WWW-Authenticate"].startswith("Bearer")
    assert not Booking.objects.exists()


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ("{not json", 400, "JSON"),
        ("[" * 5000 + "]" * 5000, 400, "imbriqué"),
        ("x" * 3_000_000, 413, "trop grand"),  # over Django's own upload limit
        ({"resourceType": "Patient"}, 400, "Appointment"),
        ({"resourceType": "Appointment", "status": "booked"}, 400, "participant"),
        ("slot:none", 400, "Slot/<id>"),
        ("child", 422, "à partir de 6 ans"),
        ("no-phone", 400, "téléphone"),
        ("bad-phone", 400, "numéro de téléphone valide"),
        ("no-gender", 400, "gender"),
        ("reserved", 403, "réservé"),
    ],
)
def test_bad_appointments_get_an_outcome_and_write_nothing(client, room, body, status, fragment):
    _, token = token_for("plateforme")
    slot = first_public(room)
    if body == "slot:none":
        body = appointment(slot.pk)
        body["slot"] = [{"reference": "Schedule/1"}]
    elif body == "child":
        body = appointment(slot.pk, birthDate=(timezone.localdate().replace(year=2024)).isoformat())
    elif body == "no-phone":
        body = appointment(slot.pk, telecom=[])
    elif body == "bad-phone":
        body = appointment(slot.pk, telecom=[{"system": "phone", "value": "12"}])
    elif body == "no-gender":
        body = appointment(slot.pk, gender=None)
        del body["contained"][0]["gender"]
    elif body == "reserved":
        reserved = Slot.objects.filter(schedule=room, slot_type="partner").first()
        body = appointment(reserved.pk)
    got, data, _ = post(client, body, token)
    assert got == status, data
    assert data["resourceType"] == "OperationOutcome"
    assert fragment in data["issue"][0]["diagnostics"]
    assert not Booking.objects.exists()


def test_idempotency_key_replays_the_first_answer(client, room):
    _, token = token_for("plateforme")
    slot = first_public(room)
    first = post(client, appointment(slot.pk), token, **{"Idempotency-Key": "k-1"})
    again = post(client, appointment(slot.pk), token, **{"Idempotency-Key": "k-1"})
    assert first[0] == again[0] == 201
    assert first[1] == again[1] and first[2]["Location"] == again[2]["Location"]
    assert Booking.objects.count() == 1
    # the stored answer holds no personal data, and is forgotten after a week
    stored = IdempotencyKey.objects.get(key="k-1")
    assert "MARTIN" not in json.dumps(stored.response) and "1950" not in json.dumps(stored.response)
    assert purge_idempotency_keys(timezone.now() + dt.timedelta(days=8)) == 1
    # purged: the key is new again, the request runs again (the slot is taken meanwhile)
    assert post(client, appointment(slot.pk), token, **{"Idempotency-Key": "k-1"})[0] == 409
    other = appointment(first_public(room).pk)
    free = Slot.objects.filter(schedule=room, booked=0, slot_type="public").first()
    other["slot"] = [{"reference": f"Slot/{free.pk}"}]
    status, data, _ = post(client, other, token, **{"Idempotency-Key": "k-1"})
    assert status == 422 and "autre requête" in data["issue"][0]["diagnostics"]
    assert Booking.objects.count() == 1
    # another client may use the same key for its own request
    _, token2 = token_for("autre")
    assert post(client, other, token2, **{"Idempotency-Key": "k-1"})[0] == 201


def test_a_retry_on_a_slot_with_seats_left_books_nothing_more(client, room):
    """The retry runs again and could take the second seat: its writes (booking, person, audit)
    are rolled back when the key's row says the first request committed."""
    from maillage.accounts.models import AuditEvent

    _, token = token_for("plateforme")
    slot = first_public(room)
    Slot.objects.filter(pk=slot.pk).update(capacity=2)
    first = post(client, appointment(slot.pk), token, **{"Idempotency-Key": "k-2"})
    events = AuditEvent.objects.count()
    again = post(client, appointment(slot.pk), token, **{"Idempotency-Key": "k-2"})
    assert first[0] == again[0] == 201 and first[1] == again[1]
    assert Booking.objects.filter(slot=slot).count() == 1
    assert Slot.objects.get(pk=slot.pk).booked == 1
    assert AuditEvent.objects.count() == events


def test_read_and_cancel_own_appointment(client, room):
    _, token = token_for("plateforme")
    _, stranger = token_for("autre")
    slot = first_public(room)
    _, data, response = post(client, appointment(slot.pk), token)
    url = response["Location"].replace("http://127.0.0.1", "")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_HOST": "127.0.0.1"}
    read = client.get(url, **auth)
    assert read.status_code == 200 and json.loads(read.content)["id"] == data["id"]
    assert AuditEvent.objects.filter(action="view", target_type="scheduling.booking").exists()
    other = client.get(url, HTTP_AUTHORIZATION=f"Bearer {stranger}", HTTP_HOST="127.0.0.1")
    assert other.status_code == 404
    refused = client.patch(
        url, data=json.dumps([{"op": "replace", "path": "/status", "value": "noshow"}]),
        content_type="application/json-patch+json", **auth,
    )  # fmt: skip
    assert refused.status_code == 422
    cancel = client.patch(
        url, data=json.dumps([{"op": "replace", "path": "/status", "value": "cancelled"}]),
        content_type="application/json-patch+json", **auth,
    )  # fmt: skip
    assert cancel.status_code == 200, cancel.content
    validate(json.loads(cancel.content))
    assert json.loads(cancel.content)["status"] == "cancelled"
    assert Booking.objects.get().status == BookingStatus.CANCELLED
    slot.refresh_from_db()
    assert slot.booked == 0
    # the freed slot can be booked again, and the second one cancelled with a PUT
    _, data2, response2 = post(client, appointment(slot.pk), token)
    put = client.put(
        response2["Location"].replace("http://127.0.0.1", ""),
        data=json.dumps({**data2, "status": "cancelled"}), content_type=FHIR, **auth,
    )  # fmt: skip
    assert put.status_code == 200 and json.loads(put.content)["status"] == "cancelled"


def test_the_session_cookie_does_not_authorise_writes(client, room):
    user = get_user_model().objects.create_user("pro2", password="x-Long-passw0rd-1")
    Profile.objects.create(user=user, role=Role.PROFESSIONAL)
    client.force_login(user)
    assert post(client, appointment(first_public(room).pk), None)[0] == 401


def test_a_booking_is_not_counted_as_a_search(settings):
    import re

    rules = {name: re.compile(regex) for name, regex, _, _ in settings.MAILLAGE_RATE_LIMITS}
    assert rules["search"].search("/fhir/Slot") and rules["search"].search("/fhir/Schedule/")
    assert not rules["search"].search("/fhir/Appointment")
    assert rules["api"].search("/fhir/Appointment")
