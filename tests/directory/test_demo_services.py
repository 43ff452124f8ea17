"""The demo's HealthcareServices: the services the seed documents describe, with their source,
structure, place and hours, shown on the pages, served by FHIR and found by the search."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import time

import pytest
from django.test import Client
from fhir.resources import R4B

from maillage.demo import directory as demo_directory
from maillage.demo.directory import (
    S000,
    S001,
    S002,
    S003,
    S004,
    SERVICE_CATEGORIES,
    demo_content,
    load_demo_directory,
)
from maillage.directory.models import (
    HealthcareService,
    Location,
    OpeningHours,
    Organization,
    Scheme,
)

CH_CHAUMONT, CH_LANGRES, CH_BOURBONNE = "520000027", "520000043", "520000019"
# The hospital offer of the feuille de route 2021, scénario 1 ("offre de soins hospitaliers
# actuelle"), site by site as the seed lists it (IFSI-IFAS, a school, is not a service).
SCENARIO_1 = {
    CH_CHAUMONT: {
        "médecine", "chirurgie", "obstétrique", "urgences", "SAMU", "SMUR", "SSR",
        "soins critiques", "EHPAD", "USLD",
    },
    CH_LANGRES: {
        "médecine", "chirurgie", "périnatalité", "urgences", "soins critiques", "SMUR", "SSR",
        "EHPAD",
    },
    CH_BOURBONNE: {"SSR", "médecine", "EHPAD", "USLD"},
}  # fmt: skip


@pytest.fixture
def services(demo_db):
    """The demo directory loaded in this test's transaction (a no-op on a database that has it)."""
    return load_demo_directory()


def _page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- the data file ------------------------------------------------------------------------------
def test_services_yaml_loads_and_every_record_cites_a_seed():
    content = demo_content()
    assert len(content.services) == 49 and len(content.structures) == 2
    seeds = (S000, S001, S002, S003, S004)
    for spec in content.services:
        assert any(seed in spec.source_note for seed in seeds), spec.slug
        assert spec.category in SERVICE_CATEGORIES, spec.slug
        # No seed prints a service's phone number: none may be made up.
        assert spec.phone == "", spec.slug


def test_bad_service_records_are_refused_in_french():
    with pytest.raises(ValueError, match="fermeture 08:00:00 avant l'ouverture 12:00:00"):
        demo_directory._service(
            {"slug": "x", "name": "X", "category": "PMI", "source_note": S003, "finess": "1",
             "hours": [{"days": [0], "opens": "12:00", "closes": "08:00"}]}
        )  # fmt: skip
    with pytest.raises(ValueError, match="heure illisible"):
        demo_directory._service(
            {"slug": "x", "name": "X", "category": "PMI", "source_note": S003, "finess": "1",
             "hours": [{"days": [0], "opens": "8h", "closes": "12:00"}]}
        )  # fmt: skip
    with pytest.raises(ValueError, match="jours attendus de 0"):
        demo_directory._service(
            {"slug": "x", "name": "X", "category": "PMI", "source_note": S003, "finess": "1",
             "hours": [{"days": [7], "opens": "08:00", "closes": "12:00"}]}
        )  # fmt: skip


def test_unknown_or_missing_fields_are_named_in_french():
    base = {"slug": "x", "name": "X", "category": "PMI", "source_note": S003, "finess": "1"}
    with pytest.raises(ValueError, match="service x : champ inconnu : telephone"):
        demo_directory._service({**base, "telephone": "0325000000"})
    with pytest.raises(ValueError, match="service x : champ manquant : source_note"):
        demo_directory._service({k: v for k, v in base.items() if k != "source_note"})
    with pytest.raises(ValueError, match="service x, lieu : champ manquant : commune"):
        demo_directory._service(
            {**base, "place": {"name": "A", "address": "B", "postal_code": "1"}}
        )


def test_unknown_category_or_missing_owner_is_refused(monkeypatch):
    real = demo_directory._read_services

    def patch_first(change):
        def read():
            structures, services = real()
            services[0] = change(services[0])
            return structures, services

        monkeypatch.setattr(demo_directory, "_read_services", read)

    patch_first(lambda s: replace(s, category="urgence"))
    with pytest.raises(ValueError, match="catégorie inconnue 'urgence'"):
        demo_content()
    patch_first(lambda s: replace(s, finess="", structure=""))
    with pytest.raises(ValueError, match="soit finess, soit structure"):
        demo_content()
    patch_first(lambda s: replace(s, source_note=" "))
    with pytest.raises(ValueError, match="source manquante"):
        demo_content()


