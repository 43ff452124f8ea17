"""50 clients booking the same slot at the same instant, each on its own database connection,
through the FHIR endpoint (the whole middleware stack): exactly one booking, 49 clear 409s.

No test transaction here (other connections must see the slot and the token): the test writes
committed rows and removes them at the end. It runs on SQLite (the write lock serialises the
bookings) and on PostgreSQL (``SELECT … FOR UPDATE`` on the slot, the partial unique index).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import timezone

from maillage.accounts.models import ApiToken, AuditEvent, Profile, Role
from maillage.accounts.tokens import create_token
from maillage.care.people.models import Person
from maillage.care.scheduling.models import Booking, IdempotencyKey, Schedule, Site, Slot

pytestmark = pytest.mark.database
N = 50


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """A site, a slot of capacity 1 and N API tokens, committed; removed afterwards."""
    with django_db_blocker.unblock():
        site = Site.objects.create(
            slug=f"concurrence-{secrets.token_hex(3)}", name="Salle concurrence",
            kind="teleconsultation_room", commune_id="52448",
        )  # fmt: skip
        schedule = Schedule.objects.create(site=site, name="Agenda concurrence")
        start = timezone.now().replace(microsecond=0) + dt.timedelta(days=3)
        slot = Slot.objects.create(
            schedule=schedule, start=start, end=start + dt.timedelta(minutes=30), capacity=1
        )
        users, tokens = [], []
        for i in range(N):
            user = get_user_model().objects.create_user(
                f"conc-{site.slug}-{i}", password="x-Long-passw0rd-1"
            )
            Profile.objects.create(user=user, role=Role.PROFESSIONAL)
            _, token = create_token(user.username)
            users.append(user)
            tokens.append(token)
        try:
            yield slot, tokens
        finally:
            persons = list(Booking.objects.filter(slot=slot).values_list("person_id", flat=True))
            AuditEvent.objects.filter(user__in=users).delete()
            Booking.objects.filter(slot=slot).delete()
            Person.objects.filter(pk__in=persons).delete()
            IdempotencyKey.objects.filter(owner__in=[f"user:{u.pk}" for u in users]).delete()
            ApiToken.objects.filter(user__in=users).delete()
            Profile.objects.filter(user__in=users).delete()
            get_user_model().objects.filter(pk__in=[u.pk for u in users]).delete()
            site.delete()


def test_booking_tables_exist(db):
    """Also makes pytest-django set the test database up when this module runs alone (the
    concurrent test itself asks for no test transaction)."""
    assert not Booking.objects.filter(pk=-1).exists()


def _body(slot_id: int, i: int) -> str:
    return json.dumps(
        {
            "resourceType": "Appointment",
            "status": "booked",
            "slot": [{"reference": f"Slot/{slot_id}"}],
            "contained": [
                {
                    "resourceType": "Patient",
                    "id": "p",
                    "name": [{"use": "official", "family": f"Essai{i}", "given": ["Jean"]}],
                    "birthDate": "1960-01-01",
                    "gender": "male",
                    "telecom": [
                        {"system": "phone", "value": f"01 99 00 {i // 100:02d} {i % 100:02d}"}
                    ],
                }
            ],
            "participant": [{"actor": {"reference": "#p"}, "status": "accepted"}],
        }
    )


def _storm(slot: Slot, tokens: list[str], key: str | None = None) -> list[tuple[int, dict]]:
    barrier = threading.Barrier(len(tokens))
    results: list[tuple[int, dict]] = [None] * len(tokens)  # type: ignore[list-item]

    def attempt(i: int) -> None:
        client = Client()
        headers = {"HTTP_AUTHORIZATION": f"Bearer {tokens[i]}", "HTTP_HOST": "127.0.0.1"}
        if key:
            headers["HTTP_IDEMPOTENCY_KEY"] = key
        body = _body(slot.pk, 0 if key else i)
        try:
            barrier.wait(timeout=60)
            response = client.post(
                "/fhir/Appointment", data=body, content_type="application/fhir+json", **headers
            )
            results[i] = (response.status_code, json.loads(response.content))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(tokens))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_fifty_concurrent_bookings_of_one_slot_give_one_success(committed, django_db_blocker):
    slot, tokens = committed
    results = _storm(slot, tokens)
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 409: N - 1}, statuses
    for status, body in results:
        if status == 409:
            assert body["resourceType"] == "OperationOutcome"
            assert body["issue"][0]["code"] == "conflict"
            assert "vient d'être pris" in body["issue"][0]["diagnostics"]
    with django_db_blocker.unblock():
        assert Booking.objects.filter(slot=slot).count() == 1
        slot.refresh_from_db()
        assert slot.booked == 1
        winner = next(body for status, body in results if status == 201)
        assert Booking.objects.get(slot=slot).pk == int(winner["id"])
        # the losers left nothing behind: one person only
        assert Person.objects.filter(birth_name__startswith="ESSAI").count() == 1
