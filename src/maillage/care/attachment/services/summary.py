"""The waiting list's figures for a set of communes (``maillage care summary``, the dashboard):
counts and durations only, never a person."""

from __future__ import annotations

import datetime as dt
import functools
import statistics
from pathlib import Path
from typing import Any

import yaml
from django.utils import timezone

from maillage.care.attachment.models import WAITING, AttachmentRequest, GpCapacity, State

PLACED = (State.ACCEPTED, State.REGISTERED)


def waiting_figures(communes: set[str], now: dt.datetime) -> dict[str, Any]:
    """``people`` waiting for a médecin traitant (no GP has accepted them yet, a proposal may
    be pending), ``median_wait_days`` since their request, ``placed_share`` of all the requests
    made that a GP accepted, and the GPs' declared ``capacity_per_month``."""
    requests = AttachmentRequest.objects.filter(commune_id__in=communes)
    pending = (*WAITING, State.PROPOSED)
    waits = [
        (now - created).total_seconds() / 86400
        for created in requests.filter(state__in=pending).values_list("created_at", flat=True)
    ]
    total = requests.count()
    placed = requests.filter(state__in=PLACED).count()
    capacity = GpCapacity.objects.filter(active=True, location__commune_id__in=communes)
    return {
        "people": len(waits),
        "proposed": requests.filter(state=State.PROPOSED).count(),
        "median_wait_days": round(statistics.median(waits), 1) if waits else None,
        "requests": total,
        "placed": placed,
        "placed_share": round(placed / total, 3) if total else None,
        "gps_with_capacity": capacity.count(),
        "capacity_per_month": sum(c.new_patients_per_month for c in capacity),
        # made-up demo people are counted: say so wherever these figures go
        "synthetic": requests.filter(person__synthetic=True).exists(),
    }


@functools.cache
def dashboard_settings() -> dict[str, Any]:
    """The priority bands and months of the dashboard (``data/dashboard.yaml``)."""
    path = Path(__file__).resolve().parents[1] / "data" / "dashboard.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def band_of(score: int) -> str:
    for band in dashboard_settings()["priority_bands"]:
        if score >= band["min"]:
            return band["key"]
    return dashboard_settings()["priority_bands"][-1]["key"]


def by_commune(communes: set[str], now: dt.datetime) -> list[dict[str, Any]]:
    """Per commune of ``communes`` with a request or a GP's capacity: the people waiting by
    priority band, the requests placed, the capacity declared this month (GPs practising
    there) against the demand (people waiting): counts only. Sums equal
    :func:`waiting_figures`'s."""
    from maillage.territory.models import Commune

    keys = [b["key"] for b in dashboard_settings()["priority_bands"]]
    rows: dict[str, dict[str, Any]] = {}

    def row(code: str) -> dict[str, Any]:
        if code not in rows:
            rows[code] = {"commune": code, "waiting": 0, "placed": 0, "capacity_per_month": 0,
                          "gps_with_capacity": 0, **{f"waiting_{k}": 0 for k in keys}}  # fmt: skip
        return rows[code]

    pending = (*WAITING, State.PROPOSED)
    requests = AttachmentRequest.objects.filter(commune_id__in=communes)
    for code, state, score in requests.values_list("commune_id", "state", "score"):
        if state in pending:
            row(code)["waiting"] += 1
            row(code)[f"waiting_{band_of(score)}"] += 1
        elif state in PLACED:
            row(code)["placed"] += 1
    capacity = GpCapacity.objects.filter(active=True, location__commune_id__in=communes)
    for code, per_month in capacity.values_list("location__commune_id", "new_patients_per_month"):
        row(code)["capacity_per_month"] += per_month
        row(code)["gps_with_capacity"] += 1
    names = dict(Commune.objects.filter(code__in=list(rows)).values_list("code", "name"))
    out = []
    for code, values in rows.items():
        values["name"] = names.get(code, code)
        values["balance"] = values["capacity_per_month"] - values["waiting"]
        values["band_values"] = [values[f"waiting_{k}"] for k in keys]
        out.append(values)
    return sorted(out, key=lambda r: (-r["waiting"], r["name"]))


def placed_by_month(communes: set[str], now: dt.datetime) -> list[dict[str, Any]]:
    """For each of the last months (Paris time, oldest first): the requests made that month,
    how many of them a GP has accepted since, and that share."""
    months = dashboard_settings()["months"]
    local = timezone.localtime(now)
    firsts = []
    year, month = local.year, local.month
    for _ in range(months):
        firsts.append(local.replace(year=year, month=month, day=1, hour=0, minute=0, second=0,
                                    microsecond=0))  # fmt: skip
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    firsts.reverse()
    rows = {f"{f:%Y-%m}": {"month": f"{f:%Y-%m}", "requests": 0, "placed": 0} for f in firsts}
    made = AttachmentRequest.objects.filter(commune_id__in=communes, created_at__gte=firsts[0])
    for created, state in made.values_list("created_at", "state"):
        key = f"{timezone.localtime(created):%Y-%m}"
        if key in rows:
            rows[key]["requests"] += 1
            rows[key]["placed"] += state in PLACED
    for r in rows.values():
        r["placed_share"] = round(r["placed"] / r["requests"], 3) if r["requests"] else None
    return list(rows.values())
