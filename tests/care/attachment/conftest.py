"""Fixtures of the waiting-list tests: two GPs of Haute-Marne with capacities, a coordinator of
a CPTS around Saint-Dizier, an operator, clients logged in with their second factor, and a
request form filled as a person would."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from maillage.accounts.models import Profile, Role
from maillage.care.attachment.models import GpCapacity
from maillage.directory.models import Location, Practitioner, PractitionerRole
from maillage.territory.models import Commune, Territory

from ..helpers import HOST, verified_client  # noqa: F401 (the tests import them from here)

PASSWORD = "x-Un-Long-Mot-De-Passe-42"
SAINT_DIZIER, WASSY, CHAUMONT = "52448", "52550", "52121"

FORM = {
    "birth_name": "Zorgbelin",
    "first_names": "Philomène Adélaïde",
    "used_first_name": "Mina",
    "birth_date": "17/02/1941",
    "sex": "F",
    "phone": "03 53 01 00 42",  # ARCEP's range reserved for fiction
    "email": "",
    "commune": "52100 Saint-Dizier",
    "ald": "on",
    "chronic_renewal": "on",
    "months_without_gp": "8",
    "teleconsultations": "2",
    "consent": "on",
    "website": "",
}


@pytest.fixture(autouse=True)
def care_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("MAILLAGE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MAILLAGE_CARE_KEYS", raising=False)


@pytest.fixture
def make_user(demo_db):
    def make(name: str, role: str | None, practitioner: Practitioner | None = None) -> User:
        user = User.objects.create_user(name, password=PASSWORD)
        if role is not None:
            Profile.objects.create(user=user, role=role, practitioner=practitioner)
        return user

    return make


def make_gp(name: str, commune: str, per_month: int, **extra) -> GpCapacity:
    town = Commune.objects.get(code=commune)
    doctor = Practitioner.objects.create(family_name=name, given_name="Test", source="manual")
    place = Location.objects.create(
        name=f"Cabinet {name}", commune=town, latitude=town.latitude,
        longitude=town.longitude, source="manual",
    )  # fmt: skip
    PractitionerRole.objects.create(practitioner=doctor, location=place, profession_code="10")
    communes = extra.pop("communes", [])
    capacity = GpCapacity.objects.create(
        practitioner=doctor, location=place, new_patients_per_month=per_month, **extra
    )
    capacity.communes.set(communes)
    return capacity


@pytest.fixture
def cpts(demo_db) -> Territory:
    territory = Territory.objects.create(slug="cpts-test", name="CPTS de test", kind="cpts")
    territory.communes.set([SAINT_DIZIER, WASSY])
    return territory


@pytest.fixture
def coordinator(make_user, cpts) -> User:
    user = make_user("coordination", Role.COORDINATOR)
    user.profile.territories.add(cpts)
    return user


@pytest.fixture
def gp_near(demo_db) -> GpCapacity:
    return make_gp("PROCHE", SAINT_DIZIER, 2, communes=[SAINT_DIZIER])


@pytest.fixture
def gp_far(demo_db) -> GpCapacity:
    return make_gp("LOINTAIN", CHAUMONT, 3, radius_km=30)


@pytest.fixture
def gp_user(make_user, gp_near) -> User:
    return make_user("docteur", Role.PROFESSIONAL, practitioner=gp_near.practitioner)
