"""Two first bookings of the same new person at the same instant, each on its own database
connection, through the FHIR endpoint: one Person, not two (identity vigilance holds under
concurrency).

On SQLite every write transaction takes the write lock when it begins, so the second booking
sees the first one's person. On PostgreSQL two transactions could both look, find nobody and
both create: ``identity.get_or_create_person`` takes a transaction-level advisory lock per birth
date (and its day/month inversion) before looking.
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
from maillage.care.people.models import Person, PossibleDuplicate
from maillage.care.scheduling.models import Booking, Schedule, Site, Slot

pytestmark = pytest.mark.database
N = 8


@pytest.fixture
def slots_and_tokens(django_db_setup, django_db_blocker):
    """N slots on N different days and N API tokens, committed; removed afterwards."""
    with django_db_blocker.unblock():
        site = Site.objects.create(
            slug=f"course-{secrets.token_hex(3)}", name="Salle course",
            kind="teleconsultation_room", commune_id="52448",
        )  # fmt: skip
        schedule = Schedule.objects.create(site=site, name="Agenda course")
        start = timezone.now().replace(microsecond=0) + dt.timedelta(days=3)
        slots = [
            Slot.objects.create(
                schedule=schedule,
                start=start + dt.timedelta(days=i),
                end=start + dt.timedelta(days=i, minutes=30),
                capacity=1,
            )  # fmt: skip
            for i in range(N)
        ]
        users, tokens = [], []
        for i in range(N):
            user = get_user_model().objects.create_user(
                f"course-{site.slug}-{i}", password="x-Long-passw0rd-1"
            )
            Profile.objects.create(user=user, role=Role.PROFESSIONAL)
            tokens.append(create_token(user.username)[1])
            users.append(user)
        try:
            yield slots, tokens
        finally:
            persons = list(
                Booking.objects.filter(slot__in=slots).values_list("person_id", flat=True)
            )
            AuditEvent.objects.filter(user__in=users).delete()
            Booking.objects.filter(slot__in=slots).delete()
            PossibleDuplicate.objects.filter(first__in=persons).delete()
            Person.objects.filter(pk__in=persons).delete()
            ApiToken.objects.filter(user__in=users).delete()
            Profile.objects.filter(user__in=users).delete()
            get_user_model().objects.filter(pk__in=[u.pk for u in users]).delete()
            site.delete()


def _body(slot_id: int) -> str:
    patient = {
        "resourceType": "Patient", "id": "p",
        "name": [{"use": "official", "family": "Coursenouvelle", "given": ["Aimée"]}],
        "birthDate": "1957-06-21", "gender": "female",
        "telecom": [{"system": "phone", "value": "01 99 00 12 34"}],
    }  # fmt: skip
    return json.dumps(
        {
            "resourceType": "Appointment",
            "status": "booked",
            "slot": [{"reference": f"Slot/{slot_id}"}],
            "contained": [patient],
            "participant": [{"actor": {"reference": "#p"}, "status": "accepted"}],
        }  # fmt: skip
    )


def test_simultaneous_first_bookings_of_one_new_person_make_one_person(slots_and_tokens):
    slots, tokens = slots_and_tokens
    barrier = threading.Barrier(N)
    statuses: list[int] = [0] * N

    def book(i: int) -> None:
        client = Client()
        try:
            barrier.wait(timeout=60)
            response = client.post(
                "/fhir/Appointment", data=_body(slots[i].pk),
                content_type="application/fhir+json",
                HTTP_AUTHORIZATION=f"Bearer {tokens[i]}", HTTP_HOST="127.0.0.1",
            )  # fmt: skip
            statuses[i] = response.status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert Counter(statuses) == {201: N}, statuses
    persons = set(Booking.objects.filter(slot__in=slots).values_list("person_id", flat=True))
    assert len(persons) == 1, f"{len(persons)} persons for one new person booked {N} times"
    assert Person.objects.filter(birth_name="COURSENOUVELLE").count() == 1


def test_person_table_exists(db):
    """Makes pytest-django set the test database up when this module runs alone."""
    assert not Person.objects.filter(pk=-1).exists()
