"""Fixtures of the booking tests (imported by the test_booking_* modules): a teleconsultation
room with free slots in the coming days, users of each role, a client logged in with its second
factor, and SMS written to files in the test's own folder."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from maillage.accounts.models import Profile, Role
from maillage.care.scheduling.models import Schedule, Site, SiteKind, Slot, SlotType

from ..helpers import HOST, verified_client  # noqa: F401 (the tests import them from here)
from .conftest import PARIS, SAINT_DIZIER

PASSWORD = "x-Un-Long-Mot-De-Passe-42"

#: A booking form filled as a person would (phone: ARCEP's range reserved for fiction).
FORM = {
    "birth_name": "Zorgbelin",
    "first_names": "Philomène Adélaïde",
    "used_first_name": "Mina",
    "birth_date": "17/02/1941",
    "sex": "F",
    "phone": "03 53 01 00 42",
    "email": "mina.zorgbelin@example.org",
    "has_gp": "non",
    "gp_label": "",
    "reason": "Toux sèche depuis trois jours",
    "consent_teleconsultation": "on",
    "consent_reminders": "on",
    "website": "",
}


def local_slot(schedule: Schedule, day: dt.date, hour: int, minute: int = 0, **extra) -> Slot:
    start = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)
    return Slot.objects.create(
        schedule=schedule, start=start, end=start + dt.timedelta(minutes=30), **extra
    )


@pytest.fixture(autouse=True)
def sms_dir(settings, tmp_path) -> Path:
    """SMS go to files in the test's folder; e-mails to Django's test outbox."""
    settings.MAILLAGE_SMS_BACKEND = "file"
    settings.MAILLAGE_SMS_FILE_PATH = tmp_path / "sms"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return tmp_path / "sms"


def sms_texts(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return [p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())]


@pytest.fixture
def room(schedule) -> Site:
    """The test site (a teleconsultation room from 6 years old) with, two days ahead, three
    public slots (9:00, 9:30, 10:00) and a slot for professionals only (11:00), and one public
    slot four days ahead (9:00)."""
    site = schedule.site
    day = timezone.localdate() + dt.timedelta(days=2)
    for hour, minute in ((9, 0), (9, 30), (10, 0)):
        local_slot(schedule, day, hour, minute)
    local_slot(schedule, day, 11, 0, slot_type=SlotType.PRO)
    local_slot(schedule, day + dt.timedelta(days=2), 9, 0)
    return site


def room_slots(site: Site) -> list[Slot]:
    return list(
        Slot.objects.filter(schedule__site=site, slot_type=SlotType.PUBLIC).order_by("start")
    )


@pytest.fixture
def other_site(demo_db) -> Site:
    site = Site.objects.create(
        slug="autre-salle", name="Autre salle", kind=SiteKind.TELECONSULTATION_ROOM,
        commune_id=SAINT_DIZIER, min_age=6,
    )  # fmt: skip
    schedule = Schedule.objects.create(site=site, name="Agenda autre", mode="VR")
    local_slot(schedule, timezone.localdate() + dt.timedelta(days=2), 14, 0)
    return site


@pytest.fixture
def make_user(demo_db):
    def make(name: str, role: str | None) -> User:
        user = User.objects.create_user(name, password=PASSWORD)
        if role is not None:
            Profile.objects.create(user=user, role=role)
        return user

    return make


@pytest.fixture
def operator(make_user, room) -> User:
    user = make_user("operateur", Role.OPERATOR)
    room.staff.add(user)
    return user
