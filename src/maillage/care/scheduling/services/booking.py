"""Booking, the one function every channel uses (web page, operator's screen, FHIR API).

:func:`book` checks the request (the slot is open, in the future, of a type the caller may
book; the person's identity traits; age at the slot's date at least the site's minimum), then
in one transaction locks the slot's row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's write
lock, taken at the transaction's start by ``BEGIN IMMEDIATE``), picks the first free seat and
inserts the booking. The database has the last word: a seat already held, or beyond the
capacity, is refused by its unique index and its trigger (``IntegrityError``), and the function
then tries the next seat; with none left the slot is full (:class:`SlotFull`).

Every write of personal data is audited (:func:`maillage.care.people.audit.record`, purpose
"booking"); the audit details carry ids and codes only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from maillage import sql
from maillage.accounts.models import Role
from maillage.accounts.permissions import can, role_of
from maillage.care.people import audit, identity
from maillage.care.people.models import (
    Consent,
    ConsentChannel,
    ConsentPurpose,
    IdentityStatus,
    Person,
    Sex,
    e164_phone,
)
from maillage.care.scheduling.models import (
    ACTIVE_STATUSES,
    Booking,
    BookingStatus,
    Channel,
    Schedule,
    Site,
    Slot,
    SlotType,
)
from maillage.care.scheduling.services.generation import local_zone
from maillage.directory.models import PractitionerRole

#: Letters and digits that cannot be mistaken for one another (no 0/O, 1/I/L, 5/S, 8/B, 2/Z).
REFERENCE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
REFERENCE_LENGTH = 8
PURPOSE = "booking"


class BookingError(ValueError):
    """A booking refused for a reason the person or the client can fix (French message)."""

    code = "invalid"
    status = 400


class SlotFull(BookingError):
    code = "conflict"
    status = 409


class SlotUnavailable(BookingError):
    code = "business-rule"
    status = 409


class TooYoung(BookingError):
    code = "business-rule"
    status = 422


class NotAllowed(BookingError):
    code = "forbidden"
    status = 403


@dataclass(frozen=True)
class BookingResult:
    booking: Booking
    #: The private token of the person's see/move/cancel link: shown once, never stored.
    access_token: str


def new_reference() -> str:
    raw = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalise_reference(value: str) -> str:
    """What a person types ("k7pm 3qxa") → the stored form ("K7PM-3QXA")."""
    raw = "".join(c for c in value.upper() if c.isalnum())
    return f"{raw[:4]}-{raw[4:]}" if len(raw) == REFERENCE_LENGTH else raw


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def by_access_token(token: str) -> Booking | None:
    """The booking of a private link's token (None for an unknown token)."""
    if not token or len(token) > 100:
        return None
    return (
        Booking.objects.select_related("slot__schedule__site")
        .filter(access_digest=digest(token))
        .first()
    )


def local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(local_zone()).date()


def _person(data: dict[str, Any] | Person, slot_day: dt.date) -> Person:
    """An unsaved Person from the identity traits given (checked, phone in E.164)."""
    if isinstance(data, Person):
        return data
    known = {
        "birth_name", "first_names", "used_first_name", "used_name", "birth_date", "sex",
        "birth_place_insee", "phone", "email", "commune_id", "synthetic",
    }  # fmt: skip
    unknown = set(data) - known
    if unknown:
        raise BookingError(f"champs inconnus : {', '.join(sorted(unknown))}")
    birth_name = " ".join(str(data.get("birth_name", "")).split())
    first_names = " ".join(str(data.get("first_names", "")).split())
    if not birth_name:
        raise BookingError("Le nom de naissance est obligatoire.")
    if not first_names:
        raise BookingError("Le ou les prénoms de naissance sont obligatoires.")
    if len(birth_name) > 100 or len(first_names) > 200:
        raise BookingError("Le nom ou les prénoms sont trop longs.")
    birth_date = data.get("birth_date")
    if isinstance(birth_date, str):
        try:
            birth_date = dt.date.fromisoformat(birth_date)
        except ValueError:
            raise BookingError(
                f"Date de naissance illisible : « {birth_date[:20]} » (attendu AAAA-MM-JJ)."
            ) from None
    if not isinstance(birth_date, dt.date):
        raise BookingError("La date de naissance est obligatoire.")
    if birth_date > slot_day:
        raise BookingError("La date de naissance est postérieure à la date du rendez-vous.")
    if birth_date.year < 1900:
        raise BookingError("La date de naissance est invalide (avant 1900).")
    sex = data.get("sex")
    if sex not in Sex.values:
        raise BookingError("Le sexe est obligatoire (F, M ou I pour indéterminé).")
    phone = str(data.get("phone") or "").strip()
    if phone:
        try:
            phone = e164_phone(phone)
        except ValueError as exc:
            raise BookingError(str(exc)) from None
    person = Person(
        birth_name=birth_name.upper(),
        first_names=first_names,
        used_first_name=str(data.get("used_first_name") or "")[:100],
        used_name=str(data.get("used_name") or "")[:100],
        birth_date=birth_date,
        sex=sex,
        birth_place_insee=str(data.get("birth_place_insee") or "")[:5],
        identity_status=IdentityStatus.PROVISIONAL,
        phone=phone,
        email=str(data.get("email") or "")[:254],
        commune_id=data.get("commune_id") or None,
        synthetic=bool(data.get("synthetic", False)),
    )
    try:
        person.full_clean(exclude=["commune", "attending_doctor"])
    except ValidationError as exc:
        messages = [m for ms in exc.message_dict.values() for m in ms]
        raise BookingError(" ".join(messages)) from None
    return person


