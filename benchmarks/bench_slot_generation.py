"""Slot generation for many schedules over a year (issue 9, item 10).

On a throw-away database (a new SQLite file in a temporary data folder, migrated; or the
PostgreSQL server of ``MAILLAGE_DATABASE_URL``, in a new database dropped at the end), creates
``--schedules`` schedules shaped like the teleconsultation rooms of the seeds (4 or 5 half-days
a week of 30-minute slots, one of them every other schedule with capacity 2, a closure week
and an extra session per schedule), then times:

* ``plan``: the slots computed, nothing written (all schedules, ``--weeks`` ahead);
* ``first``: ``generate_all`` on the empty table (every slot inserted);
* ``again``: ``generate_all`` a second time (nothing to write: the idempotent path);
* ``rolled``: a week later (one new week per schedule, the past untouched).

Wall time and processor time (``time.process_time``) are printed for each, with slots/s.

    python benchmarks/bench_slot_generation.py --schedules 1000 --weeks 52
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path


def _setup(postgres: bool) -> tuple[Path, str | None]:
    home = Path(tempfile.mkdtemp(prefix="bench-slots-"))
    os.environ["MAILLAGE_HOME"] = str(home)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maillage.settings")
    dbname = None
    if postgres:
        import psycopg

        url = os.environ["MAILLAGE_DATABASE_URL"]
        dbname = f"bench_slots_{secrets.token_hex(4)}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {dbname}")
        os.environ["MAILLAGE_DATABASE_URL"] = url.rsplit("/", 1)[0] + f"/{dbname}"
    else:
        os.environ.pop("MAILLAGE_DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    return home, dbname


def _schedules(n: int, today: dt.date) -> list:
    from maillage.care.scheduling.models import (
        OpeningRule,
        Schedule,
        ScheduleException,
        Site,
        SiteKind,
    )

    sites = Site.objects.bulk_create(
        Site(slug=f"bench-{i}", name=f"Salle {i}", kind=SiteKind.TELECONSULTATION_ROOM)
        for i in range(n)
    )
    schedules = Schedule.objects.bulk_create(
        Schedule(site=site, name=f"Agenda {i}", mode="VR") for i, site in enumerate(sites)
    )
    rules, exceptions = [], []
    for i, schedule in enumerate(schedules):
        mornings, afternoons = ("024", "13") if i % 2 else ("14", "03")
        rules.append(OpeningRule(schedule=schedule, weekdays=mornings, half_day="morning",
                                 start_time=dt.time(9), end_time=dt.time(12),
                                 valid_from=today, capacity=1 + i % 2))  # fmt: skip
        rules.append(OpeningRule(schedule=schedule, weekdays=afternoons, half_day="afternoon",
                                 start_time=dt.time(14), end_time=dt.time(17),
                                 valid_from=today))  # fmt: skip
        closed = today + dt.timedelta(days=30 + i % 200)
        exceptions.append(ScheduleException(schedule=schedule, kind="closure", start_date=closed,
                                            end_date=closed + dt.timedelta(days=6)))  # fmt: skip
        extra = today + dt.timedelta(days=10 + i % 100)
        exceptions.append(ScheduleException(schedule=schedule, kind="extra", start_date=extra,
                                            end_date=extra, start_time=dt.time(18),
                                            end_time=dt.time(19)))  # fmt: skip
    OpeningRule.objects.bulk_create(rules)
    ScheduleException.objects.bulk_create(exceptions)
    return list(Schedule.objects.select_related("site__commune").order_by("pk"))


def _timed(label: str, func, slots_of) -> dict:
    wall, cpu = time.perf_counter(), time.process_time()
    result = func()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    slots = slots_of(result)
    rate = f"{slots / wall:,.0f} slots/s" if slots else "-"
    print(f"{label:<8} wall {wall:7.2f} s  cpu {cpu:7.2f} s  slots {slots:>9,}  {rate}")
    return {"label": label, "wall": wall, "cpu": cpu, "slots": slots, "result": result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--postgres", action="store_true", help="on MAILLAGE_DATABASE_URL")
    args = parser.parse_args()

    home, dbname = _setup(args.postgres)
    try:
        from django.db import connection

        from maillage.care.scheduling.models import Slot
        from maillage.care.scheduling.services.generation import generate_all, plan

        today = dt.date(2026, 1, 5)  # a Monday; the year crosses both clock changes
        schedules = _schedules(args.schedules, today)
        last = today + dt.timedelta(weeks=args.weeks) - dt.timedelta(days=1)
        print(
            f"{connection.vendor}, {len(schedules)} schedules, {args.weeks} weeks "
            f"from {today} (Python processes: 1)"
        )
        _timed(
            "plan",
            lambda: sum(len(plan(s, today, last)) for s in schedules),
            lambda n: n,
        )
        first = _timed(
            "first",
            lambda: generate_all(today=today, weeks=args.weeks, schedules=schedules),
            lambda r: r.created,
        )
        again = _timed(
            "again",
            lambda: generate_all(today=today, weeks=args.weeks, schedules=schedules),
            lambda r: r.unchanged,
        )
        assert again["result"].created == again["result"].updated == 0
        rolled = _timed(
            "rolled",
            lambda: generate_all(
                today=today + dt.timedelta(days=7), weeks=args.weeks, schedules=schedules
            ),
            lambda r: r.created,
        )
        total = Slot.objects.count()
        print(
            f"slots in the table: {total:,} (first run created {first['result'].created:,}, "
            f"a week later {rolled['result'].created:,} more)"
        )
    finally:
        from django.db import connections

        connections.close_all()
        if dbname:
            import psycopg

            base = os.environ["MAILLAGE_DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {dbname}")
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
