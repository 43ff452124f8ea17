"""Slot generation: rules, holidays, exceptions, the clock-change nights, idempotence."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from maillage.care.scheduling.models import (
    OpeningRule,
    Schedule,
    ScheduleException,
    Site,
    SiteKind,
    Slot,
    SlotType,
)
from maillage.care.scheduling.services.generation import generate, plan, public_holiday

from .conftest import PARIS, local

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def starts(schedule: Schedule, day: dt.date) -> list[dt.datetime]:
    """The local starts of the schedule's slots on ``day`` (local)."""
    lower = dt.datetime.combine(day, dt.time(0), tzinfo=PARIS)
    upper = lower.astimezone(UTC) + dt.timedelta(hours=30)
    return [
        s.start.astimezone(PARIS)
        for s in Slot.objects.filter(schedule=schedule, start__gte=lower, start__lt=upper).order_by(
            "start"
        )
        if s.start.astimezone(PARIS).date() == day
    ]


def rule(schedule: Schedule, **kwargs) -> OpeningRule:
    values = {"weekdays": "0123456", "valid_from": dt.date(2020, 1, 1), "slot_minutes": 30}
    values.update(kwargs)
    return OpeningRule.objects.create(schedule=schedule, **values)


# --- the clock-change nights --------------------------------------------------------------------
def test_march_night_has_two_real_hours_and_the_next_morning_keeps_local_time(schedule):
    sunday, monday = dt.date(2026, 3, 29), dt.date(2026, 3, 30)  # last Sunday of March 2026
    rule(schedule, weekdays="6", start_time=dt.time(1), end_time=dt.time(4))
    rule(schedule, weekdays="0", half_day="morning")
    generate(schedule, today=dt.date(2026, 3, 23), weeks=2)

    night = starts(schedule, sunday)
    assert [t.strftime("%H:%M%z") for t in night] == [
        "01:00+0100", "01:30+0100", "03:00+0200", "03:30+0200",
    ]  # fmt: skip
    slots = Slot.objects.filter(schedule=schedule, start__in=night).order_by("start")
    assert [s.start.astimezone(UTC).strftime("%H:%M") for s in slots] == [
        "00:00", "00:30", "01:00", "01:30",
    ]  # fmt: skip
    assert all(s.end - s.start == dt.timedelta(minutes=30) for s in slots)

    morning = starts(schedule, monday)
    assert morning[0] == local(monday, 9)
    assert morning[0].astimezone(UTC).hour == 7  # 09:00 CEST
    assert starts(schedule, dt.date(2026, 3, 23))[0].astimezone(UTC).hour == 8  # 09:00 CET
    assert [t.strftime("%H:%M") for t in morning] == [
        "09:00", "09:30", "10:00", "10:30", "11:00", "11:30",
    ]  # fmt: skip


def test_october_night_lives_the_repeated_hour_twice(schedule):
    sunday, monday = dt.date(2026, 10, 25), dt.date(2026, 10, 26)  # last Sunday of October
    rule(schedule, weekdays="6", start_time=dt.time(1), end_time=dt.time(4))
    rule(schedule, weekdays="0", half_day="morning")
    generate(schedule, today=dt.date(2026, 10, 19), weeks=2)

    night = starts(schedule, sunday)
    assert [t.strftime("%H:%M%z") for t in night] == [
        "01:00+0200", "01:30+0200", "02:00+0200", "02:30+0200",
        "02:00+0100", "02:30+0100", "03:00+0100", "03:30+0100",
    ]  # fmt: skip
    assert len({t.astimezone(UTC) for t in night}) == 8  # eight distinct instants
    morning = starts(schedule, monday)
    assert morning[0] == local(monday, 9) and morning[0].astimezone(UTC).hour == 8


def test_a_start_that_does_not_exist_moves_after_the_gap(schedule):
    rule(schedule, weekdays="6", start_time=dt.time(2, 30), end_time=dt.time(4))
    generate(schedule, today=dt.date(2026, 3, 29), weeks=1)
    assert [t.strftime("%H:%M%z") for t in starts(schedule, dt.date(2026, 3, 29))] == ["03:30+0200"]


