"""Slot generation on Django's task framework (see :mod:`maillage.exports.tasks`).

``generate_slots`` keeps every schedule's slots generated up to the horizon; once done it
enqueues itself for the next day (``run_after``), so a running worker keeps the horizon
rolling without a cron. ``maillage serve`` enqueues it at start.
"""

from __future__ import annotations

import datetime as dt
import logging

try:  # Django >= 6
    from django.tasks import task
except ImportError:  # the backport
    from django_tasks import task

from maillage.care.scheduling.services.generation import generate_all, local_zone

log = logging.getLogger(__name__)


def next_run(now: dt.datetime | None = None) -> dt.datetime:
    """03:00 local time tomorrow."""
    local = (now or dt.datetime.now(dt.UTC)).astimezone(local_zone())
    tomorrow = local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(tomorrow, dt.time(3, 0), tzinfo=local_zone())


#: How long a retry with the same Idempotency-Key gets the first answer.
IDEMPOTENCY_KEY_DAYS = 7


def purge_idempotency_keys(now: dt.datetime | None = None) -> int:
    from maillage.care.scheduling.models import IdempotencyKey

    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=IDEMPOTENCY_KEY_DAYS)
    return IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()[0]


@task()
def generate_slots(reschedule: bool = False) -> str:
    """Refresh the sites' coordinates, generate every schedule's slots and forget week-old
    idempotency keys; with ``reschedule``, run again tomorrow."""
    from maillage.care.scheduling.models import sync_coordinates

    sync_coordinates()  # the sites' copy of their coordinates, after bulk writes (imports)
    report = generate_all()
    log.info("slot generation: %s", report)
    purged = purge_idempotency_keys()
    if purged:
        log.info("idempotency keys purged: %d", purged)
    if reschedule:
        generate_slots.using(run_after=next_run()).enqueue(reschedule=True)
    return str(report)


def ensure_generation_scheduled() -> bool:
    """Enqueue the rolling generation unless a run of it is already waiting (a restart of
    ``maillage serve`` must not start a second daily chain). True when it enqueued one."""
    from django_tasks_db.models import DBTaskResult

    path = f"{generate_slots.func.__module__}.{generate_slots.func.__qualname__}"
    if DBTaskResult.objects.filter(task_path=path, status__in=["READY", "RUNNING"]).exists():
        return False
    generate_slots.enqueue(reschedule=True)
    return True
