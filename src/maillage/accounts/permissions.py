"""The one permission check of maillage: ``can(user, action, obj=None)``.

Views, API handlers, FHIR endpoints and templates all ask this function; nothing else decides who
may do what. Actions: ``view_pro`` (see pro-only fields), ``propose`` (propose a change to an
entry), ``review`` (publish or reject proposals, run merge imports), ``edit`` (edit directly),
``admin``.

It imports no domain app: an object takes part in the checks by declaring two methods,
``scope_communes() -> set[str]`` (the INSEE codes of the communes it is in, for coordinators'
territories) and ``is_owned_by(profile) -> bool`` (for professionals' own entries). The
directory's models declare them; the care apps do the same without editing this module.
"""

from __future__ import annotations

from typing import Any

from maillage.accounts.models import AuditEvent, Role

ACTIONS = ("view_pro", "propose", "review", "edit", "admin")


#: Where a role starts after logging in, and what the navigation calls that place: the care
#: roles work in the care pages, not in the directory's professional space.
ROLE_HOMES: dict[str, tuple[str, str]] = {
    Role.OPERATOR: ("booking:operator", "Rendez-vous"),
    Role.NURSE: ("care_staff:home", "Ma journée"),
    Role.HOSPITAL: ("letters:list", "Sorties d'hospitalisation"),
    Role.CCAS_AGENT: ("register:list", "Registre des personnes vulnérables"),
}
DEFAULT_HOME = ("pro:home", "Espace pro")


def home_of(user: Any) -> tuple[str, str]:
    """The URL and the label of the user's starting page."""
    from django.urls import reverse

    name, label = ROLE_HOMES.get(role_of(user) or "", DEFAULT_HOME)
    return reverse(name), label


def role_of(user: Any) -> str | None:
    """The user's role, or None for anonymous users and accounts without a profile."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if user.is_superuser:
        return Role.ADMINISTRATOR
    profile = getattr(user, "profile", None)
    return profile.role if profile is not None else None


def _own_entry(user: Any, obj: Any) -> bool:
    """Whether the user's profile owns ``obj``: asked to the object (``is_owned_by``), so that
    every app declares its own notion of ownership; objects without it are owned by nobody."""
    profile = getattr(user, "profile", None)
    is_owned_by = getattr(obj, "is_owned_by", None)
    if profile is None or is_owned_by is None:
        return False
    return bool(is_owned_by(profile))


def _communes_of(obj: Any) -> set[str]:
    """The communes an entry is in, as the object declares them (``scope_communes``); an object
    that declares none is not territorial and a coordinator's scope does not restrict it."""
    scope_communes = getattr(obj, "scope_communes", None)
    return set(scope_communes()) if scope_communes is not None else set()


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
