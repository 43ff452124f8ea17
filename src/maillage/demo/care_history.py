"""The synthetic activity history of the teleconsultation rooms, calibrated on the seeds.

The demo shows the rooms' activity since they opened, as the CPTS counts it (half-days, acts,
patients). No real booking exists to show, so this module draws one, deterministically, from
the plan in ``data/care_history.yaml``: the weekly half-days of each period, the public
holidays closed, and a number of acts per half-day chosen so that each room reaches the figure
the seeds report on their calibration date (915 acts at Clos Mortier and 200 at La Noue on
14 November 2019). Everything it returns is synthetic and the loader flags it so.

Pure: numpy, pandas and the ``holidays`` package, no Django. The output has the columns of
:mod:`maillage.analytics.care_activity` (plus ``slot`` numbers), so the history and live
bookings are counted by the same function.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import pandas as pd
import yaml

PLAN_FILE = Path(__file__).with_name("data") / "care_history.yaml"
PARIS = ZoneInfo("Europe/Paris")
SEED = 2019


@dataclass(frozen=True)
class History:
    """Sessions (one row per half-day opened) and bookings (one row per booking) of the rooms."""

    sessions: pd.DataFrame
    bookings: pd.DataFrame


@cache
def plan() -> dict[str, Any]:
    """The plan of ``data/care_history.yaml`` (targets from the seeds, stated assumptions)."""
    return yaml.safe_load(PLAN_FILE.read_text(encoding="utf-8"))


def _hm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _session_days(site: dict[str, Any], until: date) -> list[tuple[date, str]]:
    """(day, "am"/"pm") of every session of a site from its first session to ``until``
    (excluded), public holidays closed."""
    periods = sorted(site["periods"], key=lambda p: p["from"])
    years = range(site["first_session"].year, until.year + 1)
    closed = holidays.country_holidays("FR", years=years)
    out: list[tuple[date, str]] = []
    day = site["first_session"]
    while day < until:
        period = [p for p in periods if p["from"] <= day][-1]
        halves = [tuple(h) for h in period["half_days"]]
        extra = period.get("extra_every_other_week")
        if extra and day.isocalendar().week % 2 == 0:
            halves.append(tuple(extra))
        if day not in closed:
            for weekday, half in halves:
                if weekday == day.weekday():
                    out.append((day, half))
        day += timedelta(days=1)
    return out


def _rates(site: dict[str, Any], days: list[tuple[date, str]]) -> np.ndarray:
    """Mean acts of each session: the calibration checkpoints' acts spread evenly over the
    sessions since the previous checkpoint, then the plan's later rate."""
    rates = np.full(len(days), float(site["later_acts_per_half_day"]))
    done_sessions, done_acts = 0, 0
    for checkpoint in site["calibration"]:
        if "half_days" in checkpoint:
            upto = int(checkpoint["half_days"])
        else:
            upto = sum(1 for day, _ in days if day <= checkpoint["until"])
        upto = min(upto, len(days))
        if upto > done_sessions:
            rates[done_sessions:upto] = (checkpoint["acts"] - done_acts) / (upto - done_sessions)
        done_sessions, done_acts = upto, int(checkpoint["acts"])
    return rates


def generate(until: date, *, seed: int = SEED) -> History:
    """The history of every room of the plan up to ``until`` (excluded: from ``until`` on, the
    rooms have live slots). Deterministic for a given ``until`` and ``seed``."""
    config = plan()
    rng = np.random.default_rng(seed)
    slot = timedelta(minutes=int(config["slot_minutes"]))
    hours = {half: tuple(map(_hm, span)) for half, span in config["session_hours"].items()}
    bands = np.array([[int(x) for x in band.split("-")] for band in config["age_weights"]])
    band_p = np.array(list(config["age_weights"].values()), dtype=float)
    communes = np.array(list(config["communes"]))
    commune_p = np.array(list(config["communes"].values()), dtype=float)
    no_show = float(config["no_show_rate"])

    sessions: list[pd.DataFrame] = []
    bookings: list[pd.DataFrame] = []
    for key, site in config["sites"].items():
        days = _session_days(site, until)
        if not days:
            continue
        starts = [datetime.combine(day, hours[half][0], PARIS) for day, half in days]
        ends = [datetime.combine(day, hours[half][1], PARIS) for day, half in days]
        capacity = np.array([int((e - s) / slot) for s, e in zip(starts, ends, strict=True)])
        sessions.append(
            pd.DataFrame({"site": key, "start": starts, "end": ends, "slots": capacity})
        )
        # booked ~ B(capacity, p) with p such that the expected acts are the session's rate
        p_booked = np.clip(_rates(site, days) / (capacity * (1 - no_show)), 0.0, 1.0)
        booked = rng.binomial(capacity, p_booked)
        no_shows = rng.binomial(booked, no_show)
        rows: list[tuple[int, int, bool]] = []  # (session, slot, honoured)
        for index, (cap, n, missed) in enumerate(zip(capacity, booked, no_shows, strict=True)):
            positions = np.sort(rng.choice(cap, n, replace=False))
            honoured = rng.permutation(np.arange(n) >= missed)
            rows.extend(zip([index] * n, positions.tolist(), honoured.tolist(), strict=True))
        count = len(rows)
        session_of = np.array([r[0] for r in rows], dtype=int)
        position = np.array([r[1] for r in rows], dtype=int)
        periods = sorted(site["periods"], key=lambda p: p["from"])
        new_share = np.array(
            [
                [p for p in periods if p["from"] <= days[i][0]][-1]["new_patient_share"]
                for i in session_of
            ]
        )
        # a new patient, or one seen before at this site (uniformly among those seen so far)
        is_new = rng.random(count) < new_share
        if count:
            is_new[0] = True
        seen = np.cumsum(is_new)
        patient = np.where(is_new, seen, np.floor(rng.random(count) * seen).astype(int) + 1)
        band = bands[rng.choice(len(bands), count, p=band_p / band_p.sum())]
        bookings.append(
            pd.DataFrame(
                {
                    "site": key,
                    "start": [
                        starts[i] + int(k) * slot for i, k in zip(session_of, position, strict=True)
                    ],
                    "slot": position,
                    "status": np.where([r[2] for r in rows], "honoured", "no_show"),
                    "patient": [f"{key}-{n}" for n in patient],
                    "has_gp": rng.random(count) >= float(config["share_without_gp"]),
                    "age": rng.integers(band[:, 0], band[:, 1] + 1),
                    "commune": communes[
                        rng.choice(len(communes), count, p=commune_p / commune_p.sum())
                    ],
                }
            )
        )
    columns = ["site", "start", "slot", "status", "patient", "has_gp", "age", "commune"]
    return History(
        sessions=pd.concat(sessions, ignore_index=True)
        if sessions
        else pd.DataFrame(columns=["site", "start", "end", "slots"]),
        bookings=pd.concat(bookings, ignore_index=True)
        if bookings
        else pd.DataFrame(columns=columns),
    )
