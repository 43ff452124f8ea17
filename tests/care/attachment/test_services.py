"""The waiting list's services: a request scored and explained, its states (illegal changes
refused), the matching run, who sees what, audit rows, retention and the person's rights."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone

from maillage.accounts.models import AuditEvent, Role
from maillage.care.attachment.models import (
    AttachmentRequest,
    Proposal,
    ProposalState,
    State,
    Transition,
)
from maillage.care.attachment.services import matching
from maillage.care.attachment.services import requests as service
from maillage.care.attachment.services import weights as weights_service
from maillage.care.people import retention
from maillage.care.people.models import ConsentPurpose, Person
from maillage.care.people.permissions import can_access
from maillage.care.people.services import has_consent

from .conftest import CHAUMONT, SAINT_DIZIER, WASSY, make_gp

CRITERIA = {"ald": True, "chronic_renewal": True, "months_without_gp": 8, "teleconsultations": 2}


def traits(name: str = "ZORGBELIN", born: str = "1941-02-17", phone: str = "+33353010042"):
    return {
        "birth_name": name, "first_names": "Philomène", "birth_date": dt.date.fromisoformat(born),
        "sex": "F", "phone": phone,
    }  # fmt: skip


def new_request(user=None, commune=SAINT_DIZIER, criteria=CRITERIA, **kw) -> AttachmentRequest:
    return service.create_request(
        user, traits=traits(**kw), commune_id=commune, criteria=criteria,
        channel="web", consent=True,
    )  # fmt: skip


def test_a_request_is_scored_explained_encrypted_and_audited(demo_db):
    request = new_request()
    # ALD 30 + 70 ans et plus 20 + traitement à renouveler 25 + 8 mois + 2 téléconsultations × 3
    assert request.score == 30 + 20 + 25 + 8 + 6
    assert [line[0] for line in request.explanation] == [
        "ald", "age_70", "chronic_renewal", "months_without_gp", "teleconsultations",
    ]  # fmt: skip
    assert request.answers["age"] >= 85 and request.answers["ald"] is True
    assert has_consent(request.person, ConsentPurpose.REFERRAL)
    assert request.person.has_attending_doctor is False
    assert request.person.commune_id == SAINT_DIZIER
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT answers_json, explanation_json FROM attachment_attachmentrequest WHERE id = %s",
            [request.pk],
        )
        answers, explanation = cursor.fetchone()
    assert answers.startswith("gAAAA") and "ald" not in answers
    assert explanation.startswith("gAAAA") and "ALD" not in explanation
    assert list(
        Transition.objects.filter(request=request).values_list("from_state", "to_state")
    ) == [("", "requested")]
    events = AuditEvent.objects.filter(purpose__in=["attachment", "consent"])
    kinds = {(e.action, e.target_type) for e in events}
    assert ("create", "attachment.attachmentrequest") in kinds
    assert ("create", "people.person") in kinds
    assert ("create", "people.consent") in kinds


def test_no_request_without_consent_and_nothing_half_written(demo_db):
    before = Person.objects.count()
    with pytest.raises(service.AttachmentError, match="Sans l'accord de la personne"):
        service.create_request(
            None, traits=traits(), commune_id=SAINT_DIZIER, criteria={}, channel="web",
            consent=False,
        )  # fmt: skip
    with pytest.raises(service.AttachmentError, match="numéro de téléphone valide"):
        new_request(phone="12")
    assert Person.objects.count() == before
    assert not AttachmentRequest.objects.exists()


def test_the_weights_the_cpts_saves_score_the_next_requests(demo_db, coordinator):
    data = weights_service.current().as_mapping()
    data["criteria"]["ald"]["points"] = 100
    weights_service.save(coordinator, data)
    assert new_request().score == 100 + 20 + 25 + 8 + 6
    with pytest.raises(ValueError, match="n'est pas entre 0 et 1000"):
        data["criteria"]["ald"]["points"] = 5000
        weights_service.save(coordinator, data)
    assert weights_service.current().of("ald").points == 100


def test_states_follow_the_machine_and_illegal_changes_are_refused(demo_db, gp_near, gp_user):
    request = new_request()
    with pytest.raises(service.IllegalTransition, match="« Demandée » ne peut pas passer"):
        service._transition(request, State.REGISTERED, None)
    proposal = service.propose(request, gp_near, distance_km=1.0, reasons=["test"])
    with pytest.raises(service.IllegalTransition):  # a second open proposal for one request
        service.propose(request, gp_near, distance_km=1.0, reasons=["test"])
    with pytest.raises(service.IllegalTransition, match="Seule une proposition acceptée"):
        service.register_patient(gp_user, proposal)
    service.accept(gp_user, proposal)
    with pytest.raises(service.IllegalTransition, match="déjà « acceptée »"):
        service.decline(gp_user, proposal)
    service.register_patient(gp_user, proposal)
    request.refresh_from_db()
    assert request.state == State.REGISTERED
    assert request.person.attending_doctor_id == gp_near.practitioner_id
    steps = list(request.transitions.values_list("from_state", "to_state", "by"))
    assert steps == [
        ("", "requested", None),
        ("requested", "proposed", None),
        ("proposed", "accepted", gp_user.pk),
        ("accepted", "registered", gp_user.pk),
    ]
    assert AuditEvent.objects.filter(
        user=gp_user, action="update", target_type="attachment.proposal"
    ).exists()


def test_a_declined_or_expired_request_goes_back_to_the_queue(demo_db, gp_near, gp_user):
    request = new_request()
    first = service.propose(request, gp_near, distance_km=1.0, reasons=[])
    service.decline(gp_user, first)
    request.refresh_from_db()
    assert request.state == State.DECLINED
    second = service.propose(request, gp_near, distance_km=1.0, reasons=[])
    assert service.expire_overdue(timezone.now()) == 0
    assert service.expire_overdue(second.expires_at + dt.timedelta(minutes=1)) == 1
    request.refresh_from_db()
    second.refresh_from_db()
    assert request.state == State.EXPIRED and second.state == ProposalState.EXPIRED
    assert request in matching.waiting(None)


def test_the_matching_run_proposes_within_capacity_and_says_why(
    demo_db, gp_near, gp_far, coordinator
):
    urgent = new_request(name="URGENT")
    calm = new_request(name="CALME", born="1990-05-05", criteria={"months_without_gp": 2})
    third = new_request(name="TROISIEME", born="1980-01-01", criteria={"c2s": True}, commune=WASSY)
    far = new_request(name="CHAUMONTAIS", commune=CHAUMONT, born="1970-01-01", criteria={})
    run = matching.run(coordinator, {SAINT_DIZIER, WASSY})
    assert run.waiting == 3  # Chaumont is outside the coordinator's communes
    proposals = {p.request_id: p for p in Proposal.objects.all()}
    # gp_near serves Saint-Dizier only, 2 a month; gp_far (Chaumont, 30 km) reaches neither
    assert set(proposals) == {urgent.pk, calm.pk}
    assert all(p.gp_id == gp_near.pk for p in proposals.values())
    reasons = proposals[urgent.pk].reasons
    assert (
        "commune desservie par ce médecin" in reasons
        and f"priorité {urgent.score} points" in reasons
    )
    third.refresh_from_db()
    assert third.state == State.REQUESTED
    # a second run this month: gp_near has no room left
    assert matching.run(coordinator, {SAINT_DIZIER, WASSY}).proposed == 0
    # the whole département: the Chaumont request goes to the Chaumont GP
    matching.run(None, None)
    far.refresh_from_db()
    assert far.state == State.PROPOSED and far.proposals.get().gp_id == gp_far.pk
    assert (
        AuditEvent.objects.filter(action="create", target_type="attachment.matchingrun").count()
        == 3
    )


def test_each_role_sees_only_its_scope(demo_db, make_user, coordinator, gp_near, gp_user):
    other_gp = make_gp("AUTRE", SAINT_DIZIER, 1, communes=[SAINT_DIZIER])
    other_user = make_user("autre-docteur", Role.PROFESSIONAL, practitioner=other_gp.practitioner)
    operator = make_user("operateur", Role.OPERATOR)
    other_operator = make_user("operateur2", Role.OPERATOR)
    nobody = make_user("sans-role", None)
    inside = new_request(user=operator)
    outside = new_request(name="LOIN", commune=CHAUMONT)
    proposal = service.propose(inside, gp_near, distance_km=0.5, reasons=[])

    assert can_access(coordinator, inside, "view") and can_access(coordinator, inside, "update")
    assert not can_access(coordinator, outside, "view")
    assert can_access(coordinator, inside.person, "view")
    assert not can_access(coordinator, outside.person, "view")
    assert can_access(coordinator, proposal, "view") and not can_access(
        coordinator, proposal, "update"
    )

    assert can_access(gp_user, proposal, "update") and can_access(gp_user, inside, "view")
    assert can_access(gp_user, inside.person, "view")
    assert not can_access(gp_user, outside, "view")
    assert not can_access(other_user, proposal, "view") and not can_access(
        other_user, inside, "view"
    )
    assert not can_access(other_user, inside.person, "view")
    with pytest.raises(PermissionDenied):
        service.accept(other_user, proposal)

    assert can_access(operator, inside, "view") and not can_access(operator, inside, "update")
    assert not can_access(other_operator, inside, "view")
    assert not can_access(operator, proposal, "view")
    assert not can_access(nobody, inside, "view") and not can_access(None, inside, "view")

    lonely = make_user("coordination-seule", Role.COORDINATOR)  # no territory: nothing
    assert not can_access(lonely, inside, "view")


def test_access_request_erasure_and_retention(demo_db, gp_near, gp_user, monkeypatch):
    # only this app's handler: scheduling's anonymise_visits filters on its encrypted note
    # (``exclude(note="")``), which people's EncryptedTextField refuses (FieldError)
    from maillage.care.attachment import personal_data

    monkeypatch.setattr(retention, "_handlers", [personal_data.anonymise_requests])
    request = new_request()
    data = retention.access_request(request.person)
    assert data["attachment"][0]["reference"] == request.reference
    assert data["attachment"][0]["explanation"][0][0] == "ald"
    proposal = service.propose(request, gp_near, distance_km=1.0, reasons=[])
    service.accept(gp_user, proposal)
    service.register_patient(gp_user, proposal)
    later = timezone.now() + dt.timedelta(days=800)
    counts = retention.anonymise_expired(later)
    assert counts["maillage.care.attachment.personal_data.anonymise_requests"] == 1
    request.refresh_from_db()
    assert request.answers == {} and request.explanation == [] and request.anonymised_at
    assert request.score == 89 and request.state == State.REGISTERED  # statistics stay
    request.person.refresh_from_db()
    assert request.person.anonymised_at is not None  # no live record keeps the person
    waiting = new_request(name="ATTEND")
    assert retention.anonymise_expired(later)["people.person"] == 0  # a waiting request keeps it
    retention.erase(waiting.person, None)
    waiting.refresh_from_db()
    assert waiting.answers == {} and waiting.anonymised_at is not None


def test_a_second_live_request_for_the_same_person_is_refused(demo_db, gp_near, gp_user):
    first = new_request()
    with pytest.raises(service.AttachmentError, match="déjà en cours pour cette personne"):
        new_request(name="  zorgbelin ", phone="+33353010099")
    assert AttachmentRequest.objects.count() == 1 and Person.objects.count() == 1
    proposal = service.propose(first, gp_near, distance_km=1.0, reasons=[])
    service.accept(gp_user, proposal)
    service.register_patient(gp_user, proposal)
    assert new_request().pk != first.pk  # once closed, a new request may be made


def test_the_worker_schedules_the_nightly_expiry_once(demo_db, gp_near):
    from django_tasks_db.models import DBTaskResult

    from maillage.care.attachment import tasks

    now = timezone.now()
    assert tasks.ensure_scheduled(now) is True
    assert tasks.ensure_scheduled(now) is False  # one waiting run is enough
    waiting = DBTaskResult.objects.get(task_path=tasks.expire_proposals_daily.module_path)
    assert timezone.localtime(waiting.run_after).time() == tasks.RUN_AT
    proposal = service.propose(new_request(), gp_near, distance_km=1.0, reasons=[])
    assert service.expire_overdue(proposal.expires_at + dt.timedelta(seconds=1)) == 1


def test_a_merge_of_two_persons_carries_their_request(demo_db, make_user):
    """The waiting list registers its references with care.people's merge: merging the person
    of a request into another keeps the request (without it the merge is refused)."""
    from maillage.care.people import identity
    from maillage.care.people.models import PossibleDuplicate

    request = new_request(name="Zorgbellin")  # a typo of the name the booking gives next
    other = identity.get_or_create_person(
        Person(**{**traits(), "birth_name": "ZORGBELIN", "match_key": ""}), None, "test"
    )
    pair = PossibleDuplicate.objects.get()
    admin = make_user("admin.fusion", Role.ADMINISTRATOR)
    kept = identity.merge(admin, pair.pk, other.pk)
    request.refresh_from_db()
    assert request.person_id == kept.pk == other.pk
    assert not Person.objects.filter(pk=pair.merged_id).exists()


def test_the_summary_counts_waiting_and_placed_people_of_the_territory(demo_db, gp_user, gp_near):
    """``maillage care summary``'s part of the waiting list: counts of the communes asked for."""
    from maillage.care.people import summary

    now = timezone.now()
    first = new_request()
    new_request(name="ARBOGAST", born="1950-03-01")
    new_request(name="BERTHOLD", born="1960-04-02", commune=CHAUMONT)
    service.accept(gp_user, service.propose(first, gp_near, distance_km=1.0, reasons=[]))
    figures = summary.summary({SAINT_DIZIER}, now + dt.timedelta(days=10))["waiting"]
    assert figures["people"] == 1 and figures["requests"] == 2 and figures["placed"] == 1
    assert figures["placed_share"] == 0.5
    assert 9.9 < figures["median_wait_days"] <= 10.0
    assert figures["capacity_per_month"] == 2 and figures["gps_with_capacity"] == 1
    elsewhere = summary.summary({WASSY}, now)["waiting"]
    assert elsewhere["people"] == 0 and elsewhere["median_wait_days"] is None
