"""Discharge-letter indicators, pure: no Django, no database.

Each discharge is a :class:`Stay` (where, which service, when it ended, when its letter was
sent and acknowledged). :func:`indicators` groups them by any of "hospital", "service" and
"month" (of the discharge, Europe/Paris) and gives for each group:

- ``discharges``: how many; ``sent``: how many letters were sent;
- ``median_delay_hours``: the median of (letter sent − discharge) over the letters sent;
- ``sent_same_day_share``: the share of discharges whose letter left on the day of discharge
  (Paris calendar day); ``sent_within_7_days_share``: within 7 × 24 h;
- ``acknowledged_share``: the share of the letters sent that the GP acknowledged;
- ``evening_share``: discharges at or after 18:00 (Paris); ``weekend_share``: on a Saturday
  or a Sunday (Paris).

Shares are rounded to 3 decimals, hours to 1; a share of nothing is None.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
EVENING_HOUR = 18
KEYS = ("hospital", "service", "month")


@dataclass(frozen=True)
class Stay:
    hospital: str
    service: str
    discharge_at: dt.datetime
    letter_sent_at: dt.datetime | None = None
    acknowledged_at: dt.datetime | None = None

    @property
    def month(self) -> str:
        return self.discharge_at.astimezone(PARIS).strftime("%Y-%m")


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def figures(stays: Sequence[Stay]) -> dict[str, Any]:
    """The indicators of one group of discharges."""
    delays = []
    same_day = within_week = acknowledged = evening = weekend = 0
    for stay in stays:
        local = stay.discharge_at.astimezone(PARIS)
        evening += local.hour >= EVENING_HOUR
        weekend += local.weekday() >= 5
        if stay.letter_sent_at is None:
            continue
        delay = (stay.letter_sent_at - stay.discharge_at).total_seconds() / 3600
        delays.append(delay)
        same_day += stay.letter_sent_at.astimezone(PARIS).date() == local.date()
        within_week += delay <= 7 * 24
        acknowledged += stay.acknowledged_at is not None
    total = len(stays)
    return {
        "discharges": total,
        "sent": len(delays),
        "median_delay_hours": round(statistics.median(delays), 1) if delays else None,
        "sent_same_day_share": _share(same_day, total),
        "sent_within_7_days_share": _share(within_week, total),
        "acknowledged_share": _share(acknowledged, len(delays)),
        "evening_share": _share(evening, total),
        "weekend_share": _share(weekend, total),
    }


def indicators(stays: Iterable[Stay], by: Sequence[str] = KEYS) -> list[dict[str, Any]]:
    """One row per group of ``by`` (sorted), its keys then its :func:`figures`."""
    unknown = set(by) - set(KEYS)
    if unknown:
        raise ValueError(f"unknown grouping {sorted(unknown)}")
    groups: dict[tuple[str, ...], list[Stay]] = {}
    for stay in stays:
        groups.setdefault(tuple(getattr(stay, key) for key in by), []).append(stay)
    return [{**dict(zip(by, key, strict=True)), **figures(groups[key])} for key in sorted(groups)]


def overdue(stays: Iterable[Stay], now: dt.datetime, days: int) -> list[Stay]:
    """The discharges whose letter is not sent ``days`` days after the discharge, oldest
    first."""
    limit = now - dt.timedelta(days=days)
    return sorted(
        (s for s in stays if s.letter_sent_at is None and s.discharge_at <= limit),
        key=lambda s: s.discharge_at,
    )