# --- loading ------------------------------------------------------------------------------------
def test_the_three_hospital_sites_have_the_services_the_seed_lists(services):
    for finess, expected in SCENARIO_1.items():
        rows = HealthcareService.objects.filter(organization__finess_et=finess)
        assert set(rows.values_list("category", flat=True)) == expected, finess
        assert not rows.filter(synthetic=True).exists()
    # Langres' emergency department and SMUR are H24 in the seed, Chaumont's are not said to be.
    assert "24 h/24" in HealthcareService.objects.get(slug="ch-langres-urgences").hours_note
    assert HealthcareService.objects.get(slug="ch-chaumont-urgences").hours_note == ""


def test_every_service_is_real_sourced_and_unverified(services):
    rows = HealthcareService.objects.filter(slug__isnull=False)
    assert rows.count() == services.counts["services"] == 49
    for s in rows:
        assert not s.synthetic and s.public and s.source == "manual", s.slug
        assert s.source_note and s.verified_on is None, s.slug
        assert s.phone == "", s.slug


def test_teleconsultation_rooms_have_their_address_and_no_invented_phone(services):
    la_noue = HealthcareService.objects.get(slug="teleconsultation-la-noue")
    assert la_noue.teleconsultation and la_noue.category == "téléconsultation"
    assert (la_noue.location.address, la_noue.location.postal_code) == (
        "143 avenue de la République",
        "52100",
    )
    assert la_noue.location.commune_id == "52448" and la_noue.location.teleconsultation
    assert "15 septembre 2019" in la_noue.description
    assert "4 à 5 demi-journées" in la_noue.hours_note
    clos = HealthcareService.objects.get(slug="teleconsultation-clos-mortier")
    assert clos.location.address == "11 rue Henri IV"
    assert "6 avril 2019" in clos.description
    cpts = la_noue.organization
    assert cpts.finess_et is None and cpts.address.startswith("1 bis rue Paul Cézanne")
    assert cpts == clos.organization


def test_weekly_hours_only_where_the_seed_gives_times(services):
    pmi = HealthcareService.objects.get(slug="pmi-saint-dizier-godard-jeanson")
    slots = ((time(8, 15), time(12, 15)), (time(13, 30), time(17, 30)))
    assert sorted(pmi.opening_hours.values_list("weekday", "opens", "closes")) == sorted(
        (day, opens, closes) for day in range(5) for opens, closes in slots
    )
    with_hours = set(
        OpeningHours.objects.filter(service__slug__isnull=False).values_list(
            "service__slug", flat=True
        )
    )
    assert with_hours == {"pmi-saint-dizier-godard-jeanson"}


def test_reloading_keeps_ids_and_writes_nothing(services):
    def snapshot():
        return (
            list(
                HealthcareService.objects.order_by("slug").values_list("slug", "id", "updated_at")
            ),
            list(Location.objects.filter(source="manual").values_list("id", "updated_at")),
            sorted(OpeningHours.objects.values_list("id", flat=True)),
            HealthcareService.history.count(),
            OpeningHours.history.count(),
            Organization.objects.filter(source="manual").count(),
        )

    before = snapshot()
    report = load_demo_directory()
    assert report.counts["créés"] == 0 and report.counts["modifiés"] == 0
    assert snapshot() == before


def test_a_changed_record_is_updated_in_place(services):
    pmi = HealthcareService.objects.get(slug="pmi-saint-dizier-godard-jeanson")
    pmi.hours_note = "changé à la main"
    pmi.save()
    pmi.opening_hours.filter(weekday=0).delete()
    report = load_demo_directory()
    assert report.counts["modifiés"] == 1
    again = HealthcareService.objects.get(slug="pmi-saint-dizier-godard-jeanson")
    assert again.pk == pmi.pk and again.hours_note == ""
    assert again.opening_hours.count() == 10


def test_missing_finess_skips_its_services_not_the_load(services):
    Organization.objects.filter(finess_et=CH_BOURBONNE).delete()  # cascades to its services
    report = load_demo_directory()
    assert report.skipped["services sans FINESS"] == 4
    assert report.counts["services"] == 45


