"""A matching run: the waiting requests of a territory and the GPs with room this month go to
:func:`maillage.analytics.attachment.match` (one optimal assignment), and each assignment
becomes a proposal (:func:`~maillage.care.attachment.services.requests.propose`).

A GP's room this month is their declared ``new_patients_per_month`` minus the proposals made
to them since the first of the month that are open or accepted (a declined or expired one gives
its place back). Requests whose commune has no coordinates, or whose person has no birth date
any more, cannot be placed and stay in the queue.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from maillage.analytics import attachment as core
from maillage.care.attachment.models import (
    WAITING,
    AttachmentRequest,
    GpCapacity,
    MatchingRun,
    ProposalState,
)
from maillage.care.attachment.services import capacity as capacity_service
from maillage.care.attachment.services import requests as requests_service
from maillage.care.attachment.services import weights as weights_service
from maillage.care.people import audit


def month_start(now: dt.datetime) -> dt.datetime:
    local = timezone.localtime(now)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def capacities(now: dt.datetime | None = None) -> list[tuple[GpCapacity, int]]:
    """Every active capacity with the room left this month."""
    since = month_start(now or timezone.now())
    taken = Count(
        "proposals",
        filter=Q(proposals__created_at__gte=since)
        & Q(proposals__state__in=[ProposalState.OPEN, ProposalState.ACCEPTED]),
    )
    rows = (
        GpCapacity.objects.filter(active=True)
        .select_related("location", "practitioner")
        .prefetch_related("communes")
        .annotate(taken=taken)
    )
    return [(c, max(0, c.new_patients_per_month - c.taken)) for c in rows]


def room_by_capacity(now: dt.datetime | None = None) -> dict[int, int]:
    """{capacity id: room left this month} of the active capacities."""
    return {c.pk: room for c, room in capacities(now)}


def waiting(communes: set[str] | None) -> Any:
    """The waiting requests (of ``communes`` when given), most urgent first."""
    rows = AttachmentRequest.objects.filter(state__in=WAITING, anonymised_at__isnull=True)
    if communes is not None:
        rows = rows.filter(commune_id__in=communes)
    return rows.select_related("person", "commune").order_by("-score", "created_at", "pk")


def run(
    user: Any, communes: set[str] | None, territory: Any = None, now: dt.datetime | None = None
) -> MatchingRun:
    """Propose GPs to the waiting requests of ``communes`` (None: all) in one transaction."""
    now = now or timezone.now()
    weights = weights_service.current()
    started = time.perf_counter()
    today = timezone.localtime(now).date()
    with transaction.atomic():
        queue = list(waiting(communes).select_for_update(of=("self",)))
        seekers = []
        by_id = {}
        for request in queue:
            commune, person = request.commune, request.person
            if commune.latitude is None or person.birth_date is None:
                continue
            by_id[request.pk] = request
            seekers.append(
                core.Seeker(
                    request.pk,
                    request.score,
                    commune.code,
                    (commune.latitude, commune.longitude),
                    person.age_on(today),
                )  # fmt: skip
            )
        gps = []
        by_gp = {}
        for capacity, room in capacities(now):
            location = capacity.location
            lat = location.latitude or location.commune.latitude
            lon = location.longitude or location.commune.longitude
            if room <= 0 or lat is None or lon is None:
                continue
            by_gp[capacity.pk] = capacity
            gps.append(
                core.Gp(
                    capacity.pk,
                    room,
                    (lat, lon),
                    frozenset(c.code for c in capacity.communes.all()),
                    float(capacity.radius_km) if capacity.radius_km else None,
                    frozenset(capacity.age_group_list),
                )  # fmt: skip
            )
        result = core.match(seekers, gps, weights)
        record = MatchingRun.objects.create(
            at=now, by=user if getattr(user, "is_authenticated", False) else None,
            territory=territory, waiting=len(queue), proposed=len(result.assignments),
            objective=result.objective,
        )  # fmt: skip
        for a in result.assignments:
            requests_service.propose(
                by_id[a.seeker], by_gp[a.gp], distance_km=a.distance_km,
                reasons=list(a.reasons), user=user, run=record, now=now,
            )  # fmt: skip
        # GPs whose month is now full no longer "accept new patients" in the directory
        capacity_service.sync_directory([c.practitioner_id for c in by_gp.values()], now)
        record.seconds = time.perf_counter() - started
        record.save(update_fields=["seconds"])
        audit.record(
            user, "create", record, "attachment_matching",
            waiting=len(queue), proposed=len(result.assignments),
        )  # fmt: skip
    return record