# --- holidays and exceptions -------------------------------------------------------------------
def test_public_holidays_are_closed_unless_an_extra_session_opens_them(schedule):
    rule(schedule, weekdays="01234", half_day="morning")
    ScheduleException.objects.create(
        schedule=schedule,
        kind="extra",
        start_date=dt.date(2026, 5, 1),
        end_date=dt.date(2026, 5, 1),
        start_time=dt.time(10),
        end_time=dt.time(11),
        reason="Permanence du 1er mai",
    )
    generate(schedule, today=dt.date(2026, 4, 1), weeks=6)
    assert public_holiday(dt.date(2026, 4, 6)) == "Lundi de Pâques"
    assert starts(schedule, dt.date(2026, 4, 6)) == []  # Easter Monday
    assert starts(schedule, dt.date(2026, 5, 14)) == []  # Ascension
    assert len(starts(schedule, dt.date(2026, 4, 7))) == 6
    may_day = starts(schedule, dt.date(2026, 5, 1))
    assert [t.strftime("%H:%M") for t in may_day] == ["10:00", "10:30"]
    extra_slot = Slot.objects.get(schedule=schedule, start=may_day[0])
    assert extra_slot.extra is not None and extra_slot.rule is None


def test_alsace_moselle_has_good_friday(demo_db):
    assert public_holiday(dt.date(2026, 4, 3), "57") is not None
    assert public_holiday(dt.date(2026, 4, 3), "52") is None
    assert public_holiday(dt.date(2026, 12, 26), "67") is not None


def test_closures_of_days_periods_and_hours(schedule):
    rule(schedule, weekdays="01234", half_day="morning")
    ScheduleException.objects.create(
        schedule=schedule, kind="closure", start_date=dt.date(2026, 6, 8),
        end_date=dt.date(2026, 6, 10), reason="Congés",
    )  # fmt: skip
    ScheduleException.objects.create(
        schedule=schedule, kind="closure", start_date=dt.date(2026, 6, 11),
        end_date=dt.date(2026, 6, 11), start_time=dt.time(10), end_time=dt.time(11),
        reason="Formation",
    )  # fmt: skip
    generate(schedule, today=dt.date(2026, 6, 1), weeks=3)
    for day in (8, 9, 10):
        assert starts(schedule, dt.date(2026, 6, day)) == []
    assert [t.strftime("%H:%M") for t in starts(schedule, dt.date(2026, 6, 11))] == [
        "09:00", "09:30", "11:00", "11:30",
    ]  # fmt: skip
    assert len(starts(schedule, dt.date(2026, 6, 12))) == 6


def test_rule_validity_weekdays_capacity_and_type(schedule, demo_db):
    from maillage.directory.models import Organization

    partner = Organization.objects.filter(commune_id="52448").first()
    rule(
        schedule, weekdays="2", start_time=dt.time(14), end_time=dt.time(15),
        capacity=2, slot_minutes=20, slot_type=SlotType.PARTNER, partner=partner,
        valid_from=dt.date(2026, 6, 10), valid_until=dt.date(2026, 6, 17),
    )  # fmt: skip
    generate(schedule, today=dt.date(2026, 6, 1), weeks=4)
    slots = list(Slot.objects.filter(schedule=schedule).order_by("start"))
    assert {s.start.astimezone(PARIS).date() for s in slots} == {
        dt.date(2026, 6, 10), dt.date(2026, 6, 17),
    }  # fmt: skip
    assert len(slots) == 6
    assert {(s.capacity, s.slot_type, s.partner_id) for s in slots} == {
        (2, SlotType.PARTNER, partner.pk)
    }


