"""Keeping the directory alive: change proposals, their review, direct edits, follow-up.

The national Annuaire Santé is not what a CPTS keeps up to date; its members are. A
professional *proposes* a change to their own entry, a coordinator *publishes* or *rejects*
it; a coordinator may also *edit* directly. Every path goes through this module so that the
web pages and the JSON API share one set of rules:

- only the fields listed in :data:`EDITABLE_FIELDS` can change (identity fields such as names,
  RPPS and FINESS numbers come from the national registers and are not editable here);
- values are validated with the model field's own ``clean`` before anything is stored, so a bad
  value is refused with an error naming the field, and nothing is half-written;
- publishing writes the target in one transaction, stamps ``verified_on``, records the reviewer
  as the django-simple-history user and refreshes the search index;
- every call lands in the audit log (field names only, never values: they may be pro-only).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from maillage.accounts.permissions import audit, can
from maillage.directory import notify
from maillage.directory.changes import ChangeProposal
from maillage.directory.models import (
    HealthcareService,
    Location,
    OpeningHours,
    Organization,
    Practitioner,
    PractitionerRole,
    Scheme,
)

# Public contact fields + opening information + the pro-only fields of ``ProOnly``.
_PRO_ONLY = ("mssante", "direct_line", "notes_pro")

#: The fields a proposal (or a direct edit) may change, per target type. ``opening_hours`` is
#: not a model field: it replaces the weekly pattern (``OpeningHours`` rows) of the place or
#: service, given as a list of ``{"weekday": 0-6, "opens": "HH:MM", "closes": "HH:MM"}`` or as
#: the text accepted by :func:`parse_opening_hours`.
EDITABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "practitioner": ("languages", *_PRO_ONLY),
    "organization": ("address", "postal_code", "city", "phone", "email", "website", *_PRO_ONLY),
    "location": (
        "address",
        "postal_code",
        "phone",
        "email",
        "website",
        "teleconsultation",
        "opening_hours",
        *_PRO_ONLY,
    ),
    "role": ("accepts_new_patients", "teleconsultation"),
    "service": (
        "description",
        "phone",
        "email",
        "teleconsultation",
        "opening_hours",
        "hours_note",
        *_PRO_ONLY,
    ),
    "scheme": ("description", "phone", "email", "website", *_PRO_ONLY),
}

#: Target type name -> model. The names are the keys of ``EDITABLE_FIELDS`` and the values
#: stored in ``ChangeProposal.target_type``.
TARGET_MODELS: dict[str, type[models.Model]] = {
    "practitioner": Practitioner,
    "organization": Organization,
    "location": Location,
    "role": PractitionerRole,
    "service": HealthcareService,
    "scheme": Scheme,
}

#: Types that carry a ``verified_on`` date (a role is verified through its practitioner).
VERIFIED_TYPES = ("practitioner", "organization", "location", "service", "scheme")

OPENING_HOURS = "opening_hours"
_PHONE_FIELDS = ("phone", "direct_line")
_LANGUAGE_RE = re.compile(r"^[a-z]{2}$")
_WEEKDAYS = {
    "lundi": 0, "lun": 0, "mardi": 1, "mar": 1, "mercredi": 2, "mer": 2, "jeudi": 3, "jeu": 3,
    "vendredi": 4, "ven": 4, "samedi": 5, "sam": 5, "dimanche": 6, "dim": 6,
}  # fmt: skip
_WEEKDAY_NAMES = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]


# --------------------------------------------------------------------------- targets


def target_type_of(target: models.Model) -> str:
    """The type name (key of ``EDITABLE_FIELDS``) of a directory object."""
    for name, model in TARGET_MODELS.items():
        if type(target) is model:
            return name
    raise ValueError(f"type d'entrée non modifiable : {type(target).__name__}")


def get_target(target_type: str, target_id: int) -> models.Model:
    """The object a proposal is about (``Model.DoesNotExist`` if it was deleted since)."""
    if target_type not in TARGET_MODELS:
        raise ValueError(f"type d'entrée inconnu : {target_type!r}")
    return TARGET_MODELS[target_type].objects.get(pk=target_id)


def target_of(proposal: ChangeProposal) -> models.Model:
    return get_target(proposal.target_type, proposal.target_id)


def field_label(target_type: str, name: str) -> str:
    """The French label of an editable field, for forms, diffs and messages."""
    if name == OPENING_HOURS:
        return "horaires d'ouverture"
    model = TARGET_MODELS[target_type]
    return str(model._meta.get_field(name).verbose_name)


# --------------------------------------------------------------------------- values


def parse_opening_hours(text: str) -> list[dict[str, Any]]:
    """Parse opening hours written by people: one day per line, then time ranges.

    ``"lundi 08:30-12:00 14:00-19:00"``, ``"mar 9h-12h"``; blank lines are ignored. Raises
    ValueError naming the line on anything else, because guessing hours wrongly is worse than
    asking again.
    """
    slots: list[dict[str, Any]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lower()
        if not line:
            continue
        day, _, rest = line.partition(" ")
        day = day.rstrip(":").rstrip(".")
        if day not in _WEEKDAYS:
            raise ValueError(
                f"horaires d'ouverture, ligne {number} : jour attendu (lundi…dimanche), "
                f"trouvé « {raw.strip()[:30]} »"
            )
        ranges = [r for r in re.split(r"[\s,;]+", rest.replace(" - ", "-")) if r]
        if not ranges:
            raise ValueError(f"horaires d'ouverture, ligne {number} : aucune plage horaire")
        for item in ranges:
            match = re.fullmatch(r"(\d{1,2})[:h]?(\d{2})?-(\d{1,2})[:h]?(\d{2})?", item)
            if not match:
                raise ValueError(
                    f"horaires d'ouverture, ligne {number} : plage « {item} » illisible "
                    "(attendu par exemple 08:30-12:00)"
                )
            h1, m1, h2, m2 = match.groups()
            slots.append(
                {
                    "weekday": _WEEKDAYS[day],
                    "opens": f"{int(h1):02d}:{int(m1 or 0):02d}",
                    "closes": f"{int(h2):02d}:{int(m2 or 0):02d}",
                }
            )
    return _clean_opening_hours(slots)


def format_opening_hours(slots: Iterable[Mapping[str, Any]]) -> str:
    """The text form of a weekly pattern (the inverse of :func:`parse_opening_hours`)."""
    by_day: dict[int, list[str]] = {}
    for slot in slots:
        by_day.setdefault(int(slot["weekday"]), []).append(f"{slot['opens']}-{slot['closes']}")
    return "\n".join(f"{_WEEKDAY_NAMES[d]} {' '.join(by_day[d])}" for d in sorted(by_day))


def current_opening_hours(target: models.Model) -> list[dict[str, Any]]:
    return [
        {"weekday": h.weekday, "opens": f"{h.opens:%H:%M}", "closes": f"{h.closes:%H:%M}"}
        for h in target.opening_hours.all()
    ]


def _clean_opening_hours(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return parse_opening_hours(value)
    if not isinstance(value, list):
        raise ValueError("horaires d'ouverture : liste de plages ou texte attendu")
    slots = []
    for i, slot in enumerate(value, start=1):
        try:
            weekday = int(slot["weekday"])
            opens = dt.time.fromisoformat(str(slot["opens"]))
            closes = dt.time.fromisoformat(str(slot["closes"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"horaires d'ouverture, plage {i} : weekday (0-6), opens et closes (HH:MM) attendus"
            ) from exc
        if not 0 <= weekday <= 6:
            raise ValueError(f"horaires d'ouverture, plage {i} : jour {weekday} hors de 0-6")
        if closes <= opens:
            raise ValueError(
                f"horaires d'ouverture, plage {i} : la fermeture ({closes:%H:%M}) doit suivre "
                f"l'ouverture ({opens:%H:%M})"
            )
        slots.append({"weekday": weekday, "opens": f"{opens:%H:%M}", "closes": f"{closes:%H:%M}"})
    slots.sort(key=lambda s: (s["weekday"], s["opens"]))
    return slots


def _json_value(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return value


def current_value(target: models.Model, name: str) -> Any:
    """The value stored now, in the JSON form proposals use."""
    if name == OPENING_HOURS:
        return current_opening_hours(target)
    return _json_value(getattr(target, name))


class InvalidField(ValueError):
    """A proposed value refused, with the field it is about (a French sentence that names the
    field by its label; ``field`` is the code, for forms and the API's ``fields`` list)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def clean_changes(target_type: str, target: models.Model, changes: Mapping[str, Any]) -> dict:
    """Validate ``changes`` for a target; return them cleaned, in JSON form.

    Raises ValueError naming the first unknown field or invalid value. Unchanged values are kept
    (the caller decides whether an unchanged field is worth recording).
    """
    if not isinstance(changes, Mapping) or not changes:
        raise ValueError("aucune modification proposée")
    allowed = EDITABLE_FIELDS[target_type]
    model = TARGET_MODELS[target_type]
    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in allowed:
            raise InvalidField(
                name,
                f"champ « {name} » non modifiable pour ce type d'entrée "
                f"(champs modifiables : {', '.join(allowed)})",
            )
        if name == OPENING_HOURS:
            cleaned[name] = _clean_opening_hours(value)
            continue
        field = model._meta.get_field(name)
        if value is None and not field.null:
            value = ""
        if isinstance(value, str):
            value = value.strip()
        label = _label(field)
        try:
            value = field.clean(value, target)
        except ValidationError as exc:
            raise InvalidField(name, f"{label} : {' '.join(exc.messages)}") from exc
        try:
            if name in _PHONE_FIELDS and value:
                value = phone_number(value, label)
            if name == "postal_code" and value:
                _check_postal_code(value, target, label)
        except ValueError as exc:
            raise InvalidField(name, str(exc)) from exc
        if name == "languages" and value:
            codes = [c.strip().lower() for c in value.split(",") if c.strip()]
            bad = [c for c in codes if not _LANGUAGE_RE.match(c)]
            if bad:
                raise InvalidField(
                    name,
                    f"{label} : « {bad[0]} » n'est pas un code de langue ISO 639-1 "
                    "de deux lettres (fr, en, de…)",
                )
            value = ",".join(dict.fromkeys(codes))
        cleaned[name] = _json_value(value)
    return cleaned


def _label(field: models.Field) -> str:
    """A field's French label as a sentence starts it ("Code postal", "MSSanté")."""
    name = str(field.verbose_name)
    return name[:1].upper() + name[1:]


def phone_number(value: str, label: str = "Téléphone") -> str:
    """A French (or international) phone number checked with ``phonenumbers`` and written as
    people read it: "03 25 00 11 22" in France, "+32 2 123 45 67" abroad; short numbers of
    public services ("15", "116 117", "3966") are kept as they are. ValueError in French."""
    import phonenumbers
    from phonenumbers import shortnumberinfo

    text = value.strip()
    digits = re.sub(r"[\s.\-]", "", text)
    if digits.isdigit() and len(digits) <= 6:
        short = phonenumbers.parse(digits, "FR")
        if shortnumberinfo.is_valid_short_number(short):
            return " ".join([digits[:3], digits[3:]]) if len(digits) == 6 else digits
    try:
        number = phonenumbers.parse(text, "FR")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValueError(
            f"{label} : « {text[:40]} » n'est pas un numéro de téléphone valide "
            "(par exemple 03 25 00 11 22, ou +32 2 123 45 67 à l'étranger)"
        )
    if number.country_code == 33:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _check_postal_code(value: str, target: models.Model, label: str) -> None:
    """Five digits, and one of the postal codes of the entry's commune when it has one."""
    if not re.fullmatch(r"\d{5}", value):
        raise ValueError(f"{label} : « {value} » n'est pas un code postal (5 chiffres)")
    commune = getattr(target, "commune", None)
    known = [c.strip() for c in (getattr(commune, "postal_codes", "") or "").split(",")]
    known = [c for c in known if c]
    if known and value not in known:
        raise ValueError(
            f"{label} : {value} n'est pas un code postal de {commune.name} ({', '.join(known)})"
        )


def only_changed(target: models.Model, cleaned: Mapping[str, Any]) -> dict[str, Any]:
    """The cleaned values that differ from what is stored (forms submit every field)."""
    return {k: v for k, v in cleaned.items() if current_value(target, k) != v}


# --------------------------------------------------------------------------- writing


def _apply(target: models.Model, changes: Mapping[str, Any], user: Any, reason: str) -> None:
    """Write cleaned ``changes`` to ``target``, stamping ``verified_on`` and the history user."""
    today = timezone.localdate()
    for name, value in changes.items():
        if name == OPENING_HOURS:
            kind = "location" if isinstance(target, Location) else "service"
            for old in OpeningHours.objects.filter(**{kind: target}):
                old._history_user, old._change_reason = user, reason[:100]
                old.delete()
            bulk_create_with_history(
                [
                    OpeningHours(
                        **{kind: target},
                        weekday=slot["weekday"],
                        opens=dt.time.fromisoformat(slot["opens"]),
                        closes=dt.time.fromisoformat(slot["closes"]),
                    )
                    for slot in value
                ],
                OpeningHours,
                default_user=user,
                default_change_reason=reason[:100],
            )
            continue
        field = target._meta.get_field(name)
        setattr(target, name, field.to_python(value))
    stamped = target if hasattr(target, "verified_on") else getattr(target, "practitioner", None)
    for obj in {id(o): o for o in (target, stamped) if o is not None}.values():
        if hasattr(obj, "verified_on"):
            obj.verified_on = today
        obj._history_user = user  # django-simple-history: who made this version
        obj._change_reason = reason[:100]
        obj.save()
    from maillage.directory.search.service import reindex_objects

    reindex_objects([target])


def propose(user: Any, target: models.Model, changes: dict, comment: str = "") -> ChangeProposal:
    """Record a pending proposal to change ``target``; nothing in the directory changes yet.

    Only the fields whose proposed value differs from the stored one are kept; a proposal that
    changes nothing is refused (ValueError), so reviewers never see empty diffs.
    """
    target_type = target_type_of(target)
    if not can(user, "propose", target):
        audit(user, "propose_denied", target)
        raise PermissionDenied("Vous ne pouvez proposer de modification que pour votre fiche.")
    cleaned = only_changed(target, clean_changes(target_type, target, changes))
    if not cleaned:
        raise ValueError("aucune modification : les valeurs proposées sont celles de la fiche")
    proposal = _record(target, target_type, cleaned, comment.strip(), user)
    audit(user, "propose", target, proposal=proposal.pk, fields=sorted(cleaned))
    return proposal


#: The account public reports are filed under: inactive, without a usable password, so that
#: nobody can log in as it; coordinators see "Signalement du public" as the author.
PUBLIC_REPORTER = "signalement.public"
#: What the public may correct: the public fields, never the pro-only ones.
PUBLIC_FIELDS: dict[str, tuple[str, ...]] = {
    kind: tuple(f for f in fields if f not in _PRO_ONLY) for kind, fields in EDITABLE_FIELDS.items()
}
REPORT_COMMENT_MAX = 1000


def public_reporter() -> Any:
    from django.contrib.auth import get_user_model

    user, created = get_user_model().objects.get_or_create(
        username=PUBLIC_REPORTER,
        defaults={"is_active": False, "first_name": "Signalement", "last_name": "du public"},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def public_report(
    corrections: Iterable[tuple[models.Model, Mapping[str, Any]]], comment: str
) -> list[ChangeProposal]:
    """Someone without an account reports an error on public entries: each (target, changes)
    with changes becomes a pending proposal, reviewed like any other; a report with only a
    comment becomes one proposal without changes on the first target (publishing it applies
    nothing). Only :data:`PUBLIC_FIELDS` may change; values are checked as for professionals.
    Raises :class:`InvalidField` / ValueError in French; all proposals or none."""
    comment = " ".join(comment.split())[:REPORT_COMMENT_MAX]
    corrections = list(corrections)
    if not corrections:
        raise ValueError("aucune fiche à corriger")
    reporter = public_reporter()
    created: list[ChangeProposal] = []
    with transaction.atomic():
        for target, changes in corrections:
            target_type = target_type_of(target)
            refused = [name for name in changes if name not in PUBLIC_FIELDS[target_type]]
            if refused:
                raise InvalidField(refused[0], f"champ « {refused[0]} » non modifiable ici")
            cleaned = (
                only_changed(target, clean_changes(target_type, target, changes)) if changes else {}
            )
            if cleaned:
                created.append(_report(target, target_type, cleaned, comment, reporter))
        if not created:
            if not comment:
                raise ValueError(
                    "décrivez l'erreur ou corrigez au moins une valeur : rien n'a été envoyé"
                )
            target = corrections[0][0]
            created.append(_report(target, target_type_of(target), {}, comment, reporter))
    return created


def _record(
    target: models.Model, target_type: str, cleaned: dict, comment: str, author: Any
) -> ChangeProposal:
    """Write a pending proposal with the values it replaces (the one place proposals are made:
    a professional's, a coordinator's or the public's)."""
    return ChangeProposal.objects.create(
        target_type=target_type,
        target_id=target.pk,
        changes=cleaned,
        previous={name: current_value(target, name) for name in cleaned},
        comment=comment,
        proposed_by=author,
    )


def _report(
    target: models.Model, target_type: str, cleaned: dict, comment: str, reporter: Any
) -> ChangeProposal:
    proposal = _record(target, target_type, cleaned, comment, reporter)
    audit(None, "public_report", target, proposal=proposal.pk, fields=sorted(cleaned))
    return proposal


def publish(user: Any, proposal: ChangeProposal, comment: str = "") -> None:
    """Apply a pending proposal to its entry, in one transaction, as reviewed by ``user``."""
    target = target_of(proposal)
    if not can(user, "review", target):
        audit(user, "publish_denied", target, proposal=proposal.pk)
        raise PermissionDenied("La publication est réservée aux coordinateurs.")
    with transaction.atomic():
        locked = ChangeProposal.objects.select_for_update().get(pk=proposal.pk)
        if locked.status != ChangeProposal.Status.PENDING:
            raise ValueError(f"proposition déjà traitée ({locked.get_status_display()})")
        # Re-validate: the rules (or the entry) may have changed since the proposal was made.
        changes = (
            clean_changes(proposal.target_type, target, locked.changes) if locked.changes else {}
        )
        if changes:  # a public report with a comment only changes nothing
            _apply(target, changes, user, f"proposition n° {locked.pk}")
        locked.status = ChangeProposal.Status.PUBLISHED
        locked.reviewed_by = user
        locked.reviewed_at = timezone.now()
        locked.review_comment = comment.strip()
        locked.save()
        audit(user, "publish", target, proposal=locked.pk, fields=sorted(changes))
        notify.proposal_decided(locked)
    _refresh(proposal, locked)


def reject(user: Any, proposal: ChangeProposal, comment: str = "") -> None:
    """Refuse a pending proposal; the entry is left as it is and the reason kept."""
    target = target_of(proposal)
    if not can(user, "review", target):
        audit(user, "reject_denied", target, proposal=proposal.pk)
        raise PermissionDenied("Le refus d'une proposition est réservé aux coordinateurs.")
    with transaction.atomic():
        locked = ChangeProposal.objects.select_for_update().get(pk=proposal.pk)
        if locked.status != ChangeProposal.Status.PENDING:
            raise ValueError(f"proposition déjà traitée ({locked.get_status_display()})")
        locked.status = ChangeProposal.Status.REJECTED
        locked.reviewed_by = user
        locked.reviewed_at = timezone.now()
        locked.review_comment = comment.strip()
        locked.save()
        audit(user, "reject", target, proposal=locked.pk)
        notify.proposal_decided(locked)
    _refresh(proposal, locked)


def edit(user: Any, target: models.Model, changes: dict, comment: str = "") -> ChangeProposal:
    """A coordinator's direct edit: validated and applied at once, in one transaction.

    It is recorded as an already published proposal (proposed and reviewed by ``user``) so that
    the follow-up pages show direct edits and reviewed proposals alike.
    """
    target_type = target_type_of(target)
    if not can(user, "edit", target):
        audit(user, "edit_denied", target)
        raise PermissionDenied("La modification directe est réservée aux coordinateurs.")
    cleaned = clean_changes(target_type, target, changes)
    changed = only_changed(target, cleaned)
    with transaction.atomic():
        now = timezone.now()
        proposal = ChangeProposal.objects.create(
            target_type=target_type,
            target_id=target.pk,
            changes=changed,
            previous={name: current_value(target, name) for name in changed},
            comment=comment.strip(),
            status=ChangeProposal.Status.PUBLISHED,
            proposed_by=user,
            reviewed_by=user,
            reviewed_at=now,
        )
        # Even with nothing changed, a coordinator's edit confirms the entry: stamp it.
        _apply(target, changed, user, f"modification directe n° {proposal.pk}")
        audit(user, "edit", target, proposal=proposal.pk, fields=sorted(changed))
    return proposal


def confirm(user: Any, target: models.Model, comment: str = "") -> None:
    """A coordinator confirms an entry as still correct: only ``verified_on`` moves.

    Follow-up campaigns (seed 002: routine updates) mostly end with "nothing changed"; that
    answer must take the entry off the "À relancer" list and leave a trace in its history.
    """
    target_type_of(target)
    if not can(user, "edit", target):
        audit(user, "confirm_denied", target)
        raise PermissionDenied("La confirmation d'une fiche est réservée aux coordinateurs.")
    with transaction.atomic():
        _apply(target, {}, user, ("vérifiée : " + comment.strip()) if comment else "vérifiée")
        audit(user, "confirm", target)


def _refresh(stale: ChangeProposal, fresh: ChangeProposal) -> None:
    for name in ("status", "reviewed_by_id", "reviewed_at", "review_comment"):
        setattr(stale, name, getattr(fresh, name))


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class DiffRow:
    """One line of a proposal's before/after view."""

    field: str
    label: str
    before: Any  # value when proposed
    after: Any  # proposed value
    current: Any  # value now (differs from ``before`` when the entry changed meanwhile)

    @property
    def moved(self) -> bool:
        return self.current != self.before


def diff(proposal: ChangeProposal) -> list[DiffRow]:
    """The before/after rows of a proposal, with the current value to spot conflicts."""
    try:
        target = target_of(proposal)
    except (ValueError, TARGET_MODELS[proposal.target_type].DoesNotExist):
        target = None
    rows = []
    for name, after in proposal.changes.items():
        before = proposal.previous.get(name)
        current = current_value(target, name) if target is not None else None
        rows.append(DiffRow(name, field_label(proposal.target_type, name), before, after, current))
    return rows


def pending(user: Any | None = None) -> models.QuerySet[ChangeProposal]:
    """Pending proposals: all of them, or those ``user`` made."""
    qs = ChangeProposal.objects.filter(status=ChangeProposal.Status.PENDING)
    if user is not None:
        qs = qs.filter(proposed_by=user)
    return qs.select_related("proposed_by")


def months_ago(months: int, today: dt.date | None = None) -> dt.date:
    """The same day ``months`` months earlier (clamped to the month's last day)."""
    today = today or timezone.localdate()
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    month += 1
    for day in range(today.day, 27, -1):
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    return dt.date(year, month, min(today.day, 28))


# How each type reaches its commune(s), for the territory filter.
_COMMUNE_PATHS: dict[str, tuple[str, ...]] = {
    "practitioner": ("roles__location__commune",),
    "organization": ("commune",),
    "location": ("commune",),
    "role": ("location__commune", "organization__commune"),
    "service": ("location__commune", "organization__commune"),
    "scheme": ("commune", "organization__commune"),
}

#: The picker value that asks for every territory (administrators and coordinators without
#: territories only).
EVERYWHERE = "tous"


@dataclass(frozen=True)
class WorkScope:
    """Where a coordinator's to-do lists look: their own territory first.

    ``communes`` is a queryset of the communes in scope, or None for the whole directory;
    ``choices`` are the (value, label) pairs of the picker, ``selected`` the value chosen.
    """

    label: str
    communes: Any
    choices: list[tuple[str, str]]
    selected: str

    @property
    def may_see_everywhere(self) -> bool:
        """Whether the user may switch to every territory (administrators, coordinators
        without territories)."""
        return any(value == EVERYWHERE for value, _label in self.choices)

    def filter(self, target_type: str, qs: models.QuerySet) -> models.QuerySet:
        """``qs`` (entries of ``target_type``) kept to the scope."""
        if self.communes is None:
            return qs
        where = models.Q()
        for path in _COMMUNE_PATHS[target_type]:
            where |= models.Q(**{f"{path}__in": self.communes})
        return qs.filter(where).distinct()


def work_scope(user: Any, choice: str = "") -> WorkScope:
    """The scope of ``user``'s to-do lists (counts, follow-up, review queue) for the picker
    value ``choice``: a coordinator with territories sees them (all, or the one picked) and
    nothing else; an administrator, or a coordinator without territories, starts on the
    platform's own territory (``MAILLAGE_DEFAULT_TERRITORY``) and may pick any saved territory
    or every territory. Pure: reading a territory for display writes nothing."""
    from maillage.config import DEFAULT_TERRITORY
    from maillage.territory.models import Commune, Territory
    from maillage.territory.services import UnknownTerritory, resolve

    profile = getattr(user, "profile", None)
    own = list(profile.territories.order_by("name")) if profile is not None else []
    if own and not getattr(user, "is_superuser", False):
        choices = [("", "Tous vos territoires")] + [(t.slug, t.name) for t in own]
        picked = next((t for t in own if t.slug == choice), None)
        if picked is not None:
            return WorkScope(picked.name, picked.communes.all(), choices, picked.slug)
        label = ", ".join(t.name for t in own)
        communes = Commune.objects.filter(territories__in=own).distinct()
        return WorkScope(label, communes, choices, "")
    try:
        home = resolve(DEFAULT_TERRITORY)
        home_label, home_communes = home.name, home.communes.all()
    except UnknownTerritory:  # a misconfigured default: every territory
        home_label, home_communes = "tous les territoires", None
    saved = list(Territory.objects.order_by("kind", "name"))
    choices = [("", home_label), (EVERYWHERE, "Tous les territoires")]
    choices += [(t.slug, t.name) for t in saved]
    if choice == EVERYWHERE:
        return WorkScope("tous les territoires", None, choices, EVERYWHERE)
    picked = next((t for t in saved if t.slug == choice), None)
    if picked is not None:
        return WorkScope(picked.name, picked.communes.all(), choices, picked.slug)
    return WorkScope(home_label, home_communes, choices, "")


def pending_in(scope: WorkScope) -> list[ChangeProposal]:
    """Pending proposals about entries in ``scope``, oldest first."""
    proposals = list(pending().order_by("proposed_at"))
    if scope.communes is None:
        return proposals
    kept: set[tuple[str, int]] = set()
    by_type: dict[str, set[int]] = {}
    for p in proposals:
        by_type.setdefault(p.target_type, set()).add(p.target_id)
    for target_type, ids in by_type.items():
        if target_type not in _COMMUNE_PATHS:
            continue
        qs = TARGET_MODELS[target_type].objects.filter(pk__in=ids)
        in_scope = scope.filter(target_type, qs).values_list("pk", flat=True)
        kept.update((target_type, pk) for pk in in_scope)
    return [p for p in proposals if (p.target_type, p.target_id) in kept]


def stale_entries(
    months: int = 12, territory: Any = None, user: Any = None, scope: WorkScope | None = None
) -> dict[str, models.QuerySet]:
    """Entries to follow up, per type: never verified, or verified more than ``months`` ago.

    Seed 002 asks for routine updates of the directory; this is the to-do list of the
    coordinator. ``territory`` (a ``Territory``) or ``scope`` (a :class:`WorkScope`) keeps only
    entries located in its communes. Keys are those of :data:`VERIFIED_TYPES`; values are
    querysets, oldest first (never verified first of all).
    """
    if months < 0:
        raise ValueError("le nombre de mois doit être positif")
    if territory is not None:
        scope = WorkScope(territory.name, territory.communes.all(), [], territory.slug)
    limit = months_ago(months)
    stale = models.Q(verified_on__isnull=True) | models.Q(verified_on__lt=limit)
    result: dict[str, models.QuerySet] = {}
    for name in VERIFIED_TYPES:
        qs = TARGET_MODELS[name].objects.filter(stale)
        if scope is not None:
            qs = scope.filter(name, qs)
        result[name] = qs.order_by(models.F("verified_on").asc(nulls_first=True), "pk")
    if user is not None:
        audit(user, "stale_entries", None, months=months,
              territory=scope.selected or scope.label if scope else None)  # fmt: skip
    return result
