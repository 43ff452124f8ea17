"""The same-day / 24-hour finder with 1,000,000 free slots across France (issue 9, item 10).

On a throw-away database (a new SQLite file in a temporary data folder, migrated; or with
``--postgres`` a new database on the server of ``MAILLAGE_DATABASE_URL``, dropped at the end):

* the shipped COG is imported (communes with their centroids);
* ``--sites`` unscheduled-care sites are spread over real communes, drawn in proportion to their
  population; a third of them have a directory Location a few hundred metres off the centroid
  (the finder uses it before the commune's centroid; the sites' copy of their coordinates is
  filled by ``sync_coordinates``, as after any bulk write); one schedule per site, one in ten a
  teleconsultation schedule;
* ``--slots`` free public slots (10-minute grid over the next 7 days) are inserted with bulk SQL
  (``executemany``; ``COPY`` on PostgreSQL), not model instances;
* ``--queries`` (commune, window, teleconsultation) draws, communes in proportion to population,
  windows among today / 24 h / 48 h, are answered by:

  - ``ours``: :func:`maillage.care.scheduling.services.finder.find`;
  - ``peer``: the plain SQL query, radius by radius: the free slots of the window joined to their
    sites' coordinates, filtered by the same latitude/longitude box, the exact distance and the
    sort done in Python on the rows returned; with the best indexes we could give it
    (``slot(start)`` already, plus a partial index on the free public slots by start and
    schedule, and ``commune(latitude, longitude)``);

  alternating which runs first, ``--runs`` times; p50/p95 per run, medians over runs;
* quality: the top 5 of each is compared with the exhaustive truth computed in Python from every
  free slot held in memory (the SAS rule on all of them): recall = shared slots / 5;
* memory: peak Python allocation during one query (tracemalloc, separate pass), and the RSS;
* cold: a new process started on the same database answers its first query (ours, then the
  peer in another new process), ``--cold`` times each.

    python benchmarks/bench_finder.py --slots 1000000 --sites 10000 --queries 200 --runs 3

``--old REF`` times the finder as it was at git ``REF`` (the first 5,000 slots of the window
nationwide, then the distance in Python) instead of the SQL peer, with its recall.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from bisect import bisect_left, bisect_right
from pathlib import Path

WINDOWS = ("today", "24h", "48h")


def _setup_env(home: Path, url: str | None) -> None:
    os.environ["MAILLAGE_HOME"] = str(home)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maillage.settings")
    if url:
        os.environ["MAILLAGE_DATABASE_URL"] = url
    else:
        os.environ.pop("MAILLAGE_DATABASE_URL", None)
    import django

    django.setup()


def _create(postgres: bool) -> tuple[Path, str | None, str | None]:
    home = Path(tempfile.mkdtemp(prefix="bench-finder-"))
    url = dbname = None
    if postgres:
        import psycopg

        base = os.environ["MAILLAGE_DATABASE_URL"]
        dbname = f"bench_finder_{secrets.token_hex(4)}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {dbname}")
        url = base.rsplit("/", 1)[0] + f"/{dbname}"
    _setup_env(home, url)
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    return home, url, dbname


def _populate(n_sites: int, n_slots: int, now: dt.datetime, seed: int) -> dict:
    from django.db import connection, transaction

    from maillage.care.scheduling.models import Schedule, Site, SiteKind, Slot, sync_coordinates
    from maillage.directory.models import Location
    from maillage.territory.models import Commune
    from maillage.territory.services import import_geography

    t0 = time.perf_counter()
    import_geography()
    t_geo = time.perf_counter() - t0
    rng = random.Random(seed)
    communes = list(
        Commune.objects.filter(latitude__isnull=False).values_list(
            "code", "latitude", "longitude", "population"
        )
    )
    weights = [max(c[3], 1) for c in communes]
    t0 = time.perf_counter()
    with transaction.atomic():
        chosen = rng.choices(communes, weights=weights, k=n_sites)
        locations = {}
        for i, (code, lat, lon, _) in enumerate(chosen):
            if i % 3 == 0:
                locations[i] = Location(
                    name=f"Cabinet {i}", commune_id=code, synthetic=True,
                    latitude=lat + rng.uniform(-0.005, 0.005),
                    longitude=lon + rng.uniform(-0.005, 0.005),
                )  # fmt: skip
        Location.objects.bulk_create(locations.values(), batch_size=2000)
        sites = Site.objects.bulk_create(
            (
                Site(slug=f"bench-{i}", name=f"Cabinet {i}", kind=SiteKind.UNSCHEDULED_CARE,
                     commune_id=code, location=locations.get(i), synthetic=True)
                for i, (code, *_) in enumerate(chosen)
            ),
            batch_size=2000,
        )  # fmt: skip
        # bulk_create skips Site.save: the sites' copy of their coordinates in one UPDATE
        sync_coordinates()
        schedules = Schedule.objects.bulk_create(
            (
                Schedule(site=s, name="SNP", mode="VR" if i % 10 == 9 else "AMB", synthetic=True)
                for i, s in enumerate(sites)
            ),
            batch_size=2000,
        )
    t_sites = time.perf_counter() - t0
    # slots: per schedule, distinct 10-minute steps over the next 7 days
    per = n_slots // len(schedules)
    steps = 7 * 24 * 6
    base = now.replace(second=0, microsecond=0) + dt.timedelta(minutes=10 - now.minute % 10)
    table = Slot._meta.db_table
    t0 = time.perf_counter()
    rows = []
    for k, schedule in enumerate(schedules):
        extra = 1 if k < n_slots - per * len(schedules) else 0
        for step in sorted(rng.sample(range(steps), per + extra)):
            start = base + dt.timedelta(minutes=10 * step)
            rows.append((schedule.pk, start, start + dt.timedelta(minutes=10)))
    cols = 'schedule_id, start, "end", capacity, booked, blocked, slot_type, updated_at'
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor
            with raw.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for schedule_id, start, end in rows:
                    copy.write_row((schedule_id, start, end, 1, 0, False, "public", now))
        else:
            fmt = "%Y-%m-%d %H:%M:%S"
            stamp = now.strftime(fmt)
            cursor.executemany(
                f"INSERT INTO {table} ({cols}) VALUES (%s, %s, %s, 1, 0, 0, 'public', %s)",
                [(s, a.strftime(fmt), b.strftime(fmt), stamp) for s, a, b in rows],
            )
    t_slots = time.perf_counter() - t0
    return {
        "geography_s": round(t_geo, 1),
        "sites_s": round(t_sites, 1),
        "slots_s": round(t_slots, 1),
        "slots": len(rows),
        "sites": len(sites),
        "with_location": len(locations),
    }


def _peer_indexes() -> None:
    """The best indexes we could give the plain SQL query."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE INDEX bench_slot_free_start ON scheduling_slot (start, schedule_id) "
            "WHERE booked < capacity AND NOT blocked AND slot_type = 'public'"
        )
        cursor.execute(
            "CREATE INDEX bench_commune_latlon ON territory_commune (latitude, longitude)"
        )
        cursor.execute("ANALYZE")


