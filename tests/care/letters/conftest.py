"""Fixtures of the discharge-letter tests: two hospitals (Saint-Dizier and Chaumont), their
referents, two GPs, a coordinator of a CPTS around Saint-Dizier, clients past the second factor,
and discharges made through the service."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User

from maillage.accounts.models import Profile, Role
from maillage.care.letters.models import Discharge
from maillage.care.letters.services import discharges as service
from maillage.directory.models import Organization, Practitioner
from maillage.territory.models import Territory

from ..helpers import HOST, verified_client  # noqa: F401 (the tests import them from here)

PARIS = ZoneInfo("Europe/Paris")
PASSWORD = "x-Un-Long-Mot-De-Passe-42"
SAINT_DIZIER, WASSY, CHAUMONT = "52448", "52550", "52121"


def paris(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def care_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("MAILLAGE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MAILLAGE_CARE_KEYS", raising=False)


def make_hospital(name: str, commune: str, finess: str) -> Organization:
    return Organization.objects.create(
        finess_et=finess, name=name, commune_id=commune, kind="hopital", source="manual"
    )


@pytest.fixture
def hospital_sd(demo_db) -> Organization:
    return make_hospital("CH TEST SAINT-DIZIER", SAINT_DIZIER, "529990001")


@pytest.fixture
def hospital_ch(demo_db) -> Organization:
    return make_hospital("CH TEST CHAUMONT", CHAUMONT, "529990002")


@pytest.fixture
def make_user(demo_db):
    def make(name: str, role: str | None, practitioner: Practitioner | None = None) -> User:
        user = User.objects.create_user(name, password=PASSWORD)
        if role is not None:
            Profile.objects.create(user=user, role=role, practitioner=practitioner)
        return user

    return make


@pytest.fixture
def referent_sd(make_user, hospital_sd) -> User:
    user = make_user("referent.sd", Role.HOSPITAL)
    user.profile.organizations.add(hospital_sd)
    return user


@pytest.fixture
def referent_ch(make_user, hospital_ch) -> User:
    user = make_user("referent.ch", Role.HOSPITAL)
    user.profile.organizations.add(hospital_ch)
    return user


@pytest.fixture
def doctor_a(demo_db) -> Practitioner:
    return Practitioner.objects.create(
        family_name="ALPHA", given_name="Test", rpps="19999900001", source="manual"
    )


@pytest.fixture
def doctor_b(demo_db) -> Practitioner:
    return Practitioner.objects.create(
        family_name="BETA", given_name="Test", rpps="19999900002", source="manual"
    )


@pytest.fixture
def gp_a(make_user, doctor_a) -> User:
    return make_user("docteur.a", Role.PROFESSIONAL, practitioner=doctor_a)


@pytest.fixture
def gp_b(make_user, doctor_b) -> User:
    return make_user("docteur.b", Role.PROFESSIONAL, practitioner=doctor_b)


@pytest.fixture
def coordinator(make_user) -> User:
    territory = Territory.objects.create(slug="cpts-test", name="CPTS de test", kind="cpts")
    territory.communes.set([SAINT_DIZIER, WASSY])
    user = make_user("coordination", Role.COORDINATOR)
    user.profile.territories.add(territory)
    return user


def person_traits(name: str = "ZORGBELIN", first: str = "Philomène", born=dt.date(1941, 2, 17)):
    return {"birth_name": name, "first_names": first, "birth_date": born, "sex": "F"}


def discharge(
    user, hospital, gp=None, *, name="ZORGBELIN", first="Philomène", **values
) -> Discharge:
    """A discharge recorded through the service (defaults: a week ago, letter not sent)."""
    data = {
        "hospital": hospital,
        "service": "Médecine polyvalente",
        "admission_at": paris(2026, 3, 2, 10, 0),
        "discharge_at": paris(2026, 3, 9, 11, 0),
        "destination": "home",
        "gp": gp,
        **values,
    }
    person = service.new_person(person_traits(name, first))
    return service.record_discharge(user, person, data)
