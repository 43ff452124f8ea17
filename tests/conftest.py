"""Shared test setup.

The database tests run against a test database loaded once per session with the shipped open
data (COG, FINESS, APL, CartoSanté, INSEE) and the synthetic practitioners of Haute-Marne and its
neighbours: the same pipeline as ``maillage init``, so every database test exercises it.
On CI (``CI=true``) the PostgreSQL pass must reach PostgreSQL: it fails, never skips.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import NamedTuple

import pytest

DEMO_DEPARTEMENTS = ["52", "10", "21", "51", "55", "70", "88"]
DB_FIXTURES = {"db", "transactional_db", "live_server", "django_db_setup", "demo_db", "client"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("django_db") or DB_FIXTURES & set(
            getattr(item, "fixturenames", ())
        ):
            item.add_marker(pytest.mark.database)


def _run_test_database_name(configured: str) -> str:
    """The PostgreSQL test database of this run: ``$MAILLAGE_TEST_DB_NAME`` (``scripts/test``
    sets one per run), else ``test_<name>_<pid>_<random>``, so that two runs on one server
    never create, fill or drop each other's database (names are cut to PostgreSQL's 63 bytes)."""
    name = os.environ.get("MAILLAGE_TEST_DB_NAME")
    if not name:
        suffix = f"_{os.getpid()}_{secrets.token_hex(3)}"
        name = f"test_{configured}"[: 63 - len(suffix)] + suffix
    return name[:63]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(request, django_db_modify_db_settings_parallel_suffix) -> None:
    """Give the PostgreSQL pass a test database of its own run (pytest-django drops it at the
    end of the session). With ``--reuse-db`` and no ``MAILLAGE_TEST_DB_NAME`` the usual fixed
    ``test_<name>`` is kept, since reusing is then the point."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if "postgresql" not in database["ENGINE"]:
        return
    if request.config.getoption("reuse_db") and not os.environ.get("MAILLAGE_TEST_DB_NAME"):
        return
    database.setdefault("TEST", {})["NAME"] = _run_test_database_name(database["NAME"])


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


CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


class ServedApp(NamedTuple):
    url: str
    env: dict[str, str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def served_app(fresh_home: Path):
    """``maillage init`` then ``maillage serve`` on the fresh data folder, once per session,
    for every browser test (as a new user starts the application)."""
    env = {**os.environ, "MAILLAGE_HOME": str(fresh_home), "MAILLAGE_DATABASE_URL": ""}
    init = subprocess.run(
        [sys.executable, "-m", "maillage.cli", "init"], env=env, capture_output=True, text=True
    )
    assert init.returncode == 0, init.stderr[-3000:]
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "maillage.cli", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            urllib.request.urlopen(url + "/connexion/", timeout=2)
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("maillage serve did not start: " + proc.stderr.read().decode())
    yield ServedApp(url, env)
    proc.terminate()
    proc.wait(timeout=10)


def chromium_path() -> str:
    """Where Debian (``chromium``) or Ubuntu (``chromium-browser``) put the browser, from PATH."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        "chromium is not installed (neither `chromium` nor `chromium-browser` is on PATH): "
        "the browser tests need it; install Debian's package with `apt-get install chromium` "
        "(./scripts/test does it)",
        pytrace=False,
    )


@pytest.fixture
def chromium():
    """Debian's chromium driven by Playwright, with the flags this closed machine needs."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def export_root(tmp_path, monkeypatch) -> Path:
    """Each test has its own export folder (the database is rolled back between tests, so a
    data version number comes back: files of another test must not be found)."""
    from maillage.exports import cache

    root = tmp_path / "exports"
    monkeypatch.setattr(cache, "export_root", lambda: root)
    return root


@pytest.fixture
def worker(monkeypatch):
    """Runs the real database worker in this thread until the queue is empty. It closes the
    connection between tasks as a worker process must; inside a test's transaction that would
    drop the test's connection, so that one call is neutralised here."""
    from django_tasks_db.management.commands import db_worker

    from maillage.exports.tasks import run_worker

    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    return lambda: run_worker(batch=True, interval=0)
