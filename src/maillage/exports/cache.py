"""The export cache: files under ``<data folder>/exports/<kind>/``, one build per key.

Layout for an export of key ``k`` (a hash of kind, name, parameters, builder and data version):

- ``<name>-<k>.<ext>``: the document, written to a temporary file then ``os.replace``-d, so a
  reader sees the whole file or none;
- ``<k>.lock``: created with ``O_EXCL`` by the one request that starts the build;
- ``<k>.status.json``: state (``pending``, ``running``, ``ready``, ``failed``), progress 0–1 and
  a French message, read by the waiting page.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, quote_etag

from maillage.exports.worker import NO_WORKER_MESSAGE, warn_no_worker, worker_alive
from maillage.paths import data_home

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
Builder = Callable[[Mapping[str, Any], Path, Progress], None]

#: A build whose status has not moved for this long is taken as dead (its lock is broken).
STALE_SECONDS = 15 * 60
STATES = ("pending", "running", "ready", "failed")
PENDING_MESSAGE = "En attente d'un processus de préparation…"


@dataclass(frozen=True)
class Export:
    """One document: ``builder(params, path, progress)`` writes it to ``path``."""

    kind: str  # a folder name: "fhir-bundle", "report"
    name: str  # the document within its kind: "departement-52", "departement-52-pro"
    builder: str  # "package.module:function"
    params: dict[str, Any] = field(default_factory=dict)  # JSON-serialisable
    version: str = "0"  # maillage.exports.versions.data_version() at request time
    ext: str = "bin"
    content_type: str = "application/octet-stream"
    filename: str = ""  # the download's name; defaults to <name>.<ext>
    disposition: str = "attachment"

    @property
    def key(self) -> str:
        payload = json.dumps(
            [self.kind, self.name, self.builder, self.params, self.version, self.ext],
            sort_keys=True,
            ensure_ascii=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:32]

    @property
    def folder(self) -> Path:
        return export_root() / self.kind

    @property
    def path(self) -> Path:
        return self.folder / f"{self.name}-{self.key}.{self.ext}"

    @property
    def lock_path(self) -> Path:
        return self.folder / f"{self.key}.lock"

    @property
    def status_path(self) -> Path:
        return self.folder / f"{self.key}.status.json"

    @property
    def etag(self) -> str:
        return quote_etag(self.key)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Export:
        return cls(**data)


def export_root() -> Path:
    return data_home() / "exports"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_status(export: Export, state: str, progress: float = 0.0, message: str = "") -> None:
    status = {
        "state": state,
        "progress": round(max(0.0, min(1.0, progress)), 3),
        "message": message,
        "updated": time.time(),
        "kind": export.kind,
        "name": export.name,
        "filename": export.filename or f"{export.name}.{export.ext}",
    }
    _atomic_write(export.status_path, json.dumps(status, ensure_ascii=False).encode())


def read_status(export: Export) -> dict[str, Any]:
    """The build's status; ``ready`` as soon as the file exists."""
    if export.path.exists():
        return {"state": "ready", "progress": 1.0, "message": "Le document est prêt."}
    try:
        status = json.loads(export.status_path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {"state": "missing", "progress": 0.0, "message": ""}
    if status.get("state") == "ready":  # the file was removed since (cache cleared)
        return {"state": "missing", "progress": 0.0, "message": ""}
    return status


def status_by_token(kind: str, token: str) -> dict[str, Any] | None:
    """The status of the export ``token`` (its key) in ``kind``, for the polling endpoint."""
    if not (kind.replace("-", "").isalnum() and token.isalnum() and len(token) == 32):
        return None
    folder = export_root() / kind
    try:
        status = json.loads((folder / f"{token}.status.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if status.get("state") == "ready" and not any(folder.glob(f"*-{token}.*")):
        status = {**status, "state": "missing", "progress": 0.0}
    return status


def _try_lock(export: Export) -> bool:
    """Take the build lock; False when another build holds it. A lock whose status has not
    moved for :data:`STALE_SECONDS` (its process died) is broken and taken over."""
    export.folder.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(export.lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            status = read_status(export)
            updated = status.get("updated") or _mtime(export.lock_path)
            if updated and time.time() - updated > STALE_SECONDS:
                log.warning("breaking stale export lock %s", export.lock_path)
                with contextlib.suppress(FileNotFoundError):
                    export.lock_path.unlink()
                continue
            return False
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{os.getpid()} {time.time()}\n")
        write_status(export, "pending", 0.0, PENDING_MESSAGE)
        return True
    return False


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return None


def _resolve_builder(dotted: str) -> Builder:
    module, _, name = dotted.partition(":")
    return getattr(importlib.import_module(module), name)


def build(export: Export) -> Path:
    """Build ``export`` now (the caller holds its lock); releases the lock whatever happens."""
    try:
        if export.path.exists():
            return export.path
        write_status(export, "running", 0.0, "Préparation du document…")

        def progress(fraction: float, message: str) -> None:
            write_status(export, "running", fraction, message)

        fd, tmp_name = tempfile.mkstemp(
            dir=export.folder, prefix=f".{export.name}-", suffix=".part"
        )
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            _resolve_builder(export.builder)(export.params, tmp, progress)
            os.replace(tmp, export.path)
        except BaseException as exc:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            log.exception("export %s/%s failed", export.kind, export.name)
            write_status(export, "failed", 0.0, f"La préparation a échoué : {exc}")
            raise
        write_status(export, "ready", 1.0, "Le document est prêt.")
        _prune(export)
        return export.path
    finally:
        with contextlib.suppress(FileNotFoundError):
            export.lock_path.unlink()


def _prune(export: Export) -> None:
    """Remove the builds of the same document for older data versions."""
    for old in export.folder.glob(f"{export.name}-*.{export.ext}"):
        stem = old.name[len(export.name) + 1 : -len(export.ext) - 1]
        if old != export.path and len(stem) == 32 and stem.isalnum():
            with contextlib.suppress(FileNotFoundError):
                old.unlink()
            with contextlib.suppress(FileNotFoundError):
                (export.folder / f"{stem}.status.json").unlink()


def ensure(export: Export, *, background: bool = True) -> dict[str, Any]:
    """Make sure ``export`` exists or is being built; returns its status.

    The request that takes the lock either builds inline (``background=False``) or enqueues
    :func:`maillage.exports.tasks.build_export`; the others only read the status.
    """
    status = read_status(export)
    if status["state"] in ("ready", "pending", "running"):
        if status["state"] == "ready" or export.lock_path.exists():
            return status
    if not _try_lock(export):
        status = read_status(export)
        if status["state"] == "missing":  # the lock's holder has not written its status yet
            status = {"state": "pending", "progress": 0.0, "message": PENDING_MESSAGE}
        return status
    if not background:
        build(export)
        return read_status(export)
    try:
        from maillage.exports.tasks import build_export

        build_export.enqueue(export.as_dict())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            export.lock_path.unlink()
        raise
    return read_status(export)


def build_or_wait(export: Export, *, timeout: float = 600) -> Path:
    """The export's file, built in this process unless another one is building it already (then
    wait for that build). For commands such as ``maillage report``."""
    deadline = time.monotonic() + timeout
    while not export.path.exists():
        if _try_lock(export):
            return build(export)
        status = _wait(export, seconds=min(5.0, max(0.0, deadline - time.monotonic())))
        if status["state"] == "failed":
            raise RuntimeError(status.get("message") or "la préparation a échoué")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{export.kind}/{export.name} : préparation trop longue")
    return export.path


def serve_file(request: HttpRequest, export: Export) -> HttpResponse:
    """The built file, or 304 when the client's ``If-None-Match``/``If-Modified-Since`` match."""
    stat = export.path.stat()
    last_modified = int(stat.st_mtime)
    conditional = get_conditional_response(request, etag=export.etag, last_modified=last_modified)
    if conditional is not None:
        _cache_headers(conditional, export, last_modified)
        return conditional
    response = FileResponse(
        export.path.open("rb"),
        content_type=export.content_type,
        as_attachment=export.disposition == "attachment",
        filename=export.filename or f"{export.name}.{export.ext}",
    )
    if export.disposition != "attachment":
        response["Content-Disposition"] = response["Content-Disposition"].replace(
            "attachment", "inline"
        )
    _cache_headers(response, export, last_modified)
    return response


def _cache_headers(response: HttpResponse, export: Export, last_modified: int) -> None:
    response["ETag"] = export.etag
    response["Last-Modified"] = http_date(last_modified)
    # The same URL gives a new document once the data changes: clients revalidate each time.
    response["Cache-Control"] = "private, no-cache"


def respond(request: HttpRequest, export: Export, *, sync: bool = False) -> HttpResponse:
    """Serve ``export``: the file when built (or built now when ``sync``), else 202 + progress.

    ``sync`` is for small documents (under about a second to build): the request that takes
    the lock builds inline; concurrent ones wait for it briefly rather than build again.
    """
    if not export.path.exists():
        status = ensure(export, background=not sync)
        if sync and status["state"] != "ready":
            status = _wait(export, seconds=10)
        if status["state"] != "ready":
            return preparing(request, export, status)
    return serve_file(request, export)


def _wait(export: Export, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    status = read_status(export)
    while status["state"] in ("pending", "running") and time.monotonic() < deadline:
        time.sleep(0.1)
        status = read_status(export)
    return status


def with_worker_state(status: dict[str, Any]) -> dict[str, Any]:
    """``status`` plus ``worker``: False when a document is queued and no worker is running
    (its message then says so instead of "waiting")."""
    if status.get("state") != "pending":
        return status
    if worker_alive():
        return {**status, "worker": True}
    warn_no_worker()
    return {**status, "worker": False, "message": NO_WORKER_MESSAGE}


def status_url(export: Export) -> str:
    return reverse("exports:status", kwargs={"kind": export.kind, "token": export.key})


def preparing(request: HttpRequest, export: Export, status: dict[str, Any]) -> HttpResponse:
    """202 (or 500-free 503 when the build failed): a French page for browsers, JSON otherwise."""
    status = with_worker_state(status)
    failed = status.get("state") == "failed"
    code = 503 if failed else 202
    body = {
        "state": status.get("state"),
        "progress": status.get("progress", 0.0),
        "message": status.get("message", ""),
        "detail": (
            "La préparation du document a échoué ; réessayez plus tard."
            if failed
            else "Le document est en préparation…"
        ),
        "status_url": status_url(export),
        "download_url": request.get_full_path(),
    }
    if "worker" in status:
        body["worker"] = status["worker"]
    if "text/html" in request.headers.get("Accept", ""):
        html = render_to_string(
            "exports/preparing.html",
            {"status": body, "percent": round(100 * float(body["progress"] or 0))},
            request=request,
        )
        response: HttpResponse = HttpResponse(html, status=code)
    else:
        response = JsonResponse(body, status=code, json_dumps_params={"ensure_ascii": False})
    response["Retry-After"] = "2"
    response["Cache-Control"] = "no-store"
    if failed:
        # Let the next request try again (the failure may have been transient).
        with contextlib.suppress(FileNotFoundError):
            export.status_path.unlink()
    return response
