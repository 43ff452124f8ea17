"""Identity vigilance: one Person per human being, doubtful duplicates resolved by a human.

Every care app that takes a person's traits (a booking on the web or by phone today, the GP
waiting list and the vulnerable register next) calls :func:`get_or_create_person` with the
unsaved, validated Person it built, instead of saving it:

- **exact match** (:func:`match_key` equal: normalised birth name and first birth first-name,
  plus the same birth date and sex, not anonymised, same ``synthetic`` flag, and no conflicting
  birth place): the existing Person is reused. Its identity status never goes down (the higher
  of the two is kept); its traits stay; its contact changes only when the new data is better
  (:func:`better_contact`). Audited ("update" with the fields changed, else "view"; detail
  ``identity="reused"``).
- **near match** (same sex, birth date equal or with day and month inverted, and names that are
  close: a typo, a used name given as birth name, another of the birth first names): the new
  Person is created and a :class:`~maillage.care.people.models.PossibleDuplicate` pair is
  recorded for review; nothing is merged automatically.
- otherwise a new Person.

Both lookups are indexed: ``Person.match_key`` (its own index; on PostgreSQL Django adds the
``varchar_pattern_ops`` twin that serves the operator's prefix search) and (birth date, sex).

Normalisation (:func:`normalise_name`): upper case, accents removed (NFKD; Œ→OE, Æ→AE, ß→SS),
then only letters and digits kept, so that hyphens, apostrophes and spaces do not count
("Le Gall", "LE-GALL", "legall" agree; "D'Arcy" and "DARCY" too). Of the first names only the
first counts ("Jean-Pierre Marie" → "JEANPIERRE"; "Jean Pierre", two first names, → "JEAN").

A pair is reviewed (:func:`merge`, :func:`mark_different`) by a staff member who may update
both persons (:func:`maillage.care.people.permissions.can_access`). A merge re-points every
reference to the duplicate onto the person kept, in one transaction: the consents and pairs
here, each care app's own references through :func:`register_merge` (as retention and erasure
do); then, as a safety net, any relation to Person still pointing at the duplicate aborts the
merge (a new app that forgot to register cannot lose its rows), and the duplicate is deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection, models, transaction
from django.utils import timezone
from rapidfuzz.distance import OSA

from maillage import sql
from maillage.care.people import audit
from maillage.care.people.models import (
    Consent,
    IdentityStatus,
    Person,
    PossibleDuplicate,
    normalise_name,
)
from maillage.care.people.permissions import can_access

__all__ = [
    "MergeError",
    "STATUS_RANK",
    "better_contact",
    "get_or_create_person",
    "mark_different",
    "merge",
    "near_reasons",
    "normalise_name",
    "open_pairs",
    "register_merge",
]

PURPOSE = "identity_review"

#: RNIV confidence, lowest first: provisional < recovered (INS teleservice) < validated (identity
#: document) < qualified (both).
STATUS_RANK = {
    IdentityStatus.PROVISIONAL: 0,
    IdentityStatus.RECOVERED: 1,
    IdentityStatus.VALIDATED: 2,
    IdentityStatus.QUALIFIED: 3,
}

#: Contact fields: a better value may replace the stored one on an exact match.
CONTACT_FIELDS = ("phone", "email", "commune_id")

_mergers: list[Callable[[Person, Person], int]] = []


class MergeError(ValueError):
    """A merge refused (French message); nothing was changed."""


def register_merge(repoint: Callable[[Person, Person], int]) -> None:
    """``repoint(kept, duplicate) -> int``: a care app moves its rows that refer to
    ``duplicate`` onto ``kept`` (inside the merge's transaction), returning how many."""
    if repoint not in _mergers:
        _mergers.append(repoint)


# --- matching ----------------------------------------------------------------------------------


def similar(a: str, b: str) -> bool:
    """Two normalised names that are probably the same one mistyped: equal, one edit apart
    (two for names of 8 letters or more), or one the start of the other (a composed name
    given in part: "MARTINDURAND" and "MARTIN")."""
    if not a or not b:
        return False
    if a == b:
        return True
    shorter = min(len(a), len(b))
    if shorter >= 4 and (a.startswith(b) or b.startswith(a)):
        return True
    limit = 2 if shorter >= 8 else 1
    # optimal string alignment: an adjacent transposition counts as one edit
    return shorter >= 3 and OSA.distance(a, b, score_cutoff=limit) <= limit


def _first_names(person: Person) -> set[str]:
    names = {normalise_name(n) for n in person.first_names.replace(",", " ").split()}
    if person.used_first_name:
        names.add(normalise_name(person.used_first_name))
    return names - {""}


def _last_names(person: Person) -> set[str]:
    return {normalise_name(n) for n in (person.birth_name, person.used_name)} - {""}


def _swapped(day: Any) -> Any:
    """The date with day and month inverted (None when that is no date or the same one)."""
    if day is None or day.day > 12 or day.day == day.month:
        return None
    try:
        return day.replace(month=day.day, day=day.month)
    except ValueError:
        return None


def near_reasons(new: Person, old: Person) -> list[str]:
    """Why ``new`` may be ``old`` (codes, empty when not): "date_inverted", "name_typo",
    "used_name", "first_name" (another first name or a typo), "birth_place"."""
    if new.sex != old.sex or new.birth_date is None or old.birth_date is None:
        return []
    reasons = []
    if new.birth_date != old.birth_date:
        if _swapped(new.birth_date) != old.birth_date:
            return []
        reasons.append("date_inverted")
    new_key, old_key = new.match_key.split("|"), old.match_key.split("|")
    if new_key[0] != old_key[0]:
        if _last_names(new) & _last_names(old):
            reasons.append("used_name")
        elif similar(new_key[0], old_key[0]):
            reasons.append("name_typo")
        else:
            return []
    if new_key[1] != old_key[1]:
        firsts_new, firsts_old = _first_names(new), _first_names(old)
        if not (
            firsts_new & firsts_old or any(similar(a, b) for a in firsts_new for b in firsts_old)
        ):
            return []
        reasons.append("first_name")
    if (
        new.birth_place_insee
        and old.birth_place_insee
        and (new.birth_place_insee != old.birth_place_insee)
    ):
        reasons.append("birth_place")
    return reasons


def _candidates(person: Person, found: models.QuerySet[Person]) -> list[Person]:
    """The rows of ``found`` (a lookup on birth date and sex, which anonymised persons never
    match: their birth date is emptied) that are live and of the same ``synthetic`` flag. Both
    are checked here, not in SQL: without statistics SQLite's planner would then pick the
    index of ``anonymised_at`` or ``synthetic`` and read every live person."""
    return [p for p in found if p.anonymised_at is None and p.synthetic == person.synthetic]


def exact_match(person: Person, nearby: list[Person] | None = None) -> Person | None:
    """The existing Person with the same match key, birth date and sex (the highest identity
    status, then the oldest, if several), or None. One indexed lookup, or none when
    ``nearby`` (the persons of the same birth date and sex, :func:`_nearby`) holds them all."""
    if not person.match_key or person.birth_date is None:
        return None
    if nearby is not None and len(nearby) < NEARBY_LIMIT:
        found = [
            p
            for p in nearby
            if p.match_key == person.match_key
            and p.birth_date == person.birth_date
            and p.pk != person.pk
        ]
    else:
        found = _candidates(
            person,
            Person.objects.filter(
                match_key=person.match_key, birth_date=person.birth_date, sex=person.sex
            ).exclude(pk=person.pk)[:20],
        )
    found = [
        p
        for p in found
        if not (
            p.birth_place_insee
            and person.birth_place_insee
            and p.birth_place_insee != person.birth_place_insee
        )
    ]
    if not found:
        return None
    return min(found, key=lambda p: (-STATUS_RANK.get(p.identity_status, 0), p.pk))


NEARBY_LIMIT = 200


def _nearby(person: Person) -> list[Person]:
    """The live persons born the same day (or on its day/month inversion), of the same sex:
    the exact and the near matches are among them (one indexed lookup)."""
    days = [d for d in (person.birth_date, _swapped(person.birth_date)) if d is not None]
    if not days:
        return []
    # written once (maillage.sql): on a booking the ORM's compilation of this lookup cost more
    # than running it
    where = f"t0.birth_date IN ({', '.join(['%s'] * len(days))}) AND t0.sex = %s"
    params: list[Any] = [connection.ops.adapt_datefield_value(d) for d in days] + [person.sex]
    if person.pk is not None:
        where += " AND t0.id <> %s"
        params.append(person.pk)
    found = sql.joined_rows(((Person, ""),), f"{where} ORDER BY t0.id LIMIT {NEARBY_LIMIT}", params)
    return _candidates(person, found)


def near_matches(
    person: Person, limit: int = 10, nearby: list[Person] | None = None
) -> list[tuple[Person, list[str]]]:
    """Existing persons that may be ``person`` (with the reasons), among ``nearby`` (by
    default :func:`_nearby`'s indexed lookup on birth date or its inversion, and sex)."""
    out = []
    for other in _nearby(person) if nearby is None else nearby:
        if other.pk == person.pk:
            continue
        reasons = near_reasons(person, other)
        if reasons:
            out.append((other, reasons))
            if len(out) >= limit:
                break
    return out


def better_contact(existing: Person, new: Person, user: Any) -> list[str]:
    """The contact fields of ``existing`` to take from ``new``, and how it is decided:

    - an empty field is filled;
    - a different value replaces the stored one only when a professional entered it (an
      authenticated user: an operator who has the person on the line, a nurse): the newest
      value said to a professional is the best one known;
    - from an anonymous channel (the public web page) a stored value is never replaced: someone
      who knows a person's traits must not redirect their reminders to another phone.
    """
    trusted = bool(getattr(user, "is_authenticated", False))
    fields = []
    for name in CONTACT_FIELDS:
        old, value = getattr(existing, name), getattr(new, name)
        if value in (None, "") or value == old:
            continue
        if old in (None, "") or trusted:
            fields.append(name)
    return fields


#: First key of the advisory locks of :func:`_lock_birth_dates` (any constant of ours).
_LOCK_NAMESPACE = 0x6D61_696C  # "mail"


def _lock_birth_dates(person: Person) -> None:
    """Serialise the look-then-create of people born the same day (or on its day/month
    inversion, where near matches are looked for) until the transaction ends.

    On PostgreSQL two simultaneous first bookings of one new person would both find nobody
    and both create: a transaction-level advisory lock per birth date makes the second wait
    for the first to commit, then find its Person. Locks are taken in date order (no deadlock
    between two inverted dates). SQLite needs none: its write transactions begin with the
    write lock (``transaction_mode`` IMMEDIATE), so they never overlap.
    """
    if connection.vendor != "postgresql":
        return
    days = sorted({d for d in (person.birth_date, _swapped(person.birth_date)) if d is not None})
    with connection.cursor() as cursor:
        for day in days:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, day.toordinal()]
            )


