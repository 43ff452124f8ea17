# ruff: noqa: F811 - fixtures imported from staff_fixtures
"""The nurse's day: scope and roles, attendance, outcomes, the encrypted note, the report to
the médecin traitant, the printable sheet; every read and write audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from maillage.accounts.models import AuditEvent, Role
from maillage.care.scheduling.models import BookingStatus, Outcome, Schedule, Visit
from maillage.care.scheduling.services import attendance, outcomes
from maillage.care.scheduling.services.booking import BookingError, NotAllowed
from maillage.directory.models import Practitioner, PractitionerRole
from tests.care.scheduling.staff_fixtures import (  # noqa: F401 - fixtures
    PERSON,
    book_today,
    care_keys,
    coordinator,
    make_user,
    nurse,
    other_site,
    verified_client,
)

pytestmark = pytest.mark.django_db


def day_url(site, day=None) -> str:
    return f"/soins/journee/{site.slug}/{(day or timezone.localdate()).isoformat()}/"


def test_anonymous_is_sent_to_login_and_a_nurse_without_totp_to_enrolment(site, nurse):
    anonymous = Client(HTTP_HOST="127.0.0.1")
    response = anonymous.get(day_url(site))
    assert response.status_code == 302 and "/connexion/" in response["Location"]
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(nurse)
    response = client.get(day_url(site))
    assert response.status_code == 302 and "double-authentification" in response["Location"]


def test_the_nurse_sees_her_site_day_with_traits_and_the_list_is_audited(site, schedule, nurse):
    booking = book_today(schedule)
    client = verified_client(nurse)
    assert client.get("/soins/journee/").status_code == 302
    response = client.get(day_url(site))
    assert response.status_code == 200
    page = response.content.decode()
    assert "ZORGBELIN Philomène" in page and "Philomène Adélaïde" in page
    assert "02/03/1950" in page and booking.reference in page
    event = AuditEvent.objects.get(purpose="nurse_day", action="view")
    assert event.user == nurse and event.details["ids"] == [booking.pk]
    assert "Zorgbelin" not in str(event.details)


def test_a_nurse_does_not_see_another_site_and_a_coordinator_sees_no_day(
    site, schedule, nurse, other_site, coordinator
):
    other_schedule = Schedule.objects.create(site=other_site, name="Autre", mode="VR")
    other = book_today(other_schedule)
    client = verified_client(nurse)
    assert client.get(day_url(other_site)).status_code == 404
    response = client.post(f"/soins/rendez-vous/{other.pk}/pointer/", {"status": "honoured"})
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.status == BookingStatus.BOOKED
    assert verified_client(coordinator).get(day_url(site)).status_code == 403
    assert not AuditEvent.objects.filter(purpose="nurse_day").exists()


def test_mark_honoured_records_the_arrival_and_no_show_and_undo(site, schedule, nurse):
    booking = book_today(schedule)
    client = verified_client(nurse)
    response = client.post(f"/soins/rendez-vous/{booking.pk}/pointer/", {"status": "honoured"})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == BookingStatus.HONOURED
    assert booking.visit.arrived_at is not None
    client.post(f"/soins/rendez-vous/{booking.pk}/pointer/", {"status": "no_show"})
    booking.refresh_from_db()
    assert booking.status == BookingStatus.NO_SHOW
    assert Visit.objects.get(booking=booking).arrived_at is None
    statuses = [
        e.details["status"] for e in AuditEvent.objects.filter(purpose="nurse_day").order_by("pk")
    ]
    assert statuses == ["honoured", "no_show"]


def test_a_booking_ahead_cannot_be_marked_and_a_stranger_cannot_mark(schedule, nurse):
    booking = book_today(schedule)
    with pytest.raises(BookingError):
        attendance.mark(booking, "honoured", nurse, now=timezone.now() - dt.timedelta(days=2))
    stranger = make_user("autre-infirmiere", Role.NURSE)
    with pytest.raises(NotAllowed):
        attendance.mark(booking, "honoured", stranger)
    with pytest.raises(BookingError):
        attendance.mark(booking, "cancelled", nurse)
    booking.refresh_from_db()
    assert booking.status == BookingStatus.BOOKED


def _gp(accepts: bool | None, name: str, mssante: str = "") -> PractitionerRole:
    from maillage.directory.models import Location

    location = Location.objects.filter(commune_id="52448").first()
    doctor = Practitioner.objects.create(
        family_name=name, given_name="Test", source="manual", synthetic=True, mssante=mssante
    )
    return PractitionerRole.objects.create(
        practitioner=doctor, location=location, profession_code="10", specialty_code="SM54",
        accepts_new_patients=accepts, source="manual", synthetic=True,
    )  # fmt: skip


def test_relay_candidates_put_gps_accepting_new_patients_first(site):
    closed = _gp(False, "Fermé")
    open_ = _gp(True, "Ouvert")
    found = outcomes.relay_candidates(site, limit=5000)
    ranks = {r.pk: i for i, r in enumerate(found)}
    assert ranks[open_.pk] < ranks[closed.pk]
    assert all(r.accepts_new_patients for r in found[: ranks[open_.pk] + 1])


def test_outcome_with_relay_and_encrypted_note_then_report(schedule, site, nurse):
    gp = _gp(None, "Traitant", mssante="dr.traitant@medecin.mssante.fr")
    booking = book_today(schedule, has_gp=True, gp=gp)
    relay = _gp(True, "Relais")
    client = verified_client(nurse)
    client.post(f"/soins/rendez-vous/{booking.pk}/pointer/", {"status": "honoured"})
    # a relay outcome needs the relay
    response = client.post(
        f"/soins/rendez-vous/{booking.pk}/orientation/",
        {"act": "TCG", "outcome": "relay", "note": "Otite, revoir J7"},
        follow=True,
    )
    assert "Choisissez le médecin relais" in response.content.decode()
    assert not Visit.objects.filter(booking=booking).exclude(outcome="").exists()
    client.post(
        f"/soins/rendez-vous/{booking.pk}/orientation/",
        {"act": "TCG", "outcome": "relay", "relay": relay.pk, "note": "Otite, revoir J7"},
    )
    visit = Visit.objects.get(booking=booking)
    assert (visit.outcome, visit.relay, visit.note) == (Outcome.RELAY, relay, "Otite, revoir J7")
    with connection.cursor() as cursor:
        cursor.execute("SELECT note FROM scheduling_visit WHERE id = %s", [visit.pk])
        assert "Otite" not in cursor.fetchone()[0]
    # report: acknowledged only once sent; sent to the GP's MSSanté address
    with pytest.raises(BookingError):
        outcomes.mark_report(booking, nurse, "acknowledged")
    client.post(f"/soins/rendez-vous/{booking.pk}/compte-rendu/", {"step": "sent"})
    client.post(f"/soins/rendez-vous/{booking.pk}/compte-rendu/", {"step": "acknowledged"})
    visit.refresh_from_db()
    assert visit.report_to == "dr.traitant@medecin.mssante.fr"
    assert visit.report_sent_at and visit.report_acknowledged_at
    details = [e.details for e in AuditEvent.objects.filter(target_type="scheduling.visit")]
    assert {"act": "tcg", "outcome": "relay", "relay": relay.pk, "note": True} in details
    assert "Otite" not in str(details)


def test_the_nightly_retention_run_empties_old_notes_with_every_app_registered(schedule, nurse):
    """The registries as the worker has them (no handler removed): a visit's encrypted note
    past retention is emptied, the act and outcome kept, and a second run finds nothing."""
    from maillage.care.people import retention

    booking = book_today(schedule)
    attendance.mark(booking, "honoured", nurse)
    outcomes.record(booking, nurse, act="TCG", outcome=Outcome.EMERGENCY, note="Douleur")
    later = timezone.now() + dt.timedelta(days=31 * (retention.retention_months() + 1))
    counts = retention.anonymise_expired(later)
    assert counts["maillage.care.scheduling.personal_data.anonymise_visits"] == 1
    visit = Visit.objects.get(booking=booking)
    assert (visit.note, visit.act, visit.outcome) == ("", "TCG", Outcome.EMERGENCY)
    assert (
        retention.anonymise_expired(later)[
            "maillage.care.scheduling.personal_data.anonymise_visits"
        ]
        == 0
    )


def test_back_to_gp_is_refused_for_a_person_without_one(schedule, nurse):
    booking = book_today(schedule, has_gp=False)
    attendance.mark(booking, "honoured", nurse)
    with pytest.raises(BookingError, match="médecin relais"):
        outcomes.record(booking, nurse, act="TCG", outcome="back_to_gp")
    with pytest.raises(BookingError, match="arrivée"):
        attendance.mark(booking, "no_show", nurse)
        outcomes.record(booking, nurse, act="TCG", outcome="emergency")


def test_the_printable_sheet_is_staff_only_audited_and_has_a_pdf(
    site, schedule, nurse, coordinator
):
    booking = book_today(schedule)
    url = day_url(site) + "feuille/"
    assert verified_client(coordinator).get(url).status_code == 403
    client = verified_client(nurse)
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "@media print" in page and "ZORGBELIN" in page and "confidentiel" in page
    event = AuditEvent.objects.get(purpose="day_sheet")
    assert event.details["ids"] == [booking.pk] and event.action == "view"
    pdf = client.get(url + "?format=pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert AuditEvent.objects.filter(purpose="day_sheet", action="export").count() == 1
