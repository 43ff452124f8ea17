"""Per-client rate limits: 429 with Retry-After and the body of each side of the site."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings):
    settings.MAILLAGE_RATE_LIMITS_ENABLED = True
    settings.MAILLAGE_RATE_LIMITS = [
        ("search", r"^/(api/directory/search|fhir/(?!metadata)[A-Za-z]+/?$)", 3, 60),
        ("api", r"^/(api|fhir)/", 5, 60),
    ]
    cache.clear()
    yield
    cache.clear()


def test_api_search_is_limited_per_client_with_the_documented_body(limits, demo_db):
    client = Client(REMOTE_ADDR="192.0.2.1")
    for _ in range(3):
        assert client.get("/api/directory/search", {"q": "medecin"}).status_code == 200
    response = client.get("/api/directory/search", {"q": "medecin"})
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 61
    body = json.loads(response.content)
    assert body["code"] == "trop_de_requetes" and "réessayez" in body["detail"]
    # another client keeps its own budget
    other = Client(REMOTE_ADDR="192.0.2.2")
    assert other.get("/api/directory/search", {"q": "medecin"}).status_code == 200


def test_fhir_limit_answers_an_operation_outcome(limits, demo_db):
    client = Client(REMOTE_ADDR="192.0.2.3")
    statuses = [client.get("/fhir/Practitioner?_count=1").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/fhir/Practitioner?_count=1")
    assert response["Content-Type"].startswith("application/fhir+json")
    assert json.loads(response.content)["issue"][0]["code"] == "throttled"
    assert response["Retry-After"]


def test_general_api_budget_and_disabled_setting(limits, settings, demo_db):
    client = Client(REMOTE_ADDR="192.0.2.4")
    codes = [client.get("/fhir/metadata").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    settings.MAILLAGE_RATE_LIMITS_ENABLED = False
    assert client.get("/fhir/metadata").status_code == 200
