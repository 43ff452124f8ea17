"""Identity matching at booking time: its cost per new booking and its quality (issue 9).

``--persons`` (100,000) synthetic persons are inserted (random names, first names and birth
dates over 100 years), then each probe, alternating ours and the peer in the same transaction
that is rolled back (the database is unchanged between probes):

- **ours**: :func:`maillage.care.people.identity.get_or_create_person` (exact match lookup on
  the indexed key, near-match lookup on (birth date, sex), the Person saved or reused, audit);
- **peer**: what ``book()`` did before: ``person.save()`` and one audit row (no matching).

Three kinds of probes: a new person (no match), the same person written differently (case,
accents, hyphens: must be reused), and a near match (one typo, or day and month inverted: must
be flagged, not merged). Reported: median and p95 in milliseconds per kind, cold (first run)
and warm, the load average, the peak resident memory, and the quality (reused / flagged /
missed counts per kind, and false flags among the new persons).

    MAILLAGE_HOME=/tmp/home python benchmarks/bench_identity.py --persons 100000 --probes 300
    MAILLAGE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_identity \\
        python benchmarks/bench_identity.py ...

The database must be migrated (``maillage manage migrate``); the script deletes its own
synthetic persons (``birth_place_insee = "99999"``) at the start.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import statistics
import time


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maillage.settings")
    import django

    django.setup()


FIRST = (
    "Jeanne Marie Léa Chloé Inès Paul Jean-Pierre Hélène Zoé Noël Gaëlle François Anaïs "
    "Loïc Maël Aurélie Éric Agnès"
).split()
SYLLABLES = (
    "mar tin du rand le gall bo nnet ro ux fau re ber nard pe tit mo rel gi rard dé vaux chÂ teau"
).split()
MARK = "99999"


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).upper()


def _traits(rng: random.Random) -> dict:
    born = dt.date(1920, 1, 1) + dt.timedelta(days=rng.randrange(100 * 365))
    return {
        "birth_name": _name(rng), "first_names": f"{rng.choice(FIRST)} {rng.choice(FIRST)}",
        "birth_date": born, "sex": rng.choice("FM"), "phone": "+33353010001",
        "synthetic": True, "birth_place_insee": MARK,
    }  # fmt: skip


def _written_differently(t: dict) -> dict:
    name = t["birth_name"].lower()
    return {**t, "birth_name": name[:2] + "-" + name[2:], "first_names": t["first_names"].upper()}


def _near(t: dict, rng: random.Random) -> dict:
    d = t["birth_date"]
    if rng.random() < 0.5 and d.day <= 12 and d.day != d.month:
        return {**t, "birth_date": d.replace(month=d.day, day=d.month)}
    name = t["birth_name"]
    i = rng.randrange(1, len(name) - 1)
    return {**t, "birth_name": name[:i] + ("E" if name[i] != "E" else "A") + name[i + 1 :]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--probes", type=int, default=300)
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()
    _setup()
    from django.db import connection, transaction

    from maillage.care.people import audit, identity
    from maillage.care.people.models import Person, PossibleDuplicate

    rng = random.Random(args.seed)
    Person.objects.filter(birth_place_insee=MARK).delete()
    stored = [_traits(rng) for _ in range(args.persons)]
    t0 = time.perf_counter()
    batch = []
    for t in stored:
        p = Person(**t)
        p.match_key = p.compute_match_key()
        batch.append(p)
    Person.objects.bulk_create(batch, batch_size=5000)
    print(
        f"{connection.vendor}: {args.persons} persons inserted in {time.perf_counter() - t0:.1f} s"
    )

    kinds = {
        "new": [_traits(rng) for _ in range(args.probes)],
        "same": [_written_differently(rng.choice(stored)) for _ in range(args.probes)],
        "near": [_near(rng.choice(stored), rng) for _ in range(args.probes)],
    }

    class Rollback(Exception):
        pass

    def ours(t: dict) -> str:
        person = Person(**t)
        got = identity.get_or_create_person(person, None, "bench")
        if got is not person:
            return "reused"
        return "flagged" if PossibleDuplicate.objects.filter(second=got).exists() else "created"

    def peer(t: dict) -> str:
        person = Person(**t)
        person.save()
        audit.record(None, "create", person, "bench")
        return "created"

    def probe(fn, t: dict) -> tuple[float, str]:
        start = time.perf_counter()
        try:
            with transaction.atomic():
                outcome = fn(t)
                elapsed = time.perf_counter() - start
                raise Rollback
        except Rollback:
            pass
        return elapsed * 1000, outcome

    print(f"load average before: {os.getloadavg()}")
    for run in range(3):
        label = "cold" if run == 0 else f"warm {run}"
        for kind, probes in kinds.items():
            times: dict[str, list[float]] = {"ours": [], "peer": []}
            outcomes: dict[str, int] = {}
            for t in probes:
                for name, fn in (("ours", ours), ("peer", peer)) if run % 2 == 0 else (
                    ("peer", peer), ("ours", ours)
                ):  # fmt: skip
                    ms, outcome = probe(fn, t)
                    times[name].append(ms)
                    if name == "ours":
                        outcomes[outcome] = outcomes.get(outcome, 0) + 1
            q = {
                name: (statistics.median(v), statistics.quantiles(v, n=20)[18])
                for name, v in times.items()
            }
            print(
                f"{label:7} {kind:5} ours median {q['ours'][0]:.2f} ms p95 {q['ours'][1]:.2f} | "
                f"peer median {q['peer'][0]:.2f} ms p95 {q['peer'][1]:.2f} | outcomes {outcomes}"
            )
    print(f"load average after: {os.getloadavg()}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    Person.objects.filter(birth_place_insee=MARK).delete()


if __name__ == "__main__":
    main()
