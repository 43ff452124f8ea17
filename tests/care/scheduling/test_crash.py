"""The real server killed with ``kill -9`` under booking load, restarted: every acknowledged
booking is there exactly once, no slot holds more than its capacity, and every attempt whose
answer was lost ends, retried with the same ``Idempotency-Key``, as exactly one booking.

``maillage serve`` (waitress, as in production) runs as a subprocess on the PostgreSQL test
database; client threads book distinct slots through ``POST /fhir/Appointment`` with a bearer
token and one Idempotency-Key per attempt. The slots have a capacity of 2 so that a retry that
ran twice shows as a double (with a capacity of 1 it would only be refused). Besides the
attempts whose answer was lost, a few acknowledged ones are retried too (a client cannot tell a
lost answer from a lost request): they must give back the same booking, not a second one.

No test transaction (the server's connections must see the rows): committed rows, removed at
the end.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from maillage.accounts.models import ApiToken, AuditEvent, Profile, Role
from maillage.accounts.tokens import create_token
from maillage.care.people.models import Person
from maillage.care.scheduling.models import (
    ACTIVE_STATUSES,
    Booking,
    IdempotencyKey,
    Schedule,
    Site,
    Slot,
)

pytestmark = [
    pytest.mark.database,
    pytest.mark.skipif(
        not os.environ.get("MAILLAGE_DATABASE_URL", "").startswith("postgres"),
        reason="the crash test runs on PostgreSQL (MAILLAGE_DATABASE_URL)",
    ),
]

CLIENTS = 6
PER_CLIENT = 40
KILL_AFTER = 40  # acknowledged bookings before the kill: the server is then well under load


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Server:
    """``maillage serve`` on a free loopback port of the test database."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.env = {
            **os.environ,
            "MAILLAGE_DATABASE_URL": _database_url(),
            "MAILLAGE_RATE_LIMITS_ENABLED": "0",  # one address sends hundreds of bookings
        }
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "maillage.cli", "serve", "--port", str(self.port)],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "maillage serve stopped at start"
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/fhir/metadata", headers={"Host": "127.0.0.1"})
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.3)
        self.kill()
        pytest.fail("maillage serve did not answer within 180 s")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


def _body(slot_id: int, i: int) -> bytes:
    return json.dumps(
        {
            "resourceType": "Appointment",
            "status": "booked",
            "slot": [{"reference": f"Slot/{slot_id}"}],
            "contained": [
                {
                    "resourceType": "Patient",
                    "id": "p",
                    "name": [{"use": "official", "family": f"Panne{i}", "given": ["Jeanne"]}],
                    "birthDate": "1950-03-04",
                    "gender": "female",
                    "telecom": [
                        {"system": "phone", "value": f"01 99 00 {i // 100:02d} {i % 100:02d}"}
                    ],
                }
            ],
            "participant": [{"actor": {"reference": "#p"}, "status": "accepted"}],
        }
    ).encode()


