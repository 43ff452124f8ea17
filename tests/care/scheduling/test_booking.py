"""The booking service and the database's own guard against double booking."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from maillage.accounts.models import AuditEvent
from maillage.care.people.models import Consent, Person
from maillage.care.scheduling.models import Booking, BookingStatus, Slot, SlotType
from maillage.care.scheduling.services import booking as service

pytestmark = pytest.mark.django_db

PERSON = {
    "birth_name": "Martin",
    "first_names": "Jeanne Marie",
    "birth_date": "1950-03-02",
    "sex": "F",
    "phone": "03 53 01 00 01",  # ARCEP range reserved for fiction (Grand Est)
    "synthetic": True,
}


@pytest.fixture
def slot(schedule) -> Slot:
    start = timezone.now().replace(microsecond=0) + dt.timedelta(days=2)
    return Slot.objects.create(
        schedule=schedule, start=start, end=start + dt.timedelta(minutes=30), capacity=1
    )


def raw_booking(slot: Slot, seat: int, person: Person, reference: str) -> None:
    """An INSERT that bypasses the service (as a buggy script or a second app would)."""
    Booking.objects.create(
        slot=slot, seat=seat, person=person, reference=reference,
        access_digest=service.digest(reference), channel="api",
    )  # fmt: skip


def test_book_creates_the_person_the_booking_and_audits_them(slot):
    result = service.book(
        slot, PERSON, channel="web", reason="Toux depuis 3 jours", has_gp=False,
        consents={"teleconsultation": True, "report_to_gp": False},
    )  # fmt: skip
    booking = result.booking
    assert booking.status == BookingStatus.BOOKED and booking.seat == 0
    assert booking.person.birth_name == "MARTIN" and booking.person.phone == "+33353010001"
    assert booking.person.identity_status == "provisional"
    assert len(booking.reference) == 9 and set(booking.reference) <= set(
        service.REFERENCE_ALPHABET + "-"
    )
    assert service.by_access_token(result.access_token) == booking
    assert result.access_token not in booking.access_digest
    slot.refresh_from_db()
    assert (slot.booked, slot.status) == (1, "busy")
    assert Consent.objects.filter(person=booking.person).count() == 2
    events = AuditEvent.objects.filter(purpose="booking")
    assert {e.target_type for e in events} == {"people.person", "scheduling.booking"}
    # the reason is encrypted at rest
    with connection.cursor() as cursor:
        cursor.execute("SELECT reason FROM scheduling_booking WHERE id = %s", [booking.pk])
        assert "Toux" not in cursor.fetchone()[0]
    assert Booking.objects.get(pk=booking.pk).reason == "Toux depuis 3 jours"


def test_a_full_slot_is_refused_and_nothing_is_written(slot):
    service.book(slot, PERSON, channel="web")
    people = Person.objects.count()
    with pytest.raises(service.SlotFull):
        service.book(slot, {**PERSON, "birth_name": "Durand"}, channel="phone")
    assert Person.objects.count() == people
    assert Booking.objects.filter(slot=slot).count() == 1


def test_capacity_two_gives_two_seats_and_cancel_frees_one(slot):
    Slot.objects.filter(pk=slot.pk).update(capacity=2)
    slot.refresh_from_db()
    a = service.book(slot, PERSON, channel="web").booking
    b = service.book(slot, {**PERSON, "birth_name": "Durand"}, channel="web").booking
    assert {a.seat, b.seat} == {0, 1}
    with pytest.raises(service.SlotFull):
        service.book(slot, PERSON, channel="web")
    service.cancel(a)
    service.cancel(a)  # twice: no change
    slot.refresh_from_db()
    assert slot.booked == 1
    c = service.book(slot, PERSON, channel="web").booking
    assert c.seat == a.seat


def test_age_is_checked_at_the_slot_date_with_a_french_message(slot):
    day = slot.start.astimezone(dt.timezone(dt.timedelta(hours=1))).date()
    six_tomorrow = day.replace(year=day.year - 6) + dt.timedelta(days=1)
    with pytest.raises(service.TooYoung, match="à partir de 6 ans : la personne aura 5 ans"):
        service.book(slot, {**PERSON, "birth_date": six_tomorrow.isoformat()}, channel="web")
    six_today = day.replace(year=day.year - 6) - dt.timedelta(days=1)
    assert service.book(slot, {**PERSON, "birth_date": six_today.isoformat()}, channel="web")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"birth_name": ""}, "nom de naissance est obligatoire"),
        ({"birth_date": "02/03/1950"}, "Date de naissance illisible"),
        ({"sex": "X"}, "sexe est obligatoire"),
        ({"phone": "12"}, "n'est pas un numéro de téléphone valide"),
        ({"nir": "1"}, "champs inconnus"),
    ],
)
def test_bad_identity_traits_are_refused_in_french(slot, change, message):
    with pytest.raises(service.BookingError, match=message):
        service.book(slot, {**PERSON, **change}, channel="web")
    assert not Booking.objects.exists()


def test_past_blocked_and_reserved_slots_are_refused(slot, schedule):
    past = timezone.now() - dt.timedelta(hours=1)
    old = Slot.objects.create(schedule=schedule, start=past, end=past + dt.timedelta(minutes=30))
    with pytest.raises(service.SlotUnavailable, match="passé"):
        service.book(old, PERSON, channel="web")
    Slot.objects.filter(pk=slot.pk).update(slot_type=SlotType.PRO)
    slot.refresh_from_db()
    with pytest.raises(service.NotAllowed, match="réservé"):
        service.book(slot, PERSON, channel="web")
    Slot.objects.filter(pk=slot.pk).update(slot_type=SlotType.PUBLIC, blocked=True)
    slot.refresh_from_db()
    with pytest.raises(service.SlotUnavailable, match="fermé"):
        service.book(slot, PERSON, channel="web")


# --- the database refuses what the code would refuse ---------------------------------------------
@pytest.fixture
def person(demo_db) -> Person:
    return Person.objects.create(
        birth_name="MARTIN", first_names="Jeanne", birth_date=dt.date(1950, 1, 1), sex="F"
    )


def test_the_database_refuses_a_second_booking_of_a_seat(slot, person):
    raw_booking(slot, 0, person, "AAAA-AAAA")
    with pytest.raises(IntegrityError), transaction.atomic():
        raw_booking(slot, 0, person, "CCCC-CCCC")


def test_the_database_refuses_a_seat_beyond_capacity(slot, person):
    with pytest.raises(IntegrityError), transaction.atomic():
        raw_booking(slot, 1, person, "AAAA-AAAA")  # capacity 1: seat 0 only
    Slot.objects.filter(pk=slot.pk).update(capacity=2)
    raw_booking(slot, 1, person, "CCCC-CCCC")  # now it fits
    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.filter(reference="CCCC-CCCC").update(seat=2)


def test_a_cancelled_booking_frees_its_seat_in_the_database(slot, person):
    raw_booking(slot, 0, person, "AAAA-AAAA")
    Booking.objects.filter(reference="AAAA-AAAA").update(status=BookingStatus.CANCELLED)
    raw_booking(slot, 0, person, "CCCC-CCCC")
    assert Booking.objects.filter(slot=slot, seat=0).count() == 2


def test_the_database_refuses_a_booked_count_beyond_capacity(slot):
    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(booked=2)
