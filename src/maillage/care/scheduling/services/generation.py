"""Slots from a schedule's rules, over a rolling horizon, idempotently.

:func:`plan` computes the slots a schedule should have on a range of days (a pure reading of
its rules and exceptions); :func:`generate` makes the database agree with the plan from today
to the horizon: it creates the missing slots, updates the unbooked ones whose rule changed,
deletes the unbooked ones no longer planned and *blocks* (never deletes) booked ones no longer
planned, so that no booking is lost and an operator can move it. A second run changes nothing.

Time: a session runs from its start to its end *local* time (``settings.TIME_ZONE``,
Europe/Paris); both ends are converted to UTC and the session is cut into slots of its length
in real time. So on the night of the March change a 01:00–04:00 session lasts two real hours
(01:00, 01:30, then 03:00, 03:30 local) and on the October night four (the 02:00–03:00 hour is
lived twice). A local start time that does not exist (02:30 in March) takes the offset before
the change (it becomes 03:30), as :mod:`zoneinfo` does with ``fold=0``.

Public holidays come from the ``holidays`` package (France, with the Alsace-Moselle and overseas
subdivisions picked from the site's département): closed, unless an extra session says
otherwise. Extra sessions are added on any day, closures included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from maillage.care.scheduling.models import (
    Booking,
    OpeningRule,
    Schedule,
    ScheduleException,
    Slot,
)

UTC = dt.UTC
DEFAULT_HORIZON_WEEKS = 8
#: French départements with holidays of their own in the ``holidays`` package.
_SUBDIVISIONS = {"57": "57", "67": "6AE", "68": "6AE", "971": "971", "972": "972",
                 "973": "973", "974": "974", "976": "976"}  # fmt: skip


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def horizon_weeks() -> int:
    return int(getattr(settings, "MAILLAGE_SLOT_HORIZON_WEEKS", DEFAULT_HORIZON_WEEKS))


def local_today() -> dt.date:
    return dt.datetime.now(local_zone()).date()


@cache
def _holidays(subdivision: str | None, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("FR", subdiv=subdivision, years=year, language="fr")


def public_holiday(day: dt.date, departement: str | None = None) -> str | None:
    """The name of the French public holiday on ``day`` (in the département's calendar)."""
    return _holidays(_SUBDIVISIONS.get(departement or ""), day.year).get(day)


@dataclass(frozen=True)
class PlannedSlot:
    start: dt.datetime  # aware, UTC
    end: dt.datetime
    capacity: int
    slot_type: str
    partner_id: int | None
    rule_id: int | None = None
    extra_id: int | None = None


@dataclass
class GenerationReport:
    schedules: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    blocked: int = 0
    unchanged: int = 0
    details: list[str] = field(default_factory=list)

    def add(self, other: GenerationReport) -> None:
        for name in ("schedules", "created", "updated", "deleted", "blocked", "unchanged"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def __str__(self) -> str:
        return (
            f"créneaux : {self.created} créés, {self.updated} mis à jour, {self.deleted} "
            f"supprimés, {self.blocked} bloqués (réservés), {self.unchanged} inchangés "
            f"({self.schedules} agendas)"
        )


def _aware(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _cut(
    day: dt.date, source: OpeningRule | ScheduleException, zone: ZoneInfo
) -> Iterable[tuple[dt.datetime, dt.datetime]]:
    """The (start, end) of the slots of one session, in UTC."""
    start, end = _aware(day, source.start_time, zone), _aware(day, source.end_time, zone)
    step = dt.timedelta(minutes=source.slot_minutes)
    t = start
    while t + step <= end:
        yield t, t + step
        t += step


def plan(
    schedule: Schedule,
    first: dt.date,
    last: dt.date,
    *,
    rules: list[OpeningRule] | None = None,
    exceptions: list[ScheduleException] | None = None,
    departement: str | None = None,
) -> dict[dt.datetime, PlannedSlot]:
    """The slots ``schedule`` should have on the days ``first`` to ``last`` (inclusive), keyed
    by their UTC start."""
    zone = local_zone()
    if rules is None:
        rules = list(schedule.rules.all())
    if exceptions is None:
        exceptions = list(schedule.exceptions.filter(start_date__lte=last, end_date__gte=first))
    if departement is None:
        commune = schedule.site.commune
        departement = commune.departement_id if commune is not None else None
    closures = [e for e in exceptions if e.kind == ScheduleException.Kind.CLOSURE]
    extras = [e for e in exceptions if e.kind == ScheduleException.Kind.EXTRA]
    planned: dict[dt.datetime, PlannedSlot] = {}
    day = first
    while day <= last:
        closed_today = [c for c in closures if c.start_date <= day <= c.end_date]
        whole_day = any(c.start_time is None for c in closed_today)
        closed_hours = [
            (_aware(day, c.start_time, zone), _aware(day, c.end_time, zone))
            for c in closed_today
            if c.start_time is not None
        ]
        if not whole_day and public_holiday(day, departement) is None:
            for rule in rules:
                if (
                    day.weekday() in rule.days
                    and rule.valid_from <= day
                    and (rule.valid_until is None or day <= rule.valid_until)
                ):
                    for start, end in _cut(day, rule, zone):
                        if any(start < c_end and c_start < end for c_start, c_end in closed_hours):
                            continue
                        planned.setdefault(
                            start,
                            PlannedSlot(
                                start, end, rule.capacity, rule.slot_type, rule.partner_id,
                                rule_id=rule.pk,
                            ),
                        )  # fmt: skip
        for extra in extras:  # extra sessions win over holidays, closures and rules
            if extra.start_date <= day <= extra.end_date:
                for start, end in _cut(day, extra, zone):
                    planned[start] = PlannedSlot(
                        start, end, extra.capacity, extra.slot_type, extra.partner_id,
                        extra_id=extra.pk,
                    )  # fmt: skip
        day += dt.timedelta(days=1)
    return planned


#: The columns generation keeps in agreement with the plan, in the order of :func:`_wanted`.
_SYNCED = ("end", "capacity", "slot_type", "partner_id", "rule_id", "extra_id", "blocked")
#: Rows per INSERT / UPDATE / DELETE statement (well under SQLite's 32,766 parameters).
_BATCH = 2000


def _wanted(p: PlannedSlot, booked: int, end: dt.datetime) -> tuple:
    """The synced columns a slot planned as ``p`` should hold, given what it already has."""
    return (
        end if booked else p.end,  # a booked slot keeps the time its patients were given
        max(p.capacity, booked),  # never below what is booked: a capacity cut keeps them
        p.slot_type,
        p.partner_id,
        p.rule_id,
        p.extra_id,
        False,
    )


def _insert(schedule: Schedule, planned: list[PlannedSlot]) -> None:
    """New slots as rows (``executemany`` of one prepared INSERT, in batches): building a
    model instance per slot cost most of a year's generation (issue 9, item 10)."""
    ops = connection.ops
    table, quote = Slot._meta.db_table, ops.quote_name
    columns = ("schedule_id", "start", "end", "capacity", "booked", "blocked", "slot_type",
               "partner_id", "rule_id", "extra_id", "updated_at")  # fmt: skip
    sql = (
        f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    adapt = ops.adapt_datetimefield_value
    now = adapt(timezone.now())
    rows = [
        (schedule.pk, adapt(p.start), adapt(p.end), p.capacity, 0, False, p.slot_type,
         p.partner_id, p.rule_id, p.extra_id, now)
        for p in planned
    ]  # fmt: skip
    with connection.cursor() as cursor:
        for i in range(0, len(rows), _BATCH):
            cursor.executemany(sql, rows[i : i + _BATCH])


def generate(
    schedule: Schedule,
    *,
    today: dt.date | None = None,
    weeks: int | None = None,
) -> GenerationReport:
    """Make ``schedule``'s slots from ``today`` (local) to the horizon agree with its rules."""
    report = GenerationReport(schedules=1)
    first = today or local_today()
    last = (
        first
        + dt.timedelta(weeks=weeks if weeks is not None else horizon_weeks())
        - (dt.timedelta(days=1))
    )
    zone = local_zone()
    window_start = dt.datetime.combine(first, dt.time(0), tzinfo=zone)
    window_end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    with transaction.atomic():
        planned = plan(schedule, first, last) if schedule.active else {}
        # the window's slots read once, as rows (start → (pk, booked, synced columns...))
        existing = {
            row[0]: row[1:]
            for row in Slot.objects.filter(
                schedule=schedule, start__gte=window_start, start__lt=window_end
            )
            .order_by()
            .values_list("start", "pk", "booked", *_SYNCED)
        }
        creates: list[PlannedSlot] = []
        updates: list[Slot] = []
        for start, p in planned.items():
            row = existing.get(start)
            if row is None:
                creates.append(p)
                continue
            pk, booked, *have = row
            wanted = _wanted(p, booked, have[0])
            if tuple(have) != wanted:
                updates.append(Slot(pk=pk, **dict(zip(_SYNCED, wanted, strict=True))))
            else:
                report.unchanged += 1
        gone = {row[0]: row for start, row in existing.items() if start not in planned}
        # a slot that ever had a booking (even cancelled) is kept, blocked: its bookings refer
        # to it (history, statistics)
        referenced: set[int] = set()
        ids = list(gone)
        for i in range(0, len(ids), _BATCH):
            referenced.update(
                Booking.objects.filter(slot_id__in=ids[i : i + _BATCH]).values_list(
                    "slot_id", flat=True
                )
            )
        deletes, blocks = [], []
        for pk, (_, booked, *have) in gone.items():
            if booked or pk in referenced:
                if not have[-1]:
                    blocks.append(pk)
                else:
                    report.unchanged += 1
            else:
                deletes.append(pk)
        _insert(schedule, creates)
        if updates:
            Slot.objects.bulk_update(updates, list(_SYNCED), batch_size=500)
        for i in range(0, len(blocks), _BATCH):
            Slot.objects.filter(pk__in=blocks[i : i + _BATCH]).update(blocked=True)
        for i in range(0, len(deletes), _BATCH):
            Slot.objects.filter(
                pk__in=deletes[i : i + _BATCH], booked=0, bookings__isnull=True
            ).delete()
        report.created += len(creates)
        report.updated += len(updates)
        report.blocked += len(blocks)
        report.deleted += len(deletes)
        if schedule.generated_until != last:
            Schedule.objects.filter(pk=schedule.pk).update(generated_until=last)
            schedule.generated_until = last
    return report


def generate_all(
    *, today: dt.date | None = None, weeks: int | None = None, schedules: Iterable[Schedule] = ()
) -> GenerationReport:
    """:func:`generate` for every schedule (or the given ones); one transaction each."""
    total = GenerationReport()
    chosen = list(schedules) or list(Schedule.objects.select_related("site__commune"))
    for schedule in chosen:
        total.add(generate(schedule, today=today, weeks=weeks))
    return total