# --- pages --------------------------------------------------------------------------------------
def test_organization_page_lists_its_services_with_hours_address_and_source(client, services):
    chaumont = Organization.objects.get(finess_et=CH_CHAUMONT)
    html = _page(client, f"/annuaire/structure/{chaumont.pk}/")
    text = _text(html)
    # The FINESS switchboard of the établissement is shown.
    assert "03 25 30 70 30" in text and 'href="tel:0325307030"' in html
    assert html.count('data-testid="service"') == 10
    ed = HealthcareService.objects.get(slug="ch-chaumont-urgences")
    assert f'<a href="/annuaire/service/{ed.pk}/">Urgences</a>' in html
    assert "Source : Feuille de route départementale Centre Sud Haute-Marne" in text
    # Services at the structure's own address do not repeat it line after line.
    assert text.count("2 R Jeanne D&#x27;Arc") == 1

    pmi_owner = HealthcareService.objects.get(slug="pmi-saint-dizier-godard-jeanson").organization
    text = _text(_page(client, f"/annuaire/structure/{pmi_owner.pk}/"))
    assert "4 rue Godard-Jeanson, 52100 Saint-Dizier" in text
    assert "du lundi au vendredi : 8 h 15 – 12 h 15, 13 h 30 – 17 h 30" in text
    assert "le mardi après-midi, sur rendez-vous" in text


def test_la_noue_room_page_shows_its_address_hours_and_source(client, services):
    room = HealthcareService.objects.get(slug="teleconsultation-la-noue")
    html = _page(client, f"/annuaire/service/{room.pk}/")
    text = _text(html)
    assert "143 avenue de la République" in text  # as the seed writes it (not FINESS capitals)
    assert "4 à 5 demi-journées par semaine" in text
    assert "Source : Projet de santé de la CPTS Saint-Dizier Der" in text
    assert "ne donnent pas ce numéro" in text
    assert 'data-testid="switchboard"' not in html  # the CPTS has no switchboard to fall back on
    # …so the page says the number is not published, and whom to ask: the CPTS running it
    assert 'data-testid="no-phone"' in html and "demandez-le par courriel" in text
    assert 'href="mailto:cptssddb@gmail.com"' in html
    # The dispositif of the same name is at the room's place, and linked both ways.
    scheme = Scheme.objects.get(slug="teleconsultation-la-noue")
    assert scheme.location_id == room.location_id
    assert f'href="/annuaire/dispositif/{scheme.slug}/"' in html
    # The structure running the room lists the room's dispositif, and does not say
    # "Horaires non renseignés" for a place whose service says its hours in words.
    cpts_page = _page(client, f"/annuaire/structure/{room.organization_id}/")
    assert f'href="/annuaire/dispositif/{scheme.slug}/"' in cpts_page
    assert "Horaires non renseignés" not in cpts_page
    # …and the room's place lists it.
    assert "Salle de téléconsultation de La Noue" in _text(
        _page(client, f"/annuaire/lieu/{room.location_id}/")
    )


def test_service_without_a_phone_shows_its_structure_switchboard_said_to_be_so(client, services):
    ed = HealthcareService.objects.get(slug="ch-langres-urgences")
    html = _page(client, f"/annuaire/service/{ed.pk}/")
    text = _text(html)
    assert 'data-testid="switchboard"' in html
    assert "03 25 87 88 88" in text and "pas une ligne propre au service" in text
    assert "10 R De La Charite, 52200 Langres" in text
    assert "24 h/24" in text


