"""Agents of one commune taking calls of one campaign at the same instant, each on its own
database connection: every registered person is handed out exactly once and every outcome is
recorded.

No test transaction here (other connections must see the campaign): the test writes committed
rows and removes them at the end. It runs on SQLite (write transactions never overlap) and on
PostgreSQL (``SELECT … FOR UPDATE SKIP LOCKED`` in ``next_call``); on CI the PostgreSQL pass
must reach PostgreSQL (tests/conftest.py), so it runs there, never skips.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from maillage.accounts.models import AuditEvent, Profile, Role
from maillage.care.people.models import Person
from maillage.care.register.models import CallAssignment, Campaign, Outcome, Registration
from maillage.care.register.services import campaigns
from maillage.care.register.services.registrations import register_person
from maillage.territory.models import Territory

from .conftest import SAINT_DIZIER

pytestmark = pytest.mark.database
AGENTS, PEOPLE = 8, 40


@pytest.fixture
def committed(django_db_setup, django_db_blocker, tmp_path, monkeypatch):
    """A territory, AGENTS agents of Saint-Dizier, PEOPLE registrations and an open campaign,
    committed; removed afterwards."""
    monkeypatch.setenv("MAILLAGE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MAILLAGE_CARE_KEYS", raising=False)
    tag = secrets.token_hex(3)
    with django_db_blocker.unblock():
        # the set-up registers people as the system (user None): its audit rows go too
        first_event = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
        territory = Territory.objects.create(slug=f"conc-{tag}", name="Concurrence", kind="cpts")
        territory.communes.set([SAINT_DIZIER])
        users = []
        for i in range(AGENTS):
            user = get_user_model().objects.create_user(f"ccas-{tag}-{i}", password="x-Long-1a")
            Profile.objects.create(user=user, role=Role.CCAS_AGENT).territories.add(territory)
            users.append(user)
        registrations = [
            register_person(
                None,
                traits={
                    "birth_name": f"Concurrent{tag}x{chr(65 + i % 26)}{chr(65 + i // 26)}",
                    "first_names": "Louise",
                    "sex": "F",
                    "birth_date": dt.date(1935, 1 + i % 12, 1 + i % 28),
                    "phone": f"01 99 00 {i // 100:02d} {i % 100:02d}",
                },
                commune_id=SAINT_DIZIER,
                details={"address": f"{i} rue d'essai"},
                registered_by="agent",
                consent=True,
                synthetic=True,
            )  # fmt: skip
            for i in range(PEOPLE)
        ]
        campaign = campaigns.open_campaign(users[0], "heatwave", "red", {SAINT_DIZIER})
        try:
            yield campaign, users, registrations
        finally:
            persons = [r.person_id for r in registrations]
            AuditEvent.objects.filter(pk__gt=first_event or 0).delete()
            Campaign.objects.filter(pk=campaign.pk).delete()
            Registration.objects.filter(pk__in=[r.pk for r in registrations]).delete()
            Person.objects.filter(pk__in=persons).delete()
            Profile.objects.filter(user__in=users).delete()
            get_user_model().objects.filter(pk__in=[u.pk for u in users]).delete()
            territory.delete()


def test_register_tables_exist(db):
    """Also makes pytest-django set the test database up when this module runs alone."""
    assert not CallAssignment.objects.filter(pk=-1).exists()


def test_agents_calling_at_once_never_get_the_same_person(committed, django_db_blocker):
    campaign, users, registrations = committed
    barrier = threading.Barrier(len(users))
    handed: list[list[int]] = [[] for _ in users]
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            barrier.wait(timeout=60)
            while True:
                call = campaigns.next_call(users[i], campaign)
                if call is None:
                    return
                handed[i].append(call.registration_id)
                campaigns.record_outcome(call, Outcome.REACHED_FINE, "", users[i])
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(users))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert not errors, errors
    counts = Counter(pk for calls in handed for pk in calls)
    assert set(counts) == {r.pk for r in registrations}
    assert max(counts.values()) == 1, [pk for pk, n in counts.items() if n > 1]
    assert sum(1 for calls in handed if calls) > 1  # the work was really shared
    with django_db_blocker.unblock():
        outcomes = Counter(
            CallAssignment.objects.filter(campaign=campaign).values_list("outcome", flat=True)
        )
        assert outcomes == {Outcome.REACHED_FINE: PEOPLE}
