"""The register's background work on Django's task framework: every night at 03:45 (Paris
time) the registrations not confirmed for 12 months and a month of grace are removed
(:func:`~maillage.care.register.services.registrations.remove_unconfirmed`); the run enqueues
its own next one, and each worker start (:func:`ensure_scheduled`) starts the chain."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

try:  # Django >= 6
    from django.tasks import task
except ImportError:  # the backport
    from django_tasks import task

log = logging.getLogger(__name__)

RUN_AT = dt.time(3, 45)


def next_run(now: dt.datetime) -> dt.datetime:
    """The next 03:45 in Paris after ``now``."""
    local = timezone.localtime(now)
    day = local.date() if local.time() < RUN_AT else local.date() + dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, RUN_AT))


def _waiting() -> bool:
    from django_tasks_db.models import DBTaskResult

    path = remove_unconfirmed_daily.module_path
    return DBTaskResult.objects.filter(task_path=path, status="READY").exists()


def ensure_scheduled(now: dt.datetime | None = None) -> bool:
    """Enqueue the next nightly run unless one is waiting; True when one was enqueued."""
    if _waiting():
        return False
    remove_unconfirmed_daily.using(run_after=next_run(now or timezone.now())).enqueue()
    return True


@task()
def remove_unconfirmed_daily() -> int:
    """Remove the registrations not re-confirmed in time, then schedule tomorrow's run."""
    from maillage.care.register.services.registrations import remove_unconfirmed

    now = timezone.now()
    count = remove_unconfirmed(now)
    if not _waiting():
        remove_unconfirmed_daily.using(run_after=next_run(now)).enqueue()
    log.info("register: %s registrations not confirmed removed", count)
    return count
