"""The ways in and out of personal data: every function checks (when a user acts) and audits.

Care apps create, find, read and change people through these functions, not through
``Person.objects`` in their views, so that the audit log has every read and write. Background
work (reminders, retention) passes ``user=None`` and its own purpose.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from maillage.care.people import audit
from maillage.care.people.models import (
    Consent,
    ConsentChannel,
    ConsentPurpose,
    Person,
    e164_phone,
    normalise_name,
)
from maillage.care.people.permissions import can_access

IDENTITY_FIELDS = (
    "birth_name", "first_names", "used_first_name", "used_name", "birth_date", "sex",
    "birth_place_insee", "identity_status", "phone", "email", "commune", "commune_id",
    "has_attending_doctor", "attending_doctor", "attending_doctor_id", "attending_doctor_label",
    "notes", "synthetic",
)  # fmt: skip


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return " ; ".join(
            f"{Person._meta.get_field(k).verbose_name if k != '__all__' else ''} : {' '.join(v)}"
            if k != "__all__"
            else " ".join(v)
            for k, v in exc.message_dict.items()
        )
    return " ".join(exc.messages)


def normalise_traits(traits: dict[str, Any]) -> dict[str, Any]:
    """Trim the identity traits, names upper-cased as the RNIV writes them, first names
    separated by single spaces, phone in E.164 (ValueError in French)."""
    out = dict(traits)
    for name in ("birth_name", "used_name"):
        if out.get(name):
            out[name] = " ".join(str(out[name]).split()).upper()
    for name in ("first_names", "used_first_name"):
        if out.get(name):
            out[name] = " ".join(str(out[name]).replace(",", " ").split())
    if out.get("phone"):
        out["phone"] = e164_phone(str(out["phone"]))
    if out.get("email"):
        out["email"] = str(out["email"]).strip().lower()
    return out


def create_person(user: Any, purpose: str, **traits: Any) -> Person:
    """A new Person (identity provisional unless said otherwise), validated then saved and
    audited; ValueError with French sentences on bad traits (nothing written). It never looks
    for the same person already known: for traits a person gives (a booking, a register's
    entry), use :func:`maillage.care.people.identity.get_or_create_person`."""
    person = _validated(traits)
    with transaction.atomic():
        person.save()
        audit.record(user, "create", person, purpose)
    return person


def find_or_create_person(user: Any, purpose: str, **traits: Any) -> Person:
    """The Person these traits describe: validated as by :func:`create_person`, then the same
    person already known reused, or a new one saved (a near match flagged for review), by
    :func:`maillage.care.people.identity.get_or_create_person`."""
    from maillage.care.people.identity import get_or_create_person

    person = _validated(traits)
    with transaction.atomic():
        return get_or_create_person(person, user, purpose)


def _validated(traits: dict[str, Any]) -> Person:
    unknown = set(traits) - set(IDENTITY_FIELDS)
    if unknown:
        raise TypeError(f"unknown person fields: {sorted(unknown)}")
    person = Person(**normalise_traits(traits))
    try:
        person.full_clean()
    except ValidationError as exc:
        raise ValueError(_messages(exc)) from None
    return person


def update_person(user: Any, person: Person, purpose: str, **changes: Any) -> Person:
    """Change some traits (checked, validated, audited with the names of the fields only)."""
    if user is not None and not can_access(user, person, "update"):
        raise PermissionDenied("accès refusé à cette personne")
    unknown = set(changes) - set(IDENTITY_FIELDS)
    if unknown:
        raise TypeError(f"unknown person fields: {sorted(unknown)}")
    if person.anonymised_at is not None:
        raise ValueError("cette personne a été anonymisée : ses données ne peuvent plus changer")
    changes = normalise_traits(changes)
    changed = sorted(k for k, v in changes.items() if getattr(person, k) != v)
    for key, value in changes.items():
        setattr(person, key, value)
    try:
        person.full_clean()
    except ValidationError as exc:
        raise ValueError(_messages(exc)) from None
    if changed:
        with transaction.atomic():
            person.save()
            audit.record(user, "update", person, purpose, fields=changed)
    return person


def get_person(user: Any, pk: int, purpose: str) -> Person:
    """One Person, read for ``purpose`` by ``user`` (checked and audited); Person.DoesNotExist
    or PermissionDenied otherwise."""
    person = Person.objects.get(pk=pk)
    if user is not None and not can_access(user, person, "view"):
        raise PermissionDenied("accès refusé à cette personne")
    audit.record(user, "view", person, purpose)
    return person


def find_persons(
    user: Any,
    purpose: str,
    *,
    birth_name: str = "",
    birth_date: dt.date | None = None,
    phone: str = "",
    limit: int = 20,
) -> list[Person]:
    """People matching what a caller says (birth name prefix, compared normalised: case,
    accents, hyphens, apostrophes and spaces do not count; birth date; phone), among those
    ``user`` may see; one audit event lists the ids shown."""
    people = Person.objects.filter(anonymised_at__isnull=True)
    if not (birth_name or birth_date or phone):
        return []
    if birth_name:  # the normalised key: "Le Gall", "le-gall" and "LÉGALL" find "LE GALL"
        key = normalise_name(birth_name)
        if not key:
            return []
        people = people.filter(match_key__startswith=key)
    if birth_date:
        people = people.filter(birth_date=birth_date)
    if phone:
        try:
            people = people.filter(phone=e164_phone(phone))
        except ValueError:
            return []
    found = [
        p
        for p in people.order_by("birth_name", "first_names", "pk")[: limit * 5]
        if user is None or can_access(user, p, "view")
    ][:limit]
    audit.record_list(user, found, purpose)
    return found


def record_consent(
    person: Person,
    purpose: str,
    given: bool,
    channel: str,
    user: Any = None,
    at: dt.datetime | None = None,
) -> Consent:
    """One consent given or refused (audited)."""
    if purpose not in ConsentPurpose.values:
        raise ValueError(f"finalité de consentement inconnue : {purpose}")
    if channel not in ConsentChannel.values:
        raise ValueError(f"canal de consentement inconnu : {channel}")
    with transaction.atomic():
        consent = Consent.objects.create(
            person=person,
            purpose=purpose,
            given=given,
            channel=channel,
            recorded_by=user if getattr(user, "is_authenticated", False) else None,
            at=at or timezone.now(),
        )
        audit.record(user, "create", consent, "consent", person=person.pk, consent=purpose)
    return consent


def withdraw_consent(person: Person, purpose: str, user: Any = None) -> int:
    """Withdraw the person's active consents for ``purpose``; returns how many."""
    with transaction.atomic():
        live = person.consents.filter(purpose=purpose, given=True, withdrawn_at__isnull=True)
        ids = list(live.values_list("pk", flat=True))
        live.update(withdrawn_at=timezone.now())
        if ids:
            audit.record(user, "update", person, "consent", consent=purpose, withdrawn=ids)
    return len(ids)


def has_consent(person: Person, purpose: str) -> bool:
    """Whether the latest consent of ``person`` for ``purpose`` is given and not withdrawn."""
    latest = person.consents.filter(purpose=purpose).order_by("-at", "-pk").first()
    return bool(latest and latest.active)
