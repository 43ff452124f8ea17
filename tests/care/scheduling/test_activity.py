# ruff: noqa: F811 - fixtures imported from staff_fixtures
"""Activity from the database: figures equal to a hand count on a small case and to the seeds'
calibration on the demo history; exports readable and without names; roles and scope."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.test import Client
from django.utils.html import escape
from openpyxl import load_workbook

from maillage.accounts.models import Role
from maillage.analytics import care_activity
from maillage.care.people.models import Person
from maillage.care.scheduling.models import Booking, Schedule, Site, Slot
from maillage.care.scheduling.services import activity, attendance
from maillage.care.scheduling.services.generation import local_zone
from maillage.demo import care as demo_care
from maillage.demo import care_history
from tests.care.scheduling.staff_fixtures import (  # noqa: F401 - fixtures
    PERSON,
    book_today,
    care_keys,
    coordinator,
    make_user,
    nurse,
    other_site,
    verified_client,
)

pytestmark = pytest.mark.django_db
PARIS = local_zone()


def _slots(schedule: Schedule, day: dt.date, hour: int, count: int) -> list[Slot]:
    start = dt.datetime.combine(day, dt.time(hour), PARIS)
    return [
        Slot.objects.create(
            schedule=schedule,
            start=start + dt.timedelta(minutes=30 * i),
            end=start + dt.timedelta(minutes=30 * (i + 1)),
        )
        for i in range(count)
    ]


def test_a_small_case_counted_by_hand(site, schedule, nurse):
    """Two half-days on one day of March 2026 (4 + 2 slots), three bookings: two honoured (the
    same person twice, 75 years old, no médecin traitant; the other unknown), one no-show."""
    day = dt.date(2026, 3, 10)
    morning = _slots(schedule, day, 9, 4)
    afternoon = _slots(schedule, day, 14, 2)
    from maillage.care.scheduling.services import booking as service

    before = morning[0].start - dt.timedelta(days=1)
    old = {**PERSON, "birth_date": "1950-01-01"}
    first = service.book(morning[0], old, channel="web", has_gp=False, now=before).booking
    again = service.book(morning[1], first.person, channel="web", has_gp=False, now=before)
    young = {**PERSON, "birth_name": "Autre", "birth_date": "2000-06-01"}
    missed = service.book(afternoon[0], young, channel="phone", now=before).booking
    now = dt.datetime.combine(day, dt.time(18), PARIS)
    for booking, status in ((first, "honoured"), (again.booking, "honoured"), (missed, "no_show")):
        attendance.mark(booking, status, nurse, now=now)
    result = activity.compute([site], until=now)
    row = result.monthly.iloc[0]
    assert row["month"] == "2026-03"
    assert (row["half_days"], row["days_open"], row["hours_open"]) == (2, 1, 3.0)
    assert (row["slots_offered"], row["booked"], row["acts"], row["no_shows"]) == (6, 3, 2, 1)
    assert row["no_show_rate"] == pytest.approx(1 / 3)
    assert row["distinct_patients"] == 1
    assert row["acts_per_day"] == 2 and row["acts_per_hour"] == pytest.approx(2 / 3)
    assert row["share_without_gp"] == 1.0
    assert row["75+"] == 2
    assert row["synthetic"]  # the test people are flagged synthetic, so is their month
    sessions, bookings = activity.frames([site], until=now)
    assert set(bookings["patient"]) == {f"p{first.person_id}", f"p{missed.person_id}"}
    assert not {"birth_name", "first_names", "phone", "birth", "reason"} & set(bookings.columns)


def test_the_demo_history_loads_fast_idempotent_and_counts_as_the_seeds(demo_db):
    until = dt.date(2019, 11, 15)
    report = demo_care.load_care_history(until)
    assert report.counts["rendez-vous"] > 1000
    again = demo_care.load_care_history(until)
    assert again.counts == {"créneaux": 0, "rendez-vous": 0, "personnes": 0}
    assert not Booking.objects.filter(
        synthetic=False, slot__schedule__name=demo_care.HISTORY_SCHEDULE
    ).exists()
    rooms = list(Site.objects.filter(slug__in=demo_care.SITE_SLUGS.values()))
    from_db = activity.compute(rooms, end=until)
    history = care_history.generate(until)
    people = Person.objects.filter(
        scheduling_bookings__slot__schedule__name=demo_care.HISTORY_SCHEDULE
    )
    assert people.distinct().count() == history.bookings["patient"].nunique()
    assert not people.exclude(birth_name="", birth_date=None, phone="", synthetic=True).exists()
    expected = care_activity.monthly_activity(history.sessions, history.bookings)
    got = from_db.monthly.assign(site=from_db.monthly["site"].str.replace("teleconsultation-", ""))
    columns = ["site", "month", "half_days", "slots_offered", "booked", "acts", "no_shows"]
    assert got[columns].to_dict("records") == expected[columns].to_dict("records")
    acts = from_db.totals.set_index("site")["acts"]
    # seed 003: 915 teleconsultations at Clos Mortier and 200 at La Noue on 14 November 2019
    assert acts["teleconsultation-clos-mortier"] == pytest.approx(915, rel=0.05)
    assert acts["teleconsultation-la-noue"] == pytest.approx(200, rel=0.12)
    assert from_db.synthetic and from_db.monthly["synthetic"].all()


def test_exports_are_readable_labelled_synthetic_and_without_names(site, schedule, coordinator):
    booking = book_today(schedule)
    client = verified_client(coordinator)
    page = client.get("/soins/activite/")
    assert page.status_code == 200 and "zorgbelin" not in page.content.decode().lower()
    text = client.get("/soins/activite.csv").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][0].startswith("DONNÉES SYNTHÉTIQUES")  # the test person is synthetic
    rows = rows[1:]
    assert rows[0][0] == "Site" and "Actes (honorés)" in rows[0] and rows[1][-1] == "oui"
    assert any(r[0] == site.name for r in rows[1:])
    assert "ZORGBELIN" not in text.upper() and booking.reference not in text
    book = load_workbook(io.BytesIO(client.get("/soins/activite.xlsx").content))
    values = [c for row in book.active.iter_rows(values_only=True) for c in row]
    assert "Créneaux offerts" in values and not any("ZORGBELIN" in str(v).upper() for v in values)
    demo_care.load_care_history(dt.date(2019, 5, 1))
    page = client.get("/soins/activite/").content.decode()
    assert "Données synthétiques" in page and "<svg" in page


def test_roles_and_scope(site, schedule, nurse, other_site, coordinator):
    other_schedule = Schedule.objects.create(site=other_site, name="Autre", mode="VR")
    book_today(schedule)
    book_today(other_schedule)
    assert Client(HTTP_HOST="127.0.0.1").get("/soins/activite/").status_code == 302
    nurse_page = verified_client(nurse).get("/soins/activite/").content.decode()
    # names as the page writes them (an apostrophe is escaped: the raw name would never match)
    mine, other = escape(site.name), escape(other_site.name)
    assert mine in nurse_page and other not in nurse_page
    everything = verified_client(coordinator).get("/soins/activite/").content.decode()
    assert mine in everything and other in everything
    professional = make_user("docteur", Role.PROFESSIONAL)
    assert verified_client(professional).get("/soins/activite/").status_code == 403
    client = verified_client(nurse)
    assert client.get(f"/soins/activite/?site={other_site.slug}").status_code == 400
    bad = client.get("/soins/activite/?depuis=2019-13")
    assert bad.status_code == 400 and "AAAA-MM" in bad.content.decode()
    assert client.get("/soins/activite.csv?depuis=nope").status_code == 400


def test_the_history_load_is_enqueued_once_as_a_background_task(demo_db):
    from django_tasks_db.models import DBTaskResult

    assert demo_care.ensure_history_scheduled() is True
    assert demo_care.ensure_history_scheduled() is False  # already waiting
    assert DBTaskResult.objects.filter(task_path__endswith="load_history_task").count() == 1


def test_the_activity_api_is_aggregates_flagged_synthetic(site, schedule, nurse, coordinator):
    book_today(schedule)
    assert Client(HTTP_HOST="127.0.0.1").get("/api/care/activity").status_code == 401
    professional = make_user("docteur", Role.PROFESSIONAL)
    assert verified_client(professional).get("/api/care/activity").status_code == 403
    client = verified_client(nurse)
    assert client.get("/api/care/activity", {"site": "ailleurs"}).status_code == 400
    body = client.get("/api/care/activity").json()
    assert body["synthetic"] is True and body["months"][0]["site"] == site.slug
    assert body["months"][0]["booked"] == 1 and body["months"][0]["synthetic"] is True
    assert "ZORGBELIN" not in str(body).upper()
    assert "/api/care/activity" in client.get("/api/schema").json()["paths"]
