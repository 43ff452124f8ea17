"""Recording discharges, acknowledging their letters, the referent's overdue list and the
indicators of a set of hospitals. Every function that touches a person checks the user's
scope (:func:`~maillage.care.people.permissions.can_access`) and audits."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone

from maillage.analytics import letters as analytics
from maillage.care.letters.models import Discharge
from maillage.care.letters.personal_data import PURPOSE, hospitals_of, practitioner_of
from maillage.care.people import audit, identity
from maillage.care.people.models import Person
from maillage.care.people.permissions import can_access
from maillage.care.people.services import normalise_traits

#: A letter not sent this many days after the discharge is overdue (the referent's list).
OVERDUE_DAYS = 2
#: How long the acknowledgement link of an MSSanté message stays valid.
LINK_MAX_AGE = dt.timedelta(days=90)
_SALT = "maillage.letters.acknowledge"

DISCHARGE_FIELDS = (
    "hospital", "service", "stay_number", "admission_at", "discharge_at", "destination", "gp",
    "letter_sent_at", "channel", "note", "residence_commune",
)  # fmt: skip


def new_person(traits: dict[str, Any]) -> Person:
    """An unsaved, validated Person from identity traits (ValueError in French)."""
    person = Person(**normalise_traits(traits))
    try:
        person.full_clean(exclude=["match_key"])
    except ValidationError as exc:
        raise ValueError(
            " ; ".join(f"{k} : {' '.join(v)}" for k, v in exc.message_dict.items())
        ) from None
    return person


def save_discharge(user: Any, person: Person, values: dict[str, Any], synthetic: bool) -> Discharge:
    """Inside the caller's transaction: the person found or created, the discharge checked
    against the user's scope, validated, saved and audited."""
    discharge = Discharge(
        **{k: v for k, v in values.items() if k in DISCHARGE_FIELDS},
        created_by=user if getattr(user, "is_authenticated", False) else None,
        synthetic=synthetic,
    )
    discharge.full_clean(exclude=["person"])
    if user is not None and not can_access(user, discharge, "create"):
        raise PermissionDenied("Cet établissement n'est pas le vôtre.")
    discharge.person = identity.get_or_create_person(person, user, PURPOSE)
    discharge.save()
    audit.record(user, "create", discharge, PURPOSE, hospital=discharge.hospital_id)
    _letter_notice(discharge)
    return discharge


def _letter_notice(discharge: Discharge) -> None:
    """A letter sent by MSSanté: its notice to the GP queued (sent in the background)."""
    from maillage.care.letters.services import notices

    notices.queue(discharge)


def record_discharge(
    user: Any, person: Person, values: dict[str, Any], synthetic: bool = False
) -> Discharge:
    """One discharge typed in the form (``values``: the discharge's fields; ``person``: an
    unsaved Person from :func:`new_person`). ValidationError in French, PermissionDenied
    outside the user's hospitals; nothing written then."""
    with transaction.atomic():
        return save_discharge(user, person, values, synthetic)


def changes(discharge: Discharge, wanted: dict[str, Any]) -> list[str]:
    """The names of the fields whose value ``wanted`` changes on ``discharge``."""
    changed = []
    for name, value in wanted.items():
        current = discharge.gp_id if name == "gp" else getattr(discharge, name)
        new = value.pk if name == "gp" and value is not None else value
        if current != new:
            changed.append(name)
    return changed


def update_discharge(user: Any, pk: int, wanted: dict[str, Any]) -> tuple[Discharge, list[str]]:
    """Inside the caller's transaction: the discharge ``pk`` locked, checked against the
    user's scope, given the ``wanted`` values that differ, validated, saved and audited;
    returns it and the names of the fields changed (none: nothing written, nothing audited
    but the caller's read)."""
    discharge = Discharge.objects.select_for_update().get(pk=pk)
    if user is not None and not can_access(user, discharge, "update"):
        raise PermissionDenied("Cet établissement n'est pas le vôtre.")
    changed = changes(discharge, {k: v for k, v in wanted.items() if k in DISCHARGE_FIELDS})
    if not changed:
        return discharge, []
    for name in changed:
        setattr(discharge, name, wanted[name])
    discharge.full_clean(exclude=["person"])
    discharge.save(update_fields=changed)
    audit.record(user, "update", discharge, PURPOSE, fields=sorted(changed))
    if {"letter_sent_at", "channel", "gp"} & set(changed):
        _letter_notice(discharge)
    return discharge, changed


def _scoped(user: Any) -> models.QuerySet[Discharge]:
    """The discharges a user may list: a referent's hospitals', a GP's own patients'."""
    rows = Discharge.objects.select_related("hospital", "person", "gp", "notice")
    if user.is_superuser or getattr(getattr(user, "profile", None), "role", "") == "administrator":
        return rows
    practitioner = practitioner_of(user)
    if practitioner is not None:
        return rows.filter(gp_id=practitioner)
    return rows.filter(hospital_id__in=hospitals_of(user))


def listed(user: Any, limit: int = 200, **filters: Any) -> list[Discharge]:
    """The discharges of the user's scope (newest first), audited as one list."""
    shown = list(_scoped(user).filter(**filters).order_by("-discharge_at", "pk")[:limit])
    audit.record_list(user, shown, PURPOSE)
    return shown


