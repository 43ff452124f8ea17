"""The one permission check of maillage: ``can(user, action, obj=None)``.

Views, API handlers, FHIR endpoints and templates all ask this function; nothing else decides who
may do what. Actions: ``view_pro`` (see pro-only fields), ``propose`` (propose a change to an
entry), ``review`` (publish or reject proposals, run merge imports), ``edit`` (edit directly),
``admin``.
"""

from __future__ import annotations

from typing import Any

from maillage.accounts.models import AuditEvent, Role

ACTIONS = ("view_pro", "propose", "review", "edit", "admin")


def role_of(user: Any) -> str | None:
    """The user's role, or None for anonymous users and accounts without a profile."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if user.is_superuser:
        return Role.ADMINISTRATOR
    profile = getattr(user, "profile", None)
    return profile.role if profile is not None else None


def _own_entry(user: Any, obj: Any) -> bool:
    profile = getattr(user, "profile", None)
    if profile is None or obj is None:
        return False
    from maillage.directory.models import (
        HealthcareService,
        Location,
        Organization,
        Practitioner,
        PractitionerRole,
        Scheme,
    )

    if isinstance(obj, Practitioner):
        return profile.practitioner_id == obj.pk
    if isinstance(obj, PractitionerRole):
        return profile.practitioner_id == obj.practitioner_id
    if isinstance(obj, Organization):
        return profile.organizations.filter(pk=obj.pk).exists()
    if isinstance(obj, (HealthcareService, Scheme)):
        # what an organisation runs (services) or carries (schemes) belongs to its owners
        return bool(obj.organization_id) and (
            profile.organizations.filter(pk=obj.organization_id).exists()
        )
    if isinstance(obj, Location):
        if obj.organization_id and profile.organizations.filter(pk=obj.organization_id).exists():
            return True
        return obj.roles.filter(practitioner_id=profile.practitioner_id).exists()
    return False


def _communes_of(obj: Any) -> set[str]:
    """The communes an entry is in (used to scope a coordinator to their territories)."""
    from maillage.directory.models import (
        HealthcareService,
        Location,
        Organization,
        Practitioner,
        PractitionerRole,
        Scheme,
    )

    if isinstance(obj, Practitioner):
        return set(obj.roles.values_list("location__commune_id", flat=True)) - {None}
    if isinstance(obj, PractitionerRole):
        return {obj.location.commune_id} if obj.location_id else set()
    if isinstance(obj, (Organization, Location)):
        return {obj.commune_id} if obj.commune_id else set()
    if isinstance(obj, HealthcareService):
        return _communes_of(obj.organization)
    if isinstance(obj, Scheme):
        if obj.perimeter_id:
            return set(obj.perimeter.communes.values_list("code", flat=True))
        if obj.commune_id:
            return {obj.commune_id}
        # no perimeter nor commune: where its place or the structure carrying it is
        if obj.location_id and obj.location.commune_id:
            return {obj.location.commune_id}
        return _communes_of(obj.organization) if obj.organization_id else set()
    return set()


def _in_scope(user: Any, obj: Any) -> bool:
    """A coordinator with territories only reviews and edits entries inside them."""
    profile = getattr(user, "profile", None)
    if obj is None or profile is None or not profile.territories.exists():
        return True
    communes = _communes_of(obj)
    if not communes:
        return True
    return profile.territories.filter(communes__code__in=communes).exists()


def can(user: Any, action: str, obj: Any = None) -> bool:
    """May ``user`` do ``action`` (on ``obj``)?"""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    role = role_of(user)
    if role is None:
        return False
    if role == Role.ADMINISTRATOR:
        return True
    if action == "view_pro":
        return True  # every professional and coordinator sees pro-only fields
    if role == Role.COORDINATOR:
        return action in ("propose", "review", "edit") and _in_scope(user, obj)
    if role == Role.PROFESSIONAL:
        return action == "propose" and (obj is None or _own_entry(user, obj))
    return False


def audit(user: Any, action: str, target: Any = None, **details: Any) -> None:
    """Record an event in the audit log (never the content of personal data)."""
    AuditEvent.objects.create(
        user=user if getattr(user, "is_authenticated", False) else None,
        action=action,
        target_type=type(target).__name__.lower() if target is not None else "",
        target_id=str(getattr(target, "pk", "") or ""),
        details=details,
    )
