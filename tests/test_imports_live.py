"""Imports beside a live site on SQLite: the site keeps writing, the import stays all-or-nothing.

These run on a file copy of the session database (SQLite only: the single-writer lock they are
about is SQLite's), so that real concurrent connections can write to it while an import runs.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, connection
from django.test import Client
from django.utils import timezone

from maillage.directory.imports.common import _delete_ids
from maillage.directory.models import Practitioner, PractitionerRole
from maillage.imports import ImportReport, isolation, run_import

pytestmark = [
    pytest.mark.django_db(transaction=True),  # no test transaction: other connections see it
    pytest.mark.skipif(
        not settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
        reason="SQLite's single-writer lock (PostgreSQL writers do not block each other)",
    ),
]
PASSWORD = "Un-mot-de-passe-solide-42"


def _point(conn, settings_dict: dict) -> None:
    conn.close()
    conn.settings_dict = settings_dict


@pytest.fixture(scope="module")
def live_settings(django_db_setup, django_db_blocker, tmp_path_factory):
    """Settings that point the default database at a file of this module's own. The default
    connection stays there until the module ends, so that pytest-django's flush after each
    (transactional) test empties that file, never the session database."""
    with django_db_blocker.unblock():
        saved = connection.settings_dict
    path = tmp_path_factory.mktemp("live") / "live.sqlite3"
    options = {**saved.get("OPTIONS", {}), "timeout": 3}
    yield saved, {**saved, "NAME": str(path), "OPTIONS": options}
    _point(connection, saved)


@pytest.fixture
def live(live_settings):
    """A fresh WAL copy of the session database, as this thread's default database; yields
    the settings that other threads use to reach it."""
    saved, live = live_settings
    connection.close()
    for suffix in ("", "-wal", "-shm"):
        Path(live["NAME"] + suffix).unlink(missing_ok=True)
    source = sqlite3.connect(saved["NAME"])
    copy = sqlite3.connect(live["NAME"])
    source.backup(copy)
    source.close()
    copy.execute("PRAGMA journal_mode=WAL")
    copy.close()
    live["OPTIONS"]["timeout"] = 3
    _point(connection, live)
    return live


def other_writer(path: str, timeout: float = 0.5) -> sqlite3.Connection:
    """A connection of another process or thread (a login, a proposal) to the live file."""
    return sqlite3.connect(path, timeout=timeout, isolation_level=None)


def add_user(db: sqlite3.Connection, username: str) -> int:
    cursor = db.execute(
        "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, "
        "is_staff, is_active, date_joined) VALUES (?, 0, ?, '', '', '', 0, 1, ?)",
        (make_password(PASSWORD), username, timezone.now().isoformat()),
    )
    return cursor.lastrowid


def shadow_files(path: str) -> list[Path]:
    return list(Path(path).parent.glob(".*import*"))


def test_shadow_import_lets_the_site_write_and_keeps_its_changes(live):
    """While the import writes, another connection commits at once (timeout 0.5 s): the live
    database is not locked. At the end the import's changes and the site's are both there,
    field by field."""
    path = live["NAME"]
    role = PractitionerRole.objects.filter(location__isnull=False).order_by("pk").first()
    person = role.practitioner
    doomed = PractitionerRole.objects.exclude(practitioner=person).order_by("-pk").first()
    seen: dict[str, object] = {}

    def write(_data):
        Practitioner.objects.filter(pk=person.pk).update(family_name="NOUVEAU-NOM")
        PractitionerRole.objects.filter(pk=doomed.pk).delete()
        new = Practitioner.objects.create(family_name="ARRIVANT", source="rpps", rpps="19999999999")
        seen["new_id"] = new.pk
        # Meanwhile, on the site: a user signs up and a coordinator publishes a phone line.
        site = other_writer(path)
        site.execute("BEGIN IMMEDIATE")  # fails with "database is locked" if the import holds it
        seen["user"] = add_user(site, "pendant-l-import")
        site.execute(
            "UPDATE directory_practitioner SET direct_line = '03 25 99 99 99' WHERE id = ?",
            (person.pk,),
        )
        site.execute("COMMIT")
        site.close()
        return ImportReport("test")

    with isolation("shadow"):
        run_import("test", lambda: None, write)

    person.refresh_from_db()
    assert person.family_name == "NOUVEAU-NOM"  # the import's field
    assert person.direct_line == "03 25 99 99 99"  # the site's field, written during the import
    assert not PractitionerRole.objects.filter(pk=doomed.pk).exists()
    assert Practitioner.objects.get(pk=seen["new_id"]).family_name == "ARRIVANT"
    db = other_writer(path)
    assert db.execute("SELECT username FROM auth_user WHERE id = ?", (seen["user"],)).fetchone()
    db.close()
    assert seen["new_id"] > seen["user"]  # the import's new ids never take the site's
    assert not shadow_files(path)


def test_direct_import_holds_the_lock_that_shadow_releases(live):
    """The same concurrent write against a direct import (one long transaction) is refused:
    what the shadow mode is for, and proof that the test above can fail."""
    path = live["NAME"]

    def write(_data):
        Practitioner.objects.filter(pk=Practitioner.objects.first().pk).update(family_name="X")
        site = other_writer(path, timeout=0.2)
        try:
            site.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise RuntimeError(str(exc)) from exc
        finally:
            site.close()
        return ImportReport("test")

    with isolation("direct"), pytest.raises(RuntimeError, match="database is locked"):
        run_import("test", lambda: None, write)


def _directory_state() -> tuple[list, int]:
    """What a failed import must leave as it was: every practitioner's name, and the roles."""
    names = list(Practitioner.objects.order_by("pk").values_list("pk", "family_name"))
    return names, PractitionerRole.objects.count()


