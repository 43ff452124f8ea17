"""The daily retention run, on Django's task framework (the same queue as the exports).

:func:`anonymise_expired_daily` anonymises what is past retention, then enqueues its own next
run for the next night (03:00, Paris time). The worker starts the chain: each worker start
(``maillage worker``, or the thread of ``maillage serve``) calls :func:`ensure_scheduled`,
which enqueues a run for the coming night unless one is already waiting. A run that fails is
kept by the queue with its traceback (visible to administrators) and the next worker start
schedules again.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

try:  # Django >= 6
    from django.tasks import task
except ImportError:  # the backport
    from django_tasks import task

log = logging.getLogger(__name__)

RUN_AT = dt.time(3, 0)  # Paris time: the quiet hour


def next_run(now: dt.datetime) -> dt.datetime:
    """The next 03:00 in Paris after ``now`` (correct across clock changes)."""
    local = timezone.localtime(now)
    day = local.date() if local.time() < RUN_AT else local.date() + dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, RUN_AT))


def _waiting() -> bool:
    from django_tasks_db.models import DBTaskResult

    path = anonymise_expired_daily.module_path
    return DBTaskResult.objects.filter(task_path=path, status="READY").exists()


def ensure_scheduled(now: dt.datetime | None = None) -> bool:
    """Enqueue the next nightly run unless one is waiting; True when one was enqueued."""
    if _waiting():
        return False
    anonymise_expired_daily.using(run_after=next_run(now or timezone.now())).enqueue()
    return True


@task()
def anonymise_expired_daily() -> dict[str, int]:
    """Anonymise what is past retention, then schedule tomorrow's run."""
    from django_tasks_db.models import DBTaskResult

    from maillage.care.people.retention import anonymise_expired

    now = timezone.now()
    counts = anonymise_expired(now)
    path = anonymise_expired_daily.module_path
    if not DBTaskResult.objects.filter(task_path=path, status="READY").exists():
        anonymise_expired_daily.using(run_after=next_run(now)).enqueue()
    log.info("retention run: %s records anonymised", sum(counts.values()))
    return counts
