"""The waiting list's pages: the public form (French errors, 400, nothing written), the
coordinator's queue and matching, the GP's capacity and proposals, each behind its role and
second factor, each list shown audited."""

from __future__ import annotations

import pytest
from django.test import Client

from maillage.accounts.models import AuditEvent, Role
from maillage.care.attachment.models import AttachmentRequest, GpCapacity, Proposal, State
from maillage.care.people.models import Person

from .conftest import FORM, HOST, SAINT_DIZIER, make_gp, verified_client


def text(response) -> str:
    return response.content.decode()


def test_a_person_asks_on_the_web_and_gets_a_reference(demo_db):
    client = Client(**HOST)
    page = client.get("/medecin-traitant/")
    assert page.status_code == 200 and "Vous n'avez pas de médecin traitant" in text(page)
    done = client.post("/medecin-traitant/", FORM)
    assert done.status_code == 200, text(done)
    request = AttachmentRequest.objects.get()
    assert request.reference in text(done) and request.channel == "web"
    assert request.score == 30 + 20 + 25 + 8 + 6 and request.commune_id == SAINT_DIZIER
    assert request.person.birth_name == "ZORGBELIN" and request.created_by is None


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"consent": ""}, "consent", "Votre accord est nécessaire"),
        ({"commune": "Nullepart-sur-Rien"}, "commune", "Commune inconnue"),
        ({"commune": ""}, "commune", "Indiquez votre commune."),
        ({"months_without_gp": "-3"}, "months_without_gp", "ne peut pas être négatif"),
        ({"teleconsultations": "beaucoup"}, "teleconsultations", "Indiquez un nombre"),
        ({"phone": "12"}, "phone", "n&#x27;est pas un numéro de téléphone valide"),
        ({"birth_date": "31/02/1950"}, "birth_date", "Date de naissance invalide"),
        ({"birth_date": "01/01/2990"}, "birth_date", "dans le futur"),
        ({"birth_name": ""}, "birth_name", "Ce champ est obligatoire."),
        ({"sex": "M", "pregnancy": "on"}, "pregnancy", "sexe masculin"),
    ],
)
def test_bad_input_answers_in_french_with_400_and_writes_nothing(demo_db, change, field, message):
    response = Client(**HOST).post("/medecin-traitant/", {**FORM, **change})
    assert response.status_code == 400
    assert f'data-testid="error-{field}"' in text(response)
    assert message in text(response)
    assert not Person.objects.exists() and not AttachmentRequest.objects.exists()


def test_an_ambiguous_commune_asks_for_the_postal_code(demo_db):
    from django.db.models import Count

    from maillage.territory.models import Commune

    name = (
        Commune.objects.values("name")
        .annotate(n=Count("code"))
        .filter(n__gt=1)
        .order_by("name")
        .first()["name"]
    )
    response = Client(**HOST).post("/medecin-traitant/", {**FORM, "commune": name})
    assert response.status_code == 400 and "précisez le code postal" in text(response)


def test_the_pro_pages_need_a_role_and_the_second_factor(demo_db, make_user, coordinator):
    anonymous = Client(**HOST)
    assert anonymous.get("/soins/medecin-traitant/").status_code == 302
    unverified = Client(**HOST)
    unverified.force_login(coordinator)
    assert "double-authentification" in unverified.get("/soins/medecin-traitant/")["Location"]
    operator = verified_client(make_user("operateur", Role.OPERATOR))
    assert operator.get("/soins/medecin-traitant/").status_code == 403
    assert operator.post("/soins/medecin-traitant/calculer/").status_code == 403
    assert operator.get("/soins/medecin-traitant/propositions/").status_code == 403


