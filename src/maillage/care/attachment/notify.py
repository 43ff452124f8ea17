"""Messages of the waiting list: each state change of a request told to the person (SMS and
e-mail, through the scheduling app's SMS backend and Django's e-mail backend), and a proposal
told to the GP by e-mail.

Never a health detail: a message says the state, the reference, and for an accepted proposal
the practice to call; the GP's e-mail says only that a person of a commune is proposed and
where to answer. Each message is claimed first as a :class:`~.models.Notice` row (unique per
change, audience and medium), so nothing is sent twice; a failed sending is marked failed (the
exception's class name) and may be claimed again. A failure never undoes the change. The
messages leave from the task queue, not from the request that made the change
(:func:`after_commit`). Reading the person's contact to write is audited (purpose
"notification").
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from maillage.care.attachment.models import Notice, NoticeAudience, Proposal, State, Transition
from maillage.care.people import audit
from maillage.care.scheduling.sms import send_sms
from maillage.directory.notify import site_url

log = logging.getLogger(__name__)
PURPOSE = "notification"

SUBJECT = "Votre recherche de médecin traitant"
PERSON_TEXTS = {
    State.REQUESTED: "Votre demande de médecin traitant est enregistrée. La CPTS cherche un "
    "médecin qui puisse vous suivre et vous tiendra informé·e.",
    State.PROPOSED: "Un médecin traitant a été sollicité pour vous. Il a 14 jours pour "
    "répondre ; nous vous prévenons dès sa réponse.",
    State.ACCEPTED: "Bonne nouvelle : un médecin accepte de devenir votre médecin traitant.",
    State.DECLINED: "Le médecin sollicité ne peut pas vous accueillir. Votre demande reste en "
    "attente, avec la même priorité.",
    State.EXPIRED: "Le médecin sollicité n'a pas répondu à temps. Votre demande reste en "
    "attente, avec la même priorité.",
    State.REGISTERED: "Votre médecin traitant est déclaré : votre demande est close.",
}


def _claim(step: Transition, audience: str, medium: str) -> Notice | None:
    try:
        with transaction.atomic():
            return Notice.objects.create(transition=step, audience=audience, medium=medium)
    except IntegrityError:
        pass
    retried = Notice.objects.filter(
        transition=step, audience=audience, medium=medium, status="failed"
    )
    row = retried.first()
    if row is not None and retried.filter(pk=row.pk).update(status="sending", error=""):
        return row
    return None


def _deliver(row: Notice, to: str, subject: str, text: str) -> bool:
    try:
        if row.medium == "sms":
            send_sms(to, text)
        else:
            send_mail(subject, text, None, [to])
    except Exception as exc:  # a gateway down never undoes a change; no address in the log
        log.warning("message %s non envoyé : %s", row.pk, type(exc).__name__)
        Notice.objects.filter(pk=row.pk).update(status="failed", error=type(exc).__name__[:80])
        return False
    Notice.objects.filter(pk=row.pk).update(status="sent", sent_at=timezone.now())
    return True


def _open_proposal(step: Transition) -> Proposal | None:
    return (
        Proposal.objects.filter(request_id=step.request_id, created_at__lte=step.at)
        .select_related("gp__location__commune", "gp__practitioner")
        .order_by("-created_at", "-pk")
        .first()
    )


def person_text(step: Transition, proposal: Proposal | None) -> str:
    request = step.request
    lines = [PERSON_TEXTS[step.to_state], f"Référence : {request.reference}"]
    if step.to_state == State.ACCEPTED and proposal is not None:
        place = proposal.gp.location
        doctor = proposal.gp.practitioner
        lines.append(
            f"Dr {doctor.given_name} {doctor.family_name}, {place.name}, "
            f"{place.commune.name}" + (f", {place.phone}" if place.phone else "")
        )
        lines.append("Le cabinet vous appellera ; vous pouvez aussi l'appeler.")
    if request.person.synthetic:
        lines.append("(données de démonstration)")
    return "\n".join(lines)


def gp_text(step: Transition, proposal: Proposal) -> tuple[str, str]:
    """The GP's e-mail: a person of a commune is proposed; the details are in the space."""
    due = timezone.localtime(proposal.expires_at)
    lines = [
        "Bonjour,",
        f"Une personne de {step.request.commune.name} qui cherche un médecin traitant vous est "
        "proposée par la CPTS, selon la capacité d'accueil que vous avez déclarée.",
        f"Merci de répondre avant le {due:%d/%m/%Y} : "
        f"{site_url()}{reverse('attachment:proposals')}",
    ]
    if step.request.person.synthetic:
        lines.append("(données de démonstration)")
    return "Nouvelle proposition de patient — médecin traitant", "\n".join(lines)


def _gp_email(proposal: Proposal) -> str:
    account = (
        User.objects.filter(profile__practitioner_id=proposal.gp.practitioner_id, is_active=True)
        .exclude(email="")
        .first()
    )
    return account.email if account else proposal.gp.practitioner.mssante


def notify_transition(step_id: int) -> int:
    """Send the messages of one state change (each at most once); returns how many left."""
    step = Transition.objects.select_related("request__person", "request__commune").get(pk=step_id)
    person = step.request.person
    proposal = _open_proposal(step) if step.to_state != State.REQUESTED else None
    sent = 0
    if person.anonymised_at is None:
        text = person_text(step, proposal)
        for medium, to in (("sms", person.phone), ("email", person.email)):
            if not to:
                continue
            row = _claim(step, NoticeAudience.PERSON, medium)
            if row is None:
                continue
            audit.record(None, "view", step.request, PURPOSE, state=step.to_state, medium=medium)
            sent += _deliver(row, to, SUBJECT, text)
    if step.to_state == State.PROPOSED and proposal is not None:
        to = _gp_email(proposal)
        row = _claim(step, NoticeAudience.GP, "email") if to else None
        if row is not None:
            audit.record(None, "view", step.request, PURPOSE, state=step.to_state, audience="gp")
            subject, text = gp_text(step, proposal)
            sent += _deliver(row, to, subject, text)
    return sent


def failed_count(step_id: int) -> int:
    """The messages of a state change whose last sending failed (to be tried again)."""
    return Notice.objects.filter(transition_id=step_id, status="failed").count()


def after_commit(step: Any) -> None:
    """Send the messages of ``step`` in the background once its transaction is committed: a
    matching run that proposes 150 people does not wait, in the coordinator's request, for
    300 messages to leave (:func:`maillage.care.attachment.tasks.send_notices`)."""
    from maillage.care.attachment.tasks import send_notices

    transaction.on_commit(lambda: send_notices.enqueue(step.pk), robust=True)