def _assert_unchanged(before: tuple[list, int], path: str) -> None:
    names, roles = _directory_state()
    assert names == before[0]
    assert roles == before[1] > 0
    assert not shadow_files(path)


def test_shadow_import_that_fails_at_the_last_row_changes_nothing(live):
    before = _directory_state()

    def write(_data):
        Practitioner.objects.update(family_name="ÉCRASÉ")
        # the import's own way of removing roles (care sites and bookings point at some)
        _delete_ids(PractitionerRole, list(PractitionerRole.objects.values_list("pk", flat=True)))
        Practitioner.objects.create(family_name="PREMIER", source="rpps", rpps="10000000001")
        Practitioner.objects.create(family_name="DOUBLON", source="rpps", rpps="10000000001")
        return ImportReport("test")

    with isolation("shadow"), pytest.raises(IntegrityError):
        run_import("test", lambda: None, write)
    _assert_unchanged(before, live["NAME"])


def test_a_database_still_locked_after_the_timeout_is_a_503_not_a_500(live):
    """Someone holds the write lock longer than the timeout: the login page says to retry."""
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("dr-occupe", password=PASSWORD)
    connection.close()
    live["OPTIONS"]["timeout"] = 0.2
    blocker = other_writer(live["NAME"])
    blocker.execute("BEGIN IMMEDIATE")
    try:
        client = Client(raise_request_exception=False)
        page = client.post("/connexion/", {"username": "dr-occupe", "password": PASSWORD})
        assert page.status_code == 503
        assert page["Retry-After"] == "5"
        assert "réessayez dans un instant" in page.content.decode()
        api = client.patch("/api/directory/practitioners/1", "{}", "application/json")
        assert api.status_code in (401, 503)  # anonymous: refused before writing anything
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    page = Client().post("/connexion/", {"username": "dr-occupe", "password": PASSWORD})
    assert page.status_code == 302


