"""iCalendar exports, the demo agendas, the rolling generation task."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from icalendar import Calendar

from maillage.accounts.models import AuditEvent, Profile, Role
from maillage.care.scheduling.models import Schedule, Site, Slot
from maillage.care.scheduling.services import booking as service
from maillage.care.scheduling.services.generation import generate_all
from maillage.care.scheduling.tasks import ensure_generation_scheduled, generate_slots, next_run
from maillage.demo.scheduling import load_demo_scheduling

from .conftest import PARIS

pytestmark = pytest.mark.django_db

PERSON = {
    "birth_name": "Petit", "first_names": "Louis", "birth_date": "1980-05-06", "sex": "M",
    "phone": "03 53 01 00 03", "synthetic": True,
}  # fmt: skip


def events(content: bytes) -> list:
    return [c for c in Calendar.from_ical(content).walk() if c.name == "VEVENT"]


@pytest.fixture
def clos_mortier(demo_db) -> Site:
    """The demo room, its slots rolled forward to today (a reused test database may be old)."""
    generate_all()
    return Site.objects.get(slug="teleconsultation-clos-mortier")


def future(qs):
    return qs.filter(start__gt=timezone.now()).order_by("start")


def test_demo_rooms_are_linked_and_have_free_slots_from_today(clos_mortier):
    la_noue = Site.objects.get(slug="teleconsultation-la-noue")
    for site in (clos_mortier, la_noue):
        assert site.service is not None and site.service.slug == site.slug
        assert site.location is not None and site.location.address == site.address
        assert site.min_age == 6
    assert clos_mortier.address == "11 rue Henri IV" and la_noue.opened_on == dt.date(2019, 9, 15)
    today = timezone.localdate()
    # since 2020: three days a week, 08:30-12:30 and 13:30-18:00 (8 + 9 slots of 30 minutes)
    for site, weekdays in ((clos_mortier, {0, 1, 3}), (la_noue, {0, 2, 4})):
        slots = Slot.objects.filter(
            schedule__site=site, slot_type="public", start__gte=timezone.now()
        )
        local = [s.start.astimezone(PARIS) for s in slots]
        assert {t.weekday() for t in local} == weekdays
        days = sorted({t.date() for t in local})
        assert today <= days[0] <= today + dt.timedelta(days=4)
        assert days[-1] >= today + dt.timedelta(weeks=7)  # the 8-week horizon
        full_day = [t.strftime("%H:%M") for t in local if t.date() == days[1]]
        assert full_day[0] == "08:30" and full_day[-1] == "17:30" and len(full_day) == 17
    partner = Slot.objects.filter(schedule__site=clos_mortier, slot_type="partner")
    assert partner.exists() and all(s.partner.finess_et == "520781675" for s in partner)


def test_demo_loading_is_idempotent(clos_mortier):
    before = list(Slot.objects.values_list("pk", flat=True).order_by("pk"))
    report = load_demo_scheduling()
    assert report.counts["créneaux créés"] == 0
    assert list(Slot.objects.values_list("pk", flat=True).order_by("pk")) == before
    assert Site.objects.filter(slug__startswith="teleconsultation-").count() == 2


def test_free_slots_ics_is_public_and_lists_free_public_slots(client, clos_mortier):
    schedule = Schedule.objects.get(site=clos_mortier)
    slot = future(Slot.objects.filter(schedule=schedule, slot_type="public"))[1]
    service.book(slot, PERSON, channel="phone")
    response = client.get(f"/agendas/{schedule.pk}/creneaux.ics", HTTP_HOST="127.0.0.1")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    found = events(response.content)
    uids = {str(e["UID"]) for e in found}
    assert f"slot-{slot.pk}@maillage" not in uids  # booked: not free any more
    free_public = Slot.objects.filter(
        schedule=schedule, slot_type="public", booked=0, start__gt=timezone.now()
    )
    assert uids == {f"slot-{s.pk}@maillage" for s in free_public}
    first = min(found, key=lambda e: e["DTSTART"].dt)
    assert first["DTSTART"].dt.tzinfo is not None
    assert "11 rue Henri IV" in str(first["LOCATION"])
    assert client.get("/agendas/999999/creneaux.ics", HTTP_HOST="127.0.0.1").status_code == 404


def test_site_bookings_ics_is_for_the_site_staff_without_the_reason(client, clos_mortier):
    slot = future(Slot.objects.filter(schedule__site=clos_mortier, slot_type="public")).first()
    booking = service.book(slot, PERSON, channel="phone", reason="Douleur au genou").booking
    url = f"/agendas/sites/{clos_mortier.slug}/rendez-vous.ics"
    assert client.get(url, HTTP_HOST="127.0.0.1").status_code == 302  # to the login page
    User = get_user_model()
    nurse = User.objects.create_user("infirmiere", password="x-Long-passw0rd-1")
    Profile.objects.create(user=nurse, role=Role.NURSE)
    client.force_login(nurse)
    session = client.session
    session["auth_method"] = "psc"  # strong authentication done
    session.save()
    assert client.get(url, HTTP_HOST="127.0.0.1").status_code == 404  # not her site
    clos_mortier.staff.add(nurse)
    response = client.get(url, HTTP_HOST="127.0.0.1")
    assert response.status_code == 200
    text = response.content.decode()
    assert booking.reference in text and "PETIT Louis" in text
    assert "genou" not in text
    assert AuditEvent.objects.filter(user=nurse, action="export", purpose="booking").exists()


def test_generation_task_runs_and_reschedules_itself_once(demo_db):
    from django_tasks_db.models import DBTaskResult

    assert ensure_generation_scheduled() is True
    assert ensure_generation_scheduled() is False  # a restart does not start a second chain
    from maillage.care.scheduling.models import Site

    Site.objects.update(latitude=None, longitude=None)  # as after a bulk write
    result = generate_slots.call(reschedule=False)
    assert "créneaux" in result
    # the daily run refreshed the sites' copy of their coordinates (the finder reads it)
    assert not Site.objects.filter(commune__isnull=False, latitude__isnull=True).exists()
    assert DBTaskResult.objects.filter(status="READY").count() == 1
    later = next_run(dt.datetime(2026, 3, 28, 23, 30, tzinfo=dt.UTC))  # 00:30 local on the 29th
    assert later.isoformat() == "2026-03-30T03:00:00+02:00"