def check_bookable(slot: Slot, user: Any, now: dt.datetime | None = None) -> None:
    """Refuse a slot that cannot be booked by ``user`` now (before any lock is taken)."""
    now = now or timezone.now()
    site = slot.schedule.site
    if not (site.active and slot.schedule.active):
        raise SlotUnavailable("Ce site ne prend pas de rendez-vous actuellement.")
    if slot.start <= now:
        raise SlotUnavailable("Ce créneau est passé : choisissez un créneau à venir.")
    if slot.blocked:
        raise SlotUnavailable("Ce créneau a été fermé : choisissez-en un autre.")
    if not may_book_type(slot, user):
        raise NotAllowed(
            "Ce créneau est réservé (professionnels ou structure partenaire) : il ne peut pas "
            "être pris ici."
        )


def may_book_type(slot: Slot, user: Any) -> bool:
    """Public slots: anyone. Slots for professionals or regulators: any professional role.
    Slots reserved to a partner: the partner's members, the site's staff, administrators."""
    if slot.slot_type == SlotType.PUBLIC:
        return True
    if slot.slot_type != SlotType.PARTNER:
        return can(user, "view_pro")
    if role_of(user) == Role.ADMINISTRATOR or slot.schedule.site.is_served_by(user):
        return True
    profile = getattr(user, "profile", None)
    return profile is not None and profile.organizations.filter(pk=slot.partner_id).exists()


def check_age(person: Person, slot: Slot) -> None:
    minimum = slot.schedule.site.min_age
    day = local_date(slot.start)
    if minimum and person.birth_date is not None and person.age_on(day) < minimum:
        raise TooYoung(
            f"Ce site reçoit les patients à partir de {minimum} ans : la personne aura "
            f"{person.age_on(day)} an{'s' if person.age_on(day) > 1 else ''} le "
            f"{day:%d/%m/%Y}, date du rendez-vous."
        )


