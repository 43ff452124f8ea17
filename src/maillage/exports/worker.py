"""Is anybody working off the queue? A worker touches a heartbeat file in the data folder every
few seconds while it runs (the exports it builds live in that folder too, so every worker of a
site shares it). The waiting page reads it: a document queued with no live worker would wait
forever, so the page says so and the server logs it, instead of showing a progress bar that
never moves."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from maillage.logs import ThrottledWarning

log = logging.getLogger(__name__)

#: How often a running worker touches its heartbeat.
BEAT_SECONDS = 5.0
#: A heartbeat older than this means no worker is running.
SILENT_AFTER = 30.0
NO_WORKER_MESSAGE = (
    "Aucun processus de préparation n'est actif : le document attend. L'administrateur du site "
    "doit lancer « maillage worker » (ou « maillage serve », qui en contient un)."
)


def heartbeat_path() -> Path:
    from maillage.exports import cache  # the export folder (it imports this module)

    return cache.export_root() / "worker.heartbeat"


def beat() -> None:
    """Record that a worker is alive now."""
    path = heartbeat_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def last_beat() -> float | None:
    """When a worker last said it was alive (epoch seconds), or None if never."""
    try:
        return heartbeat_path().stat().st_mtime
    except FileNotFoundError:
        return None


def worker_alive(silent_after: float = SILENT_AFTER) -> bool:
    seen = last_beat()
    return seen is not None and time.time() - seen <= silent_after


@contextlib.contextmanager
def heartbeat(interval: float = BEAT_SECONDS) -> Iterator[None]:
    """Beat every ``interval`` seconds, from a thread, while the block runs."""
    stop = threading.Event()

    def safe_beat() -> None:
        try:
            beat()
        except OSError:  # a full or read-only disk must not stop the worker
            log.warning("cannot write the worker heartbeat %s", heartbeat_path())

    def loop() -> None:
        while not stop.wait(interval):
            safe_beat()

    safe_beat()  # alive from the first instant, not from the thread's first turn

    thread = threading.Thread(target=loop, name="maillage-worker-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=interval + 1)


_no_worker_warning = ThrottledWarning(log)


def warn_no_worker() -> None:
    """Log, at most once a minute, that documents wait for a worker that is not running."""
    _no_worker_warning(
        "exports are queued but no worker has been seen for %.0f s: run `maillage worker`",
        SILENT_AFTER,
    )
