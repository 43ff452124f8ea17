"""Error pages: French, in the site's layout, in the shape each side of the site speaks
(HTML page, JSON API body, FHIR OperationOutcome), and a server error page that never needs
the database."""

from __future__ import annotations

import json

import pytest
from django.test import Client, override_settings
from django.urls import path

from maillage import urls as site_urls


def _boom(request):
    raise RuntimeError("données personnelles : Dupont Jeanne, né le 01/02/1950")


urlpatterns = [
    path("boum/", _boom),
    path("api/boum", _boom),
    *site_urls.urlpatterns,
]
handler400 = site_urls.handler400
handler403 = site_urls.handler403
handler404 = site_urls.handler404
handler500 = site_urls.handler500


@pytest.fixture
def client() -> Client:
    return Client(HTTP_HOST="127.0.0.1", raise_request_exception=False)


@pytest.mark.django_db
def test_an_unknown_page_is_a_french_404_in_the_site_layout(client):
    response = client.get("/cette-page-n-existe-pas/")
    assert response.status_code == 404
    html = response.content.decode()
    assert '<html lang="fr">' in html and "Page introuvable" in html
    assert "Chercher dans l'annuaire" in html and 'class="site-header"' in html
    assert "Not Found" not in html


@pytest.mark.django_db
def test_an_unknown_entry_is_the_same_french_404(client):
    response = client.get("/annuaire/structure/999999999/")
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()


@pytest.mark.django_db
def test_an_unknown_api_path_answers_the_documented_json_body(client):
    response = client.get("/api/pas-de-chemin")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert json.loads(response.content) == {
        "detail": "ressource introuvable",
        "code": "introuvable",
        "fields": None,
    }


@pytest.mark.django_db
def test_a_refused_form_says_why_in_french(client):
    strict = Client(HTTP_HOST="127.0.0.1", enforce_csrf_checks=True)
    response = strict.post("/connexion/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "Formulaire refusé" in html and "rechargez la page" in html
    assert "Forbidden" not in html and "CSRF" not in html


@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
@pytest.mark.django_db
def test_a_server_error_is_a_french_page_without_the_exception(client):
    response = client.get("/boum/")
    assert response.status_code == 500
    html = response.content.decode()
    assert '<html lang="fr">' in html and "Erreur du serveur" in html
    assert "Dupont" not in html and "RuntimeError" not in html and "Traceback" not in html


@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
@pytest.mark.django_db
def test_a_server_error_on_the_api_is_json(client):
    response = client.get("/api/boum")
    assert response.status_code == 500
    body = json.loads(response.content)
    assert body["code"] == "erreur_serveur" and "Dupont" not in response.content.decode()
