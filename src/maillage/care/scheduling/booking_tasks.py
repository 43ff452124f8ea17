"""The booking channels' background work on Django's task framework (the same database queue
as the exports and the slot generation, see :mod:`maillage.exports.tasks`):

- ``send_reminders_daily``: at 17:00 Paris time, the reminders of tomorrow's bookings, then its
  own next run (the worker starts the chain: :func:`ensure_scheduled`);
- ``offer_free_slots_task``: the waiting list's matching, enqueued after each cancellation and
  run every hour by its own chain.

A run that fails stays in the queue with its traceback (visible to administrators in the admin
of the task results) and the next worker start schedules again. Notifications are claimed in
the database before they leave (:mod:`.notify`): a retried run never sends twice.
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

REMINDERS_AT = dt.time(17, 0)
OFFERS_EVERY = dt.timedelta(hours=1)


def next_reminders_run(now: dt.datetime) -> dt.datetime:
    local = timezone.localtime(now)
    day = local.date() if local.time() < REMINDERS_AT else local.date() + dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, REMINDERS_AT))


def _waiting(task_obj) -> bool:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path=task_obj.module_path, status="READY").exists()


@task()
def send_reminders_daily(reschedule: bool = True) -> dict[str, int]:
    from maillage.care.scheduling.notify import send_reminders

    counts = send_reminders()
    log.info("reminders: %s bookings, %s messages", counts["rendez-vous"], counts["messages"])
    if reschedule and not _waiting(send_reminders_daily):
        send_reminders_daily.using(run_after=next_reminders_run(timezone.now())).enqueue()
    return counts


@task()
def offer_free_slots_task(reschedule: bool = False) -> int:
    from maillage.care.scheduling.notify import notify_offer
    from maillage.care.scheduling.services.waitlist import offer_free_slots

    made = offer_free_slots()
    for offer, token in made:
        notify_offer(offer, token)
    if reschedule:
        offer_free_slots_task.using(run_after=timezone.now() + OFFERS_EVERY).enqueue(
            reschedule=True
        )
    return len(made)


def ensure_scheduled(now: dt.datetime | None = None) -> None:
    """Start the reminders' and the offers' chains unless a run of each is waiting."""
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    if not _waiting(send_reminders_daily):
        send_reminders_daily.using(run_after=next_reminders_run(now)).enqueue()
    waiting = DBTaskResult.objects.filter(
        task_path=offer_free_slots_task.module_path,
        status="READY",
        args_kwargs__kwargs__reschedule=True,
    ).exists()
    if not waiting:
        offer_free_slots_task.using(run_after=now + OFFERS_EVERY).enqueue(reschedule=True)


def after_cancellation() -> None:
    """A seat was freed: let the waiting list have it (in the background)."""
    offer_free_slots_task.enqueue()
