"""The same-day / 24-hour finder: the radius widened until five options (the SAS rule), sorted
by travel time, filters, the public page and the JSON API with its 400s."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from maillage.care.scheduling.models import Schedule, Site, SiteKind, Slot, SlotType
from maillage.care.scheduling.services import finder

pytestmark = pytest.mark.django_db

SAINT_DIZIER, JOINVILLE, CHAUMONT = "52448", "52250", "52121"


def practice(slug: str, commune: str, free: int, *, slot_type: str = SlotType.PUBLIC) -> Site:
    site = Site.objects.create(
        slug=slug, name=f"Cabinet {slug}", kind=SiteKind.UNSCHEDULED_CARE, commune_id=commune,
        synthetic=True,
    )  # fmt: skip
    schedule = Schedule.objects.create(site=site, name=f"SNP {slug}", mode="AMB")
    start = timezone.now().replace(microsecond=0) + dt.timedelta(hours=2)
    for i in range(free):
        Slot.objects.create(
            schedule=schedule, start=start + dt.timedelta(minutes=20 * i),
            end=start + dt.timedelta(minutes=20 * (i + 1)), slot_type=slot_type,
        )  # fmt: skip
    return site


def test_the_radius_widens_until_five_options_nearest_first(demo_db):
    practice("saint-dizier", SAINT_DIZIER, 2)
    practice("joinville", JOINVILLE, 2)
    practice("chaumont", CHAUMONT, 3)
    practice("reserve", SAINT_DIZIER, 4, slot_type=SlotType.PRO)  # not for the public
    result = finder.find("52100", "24h", teleconsultation=False)
    assert result.commune.code == SAINT_DIZIER
    assert len(result.options) >= finder.MIN_OPTIONS
    assert result.tried_km[0] == 10 and result.radius_km == result.tried_km[-1] > 10
    slugs = [o.site.slug for o in result.options]
    assert slugs[:2] == ["saint-dizier", "saint-dizier"] and "reserve" not in slugs
    minutes = [o.minutes for o in result.options]
    assert minutes == sorted(minutes)
    # the radius before the last one had fewer than five
    smaller = [o for o in result.options if o.km <= result.tried_km[-2]]
    assert len(smaller) < finder.MIN_OPTIONS


def test_five_options_near_home_need_no_widening(demo_db):
    practice("saint-dizier", SAINT_DIZIER, 5)
    practice("chaumont", CHAUMONT, 3)
    result = finder.find("Saint-Dizier", "24h", teleconsultation=False)
    assert result.radius_km == 10 and result.tried_km == [10]
    assert {o.site.slug for o in result.options} == {"saint-dizier"}


def test_taken_blocked_and_out_of_window_slots_are_left_out(demo_db):
    site = practice("saint-dizier", SAINT_DIZIER, 3)
    slots = list(Slot.objects.filter(schedule__site=site))
    Slot.objects.filter(pk=slots[0].pk).update(booked=1)
    Slot.objects.filter(pk=slots[1].pk).update(blocked=True)
    Slot.objects.filter(pk=slots[2].pk).update(
        start=timezone.now() + dt.timedelta(hours=30), end=timezone.now() + dt.timedelta(hours=31)
    )
    ids = {o.slot.pk for o in finder.find("52100", "24h", teleconsultation=False).options}
    assert not ids & {s.pk for s in slots}
    ids = {o.slot.pk for o in finder.find("52100", "48h", teleconsultation=False).options}
    assert slots[2].pk in ids


def test_bad_input_is_refused_in_french():
    with pytest.raises(finder.FinderError, match="Fenêtre"):
        finder.window_end("3j", timezone.now())
    with pytest.raises(finder.FinderError, match="Profession"):
        finder.find("52100", profession="sorcier")


def test_the_public_page_and_the_api(demo_db):
    practice("saint-dizier", SAINT_DIZIER, 5)
    client = Client(HTTP_HOST="127.0.0.1")
    page = client.get("/soins-non-programmes/?lieu=52100&fenetre=24h&teleconsultation=non")
    assert page.status_code == 200
    assert (
        "Cabinet saint-dizier" in page.content.decode() and "synthétique" in page.content.decode()
    )
    bad = client.get("/soins-non-programmes/?lieu=Zzyzxville-sur-Nulle")
    assert bad.status_code == 400 and "Lieu introuvable" in bad.content.decode()
    answer = client.get("/api/care/finder", {"place": "52100", "teleconsultation": "false"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["commune"] == SAINT_DIZIER and body["count"] == 5 and body["synthetic"] is True
    assert body["options"][0]["site"]["slug"] == "saint-dizier"
    assert body["options"][0]["fhir_slot"].startswith("/fhir/Slot/")
    for params in ({}, {"place": "52100", "window": "3j"}, {"place": "Zzyzxville"},
                   {"place": "52100", "teleconsultation": "peut-être"},
                   {"place": "52100", "profession": "sorcier"}):  # fmt: skip
        refused = client.get("/api/care/finder", params)
        assert refused.status_code == 400, params
        assert refused.json()["detail"]
    schema = client.get("/api/schema").json()
    assert "/api/care/finder" in schema["paths"]