def get_or_create_person(person: Person, user: Any, purpose: str, **details: Any) -> Person:
    """The saved Person for the unsaved, validated ``person``: an exact match reused (contact
    updated when better, status never lowered), else ``person`` saved, with a possible-duplicate
    pair for each near match. Audited; call it inside the caller's transaction."""
    if person.pk is not None:
        return person
    person.match_key = person.compute_match_key()
    # inside the caller's transaction (no savepoint of its own: an error here ends the caller's)
    with transaction.atomic(savepoint=False):
        _lock_birth_dates(person)
        nearby = _nearby(person)
        existing = exact_match(person, nearby)
        if existing is not None:
            existing = Person.objects.select_for_update().get(pk=existing.pk)
            changed = better_contact(existing, person, user)
            for name in changed:
                setattr(existing, name, getattr(person, name))
            if STATUS_RANK.get(person.identity_status, 0) > STATUS_RANK.get(
                existing.identity_status, 0
            ):
                existing.identity_status = person.identity_status
                changed.append("identity_status")
            if changed:
                existing.save(update_fields=changed)
                fields = sorted(f.removesuffix("_id") for f in changed)
                audit.record(
                    user, "update", existing, purpose, identity="reused", fields=fields, **details
                )
            else:
                audit.record(user, "view", existing, purpose, identity="reused", **details)
            return existing
        person.save()
        audit.record(user, "create", person, purpose, **details)
        for other, reasons in near_matches(person, nearby=nearby):
            first, second = (other, person) if other.pk < person.pk else (person, other)
            pair, created = PossibleDuplicate.objects.get_or_create(
                first=first, second=second, defaults={"reasons": reasons}
            )
            if created:
                audit.record(
                    user, "create", pair, purpose, first=first.pk, second=second.pk,
                    reasons=reasons,
                )  # fmt: skip
    return person