# --- idempotence, changes, nothing lost ----------------------------------------------------------
def test_generation_is_idempotent(schedule):
    rule(schedule, weekdays="024", half_day="morning")
    first = generate(schedule, today=dt.date(2026, 6, 1), weeks=8)
    ids = set(Slot.objects.filter(schedule=schedule).values_list("pk", flat=True))
    assert first.created == 8 * 3 * 6
    again = generate(schedule, today=dt.date(2026, 6, 1), weeks=8)
    assert (again.created, again.updated, again.deleted, again.blocked) == (0, 0, 0, 0)
    assert again.unchanged == first.created
    assert set(Slot.objects.filter(schedule=schedule).values_list("pk", flat=True)) == ids
    rolled = generate(schedule, today=dt.date(2026, 6, 8), weeks=8)  # a week later
    assert rolled.created == 18 and rolled.deleted == 0


def test_a_rule_change_updates_free_slots_and_blocks_booked_ones(schedule):
    r = rule(schedule, weekdays="0", half_day="morning")
    generate(schedule, today=dt.date(2026, 6, 1), weeks=2)
    booked = Slot.objects.filter(schedule=schedule).order_by("start").first()
    Slot.objects.filter(pk=booked.pk).update(booked=1)

    r.capacity = 3
    r.save()
    report = generate(schedule, today=dt.date(2026, 6, 1), weeks=2)
    assert report.updated == 12
    assert set(Slot.objects.filter(schedule=schedule).values_list("capacity", flat=True)) == {3}

    r.delete()
    report = generate(schedule, today=dt.date(2026, 6, 1), weeks=2)
    assert (report.deleted, report.blocked) == (11, 1)
    kept = Slot.objects.get(schedule=schedule)
    assert kept.pk == booked.pk and kept.blocked and kept.status == "busy-unavailable"


def test_a_slot_with_only_cancelled_bookings_is_blocked_not_deleted(schedule):
    from maillage.care.people.models import Person
    from maillage.care.scheduling.models import Booking

    r = rule(schedule, weekdays="0", half_day="morning")
    generate(schedule, today=dt.date(2026, 6, 1), weeks=1)
    slot = Slot.objects.filter(schedule=schedule).order_by("start").first()
    person = Person.objects.create(
        birth_name="X", first_names="Y", birth_date=dt.date(1990, 1, 1), sex="F"
    )
    Booking.objects.create(
        slot=slot, seat=0, person=person, reference="AAAA-AAAA", access_digest="0" * 64,
        channel="web", status="cancelled",
    )  # fmt: skip
    r.delete()
    report = generate(schedule, today=dt.date(2026, 6, 1), weeks=1)
    assert (report.deleted, report.blocked) == (5, 1)
    assert Slot.objects.get(schedule=schedule).pk == slot.pk


def test_the_past_is_never_touched(schedule):
    rule(schedule, weekdays="0123456", half_day="morning")
    generate(schedule, today=dt.date(2026, 6, 1), weeks=1)
    OpeningRule.objects.filter(schedule=schedule).delete()
    generate(schedule, today=dt.date(2026, 6, 4), weeks=1)
    left = {s.start.astimezone(PARIS).date() for s in Slot.objects.filter(schedule=schedule)}
    assert left == {dt.date(2026, 6, d) for d in (1, 2, 3)}


def test_plan_reads_without_writing(schedule, django_assert_num_queries):
    rule(schedule, weekdays="0", half_day="afternoon")
    site = Site.objects.select_related("commune").get(pk=schedule.site_id)
    schedule.site = site
    with django_assert_num_queries(2):  # rules, exceptions
        planned = plan(schedule, dt.date(2026, 6, 1), dt.date(2026, 6, 7))
    assert [p.start.astimezone(PARIS).hour for p in planned.values()] == [14] * 2 + [15] * 2 + [
        16
    ] * 2


