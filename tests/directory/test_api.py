"""The JSON API (/api/): OpenAPI schema, search, entries, pro-only fields, editing by role.

Real database (the session's demo data), real permission check, real review service: a
professional's proposal goes through a coordinator's review and the entry changes.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from fhir.resources import R4B
from openapi_spec_validator import validate

from maillage.accounts.models import Profile, Role
from maillage.directory.changes import ChangeProposal
from maillage.directory.models import (
    Action,
    HealthcareService,
    Location,
    Organization,
    Practitioner,
    PractitionerRole,
    Scheme,
    SchemeContact,
)
from maillage.territory.services import resolve

pytestmark = pytest.mark.django_db

CHAUMONT = "52121"
SAINT_DIZIER = "52448"  # in the CA du Grand Saint-Dizier, Der et Vallées (EPCI 200068666)
CH_CHAUMONT_FINESS = "520000027"
SECRET_MSS = "dr.secret@medecin.mssante.fr"
SECRET_LINE = "03 25 99 99 99"
SECRET_NOTE = "code porte 1234"


def user_with(role: str, name: str, practitioner: Practitioner | None = None):
    user = get_user_model().objects.create_user(name, password="x-Long-passw0rd")
    Profile.objects.create(user=user, role=role, practitioner=practitioner)
    return user


def body(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:300]
    return json.loads(response.content)


def patch(client: Client, url: str, data: dict):
    return client.patch(url, data=json.dumps(data), content_type="application/json")


@pytest.fixture
def gp(demo_db) -> PractitionerRole:
    """A synthetic GP practising in Chaumont, with pro-only fields filled in."""
    role = (
        PractitionerRole.objects.filter(
            location__commune_id=CHAUMONT, profession_code="10", accepts_new_patients=False
        )
        .select_related("practitioner", "location")
        .first()
    )
    person = role.practitioner
    person.mssante, person.direct_line, person.notes_pro = SECRET_MSS, SECRET_LINE, SECRET_NOTE
    person.save()
    return role


@pytest.fixture
def hospital(demo_db) -> Organization:
    org = Organization.objects.get(finess_et=CH_CHAUMONT_FINESS)
    org.mssante = "urgences@ch-chaumont.mssante.fr"
    org.save()
    return org


@pytest.fixture
def dispositifs(hospital) -> dict:
    """A public scheme with a public and a pro-only contact, a pro-only scheme, a pro-only
    service and action, and a public action."""
    cpts = Scheme.objects.create(
        slug="cpts-test",
        name="CPTS de test",
        kind="cpts",
        perimeter=resolve("cpts-saint-dizier-der-blaise"),
        organization=hospital,
        mssante="cpts@test.mssante.fr",
    )
    cpts.member_organizations.add(hospital)
    SchemeContact.objects.create(scheme=cpts, name="Accueil", phone="03 25 00 00 01", public=True)
    SchemeContact.objects.create(
        scheme=cpts, name="Coordinatrice", phone="06 00 00 00 02", public=False
    )
    hidden = Scheme.objects.create(slug="astreinte-test", name="Astreinte", kind="astreinte_ide",
                                   public=False)  # fmt: skip
    service = HealthcareService.objects.create(
        organization=hospital, name="Ligne avis gériatrique", public=False, source="manual"
    )
    public_action = Action.objects.create(
        slug="parcours-insuffisance-cardiaque",
        title="Parcours insuffisance cardiaque",
        kind="fiche_parcours",
        scheme=cpts,
        tags="cardiologie, parcours",
    )
    pro_action = Action.objects.create(
        slug="protocole-avk", title="Protocole AVK", kind="protocole", visibility="pro"
    )
    return {"cpts": cpts, "hidden": hidden, "service": service, "public_action": public_action,
            "pro_action": pro_action}  # fmt: skip


# --- OpenAPI ------------------------------------------------------------------------------
def test_openapi_schema_validates_and_lists_the_endpoints(client):
    response = client.get("/api/schema")
    assert response.status_code == 200
    spec = body(response)
    validate(spec)
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for path in (
        "/api/directory/search",
        "/api/directory/practitioners/{id}",
        "/api/directory/organizations/{id}",
        "/api/directory/locations/{id}",
        "/api/directory/services/{id}",
        "/api/directory/schemes/{slug}",
        "/api/directory/actions",
        "/api/directory/actions/{slug}",
        "/api/directory/proposals",
        "/api/directory/proposals/{id}/publish",
        "/api/directory/proposals/{id}/reject",
        "/api/territories/{spec}/fhir-bundle",
    ):
        assert path in paths, path
    assert "patch" in paths["/api/directory/practitioners/{id}"]
    assert "patch" in paths["/api/directory/schemes/{slug}"]
    params = {p["name"] for p in paths["/api/directory/search"]["get"]["parameters"]}
    assert params == {
        "q", "profession", "specialty", "commune", "near", "radius_km", "kind",
        "structure_kind", "accepts_new_patients", "teleconsultation", "language", "open_now",
        "page", "page_size",
    }  # fmt: skip


def test_docs_page_works_offline(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script" not in html  # the CSP forbids external scripts: none needed
    assert "/api/directory/search" in html and "/api/schema" in html


# --- search -------------------------------------------------------------------------------
def test_search_with_a_typo_finds_gps_of_chaumont(client, demo_db):
    data = body(client.get("/api/directory/search", {"q": "generaliste chaumon", "page_size": 50}))
    assert data["total"] > 0
    assert data["results"]
    for item in data["results"]:
        assert item["kind"] == "role"
        assert item["profession"]["code"] == "10"
        assert item["commune"]["name"].startswith("Chaumont")
        assert item["synthetic"] is True
        assert item["url"]


def test_search_filters_and_shape(client, demo_db, django_assert_max_num_queries):
    params = {"profession": "10", "commune": CHAUMONT, "accepts_new_patients": "true"}
    client.get("/api/directory/search", params)  # warm the search vocabulary cache
    with django_assert_max_num_queries(8):
        response = client.get("/api/directory/search", {**params, "page_size": 100})
    data = body(response)
    expected = PractitionerRole.objects.filter(
        profession_code="10", location__commune_id=CHAUMONT, accepts_new_patients=True
    ).count()
    assert data["total"] == expected > 0
    item = data["results"][0]
    assert set(item) == {
        "kind", "id", "title", "subtitle", "profession", "specialty", "commune", "latitude",
        "longitude", "accepts_new_patients", "teleconsultation", "synthetic", "url",
    }  # fmt: skip
    assert item["commune"] == {"code": CHAUMONT, "name": "Chaumont"}
    assert item["profession"] == {"code": "10", "label": "Médecin"}
    assert all(r["accepts_new_patients"] is True for r in data["results"])
    assert item["url"] == f"/annuaire/professionnel/{item['id']}/"
    # paging
    page2 = body(client.get("/api/directory/search", {**params, "page_size": 1, "page": 2}))
    assert page2["page"] == 2 and page2["pages"] == expected
    assert (
        page2["results"][0]["id"]
        != body(client.get("/api/directory/search", {**params, "page_size": 1}))["results"][0]["id"]
    )


def test_search_near_a_place(client, demo_db):
    data = body(client.get("/api/directory/search", {"near": "Langres", "radius_km": 5}))
    assert data["near"]["label"] == "Langres"
    assert data["near"]["latitude"] and data["total"] > 0


@pytest.mark.parametrize(
    "params",
    [
        {"page": 0},
        {"page": "deux"},
        {"page_size": 1000},
        {"radius_km": 5},  # without near
        {"near": "Langres", "radius_km": -1},
        {"specialty": "SM999"},
        {"commune": "Chaumont"},
        {"accepts_new_patients": "peut-être"},
    ],
)
def test_search_bad_input_is_a_clear_4xx(client, demo_db, params):
    response = client.get("/api/directory/search", params)
    assert response.status_code in (400, 422), params
    assert body(response)["detail"]


# --- entries and pro-only fields ----------------------------------------------------------
def test_practitioner_pro_fields_only_for_logged_in_professionals(client, gp):
    url = f"/api/directory/practitioners/{gp.practitioner_id}"
    response = client.get(url)
    text = response.content.decode()
    assert response.status_code == 200
    for secret in (SECRET_MSS, SECRET_LINE, SECRET_NOTE, "mssante", "direct_line", "notes_pro"):
        assert secret not in text
    data = body(response)
    assert data["pro"] is None and data["synthetic"] is True
    assert data["roles"][0]["profession"]["code"] == "10"
    assert any(r["location"]["address"]["commune"]["code"] == CHAUMONT for r in data["roles"])

    for role in (Role.PROFESSIONAL, Role.COORDINATOR):
        client.force_login(user_with(role, f"user-{role}"))
        data = body(client.get(url))
        assert data["pro"] == {
            "mssante": SECRET_MSS,
            "direct_line": SECRET_LINE,
            "notes_pro": SECRET_NOTE,
        }
        client.logout()


def test_organization_location_role_entries(client, gp, hospital):
    data = body(client.get(f"/api/directory/organizations/{hospital.pk}"))
    assert data["finess_et"] == CH_CHAUMONT_FINESS
    assert data["category"]["code"] == "355"
    assert data["address"]["commune"] == {"code": CHAUMONT, "name": "Chaumont"}
    assert data["pro"] is None and hospital.mssante not in json.dumps(data)
    loc = body(client.get(f"/api/directory/locations/{gp.location_id}"))
    assert any(r["id"] == gp.pk for r in loc["roles"]) and loc["pro"] is None
    role = body(client.get(f"/api/directory/roles/{gp.pk}"))
    assert role["practitioner"]["id"] == gp.practitioner_id
    for url in (
        "/api/directory/practitioners/999999999",
        "/api/directory/organizations/999999999",
        "/api/directory/locations/999999999",
        "/api/directory/services/999999999",
        "/api/directory/schemes/nope",
        "/api/directory/actions/nope",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert body(response)["detail"]
    client.force_login(user_with(Role.PROFESSIONAL, "pro"))
    data = body(client.get(f"/api/directory/organizations/{hospital.pk}"))
    assert data["pro"]["mssante"] == hospital.mssante


def test_schemes_services_actions_visibility(client, dispositifs):
    cpts = body(client.get("/api/directory/schemes/cpts-test"))
    assert cpts["kind"]["code"] == "cpts" and cpts["perimeter"]["communes"] == 60
    assert [c["name"] for c in cpts["contacts"]] == ["Accueil"]
    assert cpts["pro"] is None and "cpts@test.mssante.fr" not in json.dumps(cpts)
    assert [a["slug"] for a in cpts["actions"]] == ["parcours-insuffisance-cardiaque"]
    for url in (
        "/api/directory/schemes/astreinte-test",
        f"/api/directory/services/{dispositifs['service'].pk}",
        "/api/directory/actions/protocole-avk",
    ):
        assert client.get(url).status_code == 404, url
    listed = body(client.get("/api/directory/actions", {"page_size": 100}))
    slugs = [a["slug"] for a in listed["results"]]
    assert "parcours-insuffisance-cardiaque" in slugs and "protocole-avk" not in slugs
    assert all(a["visibility"] == "public" for a in listed["results"])
    assert listed["total"] == Action.objects.filter(visibility="public").count()
    found = body(client.get("/api/directory/actions", {"q": "insuffisance cardiaque"}))
    assert [a["slug"] for a in found["results"]] == ["parcours-insuffisance-cardiaque"]
    assert found["results"][0]["tags"] == ["cardiologie", "parcours"]
    action = body(client.get("/api/directory/actions/parcours-insuffisance-cardiaque"))
    assert action["scheme"]["slug"] == "cpts-test"
    public_protocols = Action.objects.filter(kind="protocole", visibility="public").count()
    assert body(client.get("/api/directory/actions", {"kind": "protocole"}))["total"] == (
        public_protocols
    )

    client.force_login(user_with(Role.PROFESSIONAL, "pro"))
    cpts = body(client.get("/api/directory/schemes/cpts-test"))
    assert {c["name"] for c in cpts["contacts"]} == {"Accueil", "Coordinatrice"}
    assert cpts["pro"]["mssante"] == "cpts@test.mssante.fr"
    for url in (
        "/api/directory/schemes/astreinte-test",
        f"/api/directory/services/{dispositifs['service'].pk}",
        "/api/directory/actions/protocole-avk",
    ):
        assert client.get(url).status_code == 200, url
    protocols = body(client.get("/api/directory/actions", {"kind": "protocole"}))
    assert protocols["total"] == Action.objects.filter(kind="protocole").count() > public_protocols


# --- editing by role ------------------------------------------------------------------------
def test_professional_proposes_coordinator_publishes(client, gp):
    url = f"/api/directory/roles/{gp.pk}"
    # anonymous: refused, nothing recorded
    response = patch(client, url, {"accepts_new_patients": True})
    assert response.status_code == 401
    assert not ChangeProposal.objects.exists()

    owner = user_with(Role.PROFESSIONAL, "dr-owner", practitioner=gp.practitioner)
    client.force_login(owner)
    # unknown field: 422 naming it
    response = patch(client, url, {"accepts_new_patients": True, "profession_code": "60"})
    assert response.status_code == 422
    assert body(response)["fields"] == ["profession_code"]
    # bad value: 422 too
    response = patch(client, f"/api/directory/practitioners/{gp.practitioner_id}",
                     {"languages": "français"})  # fmt: skip
    assert response.status_code == 422 and body(response)["fields"] == ["languages"]
    # someone else's entry: 403
    other = PractitionerRole.objects.exclude(practitioner=gp.practitioner).first()
    response = patch(client, f"/api/directory/roles/{other.pk}", {"accepts_new_patients": True})
    assert response.status_code == 403
    # own entry: 202 with the pending proposal; the entry has not changed yet
    response = patch(client, url, {"accepts_new_patients": True, "_comment": "je reprends"})
    assert response.status_code == 202, response.content
    proposal = body(response)
    assert proposal["status"] == "pending" and proposal["changes"] == {"accepts_new_patients": True}
    assert proposal["comment"] == "je reprends" and proposal["proposed_by"] == "dr-owner"
    gp.refresh_from_db()
    assert gp.accepts_new_patients is False
    # a professional cannot review, and sees only their own proposals
    assert client.post(f"/api/directory/proposals/{proposal['id']}/publish").status_code == 403
    mine = body(client.get("/api/directory/proposals"))
    assert [p["id"] for p in mine] == [proposal["id"]]

    coordinator = user_with(Role.COORDINATOR, "coord")
    client.force_login(coordinator)
    pending = body(client.get("/api/directory/proposals", {"status": "pending"}))
    assert proposal["id"] in [p["id"] for p in pending]
    assert client.get("/api/directory/proposals", {"status": "maybe"}).status_code == 422
    response = client.post(
        f"/api/directory/proposals/{proposal['id']}/publish",
        data=json.dumps({"comment": "vérifié par téléphone"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    published = body(response)
    assert published["status"] == "published" and published["reviewed_by"] == "coord"
    gp.refresh_from_db()
    assert gp.accepts_new_patients is True
    # a second review of the same proposal is a conflict
    assert client.post(f"/api/directory/proposals/{proposal['id']}/reject").status_code == 409


def test_coordinator_proposes_and_rejects(client, hospital):
    client.force_login(user_with(Role.COORDINATOR, "coord"))
    response = patch(
        client, f"/api/directory/organizations/{hospital.pk}", {"phone": "03 25 30 70 00"}
    )
    assert response.status_code == 202
    proposal = body(response)
    response = client.post(f"/api/directory/proposals/{proposal['id']}/reject")
    assert response.status_code == 200 and body(response)["status"] == "rejected"
    hospital.refresh_from_db()
    assert hospital.phone != "03 25 30 70 00"
    assert client.post("/api/directory/proposals/999999/publish").status_code == 404


def test_writes_need_the_csrf_token(gp):
    owner = user_with(Role.PROFESSIONAL, "dr-owner", practitioner=gp.practitioner)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = patch(client, f"/api/directory/roles/{gp.pk}", {"accepts_new_patients": True})
    assert response.status_code == 403
    assert not ChangeProposal.objects.exists()


def test_anonymous_cannot_list_or_review(client, demo_db):
    assert client.get("/api/directory/proposals").status_code == 401
    assert client.post("/api/directory/proposals/1/publish").status_code == 401


# --- territory export -----------------------------------------------------------------------
def test_territory_fhir_bundle_route(client, demo_db):
    # A GP of Saint-Dizier, inside the EPCI, with pro-only fields filled in: the bundle must
    # carry the practitioner and none of those fields.
    role = (
        PractitionerRole.objects.filter(location__commune_id=SAINT_DIZIER, profession_code="10")
        .select_related("practitioner")
        .first()
    )
    assert role is not None, "the demo data have no GP in Saint-Dizier"
    person = role.practitioner
    person.mssante, person.direct_line, person.notes_pro = SECRET_MSS, SECRET_LINE, SECRET_NOTE
    person.save()
    response = client.get("/api/territories/epci:200068666/fhir-bundle")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    assert "attachment" in response["Content-Disposition"]
    bundle = json.loads(response.getvalue())
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    for entry in bundle["entry"]:
        R4B.get_fhir_model_class(entry["resource"]["resourceType"]).model_validate(
            entry["resource"]
        )
    practitioners = {
        entry["resource"]["id"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == "Practitioner"
    }
    assert str(person.pk) in practitioners
    text = response.getvalue().decode()
    for secret in (SECRET_MSS, SECRET_LINE, SECRET_NOTE):
        assert secret not in text
    response = client.get("/api/territories/epci:000000000/fhir-bundle")
    assert response.status_code == 404 and body(response)["detail"]


def test_synthetic_flag_in_json_entries(client, gp):
    location = Location.objects.get(pk=gp.location_id)
    data = body(client.get(f"/api/directory/locations/{location.pk}"))
    assert data["synthetic"] is location.synthetic
