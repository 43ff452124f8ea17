"""The synthetic activity history of the teleconsultation rooms, loaded into the database.

:func:`maillage.demo.care_history.generate` draws the rooms' sessions and bookings since they
opened (calibrated on the seeds' figures); this module writes them as Slot and Booking rows of
a schedule of their own per room ("Historique synthétique", inactive, flagged synthetic), with
one Person per pseudonymous patient. Everything is flagged synthetic, and the people are born
anonymised: they are in the past, so only the statistics a real person keeps after the
retention period exist (age band, commune of residence, sex); no name, no birth date, no phone.

Fast (bulk inserts, about 30,000 bookings) and idempotent: a second run adds only the days
after the last loaded one (nothing when run twice the same day).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time

import pandas as pd
from django.db import transaction
from django.utils import timezone

from maillage.care.people.models import Person, Sex, age_band
from maillage.care.scheduling.models import (
    Booking,
    Channel,
    ConsultationMode,
    Schedule,
    Site,
    Slot,
    SlotType,
)
from maillage.care.scheduling.services.booking import REFERENCE_ALPHABET
from maillage.demo import care_history
from maillage.imports import ImportReport
from maillage.territory.models import Commune

HISTORY_SCHEDULE = "Historique synthétique (démonstration)"
SITE_SLUGS = {
    "clos-mortier": "teleconsultation-clos-mortier",
    "la-noue": "teleconsultation-la-noue",
}
BATCH = 2000


def _reference(taken: set[str]) -> str:
    while True:
        raw = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
        ref = f"{raw[:4]}-{raw[4:]}"
        if ref not in taken:
            taken.add(ref)
            return ref


def _sex(key: str) -> str:
    """A stable sex for a pseudonymous patient key (about half and half)."""
    return Sex.FEMALE if hashlib.sha256(key.encode()).digest()[0] % 100 < 54 else Sex.MALE


def load_care_history(until: dt.date | None = None) -> ImportReport:
    """Write the history up to ``until`` (excluded; default today) for the rooms the database
    has. Returns what was written."""
    started = time.perf_counter()
    until = until or timezone.localdate()
    report = ImportReport(
        "historique synthétique des salles",
        counts={"créneaux": 0, "rendez-vous": 0, "personnes": 0},
        skipped={"salles absentes": 0},
    )
    history = care_history.generate(until)
    step = dt.timedelta(minutes=int(care_history.plan()["slot_minutes"]))
    known_communes = set(
        Commune.objects.filter(code__in=history.bookings["commune"].unique().tolist()).values_list(
            "code", flat=True
        )
    )
    now = timezone.now()
    for key, slug in SITE_SLUGS.items():
        site = Site.objects.filter(slug=slug).first()
        if site is None:
            report.skipped["salles absentes"] += 1
            continue
        schedule, _ = Schedule.objects.get_or_create(
            site=site,
            name=HISTORY_SCHEDULE,
            defaults={
                "mode": ConsultationMode.VR, "active": False, "synthetic": True,
                "specialty_code": "SM54",
            },
        )  # fmt: skip
        sessions = history.sessions[history.sessions["site"] == key]
        bookings = history.bookings[history.bookings["site"] == key]
        person_of: dict[str, int] = {}  # pseudonymous patient key → Person id, for this run
        session_day = pd.Series([s.date() for s in sessions["start"]], index=sessions.index)
        booking_day = pd.Series([s.date() for s in bookings["start"]], index=bookings.index)
        # one short transaction per quarter (SQLite has one writer: bookings made meanwhile
        # wait a fraction of a second, not the whole load); generated_until says how far
        # the load went, so an interrupted load resumes where it stopped
        bounds = sorted({dt.date(d.year, 3 * ((d.month - 1) // 3) + 1, 1) for d in session_day})
        for i, low in enumerate(bounds):
            high = bounds[i + 1] if i + 1 < len(bounds) else until
            with transaction.atomic():
                done = Schedule.objects.select_for_update().get(pk=schedule.pk).generated_until
                if done is not None and done >= high:
                    continue
                low = max(low, done) if done is not None else low
                chunk_s = sessions[(session_day >= low) & (session_day < high)]
                chunk_b = bookings[(booking_day >= low) & (booking_day < high)]
                _write(schedule, chunk_s, chunk_b, step, known_communes, now, report, person_of)
                Schedule.objects.filter(pk=schedule.pk).update(generated_until=high)
    report.seconds = time.perf_counter() - started
    return report


def _write(
    schedule: Schedule,
    sessions: pd.DataFrame,
    bookings: pd.DataFrame,
    step: dt.timedelta,
    communes: set[str],
    now: dt.datetime,
    report: ImportReport,
    person_of: dict[str, int],
) -> None:
    if not len(sessions):
        return
    booked_at = set(bookings["start"])
    slots = [
        Slot(
            schedule=schedule, start=start + i * step, end=start + (i + 1) * step, capacity=1,
            booked=1 if start + i * step in booked_at else 0, slot_type=SlotType.PUBLIC,
        )
        for start, count in zip(sessions["start"], sessions["slots"], strict=True)
        for i in range(int(count))
    ]  # fmt: skip
    Slot.objects.bulk_create(slots, batch_size=BATCH)
    report.counts["créneaux"] += len(slots)
    slot_ids = dict(
        Slot.objects.filter(schedule=schedule, start__in=list(booked_at)).values_list("start", "pk")
    )
    first = bookings.drop_duplicates("patient")
    first = first[~first["patient"].isin(list(person_of))]
    people = [
        Person(
            birth_name="", first_names="", birth_date=None, sex=_sex(row.patient),
            commune_id=row.commune if row.commune in communes else None,
            synthetic=True, anonymised_at=now, age_band_kept=age_band(int(row.age)),
            created_at=row.start,
        )
        for row in first.itertuples(index=False)
    ]  # fmt: skip
    Person.objects.bulk_create(people, batch_size=BATCH)
    if people and people[0].pk is None:  # a backend that does not return ids: read them back
        raise RuntimeError("bulk_create did not set primary keys")
    person_of.update(zip(first["patient"], (p.pk for p in people), strict=True))
    report.counts["personnes"] += len(people)
    taken = set(Booking.objects.values_list("reference", flat=True))
    rows = [
        Booking(
            slot_id=slot_ids[row.start], seat=0, person_id=person_of[row.patient],
            status=row.status, reference=_reference(taken),
            access_digest=secrets.token_hex(32),
            channel=Channel.PHONE if i % 3 else Channel.WEB,
            has_gp=bool(row.has_gp), synthetic=True, anonymised_at=now,
        )
        for i, row in enumerate(bookings.itertuples(index=False))
    ]  # fmt: skip
    Booking.objects.bulk_create(rows, batch_size=BATCH)
    report.counts["rendez-vous"] += len(rows)


def ensure_history_loaded() -> bool:
    """Load the history unless today's is loaded (for a background task). True if it wrote."""
    today = timezone.localdate()
    done = Schedule.objects.filter(name=HISTORY_SCHEDULE, generated_until__gte=today).count()
    if done >= Site.objects.filter(slug__in=SITE_SLUGS.values()).count() > 0:
        return False
    load_care_history(today)
    return True


try:  # Django >= 6
    from django.tasks import task
except ImportError:  # the backport
    from django_tasks import task


@task()
def load_history_task() -> str:
    """The history load as a background task: it costs about 30 s on SQLite (measured: 37,276
    slots, 29,327 bookings, 20,795 people), so ``maillage demo`` answers first and the
    embedded worker loads it."""
    return "déjà chargé" if not ensure_history_loaded() else "chargé"


def ensure_history_scheduled() -> bool:
    """Enqueue the load unless it is done for today or already waiting. True if enqueued."""
    from django_tasks_db.models import DBTaskResult

    today = timezone.localdate()
    rooms = Site.objects.filter(slug__in=SITE_SLUGS.values()).count()
    loaded = Schedule.objects.filter(name=HISTORY_SCHEDULE, generated_until__gte=today).count()
    if rooms == 0 or loaded >= rooms:
        return False
    func = load_history_task.func
    path = f"{func.__module__}.{func.__qualname__}"
    if DBTaskResult.objects.filter(task_path=path, status__in=["READY", "RUNNING"]).exists():
        return False
    load_history_task.enqueue()
    return True
