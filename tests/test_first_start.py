"""The first start serves at once: a "préparation des données" answer until the data is ready."""

from __future__ import annotations

import json

from maillage.bootstrap import Preparation, preparing


def _call(app, path: str) -> tuple[str, dict[str, str], bytes]:
    seen: dict = {}

    def start_response(status, headers):
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(app({"PATH_INFO": path, "REQUEST_METHOD": "GET"}, start_response))
    return seen["status"], seen["headers"], body


def _site(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"the real site"]


def test_pages_wait_for_the_data_then_the_site_answers():
    state = Preparation()
    app = preparing(_site, state)
    state.advance("établissements FINESS", 0.42)

    status, headers, body = _call(app, "/territoires/departement-52/")
    assert status.startswith("503")
    assert headers["Retry-After"] == "5" and headers["Cache-Control"] == "no-store"
    page = body.decode()
    assert "Préparation des données" in page and "42 %" in page
    assert "établissements FINESS" in page and "the real site" not in page

    status, headers, body = _call(app, "/api/directory/search")
    assert status.startswith("503") and headers["Content-Type"] == "application/json"
    assert json.loads(body)["progress"] == 42

    state.ready.set()
    assert _call(app, "/territoires/departement-52/")[2] == b"the real site"


def test_a_failed_preparation_says_so_and_is_not_retried_by_clients():
    state = Preparation()
    state.advance("<script>x</script>", 0.5)
    state.error = "DataFormatError: communes.json.gz ligne 3 <b>"
    status, headers, body = _call(preparing(_site, state), "/")
    assert status.startswith("500") and "Retry-After" not in headers
    page = body.decode()
    assert "a échoué" in page and "&lt;b&gt;" in page and "<b>" not in page
    assert 'http-equiv="refresh"' not in page


def test_progress_never_claims_100_before_ready():
    state = Preparation()
    state.advance("index de recherche", 1.0)
    assert state.percent == 99
    state.ready.set()
    assert state.percent == 100
