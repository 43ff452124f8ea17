"""The professional channel from a teleconsultation: after an outcome "médecin relais" (or a
person without médecin traitant) the nurse's day offers a request prefilled from the booking;
with the person's consent it is made for the same Person, channel "professional"; a nurse of
another room cannot open it."""

from __future__ import annotations

import pytest

from maillage.accounts.models import AuditEvent, Role
from maillage.care.attachment.models import AttachmentRequest
from maillage.care.people.models import Person
from maillage.care.scheduling.models import Schedule, Site, SiteKind
from maillage.care.scheduling.services import attendance, outcomes
from tests.care.scheduling.staff_fixtures import book_today

from .conftest import SAINT_DIZIER, make_gp, verified_client

URL = "/soins/medecin-traitant/nouvelle/"


@pytest.fixture
def room(demo_db) -> Schedule:
    site = Site.objects.create(
        slug="salle-test", name="Salle de test", kind=SiteKind.TELECONSULTATION_ROOM,
        postal_code="52100", commune_id=SAINT_DIZIER, min_age=6,
    )  # fmt: skip
    return Schedule.objects.create(site=site, name="Agenda de test", mode="VR")


def test_a_relay_outcome_offers_a_prefilled_request_made_with_consent(room, make_user):
    nurse = make_user("infirmiere", Role.NURSE)
    room.site.staff.add(nurse)
    relay = make_gp("RELAIS", SAINT_DIZIER, 2)
    booking = book_today(room, has_gp=False)
    attendance.mark(booking, "honoured", nurse)
    role = relay.practitioner.roles.get()
    outcomes.record(booking, nurse, act="TCG", outcome="relay", relay=role.pk)
    client = verified_client(nurse)
    day = client.get(f"/soins/journee/salle-test/{booking.slot.start.date().isoformat()}/")
    link = f'{URL}?depuis={booking.pk}"'
    assert link in day.content.decode()
    page = client.get(f"{URL}?depuis={booking.pk}")
    html = page.content.decode()
    assert page.status_code == 200 and 'value="ZORGBELIN"' in html and "Saint-Dizier" in html
    assert AuditEvent.objects.filter(
        action="view", target_type="people.person", details__prefill=booking.pk
    ).exists()
    form = {
        "birth_name": "Zorgbelin", "first_names": "Philomène Adélaïde", "sex": "F",
        "birth_date": "02/03/1950", "phone": "03 53 01 00 01", "commune": "Saint-Dizier",
        "months_without_gp": "12", "teleconsultations": "1", "chronic_renewal": "on",
        "depuis": str(booking.pk), "website": "",
    }  # fmt: skip
    refused = client.post(URL, form)  # no consent: nothing written
    assert refused.status_code == 400 and not AttachmentRequest.objects.exists()
    done = client.post(URL, {**form, "consent": "on"})
    assert done.status_code == 200
    request = AttachmentRequest.objects.get()
    assert request.person_id == booking.person_id and request.channel == "professional"
    assert Person.objects.count() == 1


def test_a_nurse_of_another_room_and_an_operator_cannot_open_it(room, make_user):
    nurse = make_user("infirmiere", Role.NURSE)
    room.site.staff.add(nurse)
    stranger = make_user("autre", Role.NURSE)
    booking = book_today(room, has_gp=False)
    assert verified_client(stranger).get(f"{URL}?depuis={booking.pk}").status_code == 404
    assert verified_client(stranger).get(f"{URL}?depuis=abc").status_code == 404
    operator = make_user("operateur", Role.OPERATOR)
    assert verified_client(operator).get(f"{URL}?depuis={booking.pk}").status_code == 404
    assert verified_client(nurse).get(f"{URL}?depuis={booking.pk}").status_code == 200
