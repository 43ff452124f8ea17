"""Fixtures of the register's tests: a commune's agent of Saint-Dizier, one of Chaumont, a
coordinator of a CPTS around both, clients logged in with their second factor, a registration
form filled as an agent would, and a helper registering synthetic people."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.contrib.auth.models import User

from maillage.accounts.models import Profile, Role
from maillage.care.register.models import Registration
from maillage.care.register.services.registrations import register_person
from maillage.territory.models import Territory

from ..helpers import HOST, verified_client  # noqa: F401 (the tests import them from here)

PASSWORD = "x-Un-Long-Mot-De-Passe-42"
SAINT_DIZIER, WASSY, CHAUMONT = "52448", "52550", "52121"

FORM = {
    "birth_name": "Zorgbelin",
    "first_names": "Philomène Adélaïde",
    "birth_date": "17/02/1936",
    "sex": "F",
    "phone": "01 99 00 00 42",  # ARCEP's range reserved for fiction
    "commune": SAINT_DIZIER,
    "address": "3 rue des Tilleuls",
    "emergency_contacts": "Sa fille Anne, 01 99 00 00 43",
    "living_alone": "on",
    "mobility": "aid",
    "power_devices": "on",
    "power_devices_detail": "concentrateur d'oxygène",
    "attending_doctor": "Dr Exemple",
    "registered_by": "relative",
    "consent": "on",
}
_names = itertools.count()


@pytest.fixture(autouse=True)
def care_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("MAILLAGE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MAILLAGE_CARE_KEYS", raising=False)


def territory(slug: str, communes: list[str]) -> Territory:
    t = Territory.objects.create(slug=slug, name=slug, kind="cpts")
    t.communes.set(communes)
    return t


def make_user(name: str, role: str | None, communes: list[str] | None = None) -> User:
    user = User.objects.create_user(name, password=PASSWORD)
    if role is not None:
        profile = Profile.objects.create(user=user, role=role)
        if communes:
            profile.territories.add(territory(f"t-{name}", communes))
    return user


def registered(user: User | None, commune: str = SAINT_DIZIER, **extra) -> Registration:
    """A synthetic person registered in ``commune`` (by ``user``, or by no one)."""
    i = next(_names)
    return register_person(
        user,
        traits={
            "birth_name": f"Testinscrit{i}", "first_names": "Jeanne", "sex": "F",
            "birth_date": dt.date(1930 + i % 50, 1 + i % 12, 1 + i % 28),
            "phone": f"01 99 00 {i // 100 % 100:02d} {i % 100:02d}",
        },
        commune_id=commune, details={"address": f"{i} rue d'essai", **extra},
        registered_by="agent", consent=True, synthetic=True,
    )  # fmt: skip


@pytest.fixture
def agent_a(demo_db) -> User:
    return make_user("agent-saint-dizier", Role.CCAS_AGENT, [SAINT_DIZIER])


@pytest.fixture
def agent_b(demo_db) -> User:
    return make_user("agent-chaumont", Role.CCAS_AGENT, [CHAUMONT])


@pytest.fixture
def coordinator(demo_db) -> User:
    return make_user("coordination", Role.COORDINATOR, [SAINT_DIZIER, WASSY, CHAUMONT])
