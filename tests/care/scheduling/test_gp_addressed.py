# ruff: noqa: F811 - fixtures imported from staff_fixtures
"""The GP's page in the professional space (/pro/mes-patients/): what the CPTS's rooms address
to a GP (as médecin traitant, as médecin relais), scope per role, the second factor, the
audit of every read, the GP's acknowledgement of a report, the FHIR Appointment search with a
GP's token, and the demo GP's synthetic bookings."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from maillage.accounts.models import AuditEvent, Profile, Role
from maillage.accounts.tokens import create_token
from maillage.care.people.permissions import can_access
from maillage.care.scheduling.models import Booking, BookingStatus, Visit
from maillage.care.scheduling.services import addressed, attendance, outcomes
from maillage.directory.models import Location, Practitioner, PractitionerRole
from tests.care.scheduling.staff_fixtures import (  # noqa: F401 - fixtures
    PERSON,
    book_today,
    care_keys,
    coordinator,
    make_user,
    nurse,
    verified_client,
)

pytestmark = pytest.mark.django_db
PAGE = "/pro/mes-patients/"
OTHER_PERSON = {**PERSON, "birth_name": "Brindejonc", "first_names": "Aristide",
                "sex": "M", "phone": "03 53 01 00 03"}  # fmt: skip
RELAY_PERSON = {**PERSON, "birth_name": "Quintefeuille", "first_names": "Léonie",
                "phone": "03 53 01 00 04"}  # fmt: skip


def _gp_role(name: str) -> PractitionerRole:
    doctor = Practitioner.objects.create(
        family_name=name, given_name="Test", source="manual", synthetic=True,
        mssante=f"{name.lower()}@medecin.mssante.fr",
    )  # fmt: skip
    return PractitionerRole.objects.create(
        practitioner=doctor, location=Location.objects.filter(commune_id="52448").first(),
        profession_code="10", specialty_code="SM54", source="manual", synthetic=True,
    )  # fmt: skip


def _gp_user(username: str, role: PractitionerRole | None) -> User:
    user = User.objects.create_user(username, password="x-Un-Long-Mot-De-Passe-42")
    Profile.objects.create(
        user=user, role=Role.PROFESSIONAL, practitioner=role.practitioner if role else None
    )
    return user


@pytest.fixture
def world(schedule, nurse):
    """Two GPs, A and B. Booking ``mine`` names A as médecin traitant (honoured, report sent),
    ``theirs`` names B, ``relayed`` (no médecin traitant) was sent to A as médecin relais."""
    role_a, role_b = _gp_role("Alpha"), _gp_role("Bravo")
    mine = book_today(schedule, has_gp=True, gp=role_a, minutes=5)
    theirs = book_today(schedule, OTHER_PERSON, has_gp=True, gp=role_b, minutes=40)
    relayed = book_today(schedule, RELAY_PERSON, has_gp=False, minutes=50)
    for booking in (mine, theirs, relayed):
        attendance.mark(booking, "honoured", nurse)
    outcomes.record(mine, nurse, act="TCG", outcome="back_to_gp", note="Angine, revoir J5")
    outcomes.mark_report(mine, nurse, "sent")
    outcomes.record(relayed, nurse, act="TCG", outcome="relay", relay=role_a.pk, note="Suivi HTA")
    return {
        "a": _gp_user("dr.alpha", role_a),
        "b": _gp_user("dr.bravo", role_b),
        "mine": mine,
        "theirs": theirs,
        "relayed": relayed,
    }


def test_a_gp_sees_the_bookings_addressed_to_them_only_and_the_read_is_audited(world):
    mine, theirs, relayed = world["mine"], world["theirs"], world["relayed"]
    response = verified_client(world["a"]).get(PAGE)
    assert response.status_code == 200
    page = response.content.decode()
    assert mine.reference in page and relayed.reference in page
    assert theirs.reference not in page and "BRINDEJONC" not in page
    # identity traits, encrypted reason and note, outcome, report state, why it is theirs
    assert "ZORGBELIN Philomène" in page and "02/03/1950" in page
    assert "Toux depuis trois jours" in page and "Angine, revoir J5" in page
    assert "Retour vers le médecin traitant" in page and "réception non confirmée" in page
    assert "Médecin relais" in page and "QUINTEFEUILLE Léonie" in page
    assert 'href="/pro/mes-patients/"' in page  # the professional space's navigation
    event = AuditEvent.objects.get(purpose=addressed.PURPOSE, action="view")
    assert event.user == world["a"] and sorted(event.details["ids"]) == sorted(
        [mine.pk, relayed.pk]
    )
    assert "Zorgbelin" not in json.dumps(event.details)
    # GP B sees B's only
    page_b = verified_client(world["b"]).get(PAGE).content.decode()
    assert theirs.reference in page_b and mine.reference not in page_b
    assert relayed.reference not in page_b


def test_cancelled_and_older_bookings_are_left_out(world, schedule):
    mine = world["mine"]
    Booking.objects.filter(pk=mine.pk).update(status=BookingStatus.CANCELLED)
    rows = addressed.addressed_bookings(world["a"])
    assert [b.pk for b in rows.bookings] == [world["relayed"].pk]
    rows = addressed.addressed_bookings(
        world["a"], now=mine.slot.start + addressed.dt.timedelta(days=addressed.PAST_DAYS + 1)
    )
    assert rows.bookings == []


@pytest.mark.parametrize("role", [Role.NURSE, Role.OPERATOR, Role.COORDINATOR])
def test_other_roles_get_403_anonymous_login_and_no_totp_enrolment(world, role):
    assert verified_client(make_user(f"autre-{role}", role)).get(PAGE).status_code == 403
    anonymous = Client(HTTP_HOST="127.0.0.1").get(PAGE)
    assert anonymous.status_code == 302 and "/connexion/" in anonymous["Location"]
    no_totp = Client(HTTP_HOST="127.0.0.1")
    no_totp.force_login(world["a"])
    response = no_totp.get(PAGE)
    assert response.status_code == 302 and "double-authentification" in response["Location"]
    assert not AuditEvent.objects.filter(purpose=addressed.PURPOSE).exists()


def test_pro_sante_connect_login_counts_as_second_factor(world):
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(world["a"])
    session = client.session
    session["auth_method"] = "psc"
    session.save()
    assert client.get(PAGE).status_code == 200


def test_a_professional_without_a_directory_entry_gets_an_explanation(world):
    client = verified_client(_gp_user("sans.fiche", None))
    response = client.get(PAGE)
    assert response.status_code == 200
    assert "rattaché à aucune fiche" in response.content.decode()
    assert not AuditEvent.objects.filter(purpose=addressed.PURPOSE).exists()
    # and the professional space does not offer the page to them
    assert PAGE not in client.get("/pro/ma-fiche/").content.decode()


def test_the_gp_acknowledges_the_report_audited_post_only(world):
    mine = world["mine"]
    client = verified_client(world["a"])
    url = f"{PAGE}{mine.pk}/compte-rendu-recu/"
    assert client.get(url).status_code == 405
    response = client.post(url)
    assert response.status_code == 302 and response["Location"].endswith(f"#rdv-{mine.pk}")
    visit = Visit.objects.get(booking=mine)
    assert visit.report_acknowledged_at is not None
    event = AuditEvent.objects.get(purpose=addressed.PURPOSE, action="update")
    assert event.user == world["a"] and event.target_id == str(visit.pk)
    assert event.details == {"report": "acknowledged", "by": "gp"}
    page = client.get(PAGE).content.decode()
    assert "<strong>reçu</strong>" in page and "J'ai reçu le compte rendu" not in page
    # twice: nothing changes, no second event
    first = visit.report_acknowledged_at
    client.post(url)
    visit.refresh_from_db()
    assert visit.report_acknowledged_at == first
    assert AuditEvent.objects.filter(purpose=addressed.PURPOSE, action="update").count() == 1


def test_only_the_named_gp_acknowledges_and_only_a_sent_report(world, nurse):
    mine, theirs, relayed = world["mine"], world["theirs"], world["relayed"]
    # B, and A as médecin relais only, may not
    assert (
        verified_client(world["b"]).post(f"{PAGE}{mine.pk}/compte-rendu-recu/").status_code == 403
    )
    client = verified_client(world["a"])
    assert client.post(f"{PAGE}{relayed.pk}/compte-rendu-recu/").status_code == 403
    assert client.post(f"{PAGE}{theirs.pk}/compte-rendu-recu/").status_code == 403
    assert client.post(f"{PAGE}999999/compte-rendu-recu/").status_code == 403
    assert Visit.objects.get(booking=mine).report_acknowledged_at is None
    # a report not sent yet
    Visit.objects.filter(booking=mine).update(report_sent_at=None, report_to="")
    response = client.post(f"{PAGE}{mine.pk}/compte-rendu-recu/", follow=True)
    assert "pas encore été envoyé" in response.content.decode()
    assert Visit.objects.get(booking=mine).report_acknowledged_at is None
    # the nurse still marks it acknowledged herself
    outcomes.mark_report(mine, nurse, "sent")
    outcomes.mark_report(mine, nurse, "acknowledged")
    assert Visit.objects.get(booking=mine).report_acknowledged_at is not None


def test_the_acknowledgement_needs_the_csrf_token(world):
    client = verified_client(world["a"])
    client.handler.enforce_csrf_checks = True
    assert client.post(f"{PAGE}{world['mine'].pk}/compte-rendu-recu/").status_code == 403
    assert Visit.objects.get(booking=world["mine"]).report_acknowledged_at is None


def test_the_rule_lets_a_gp_read_and_acknowledge_never_change_the_booking(world):
    a, mine, relayed = world["a"], world["mine"], world["relayed"]
    assert can_access(a, mine, "view") and can_access(a, relayed, "view")
    assert not can_access(a, world["theirs"], "view")
    assert not can_access(a, mine, "update")  # no cancelling or moving
    assert can_access(a, Visit.objects.get(booking=mine), "update")
    assert not can_access(a, Visit.objects.get(booking=relayed), "update")
    assert can_access(a, mine.person, "view") and not can_access(a, mine.person, "update")
    assert not can_access(a, world["theirs"].person, "view")


def _fhir(client: Client, token: str, url: str = "/fhir/Appointment"):
    return client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")


def test_fhir_appointment_search_with_a_gps_token_returns_their_appointments_only(world, nurse):
    client = Client(HTTP_HOST="127.0.0.1")
    token_a = create_token("dr.alpha")[1]
    token_b = create_token("dr.bravo")[1]
    data = json.loads(_fhir(client, token_a).content)
    assert data["resourceType"] == "Bundle" and data["total"] == 2
    ids = {e["resource"]["id"] for e in data["entry"]}
    assert ids == {str(world["mine"].pk), str(world["relayed"].pk)}
    event = AuditEvent.objects.filter(purpose="booking", user=world["a"]).latest("pk")
    assert sorted(event.details["ids"]) == sorted([world["mine"].pk, world["relayed"].pk])
    data_b = json.loads(_fhir(client, token_b).content)
    assert [e["resource"]["id"] for e in data_b["entry"]] == [str(world["theirs"].pk)]
    # the nurse's token: her site's three; a coordinator's: none
    assert json.loads(_fhir(client, create_token(nurse.username)[1]).content)["total"] == 3
    coordinator = make_user("coord", Role.COORDINATOR)
    assert json.loads(_fhir(client, create_token(coordinator.username)[1]).content)["total"] == 0
    # read: theirs is unknown to A; A cannot cancel their own patient's appointment
    assert _fhir(client, token_a, f"/fhir/Appointment/{world['theirs'].pk}").status_code == 404
    assert _fhir(client, token_a, f"/fhir/Appointment/{world['mine'].pk}").status_code == 200
    cancel = client.patch(
        f"/fhir/Appointment/{world['mine'].pk}", data=json.dumps({"status": "cancelled"}),
        content_type="application/merge-patch+json", HTTP_AUTHORIZATION=f"Bearer {token_a}",
    )  # fmt: skip
    assert cancel.status_code == 404
    assert Booking.objects.get(pk=world["mine"].pk).status == BookingStatus.HONOURED
    # no token: 401
    assert client.get("/fhir/Appointment").status_code == 401


def test_fhir_appointment_search_parameters(world):
    client = Client(HTTP_HOST="127.0.0.1")
    token = create_token("dr.alpha")[1]
    day = world["mine"].slot.start.date().isoformat()
    assert (
        json.loads(_fhir(client, token, "/fhir/Appointment?status=fulfilled").content)["total"] == 2
    )
    assert json.loads(_fhir(client, token, "/fhir/Appointment?status=booked").content)["total"] == 0
    later = json.loads(_fhir(client, token, "/fhir/Appointment?date=gt2099-01-01").content)
    assert later["total"] == 0 and "entry" not in later
    assert json.loads(_fhir(client, token, f"/fhir/Appointment?date=ge{day}").content)["total"] == 2
    paged = json.loads(_fhir(client, token, "/fhir/Appointment?_count=1").content)
    assert paged["total"] == 2 and len(paged["entry"]) == 1
    assert any(link["relation"] == "next" for link in paged["link"])
    for bad in ("?status=maybe", "?date=demain", "?patient=1", "?_count=x"):
        response = _fhir(client, token, "/fhir/Appointment" + bad)
        assert response.status_code == 400, bad
        assert json.loads(response.content)["resourceType"] == "OperationOutcome"


def test_the_demo_gp_has_synthetic_bookings_addressed_to_them(demo_db):
    from maillage.demo.accounts import PROFESSIONAL_USERNAME, ensure_demo_accounts
    from maillage.demo.care import load_demo_gp_bookings

    ensure_demo_accounts()
    report = load_demo_gp_bookings()
    assert report.counts["rendez-vous"] >= 6
    assert load_demo_gp_bookings().counts["rendez-vous"] == 0  # idempotent
    gp = User.objects.get(username=PROFESSIONAL_USERNAME)
    rows = addressed.addressed_bookings(gp)
    assert len(rows.upcoming) == 2 and len(rows.past) == 5
    assert all(b.synthetic and b.person.synthetic for b in rows.bookings)
    assert any(b.as_relay for b in rows.bookings) and any(b.can_acknowledge for b in rows.bookings)
