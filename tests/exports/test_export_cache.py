"""The export cache: built once per data version, served with ETag/Last-Modified, 304 on
revalidation, built in the background (202 + progress) when large, never built twice at once."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from maillage.exports import cache
from maillage.exports.cache import Export

CHAUMONT = "52121"
SECRET = "secret-export@pro.mssante.fr"


def _body(response) -> bytes:
    return response.getvalue()


# --- a generic builder used by the concurrency test --------------------------------------
BUILDS: list[float] = []


def slow_builder(params, path: Path, progress) -> None:
    BUILDS.append(time.monotonic())
    progress(0.5, "à mi-chemin")
    time.sleep(0.5)
    path.write_text(json.dumps(params), encoding="utf-8")


def test_concurrent_requests_build_once(export_root):
    BUILDS.clear()
    export = Export(
        kind="test", name="doc", builder=f"{__name__}:slow_builder", params={"n": 1}, ext="json"
    )
    results: list[dict] = []
    start = threading.Barrier(6)

    def request() -> None:
        start.wait()  # all six arrive together, before any status or lock exists
        results.append(cache.ensure(export, background=False))

    threads = [threading.Thread(target=request) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(BUILDS) == 1, "six concurrent requests must share one build"
    assert export.path.read_text() == '{"n": 1}'
    assert not export.lock_path.exists()
    assert any(r["state"] == "ready" for r in results)
    # the other threads saw it being built, not missing
    assert all(r["state"] in ("ready", "pending", "running") for r in results)
    # build_or_wait (the CLI's way) reuses the file without building again
    assert cache.build_or_wait(export) == export.path and len(BUILDS) == 1


def test_the_lock_is_taken_once(export_root):
    export = Export(kind="test", name="lock", builder=f"{__name__}:slow_builder", ext="json")
    start = threading.Barrier(8)
    taken: list[bool] = []

    def take() -> None:
        start.wait()
        taken.append(cache._try_lock(export))

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert taken.count(True) == 1
    assert cache._try_lock(export) is False  # still held
    export.lock_path.unlink()
    assert cache._try_lock(export) is True  # released: the next build may start


def test_failed_build_leaves_no_file_and_releases_lock(export_root):
    export = Export(kind="test", name="bad", builder=f"{__name__}:no_such_builder", ext="json")
    with pytest.raises(AttributeError):
        cache.ensure(export, background=False)
    assert not export.path.exists() and not export.lock_path.exists()
    assert cache.read_status(export)["state"] == "failed"
    assert not [p for p in export.folder.iterdir() if p.suffix == ".part"]


@pytest.fixture
def secret_in_chaumont(demo_db):
    from maillage.directory.models import Organization

    org = Organization.objects.filter(commune_id=CHAUMONT).order_by("pk").first()
    org.mssante = SECRET
    org.save()
    return org


def test_small_bundle_built_once_then_304(client, secret_in_chaumont, export_root):
    url = f"/api/territories/commune:{CHAUMONT}/fhir-bundle"
    first = client.get(url)
    assert first.status_code == 200
    assert first["Content-Type"].startswith("application/fhir+json")
    etag, modified = first["ETag"], first["Last-Modified"]
    assert etag and modified
    content = _body(first)
    bundle = json.loads(content)
    assert bundle["resourceType"] == "Bundle" and bundle["entry"]
    assert secret_in_chaumont.name in content.decode()  # the organisation is in it…
    assert SECRET not in content.decode()  # …without its pro-only field
    files = list((export_root / "fhir-bundle").glob("*.json"))
    assert len([f for f in files if not f.name.endswith(".status.json")]) == 1

    second = client.get(url)
    assert second.status_code == 200 and second["ETag"] == etag
    assert _body(second) == content  # served from the file: same timestamps inside
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    assert client.get(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_pro_bundle_is_another_file_never_served_to_the_public(client, secret_in_chaumont):
    from django.contrib.auth import get_user_model
    from django.test import Client

    from maillage.accounts.models import Profile

    user = get_user_model().objects.create_user("dr-export", password="x-Unused-Password-1")
    Profile.objects.create(user=user, role="professional")
    pro = Client()
    pro.force_login(user)
    url = f"/api/territories/commune:{CHAUMONT}/fhir-bundle"
    pro_first = pro.get(url)  # the pro Bundle is built first and cached…
    assert pro_first.status_code == 200 and SECRET in _body(pro_first).decode()
    public = client.get(url)  # …the public one is another file, without the field
    assert public.status_code == 200 and SECRET not in _body(public).decode()
    assert public["ETag"] != pro_first["ETag"]
    assert client.get(url, HTTP_IF_NONE_MATCH=pro_first["ETag"]).status_code == 200
    assert SECRET in _body(pro.get(url)).decode()


def test_published_edit_changes_the_etag(client, secret_in_chaumont):
    from maillage.directory.search import service as search

    url = f"/api/territories/commune:{CHAUMONT}/fhir-bundle"
    first = client.get(url)
    etag = first["ETag"]
    org = secret_in_chaumont
    org.name = "Structure renommée pour le test"
    org.save()
    search.reindex_objects([org])  # what publishing a proposal does after saving the entry
    after = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert after.status_code == 200 and after["ETag"] != etag
    assert "Structure renommée pour le test" in _body(after).decode()


def test_import_changes_the_version_and_a_failed_one_does_not(demo_db):
    from maillage.exports.versions import data_version
    from maillage.imports import ImportReport, run_import

    before = data_version()
    run_import("test", lambda: None, lambda data: ImportReport(name="test"))
    after = data_version()
    assert after != before

    def fail(data):
        raise ValueError("boom")

    with pytest.raises(ValueError):
        run_import("test", lambda: None, fail)
    assert data_version() == after


def test_large_bundle_in_background_then_served(client, demo_db, export_root, worker):
    from django_tasks_db.models import DBTaskResult

    url = "/api/territories/departement:52/fhir-bundle"
    first = client.get(url)
    assert first.status_code == 202
    data = json.loads(first.content)
    assert data["state"] == "pending" and data["detail"] == "Le document est en préparation…"
    assert first["Retry-After"]
    page = client.get(url, HTTP_ACCEPT="text/html")  # a browser: the French waiting page
    assert page.status_code == 202
    assert "Le document est en préparation…" in page.content.decode()
    assert data["status_url"] in page.content.decode()
    status = client.get(data["status_url"])
    assert status.status_code == 200 and json.loads(status.content)["state"] == "pending"
    assert DBTaskResult.objects.count() == 1, "three requests, one build queued"

    worker()  # the worker `maillage serve` runs in a thread

    assert json.loads(client.get(data["status_url"]).content)["state"] == "ready"
    done = client.get(url)
    assert done.status_code == 200 and done["ETag"]
    bundle = json.loads(_body(done))
    assert bundle["type"] == "collection" and len(bundle["entry"]) > 100
    assert client.get(url, HTTP_IF_NONE_MATCH=done["ETag"]).status_code == 304
    assert client.get("/exports/fhir-bundle/" + "0" * 32 + ".json").status_code == 404


def test_pdf_report_in_background_then_served(client, demo_db, worker):
    from maillage.territory.services import resolve

    slug = resolve("departement:52").slug
    url = f"/territoires/{slug}/diagnostic.pdf"
    assert client.get(url).status_code == 202
    worker()
    done = client.get(url)
    assert done.status_code == 200 and done["Content-Type"] == "application/pdf"
    assert _body(done).startswith(b"%PDF")
    assert client.get(url, HTTP_IF_NONE_MATCH=done["ETag"]).status_code == 304


def test_the_waiting_page_says_when_no_worker_runs(
    client, demo_db, export_root, caplog, monkeypatch
):
    from maillage.exports import worker
    from maillage.exports.worker import NO_WORKER_MESSAGE, heartbeat, worker_alive

    monkeypatch.setattr(worker._no_worker_warning, "last", None)  # the log says it once a minute

    url = "/api/territories/departement:52/fhir-bundle"
    assert not worker_alive()
    first = client.get(url)
    assert first.status_code == 202
    data = json.loads(first.content)
    assert data["worker"] is False and data["message"] == NO_WORKER_MESSAGE
    page = client.get(url, HTTP_ACCEPT="text/html").content.decode()
    assert "maillage worker" in page
    assert json.loads(client.get(data["status_url"]).content)["worker"] is False
    assert "no worker has been seen" in caplog.text

    with heartbeat(interval=0.05):  # what a running worker does
        status = json.loads(client.get(data["status_url"]).content)
    assert status["worker"] is True and status["message"] == cache.PENDING_MESSAGE