PEER_SQL = """
SELECT sl.id, sl.start, si.id,
       CASE WHEN lo.latitude IS NOT NULL AND lo.longitude IS NOT NULL
            THEN lo.latitude ELSE co.latitude END AS lat,
       CASE WHEN lo.latitude IS NOT NULL AND lo.longitude IS NOT NULL
            THEN lo.longitude ELSE co.longitude END AS lon
FROM scheduling_slot sl
JOIN scheduling_schedule sc ON sc.id = sl.schedule_id
JOIN scheduling_site si ON si.id = sc.site_id
LEFT JOIN directory_location lo ON lo.id = si.location_id
LEFT JOIN territory_commune co ON co.code = si.commune_id
WHERE sl.start > %s AND sl.start < %s AND sl.booked < sl.capacity AND NOT sl.blocked
  AND sl.slot_type = 'public' AND sc.active AND si.active {mode}
  AND (CASE WHEN lo.latitude IS NOT NULL AND lo.longitude IS NOT NULL
            THEN lo.latitude ELSE co.latitude END) BETWEEN %s AND %s
  AND (CASE WHEN lo.latitude IS NOT NULL AND lo.longitude IS NOT NULL
            THEN lo.longitude ELSE co.longitude END) BETWEEN %s AND %s
"""


def peer(commune, window: str, teleconsultation: bool | None, now: dt.datetime) -> list:
    """The plain indexed SQL query, radius by radius; returns [(minutes, start, slot_id)]."""
    from django.db import connection

    from maillage.care.scheduling.services import finder
    from maillage.care.scheduling.services.outcomes import _km

    until = finder.window_end(window, now)
    mode = ""
    if teleconsultation is not None:
        mode = "AND sc.mode = 'VR'" if teleconsultation else "AND sc.mode <> 'VR'"
    lat0, lon0 = commune.latitude, commune.longitude
    model = finder._MODEL
    adapt = connection.ops.adapt_datetimefield_value
    for radius in finder.RADII_KM:
        dlat = radius / 111.0
        dlon = radius / (111.0 * math.cos(math.radians(min(89.0, abs(lat0) + dlat))))
        with connection.cursor() as cursor:
            cursor.execute(
                PEER_SQL.format(mode=mode),
                [adapt(now), adapt(until), lat0 - dlat, lat0 + dlat, lon0 - dlon, lon0 + dlon],
            )
            rows = cursor.fetchall()
        options = []
        for pk, start, _site, lat, lon in rows:
            km = _km(lat0, lon0, lat, lon)
            if km <= radius:
                minutes = round(model.intra_commune_minutes + float(model.minutes_for_km(km)))
                options.append((minutes, start, pk))
        if len(options) >= finder.MIN_OPTIONS or radius == finder.RADII_KM[-1]:
            options.sort()
            return options[: finder.MAX_OPTIONS]
    return []


