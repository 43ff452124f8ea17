"""What the register tells :mod:`maillage.care.people` about its personal data: who may open a
registration or a call, how removed registrations are anonymised, a person's registrations for
an access or erasure request, the merge of two persons, and the "register" summary part.
Registered by the app's ``ready``.

Rules: a commune's agent (``Role.CCAS_AGENT``) views, creates, updates and removes the
registrations (and the calls) of the communes of their territories (``Profile.territories``;
none: nothing); a coordinator sees no name, only the figures, except the prefect's list
(action "export") of the communes of their territories; the administrator may do anything
(:func:`maillage.care.people.permissions.can_access`); every other role: nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from maillage.accounts.models import Role
from maillage.care.people import identity, permissions, retention
from maillage.care.people.models import Person
from maillage.care.register.models import CallAssignment, Registration, RemovalReason

AGENT_ACTIONS = ("view", "create", "update", "delete")


def profile_communes(user: Any) -> set[str]:
    """The INSEE codes of the communes of a user's territories (empty: none, never "all")."""
    from maillage.territory.models import Commune

    profile = getattr(user, "profile", None)
    if profile is None or profile.pk is None:
        return set()
    return set(
        Commune.objects.filter(territories__in=profile.territories.all()).values_list(
            "code", flat=True
        )
    )


def registration_rule(user: Any, role: str, registration: Registration, action: str) -> bool:
    if role == Role.CCAS_AGENT:
        return action in AGENT_ACTIONS and registration.commune_id in profile_communes(user)
    if role == Role.COORDINATOR:
        return action == "export" and registration.commune_id in profile_communes(user)
    return False


def assignment_rule(user: Any, role: str, assignment: CallAssignment, action: str) -> bool:
    if role == Role.CCAS_AGENT:
        return action in (
            "view",
            "update",
        ) and assignment.registration.commune_id in profile_communes(user)
    return False


def person_rule(user: Any, role: str, person: Person, action: str) -> bool:
    if role != Role.CCAS_AGENT or action not in ("view", "update"):
        return False
    return Registration.objects.filter(
        person=person, removed_at__isnull=True, commune_id__in=profile_communes(user)
    ).exists()


def anonymise_registrations(cutoff: dt.datetime) -> int:
    """Registrations removed before ``cutoff``: address, contacts, notes and the call notes
    emptied (commune, mobility, dates stay for the statistics)."""
    expired = Registration.objects.filter(anonymised_at__isnull=True, removed_at__lt=cutoff)
    return _empty(expired)


def _empty(registrations: Any) -> int:
    ids = list(registrations.values_list("pk", flat=True))
    CallAssignment.objects.filter(registration_id__in=ids).update(last_note="")
    return Registration.objects.filter(pk__in=ids).update(
        address="", emergency_contacts="", vulnerability_notes="", power_devices_detail="",
        attending_doctor="", nurse="", requester_name="", requester_phone="",
        anonymised_at=timezone.now(),
    )  # fmt: skip


def person_registrations(person: Person) -> list[dict[str, Any]]:
    return [
        {
            "commune": r.commune_id,
            "address": r.address,
            "emergency_contacts": r.emergency_contacts,
            "vulnerability_notes": r.vulnerability_notes,
            "living_alone": r.living_alone,
            "mobility": r.mobility,
            "power_devices": r.power_devices,
            "power_devices_detail": r.power_devices_detail,
            "attending_doctor": r.attending_doctor,
            "nurse": r.nurse,
            "reference": r.reference,
            "registered_by": r.registered_by_kind,
            "requester_name": r.requester_name,
            "requester_phone": r.requester_phone,
            "validated_at": r.validated_at.isoformat() if r.validated_at else None,
            "share_with_professionals": r.share_with_professionals,
            "created_at": r.created_at.isoformat(),
            "confirmed_at": r.confirmed_at.isoformat(),
            "removed_at": r.removed_at.isoformat() if r.removed_at else None,
            "calls": [
                {
                    "campaign": a.campaign_id,
                    "outcome": a.outcome,
                    "attempts": a.attempts,
                    "escalated": a.escalated,
                    "note": a.last_note,
                }
                for a in r.assignments.all()
            ],
        }
        for r in Registration.objects.filter(person=person)
    ]


def erase_registrations(person: Person) -> int:
    now = timezone.now()
    Registration.objects.filter(person=person, removed_at__isnull=True).update(
        removed_at=now, removal_reason=RemovalReason.ERASED
    )
    return _empty(Registration.objects.filter(person=person))


def merge_registrations(kept: Person, gone: Person) -> int:
    """A merge of two persons: the duplicate's registrations are the kept person's; when both
    are registered, the duplicate's active registration is closed (one active per person)."""
    if Registration.objects.active().filter(person=kept).exists():
        Registration.objects.active().filter(person=gone).update(
            removed_at=timezone.now(), removal_reason=RemovalReason.MERGED
        )
    return Registration.objects.filter(person=gone).update(person=kept)


def register() -> None:
    from maillage.care.people import flags, summary
    from maillage.care.register.services.registrations import shared_flags
    from maillage.care.register.services.summary import register_figures

    summary.register("register", register_figures)
    flags.register(shared_flags)
    identity.register_merge(merge_registrations)
    permissions.register(Registration, registration_rule)
    permissions.register(CallAssignment, assignment_rule)
    permissions.register_person_rule(person_rule)
    retention.register(anonymise_registrations)
    retention.register_access("register", person_registrations)
    retention.register_erase(erase_registrations)