def _post(port: int, token: str, key: str, body: bytes) -> tuple[int, dict]:
    """One attempt; raises OSError (or HTTPException) when no answer is received."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            "POST", "/fhir/Appointment", body=body,
            headers={
                "Host": "127.0.0.1", "Authorization": f"Bearer {token}",
                "Content-Type": "application/fhir+json", "Idempotency-Key": key,
            },
        )  # fmt: skip
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.fixture
def crash_setup(django_db_setup, django_db_blocker):
    """A site, CLIENTS × PER_CLIENT slots of capacity 2 and one API token, committed."""
    with django_db_blocker.unblock():
        site = Site.objects.create(
            slug=f"panne-{uuid.uuid4().hex[:6]}", name="Salle panne",
            kind="teleconsultation_room", commune_id="52448",
        )  # fmt: skip
        schedule = Schedule.objects.create(site=site, name="Agenda panne")
        # beyond the generation horizon: the server's slot generation (run at its start) deletes
        # the free slots of a schedule without rules within the horizon
        start = timezone.now().replace(microsecond=0, second=0) + dt.timedelta(days=1100)
        slots = Slot.objects.bulk_create(
            Slot(
                schedule=schedule,
                start=start + dt.timedelta(minutes=30 * i),
                end=start + dt.timedelta(minutes=30 * (i + 1)),
                capacity=2,
            )
            for i in range(CLIENTS * PER_CLIENT)
        )
        user = get_user_model().objects.create_user(
            f"panne-{site.slug}", password="x-Long-passw0rd-1"
        )
        Profile.objects.create(user=user, role=Role.PROFESSIONAL)
        _, token = create_token(user.username)
        try:
            yield [s.pk for s in slots], token, user
        finally:
            bookings = Booking.objects.filter(slot__schedule=schedule)
            persons = list(bookings.values_list("person_id", flat=True))
            AuditEvent.objects.filter(user=user).delete()
            bookings.delete()
            Person.objects.filter(pk__in=persons).delete()
            IdempotencyKey.objects.filter(owner=f"user:{user.pk}").delete()
            ApiToken.objects.filter(user=user).delete()
            Profile.objects.filter(user=user).delete()
            user.delete()
            site.delete()


def test_booking_tables_exist(db):
    """Makes pytest-django set the test database up when this module runs alone (the crash
    test itself asks for no test transaction)."""
    assert not Booking.objects.filter(pk=-1).exists()


def test_kill_9_under_booking_load_loses_and_doubles_nothing(crash_setup, django_db_blocker):
    slot_ids, token, user = crash_setup
    attempts = [(f"crash-{uuid.uuid4()}", slot_id, i) for i, slot_id in enumerate(slot_ids)]
    acknowledged: dict[str, tuple[int, int]] = {}  # key → (slot id, booking id)
    unanswered: list[tuple[str, int, int]] = []
    refused: list[tuple[str, int, dict]] = []
    lock = threading.Lock()
    killed = threading.Event()
    server = Server()
    server.start()

    def client(chunk: list[tuple[str, int, int]]) -> None:
        for key, slot_id, i in chunk:
            try:
                status, body = _post(server.port, token, key, _body(slot_id, i))
            except (OSError, http.client.HTTPException, ValueError):
                with lock:
                    unanswered.append((key, slot_id, i))
                continue
            with lock:
                if status == 201:
                    acknowledged[key] = (slot_id, int(body["id"]))
                    if len(acknowledged) >= KILL_AFTER and not killed.is_set():
                        killed.set()
                        server.kill()  # kill -9, other clients' requests in flight
                else:
                    refused.append((key, status, body))

    threads = [
        threading.Thread(target=client, args=(attempts[c::CLIENTS],)) for c in range(CLIENTS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    server.kill()
    assert killed.is_set(), "the load ended before the kill"
    assert not refused, refused[:3]
    assert unanswered, "nothing was in flight or left when the server died"

    with django_db_blocker.unblock():  # committed before the kill, answer never received
        committed_unanswered = Booking.objects.filter(
            slot_id__in=[s for _, s, _ in unanswered]
        ).count()
    print(
        f"{len(acknowledged)} acknowledged, {len(unanswered)} unanswered "
        f"({committed_unanswered} of them committed before the kill)"
    )

    server.start()  # the same command, the same database
    retried: dict[str, tuple[int, int]] = {}
    try:
        again = [(k, s, i) for k, s, i in attempts if k in acknowledged][:5]
        for key, slot_id, i in unanswered + again:
            status, body = _post(server.port, token, key, _body(slot_id, i))
            assert status == 201, (status, body)
            retried[key] = (slot_id, int(body["id"]))
    finally:
        server.kill()

    with django_db_blocker.unblock():
        active = Booking.objects.filter(slot_id__in=slot_ids, status__in=ACTIVE_STATUSES)
        per_slot = Counter(active.values_list("slot_id", flat=True))
        by_id = dict(active.values_list("pk", "slot_id"))
        # no slot beyond its capacity (2), and the counter agrees with the rows
        assert max(per_slot.values()) <= 2
        booked = dict(Slot.objects.filter(pk__in=slot_ids).values_list("pk", "booked"))
        assert all(booked[s] == per_slot.get(s, 0) for s in slot_ids)
        # every acknowledged booking exactly once (one attempt per slot: one booking per slot)
        for key, (slot_id, booking_id) in acknowledged.items():
            assert by_id.get(booking_id) == slot_id, key
            assert per_slot[slot_id] == 1, f"{key}: {per_slot[slot_id]} bookings"
        # every retried attempt is exactly one booking, the one its first answer named if any
        for key, (slot_id, booking_id) in retried.items():
            assert by_id.get(booking_id) == slot_id, key
            assert per_slot[slot_id] == 1, f"retried {key}: {per_slot[slot_id]} bookings"
            if key in acknowledged:
                assert acknowledged[key][1] == booking_id
        # every attempt was acknowledged or retried, and each is one booking: no more, no less
        assert set(acknowledged) | set(retried) == {k for k, _, _ in attempts}
        assert len(by_id) == len(attempts) and set(per_slot) == set(slot_ids)