def overdue(user: Any, now: dt.datetime | None = None, days: int = OVERDUE_DAYS) -> list[Discharge]:
    """The referent's discharges whose letter is not sent ``days`` days after (oldest first),
    audited; the deceased are not waited for."""
    now = now or timezone.now()
    shown = list(
        _scoped(user)
        .filter(letter_sent_at__isnull=True, discharge_at__lte=now - dt.timedelta(days=days))
        .exclude(destination="deceased")
        .order_by("discharge_at", "pk")[:500]
    )
    audit.record_list(user, shown, PURPOSE, overdue_days=days)
    return shown


def get_discharge(user: Any, pk: int, action: str = "view") -> Discharge:
    """One discharge if the user may ``action`` it (else Discharge.DoesNotExist), audited."""
    discharge = Discharge.objects.select_related("hospital", "person", "gp").get(pk=pk)
    if not can_access(user, discharge, action):
        raise Discharge.DoesNotExist
    audit.record(user, "view", discharge, PURPOSE)
    return discharge


def acknowledge(user: Any, pk: int, now: dt.datetime | None = None) -> Discharge:
    """The GP acknowledges the letter of discharge ``pk`` (their own patient's, a letter
    sent). Idempotent: a second acknowledgement keeps the first date."""
    with transaction.atomic():
        discharge = Discharge.objects.select_for_update().get(pk=pk)
        if not can_access(user, discharge, "update") or practitioner_of(user) is None:
            raise Discharge.DoesNotExist
        return _acknowledged(discharge, user, now)


def _acknowledged(discharge: Discharge, user: Any, now: dt.datetime | None) -> Discharge:
    if discharge.letter_sent_at is None:
        raise ValidationError("Aucune lettre n'a encore été envoyée pour cette sortie.")
    if discharge.acknowledged_at is None:
        discharge.acknowledged_at = max(now or timezone.now(), discharge.letter_sent_at)
        discharge.acknowledged_by = user if getattr(user, "is_authenticated", False) else None
        discharge.save(update_fields=["acknowledged_at", "acknowledged_by"])
        audit.record(user, "update", discharge, PURPOSE, fields=["acknowledged_at"])
    return discharge


def signed_token(discharge: Discharge) -> str:
    """The token of the acknowledgement link put in the letter's MSSanté message: it names
    the discharge and its GP, and is refused once the GP changed or after LINK_MAX_AGE."""
    return signing.dumps([discharge.pk, discharge.gp_id], salt=_SALT, compress=True)


def by_token(token: str) -> Discharge:
    """The discharge a link's token names (Discharge.DoesNotExist when tampered with,
    expired, or no longer this GP's). Nothing is written."""
    try:
        pk, gp = signing.loads(token, salt=_SALT, max_age=LINK_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        raise Discharge.DoesNotExist from None
    discharge = Discharge.objects.select_related("hospital").get(pk=pk)
    if gp is None or discharge.gp_id != gp:
        raise Discharge.DoesNotExist
    return discharge


def acknowledge_by_token(token: str, now: dt.datetime | None = None) -> Discharge:
    """The acknowledgement sent from the link's confirmation page (the link in the GP's
    secure mailbox is the proof; audited as the public, purpose ``discharge_letter``)."""
    with transaction.atomic():
        discharge = by_token(token)
        discharge = Discharge.objects.select_for_update().get(pk=discharge.pk)
        return _acknowledged(discharge, None, now)


# --- indicators (figures, never a person) -----------------------------------------------------


def stays(discharges: models.QuerySet[Discharge]) -> list[analytics.Stay]:
    return [
        analytics.Stay(
            hospital=h, service=s, discharge_at=d, letter_sent_at=sent, acknowledged_at=ack
        )  # fmt: skip
        for h, s, d, sent, ack in discharges.values_list(
            "hospital__name", "service", "discharge_at", "letter_sent_at", "acknowledged_at"
        )
    ]


def indicator_hospitals(user: Any) -> models.QuerySet[Discharge]:
    """The discharges whose figures a user may see: a referent their hospitals', a
    coordinator those of the hospitals in their territories' communes, an administrator all."""
    from maillage.care.attachment.personal_data import coordinator_communes

    profile = getattr(user, "profile", None)
    role = getattr(profile, "role", None)
    if user.is_superuser or role == "administrator":
        return Discharge.objects.all()
    if role == "hospital":
        return Discharge.objects.filter(hospital_id__in=hospitals_of(user))
    if role == "coordinator":
        return Discharge.objects.filter(hospital__commune_id__in=coordinator_communes(user))
    return Discharge.objects.none()


def table(
    discharges: models.QuerySet[Discharge], by: tuple[str, ...] = analytics.KEYS
) -> list[dict[str, Any]]:
    return analytics.indicators(stays(discharges), by)


def by_hospital_and_service(
    services: list[dict[str, Any]], months: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The indicators page's groups: per hospital (``name``), its services over the period
    (``services``) and each service's months (``months``, newest first), so that the page
    shows the services first and the months on demand."""
    groups: dict[str, dict[str, Any]] = {}
    for row in services:
        group = groups.setdefault(row["hospital"], {"name": row["hospital"], "services": []})
        group["services"].append({**row, "months": []})
    index = {(r["hospital"], r["service"]): r for g in groups.values() for r in g["services"]}
    for row in sorted(months, key=lambda r: r["month"], reverse=True):
        if (row["hospital"], row["service"]) in index:
            index[(row["hospital"], row["service"])]["months"].append(row)
    return list(groups.values())
