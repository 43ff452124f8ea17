"""The register's background work on Django's task framework: every night at 03:45 (Paris
time) the registrations not confirmed for 12 months and a month of grace are removed
(:func:`~maillage.care.register.services.registrations.remove_unconfirmed`); every day at
10:00 the reminders that a confirmation falls due leave
(:func:`~maillage.care.register.services.reminders.send_confirmation_reminders`, each at most
once). Each run enqueues its own next one, and each worker start (:func:`ensure_scheduled`)
starts both chains."""

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
REMINDERS_AT = dt.time(10, 0)


def next_run(now: dt.datetime, at: dt.time = RUN_AT) -> dt.datetime:
    """The next ``at`` (03:45 by default) in Paris after ``now``."""
    local = timezone.localtime(now)
    day = local.date() if local.time() < at else local.date() + dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, at))


def _waiting(task_obj=None) -> bool:
    from django_tasks_db.models import DBTaskResult

    path = (task_obj or remove_unconfirmed_daily).module_path
    return DBTaskResult.objects.filter(task_path=path, status="READY").exists()


def ensure_scheduled(now: dt.datetime | None = None) -> bool:
    """Enqueue the next nightly removal and the next reminders unless a run of each is
    waiting; True when the removal was enqueued."""
    now = now or timezone.now()
    if not _waiting(send_reminders_daily):
        send_reminders_daily.using(run_after=next_run(now, REMINDERS_AT)).enqueue()
    if _waiting():
        return False
    remove_unconfirmed_daily.using(run_after=next_run(now)).enqueue()
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


@task()
def send_reminders_daily() -> dict[str, int]:
    """The reminders of the confirmations falling due, then tomorrow's run."""
    from maillage.care.register.services.reminders import send_confirmation_reminders

    now = timezone.now()
    counts = send_confirmation_reminders(now)
    if not _waiting(send_reminders_daily):
        send_reminders_daily.using(run_after=next_run(now, REMINDERS_AT)).enqueue()
    log.info("register: %s reminders for %s registrations", counts["messages"],
             counts["inscriptions"])  # fmt: skip
    return counts
