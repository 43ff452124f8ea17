"""Retention, access requests and erasure: what the GDPR asks of personal data, once for every
care app.

Each care app registers three plain functions:

- ``register(handler)``: ``handler(cutoff: datetime) -> int`` anonymises the app's own records
  that expired before ``cutoff`` (emptying their personal and free-text fields, keeping what the
  statistics count) and sets their ``anonymised_at``; it returns how many it anonymised. It must
  be idempotent (a second run finds nothing).
- ``register_access(name, part)``: ``part(person) -> JSON-serialisable`` the app's data about
  one person, for an access request (:func:`access_request`).
- ``register_erase(eraser)``: ``eraser(person) -> int`` removes the app's personal data about
  one person, keeping statistics (:func:`erase`).

A Person is anonymised by :func:`anonymise_expired` once created before the cutoff and no
longer *referenced*: a row of another model that points to it keeps it while that row's
``anonymised_at`` is null (models referring to people carry that field); rows of a model
without ``anonymised_at`` keep it as long as they exist. Consents and possible-duplicate
pairs belong to the person and do not keep it.

The retention period is ``MAILLAGE_CARE_RETENTION_MONTHS`` (default 12). The worker runs
:func:`anonymise_expired` daily (:mod:`maillage.care.people.tasks`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from maillage.care.people import audit
from maillage.care.people.models import Consent, Person, PossibleDuplicate

DEFAULT_RETENTION_MONTHS = 12

_handlers: list[Callable[[dt.datetime], int]] = []
_access_parts: dict[str, Callable[[Person], Any]] = {}
_erasers: list[Callable[[Person], int]] = []


def register(handler: Callable[[dt.datetime], int]) -> None:
    if handler not in _handlers:
        _handlers.append(handler)


def register_access(name: str, part: Callable[[Person], Any]) -> None:
    _access_parts[name] = part


def register_erase(eraser: Callable[[Person], int]) -> None:
    if eraser not in _erasers:
        _erasers.append(eraser)


def retention_months() -> int:
    return int(getattr(settings, "MAILLAGE_CARE_RETENTION_MONTHS", DEFAULT_RETENTION_MONTHS))


def cutoff(now: dt.datetime, months: int | None = None) -> dt.datetime:
    """``now`` minus the retention period in calendar months (31 March - 1 month = 28/29 Feb)."""
    import calendar

    months = retention_months() if months is None else months
    local = timezone.localtime(now)
    year, month = divmod(local.year * 12 + local.month - 1 - months, 12)
    month += 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


# --- Persons -----------------------------------------------------------------------------------


def _strip(person: Person, now: dt.datetime) -> None:
    """Empty the identifying fields of ``person``, keeping the statistics (sex, commune, age
    band at first contact)."""
    if person.birth_date is not None and not person.age_band_kept:
        person.age_band_kept = person.age_band_on(timezone.localtime(person.created_at).date())
    person.birth_name = ""
    person.first_names = ""
    person.used_first_name = ""
    person.used_name = ""
    person.birth_date = None
    person.birth_place_insee = ""
    person.phone = ""
    person.email = ""
    person.attending_doctor = None
    person.attending_doctor_label = ""
    person.notes = ""
    person.anonymised_at = now
    person.save()


def _referencing() -> list[tuple[type[models.Model], str, bool]]:
    """(model, FK name, has anonymised_at) for every relation pointing to Person."""
    found = []
    # include_hidden: a relation declared with related_name="+" refers to people all the same
    for rel in Person._meta.get_fields(include_hidden=True):
        if not (rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)):
            continue
        model = rel.related_model
        if model in (Consent, PossibleDuplicate):  # the person's own, not a reference
            continue
        has_flag = any(f.name == "anonymised_at" for f in model._meta.concrete_fields)
        found.append((model, rel.field.name, has_flag))
    return found


def unreferenced(persons: models.QuerySet[Person]) -> models.QuerySet[Person]:
    """The persons of ``persons`` that no live record refers to."""
    for model, fk, has_flag in _referencing():
        live = model._base_manager.all()
        if has_flag:
            live = live.filter(anonymised_at__isnull=True)
        persons = persons.exclude(pk__in=live.values(f"{fk}_id"))
    return persons


def anonymise_expired(now: dt.datetime | None = None) -> dict[str, int]:
    """Run every app's handler, then anonymise the persons past retention and no longer
    referenced. Idempotent; one transaction per step. Returns counts per step."""
    now = now or timezone.now()
    limit = cutoff(now)
    counts: dict[str, int] = {}
    for handler in list(_handlers):
        with transaction.atomic():
            counts[f"{handler.__module__}.{handler.__qualname__}"] = int(handler(limit) or 0)
    with transaction.atomic():
        expired = unreferenced(
            Person.objects.filter(anonymised_at__isnull=True, created_at__lt=limit)
        ).select_for_update()
        n = 0
        for person in expired:
            _strip(person, now)
            n += 1
        if n:
            audit.record(None, "anonymise", None, "retention", model="people.person", count=n)
        counts["people.person"] = n
    return counts


# --- rights of the person ----------------------------------------------------------------------


def _iso(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def person_data(person: Person) -> dict[str, Any]:
    fields = [
        "birth_name", "first_names", "used_first_name", "used_name", "birth_date", "sex",
        "birth_place_insee", "identity_status", "phone", "email", "has_attending_doctor",
        "attending_doctor_label", "notes", "synthetic", "created_at", "anonymised_at",
    ]  # fmt: skip
    data = {name: _iso(getattr(person, name)) for name in fields}
    data["id"] = person.pk
    data["commune"] = person.commune_id
    data["attending_doctor"] = person.attending_doctor_id
    return data


def access_request(person: Person, user: Any = None) -> dict[str, Any]:
    """Everything maillage holds about ``person``, as JSON-serialisable data: identity,
    consents, and each care app's part. Audited (action "export")."""
    result: dict[str, Any] = {
        "generated_at": timezone.now().isoformat(),
        "synthetic": person.synthetic,
        "person": person_data(person),
        "consents": [
            {
                "purpose": c.purpose,
                "purpose_label": c.get_purpose_display(),
                "given": c.given,
                "at": _iso(c.at),
                "channel": c.channel,
                "withdrawn_at": _iso(c.withdrawn_at),
            }
            for c in person.consents.order_by("at", "pk")
        ],
    }
    for name, part in _access_parts.items():
        result[name] = part(person)
    audit.record(user, "export", person, "access_request")
    return result


def erase(person: Person, user: Any) -> dict[str, int]:
    """Remove ``person``'s personal data in every app (statistics kept) and anonymise the
    Person itself, in one transaction; audited (action "erase")."""
    counts: dict[str, int] = {}
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        for eraser in list(_erasers):
            counts[f"{eraser.__module__}.{eraser.__qualname__}"] = int(eraser(person) or 0)
        if person.anonymised_at is None:
            _strip(person, timezone.now())
        audit.record(user, "erase", person, "erasure_request")
    return counts