TRUTH_SQL = """
SELECT sl.id, sl.start, si.id, sc.mode,
       CASE WHEN lo.latitude IS NOT NULL AND lo.longitude IS NOT NULL
            THEN lo.latitude ELSE co.latitude END,
       CASE WHEN lo.latitude IS NOT NULL AND lo.longitude IS NOT NULL
            THEN lo.longitude ELSE co.longitude END
FROM scheduling_slot sl
JOIN scheduling_schedule sc ON sc.id = sl.schedule_id
JOIN scheduling_site si ON si.id = sc.site_id
LEFT JOIN directory_location lo ON lo.id = si.location_id
LEFT JOIN territory_commune co ON co.code = si.commune_id
WHERE sl.booked < sl.capacity AND NOT sl.blocked AND sl.slot_type = 'public'
  AND sc.active AND si.active
"""


class Truth:
    """Every free slot in memory, by site: the exhaustive answer computed in Python."""

    def __init__(self) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(TRUTH_SQL)
            self.sites: dict[int, dict] = {}
            for pk, start, site, mode, lat, lon in cursor.fetchall():
                entry = self.sites.setdefault(site, {"lat": lat, "lon": lon, "slots": {}})
                entry["slots"].setdefault(mode, []).append((_aware(start), pk))
        for entry in self.sites.values():
            for slots in entry["slots"].values():
                slots.sort()

    def top(self, commune, window: str, teleconsultation: bool | None, now: dt.datetime):
        from maillage.care.scheduling.services import finder
        from maillage.care.scheduling.services.outcomes import _km

        until = finder.window_end(window, now)
        model = finder._MODEL
        options = []
        for entry in self.sites.values():
            km = _km(commune.latitude, commune.longitude, entry["lat"], entry["lon"])
            if km > finder.RADII_KM[-1]:
                continue
            minutes = round(model.intra_commune_minutes + float(model.minutes_for_km(km)))
            for mode, slots in entry["slots"].items():
                if teleconsultation is not None and (mode == "VR") != teleconsultation:
                    continue
                lo = bisect_right(slots, (now, 1 << 62))
                hi = bisect_left(slots, (until, -1))
                options.extend((minutes, km, s, pk) for s, pk in slots[lo:hi])
        for radius in finder.RADII_KM:
            within = [o for o in options if o[1] <= radius]
            if len(within) >= finder.MIN_OPTIONS or radius == finder.RADII_KM[-1]:
                within.sort(key=lambda o: (o[0], o[2], o[3]))
                return [o[3] for o in within[: finder.MAX_OPTIONS]]
        return []


