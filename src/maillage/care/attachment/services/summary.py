"""The waiting list's figures for a set of communes (``maillage care summary``, the dashboard):
counts and durations only, never a person."""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any

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
    }