# --- the database's own checks ----------------------------------------------------------------
@pytest.mark.parametrize(
    "values",
    [
        {"weekdays": "0", "start_time": dt.time(12), "end_time": dt.time(9)},
        {"weekdays": "0", "half_day": "morning", "capacity": 0},
        {"weekdays": "0", "half_day": "morning", "slot_type": SlotType.PARTNER},
        {
            "weekdays": "0",
            "half_day": "morning",
            "valid_from": dt.date(2026, 1, 2),
            "valid_until": dt.date(2026, 1, 1),
        },
    ],
)
def test_the_database_refuses_incoherent_rules(schedule, values):
    values = {"valid_from": dt.date(2026, 1, 1), **values}
    with pytest.raises(IntegrityError), transaction.atomic():
        OpeningRule.objects.create(schedule=schedule, **values)


def test_the_database_refuses_two_slots_at_the_same_start(schedule):
    start = dt.datetime(2026, 6, 1, 7, tzinfo=UTC)
    Slot.objects.create(schedule=schedule, start=start, end=start + dt.timedelta(minutes=30))
    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.create(schedule=schedule, start=start, end=start + dt.timedelta(minutes=20))


def test_an_inactive_site_kind_still_plans(demo_db):
    """Every kind of site takes rules the same way (a mobile kit visiting communes)."""
    kit = Site.objects.create(slug="kit", name="Mallette", kind=SiteKind.MOBILE_KIT)
    kit.visited_communes.set(["52448", "52121"])
    schedule = Schedule.objects.create(site=kit, name="Tournée")
    rule(schedule, weekdays="3", half_day="afternoon")
    assert generate(schedule, today=dt.date(2026, 6, 1), weeks=1).created == 6


def test_a_blocked_slot_planned_again_is_unblocked_with_its_booking(schedule):
    """A rule removed then restored: the booked slot, blocked meanwhile, is the same row
    again, bookable, its booking kept; a shorter slot length leaves its time as given and a
    capacity cut never goes below what is booked."""
    r = rule(schedule, weekdays="0", half_day="morning", capacity=2)
    generate(schedule, today=dt.date(2026, 6, 1), weeks=1)
    booked = Slot.objects.filter(schedule=schedule).order_by("start").first()
    Slot.objects.filter(pk=booked.pk).update(booked=2)
    r.delete()
    assert generate(schedule, today=dt.date(2026, 6, 1), weeks=1).blocked == 1
    assert Slot.objects.get(pk=booked.pk).blocked

    rule(schedule, weekdays="0", half_day="morning", capacity=1, slot_minutes=20)
    report = generate(schedule, today=dt.date(2026, 6, 1), weeks=1)
    assert (report.created, report.updated, report.blocked) == (8, 1, 0)
    again = Slot.objects.get(pk=booked.pk)
    assert not again.blocked and again.booked == 2 and again.capacity == 2
    assert again.end - again.start == dt.timedelta(minutes=30)
    assert again.rule_id is not None
    assert generate(schedule, today=dt.date(2026, 6, 1), weeks=1).unchanged == 9


def test_thousands_of_slots_are_written_and_removed_in_batches(schedule):
    """5-minute slots all day for two weeks (4,032: more than one statement's batch), then the
    rule removed: every free slot deleted, the booked one blocked."""
    r = rule(schedule, weekdays="0123456", start_time=dt.time(0), end_time=dt.time(23, 59),
             slot_minutes=5)  # fmt: skip
    first = generate(schedule, today=dt.date(2026, 6, 1), weeks=2)
    assert first.created == 14 * 287 == Slot.objects.filter(schedule=schedule).count()
    assert generate(schedule, today=dt.date(2026, 6, 1), weeks=2).unchanged == first.created
    last = Slot.objects.filter(schedule=schedule).order_by("start").last()
    Slot.objects.filter(pk=last.pk).update(booked=1)
    r.delete()
    report = generate(schedule, today=dt.date(2026, 6, 1), weeks=2)
    assert (report.deleted, report.blocked) == (first.created - 1, 1)
    assert list(Slot.objects.filter(schedule=schedule).values_list("pk", "blocked")) == [
        (last.pk, True)
    ]
