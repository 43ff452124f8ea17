"""The waiting list's background work on Django's task framework (the queue of the exports
and the retention run): the messages of each state change (:func:`send_notices`, tried again
later while a gateway is down); every night at 03:30 (Paris time) the proposals left without an
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


#: Minutes before each new try of the messages that could not leave (then the task fails,
#: visible to administrators with the other task results).
RETRY_AFTER_MINUTES = (5, 30, 120)


@task()
def send_notices(step_id: int, attempt: int = 0) -> int:
    """Send the messages of one state change of a request (each at most once: a retry sends
    only what has not left). While some could not leave, try again later; after the last try,
    fail so that administrators see it."""
    from maillage.care.attachment.notify import failed_count, notify_transition

    sent = notify_transition(step_id)
    left = failed_count(step_id)
    if left:
        if attempt >= len(RETRY_AFTER_MINUTES):
            raise RuntimeError(f"{left} message(s) de la transition {step_id} non envoyé(s)")
        delay = dt.timedelta(minutes=RETRY_AFTER_MINUTES[attempt])
        send_notices.using(run_after=timezone.now() + delay).enqueue(step_id, attempt + 1)
        log.warning("attachment: %s message(s) to try again in %s", left, delay)
    return sent
