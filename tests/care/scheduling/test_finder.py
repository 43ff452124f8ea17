"""The same-day / 24-hour finder: the radius widened until five options (the SAS rule), sorted
by travel time, filters, the public page and the JSON API with its 400s."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from maillage.care.scheduling.models import Schedule, Site, SiteKind, Slot, SlotType
from maillage.care.scheduling.services import finder
from maillage.demo import care as demo_care

pytestmark = pytest.mark.django_db

SAINT_DIZIER, JOINVILLE, CHAUMONT = "52448", "52250", "52121"


@pytest.fixture(autouse=True)
def _without_demo_practices(demo_db):
    """The demo's synthetic practices are set aside: each test builds its own map."""
    Site.objects.filter(slug__startswith=demo_care.PRACTICE_PREFIX).update(active=False)


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


def test_the_demo_practices_are_synthetic_gps_with_evening_slots(demo_db):
    demo_care.load_demo_practices()
    again = demo_care.load_demo_practices()  # idempotent
    sites = Site.objects.filter(slug__startswith=demo_care.PRACTICE_PREFIX)
    assert sites.count() == again.counts["cabinets"] >= 3
    for site in sites:
        assert site.synthetic and site.practitioner_role.practitioner.synthetic
        assert site.practitioner_role.profession_code == "10"
    monday = timezone.localdate() + dt.timedelta(days=7 - timezone.localdate().weekday())
    now = dt.datetime.combine(monday, dt.time(8), finder_zone())
    result = finder.find("Langres", "today", teleconsultation=False, now=now)
    assert result.options and all(o.site.synthetic for o in result.options)
    assert result.options[0].site.commune_id == "52269"  # Langres' own practice first


def finder_zone():
    from maillage.care.scheduling.services.generation import local_zone

    return local_zone()


def test_the_nearest_slots_are_found_behind_thousands_of_sooner_ones_elsewhere(demo_db):
    """At national scale the window holds far more slots than the finder could read: the
    nearest must be selected by place, not among the first slots of the window (issue 9)."""
    far = practice("chaumont", CHAUMONT, 0)
    soon = timezone.now().replace(microsecond=0) + dt.timedelta(hours=1)
    schedules = Schedule.objects.bulk_create(
        Schedule(site=far, name=f"SNP {i}", mode="AMB") for i in range(60)
    )
    Slot.objects.bulk_create(
        Slot(
            schedule=s,
            start=soon + dt.timedelta(minutes=10 * i),
            end=soon + dt.timedelta(minutes=10 * (i + 1)),
        )
        for s in schedules
        for i in range(100)
    )  # fmt: skip: 6,000 slots sooner than any near Saint-Dizier
    near = practice("saint-dizier", SAINT_DIZIER, 0)
    schedule = Schedule.objects.create(site=near, name="SNP", mode="AMB")
    later = soon + dt.timedelta(hours=19)
    for i in range(5):
        Slot.objects.create(schedule=schedule, start=later + dt.timedelta(minutes=20 * i),
                            end=later + dt.timedelta(minutes=20 * (i + 1)))  # fmt: skip
    result = finder.find("52100", "24h", teleconsultation=False)
    assert result.radius_km == 10 and result.tried_km == [10]
    assert [o.site.slug for o in result.options] == ["saint-dizier"] * 5
    assert [o.slot.start for o in result.options] == sorted(o.slot.start for o in result.options)


def test_a_site_is_placed_at_its_location_else_its_commune_and_kept_in_sync(demo_db):
    """The finder reads the sites' copy of their coordinates (indexed): the directory
    Location's when it has both, else the commune's centroid, kept when either is saved or the
    Location deleted, and refilled in one UPDATE after bulk writes."""
    from maillage.care.scheduling.models import sync_coordinates
    from maillage.directory.models import Location
    from maillage.territory.models import Commune

    joinville = Commune.objects.get(code=JOINVILLE)
    saint_dizier = Commune.objects.get(code=SAINT_DIZIER)
    site = practice("cabinet", JOINVILLE, 5)
    site.refresh_from_db()
    assert (site.latitude, site.longitude) == (joinville.latitude, joinville.longitude)
    assert finder.find("Joinville", "24h", teleconsultation=False).radius_km == 10
    assert (
        finder.find("52100", "24h", teleconsultation=False).radius_km > 10
    )  # Saint-Dizier is ~30 km away

    # the practice is in fact in Saint-Dizier (its directory Location says so)
    location = Location.objects.create(
        name="Cabinet", commune_id=SAINT_DIZIER, synthetic=True,
        latitude=saint_dizier.latitude + 0.001, longitude=saint_dizier.longitude,
    )  # fmt: skip
    site.location = location
    site.save()
    site.refresh_from_db()
    assert site.latitude == saint_dizier.latitude + 0.001
    assert finder.find("52100", "24h", teleconsultation=False).radius_km == 10
    assert finder.find("Joinville", "24h", teleconsultation=False).radius_km > 10

    # the Location moves (its save), then moves back through a bulk write (no save)
    location.latitude = joinville.latitude
    location.longitude = joinville.longitude
    location.save()
    site.refresh_from_db()
    assert (site.latitude, site.longitude) == (joinville.latitude, joinville.longitude)
    Location.objects.filter(pk=location.pk).update(
        latitude=saint_dizier.latitude, longitude=saint_dizier.longitude
    )  # a bulk write skips save: the daily run resyncs
    assert sync_coordinates() >= 1
    site.refresh_from_db()
    assert site.latitude == saint_dizier.latitude
    location.delete()
    site.refresh_from_db()
    assert site.location_id is None
    assert (site.latitude, site.longitude) == (joinville.latitude, joinville.longitude)

    # bulk_create skips save: nothing placed until sync_coordinates
    [bulk] = Site.objects.bulk_create(
        [Site(slug="bulk", name="Bulk", kind=SiteKind.UNSCHEDULED_CARE, commune_id=CHAUMONT)]
    )
    assert Site.objects.get(pk=bulk.pk).latitude is None
    sync_coordinates(Site.objects.filter(pk=bulk.pk))
    chaumont = Commune.objects.get(code=CHAUMONT)
    assert Site.objects.filter(
        pk=bulk.pk, latitude=chaumont.latitude, longitude=chaumont.longitude
    ).exists()
