"""Every way a registration is made, confirmed and removed: the only code that writes
:class:`~maillage.care.register.models.Registration`. Each function checks the user's right
(:func:`maillage.care.people.permissions.can_access`), works in one transaction and audits."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from maillage.care.people import audit
from maillage.care.people.models import ConsentChannel, ConsentPurpose
from maillage.care.people.permissions import can_access
from maillage.care.people.services import find_or_create_person, record_consent
from maillage.care.register.models import (
    Mobility,
    RegisteredBy,
    Registration,
    RemovalReason,
)
from maillage.care.register.services.summary import GRACE_MONTHS, confirmation_cutoff

PURPOSE = "register"
DETAILS = (
    "address", "emergency_contacts", "vulnerability_notes", "living_alone", "mobility",
    "power_devices", "power_devices_detail", "attending_doctor", "nurse",
    "share_with_professionals",
)  # fmt: skip


class RegisterError(ValueError):
    """A change the register refuses; the message is a French sentence."""


def _check(user: Any, obj: Any, action: str) -> None:
    if user is not None and not can_access(user, obj, action):
        raise PermissionDenied("accès refusé à cette inscription")


def register_person(
    user: Any,
    *,
    traits: dict[str, Any],
    commune_id: str,
    details: dict[str, Any],
    registered_by: str,
    consent: bool,
    channel: str = ConsentChannel.PROFESSIONAL,
    synthetic: bool = False,
) -> Registration:
    """Register a person in their commune's register: the person (through care.people), their
    consent for the register, the registration; all or nothing. RegisterError in French
    without consent, with an unknown commune or bad traits, or when already registered."""
    from maillage.territory.models import Commune

    if not Commune.objects.filter(code=commune_id).exists():
        raise RegisterError(f"Commune inconnue : « {str(commune_id)[:20]} ».")
    if registered_by not in RegisteredBy.values:
        raise RegisterError("Indiquez qui demande l'inscription.")
    if details.get("mobility", Mobility.AUTONOMOUS) not in Mobility.values:
        raise RegisterError("Mobilité inconnue.")
    unknown = set(details) - set(DETAILS)
    if unknown:
        raise TypeError(f"unknown registration fields: {sorted(unknown)}")
    _check(user, Registration(commune_id=commune_id), "create")
    if not consent:
        raise RegisterError(
            "Sans l'accord de la personne, elle ne peut pas être inscrite au registre."
        )
    with transaction.atomic():
        try:
            person = find_or_create_person(
                user, PURPOSE, **traits, commune_id=commune_id, synthetic=synthetic
            )
        except ValueError as exc:
            raise RegisterError(str(exc)) from None
        if Registration.objects.filter(person=person, removed_at__isnull=True).exists():
            raise RegisterError("Cette personne est déjà inscrite au registre.")
        record_consent(person, ConsentPurpose.REGISTER, True, channel, user=user)
        registration = Registration.objects.create(
            person=person, commune_id=commune_id, registered_by_kind=registered_by,
            synthetic=synthetic,
            created_by=user if getattr(user, "is_authenticated", False) else None,
            **details,
        )  # fmt: skip
        audit.record(user, "create", registration, PURPOSE, by=registered_by)
    return registration


def visible(user: Any, communes: set[str] | None) -> Any:
    """The active registrations of ``communes`` (None: every commune, for an administrator)."""
    rows = Registration.objects.filter(removed_at__isnull=True).select_related("person", "commune")
    return rows if communes is None else rows.filter(commune_id__in=communes)


def get(user: Any, pk: int, action: str = "view") -> Registration:
    """One registration for ``user`` (checked; Registration.DoesNotExist or PermissionDenied)."""
    registration = Registration.objects.select_related("person", "commune").get(pk=pk)
    _check(user, registration, action)
    return registration


def confirm(user: Any, registration: Registration, now: dt.datetime | None = None) -> Registration:
    """The person confirms they stay registered (the yearly re-confirmation)."""
    _check(user, registration, "update")
    with transaction.atomic():
        registration = Registration.objects.select_for_update().get(pk=registration.pk)
        if registration.removed_at is not None:
            raise RegisterError(
                "Cette inscription a été retirée : inscrivez à nouveau la personne."
            )
        registration.confirmed_at = now or timezone.now()
        registration.save(update_fields=["confirmed_at"])
        audit.record(user, "update", registration, PURPOSE, confirmed=True)
    return registration


def remove(
    user: Any,
    registration: Registration,
    reason: str = RemovalReason.REQUEST,
    now: dt.datetime | None = None,
) -> Registration:
    """Take a person off the register (their data is anonymised by the retention run)."""
    if reason not in RemovalReason.values:
        raise RegisterError("Motif de retrait inconnu.")
    _check(user, registration, "delete")
    with transaction.atomic():
        registration = Registration.objects.select_for_update().get(pk=registration.pk)
        if registration.removed_at is not None:
            raise RegisterError("Cette inscription est déjà retirée.")
        registration.removed_at = now or timezone.now()
        registration.removal_reason = reason
        registration.save(update_fields=["removed_at", "removal_reason"])
        audit.record(user, "delete", registration, PURPOSE, reason=reason)
    return registration


def remove_unconfirmed(now: dt.datetime | None = None) -> int:
    """Registrations not confirmed for 12 months and a month of grace: removed (audited)."""
    now = now or timezone.now()
    cutoff = confirmation_cutoff(now, months=12 + GRACE_MONTHS)
    n = 0
    with transaction.atomic():
        stale = Registration.objects.select_for_update().filter(
            removed_at__isnull=True, confirmed_at__lt=cutoff
        )
        for registration in stale:
            registration.removed_at = now
            registration.removal_reason = RemovalReason.NOT_CONFIRMED
            registration.save(update_fields=["removed_at", "removal_reason"])
            audit.record(None, "delete", registration, "register_confirmation", reason="stale")
            n += 1
    return n


def shared_with(user: Any, person: Any) -> bool:
    """Whether ``user``, a professional whose practitioner is the person's declared médecin
    traitant, may know that the person is on a register: only when the person agreed
    (``share_with_professionals``); never any detail. Audited when it says yes."""
    from maillage.accounts.models import Role
    from maillage.accounts.permissions import role_of

    practitioner = getattr(getattr(user, "profile", None), "practitioner_id", None)
    if role_of(user) != Role.PROFESSIONAL or practitioner is None:
        return False
    if person.attending_doctor_id != practitioner:
        return False
    registration = Registration.objects.filter(
        person=person, removed_at__isnull=True, share_with_professionals=True
    ).first()
    if registration is None:
        return False
    audit.record(user, "view", registration, "register_shared", fields=["registered"])
    return True