# --- review ------------------------------------------------------------------------------------


def open_pairs(user: Any, limit: int = 100) -> list[PossibleDuplicate]:
    """The open pairs whose two persons ``user`` may see (audited as one list)."""
    pairs = (
        PossibleDuplicate.objects.filter(
            status=PossibleDuplicate.Status.OPEN,
            first__anonymised_at__isnull=True,
            second__anonymised_at__isnull=True,
        )
        .select_related("first", "second")
        .order_by("created_at", "pk")
    )
    shown = [
        p
        for p in pairs[: limit * 5]
        if can_access(user, p.first, "view") and can_access(user, p.second, "view")
    ][:limit]
    audit.record_list(user, [p.first for p in shown] + [p.second for p in shown], PURPOSE)
    return shown


def get_pair(user: Any, pk: int) -> PossibleDuplicate:
    """One pair for review, both persons read (audited); PossibleDuplicate.DoesNotExist when
    unknown, PermissionDenied when ``user`` may not see both persons."""
    pair = PossibleDuplicate.objects.select_related("first", "second").get(pk=pk)
    if pair.first is None or pair.second is None:
        return pair  # decided: a merged person is gone, nothing personal to show
    if not (can_access(user, pair.first, "view") and can_access(user, pair.second, "view")):
        raise PermissionDenied("accès refusé à ces personnes")
    audit.record_list(user, [pair.first, pair.second], PURPOSE, pair=pair.pk)
    return pair


