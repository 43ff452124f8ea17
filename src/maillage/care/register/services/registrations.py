"""Every way a registration is made, confirmed and removed: the only code that writes
:class:`~maillage.care.register.models.Registration`. Each function checks the user's right
(:func:`maillage.care.people.permissions.can_access`), works in one transaction and audits."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.utils import timezone

from maillage.accounts.models import Role
from maillage.care.people import audit
from maillage.care.people.models import ConsentChannel, ConsentPurpose, PossibleDuplicate
from maillage.care.people.permissions import can_access
from maillage.care.people.services import find_or_create_person, record_consent
from maillage.care.register.models import (
    Mobility,
    RegisteredBy,
    Registration,
    RemovalReason,
    new_reference,
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
        if Registration.objects.active().filter(person=person).exists():
            raise RegisterError("Cette personne est déjà inscrite au registre.")
        record_consent(person, ConsentPurpose.REGISTER, True, channel, user=user)
        now = timezone.now()
        registration = Registration.objects.create(
            person=person, commune_id=commune_id, registered_by_kind=registered_by,
            synthetic=synthetic, reference=new_reference(), validated_at=now, confirmed_at=now,
            created_at=now,
            created_by=user if getattr(user, "is_authenticated", False) else None,
            **details,
        )  # fmt: skip
        audit.record(user, "create", registration, PURPOSE, by=registered_by)
    return registration


def communes_with_register() -> set[str]:
    """The communes that keep their register here: those of the territories of at least one
    active commune agent (a request elsewhere would wait for nobody)."""
    from maillage.territory.models import Commune

    return set(
        Commune.objects.filter(
            territories__coordinators__role=Role.CCAS_AGENT,
            territories__coordinators__user__is_active=True,
        ).values_list("code", flat=True)
    )


REQUESTERS = (RegisteredBy.SELF, RegisteredBy.RELATIVE, RegisteredBy.PROFESSIONAL)


def request_registration(
    *,
    traits: dict[str, Any],
    commune_id: str,
    details: dict[str, Any],
    registered_by: str,
    consent: bool,
    requester_name: str = "",
    requester_phone: str = "",
    synthetic: bool = False,
) -> Registration:
    """A request made on the public page, with no account, by the person, a relative or a
    professional: the person (through care.people: an exact match is reused without changing
    its contact, a near match recorded as a possible duplicate), their consent (channel web)
    and a registration "to be validated" by the commune's agents; all or nothing.
    RegisterError in French: unknown commune or one that keeps no register here, no consent,
    a relative without name or phone, bad traits."""
    from maillage.territory.models import Commune

    if not Commune.objects.filter(code=commune_id).exists():
        raise RegisterError(f"Commune inconnue : « {str(commune_id)[:20]} ».")
    if commune_id not in communes_with_register():
        raise RegisterError(
            "Cette commune ne tient pas encore son registre sur ce site : adressez-vous à sa "
            "mairie ou à son CCAS."
        )
    if registered_by not in REQUESTERS:
        raise RegisterError("Indiquez qui remplit la demande.")
    if registered_by != RegisteredBy.SELF and not (requester_name and requester_phone):
        raise RegisterError(
            "Indiquez votre nom et votre téléphone : la mairie pourra vous joindre."
        )
    if details.get("mobility", Mobility.AUTONOMOUS) not in Mobility.values:
        raise RegisterError("Mobilité inconnue.")
    unknown = set(details) - set(DETAILS)
    if unknown:
        raise TypeError(f"unknown registration fields: {sorted(unknown)}")
    if not consent:
        raise RegisterError(
            "Sans l'accord de la personne, elle ne peut pas être inscrite au registre."
        )
    with transaction.atomic():
        try:
            person = find_or_create_person(
                None, PURPOSE, **traits, commune_id=commune_id, synthetic=synthetic
            )
        except ValueError as exc:
            raise RegisterError(str(exc)) from None
        record_consent(person, ConsentPurpose.REGISTER, True, ConsentChannel.WEB)
        registration = Registration.objects.create(
            person=person, commune_id=commune_id, registered_by_kind=registered_by,
            reference=new_reference(), requester_name=requester_name,
            requester_phone=requester_phone, synthetic=synthetic, **details,
        )  # fmt: skip
        audit.record(None, "create", registration, PURPOSE, by=registered_by, channel="web")
    return registration


def visible(user: Any, communes: set[str] | None) -> Any:
    """The active registrations of ``communes`` (None: every commune, for an administrator)."""
    rows = Registration.objects.active().select_related("person", "commune")
    return rows if communes is None else rows.filter(commune_id__in=communes)


def pending(user: Any, communes: set[str] | None) -> Any:
    """The requests of ``communes`` waiting for an agent's validation, oldest first."""
    rows = Registration.objects.pending().select_related("person", "commune")
    rows = rows if communes is None else rows.filter(commune_id__in=communes)
    return rows.order_by("created_at", "pk")


