"""The discharge letters' figures for a set of communes (``maillage care summary``, the
indicators page): one row per hospital located in those communes, over the 12 months before
``now``; figures only, never a person."""

from __future__ import annotations

import datetime as dt
from typing import Any

from maillage.care.letters.models import Discharge
from maillage.care.letters.services.discharges import table

WINDOW = dt.timedelta(days=365)


def hospital_rows(discharges: Any, now: dt.datetime) -> list[dict[str, Any]]:
    """By hospital, the last 12 months: ``name`` then the indicators."""
    recent = discharges.filter(discharge_at__gt=now - WINDOW, discharge_at__lte=now)
    rows = table(recent, ("hospital",))
    return [{"name": row.pop("hospital"), **row} for row in rows]


def letters_figures(communes: set[str], now: dt.datetime) -> dict[str, Any]:
    discharges = Discharge.objects.filter(hospital__commune_id__in=communes)
    hospitals = hospital_rows(discharges, now)
    return {
        "hospitals": hospitals,
        "discharges": sum(h["discharges"] for h in hospitals),
        "synthetic": discharges.filter(synthetic=True).exists(),
        "period_days": WINDOW.days,
    }
