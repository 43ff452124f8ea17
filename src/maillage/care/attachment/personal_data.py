"""What the waiting list tells :mod:`maillage.care.people` about its personal data: who may
open a request or a proposal, how requests expire, and a person's requests for an access or
erasure request. Registered by the app's ``ready``.

Rules: a coordinator sees and updates the requests of the communes of their territories (a
coordinator without territories: none); a GP (professional linked to a practitioner) the
proposals addressed to them and the requests behind them; an operator, a nurse or a
professional the requests they typed themselves (view only).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from maillage.accounts.models import Role
from maillage.care.attachment.models import AttachmentRequest, Proposal, State
from maillage.care.people import identity, permissions, retention
from maillage.care.people.models import Person


def coordinator_communes(user: Any) -> set[str]:
    """The communes of a coordinator's territories (empty: none, never "all")."""
    from maillage.territory.models import Commune

    profile = getattr(user, "profile", None)
    if profile is None:
        return set()
    return set(
        Commune.objects.filter(territories__in=profile.territories.all()).values_list(
            "code", flat=True
        )
    )


def practitioner_of(user: Any) -> int | None:
    profile = getattr(user, "profile", None)
    return getattr(profile, "practitioner_id", None)


def request_rule(user: Any, role: str, request: AttachmentRequest, action: str) -> bool:
    if role == Role.COORDINATOR:
        return action in ("view", "update") and request.commune_id in coordinator_communes(user)
    if role == Role.PROFESSIONAL and action in ("view", "update"):
        practitioner = practitioner_of(user)
        if (
            practitioner is not None
            and request.proposals.filter(gp__practitioner_id=practitioner).exists()
        ):
            return True
    return (
        action == "view"
        and request.created_by_id is not None
        and (request.created_by_id == user.pk)
    )


def proposal_rule(user: Any, role: str, proposal: Proposal, action: str) -> bool:
    if role == Role.COORDINATOR:
        return action == "view" and proposal.request.commune_id in coordinator_communes(user)
    if role == Role.PROFESSIONAL:
        practitioner = practitioner_of(user)
        return (
            action in ("view", "update")
            and practitioner is not None
            and proposal.gp.practitioner_id == practitioner
        )
    return False


def person_rule(user: Any, role: str, person: Person, action: str) -> bool:
    if action not in ("view", "update"):
        return False
    requests = AttachmentRequest.objects.filter(person=person)
    if role == Role.COORDINATOR:
        return requests.filter(commune_id__in=coordinator_communes(user)).exists()
    if role == Role.PROFESSIONAL:
        practitioner = practitioner_of(user)
        if (
            practitioner is not None
            and requests.filter(proposals__gp__practitioner_id=practitioner).exists()
        ):
            return True
    return action == "view" and requests.filter(created_by=user).exists()


def anonymise_requests(cutoff: dt.datetime) -> int:
    """Requests closed (médecin traitant declared) before ``cutoff``: answers, explanation and
    note emptied (state, channel, commune, score and dates stay for the statistics)."""
    expired = AttachmentRequest.objects.filter(
        anonymised_at__isnull=True, state=State.REGISTERED, state_changed_at__lt=cutoff
    )
    ids = list(expired.values_list("pk", flat=True))
    Proposal.objects.filter(request_id__in=ids).update(anonymised_at=timezone.now())
    return expired.update(
        answers_json="", explanation_json="", note="", anonymised_at=timezone.now()
    )


def person_requests(person: Person) -> list[dict[str, Any]]:
    return [
        {
            "reference": r.reference,
            "channel": r.channel,
            "commune": r.commune_id,
            "answers": r.answers,
            "score": r.score,
            "explanation": r.explanation,
            "note": r.note,
            "state": r.state,
            "created_at": r.created_at.isoformat(),
            "transitions": [
                {"from": t.from_state, "to": t.to_state, "at": t.at.isoformat()}
                for t in r.transitions.all()
            ],
            "proposals": [
                {
                    "gp": p.gp.practitioner_id,
                    "state": p.state,
                    "distance_km": p.distance_km,
                    "reasons": p.reasons,
                    "created_at": p.created_at.isoformat(),
                }
                for p in r.proposals.select_related("gp")
            ],
        }
        for r in AttachmentRequest.objects.filter(person=person)
    ]


def erase_requests(person: Person) -> int:
    requests = AttachmentRequest.objects.filter(person=person)
    Proposal.objects.filter(request__person=person).update(anonymised_at=timezone.now())
    return requests.update(
        answers_json="", explanation_json="", note="", anonymised_at=timezone.now()
    )


def merge_requests(kept: Person, gone: Person) -> int:
    """A merge of two persons (care.people.identity): the duplicate's requests are the kept
    person's."""
    return AttachmentRequest.objects.filter(person=gone).update(person=kept)


def register() -> None:
    from maillage.care.attachment.services.summary import waiting_figures
    from maillage.care.people import summary

    summary.register("waiting", waiting_figures)
    identity.register_merge(merge_requests)
    permissions.register(AttachmentRequest, request_rule)
    permissions.register(Proposal, proposal_rule)
    permissions.register_person_rule(person_rule)
    retention.register(anonymise_requests)
    retention.register_access("attachment", person_requests)
    retention.register_erase(erase_requests)
