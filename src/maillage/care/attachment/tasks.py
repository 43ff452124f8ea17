"""The waiting list's background work on Django's task framework (the queue of the exports
and the retention run): every night at 03:30 (Paris time) the proposals left without an
answer past their date expire and their requests go back to the queue
(:func:`~maillage.care.attachment.services.requests.expire_overdue`); the run enqueues its
own next one, and each worker start (:func:`ensure_scheduled`) starts the chain."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

try:  # Django >= 6
    from django.tasks import task
except ImportError:  # the backport
    from django_tasks import task

log = logging.getLogger(__name__)

RUN_AT = dt.time(3, 30)


def next_run(now: dt.datetime) -> dt.datetime:
    """The next 03:30 in Paris after ``now``."""
    local = timezone.localtime(now)
    day = local.date() if local.time() < RUN_AT else local.date() + dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, RUN_AT))


def _waiting() -> bool:
    from django_tasks_db.models import DBTaskResult

    path = expire_proposals_daily.module_path
    return DBTaskResult.objects.filter(task_path=path, status="READY").exists()


def ensure_scheduled(now: dt.datetime | None = None) -> bool:
    """Enqueue the next nightly run unless one is waiting; True when one was enqueued."""
    if _waiting():
        return False
    expire_proposals_daily.using(run_after=next_run(now or timezone.now())).enqueue()
    return True


@task()
def expire_proposals_daily() -> int:
    """Expire the overdue proposals, then schedule tomorrow's run."""
    from maillage.care.attachment.services.requests import expire_overdue

    now = timezone.now()
    count = expire_overdue(now)
    if not _waiting():
        expire_proposals_daily.using(run_after=next_run(now)).enqueue()
    log.info("attachment: %s proposals expired", count)
    return count
