"""The public booking pages: no account, a slot chosen, the form, the confirmation with its
reference and private link, and that link's see / move / cancel; bad input answered in French,
never a 500, nothing half-written; a GET never writes."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from maillage.accounts.models import AuditEvent
from maillage.care.people.models import Consent, Person
from maillage.care.scheduling.models import Booking, BookingStatus, Slot
from maillage.care.scheduling.models_booking import Notification

from .booking_fixtures import *  # noqa: F403 (the fixtures)
from .booking_fixtures import FORM, HOST, room_slots, sms_texts

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, ...]:
    return (
        Person.objects.count(),
        Booking.objects.count(),
        Consent.objects.count(),
        Notification.objects.count(),
        AuditEvent.objects.exclude(action="view").count(),
    )


def text(response) -> str:
    return html.unescape(response.content.decode())


def book(client: Client, site, slot: Slot, **changes):
    data = {**FORM, **changes}
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(f"/rendez-vous/{site.slug}/{slot.pk}/reserver/", data, **HOST)


def test_the_slots_page_groups_free_public_slots_by_day_and_writes_nothing(client, room):
    before = (counts(), AuditEvent.objects.count())
    page = client.get(f"/rendez-vous/{room.slug}/", **HOST)
    assert page.status_code == 200
    body = text(page)
    assert body.count('data-testid="day"') == 2
    assert body.count('data-testid="slot"') == 4  # the slot for professionals is not offered
    assert "09h00" in body and "09h30" in body and "11h00" not in body
    assert (counts(), AuditEvent.objects.count()) == before
    # the index lists the site
    assert room.name in text(client.get("/rendez-vous/", **HOST))


def test_a_person_books_and_gets_a_reference_a_private_link_and_a_confirmation(
    client, room, sms_dir
):
    slot = room_slots(room)[0]
    response = book(client, room, slot)
    assert response.status_code == 302
    link = response["Location"]
    assert re.fullmatch(r"/rendez-vous/rdv/[\w-]{20,}/", link)
    booking = Booking.objects.get()
    assert (booking.slot, booking.channel, booking.booked_by) == (slot, "web", None)
    person = booking.person
    assert (person.birth_name, person.first_names, person.used_first_name) == (
        "ZORGBELIN", "Philomène Adélaïde", "Mina",
    )  # fmt: skip
    assert person.birth_date == dt.date(1941, 2, 17) and person.sex == "F"
    assert person.identity_status == "provisional" and person.phone == "+33353010042"
    assert person.has_attending_doctor is False
    assert booking.reason == "Toux sèche depuis trois jours"
    consents = {c.purpose: c.given for c in Consent.objects.filter(person=person)}
    assert consents == {"teleconsultation": True, "report_to_gp": False, "reminders": True}
    assert set(Consent.objects.values_list("channel", flat=True)) == {"web"}
    # the confirmation page: reference, private link, status
    page = client.get(link, **HOST)
    body = text(page)
    assert page.status_code == 200 and booking.reference in body
    assert 'data-testid="confirmed"' in body and link in body
    assert AuditEvent.objects.filter(
        action="view", target_id=str(booking.pk), purpose="booking_link"
    ).exists()
    # shown once: the second view of the link has no "réservé" banner
    assert 'data-testid="confirmed"' not in text(client.get(link, **HOST))
    # the confirmation by SMS and e-mail, with the link, never the reason
    [sms] = sms_texts(sms_dir)
    assert "+33353010042" in sms and booking.reference in sms and link in sms
    assert "Toux" not in sms
    [message] = mail.outbox
    assert message.to == ["mina.zorgbelin@example.org"] and booking.reference in message.body
    assert "Toux" not in message.body and "Toux" not in message.subject
    assert Notification.objects.filter(booking=booking, status="sent").count() == 2


def test_a_person_with_a_gp_picked_from_the_directory(client, room):
    from maillage.care.scheduling.booking_forms import gp_choices

    gp = gp_choices(room).first()
    assert gp is not None, "the demo directory has GPs at Saint-Dizier"
    response = book(
        client, room, room_slots(room)[0], has_gp="oui", gp_role=str(gp.pk),
        consent_report="on",
    )  # fmt: skip
    assert response.status_code == 302
    booking = Booking.objects.get()
    assert booking.has_gp is True and booking.gp == gp
    assert booking.person.attending_doctor_id == gp.practitioner_id
    assert Consent.objects.get(purpose="report_to_gp").given is True


def test_under_six_at_the_slot_date_is_refused_on_the_birth_date_field(client, room):
    slot = room_slots(room)[0]
    slot_day = timezone.localtime(slot.start).date()
    five = slot_day.replace(year=slot_day.year - 6) + dt.timedelta(days=1)
    before = counts()
    response = book(client, room, slot, birth_date=five.strftime("%d/%m/%Y"))
    assert response.status_code == 400
    body = text(response)
    error = re.search(r'data-testid="error-birth_date"><li>([^<]+)', body).group(1)
    assert "à partir de 6 ans" in error and "5 ans" in error
    assert counts() == before
    # six on the day: accepted
    six = slot_day.replace(year=slot_day.year - 6)
    assert book(client, room, slot, birth_date=six.strftime("%d/%m/%Y")).status_code == 302


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"birth_name": ""}, "birth_name", "Ce champ est obligatoire."),
        ({"birth_date": "31/02/1990"}, "birth_date", "Date de naissance illisible"),
        ({"birth_date": "01/01/1850"}, "birth_date", "avant 1900"),
        ({"phone": "12"}, "phone", "n'est pas un numéro de téléphone valide"),
        ({"email": "pas-une-adresse"}, "email", "Adresse électronique invalide"),
        ({"sex": "X"}, "sex", "Sélectionnez un choix valide"),
        ({"consent_teleconsultation": None}, "consent_teleconsultation", "votre accord"),
        ({"has_gp": None}, "has_gp", "Ce champ est obligatoire."),
        ({"reason": "x" * 201}, "reason", "200 caractères"),
        ({"has_gp": "non", "gp_label": "Dr Untel"}, "gp_label", "pas avoir de médecin"),
        ({"gp_role": "999999999", "has_gp": "oui"}, "gp_role", "Sélectionnez un choix valide"),
    ],
)
def test_bad_input_is_answered_in_french_on_its_field_and_nothing_is_written(
    client, room, changes, field, message
):
    before = counts()
    response = book(client, room, room_slots(room)[0], **changes)
    assert response.status_code == 400
    body = text(response)
    match = re.search(rf'data-testid="error-{field}"><li>([^<]+)', body)
    assert match and message in match.group(1), body[:3000]
    assert counts() == before


def test_robots_filling_the_hidden_field_are_refused(client, room):
    before = counts()
    response = book(client, room, room_slots(room)[0], website="http://spam.example")
    assert response.status_code == 400 and "Envoi refusé" in text(response)
    assert counts() == before


def test_unknown_slots_sites_and_links_are_404_and_a_taken_slot_409(client, room, other_site):
    slot = room_slots(room)[0]
    assert client.get(f"/rendez-vous/{room.slug}/999999/reserver/", **HOST).status_code == 404
    assert client.get(f"/rendez-vous/nulle-part/{slot.pk}/reserver/", **HOST).status_code == 404
    other = Slot.objects.get(schedule__site=other_site)
    assert client.get(f"/rendez-vous/{room.slug}/{other.pk}/reserver/", **HOST).status_code == 404
    pro = Slot.objects.get(schedule__site=room, slot_type="pro")
    assert client.get(f"/rendez-vous/{room.slug}/{pro.pk}/reserver/", **HOST).status_code == 404
    assert client.get("/rendez-vous/rdv/inconnu/", **HOST).status_code == 404
    assert client.get("/rendez-vous/offre/inconnu/confirmer/", **HOST).status_code == 404
    assert client.get(f"/rendez-vous/{room.slug}/?depuis=n'importe", **HOST).status_code == 200
    assert book(client, room, slot).status_code == 302
    before = counts()
    taken = book(client, room, slot, birth_name="Autre")
    assert taken.status_code == 409 and "vient d'être pris" in text(taken)
    assert counts() == before


def test_a_get_never_writes_and_posts_need_the_csrf_token(room):
    client = Client(enforce_csrf_checks=True, **HOST)
    slot = room_slots(room)[0]
    before = counts()
    page = client.get(f"/rendez-vous/{room.slug}/{slot.pk}/reserver/")
    assert page.status_code == 200 and "csrfmiddlewaretoken" in page.content.decode()
    assert counts() == before
    refused = client.post(f"/rendez-vous/{room.slug}/{slot.pk}/reserver/", FORM)
    assert refused.status_code == 403 and counts() == before


def test_the_private_link_moves_then_cancels_the_booking(client, room, sms_dir):
    first, second, *_ = room_slots(room)
    link = book(client, room, first)["Location"]
    booking = Booking.objects.get()
    # GET of the move and cancel pages: nothing changes
    assert client.get(link + "deplacer/", **HOST).status_code == 200
    assert client.get(link + "annuler/", **HOST).status_code == 200
    assert Booking.objects.get().status == BookingStatus.BOOKED
    # a slot of another site, or nonsense, is refused in French
    bad = client.post(link + "deplacer/", {"slot": "abc"}, **HOST)
    assert bad.status_code == 400 and "Choisissez un des créneaux" in text(bad)
    moved = client.post(link + "deplacer/", {"slot": second.pk}, **HOST)
    assert moved.status_code == 302
    booking.refresh_from_db()
    assert booking.slot == second and booking.reference
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.booked, second.booked) == (0, 1)
    assert any("Rendez-vous déplacé" in s for s in sms_texts(sms_dir))
    cancelled = client.post(link + "annuler/", **HOST)
    assert cancelled.status_code == 302
    booking.refresh_from_db()
    second.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED and second.booked == 0
    assert any("Rendez-vous annulé" in s for s in sms_texts(sms_dir))
    page = text(client.get(link, **HOST))
    assert 'data-testid="cancelled"' in page and 'data-testid="move"' not in page
    # cancelling twice changes nothing and sends nothing more
    sent = len(sms_texts(sms_dir))
    assert client.post(link + "annuler/", **HOST).status_code == 302
    assert len(sms_texts(sms_dir)) == sent


def test_the_directory_entry_of_a_linked_service_shows_the_booking_link(client, room):
    from maillage.directory.models import HealthcareService

    service = HealthcareService.objects.filter(public=True).first()
    page = text(client.get(f"/annuaire/service/{service.pk}/", **HOST))
    assert 'data-testid="booking-link"' not in page
    room.service = service
    room.save()
    page = client.get(f"/annuaire/service/{service.pk}/", **HOST)
    assert page.status_code == 200
    assert f'href="/rendez-vous/{room.slug}/" data-testid="booking-link"' in text(page)


def test_every_page_showing_a_booking_audits_the_read(client, room):
    link = book(client, room, room_slots(room)[0])["Location"]
    booking = Booking.objects.get()
    reads = AuditEvent.objects.filter(action="view", target_id=str(booking.pk))
    for path in ("", "deplacer/", "annuler/"):
        before = reads.count()
        assert client.get(link + path, **HOST).status_code == 200
        assert reads.count() == before + 1
        assert reads.order_by("-pk").first().purpose == "booking_link"


def test_the_booking_forms_are_rate_limited(client, room, settings):
    settings.MAILLAGE_RATE_LIMITS_ENABLED = True
    from django.core.cache import cache

    cache.clear()
    slot = room_slots(room)[0]
    url = f"/rendez-vous/{room.slug}/{slot.pk}/reserver/"
    answers = [client.post(url, {"birth_name": ""}, **HOST).status_code for _ in range(21)]
    assert answers[:20] == [400] * 20 and answers[20] == 429
    assert client.get(f"/rendez-vous/{room.slug}/", **HOST).status_code == 200  # browsing is not
    cache.clear()