def test_queue_matching_and_the_gps_answer(demo_db, coordinator, gp_near, gp_user, make_user):
    Client(**HOST).post("/medecin-traitant/", FORM)
    Client(**HOST).post(
        "/medecin-traitant/",
        {**FORM, "birth_name": "Loin", "commune": "52000 Chaumont", "phone": "03 53 01 00 43"},
    )
    mine, outside = AttachmentRequest.objects.order_by("pk")
    coord = verified_client(coordinator)
    queue = coord.get("/soins/medecin-traitant/")
    assert queue.status_code == 200
    page = text(queue)
    assert mine.reference in page and "ZORGBELIN Mina" in page
    assert "Affection de longue durée (ALD) : +30" in page
    assert outside.reference not in page  # Chaumont is not in the coordinator's CPTS
    shown = AuditEvent.objects.filter(user=coordinator, action="view", purpose="attachment")
    assert shown.get().details["ids"] == [mine.pk]

    assert coord.get("/soins/medecin-traitant/calculer/").status_code == 405  # a GET never writes
    assert not Proposal.objects.exists()
    coord.post("/soins/medecin-traitant/calculer/")
    proposal = Proposal.objects.get()
    assert proposal.request == mine and proposal.gp == gp_near

    other = make_gp("AUTRE", SAINT_DIZIER, 1, communes=[SAINT_DIZIER])
    other_client = verified_client(
        make_user("autre", Role.PROFESSIONAL, practitioner=other.practitioner)
    )
    assert mine.reference not in text(other_client.get("/soins/medecin-traitant/propositions/"))
    url = f"/soins/medecin-traitant/propositions/{proposal.pk}/accepter/"
    assert other_client.post(url).status_code == 404

    doctor = verified_client(gp_user)
    mine_page = text(doctor.get("/soins/medecin-traitant/propositions/"))
    assert mine.reference in mine_page and "commune desservie par ce médecin" in mine_page
    assert "353010042" not in mine_page and "03 53 01 00 42" not in mine_page  # once accepted
    assert doctor.post(url).status_code == 302
    accepted = text(doctor.get("/soins/medecin-traitant/propositions/"))
    assert 'href="tel:+33353010042">03 53 01 00 42</a>' in accepted
    mine.refresh_from_db()
    assert mine.state == State.ACCEPTED
    again = doctor.post(url, follow=True)
    assert "déjà « acceptée »" in text(again)
    doctor.post(f"/soins/medecin-traitant/propositions/{proposal.pk}/inscrire/")
    mine.refresh_from_db()
    assert mine.state == State.REGISTERED
    assert (
        doctor.post(f"/soins/medecin-traitant/propositions/{proposal.pk}/nimporte/").status_code
        == 404
    )


def test_a_gp_declares_capacity_with_french_errors(demo_db, gp_user, gp_near):
    doctor = verified_client(gp_user)
    assert doctor.get("/soins/medecin-traitant/capacite/").status_code == 200
    bad = doctor.post(
        "/soins/medecin-traitant/capacite/",
        {"new_patients_per_month": "-1", "location": gp_near.location_id, "age_groups": []},
    )
    assert bad.status_code == 400
    assert "ne peut pas être négatif" in text(bad) and "Cochez au moins une tranche" in text(bad)
    nowhere = doctor.post(
        "/soins/medecin-traitant/capacite/",
        {"new_patients_per_month": "4", "location": gp_near.location_id, "age_groups": ["adult"]},
    )
    assert nowhere.status_code == 400 and "communes desservies ou un rayon" in text(nowhere)
    ok = doctor.post(
        "/soins/medecin-traitant/capacite/",
        {
            "new_patients_per_month": "4", "location": gp_near.location_id,
            "communes": "52100 Saint-Dizier\nWassy", "radius_km": "",
            "age_groups": ["adult", "senior"],
        },
    )  # fmt: skip
    assert ok.status_code == 302
    capacity = GpCapacity.objects.get(pk=gp_near.pk)
    assert capacity.new_patients_per_month == 4 and capacity.age_group_list == ["adult", "senior"]
    assert sorted(capacity.communes.values_list("code", flat=True)) == ["52448", "52550"]


def test_an_operator_types_a_request_taken_on_the_phone(demo_db, make_user):
    operator = make_user("operateur", Role.OPERATOR)
    client = verified_client(operator)
    response = client.post("/soins/medecin-traitant/nouvelle/", FORM)
    assert response.status_code == 200
    request = AttachmentRequest.objects.get()
    assert request.channel == "phone" and request.created_by == operator
    assert request.person.consents.get().channel == "phone"


def test_the_coordinator_changes_the_weights(demo_db, coordinator):
    client = verified_client(coordinator)
    page = client.get("/soins/medecin-traitant/ponderations/")
    assert page.status_code == 200 and "Affection de longue durée" in text(page)
    from maillage.care.attachment.services import weights as weights_service

    data = {w.criterion: w.points for w in weights_service.current().criteria} | {
        "months_without_gp_cap": 24,
        "teleconsultations_cap": 5,
        "points_per_km": 1,
    }
    bad = client.post("/soins/medecin-traitant/ponderations/", {**data, "ald": "-4"})
    assert bad.status_code == 400 and "ne peuvent pas être négatifs" in text(bad)
    assert (
        client.post("/soins/medecin-traitant/ponderations/", {**data, "ald": 90}).status_code == 302
    )
    Client(**HOST).post("/medecin-traitant/", FORM)
    assert AttachmentRequest.objects.get().score == 90 + 20 + 25 + 8 + 6
