"""Overseas territories: no shipped centroid or shape, and for the collectivities no commune at
all. Every page and API route that takes a territory answers without a server error, with what
is known and a plain statement of what is missing."""

from __future__ import annotations

import json

import pytest
from django.test import Client

DROM = ["971", "972", "973", "974", "976"]  # communes imported, without centroids or shapes
COM = ["975", "977", "978", "984", "986", "987", "988", "989"]  # no commune in the data
NO_COORDINATES = "Pas de coordonnées pour les communes de ce territoire"
NO_COMMUNE = "aucune commune"


def _body(response) -> str:
    if response.streaming:  # reports come from the export cache as files
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def _pages(slug: str, spec: str) -> list[str]:
    return [
        f"/territoires/?t={spec}",
        f"/territoires/{slug}/",
        f"/territoires/{slug}/communes.geojson",
        f"/territoires/{slug}/diagnostic.html",
        f"/territoires/{slug}/diagnostic.json",
        f"/territoires/{slug}/diagnostic.xlsx",
        f"/api/territories/{spec}/fhir-bundle",
        f"/fhir/Bundle?territory={spec}",
    ]


@pytest.mark.parametrize("code", DROM)
def test_overseas_departement_report_and_dashboard(demo_db, client, code):
    for url in _pages(f"departement-{code}", f"departement:{code}"):
        response = client.get(url)
        assert response.status_code < 500, url
        assert response.status_code in (200, 202, 302), url  # 202: an export being built
    page = client.get(f"/territoires/departement-{code}/").content.decode()
    assert NO_COORDINATES in page
    assert 'data-testid="no-map"' in page
    assert 'data-testid="kpi-population"' in page
    # the directory has nobody there: the GP count is unknown, never shown as 0
    gp_card = page.split('data-testid="kpi-gp"', 1)[1].split('data-testid="kpi-access"', 1)[0]
    assert "n.d." in gp_card and ">0<" not in gp_card.replace(" ", "")
    report = _body(client.get(f"/territoires/departement-{code}/diagnostic.html"))
    assert NO_COORDINATES in report
    figures = client.get(f"/territoires/departement-{code}/diagnostic.json").json()
    assert figures["communes"] > 10 and figures["population"] > 100_000
    assert figures["accessibility"]["value"] is None and figures["access_times"] == []
    assert any(NO_COORDINATES in m for m in figures["missing"])
    assert client.get(f"/territoires/departement-{code}/communes.geojson").json()["features"] == []


def test_overseas_pdf_and_region(demo_db, client, worker):
    pdf = client.get("/territoires/departement-976/diagnostic.pdf")
    assert pdf.status_code in (200, 202), pdf.status_code  # 202: being built in the background
    if pdf.status_code == 200:
        assert b"".join(pdf.streaming_content)[:4] == b"%PDF"
    region = client.get("/territoires/region-04/")
    assert region.status_code == 200 and NO_COORDINATES in region.content.decode()


@pytest.mark.parametrize("code", COM)
def test_collectivity_without_communes_is_a_clear_page(demo_db, client, code):
    for kind in ("departement", "region"):
        for url in _pages(f"{kind}-{code}", f"{kind}:{code}"):
            response = client.get(url)
            assert response.status_code < 500, url
    response = client.get(f"/territoires/departement-{code}/")
    assert response.status_code == 404
    assert NO_COMMUNE in response.content.decode()
    for fmt in ("html", "xlsx", "pdf"):
        response = client.get(f"/territoires/departement-{code}/diagnostic.{fmt}")
        assert response.status_code == 404 and NO_COMMUNE in _body(response)
    assert (
        NO_COMMUNE
        in client.get(f"/territoires/departement-{code}/diagnostic.json").json()["detail"]
    )
    bundle = client.get(f"/api/territories/departement:{code}/fhir-bundle")
    assert bundle.status_code == 200 and json.loads(_body(bundle))["entry"] == []


def test_every_overseas_link_of_the_picker_works(demo_db):
    client = Client()
    page = client.get("/territoires/").content.decode()
    for code in DROM + COM:
        assert f"?t=departement:{code}" in page
        response = client.get(f"/territoires/?t=departement:{code}", follow=True)
        assert response.status_code in (200, 404), code
        assert (NO_COORDINATES if code in DROM else NO_COMMUNE) in response.content.decode()