def duplicates(user: Any, registration: Registration) -> dict[str, Any]:
    """What may make a request a duplicate, among what ``user`` may see: ``registered``, the
    person's active registration (an exact match of identity traits); ``pairs``, the open
    possible duplicates of the person (a near match) as (pair, other person, reasons);
    ``others``, other requests of the same person waiting. The caller audits the reads."""
    person = registration.person
    registered = Registration.objects.active().filter(person=person).first()
    if registered is not None and not can_access(user, registered, "view"):
        registered = None
    pairs = []
    for pair in PossibleDuplicate.objects.filter(
        models.Q(first=person) | models.Q(second=person),
        status=PossibleDuplicate.Status.OPEN,
    ).select_related("first", "second"):
        other = pair.second if pair.first_id == person.pk else pair.first
        if other is not None and can_access(user, other, "view"):
            pairs.append((pair, other, pair.reason_labels))
    others = list(Registration.objects.pending().filter(person=person).exclude(pk=registration.pk))
    return {"registered": registered, "pairs": pairs, "others": others}


def _pending_locked(user: Any, registration: Registration) -> Registration:
    _check(user, registration, "update")
    registration = Registration.objects.select_for_update().get(pk=registration.pk)
    if not registration.pending:
        raise RegisterError("Cette demande a déjà été traitée.")
    return registration


def validate(user: Any, registration: Registration, now: dt.datetime | None = None) -> Registration:
    """An agent validates a request: the person is on the register, confirmed today. Refused
    while the person is already registered (join the request to it instead) or while a near
    duplicate the agent may see is not reviewed (merge or mark different first)."""
    now = now or timezone.now()
    with transaction.atomic():
        registration = _pending_locked(user, registration)
        found = duplicates(user, registration)
        if Registration.objects.active().filter(person=registration.person).exists():
            raise RegisterError(
                "Cette personne est déjà inscrite au registre : joignez la demande à son "
                "inscription, ou refusez-la."
            )
        if found["pairs"]:
            raise RegisterError(
                "Une personne proche est déjà connue : comparez les deux fiches (fusion ou "
                "personnes différentes) avant de valider."
            )
        registration.validated_at = now
        registration.confirmed_at = now
        registration.save(update_fields=["validated_at", "confirmed_at"])
        audit.record(user, "update", registration, PURPOSE, validated=True)
    return registration


def join_existing(user: Any, registration: Registration) -> Registration:
    """A request for a person already registered: what it says (the non-empty details) goes
    onto the existing registration, which is confirmed; the request is closed as merged.
    Returns the existing registration."""
    now = timezone.now()
    with transaction.atomic():
        request = _pending_locked(user, registration)
        existing = (
            Registration.objects.active().select_for_update().filter(person=request.person).first()
        )
        if existing is None:
            raise RegisterError("Cette personne n'est pas encore inscrite : validez la demande.")
        _check(user, existing, "update")
        changed = ["confirmed_at"]
        for name in DETAILS:
            value = getattr(request, name)
            if value not in ("", None) and value != getattr(existing, name):
                setattr(existing, name, value)
                changed.append(name)
        existing.confirmed_at = now
        existing.save(update_fields=changed)
        request.removed_at = now
        request.removal_reason = RemovalReason.MERGED
        request.save(update_fields=["removed_at", "removal_reason"])
        audit.record(user, "update", existing, PURPOSE, joined=request.pk,
                     fields=sorted(changed))  # fmt: skip
        audit.record(user, "delete", request, PURPOSE, reason=RemovalReason.MERGED)
    return existing


