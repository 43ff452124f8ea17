"""Every way a request for a médecin traitant is made and changes state: the only code that
writes :class:`~maillage.care.attachment.models.AttachmentRequest`, its transitions and its
proposals. Each function works in one transaction, refuses an illegal transition
(:class:`IllegalTransition`, in French) and audits through :mod:`maillage.care.people.audit`.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from maillage.analytics.attachment import Answers, score
from maillage.care.attachment import notify
from maillage.care.attachment.models import (
    TRANSITIONS,
    AttachmentRequest,
    Proposal,
    ProposalState,
    State,
    Transition,
)
from maillage.care.attachment.services import capacity as capacity_service
from maillage.care.attachment.services import weights as weights_service
from maillage.care.people import audit
from maillage.care.people.models import ConsentChannel, ConsentPurpose, Person
from maillage.care.people.permissions import can_access
from maillage.care.people.services import (
    find_or_create_person,
    has_consent,
    normalise_traits,
    record_consent,
    update_person,
)

PURPOSE = "attachment"
#: Days a GP has to answer a proposal before it expires.
ANSWER_DAYS = 14


class AttachmentError(ValueError):
    """A change the waiting list refuses; the message is a French sentence."""


class IllegalTransition(AttachmentError):
    pass


def _check(user: Any, obj: Any, action: str) -> None:
    if user is not None and not can_access(user, obj, action):
        raise PermissionDenied("accès refusé à cette demande")


def answers_for(person: Person, data: dict[str, Any], on: dt.date | None = None) -> Answers:
    """The criteria answers of a form (``data``) with the age taken from the birth date."""
    age = person.age_on(on or timezone.localdate()) if person.birth_date else None
    return Answers.from_mapping({**data, "age": age})


def _transition(
    request: AttachmentRequest, to: str, user: Any, now: dt.datetime | None = None
) -> Transition:
    if to not in TRANSITIONS.get(request.state, frozenset()):
        raise IllegalTransition(
            f"Une demande « {State(request.state).label} » ne peut pas passer à "
            f"« {State(to).label} »."
        )
    now = now or timezone.now()
    step = Transition.objects.create(
        request=request,
        from_state=request.state,
        to_state=to,
        at=now,
        by=user if getattr(user, "is_authenticated", False) else None,
    )
    request.state = to
    request.state_changed_at = now
    request.save(update_fields=["state", "state_changed_at"])
    audit.record(user, "update", request, PURPOSE, state=to)
    notify.after_commit(step)
    return step


def _refuse_duplicate(traits: dict[str, Any]) -> None:
    """One live request per person: the same strict traits (birth name, first names, birth
    date) with a request not closed is refused, without saying anything about it."""
    try:
        same = normalise_traits(traits)
    except ValueError:
        return  # find_or_create_person says what is wrong
    live = AttachmentRequest.objects.filter(
        anonymised_at__isnull=True,
        person__birth_name=same.get("birth_name", ""),
        person__first_names=same.get("first_names", ""),
        person__birth_date=same.get("birth_date"),
    ).exclude(state=State.REGISTERED)
    if live.exists():
        raise AttachmentError(
            "Une demande est déjà en cours pour cette personne : inutile d'en faire une "
            "seconde. Pour la modifier, appelez la CPTS."
        )


def create_request(
    user: Any,
    *,
    traits: dict[str, Any],
    commune_id: str,
    criteria: dict[str, Any],
    channel: str,
    consent: bool,
    note: str = "",
    synthetic: bool = False,
) -> AttachmentRequest:
    """A new request: the person (through care.people), their consent for the search, the
    answers scored with the weights in force, the first transition; all or nothing.
    AttachmentError in French without consent or with bad traits."""
    if channel not in ConsentChannel.values:
        raise AttachmentError(f"Canal inconnu : {channel}.")
    if not consent:
        raise AttachmentError(
            "Sans l'accord de la personne, la demande ne peut pas être enregistrée."
        )
    weights = weights_service.current()
    with transaction.atomic():
        _refuse_duplicate(traits)
        try:
            person = find_or_create_person(
                user, PURPOSE, **traits, commune_id=commune_id, has_attending_doctor=False,
                synthetic=synthetic,
            )  # fmt: skip
        except ValueError as exc:
            raise AttachmentError(str(exc)) from None
        record_consent(person, ConsentPurpose.REFERRAL, True, channel, user=user)
        answers = answers_for(person, criteria)
        result = score(answers, weights)
        request = AttachmentRequest.objects.create(
            person=person,
            channel=channel,
            commune_id=commune_id,
            created_by=user if getattr(user, "is_authenticated", False) else None,
            answers_json=json.dumps(asdict(answers)),
            score=result.total,
            explanation_json=json.dumps([list(line) for line in result.explanation]),
            note=note,
        )
        step = Transition.objects.create(
            request=request, from_state="", to_state=State.REQUESTED,
            by=user if getattr(user, "is_authenticated", False) else None,
        )  # fmt: skip
        notify.after_commit(step)
        audit.record(user, "create", request, PURPOSE, channel=channel, score=result.total)
    return request


def propose(
    request: AttachmentRequest,
    gp: Any,
    *,
    distance_km: float,
    reasons: list[str],
    user: Any = None,
    run: Any = None,
    now: dt.datetime | None = None,
) -> Proposal:
    """Propose ``request`` to ``gp`` (a GpCapacity): the matching's way of writing."""
    now = now or timezone.now()
    with transaction.atomic():
        request = AttachmentRequest.objects.select_for_update().get(pk=request.pk)
        if not has_consent(request.person, ConsentPurpose.REFERRAL):
            raise AttachmentError("La personne a retiré son accord : pas de proposition.")
        _transition(request, State.PROPOSED, user, now)
        proposal = Proposal.objects.create(
            request=request, gp=gp, run=run, distance_km=distance_km, score=request.score,
            reasons=reasons, created_at=now, expires_at=now + dt.timedelta(days=ANSWER_DAYS),
        )  # fmt: skip
        audit.record(user, "create", proposal, PURPOSE, request=request.pk, gp=gp.pk)
    return proposal


