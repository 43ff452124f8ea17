"""Fixtures of the scheduling tests: a site at Saint-Dizier with one schedule."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from maillage.care.scheduling.models import Schedule, Site, SiteKind

PARIS = ZoneInfo("Europe/Paris")
SAINT_DIZIER = "52448"


def local(day: dt.date, hour: int, minute: int = 0, fold: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS, fold=fold)


@pytest.fixture
def site(demo_db) -> Site:
    return Site.objects.create(
        slug="salle-test",
        name="Salle de test",
        kind=SiteKind.TELECONSULTATION_ROOM,
        address="1 rue de l'Essai",
        postal_code="52100",
        commune_id=SAINT_DIZIER,
        min_age=6,
    )


@pytest.fixture
def schedule(site) -> Schedule:
    return Schedule.objects.create(site=site, name="Agenda de test", mode="VR")
