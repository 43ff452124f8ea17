"""Alert campaigns: opening one (a call per registered person of its communes), handing the
next person to call to an agent (two agents never get the same person), recording outcomes
with retries and escalation to the home-visit list, closing. Every write is audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from maillage.accounts.models import Role
from maillage.accounts.permissions import role_of
from maillage.care.people import audit
from maillage.care.people.permissions import can_access
from maillage.care.register.models import (
    TO_CALL,
    CallAssignment,
    Campaign,
    CampaignKind,
    Level,
    Outcome,
    Registration,
)
from maillage.care.register.personal_data import profile_communes
from maillage.care.register.services.registrations import RegisterError

PURPOSE = "register_campaign"
#: A call held longer than this by an agent (who left) goes back to the list.
HOLD = dt.timedelta(minutes=30)
OPENERS = (Role.COORDINATOR, Role.CCAS_AGENT, Role.ADMINISTRATOR)


def _user_communes(user: Any) -> set[str] | None:
    """The communes ``user`` may open a campaign for (None: all, for an administrator)."""
    role = role_of(user)
    if role == Role.ADMINISTRATOR:
        return None
    if role not in OPENERS:
        return set()
    return profile_communes(user)


def territories_for(user: Any) -> list[Any]:
    """The territories ``user`` may open a campaign on as a whole: their own (an
    administrator: every saved territory)."""
    from maillage.territory.models import Territory

    role = role_of(user)
    if role == Role.ADMINISTRATOR:
        return list(Territory.objects.order_by("name")[:200])
    profile = getattr(user, "profile", None)
    if role not in OPENERS or profile is None or profile.pk is None:
        return []
    return list(profile.territories.order_by("name"))


def open_campaign(
    user: Any,
    kind: str,
    level: str,
    communes: set[str] | None = None,
    max_attempts: int = 3,
    now: dt.datetime | None = None,
    territory: str = "",
) -> Campaign:
    """Open an alert on ``communes`` and/or every commune of one of the user's territories
    (``territory``, its slug), all within the user's territories, and put every person
    registered there on the call list. RegisterError in French on a bad kind, level, commune
    or territory; PermissionDenied outside the user's communes."""
    communes = set(communes or ())
    if territory:
        chosen = next((t for t in territories_for(user) if t.slug == territory), None)
        if chosen is None:
            raise RegisterError("Territoire inconnu ou qui n'est pas le vôtre.")
        communes |= set(chosen.communes.values_list("code", flat=True))
    if kind not in CampaignKind.values:
        raise RegisterError("Type d'alerte inconnu.")
    if level not in Level.values:
        raise RegisterError("Niveau d'alerte inconnu.")
    if not communes:
        raise RegisterError("Choisissez au moins une commune.")
    if not 1 <= max_attempts <= 10:
        raise RegisterError("Le nombre d'appels avant visite va de 1 à 10.")
    allowed = _user_communes(user)
    if allowed is not None and not set(communes) <= allowed:
        raise PermissionDenied("Ces communes ne sont pas dans votre territoire.")
    from maillage.territory.models import Commune

    known = set(Commune.objects.filter(code__in=communes).values_list("code", flat=True))
    if known != set(communes):
        raise RegisterError("Commune inconnue dans la liste.")
    now = now or timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.create(
            kind=kind, level=level, opened_by=user if getattr(user, "is_authenticated", False)
            else None, opened_at=now, max_attempts=max_attempts,
        )  # fmt: skip
        campaign.communes.set(sorted(known))
        ids = (
            Registration.objects.active().filter(commune_id__in=known).values_list("pk", flat=True)
        )
        CallAssignment.objects.bulk_create(
            [CallAssignment(campaign=campaign, registration_id=pk, updated_at=now) for pk in ids],
            batch_size=1000,
        )
        audit.record(user, "create", campaign, PURPOSE, kind=kind, level=level, calls=len(ids))
    return campaign


def close_campaign(user: Any, campaign: Campaign) -> Campaign:
    allowed = _user_communes(user)
    if allowed is not None and not campaign.scope_communes() <= allowed:
        raise PermissionDenied("Cette campagne n'est pas dans votre territoire.")
    with transaction.atomic():
        campaign.closed_at = timezone.now()
        campaign.save(update_fields=["closed_at"])
        audit.record(user, "update", campaign, PURPOSE, closed=True)
    return campaign


