"""The person's rights: access request (JSON) and erasure (statistics kept), both audited."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from maillage.accounts.models import AuditEvent, Role
from maillage.care.people import retention
from maillage.care.people.models import Person
from maillage.care.people.services import create_person, record_consent

from .conftest import TRAITS

HOST = {"HTTP_HOST": "127.0.0.1"}


@pytest.fixture
def person(db) -> Person:
    person = create_person(None, "booking", **{**TRAITS, "commune_id": "52448"})
    record_consent(person, "teleconsultation", True, "web")
    record_consent(person, "report_to_gp", False, "web")
    return person


def _strong(client, user) -> None:
    """Logged in through Pro Santé Connect: strong authentication, no TOTP asked."""
    client.force_login(user)
    session = client.session
    session["auth_method"] = "psc"
    session.save()


def test_access_request_is_json_with_every_apps_part(person, registries, admin_user, visit_table):
    Visit = visit_table
    Visit.objects.create(person=person, at=timezone.now(), reason="toux depuis 8 jours")
    retention.register_access(
        "visits",
        lambda p: [
            {"at": v.at.isoformat(), "reason": v.reason} for v in Visit.objects.filter(person=p)
        ],
    )
    data = retention.access_request(person, admin_user)
    data = json.loads(json.dumps(data))  # serialisable as it is
    assert data["person"]["birth_name"] == "ZORGBELIN"
    assert data["person"]["first_names"] == "Philomène Adélaïde"
    assert data["person"]["birth_date"] == "1941-02-17"
    assert data["person"]["phone"] == "+33199001234"
    assert data["person"]["notes"] == TRAITS["notes"], "decrypted for the person"
    assert data["synthetic"] is True
    assert [(c["purpose"], c["given"]) for c in data["consents"]] == [
        ("teleconsultation", True),
        ("report_to_gp", False),
    ]
    assert data["visits"][0]["reason"] == "toux depuis 8 jours"
    event = AuditEvent.objects.get(action="export")
    assert (event.user, event.target_type, event.target_id, event.purpose) == (
        admin_user,
        "people.person",
        str(person.pk),
        "access_request",
    )


def test_erasure_removes_personal_data_keeps_statistics(
    person, registries, admin_user, visit_table
):
    Visit = visit_table
    visit = Visit.objects.create(person=person, at=timezone.now(), reason="toux")

    def erase_visits(p: Person) -> int:
        return Visit.objects.filter(person=p).update(reason="", anonymised_at=timezone.now())

    retention.register_erase(erase_visits)
    counts = retention.erase(person, admin_user)

    assert sum(counts.values()) == 1
    person.refresh_from_db()
    visit.refresh_from_db()
    assert (person.birth_name, person.first_names, person.phone, person.email, person.notes) == (
        "", "", "", "", ""
    )  # fmt: skip
    assert person.birth_date is None and person.anonymised_at is not None
    assert (person.sex, person.commune_id, person.age_band_kept) == ("F", "52448", "75+")
    assert visit.reason == "" and visit.person_id == person.pk
    event = AuditEvent.objects.get(action="erase")
    assert event.user == admin_user and event.purpose == "erasure_request"
    # a second request finds nothing more to erase, and says so in the log
    retention.erase(person, admin_user)
    assert AuditEvent.objects.filter(action="erase").count() == 2


def test_an_administrator_downloads_the_json(client, person, admin_user):
    _strong(client, admin_user)
    response = client.get(f"/soins/personnes/{person.pk}/donnees.json", **HOST)
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="personne-{person.pk}.json"'
    assert response["Cache-Control"] == "no-store"
    assert json.loads(response.content)["person"]["used_first_name"] == "Mina"
    assert AuditEvent.objects.filter(action="export", target_id=str(person.pk)).count() == 1


def test_a_nurse_cannot_handle_rights_requests(client, person, make_user):
    nurse = make_user("infirmiere", Role.NURSE)
    _strong(client, nurse)
    for url in (
        f"/soins/personnes/{person.pk}/donnees.json",
        f"/soins/personnes/{person.pk}/effacer/",
    ):
        response = client.get(url, **HOST)
        assert response.status_code == 403
        assert "traitées par un administrateur" in response.content.decode()
    assert not AuditEvent.objects.filter(action__in=["export", "erase"]).exists()


def test_erasing_from_the_page(client, person, admin_user):
    _strong(client, admin_user)
    url = f"/soins/personnes/{person.pk}/effacer/"
    page = client.get(url, **HOST)
    assert page.status_code == 200 and "Les statistiques restent" in page.content.decode()
    person.refresh_from_db()
    assert person.birth_name == "ZORGBELIN", "a GET never writes"
    done = client.post(url, **HOST)
    assert done.status_code == 200 and "Données effacées" in done.content.decode()
    person.refresh_from_db()
    assert person.birth_name == "" and person.anonymised_at is not None
    assert client.get("/soins/personnes/999999999/effacer/", **HOST).status_code == 404


def test_age_band_uses_the_first_contact(db):
    person = create_person(None, "test", **{**TRAITS, "birth_date": dt.date(2000, 6, 1)})
    Person.objects.filter(pk=person.pk).update(created_at=dt.datetime(2014, 5, 1, tzinfo=dt.UTC))
    person.refresh_from_db()
    retention.erase(person, None)
    person.refresh_from_db()
    assert person.age_band_kept == "6-14", "13 at first contact, not 26 today"
