"""Bounded work per request and errors a client can read: every input of issue 7's "Why".

Each hostile input gets a 4xx with the documented body before any work (JSON API:
``{"detail", "code", "fields"}`` in French; FHIR: an OperationOutcome), never a 500 or an
HTML page. The search's query bound is one parser shared by the API and the HTML page.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from maillage.accounts.models import Profile, Role
from maillage.directory.fhir import views as fhir_views
from maillage.directory.models import Practitioner
from maillage.directory.search import service

pytestmark = pytest.mark.django_db

THREE_THOUSAND_WORDS = " ".join(["medecin", "langres", "cardiologue"] * 1000)


def api_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:400]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = json.loads(response.content)
    assert set(body) == {"detail", "code", "fields"}, body
    assert body["code"] == code and isinstance(body["detail"], str) and body["detail"]
    return body


def outcome(response, status: int) -> dict:
    assert response.status_code == status, response.content[:400]
    assert response["Content-Type"].startswith("application/fhir+json"), response["Content-Type"]
    body = json.loads(response.content)
    assert body["resourceType"] == "OperationOutcome", body
    assert body["issue"][0]["diagnostics"]
    return body


# --- the one query parser --------------------------------------------------------------------
def test_query_parser_bounds_characters_and_words():
    assert service.query_text("  médecin Langres ") == "médecin Langres"
    with pytest.raises(service.QueryTooLarge, match="trop long"):
        service.query_text("a" * (service.MAX_QUERY_CHARS + 1))
    with pytest.raises(service.QueryTooLarge, match="trop de mots"):
        service.query_text(" ".join(["ab"] * (service.MAX_QUERY_WORDS + 1)))
    service.query_text(" ".join(["ab"] * service.MAX_QUERY_WORDS))


def test_api_search_refuses_a_3000_word_query_before_any_work(client, demo_db):
    body = api_error(
        client.get("/api/directory/search", {"q": THREE_THOUSAND_WORDS}), 400, "requete_invalide"
    )
    assert "trop long" in body["detail"]
    words = " ".join(["medecin"] * (service.MAX_QUERY_WORDS + 1))
    body = api_error(client.get("/api/directory/search", {"q": words}), 400, "requete_invalide")
    assert "mots" in body["detail"]
    api_error(client.get("/api/directory/search", {"near": "x" * 500}), 400, "requete_invalide")
    ok = client.get("/api/directory/search", {"q": "medecin langres"})
    assert ok.status_code == 200


def test_html_search_page_uses_the_same_bound(client, demo_db):
    response = client.get("/annuaire/", {"q": THREE_THOUSAND_WORDS})
    assert response.status_code == 400
    assert b'data-testid="query-too-large"' in response.content
    assert b"trop long" in response.content
    assert client.get("/annuaire/", {"q": "medecin langres"}).status_code == 200
    response = client.get("/annuaire/carte.json", {"q": THREE_THOUSAND_WORDS})
    assert response.status_code == 400 and json.loads(response.content)["detail"]


@pytest.mark.parametrize(
    "params",
    [
        {"page": "99999999999999999999"},
        {"page": "0"},
        {"page": "abc"},
        {"page": "²"},
        {"page_size": "100000"},
        {"q": "x" * 100_000},
        {"tag": "x" * 5_000},
    ],
)
def test_api_action_list_bounds(client, demo_db, params):
    body = api_error(client.get("/api/directory/actions", params), 400, "requete_invalide")
    assert body["fields"] and set(body["fields"]) <= {"page", "page_size", "q", "tag"}


@pytest.mark.parametrize(
    "params",
    [{"page": "99999999999999999999"}, {"page": "1001"}, {"page_size": "101"}, {"page": "x"}],
)
def test_api_search_page_bounds(client, demo_db, params):
    api_error(client.get("/api/directory/search", {"q": "medecin", **params}), 400,
              "requete_invalide")  # fmt: skip


def test_api_errors_have_the_documented_body(client, demo_db):
    api_error(client.get("/api/directory/practitioners/999999999"), 404, "introuvable")
    api_error(client.get("/api/directory/practitioners/abc"), 400, "requete_invalide")
    api_error(client.get("/api/directory/proposals"), 401, "authentification_requise")
    api_error(client.get("/api/territories/epci:000000000/fhir-bundle"), 404, "introuvable")


def test_anonymous_writes_answer_401_whatever_the_method(demo_db):
    practitioner = Practitioner.objects.first()
    client = Client(enforce_csrf_checks=True)
    for method, url in [
        ("patch", f"/api/directory/practitioners/{practitioner.pk}"),
        ("post", "/api/directory/proposals/1/publish"),
        ("post", "/api/directory/search"),  # a GET-only path: still 401, not 405
        ("delete", f"/api/directory/practitioners/{practitioner.pk}"),
        ("put", "/api/directory/nothing-here"),
    ]:
        response = getattr(client, method)(url, data="{}", content_type="application/json")
        api_error(response, 401, "authentification_requise")


def test_logged_in_write_without_csrf_is_a_documented_403(demo_db):
    user = get_user_model().objects.create_user("coord-limits", password="x-Long-passw0rd")
    Profile.objects.create(user=user, role=Role.COORDINATOR)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    practitioner = Practitioner.objects.first()
    response = client.patch(
        f"/api/directory/practitioners/{practitioner.pk}", data="{}",
        content_type="application/json",
    )  # fmt: skip
    body = api_error(response, 403, "interdit")
    assert "CSRF" in body["detail"]


def test_api_unexpected_exception_is_a_json_500(client, demo_db, monkeypatch):
    def broken(query, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(service, "search", broken)
    api_error(client.get("/api/directory/search", {"q": "x"}), 500, "erreur_serveur")


# --- FHIR --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "query",
    [
        "_offset=99999999999999999999",
        f"_offset={fhir_views.MAX_OFFSET + 1}",
        "_count=100000",
        "_count=²",
        "page=99999999999999999999",
        "_id=²",
        "_id=٣",
        "_id=99999999999999999999",
        "_id=" + ",".join(str(i) for i in range(1, 3001)),
        "name=" + "a" * 100_000,
        "family=" + "b" * (fhir_views.MAX_VALUE_CHARS + 1),
        "_id=1&" + "&".join(f"given=a{i}" for i in range(200)),
    ],
)
def test_fhir_practitioner_search_bounds(client, demo_db, query):
    body = outcome(client.get(f"/fhir/Practitioner?{query}"), 400)
    assert body["issue"][0]["code"] in {"invalid", "too-costly"}


@pytest.mark.parametrize(
    "url",
    [
        "/fhir/PractitionerRole?practitioner=Practitioner/99999999999999999999",
        "/fhir/PractitionerRole?practitioner=٣",
        "/fhir/Bundle?territory=" + "x" * 100_000,
    ],
)
def test_fhir_other_searches_bounds(client, demo_db, url):
    outcome(client.get(url), 400)


def test_fhir_read_of_an_impossible_id_is_a_404(client, demo_db):
    outcome(client.get("/fhir/Practitioner/99999999999999999999999"), 404)
    outcome(client.get("/fhir/Practitioner/²"), 404)


@pytest.mark.parametrize(
    "code",
    ["https://rpps.esante.gouv.fr|99²", "99²", "٣", "99999999999999999999999"],
)
def test_fhir_identifiers_that_match_nothing_give_an_empty_bundle(client, demo_db, code):
    from maillage.directory.fhir.resources import LOCAL_ID_SYSTEMS

    for value in (code, f"{LOCAL_ID_SYSTEMS['Practitioner']}|{code}"):
        response = client.get("/fhir/Practitioner", {"identifier": value})
        assert response.status_code == 200, response.content[:300]
        assert json.loads(response.content)["total"] == 0


def test_fhir_bound_values_still_work(client, demo_db):
    ids = ",".join(str(p) for p in Practitioner.objects.values_list("pk", flat=True)[:5])
    response = client.get(f"/fhir/Practitioner?_id={ids}&_count={fhir_views.MAX_COUNT}")
    assert response.status_code == 200
    assert json.loads(response.content)["total"] == 5


def test_fhir_unexpected_exception_is_an_operation_outcome_500(client, demo_db, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(fhir_views.fhir, "build", broken)
    body = outcome(client.get("/fhir/Practitioner?_count=1"), 500)
    assert body["issue"][0]["code"] == "exception"


@pytest.mark.parametrize(
    "url",
    [
        "/api/directory/actions?q=%1D%00%C2%B8&page=2",
        "/api/directory/search?q=m%00decin",
        "/api/directory/actions?tag=x&kind%00=1",
    ],
)
def test_nul_character_in_a_parameter_is_a_400_not_a_database_error(client, url):
    # PostgreSQL refuses NUL in any string: schemathesis found this as a 500 there
    body = api_error(client.get(url), 400, "requete_invalide")
    assert "caractère nul" in body["detail"]


def test_nul_character_under_fhir_and_pages(client):
    outcome(client.get("/fhir/Practitioner?name=a%00b"), 400)
    response = client.get("/annuaire/?q=a%00b")
    assert response.status_code == 400 and "caractère nul" in response.content.decode()
