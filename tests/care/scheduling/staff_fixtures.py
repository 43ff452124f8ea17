"""Fixtures of the staff pages' tests (nurse's day, activity): users of each care role, a
client that passed the second factor, a booking today at a site the nurse serves."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from maillage.accounts.models import Profile, Role
from maillage.care.scheduling.models import Booking, Schedule, Site, SiteKind, Slot
from maillage.care.scheduling.services import booking as booking_service
from maillage.care.scheduling.services.generation import local_zone

PERSON = {
    "birth_name": "Zorgbelin",
    "first_names": "Philomène Adélaïde",
    "birth_date": "1950-03-02",
    "sex": "F",
    "phone": "03 53 01 00 01",  # ARCEP range reserved for fiction
    "commune_id": "52448",
    "synthetic": True,
}


@pytest.fixture(autouse=True)
def care_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("MAILLAGE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MAILLAGE_CARE_KEYS", raising=False)


def make_user(name: str, role: str) -> User:
    user = User.objects.create_user(name, password="x-Un-Long-Mot-De-Passe-42")
    Profile.objects.create(user=user, role=role)
    return user


def verified_client(user: User) -> Client:
    """A client logged in as ``user`` whose session passed TOTP (as django-otp records it)."""
    device = TOTPDevice.objects.create(user=user, name="téléphone", confirmed=True)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def today_slot(schedule: Schedule, minutes: int = 5, capacity: int = 1) -> Slot:
    """A slot early today (local time): it has begun, so it can be marked."""
    start = dt.datetime.combine(dt.date.today(), dt.time(0, minutes), local_zone())
    from django.utils import timezone

    start = dt.datetime.combine(timezone.localdate(), dt.time(0, minutes), local_zone())
    return Slot.objects.create(
        schedule=schedule, start=start, end=start + dt.timedelta(minutes=30), capacity=capacity
    )


def book_today(schedule: Schedule, person: dict | None = None, minutes: int = 5, **kw) -> Booking:
    slot = today_slot(schedule, minutes)
    result = booking_service.book(
        slot,
        person or PERSON,
        channel="phone",
        now=slot.start - dt.timedelta(days=1),
        reason="Toux depuis trois jours",
        **kw,
    )
    return result.booking


@pytest.fixture
def other_site(demo_db) -> Site:
    return Site.objects.create(
        slug="salle-autre", name="Salle d'ailleurs", kind=SiteKind.TELECONSULTATION_ROOM,
        commune_id="52060", min_age=6,
    )  # fmt: skip


@pytest.fixture
def nurse(site) -> User:
    user = make_user("infirmiere", Role.NURSE)
    site.staff.add(user)
    return user


@pytest.fixture
def coordinator(demo_db) -> User:
    return make_user("coordinatrice", Role.COORDINATOR)