def _aware(value):
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def _queries(n: int, seed: int) -> list[tuple[str, str, bool | None]]:
    from maillage.territory.models import Commune

    rng = random.Random(seed + 1)
    communes = list(
        Commune.objects.filter(latitude__isnull=False).values_list("code", "population")
    )
    picks = rng.choices(communes, weights=[max(p, 1) for _, p in communes], k=n)
    tele = (None, False, True)
    return [(code, rng.choice(WINDOWS), rng.choice(tele[:2] * 4 + tele[2:])) for code, _ in picks]


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _old_finder(ref: str):
    """The finder as it was at git ``ref`` (``--old``: the version before the fix)."""
    import importlib.util

    source = subprocess.run(
        ["git", "show", f"{ref}:src/maillage/care/scheduling/services/finder.py"],
        capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parent,
    ).stdout  # fmt: skip
    name = "maillage.care.scheduling.services._finder_old"
    spec = importlib.util.spec_from_loader(name, loader=None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    exec(compile(source, f"finder.py@{ref}", "exec"), module.__dict__)  # noqa: S102
    return module


OLD = {}


def _one(kind: str, code: str, window: str, tele, now: dt.datetime) -> list:
    from maillage.care.scheduling.services import finder
    from maillage.territory.models import Commune

    commune = Commune.objects.get(code=code)
    if kind == "old":
        if "module" not in OLD:
            OLD["module"] = _old_finder(OLD["ref"])
        result = OLD["module"].find(commune, window, teleconsultation=tele, now=now)
        return [o.slot.pk for o in result.options]
    if kind == "ours":
        result = finder.find(commune, window, teleconsultation=tele, now=now)
        return [o.slot.pk for o in result.options]
    return [pk for *_, pk in peer(commune, window, tele, now)]


def cold_main(args: argparse.Namespace) -> None:
    """A new process: django set up on the existing database, one query timed."""
    t0 = time.perf_counter()
    _setup_env(Path(args.cold_home), args.cold_url or None)
    t_setup = time.perf_counter() - t0
    now = dt.datetime.fromisoformat(args.cold_now)
    tele = json.loads(args.cold_tele)
    t0 = time.perf_counter()
    _one(args.cold_kind, args.cold_code, args.cold_window, tele, now)
    print(json.dumps({"setup_s": t_setup, "first_ms": (time.perf_counter() - t0) * 1000}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slots", type=int, default=1_000_000)
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold", type=int, default=3)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--old", default="", help="git ref: also time the finder as it was there")
    for name in ("kind", "home", "url", "now", "code", "window", "tele"):
        parser.add_argument(f"--cold-{name}", default="")
    args = parser.parse_args()
    OLD["ref"] = args.old
    if args.cold_kind:
        return cold_main(args)

    home, url, dbname = _create(args.postgres)
    try:
        _bench(args, home, url)
    finally:
        from django.db import connections

        connections.close_all()
        shutil.rmtree(home, ignore_errors=True)
        if dbname:
            import psycopg

            with psycopg.connect(os.environ["MAILLAGE_DATABASE_URL"].rsplit("/", 1)[0]
                                 + "/postgres", autocommit=True) as conn:  # fmt: skip
                conn.execute(f"DROP DATABASE {dbname}")


def _bench(args: argparse.Namespace, home: Path, url: str | None) -> None:
    from django.db import connection

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    built = _populate(args.sites, args.slots, now, args.seed)
    _peer_indexes()
    print("built", json.dumps(built), "vendor", connection.vendor, flush=True)
    queries = _queries(args.queries, args.seed)

    # cold: new processes on the same database, alternating
    kinds = ("ours", "old") if args.old else ("ours", "peer")
    cold: dict[str, list[float]] = {k: [] for k in kinds}
    for i in range(args.cold):
        for kind in kinds if i % 2 == 0 else kinds[::-1]:
            code, window, tele = queries[i]
            out = subprocess.run(
                [sys.executable, __file__, "--cold-kind", kind, "--old", args.old,
                 "--cold-home", str(home), "--cold-url", url or "", "--cold-now",
                 now.isoformat(), "--cold-code", code, "--cold-window", window,
                 "--cold-tele", json.dumps(tele)],
                capture_output=True, text=True, check=True, env=os.environ,
            )  # fmt: skip
            cold[kind].append(json.loads(out.stdout.strip().splitlines()[-1])["first_ms"])
    print("cold first query ms", json.dumps(cold), flush=True)

    t0 = time.perf_counter()
    truth = Truth()
    print(f"truth loaded in {time.perf_counter() - t0:.1f} s", flush=True)
    answers = {}
    runs: dict[str, list[tuple[float, float, float]]] = {k: [] for k in kinds}
    for run in range(args.runs):
        for kind in kinds if run % 2 == 0 else kinds[::-1]:
            times = []
            for q in queries:
                t = time.perf_counter()
                answers[kind, q] = _one(kind, *q, now)
                times.append((time.perf_counter() - t) * 1000)
            runs[kind].append((_pct(times, 0.5), _pct(times, 0.95), max(times)))
            p50, p95, top = runs[kind][-1]
            print(
                f"run {run} {kind}: p50 {p50:.1f} ms p95 {p95:.1f} ms max {top:.1f} ms", flush=True
            )

    from maillage.territory.models import Commune

    recall: dict[str, list[float]] = {k: [] for k in kinds}
    exact = dict.fromkeys(kinds, 0)
    for q in queries:
        expected = truth.top(Commune.objects.get(code=q[0]), q[1], q[2], now)
        for kind in recall:
            got = answers[kind, q]
            top = expected[:5]
            if top:
                recall[kind].append(len(set(got[:5]) & set(top)) / len(top))
            exact[kind] += got == expected
    for kind in recall:
        mean = statistics.mean(recall[kind])
        print(f"{kind}: recall@5 {mean:.4f} over {len(recall[kind])} queries with options; "
              f"top-30 identical to the truth {exact[kind]}/{len(queries)}")  # fmt: skip

    memory = {}
    for kind in kinds:
        peaks = []
        for q in queries[:30]:
            tracemalloc.start()
            _one(kind, *q, now)
            peaks.append(tracemalloc.get_traced_memory()[1] / 1024)
            tracemalloc.stop()
        memory[kind] = (statistics.median(peaks), max(peaks))
        print(f"{kind}: peak Python allocation per query median {memory[kind][0]:.0f} KiB, "
              f"max {memory[kind][1]:.0f} KiB")  # fmt: skip
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"RSS max of this process {rss:.0f} MiB (truth in memory included)")
    for kind in kinds:
        p50 = statistics.median(r[0] for r in runs[kind])
        p95 = statistics.median(r[1] for r in runs[kind])
        print(f"SUMMARY {kind}: median over {args.runs} runs p50 {p50:.1f} ms, p95 {p95:.1f} ms; "
              f"cold first query median {statistics.median(cold[kind]):.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