def _decide(user: Any, proposal: Proposal, to: str, state: str) -> Proposal:
    _check(user, proposal, "update")
    with transaction.atomic():
        proposal = (
            Proposal.objects.select_for_update().select_related("request").get(pk=proposal.pk)
        )
        if proposal.state != ProposalState.OPEN:
            raise IllegalTransition(
                f"Cette proposition est déjà « {ProposalState(proposal.state).label.lower()} »."
            )
        _transition(proposal.request, to, user)
        proposal.state = state
        proposal.decided_at = timezone.now()
        proposal.decided_by = user if getattr(user, "is_authenticated", False) else None
        proposal.save(update_fields=["state", "decided_at", "decided_by"])
        audit.record(user, "update", proposal, PURPOSE, state=state)
        if state == ProposalState.DECLINED:  # a place given back this month
            capacity_service.sync_directory([proposal.gp.practitioner_id])
    return proposal


def accept(user: Any, proposal: Proposal) -> Proposal:
    """The GP accepts the person proposed."""
    return _decide(user, proposal, State.ACCEPTED, ProposalState.ACCEPTED)


def decline(user: Any, proposal: Proposal) -> Proposal:
    """The GP declines; the request waits for the next matching run."""
    return _decide(user, proposal, State.DECLINED, ProposalState.DECLINED)


def register_patient(user: Any, proposal: Proposal) -> AttachmentRequest:
    """The GP confirms the déclaration de médecin traitant is made: the request is closed and
    the person's médecin traitant recorded."""
    _check(user, proposal, "update")
    with transaction.atomic():
        proposal = Proposal.objects.select_related("request__person", "gp").get(pk=proposal.pk)
        if proposal.state != ProposalState.ACCEPTED:
            raise IllegalTransition("Seule une proposition acceptée peut être inscrite.")
        request = AttachmentRequest.objects.select_for_update().get(pk=proposal.request_id)
        _transition(request, State.REGISTERED, user)
        update_person(
            user, request.person, PURPOSE, has_attending_doctor=True,
            attending_doctor_id=proposal.gp.practitioner_id,
        )  # fmt: skip
    return request


def expire_overdue(now: dt.datetime | None = None) -> int:
    """Open proposals past their answer date: expired, their requests back in the queue."""
    now = now or timezone.now()
    n = 0
    overdue = Proposal.objects.filter(state=ProposalState.OPEN, expires_at__lt=now)
    for pk in overdue.values_list("pk", flat=True):
        with transaction.atomic():
            proposal = Proposal.objects.select_for_update().get(pk=pk)
            if proposal.state != ProposalState.OPEN:
                continue
            _transition(proposal.request, State.EXPIRED, None, now)
            proposal.state = ProposalState.EXPIRED
            proposal.decided_at = now
            proposal.save(update_fields=["state", "decided_at"])
            audit.record(None, "update", proposal, "attachment_expiry", state="expired")
            capacity_service.sync_directory([proposal.gp.practitioner_id], now)
            n += 1
    return n
