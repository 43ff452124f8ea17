"""Territories side by side: the page, the JSON, bad requests."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def http(client):
    client.defaults["HTTP_HOST"] = "127.0.0.1"
    return client


def test_two_departements_side_by_side_match_their_own_diagnostics(http, demo_db):
    from maillage.observatory.services import figures_for
    from maillage.territory.services import resolve

    response = http.get("/territoires/comparer.json", {"t": ["departement-52", "Aube"]})
    assert response.status_code == 200
    data = json.loads(response.content)
    assert [t["name"] for t in data["territories"]] == ["Haute-Marne", "Aube"]
    rows = {r["key"]: r for r in data["rows"]}
    for i, spec in enumerate(["departement:52", "departement:10"]):
        f = figures_for(resolve(spec))
        assert rows["population"]["values"][i] == f["population"]
        gp = f["offer"]["medecin_generaliste"]["density_10k"]
        assert rows["medecin_generaliste_density"]["values"][i] == gp
    assert rows["medecin_generaliste_density"]["synthetic"] is True  # demo practitioners
    assert rows["population"]["synthetic"] is False
    assert data["synthetic_note"]
    assert "Pédiatres" in data["no_open_data"] and "pediatre_density" not in rows


def test_the_page_shows_the_table_and_flags_demo_values(http, demo_db):
    page = http.get("/territoires/comparer/", {"t": ["Langres", "commune:52121", ""]})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="compare-table"' in html and "Chaumont" in html and "Langres" in html
    assert 'class="tag-synth">démo' in html and 'data-testid="synthetic-banner"' in html
    empty = http.get("/territoires/comparer/")
    assert empty.status_code == 200 and "compare-table" not in empty.content.decode()


@pytest.mark.parametrize(
    "query, message",
    [
        ({"t": ["departement-52"]}, "de 2 à 4 territoires"),
        ({"t": ["52", "10", "21", "51", "55"]}, "de 2 à 4 territoires"),
        ({"t": ["departement-52", "departement:52"]}, "deux fois"),
        ({"t": ["departement-52", "zzqxw"]}, "ucun territoire ne correspond"),
        ({}, "de 2 à 4 territoires"),
    ],
)
def test_bad_requests_are_400_in_french_and_write_nothing(http, demo_db, query, message):
    from maillage.territory.models import Territory

    before = Territory.objects.count()
    response = http.get("/territoires/comparer.json", query)
    assert response.status_code == 400
    assert message in json.loads(response.content)["detail"]
    if query:
        assert message in http.get("/territoires/comparer/", query).content.decode()
    assert Territory.objects.count() == before
