"""Shared test setup.

The database tests run against a test database loaded once per session with the shipped open
data (COG, FINESS, APL, CartoSanté, INSEE) and the synthetic practitioners of Haute-Marne and its
neighbours: the same pipeline as ``maillage init``, so every database test exercises it.
On CI (``CI=true``) the PostgreSQL pass must reach PostgreSQL: it fails, never skips.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DEMO_DEPARTEMENTS = ["52", "10", "21", "51", "55", "70", "88"]
DB_FIXTURES = {"db", "transactional_db", "live_server", "django_db_setup", "demo_db", "client"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("django_db") or DB_FIXTURES & set(
            getattr(item, "fixturenames", ())
        ):
            item.add_marker(pytest.mark.database)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # noqa: F811 - pytest-django override
    """Create the test database once and import the shipped data into it."""
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if os.environ.get("CI") == "true" and os.environ.get("MAILLAGE_DATABASE_URL"):
        assert "postgresql" in engine, f"CI PostgreSQL pass is running on {engine}"
    with django_db_blocker.unblock():
        from maillage.bootstrap import run_named_import
        from maillage.directory.models import Practitioner

        # With --reuse-db the data is already there: importing again would only cost time.
        if not Practitioner.objects.filter(synthetic=True).exists():
            run_named_import("all", departements=DEMO_DEPARTEMENTS)
    yield


@pytest.fixture
def demo_db(db):
    """The session database with the shipped data (rolled back after each test)."""
    return db


@pytest.fixture(scope="session")
def fresh_home(tmp_path_factory) -> Path:
    """A data folder of its own for tests that run ``maillage`` as a new user would."""
    return tmp_path_factory.mktemp("maillage-home")
