"""The territory picker finds territories by name, with accents, case, hyphens and typos."""

from __future__ import annotations

import statistics
import time

import pytest

from maillage.territory import search


def specs(query: str, n: int = 10) -> list[str]:
    return [s.spec for s in search.search(query, limit=n)]


def test_langres_is_the_commune_and_the_arrondissement(demo_db):
    assert set(specs("Langres", 2)) == {"commune:52269", "arrondissement:522"}
    assert set(specs("langres", 2)) == {"commune:52269", "arrondissement:522"}


@pytest.mark.parametrize("query", ["haute marne", "Haute-Marne", "HAUTE MARNE", "hte marne", "52"])
def test_departement_by_name_or_code(demo_db, query):
    assert specs(query, 3)[0] == "departement:52", specs(query, 3)


def test_chaumont_the_larger_first(demo_db):
    found = search.search("Chaumont", limit=10)
    chaumonts = [s for s in found if s.kind == "commune" and s.name == "Chaumont"]
    assert chaumonts[0].code == "52121"  # the prefecture, before smaller namesakes
    assert len(chaumonts) > 1
    assert {"commune:52121", "arrondissement:521"} <= set(s.spec for s in found[:3])
    assert all(s.kind_label and s.code for s in found)


@pytest.mark.parametrize("query", ["Saint Dizier", "Saint-Dizier", "st dizier", "ST-DIZIER"])
def test_saint_dizier_spelt_any_way(demo_db, query):
    assert "commune:52448" in specs(query, 3)


@pytest.mark.parametrize("query, expected", [
    ("Langrse", "commune:52269"),
    ("Chaumnt", "commune:52121"),
    ("Joinvile", "commune:52250"),
    ("Saint-Dizir", "commune:52448"),
])  # fmt: skip
def test_typos(demo_db, query, expected):
    assert expected in specs(query, 10), specs(query, 10)


def test_exact_and_prefix_before_fuzzy(demo_db):
    found = specs("Langres", 10)
    assert found.index("commune:52269") < 2
    # a prefix ("Chaumont-…") comes before a fuzzy look-alike ("Chaumot")
    names = [s.name for s in search.search("Chaumont", limit=40)]
    prefix = [i for i, n in enumerate(names) if n.startswith("Chaumont-")]
    fuzzy = [i for i, n in enumerate(names) if not n.startswith("Chaumont")]
    assert prefix and fuzzy and max(prefix) < min(fuzzy)


def test_saved_territories_are_found(demo_db):
    assert specs("cpts saint dizier", 3)[0] == "cpts-saint-dizier-der-blaise"
    assert "centre-sud-haute-marne" in specs("centre sud", 5)


def test_nothing_and_nonsense(demo_db):
    assert search.search("") == [] and search.search("  - ") == []
    assert search.search("zzqxw") == []
    assert len(search.search("a" * 10_000)) <= 10  # cut, not an error


def test_fast_enough(demo_db):
    search.search("warm up")
    queries = ["Langres", "haute marne", "st dizier", "Chaumnt", "52", "marseille", "bourg"]
    times = []
    for q in queries * 3:
        start = time.perf_counter()
        search.search(q)
        times.append(time.perf_counter() - start)
    assert statistics.median(times) < 0.05, times


def test_picker_page_lists_matches_with_type_and_code(client, demo_db):
    response = client.get("/territoires/", {"t": "langres"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="suggestions"' in html
    assert '<a href="/territoires/commune-52269/">Langres</a> — Commune 52269' in html
    assert '<a href="/territoires/arrondissement-522/">Langres</a> — Arrondissement 522' in html
    assert client.get("/territoires/commune-52269/").status_code == 200
    # a type:code still opens the dashboard directly
    response = client.get("/territoires/", {"t": "departement:52"})
    assert response.status_code == 302 and response["Location"] == "/territoires/departement-52/"
    nothing = client.get("/territoires/", {"t": "zzqxw"}).content.decode()
    assert "Aucun territoire ne correspond" in nothing


def test_suggestions_json(client, demo_db):
    data = client.get("/territoires/suggestions.json", {"q": "haute marne"}).json()
    first = data["results"][0]
    assert first["spec"] == "departement:52" and first["kind_label"] == "Département"
    assert first["code"] == "52" and first["population"] == 168_331
    assert client.get("/territoires/suggestions.json").json()["results"] == []
    too_long = client.get("/territoires/suggestions.json", {"q": "x" * 101})
    assert too_long.status_code == 400 and "caractères" in too_long.json()["detail"]
