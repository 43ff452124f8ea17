"""The notice of a discharge letter sent to the GP's MSSanté mailbox: a short e-mail through
Django's e-mail backend (MSSanté is SMTP between secure operators) carrying the signed
acknowledgement link (:func:`~.discharges.signed_token`).

When: a letter recorded as sent by MSSanté (form, import, re-import) to a GP whose directory
entry has an MSSanté address, or the hospital referent's "Envoyer l'avis au médecin traitant".
How: a :class:`~maillage.care.letters.models.LetterNotice` row (one per discharge) is queued and
the task :func:`~maillage.care.letters.tasks.send_letter_notice` (enqueued in the same
transaction) sends it in the background.
The task claims the row first (queued or failed → sending, in one UPDATE), so a second task, a
retry or two workers never send it twice. A failure (SMTP down) records its error's class name,
and the task is enqueued again after a growing delay, up to :data:`MAX_ATTEMPTS`; the referent
sees the state on the list and may send again.

What: the hospital, the discharge date, the stay number and the link; never the patient's name,
the service, the destination or any free text (the letter itself travels in the hospital's
own MSSanté message). Reading the discharge to write is audited (purpose ``notification``).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from maillage.care.letters.models import Channel, Discharge, LetterNotice, NoticeStatus
from maillage.care.letters.personal_data import PURPOSE, hospitals_of
from maillage.care.letters.services.discharges import signed_token
from maillage.care.people import audit
from maillage.directory.notify import site_url

log = logging.getLogger(__name__)

NOTIFICATION = "notification"
MAX_ATTEMPTS = 5
#: The delay before the n-th new try: 5 min, 10, 20, 40.
RETRY_BASE = dt.timedelta(minutes=5)
SUBJECT = "Lettre de liaison de sortie : accusé de réception"


def due(discharge: Discharge) -> bool:
    """A notice is due: the letter sent by MSSanté to a GP of the directory with an MSSanté
    address, the discharge not anonymised."""
    return (
        discharge.letter_sent_at is not None
        and discharge.channel == Channel.MSSANTE
        and discharge.anonymised_at is None
        and discharge.gp_id is not None
        and bool(discharge.gp.mssante)
    )


def _enqueue(notice_id: int, run_after: dt.datetime | None = None) -> None:
    from maillage.care.letters.tasks import send_letter_notice

    task = send_letter_notice.using(run_after=run_after) if run_after else send_letter_notice
    task.enqueue(notice_id)


def queue(discharge: Discharge, again: bool = False) -> LetterNotice | None:
    """Inside the caller's transaction: the discharge's notice queued, its task enqueued in
    the same transaction (a rolled-back import leaves neither), unless it is already queued,
    being sent or sent to this GP; a failed one is queued again only when ``again`` (the
    referent's action). None when no notice is due (:func:`due`)."""
    if not due(discharge):
        return None
    notice, created = LetterNotice.objects.select_for_update().get_or_create(
        discharge=discharge, defaults={"gp_id": discharge.gp_id}
    )
    new_gp = notice.gp_id != discharge.gp_id
    retry = again and notice.status in (NoticeStatus.FAILED, NoticeStatus.CANCELLED)
    if not (created or new_gp or retry):
        return notice
    notice.gp_id = discharge.gp_id
    notice.status, notice.error, notice.next_try_at = NoticeStatus.QUEUED, "", None
    notice.queued_at, notice.sent_at = timezone.now(), None
    if new_gp or retry:
        notice.attempts = 0
    notice.save()
    _enqueue(notice.pk)  # in the same transaction: both written or neither
    return notice


def request(user: Any, pk: int) -> LetterNotice:
    """The referent's "Envoyer l'avis au médecin traitant" for discharge ``pk`` of their
    hospitals (Discharge.DoesNotExist outside; ValidationError in French when no notice can
    go). Sends again a notice that failed; does nothing for one queued or sent."""
    with transaction.atomic():
        discharge = Discharge.objects.select_for_update().get(pk=pk)  # (PostgreSQL locks no
        # nullable side of a join: the GP is read after)
        mine = user.is_superuser or discharge.hospital_id in hospitals_of(user)
        if not mine:
            raise Discharge.DoesNotExist
        if discharge.letter_sent_at is None:
            raise ValidationError(
                "Indiquez d'abord l'envoi de la lettre de liaison (date et canal MSSanté)."
            )
        if discharge.channel != Channel.MSSANTE:
            raise ValidationError("La lettre n'a pas été envoyée par MSSanté.")
        if discharge.gp is None or not discharge.gp.mssante:
            raise ValidationError(
                "Le médecin traitant n'a pas d'adresse MSSanté dans l'annuaire : l'avis ne "
                "peut pas lui être envoyé."
            )
        notice = queue(discharge, again=True)
        audit.record(user, "update", discharge, PURPOSE, notice=notice.status if notice else None)
        return notice


def text(discharge: Discharge, link: str) -> str:
    """The notice's body: no name, no service, no free text."""
    local = timezone.localtime(discharge.discharge_at)
    lines = [
        "Bonjour,",
        "",
        f"{discharge.hospital.name} vous a adressé la lettre de liaison de la sortie "
        f"d'hospitalisation du {local:%d/%m/%Y} d'un(e) de vos patient(e)s"
        + (f" (séjour n° {discharge.stay_number})." if discharge.stay_number else "."),
        "",
        "Merci d'en accuser réception en ouvrant ce lien (valable 90 jours) :",
        link,
        "",
        "Ce message ne contient aucune donnée de santé ; la lettre vous parvient par la "
        "messagerie sécurisée de l'établissement.",
    ]
    if discharge.synthetic:
        lines.append("(données de démonstration)")
    return "\n".join(lines)


def send(notice_id: int, now: dt.datetime | None = None) -> str:
    """Send one notice if it can be claimed; returns its state afterwards ("skipped": someone
    else sent it or is sending it). A failure is recorded and tried again later."""
    claimed = LetterNotice.objects.filter(
        pk=notice_id, status__in=[NoticeStatus.QUEUED, NoticeStatus.FAILED]
    ).update(status=NoticeStatus.SENDING, attempts=F("attempts") + 1, next_try_at=None)
    if not claimed:
        return "skipped"
    notice = LetterNotice.objects.select_related("discharge__hospital", "discharge__gp").get(
        pk=notice_id
    )
    discharge = notice.discharge
    if not due(discharge) or discharge.gp_id != notice.gp_id:
        LetterNotice.objects.filter(pk=notice.pk).update(status=NoticeStatus.CANCELLED)
        return NoticeStatus.CANCELLED
    link = site_url() + reverse("letters:link", args=[signed_token(discharge)])
    audit.record(None, "view", discharge, NOTIFICATION, medium="mssante", notice=notice.pk)
    sender = getattr(settings, "MAILLAGE_MSSANTE_FROM", None)
    try:
        send_mail(SUBJECT, text(discharge, link), sender, [discharge.gp.mssante])
    except Exception as exc:  # an SMTP server down: recorded, tried again; no address logged
        return _failed(notice, type(exc).__name__, now or timezone.now())
    LetterNotice.objects.filter(pk=notice.pk).update(
        status=NoticeStatus.SENT, sent_at=now or timezone.now(), error=""
    )
    return NoticeStatus.SENT


def _failed(notice: LetterNotice, error: str, now: dt.datetime) -> str:
    attempts = notice.attempts  # counted by the claim
    retry = now + RETRY_BASE * 2 ** (attempts - 1) if attempts < MAX_ATTEMPTS else None
    LetterNotice.objects.filter(pk=notice.pk).update(
        status=NoticeStatus.FAILED, error=error[:80], next_try_at=retry
    )
    log.warning("avis MSSanté %s non envoyé (essai %s) : %s", notice.pk, attempts, error)
    if retry is not None:
        _enqueue(notice.pk, retry)
    return NoticeStatus.FAILED