def keepable(pair: PossibleDuplicate) -> list[Person]:
    """The persons of ``pair`` that may be kept: those of the highest identity status (a merge
    never lowers it), the older first."""
    both = [pair.first, pair.second]
    best = max(STATUS_RANK.get(p.identity_status, 0) for p in both)
    return sorted(
        (p for p in both if STATUS_RANK.get(p.identity_status, 0) == best), key=lambda p: p.pk
    )


def _locked_pair(user: Any, pk: int) -> tuple[PossibleDuplicate, Person, Person]:
    pair = PossibleDuplicate.objects.select_for_update().filter(pk=pk).first()
    if pair is None:
        raise MergeError("Cette paire de doublons possibles n'existe pas.")
    if (
        pair.status != PossibleDuplicate.Status.OPEN
        or pair.first_id is None
        or (pair.second_id is None)
    ):
        raise MergeError("Cette paire a déjà été traitée.")
    ids = [pair.first_id, pair.second_id]
    first, second = Person.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    for person in (first, second):
        if not can_access(user, person, "update"):
            raise PermissionDenied("accès refusé à ces personnes")
        if person.anonymised_at is not None:
            raise MergeError("Une des deux personnes a été anonymisée : la fusion est impossible.")
    return pair, first, second


def mark_different(user: Any, pk: int) -> PossibleDuplicate:
    """Close the pair: two different people (audited)."""
    with transaction.atomic():
        pair, _, _ = _locked_pair(user, pk)
        pair.status = PossibleDuplicate.Status.DIFFERENT
        pair.decided_at = timezone.now()
        pair.decided_by = user if getattr(user, "is_authenticated", False) else None
        pair.save(update_fields=["status", "decided_at", "decided_by"])
        audit.record(user, "update", pair, PURPOSE, decision="different")
    return pair


