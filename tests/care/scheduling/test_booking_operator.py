"""The phone operator's screen: only operators (and nurses) with their second factor, only the
sites they serve; booking on behalf of a caller; a caller's earlier bookings (audited reads);
cancel, move and attendance on their behalf."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.test import Client
from django.utils import timezone

from maillage.accounts.models import AuditEvent, Role
from maillage.care.people.models import Consent
from maillage.care.scheduling.models import Booking, BookingStatus, Slot
from maillage.care.scheduling.services import attendance
from maillage.care.scheduling.services.booking import BookingError, NotAllowed

from .booking_fixtures import *  # noqa: F403 (the fixtures)
from .booking_fixtures import FORM, HOST, room_slots, sms_texts, verified_client

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_anonymous_professionals_and_unverified_operators_do_not_get_in(room, make_user, operator):
    anonymous = Client(**HOST).get("/soins/operateur/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/connexion/")
    pro = make_user("docteur", Role.PROFESSIONAL)
    client = verified_client(pro)
    assert client.get("/soins/operateur/").status_code == 403
    assert client.get("/soins/operateur/appelants/?c-phone=0353010042").status_code == 403
    coordinator = make_user("coordination", Role.COORDINATOR)
    assert verified_client(coordinator).get("/soins/operateur/").status_code == 403
    # an operator who has not typed the code of the second factor in this session
    plain = Client(**HOST)
    plain.force_login(operator)
    response = plain.get("/soins/operateur/")
    assert response.status_code == 302
    assert response["Location"].startswith("/compte/double-authentification/")


def test_an_operator_sees_only_the_slots_of_the_sites_they_serve(room, other_site, operator):
    client = verified_client(operator)
    page = client.get("/soins/operateur/", **HOST)
    assert page.status_code == 200
    body = text(page)
    assert body.count('data-testid="op-slot"') == 5  # the room's five, pro slot included
    assert "Autre salle" not in body
    assert "Raccourcis clavier" in body and 'accesskey="j"' in body
    other = Slot.objects.get(schedule__site=other_site)
    assert client.get(f"/soins/operateur/creneaux/{other.pk}/reserver/").status_code == 404
    # filters: day, type
    day = timezone.localtime(room_slots(room)[-1].start).date()
    filtered = text(client.get(f"/soins/operateur/?day={day:%d/%m/%Y}&days=1&slot_type=public"))
    assert filtered.count('data-testid="op-slot"') == 1
    bad = client.get("/soins/operateur/?day=hier&days=999")
    assert bad.status_code == 400 and "Saisissez une date valide" in text(bad)


def test_an_operator_books_for_a_caller_then_finds_moves_cancels_it(room, operator, sms_dir):
    client = verified_client(operator)
    slot, other, *_ = room_slots(room)
    response = client.post(f"/soins/operateur/creneaux/{slot.pk}/reserver/", FORM)
    assert response.status_code == 302, text(response)[:2000]
    booking = Booking.objects.get()
    assert (booking.channel, booking.booked_by, booking.slot) == ("phone", operator, slot)
    assert set(Consent.objects.values_list("channel", flat=True)) == {"phone"}
    assert set(Consent.objects.values_list("recorded_by", flat=True)) == {operator.pk}
    page = client.get(response["Location"])
    assert booking.reference in text(page) and 'data-testid="confirmed"' in text(page)
    assert AuditEvent.objects.filter(
        user=operator, action="view", target_id=str(booking.pk), purpose="phone_booking"
    ).exists()
    assert any(booking.reference in s for s in sms_texts(sms_dir))
    # the caller calls back: found by birth name + date of birth, and by phone
    events = AuditEvent.objects.filter(user=operator, action="view").count()
    found = client.get(
        "/soins/operateur/appelants/",
        {"c-birth_name": "zorg", "c-birth_date": "17/02/1941"},
    )
    assert found.status_code == 200 and booking.reference in text(found)
    by_phone = client.get("/soins/operateur/appelants/", {"c-phone": "03 53 01 00 42"})
    assert booking.reference in text(by_phone)
    listed = AuditEvent.objects.filter(user=operator, action="view").order_by("pk")[events:]
    kinds = {(e.target_type, tuple(e.details.get("ids", []))) for e in listed}
    assert ("scheduling.booking", (booking.pk,)) in kinds
    assert ("people.person", (booking.person_id,)) in kinds
    nobody = client.get("/soins/operateur/appelants/", {"c-phone": "03 53 01 00 99"})
    assert 'data-testid="no-caller"' in text(nobody)
    vague = client.get("/soins/operateur/appelants/", {"c-birth_name": "zorg"})
    assert vague.status_code == 400 and "date de naissance" in text(vague)
    # moved, then cancelled on the caller's behalf
    assert client.get(f"/soins/operateur/rdv/{booking.pk}/deplacer/").status_code == 200
    moved = client.post(f"/soins/operateur/rdv/{booking.pk}/deplacer/", {"slot": other.pk})
    assert moved.status_code == 302
    booking.refresh_from_db()
    assert booking.slot == other
    assert client.get(f"/soins/operateur/rdv/{booking.pk}/annuler/").status_code == 405
    assert client.post(f"/soins/operateur/rdv/{booking.pk}/annuler/").status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED


def test_an_operator_of_another_site_cannot_open_the_booking(room, other_site, make_user):
    from maillage.care.scheduling.services.booking import book

    result = book(room_slots(room)[0], {**_traits()}, channel="web")
    stranger = make_user("operateur2", Role.OPERATOR)
    other_site.staff.add(stranger)
    client = verified_client(stranger)
    for path in ("", "deplacer/"):
        assert client.get(f"/soins/operateur/rdv/{result.booking.pk}/{path}").status_code == 404
    assert client.post(f"/soins/operateur/rdv/{result.booking.pk}/annuler/").status_code == 404
    found = client.get("/soins/operateur/appelants/", {"c-phone": "03 53 01 00 42"})
    assert result.booking.reference not in text(found)
    assert Booking.objects.get().status == BookingStatus.BOOKED
    # the same person booked at the stranger's site too: only that booking is listed
    there = book(Slot.objects.get(schedule__site=other_site), result.booking.person, channel="web")
    found = text(client.get("/soins/operateur/appelants/", {"c-phone": "03 53 01 00 42"}))
    assert there.booking.reference in found and result.booking.reference not in found


def _traits() -> dict:
    return {
        "birth_name": "Zorgbelin", "first_names": "Philomène", "birth_date": "1941-02-17",
        "sex": "F", "phone": "03 53 01 00 42",
    }  # fmt: skip


def test_no_shows_are_recorded_on_the_day_only_by_staff_of_the_site(room, operator, make_user):
    from maillage.care.scheduling.services.booking import book

    slot = room_slots(room)[0]
    booking = book(slot, _traits(), channel="web").booking
    with pytest.raises(BookingError, match="à venir"):
        attendance.mark(booking, "no_show", operator)
    # the slot's day has come (its time moved to this morning)
    start = timezone.now() - dt.timedelta(hours=1)
    Slot.objects.filter(pk=slot.pk).update(start=start, end=start + dt.timedelta(minutes=30))
    with pytest.raises(NotAllowed):
        attendance.mark(booking, "no_show", make_user("intrus", Role.OPERATOR))
    with pytest.raises(BookingError, match="Statut inconnu"):
        attendance.mark(booking, "perdu", operator)
    client = verified_client(operator)
    page = text(client.get(f"/soins/operateur/rdv/{booking.pk}/"))
    assert 'data-testid="no-show"' in page
    assert (
        client.post(
            f"/soins/operateur/rdv/{booking.pk}/presence/", {"status": "no_show"}
        ).status_code
        == 302
    )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.NO_SHOW
    event = AuditEvent.objects.filter(purpose="nurse_day", details__status="no_show").get()
    assert event.user == operator and event.details == {"status": "no_show", "previous": "booked"}
    bad = client.post(f"/soins/operateur/rdv/{booking.pk}/presence/", {"status": "x"})
    assert bad.status_code == 400 and "inconnu" in text(bad)
    assert re.search(r"Absent", text(client.get(f"/soins/operateur/rdv/{booking.pk}/")))


def test_the_demo_operator_and_nurse_serve_both_rooms(demo_db, tmp_path, monkeypatch):
    from django.contrib.auth.models import User

    from maillage.care.scheduling.models import Site
    from maillage.demo.accounts import ensure_demo_accounts
    from maillage.demo.scheduling import load_demo_scheduling

    monkeypatch.setenv("MAILLAGE_HOME", str(tmp_path))
    load_demo_scheduling()
    passwords = ensure_demo_accounts()
    rooms = set(
        Site.objects.filter(slug__startswith="teleconsultation-").values_list("slug", flat=True)
    )
    assert rooms == {"teleconsultation-clos-mortier", "teleconsultation-la-noue"}
    for username, role in (("operateur.cpts", "operator"), ("infirmiere.cpts", "nurse")):
        user = User.objects.get(username=username)
        assert user.check_password(passwords[username]) and user.profile.role == role
        assert set(user.care_sites.values_list("slug", flat=True)) == rooms
    assert ensure_demo_accounts() == passwords  # idempotent