def book(
    slot: Slot | int,
    person_data: dict[str, Any] | Person,
    *,
    channel: str,
    user: Any = None,
    reason: str = "",
    has_gp: bool | None = None,
    gp: PractitionerRole | None = None,
    consents: dict[str, bool] | None = None,
    now: dt.datetime | None = None,
) -> BookingResult:
    """Book one seat of ``slot`` for the person described by ``person_data`` (identity traits,
    a dict of Person fields, or an existing Person). Raises :class:`BookingError` (and its
    subclasses: :class:`SlotFull`, :class:`TooYoung`…) with a French message."""
    if channel not in Channel.values:
        raise BookingError(f"canal inconnu : {channel!r}")
    if not isinstance(slot, Slot):
        found = by_id(slot)
        if found is None:
            raise BookingError("Ce créneau n'existe pas.")
        slot = found
    reason = (reason or "").strip()
    if len(reason) > 500:
        raise BookingError("Le motif doit tenir en une ligne (500 caractères au plus).")
    if has_gp is False and gp is not None:
        raise BookingError("Un médecin traitant est indiqué alors que la personne n'en a pas.")
    check_bookable(slot, user, now)
    person = _person(person_data, local_date(slot.start))
    check_age(person, slot)
    token = secrets.token_urlsafe(24)
    with transaction.atomic():
        # One statement locks the slot's row (until the commit) and takes a place in its
        # counter, if one is left and the slot is still open; the check constraint
        # booked <= capacity backs it.
        if not _claim(slot.pk, now or timezone.now()):
            slot.refresh_from_db(fields=["booked", "capacity", "blocked", "start"])
            check_bookable(slot, user, now)  # closed or past: its own message
            raise SlotFull("Ce créneau vient d'être pris : choisissez-en un autre.")
        # seats held (the row is locked now): with one seat, none, since a place was left
        taken = (
            set(
                Booking.objects.filter(slot=slot, status__in=ACTIVE_STATUSES).values_list(
                    "seat", flat=True
                )
            )
            if slot.capacity > 1
            else set()
        )
        slot.booked = len(taken) + 1
        if person.pk is None:
            person = identity.get_or_create_person(person, user, PURPOSE, channel=channel)
        booking = None
        for seat in (s for s in range(slot.capacity) if s not in taken):
            candidate = Booking(
                slot=slot, seat=seat, person=person, channel=channel, reason=reason,
                has_gp=has_gp, gp=gp,
                booked_by=user if getattr(user, "is_authenticated", False) else None,
                access_digest=digest(token), synthetic=person.synthetic,
            )  # fmt: skip
            try:
                booking = _insert(candidate)
            except IntegrityError:
                continue  # the database says this seat is held (or beyond capacity)
            break
        if booking is None:
            raise SlotFull("Ce créneau vient d'être pris : choisissez-en un autre.")
        for purpose, given in (consents or {}).items():
            if purpose not in ConsentPurpose.values:
                raise BookingError(f"finalité de consentement inconnue : {purpose!r}")
            Consent.objects.create(
                person=person,
                purpose=purpose,
                given=bool(given),
                channel=ConsentChannel.WEB if channel == Channel.WEB else (
                    ConsentChannel.PHONE if channel == Channel.PHONE
                    else ConsentChannel.PROFESSIONAL
                ),
                recorded_by=user if getattr(user, "is_authenticated", False) else None,
            )  # fmt: skip
        audit.record(
            user, "create", booking, PURPOSE, channel=channel, slot=slot.pk, seat=booking.seat
        )
    return BookingResult(booking, token)


SLOT_CHAIN = ((Slot, ""), (Schedule, "schedule"), (Site, "site"))


def by_id(pk: int) -> Slot | None:
    """The slot ``pk`` with its schedule and site (as ``select_related`` gives them), read by
    a statement written once: the ORM's compilation of this join was a tenth of a booking's
    processor time (:mod:`maillage.sql`)."""
    return sql.joined_row(SLOT_CHAIN, "t0.id = %s", [pk])


_CLAIM = (
    "UPDATE scheduling_slot SET booked = booked + 1 "
    "WHERE id = %s AND booked < capacity AND NOT blocked AND start > %s"
)


def _claim(pk: int, moment: dt.datetime) -> bool:
    """Take a place in the slot's counter if one is left and the slot is still open: one
    statement, which also locks the slot's row until the commit (the check constraint
    ``booked <= capacity`` backs it). The ORM's ``update(booked=F(…) + 1)`` is the same
    statement, compiled again on every booking."""
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM, [pk, connection.ops.adapt_datetimefield_value(moment)])
        return cursor.rowcount == 1


def _insert(candidate: Booking) -> Booking:
    """Insert in a savepoint (a refused seat leaves the transaction usable), drawing another
    reference on the rare clash of two references."""
    for _ in range(5):
        candidate.reference = new_reference()
        try:
            with transaction.atomic():
                candidate.save(force_insert=True)
            return candidate
        except IntegrityError:
            if Booking.objects.filter(reference=candidate.reference).exists():
                candidate.pk = None
                continue
            raise
    raise IntegrityError("no free booking reference after 5 draws")


def cancel(booking: Booking, user: Any = None, *, now: dt.datetime | None = None) -> Booking:
    """Cancel a booking (its seat is freed at once). Cancelling twice changes nothing."""
    with transaction.atomic():
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        if locked.status == BookingStatus.CANCELLED:
            return locked
        if locked.status != BookingStatus.BOOKED:
            raise BookingError("Ce rendez-vous a déjà eu lieu : il ne peut plus être annulé.")
        slot = Slot.objects.select_for_update().get(pk=locked.slot_id)
        locked.status = BookingStatus.CANCELLED
        locked.cancelled_at = now or timezone.now()
        locked.save(update_fields=["status", "cancelled_at"])
        Slot.objects.filter(pk=slot.pk).update(booked=max(slot.booked - 1, 0))
        audit.record(user, "update", locked, PURPOSE, status="cancelled")
    return locked
