"""The register's figures for a set of communes (``maillage care summary``, the campaigns'
dashboard): counts only, never a person."""

from __future__ import annotations

import datetime as dt
from typing import Any

from maillage.care.register.models import CallAssignment, Campaign, Outcome, Registration

#: A registration is confirmed once a year; one not confirmed this long after is removed.
CONFIRM_MONTHS = 12
GRACE_MONTHS = 1
#: "To confirm": the yearly confirmation falls due within this many days.
DUE_DAYS = 30


def active_registrations(communes: set[str]) -> Any:
    return Registration.objects.active().filter(commune_id__in=communes)


def confirmation_cutoff(now: dt.datetime, months: int = CONFIRM_MONTHS) -> dt.datetime:
    from maillage.care.people.retention import cutoff

    return cutoff(now, months)


def register_figures(communes: set[str], now: dt.datetime) -> dict[str, Any]:
    """``people`` registered (active) in the communes, ``campaigns`` that touched them (open
    ones in ``open_campaigns``), ``to_confirm`` whose yearly confirmation falls due within
    30 days (or is overdue), ``escalated`` people waiting for a home visit."""
    active = active_registrations(communes)
    due = confirmation_cutoff(now + dt.timedelta(days=DUE_DAYS))
    campaigns = Campaign.objects.filter(communes__in=communes).distinct()
    return {
        "people": active.count(),
        "pending": Registration.objects.pending().filter(commune_id__in=communes).count(),
        "campaigns": campaigns.count(),
        "open_campaigns": campaigns.filter(closed_at__isnull=True).count(),
        "to_confirm": active.filter(confirmed_at__lt=due).count(),
        "escalated": CallAssignment.objects.filter(
            escalated=True,
            registration__commune_id__in=communes,
            campaign__closed_at__isnull=True,
        ).count(),  # fmt: skip
        # made-up demo people are counted: say so wherever these figures go
        "synthetic": active.filter(synthetic=True).exists(),
    }


def campaign_figures(campaign: Campaign) -> dict[str, int]:
    """One campaign's counts: people to call, by outcome, escalated to a home visit. One
    aggregate query: the call screen shows them on every page an agent sees, and a campaign
    has thousands of calls."""
    from django.db.models import Count, Q

    held = Q(agent__isnull=False, outcome__in=("pending", "not_reached"), escalated=False)
    return CallAssignment.objects.filter(campaign=campaign).aggregate(
        people=Count("pk"),
        **{value: Count("pk", filter=Q(outcome=value)) for value in Outcome.values},
        in_progress=Count("pk", filter=held),
        escalated=Count("pk", filter=Q(escalated=True)),
    )
