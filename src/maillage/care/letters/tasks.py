"""The discharge letters' background work on Django's task framework (the database queue of
the exports, the reminders and the retention run, :mod:`maillage.exports.tasks`):
``send_letter_notice`` sends one MSSanté notice to a GP
(:mod:`maillage.care.letters.services.notices`). It is enqueued in the transaction that queued
the notice; a failed sending enqueues the next try itself (``run_after``), and the notice's row
says what happened, for the referent's list and the administrators."""

from __future__ import annotations

try:  # Django >= 6
    from django.tasks import task
except ImportError:  # the backport
    from django_tasks import task


@task()
def send_letter_notice(notice_id: int) -> str:
    from maillage.care.letters.services.notices import send

    return send(notice_id)
