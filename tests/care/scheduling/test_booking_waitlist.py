"""The waiting list: a person asks to be told when a slot frees up; a cancellation offers the
freed slot to the next person in line (SMS with a link valid for a limited time), who confirms
it through book(); an expired offer passes to the next person."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.utils import timezone

from maillage.care.people.models import Person
from maillage.care.scheduling.models import Booking, BookingStatus
from maillage.care.scheduling.models_booking import (
    OfferStatus,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
)
from maillage.care.scheduling.services import channels, waitlist

from .booking_fixtures import *  # noqa: F403 (the fixtures)
from .booking_fixtures import FORM, HOST, room_slots, sms_texts

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return html.unescape(response.content.decode())


def join(client, site, **changes):
    today = timezone.localdate()
    data = {
        **FORM,
        "from_date": today.isoformat(),
        "until_date": (today + dt.timedelta(days=10)).isoformat(),
        **changes,
    }
    return client.post(f"/rendez-vous/{site.slug}/liste-attente/", data, **HOST)


def fill(room) -> list[Booking]:
    """Every public slot of the room booked by someone."""
    from maillage.care.scheduling.services.booking import book

    return [
        book(slot, {"birth_name": f"Plein{i}", "first_names": "Jean", "birth_date": "1980-01-01",
                    "sex": "M", "phone": f"03 53 01 00 {10 + i:02d}"}, channel="web").booking
        for i, slot in enumerate(room_slots(room))
    ]  # fmt: skip


def test_joining_the_waiting_list_from_the_page(client, room):
    page = client.get(f"/rendez-vous/{room.slug}/liste-attente/", **HOST)
    assert page.status_code == 200 and Person.objects.count() == 0
    bad = join(client, room, until_date="2000-01-01")
    assert bad.status_code == 400 and WaitlistEntry.objects.count() == 0
    assert "précède" in text(bad) or "passée" in text(bad)
    too_young = join(client, room, birth_date=timezone.localdate().strftime("%d/%m/%Y"))
    assert too_young.status_code == 400 and "à partir de 6 ans" in text(too_young)
    assert Person.objects.count() == 0
    done = join(client, room, weekdays=["0", "3"])
    assert done.status_code == 200 and 'data-testid="waitlist-done"' in text(done)
    entry = WaitlistEntry.objects.get()
    assert (entry.weekdays, entry.status, entry.reason) == (
        "03", "waiting", "Toux sèche depuis trois jours",
    )  # fmt: skip
    assert entry.person.identity_status == "provisional"


def test_a_cancelled_booking_is_offered_to_the_next_person_first_to_confirm_gets_it(
    client, room, sms_dir
):
    bookings = fill(room)
    assert join(client, room).status_code == 200
    assert join(client, room, birth_name="Second", phone="03 53 01 00 77").status_code == 200
    first_entry, second_entry = WaitlistEntry.objects.order_by("pk")
    assert waitlist.offer_free_slots() == []  # nothing free yet
    channels.cancel_booking(bookings[0])
    [(offer, token)] = waitlist.offer_free_slots()
    from maillage.care.scheduling.notify import notify_offer

    assert notify_offer(offer, token) == 2
    assert offer.entry == first_entry and offer.slot == bookings[0].slot
    first_entry.refresh_from_db()
    assert first_entry.status == WaitlistStatus.OFFERED
    # the SMS carries the link, never the reason
    [sms] = [s for s in sms_texts(sms_dir) if "s'est libéré" in s]
    link = re.search(r"http://[^\s]+/rendez-vous/offre/([\w-]+)/confirmer/", sms)
    assert link and link.group(1) == token and "Toux" not in sms
    # a second run offers that slot to no one else while the offer is open
    assert waitlist.offer_free_slots() == []
    page = client.get(f"/rendez-vous/offre/{token}/confirmer/", **HOST)
    assert page.status_code == 200 and 'data-testid="accept"' in text(page)
    assert Booking.objects.filter(person=first_entry.person).count() == 0  # GET: nothing
    accepted = client.post(f"/rendez-vous/offre/{token}/confirmer/", **HOST)
    assert accepted.status_code == 302 and accepted["Location"].startswith("/rendez-vous/rdv/")
    booking = Booking.objects.get(person=first_entry.person)
    assert booking.slot == bookings[0].slot and booking.status == BookingStatus.BOOKED
    assert booking.reason == "Toux sèche depuis trois jours"
    offer.refresh_from_db()
    first_entry.refresh_from_db()
    assert offer.status == OfferStatus.ACCEPTED and first_entry.status == WaitlistStatus.BOOKED
    again = client.post(f"/rendez-vous/offre/{token}/confirmer/", **HOST)
    assert again.status_code == 400 and "plus valable" in text(again)
    assert Booking.objects.filter(person=first_entry.person).count() == 1
    second_entry.refresh_from_db()
    assert second_entry.status == WaitlistStatus.WAITING


def test_an_expired_offer_passes_to_the_next_person(client, room, settings):
    bookings = fill(room)
    join(client, room)
    join(client, room, birth_name="Second", phone="03 53 01 00 77")
    first_entry, second_entry = WaitlistEntry.objects.order_by("pk")
    channels.cancel_booking(bookings[0])
    [(offer, token)] = waitlist.offer_free_slots()
    later = timezone.now() + dt.timedelta(hours=settings.MAILLAGE_WAITLIST_OFFER_HOURS, minutes=1)
    [(second, _)] = waitlist.offer_free_slots(now=later)
    assert second.entry == second_entry and second.slot == offer.slot
    offer.refresh_from_db()
    first_entry.refresh_from_db()
    assert offer.status == OfferStatus.EXPIRED and first_entry.status == WaitlistStatus.WAITING
    late = client.post(f"/rendez-vous/offre/{token}/confirmer/", **HOST)
    assert late.status_code == 400 and "plus valable" in text(late)


def test_a_slot_taken_meanwhile_leaves_the_person_waiting(client, room):
    from maillage.care.scheduling.services.booking import book

    bookings = fill(room)
    join(client, room)
    channels.cancel_booking(bookings[0])
    [(offer, token)] = waitlist.offer_free_slots()
    book(offer.slot, {"birth_name": "Rapide", "first_names": "Léa", "birth_date": "1990-05-05",
                      "sex": "F", "phone": "03 53 01 00 88"}, channel="phone")  # fmt: skip
    taken = client.post(f"/rendez-vous/offre/{token}/confirmer/", **HOST)
    assert taken.status_code == 400 and "vient d'être pris" in text(taken)
    offer.refresh_from_db()
    assert offer.status == OfferStatus.TAKEN
    assert WaitlistEntry.objects.get().status == WaitlistStatus.WAITING
    assert WaitlistOffer.objects.count() == 1


def test_a_cancellation_has_the_worker_offer_the_slot(
    client, room, sms_dir, worker, django_capture_on_commit_callbacks
):
    bookings = fill(room)
    join(client, room)
    with django_capture_on_commit_callbacks(execute=True):
        channels.cancel_booking(bookings[0])
    worker()  # the task enqueued after the commit
    offer = WaitlistOffer.objects.get()
    assert offer.slot == bookings[0].slot and offer.status == OfferStatus.OPEN
    assert any("s'est libéré" in s for s in sms_texts(sms_dir))


def test_the_worker_start_schedules_the_reminders_and_offers_once(db):
    from django_tasks_db.models import DBTaskResult

    from maillage.care.scheduling.booking_tasks import (
        ensure_scheduled,
        offer_free_slots_task,
        send_reminders_daily,
    )

    ensure_scheduled()
    ensure_scheduled()  # a second worker start adds nothing
    waiting = DBTaskResult.objects.filter(status="READY")
    assert waiting.filter(task_path=send_reminders_daily.module_path).count() == 1
    assert waiting.filter(task_path=offer_free_slots_task.module_path).count() == 1
    reminder = waiting.get(task_path=send_reminders_daily.module_path)
    assert timezone.localtime(reminder.run_after).time() == dt.time(17, 0)