def _rpps_extract(path: Path, lines: int) -> None:
    spec = importlib.util.spec_from_file_location(
        "bench_directory", Path(__file__).resolve().parents[1] / "benchmarks/bench_directory.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    from maillage.territory.models import Commune

    communes = [
        (c, n, (p or "").split(",")[0][:5] or c, pop or 0)
        for c, n, p, pop in Commune.objects.filter(
            latitude__isnull=False, departement_id="52"
        ).values_list("code", "name", "postal_codes", "population")
    ]
    bench.generate_rpps(path, lines, communes, np.random.default_rng(7))


def test_logins_and_proposals_keep_working_during_an_rpps_import(live, tmp_path):
    """An RPPS import runs in a thread (shadow mode, as ``maillage import`` does) while a
    professional logs in and proposes changes again and again through the test client, with a
    3 s busy timeout: every request succeeds, and the import lands whole."""
    from django.contrib.auth import get_user_model

    from maillage.accounts.models import Profile, Role
    from maillage.directory.imports.rpps import import_rpps

    extract = tmp_path / "PS_LibreAcces_Personne_activite.txt"
    _rpps_extract(extract, 5_000)
    role = PractitionerRole.objects.filter(synthetic=True, location__isnull=False).first()
    user = get_user_model().objects.create_user("dr-actif", password=PASSWORD)
    Profile.objects.create(user=user, role=Role.PROFESSIONAL, practitioner=role.practitioner)
    roles_before = PractitionerRole.objects.filter(source="rpps").count()
    outcome: dict[str, object] = {}

    def run() -> None:
        _point(connection, live)
        try:
            with isolation("shadow"):
                outcome["report"] = import_rpps(extract)
        except Exception as exc:  # reported to the test below
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    statuses: list[int] = []
    started = time.monotonic()
    while thread.is_alive() and time.monotonic() - started < 600:
        client = Client(raise_request_exception=False)
        login = client.post("/connexion/", {"username": "dr-actif", "password": PASSWORD})
        statuses.append(login.status_code)
        proposal = client.patch(
            f"/api/directory/practitioners/{role.practitioner_id}",
            json.dumps({"direct_line": f"03 25 00 {len(statuses) % 100:02d} 00"}),
            "application/json",
        )
        statuses.append(proposal.status_code)
    thread.join()
    assert "error" not in outcome, outcome.get("error")
    assert len(statuses) >= 6, "the import ended before the site was exercised"
    assert set(statuses) <= {302, 202}, statuses
    added = PractitionerRole.objects.filter(source="rpps").count() - roles_before
    assert added == outcome["report"].counts["activités"] > 0
    assert not shadow_files(live["NAME"])


def test_shadow_apply_that_fails_inside_its_transaction_changes_nothing(live):
    """All or nothing at the apply itself: the snapshot's changes are already copied to the
    live tables when the last step of the transaction fails; the live database stays as it was."""
    from maillage.shadow import write_in_shadow

    before = _directory_state()

    def write(_data):
        Practitioner.objects.update(family_name="ÉCRASÉ")
        # the import's own way of removing roles (care sites and bookings point at some)
        _delete_ids(PractitionerRole, list(PractitionerRole.objects.values_list("pk", flat=True)))
        Practitioner.objects.create(family_name="NOUVEAU", source="rpps", rpps="10000000002")

    def after_apply():
        assert Practitioner.objects.filter(family_name="ÉCRASÉ").exists()  # halfway: applied
        raise RuntimeError("panne pendant l'application")

    with pytest.raises(RuntimeError, match="panne"):
        write_in_shadow(write, None, after_apply=after_apply)
    _assert_unchanged(before, live["NAME"])


def test_a_web_write_during_the_apply_preparation_succeeds(live):
    """Preparing the apply (reading the snapshot's changes) does not hold the live write lock:
    a login's write (timeout 0.5 s) commits at once, and survives the apply."""
    from maillage.shadow import write_in_shadow

    path = live["NAME"]
    person = Practitioner.objects.order_by("pk").first()
    seen: dict[str, int] = {}

    def write(_data):
        Practitioner.objects.filter(pk=person.pk).update(family_name="APRÈS-IMPORT")

    def prepared():
        site = other_writer(path)
        site.execute("BEGIN IMMEDIATE")  # "database is locked" if the apply held the lock
        seen["user"] = add_user(site, "pendant-la-preparation")
        site.execute("COMMIT")
        site.close()

    write_in_shadow(write, None, prepared=prepared)
    person.refresh_from_db()
    assert person.family_name == "APRÈS-IMPORT"
    db = other_writer(path)
    assert db.execute("SELECT username FROM auth_user WHERE id = ?", (seen["user"],)).fetchone()
    db.close()
