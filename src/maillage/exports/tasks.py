"""Background builds through Django's task framework (``django.tasks`` from Django 6, its
backport ``django_tasks`` before). The embedded default runs a database-backed queue worked off
by a thread of ``maillage serve``; deployments add ``maillage worker`` processes."""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

try:  # Django >= 6
    from django.tasks import task
except ImportError:  # the backport
    from django_tasks import task

from maillage.exports.cache import Export, build
from maillage.exports.worker import heartbeat

log = logging.getLogger(__name__)


@task()
def build_export(export: dict[str, Any]) -> str:
    """Build one export (the enqueuing request took its lock)."""
    return str(build(Export.from_dict(export)))


def worker_starting() -> None:
    """Let each app schedule its periodic tasks: an AppConfig may define ``worker_starting()``
    (e.g. the care apps' nightly retention run, :mod:`maillage.care.people.tasks`)."""
    from django.apps import apps

    for config in apps.get_app_configs():
        hook = getattr(config, "worker_starting", None)
        if hook is not None:
            hook()


def run_worker(*, batch: bool = False, interval: float = 1.0) -> None:
    """Work off the database queue in this thread (``batch``: until it is empty)."""
    from django_tasks_db.management.commands.db_worker import Worker

    worker_starting()
    worker = Worker(
        queue_names=["*"],
        interval=interval,
        batch=batch,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=f"maillage-{uuid.uuid4().hex[:12]}",
        excluded_queue_names=[],
    )
    with heartbeat():
        worker.run()


def start_worker_thread() -> threading.Thread:
    """The in-process worker of the embedded default (``maillage serve``)."""

    def loop() -> None:
        try:
            run_worker()
        except Exception:  # never take the web server down with it
            log.exception("the background worker stopped")

    thread = threading.Thread(target=loop, name="maillage-worker", daemon=True)
    thread.start()
    return thread