def refuse(user: Any, registration: Registration) -> Registration:
    """An agent refuses a request (not of the commune, not vulnerable, a joke): closed, its
    data anonymised by the retention run."""
    with transaction.atomic():
        registration = _pending_locked(user, registration)
        registration.removed_at = timezone.now()
        registration.removal_reason = RemovalReason.REFUSED
        registration.save(update_fields=["removed_at", "removal_reason"])
        audit.record(user, "delete", registration, PURPOSE, reason=RemovalReason.REFUSED)
    return registration


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
        if registration.validated_at is None:
            raise RegisterError("Cette demande n'est pas encore validée.")
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


#: Days a request of the public page may wait for the commune's answer; then it is closed,
#: and the retention run anonymises it like any removed registration.
PENDING_DAYS = 90


def remove_unconfirmed(now: dt.datetime | None = None) -> int:
    """Registrations not confirmed for 12 months and a month of grace, and public requests
    no agent answered in :data:`PENDING_DAYS`: removed (audited)."""
    now = now or timezone.now()
    cutoff = confirmation_cutoff(now, months=12 + GRACE_MONTHS)
    n = 0
    with transaction.atomic():
        stale = Registration.objects.active().select_for_update().filter(confirmed_at__lt=cutoff)
        unanswered = (
            Registration.objects.pending()
            .select_for_update()
            .filter(created_at__lt=now - dt.timedelta(days=PENDING_DAYS))
        )
        for registration in [*stale, *unanswered]:
            registration.removed_at = now
            registration.removal_reason = RemovalReason.NOT_CONFIRMED
            registration.save(update_fields=["removed_at", "removal_reason"])
            audit.record(None, "delete", registration, "register_confirmation", reason="stale")
            n += 1
    return n


CARERS = (Role.PROFESSIONAL, Role.NURSE)  # the CPTS's carers


def _is_carer_of(user: Any, role: str, person: Any) -> bool:
    """A patient of ``user``'s: their declared médecin traitant is the user's practitioner, or
    a care app lets the user see them (a booking addressed to this GP, a visit at this nurse's
    room: :func:`maillage.care.people.permissions.can_access`; the register itself grants no
    professional any person)."""
    practitioner = getattr(getattr(user, "profile", None), "practitioner_id", None)
    if role == Role.PROFESSIONAL and practitioner is not None:
        if person.attending_doctor_id == practitioner:
            return True
    return can_access(user, person, "view")


def shared_flags(user: Any, persons: list[Any]) -> dict[int, list[str]]:
    """Which of ``persons`` a carer of theirs (a professional or a nurse of the CPTS) may know
    to be registered: only those who agreed (``share_with_professionals``), only the fact and
    the commune, never a detail; a request not yet validated or a removed registration says
    nothing. The registrations revealed are audited as one list (purpose register_shared)."""
    from maillage.accounts.permissions import role_of

    role = role_of(user)
    if role not in CARERS or not persons:
        return {}
    rows = (
        Registration.objects.active()
        .filter(person__in=[p.pk for p in persons], share_with_professionals=True)
        .select_related("commune")
    )
    by_person = {r.person_id: r for r in rows}
    if not by_person:
        return {}
    shown, flags = [], {}
    for person in persons:
        registration = by_person.get(person.pk)
        if registration is None or not _is_carer_of(user, role, person):
            continue
        word = {"F": "Inscrite", "M": "Inscrit"}.get(person.sex, "Inscrit(e)")
        flags[person.pk] = [f"{word} au registre de {registration.commune.name}"]
        shown.append(registration)
    audit.record_list(user, shown, "register_shared", fields=["registered"])
    return flags


def shared_with(user: Any, person: Any) -> bool:
    """Whether ``user``, a carer of the person (:func:`shared_flags`), may know that the person
    is on a register: only when the person agreed; never any detail. Audited when yes."""
    return bool(shared_flags(user, [person]))