def _references_left(person: Person) -> list[str]:
    """The models whose rows still refer to ``person`` (the pairs excepted)."""
    left = []
    for rel in Person._meta.get_fields(include_hidden=True):
        if not (rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)):
            continue
        model = rel.related_model
        if model is PossibleDuplicate:
            continue
        if model._base_manager.filter(**{rel.field.name: person.pk}).exists():
            left.append(model._meta.label_lower)
    return left


def merge(user: Any, pk: int, keep: int) -> Person:
    """Merge the pair ``pk`` into the person ``keep`` (one of :func:`keepable`): every
    reference re-pointed, empty contact fields of the kept person filled from the other, the
    other person deleted; all or nothing, audited. MergeError (French) when refused."""
    with transaction.atomic():
        pair, first, second = _locked_pair(user, pk)
        pair.first, pair.second = first, second
        if keep not in {p.pk for p in keepable(pair)}:
            raise MergeError(
                "La fiche conservée doit être celle dont l'identité a le statut le plus élevé."
            )
        kept, gone = (first, second) if keep == first.pk else (second, first)
        filled = [
            name
            for name in (*CONTACT_FIELDS, "used_name", "used_first_name", "birth_place_insee")
            if getattr(kept, name) in (None, "") and getattr(gone, name) not in (None, "")
        ]
        for name in filled:
            setattr(kept, name, getattr(gone, name))
        if filled:
            kept.save(update_fields=filled)
        moved = Consent.objects.filter(person=gone).update(person=kept)
        for repoint in list(_mergers):
            moved += int(repoint(kept, gone) or 0)
        left = _references_left(gone)
        if left:
            raise MergeError(
                "Fusion impossible : des données d'une application ne sont pas reprises "
                f"({', '.join(left)}). Rien n'a été modifié."
            )
        _repoint_pairs(kept, gone, pair)
        pair.status = PossibleDuplicate.Status.MERGED
        pair.decided_at = timezone.now()
        pair.decided_by = user if getattr(user, "is_authenticated", False) else None
        pair.kept_id, pair.merged_id = kept.pk, gone.pk
        pair.save()
        audit.record(
            user, "update", kept, PURPOSE, merged=gone.pk, pair=pair.pk, moved=moved,
            fields=sorted(f.removesuffix("_id") for f in filled),
        )  # fmt: skip
        audit.record(user, "delete", gone, PURPOSE, merged_into=kept.pk, pair=pair.pk)
        gone.delete()
    return kept


def _repoint_pairs(kept: Person, gone: Person, decided: PossibleDuplicate) -> None:
    """The other pairs of the duplicate now concern the kept person (one pair per two
    persons; a pair of the kept person with itself disappears)."""
    others = PossibleDuplicate.objects.filter(models.Q(first=gone) | models.Q(second=gone)).exclude(
        pk=decided.pk
    )
    for pair in others:
        other_id = pair.second_id if pair.first_id == gone.pk else pair.first_id
        if other_id == kept.pk or other_id is None:
            pair.delete()
            continue
        low, high = sorted((kept.pk, other_id))
        if PossibleDuplicate.objects.filter(first_id=low, second_id=high).exists():
            pair.delete()
            continue
        pair.first_id, pair.second_id = low, high
        pair.save(update_fields=["first", "second"])