# --- FHIR ---------------------------------------------------------------------------------------
def test_fhir_healthcare_service_returns_the_demo_services_as_valid_resources(client, services):
    response = client.get("/fhir/HealthcareService?_count=100")
    assert response.status_code == 200
    bundle = json.loads(response.content)
    assert bundle["total"] == HealthcareService.objects.filter(public=True).count() >= 49
    names = set()
    for entry in bundle["entry"]:
        resource = entry["resource"]
        R4B.get_fhir_model_class("HealthcareService").model_validate(resource)
        names.add(resource["name"])
    assert "Salle de téléconsultation de La Noue" in names
    urgences = json.loads(client.get("/fhir/HealthcareService?name=urgences").content)
    by_provider = {
        e["resource"]["providedBy"]["reference"]: e["resource"] for e in urgences["entry"]
    }
    chaumont, langres = (Organization.objects.get(finess_et=f) for f in (CH_CHAUMONT, CH_LANGRES))
    assert {f"Organization/{chaumont.pk}", f"Organization/{langres.pk}"} <= set(by_provider)
    langres = by_provider[f"Organization/{langres.pk}"]
    assert langres["availabilityExceptions"].startswith("24 h/24")
    assert langres["category"] == [{"text": "urgences"}]
    pmi = HealthcareService.objects.get(slug="pmi-saint-dizier-godard-jeanson")
    resource = json.loads(client.get(f"/fhir/HealthcareService/{pmi.pk}").content)
    assert len(resource["availableTime"]) == 10 and resource["location"]


# --- search -------------------------------------------------------------------------------------
def test_urgences_chaumont_finds_the_emergency_department(services):
    from maillage.directory.search.service import SearchQuery, reindex_ids, search

    # A reused test database may have been indexed before the services existed.
    reindex_ids("service", HealthcareService.objects.values_list("id", flat=True))
    first = search(SearchQuery(text="urgences chaumont")).items[0]
    assert (first.kind, first.object_id) == (
        "service",
        HealthcareService.objects.get(slug="ch-chaumont-urgences").pk,
    )
    la_noue = search(SearchQuery(text="téléconsultation la noue")).items
    assert "Salle de téléconsultation de La Noue" in [i.title for i in la_noue[:3]]


def test_api_service_gives_the_source_and_the_hours_in_words(client, services):
    room = HealthcareService.objects.get(slug="teleconsultation-la-noue")
    body = json.loads(client.get(f"/api/directory/services/{room.pk}").content)
    assert body["hours_note"].startswith("4 à 5 demi-journées")
    assert body["source_note"].startswith("Projet de santé de la CPTS")
    assert body["location"]["name"] == "Salle de téléconsultation de La Noue"
    assert body["phone"] == "" and body["opening_hours"] == []


def test_hospital_dispositif_page_gives_the_finess_switchboard(client, services):
    html = _page(client, "/annuaire/dispositif/hopital-ch-chaumont/")
    assert 'data-testid="switchboard"' in html and "03 25 30 70 30" in _text(html)
    # …and lists what one can use there: the hospital's services.
    assert html.count('data-testid="service"') == 10
    room = _page(client, "/annuaire/dispositif/teleconsultation-la-noue/")
    assert room.count('data-testid="service"') == 1 and "4 à 5 demi-journées" in room
    # A dispositif without a FINESS carrier has no number to fall back on.
    assert 'data-testid="switchboard"' not in _page(
        client, "/annuaire/dispositif/cpts-saint-dizier-der-blaise/"
    )


def test_a_coordinator_can_correct_what_the_seed_said_of_the_hours(services):
    """When the booking line or the real hours become known, the coordinator writes them in
    (a direct edit, kept in the history), and the page shows them."""
    from django.contrib.auth import get_user_model

    from maillage.accounts.models import Profile, Role
    from maillage.directory import review

    user = get_user_model().objects.create_user("coord-services", password="x-Long-passw0rd")
    Profile.objects.create(user=user, role=Role.COORDINATOR)
    room = HealthcareService.objects.get(slug="teleconsultation-la-noue")
    review.edit(user, room, {"hours_note": "mardi et jeudi matin"}, "appel à la CPTS")
    room.refresh_from_db()
    assert room.hours_note == "mardi et jeudi matin"
    assert room.history.first().hours_note == "mardi et jeudi matin"


def test_fhir_location_and_organization_of_the_rooms_are_valid(client, services):
    room = HealthcareService.objects.get(slug="teleconsultation-la-noue")
    location = json.loads(client.get(f"/fhir/Location/{room.location_id}").content)
    R4B.get_fhir_model_class("Location").model_validate(location)
    assert location["address"]["line"] == ["143 avenue de la République"]
    assert location["address"]["postalCode"] == "52100"
    cpts = json.loads(client.get(f"/fhir/Organization/{room.organization_id}").content)
    R4B.get_fhir_model_class("Organization").model_validate(cpts)
    assert cpts["name"] == "CPTS Saint-Dizier Der & Blaise (association)"