def next_call(
    agent: Any, campaign: Campaign, now: dt.datetime | None = None
) -> CallAssignment | None:
    """The person ``agent`` calls now: the call they already hold, else the next one to call
    of their communes that nobody holds, taken for them. On PostgreSQL the candidate row is
    locked with ``SELECT … FOR UPDATE SKIP LOCKED``, so two agents asking at once take two
    different people; SQLite's write transactions never overlap. None when nothing is left."""
    if role_of(agent) not in (Role.CCAS_AGENT, Role.ADMINISTRATOR):
        raise PermissionDenied("Seuls les agents de la commune passent les appels.")
    if not campaign.is_open:
        return None
    now = now or timezone.now()
    communes = None if role_of(agent) == Role.ADMINISTRATOR else profile_communes(agent)
    with transaction.atomic():
        open_calls = CallAssignment.objects.filter(
            campaign=campaign, outcome__in=TO_CALL, escalated=False
        )
        if communes is not None:
            open_calls = open_calls.filter(registration__commune_id__in=communes)
        held = open_calls.filter(agent=agent).order_by("pk").first()
        if held is None:
            free = open_calls.filter(Q(agent__isnull=True) | Q(held_since__lt=now - HOLD))
            lock = (
                {"skip_locked": True}
                if connection.features.has_select_for_update_skip_locked
                else {}
            )
            held = free.select_for_update(of=("self",), **lock).order_by("attempts", "pk").first()
            if held is None:
                return None
            held.agent = agent
            held.held_since = now
            held.updated_at = now
            held.save(update_fields=["agent", "held_since", "updated_at"])
        audit.record(agent, "view", held, PURPOSE, registration=held.registration_id)
    return held


def record_outcome(
    assignment: CallAssignment, outcome: str, note: str, agent: Any, now: dt.datetime | None = None
) -> CallAssignment:
    """The outcome of one call, recorded by the agent holding it (taken by :func:`next_call`;
    ``agent`` None: the system). "Not reached" counts an attempt and frees the person for a
    later call, until ``max_attempts``: then the person goes to the home-visit list."""
    if outcome not in (Outcome.REACHED_FINE, Outcome.NEEDS_HELP, Outcome.NOT_REACHED):
        raise RegisterError("Résultat d'appel inconnu.")
    if agent is not None and not can_access(agent, assignment, "update"):
        raise PermissionDenied("accès refusé à cet appel")
    now = now or timezone.now()
    with transaction.atomic():
        call = (
            CallAssignment.objects.select_for_update(of=("self",))
            .select_related("campaign")
            .get(pk=assignment.pk)
        )
        if not call.campaign.is_open:
            raise RegisterError("Cette campagne est close.")
        if call.outcome not in TO_CALL or call.escalated:
            raise RegisterError("Le résultat de cet appel est déjà enregistré.")
        if agent is not None and call.agent_id != agent.pk:
            # Only the agent holding the call records its outcome. A "not reached" frees the
            # call: the same form sent again (a double click, a retry) must not count a second
            # attempt.
            if call.agent_id is not None:
                raise RegisterError("Un autre agent est en train d'appeler cette personne.")
            if call.attempts:
                raise RegisterError(
                    "Ce « pas de réponse » est déjà enregistré : la personne sera rappelée."
                )
            raise RegisterError("Prenez d'abord cette personne avec « Personne suivante ».")
        call.outcome = outcome
        call.last_note = note or ""
        call.updated_at = now
        if outcome == Outcome.NOT_REACHED:
            call.attempts += 1
            call.agent = None  # free for the next try
            call.held_since = None
            if call.attempts >= call.campaign.max_attempts:
                call.escalated = True
                call.escalated_at = now
        else:
            call.agent = agent if getattr(agent, "is_authenticated", False) else None
        call.save()
        audit.record(
            agent, "update", call, PURPOSE, outcome=outcome, attempts=call.attempts,
            escalated=call.escalated,
        )  # fmt: skip
    return call


def home_visits(campaign: Campaign, communes: set[str] | None) -> list[CallAssignment]:
    rows = CallAssignment.objects.filter(campaign=campaign, escalated=True).select_related(
        "registration__person", "registration__commune"
    )
    if communes is not None:
        rows = rows.filter(registration__commune_id__in=communes)
    return list(rows.order_by("escalated_at", "pk"))


def campaigns_for(user: Any) -> list[Campaign]:
    communes = _user_communes(user)
    rows = Campaign.objects.prefetch_related("communes")
    if communes is not None:
        rows = rows.filter(communes__in=communes).distinct()
    return list(rows[:50])
