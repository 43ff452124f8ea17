"""Schemathesis against ``/api/schema``: no 5xx, and every answer as the schema documents it.

The schema is loaded from the Django WSGI application itself and every operation is called
with generated parameters and bodies (25 examples each, derandomized so that a run is
reproducible), once as an anonymous client and once as a logged-in coordinator (session
cookie and CSRF token, so that writes reach the handlers). Checks: no server error, the status
code is one the operation documents, and the body fits the documented schema for it.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from maillage.accounts.models import Profile, Role

CSRF = "A" * 32  # a CSRF secret: the cookie and the header carry the same value
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@pytest.fixture
def wsgi_app(demo_db):
    """The site's WSGI application, inside the test's transaction: Django's test client
    disconnects ``close_old_connections`` the same way, else the first request would close
    the connection that holds the test data."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _served_schema() -> dict:
    """``/api/schema`` as the site serves it (its view calls exactly this; no database)."""
    from maillage.api_urls import api  # the directory's endpoints and the care routers

    return api.get_openapi_schema(path_prefix="/api/")


@pytest.fixture
def identities(demo_db) -> dict[str, dict[str, str]]:
    """The headers of each client: none, or a coordinator's session cookie and CSRF token."""
    user = get_user_model().objects.create_user("st-coord", password="x-Long-passw0rd")
    Profile.objects.create(user=user, role=Role.COORDINATOR)
    client = Client()
    client.force_login(user)
    session = client.cookies["sessionid"].value
    coordinator = {"Cookie": f"sessionid={session}; csrftoken={CSRF}", "X-CSRFToken": CSRF}
    return {"anonymous": {}, "coordinator": coordinator}


# The lazy loader (``from_fixture``) does not run under pytest 9; the schema needs no database.
schema = schemathesis.openapi.from_dict(_served_schema())


BOUNDS = settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@BOUNDS
def test_api_conforms_to_its_schema_anonymous(case, wsgi_app, identities):
    headers = {**(case.headers or {}), **identities["anonymous"]}
    case.call_and_validate(app=wsgi_app, headers=headers, checks=CHECKS)


@schema.parametrize()
@BOUNDS
def test_api_conforms_to_its_schema_as_coordinator(case, wsgi_app, identities):
    headers = {**(case.headers or {}), **identities["coordinator"]}
    case.call_and_validate(app=wsgi_app, headers=headers, checks=CHECKS)
