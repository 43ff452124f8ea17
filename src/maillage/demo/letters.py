"""A synthetic year of hospital discharges for the demo (``data/letters.yaml``): the three
hospitals of Centre-Sud Haute-Marne and Saint-Dizier, found in the directory by their FINESS
établissement. Every Person and Discharge is flagged ``synthetic`` (invented names, ARCEP
fiction phone numbers); the delays follow the file's plausible shares, not measurements.

Idempotent: a hospital that already has synthetic discharges is left as it is. Fast: bulk
inserts (about 3,200 discharges).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction
from django.utils import timezone

from maillage.care.letters.models import Discharge
from maillage.care.people.models import Person
from maillage.directory.models import Organization, Practitioner

log = logging.getLogger(__name__)
DATA = Path(__file__).parent / "data" / "letters.yaml"


def spec() -> dict[str, Any]:
    return yaml.safe_load(DATA.read_text(encoding="utf-8"))


def demo_hospitals() -> list[Organization]:
    """The file's hospitals that the directory has (a database without Haute-Marne: none)."""
    wanted = [h["finess"] for h in spec()["hospitals"]]
    found = {o.finess_et: o for o in Organization.objects.filter(finess_et__in=wanted)}
    missing = [f for f in wanted if f not in found]
    if missing:
        log.warning(
            "démo lettres de sortie : FINESS absents de l'annuaire : %s", ", ".join(missing)
        )
    return [found[f] for f in wanted if f in found]


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _discharge_time(rng: random.Random, day: dt.date, evening: bool) -> dt.datetime:
    hour = rng.randint(18, 21) if evening else rng.choice([10, 11, 11, 12, 14, 15, 15, 16, 17])
    return dt.datetime.combine(day, dt.time(hour, rng.choice([0, 15, 30, 45])),
                               tzinfo=timezone.get_default_timezone())  # fmt: skip


def _day(rng: random.Random, start: dt.date, days: int, weekend: bool) -> dt.date:
    while True:
        day = start + dt.timedelta(days=rng.randrange(days))
        if (day.weekday() >= 5) == weekend:
            return day


def _sent_at(rng: random.Random, out: dt.datetime, h: dict[str, Any]) -> dt.datetime | None:
    kind = _pick(rng, {k: h[k] for k in ("same_day", "within_week", "late", "never")})
    if kind == "never":
        return None
    if kind == "same_day":
        latest = out.replace(hour=23, minute=30)
        minutes = max(int((latest - out).total_seconds() // 60), 0)
        return out + dt.timedelta(minutes=rng.randint(0, min(minutes, 240)))
    days = rng.randint(1, 7) if kind == "within_week" else rng.randint(8, 40)
    return (out + dt.timedelta(days=days)).replace(hour=rng.randint(8, 17))


def load_demo_discharges(now: dt.datetime | None = None) -> dict[str, int]:
    """Write the synthetic year (the hospitals already loaded are skipped); counts by FINESS."""
    now = now or timezone.now()
    data = spec()
    rng = random.Random(data["seed"])
    gps = list(
        Practitioner.objects.filter(synthetic=True, roles__profession_code="10")
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()[:400]
    )
    from maillage.demo.accounts import demo_gp

    favourite = demo_gp()
    counts: dict[str, int] = {}
    by_finess = {h["finess"]: h for h in data["hospitals"]}
    start = (now - dt.timedelta(days=data["days"])).date()
    for hospital in demo_hospitals():
        if Discharge.objects.filter(hospital=hospital, synthetic=True).exists():
            continue
        h = by_finess[hospital.finess_et]
        services = {s["name"]: s for s in h["services"]}
        people, rows = [], []
        for n in range(h["discharges"]):
            sex = rng.choice("FM")
            first = rng.choice(data["first_names_f" if sex == "F" else "first_names_m"])
            people.append(Person(
                birth_name=rng.choice(data["birth_names"]), first_names=first, sex=sex,
                birth_date=dt.date(rng.randint(1928, 2004), rng.randint(1, 12), rng.randint(1, 28)),
                phone=f"+3319900{rng.randint(0, 9999):04d}",  # ARCEP fiction range
                synthetic=True, created_at=now,
            ))  # fmt: skip
            service = services[_pick(rng, {k: v["weight"] for k, v in services.items()})]
            out = _discharge_time(
                rng,
                _day(rng, start, data["days"] - 1, rng.random() < h["weekend"]),
                rng.random() < h["evening"],
            )
            stay = max(1, int(rng.expovariate(1 / service["stay_days"])))
            sent = _sent_at(rng, out, h)
            if sent is not None and sent > now:
                sent = None
            ack = None
            if sent is not None and rng.random() < h["acknowledged"]:
                ack = min(sent + dt.timedelta(hours=rng.randint(2, 120)), now)
            gp = favourite.pk if favourite and n % 40 == 0 else (rng.choice(gps) if gps else None)
            rows.append(Discharge(
                hospital=hospital, service=service["name"], stay_number=f"DEMO-{n:05d}",
                admission_at=out - dt.timedelta(days=stay, hours=rng.randint(0, 8)),
                discharge_at=out, destination=_pick(rng, data["destinations"]), gp_id=gp,
                letter_sent_at=sent, channel=_pick(rng, data["channels"]) if sent else "",
                acknowledged_at=ack, synthetic=True, created_at=now,
            ))  # fmt: skip
        for person in people:
            person.match_key = person.compute_match_key()
        with transaction.atomic():
            Person.objects.bulk_create(people, batch_size=500)
            for person, row in zip(people, rows, strict=True):
                row.person_id = person.pk
            Discharge.objects.bulk_create(rows, batch_size=500)
        counts[hospital.finess_et] = len(rows)
    return counts
