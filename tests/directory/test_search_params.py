"""One query string for list and map (issue 8): the map link the page gives must find exactly
what the list found, for many filter combinations (the map once sent ``nouveaux=True``, which the
parser did not read, so "accepte de nouveaux patients" gave 8 in the list and 23 on the map)."""

from __future__ import annotations

import html
import itertools
import re

import pytest

from maillage.directory.views.public import _flag

COMBOS = [
    dict(zip(("q", "ou", "nouveaux", "teleconsultation"), values, strict=True))
    for values in itertools.product(
        ("generaliste", "infirmier", "pharmacie"),
        ("", "Chaumont", "Langres"),
        ("", "1"),
        ("", "1"),
    )
]


def _map_url(response) -> str | None:
    """The points URL the page gives its map (no map when there is no result)."""
    match = re.search(r'data-points="([^"]+)"', response.content.decode())
    return html.unescape(match.group(1)) if match else None


@pytest.mark.parametrize(
    "params", COMBOS, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items() if v)
)
def test_map_link_finds_what_the_list_found(client, demo_db, params):
    params = {k: v for k, v in params.items() if v}
    page = client.get("/annuaire/", params, HTTP_HOST="127.0.0.1")
    assert page.status_code == 200
    total = page.context["result"].total
    url = _map_url(page)
    if url is None:  # no result, no map: the map asked with the same parameters agrees
        assert total == 0
        url = "/annuaire/carte.json?" + page.request["QUERY_STRING"]
    assert "=True" not in url, url
    data = client.get(url, HTTP_HOST="127.0.0.1").json()
    assert data["total"] == total, (params, url)


def test_flag_spellings(rf):
    for value in ("1", "on", "oui", "true", "True", "TRUE", " 1 "):
        assert _flag(rf.get("/", {"nouveaux": value}), "nouveaux"), value
    for value in ("", "0", "false", "non", "False"):
        assert not _flag(rf.get("/", {"nouveaux": value}), "nouveaux"), value


def test_accepting_filter_narrows_list_and_map_alike(client, demo_db):
    wide = client.get("/annuaire/", {"q": "generaliste"}, HTTP_HOST="127.0.0.1")
    narrow = client.get("/annuaire/", {"q": "generaliste", "nouveaux": "1"}, HTTP_HOST="127.0.0.1")
    assert 0 < narrow.context["result"].total < wide.context["result"].total
    data = client.get(_map_url(narrow), HTTP_HOST="127.0.0.1").json()
    assert data["total"] == narrow.context["result"].total
