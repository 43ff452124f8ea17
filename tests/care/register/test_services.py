"""The register's services: registration all-or-nothing with consent, scope per commune,
yearly confirmation and removal, campaigns (call hand-out, outcomes, escalation), the summary
part, retention and erasure."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from maillage.accounts.models import AuditEvent, Role
from maillage.care.people import retention
from maillage.care.people.models import Consent, ConsentPurpose, Person
from maillage.care.people.permissions import can_access
from maillage.care.people.summary import summary
from maillage.care.register.models import CallAssignment, Outcome, Registration, RemovalReason
from maillage.care.register.services import campaigns, registrations
from maillage.care.register.services.registrations import RegisterError, register_person
from maillage.care.register.services.summary import campaign_figures

from .conftest import CHAUMONT, SAINT_DIZIER, WASSY, make_user, registered

TRAITS = {
    "birth_name": "Zorgbelin", "first_names": "Philomène", "sex": "F",
    "birth_date": dt.date(1936, 2, 17), "phone": "01 99 00 00 42",
}  # fmt: skip


def _register(user, **change):
    kwargs = {
        "traits": TRAITS, "commune_id": SAINT_DIZIER, "details": {"address": "3 rue X"},
        "registered_by": "relative", "consent": True, "synthetic": True, **change,
    }  # fmt: skip
    return register_person(user, **kwargs)


def test_an_agent_registers_a_person_with_consent_audited_and_encrypted(agent_a):
    from django.db import connection

    r = _register(agent_a, details={"address": "3 rue X", "emergency_contacts": "Anne"})
    assert r.person.birth_name == "ZORGBELIN" and r.person.commune_id == SAINT_DIZIER
    consent = Consent.objects.get(person=r.person)
    assert consent.purpose == ConsentPurpose.REGISTER and consent.given
    assert AuditEvent.objects.filter(
        target_type="register.registration", target_id=str(r.pk), action="create"
    ).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT emergency_contacts FROM register_registration WHERE id=%s", [r.pk])
        stored = cursor.fetchone()[0]
    assert "Anne" not in stored and stored.startswith("gAAAA")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"consent": False}, "Sans l'accord de la personne"),
        ({"commune_id": "99999"}, "Commune inconnue"),
        ({"registered_by": "voisin"}, "qui demande l'inscription"),
        ({"traits": {**TRAITS, "phone": "12"}}, "n'est pas un numéro de téléphone valide"),
        ({"traits": {**TRAITS, "phone": "03 25 00 11 22"}}, "réservé à la fiction"),
    ],
)
def test_bad_registrations_are_refused_in_french_and_write_nothing(agent_a, change, message):
    with pytest.raises(RegisterError, match=message):
        _register(agent_a, **change)
    assert not Registration.objects.exists() and not Person.objects.exists()
    assert not Consent.objects.exists()


def test_a_registration_is_all_or_nothing(agent_a, monkeypatch):
    """A failure after the person and consent were written leaves nothing (atomic)."""

    def broken(*args, **kwargs):
        raise RuntimeError("panne")

    monkeypatch.setattr(Registration.objects, "create", broken)
    with pytest.raises(RuntimeError):
        _register(agent_a)
    assert not Person.objects.exists() and not Consent.objects.exists()


def test_a_second_active_registration_of_the_same_person_is_refused(agent_a):
    _register(agent_a)
    with transaction.atomic(), pytest.raises(RegisterError, match="déjà inscrite"):
        _register(agent_a)
    assert Registration.objects.count() == 1


def test_an_agent_only_reaches_the_registrations_of_their_communes(agent_a, agent_b, coordinator):
    mine = registered(agent_a)
    theirs = registered(agent_b, CHAUMONT)
    assert can_access(agent_a, mine, "view") and can_access(agent_a, mine, "update")
    assert not can_access(agent_a, theirs, "view") and not can_access(agent_a, theirs, "update")
    assert can_access(agent_a, mine.person, "view")
    assert not can_access(agent_a, theirs.person, "view")
    with pytest.raises(PermissionDenied):
        registrations.confirm(agent_a, theirs)
    with pytest.raises(PermissionDenied):
        registrations.remove(agent_a, theirs)
    with pytest.raises(PermissionDenied):
        registrations.get(agent_a, theirs.pk)
    with pytest.raises(PermissionDenied):  # nor register someone in Chaumont
        _register(agent_a, commune_id=CHAUMONT)
    # a coordinator reads no registration, no person; only the prefect's export
    for action in ("view", "update", "create", "delete"):
        assert not can_access(coordinator, mine, action)
    assert not can_access(coordinator, mine.person, "view")
    assert can_access(coordinator, mine, "export")
    for role in (Role.OPERATOR, Role.NURSE, Role.PROFESSIONAL, Role.HOSPITAL):
        other = make_user(f"u-{role}", role, [SAINT_DIZIER])
        assert not can_access(other, mine, "view") and not can_access(other, mine.person, "view")


def test_yearly_confirmation_and_removal_of_the_unconfirmed(agent_a):
    now = timezone.now()
    old = registered(agent_a)
    Registration.objects.filter(pk=old.pk).update(confirmed_at=now - dt.timedelta(days=400))
    in_grace = registered(agent_a)
    Registration.objects.filter(pk=in_grace.pk).update(confirmed_at=now - dt.timedelta(days=380))
    fresh = registered(agent_a)
    figures = summary({SAINT_DIZIER}, now)["register"]
    assert figures["people"] == 3 and figures["to_confirm"] == 2
    assert registrations.remove_unconfirmed(now) == 1
    old.refresh_from_db()
    assert old.removed_at is not None and old.removal_reason == RemovalReason.NOT_CONFIRMED
    registrations.confirm(agent_a, in_grace)
    assert registrations.remove_unconfirmed(now) == 0
    assert summary({SAINT_DIZIER}, now)["register"]["people"] == 2
    assert Registration.objects.get(pk=fresh.pk).removed_at is None
    assert AuditEvent.objects.filter(purpose="register_confirmation").count() == 1
    # removed, then past retention: emptied by the retention run, then the person anonymised
    counts = retention.anonymise_expired(now + dt.timedelta(days=400))
    assert counts["maillage.care.register.personal_data.anonymise_registrations"] == 1
    old.refresh_from_db()
    old.person.refresh_from_db()
    assert old.address == "" and old.anonymised_at is not None
    assert old.person.anonymised_at is not None and old.person.birth_name == ""
    assert Registration.objects.get(pk=fresh.pk).person.birth_name  # active: kept


def test_an_agent_cannot_open_a_campaign_outside_their_communes(agent_a):
    with pytest.raises(PermissionDenied):
        campaigns.open_campaign(agent_a, "heatwave", "orange", {CHAUMONT})
    with pytest.raises(RegisterError, match="Type d'alerte inconnu"):
        campaigns.open_campaign(agent_a, "volcan", "orange", {SAINT_DIZIER})


def test_a_campaign_calls_everyone_once_and_escalates_after_three_not_reached(
    agent_a, agent_b, coordinator
):
    people = [registered(agent_a) for _ in range(3)]
    registered(agent_b, CHAUMONT)
    gone = registered(agent_a)
    registrations.remove(agent_a, gone)
    campaign = campaigns.open_campaign(coordinator, "heatwave", "red", {SAINT_DIZIER, WASSY})
    assert campaign.assignments.count() == 3  # Chaumont's and the removed one are not called
    # agent B (Chaumont) gets nobody of Saint-Dizier
    assert campaigns.next_call(agent_b, campaign) is None
    with pytest.raises(PermissionDenied):
        campaigns.next_call(coordinator, campaign)
    first = campaigns.next_call(agent_a, campaign)
    assert campaigns.next_call(agent_a, campaign).pk == first.pk  # still held
    campaigns.record_outcome(first, Outcome.REACHED_FINE, "ça va", agent_a)
    second = campaigns.next_call(agent_a, campaign)
    assert second.pk != first.pk
    campaigns.record_outcome(second, Outcome.NEEDS_HELP, "besoin d'eau", agent_a)
    third = campaigns.next_call(agent_a, campaign)
    with pytest.raises(PermissionDenied):
        campaigns.record_outcome(third, Outcome.REACHED_FINE, "", agent_b)
    for attempt in range(1, 4):
        call = campaigns.next_call(agent_a, campaign)
        assert call.pk == third.pk
        call = campaigns.record_outcome(call, Outcome.NOT_REACHED, "", agent_a)
        assert call.attempts == attempt and call.escalated == (attempt == 3)
    assert campaigns.next_call(agent_a, campaign) is None
    with pytest.raises(RegisterError, match="déjà enregistré"):
        campaigns.record_outcome(call, Outcome.REACHED_FINE, "", agent_a)
    figures = campaign_figures(campaign)
    assert figures["people"] == 3 and figures["reached_fine"] == 1
    assert figures["needs_help"] == 1 and figures["escalated"] == 1
    part = summary({SAINT_DIZIER}, timezone.now())["register"]
    assert part == {
        "people": 3, "pending": 0, "campaigns": 1, "open_campaigns": 1, "to_confirm": 0,
        "escalated": 1,
        "synthetic": True,  # the test's people are flagged synthetic, and the figures say so
    }  # fmt: skip
    assert [v.registration_id for v in campaigns.home_visits(campaign, {SAINT_DIZIER})] == [
        third.registration_id
    ]
    assert {p.pk for p in people} == set(
        CallAssignment.objects.filter(campaign=campaign).values_list("registration_id", flat=True)
    )
    assert (
        AuditEvent.objects.filter(
            purpose="register_campaign", action="update", target_type="register.callassignment"
        ).count()
        == 5
    )


def test_an_outcome_sent_twice_counts_once(agent_a):
    """A double click, or a browser retrying after a timeout, sends the same "not reached"
    twice: the second must not count another attempt (found by benchmarks/bench_campaign.py:
    people escalated to a home visit after two calls). Only the agent holding the call
    records its outcome."""
    person, other = registered(agent_a), registered(agent_a)
    campaign = campaigns.open_campaign(agent_a, "heatwave", "red", {SAINT_DIZIER})
    call = campaigns.next_call(agent_a, campaign)
    assert call.registration_id == person.pk
    campaigns.record_outcome(call, Outcome.NOT_REACHED, "", agent_a)
    with pytest.raises(RegisterError, match="déjà enregistré"):
        campaigns.record_outcome(call, Outcome.NOT_REACHED, "", agent_a)
    call.refresh_from_db()
    assert (call.attempts, call.escalated, call.agent_id) == (1, False, None)
    # a call nobody took is taken first ("Personne suivante"), not answered out of the blue
    untaken = CallAssignment.objects.get(campaign=campaign, registration=other)
    with pytest.raises(RegisterError, match="Personne suivante"):
        campaigns.record_outcome(untaken, Outcome.REACHED_FINE, "", agent_a)
    assert CallAssignment.objects.get(pk=untaken.pk).outcome == Outcome.PENDING
    updates = AuditEvent.objects.filter(
        purpose="register_campaign", action="update", target_type="register.callassignment"
    )
    assert updates.count() == 1


def test_access_erasure_and_merge(agent_a):
    r = registered(agent_a, emergency_contacts="Anne")
    data = retention.access_request(r.person, agent_a)
    assert data["register"][0]["emergency_contacts"] == "Anne"
    retention.erase(r.person, None)
    r.refresh_from_db()
    assert r.removed_at is not None and r.emergency_contacts == "" and r.anonymised_at


def test_the_worker_schedules_the_nightly_removal_once(agent_a, worker):
    from django_tasks_db.models import DBTaskResult

    from maillage.care.register import tasks

    now = timezone.now()
    stale = registered(agent_a)
    Registration.objects.filter(pk=stale.pk).update(confirmed_at=now - dt.timedelta(days=500))
    assert tasks.ensure_scheduled(now) is True
    assert tasks.ensure_scheduled(now) is False  # one waiting run is enough
    waiting = DBTaskResult.objects.get(task_path=tasks.remove_unconfirmed_daily.module_path)
    assert timezone.localtime(waiting.run_after).time() == tasks.RUN_AT
    DBTaskResult.objects.filter(pk=waiting.pk).update(run_after=now - dt.timedelta(minutes=1))
    worker()
    stale.refresh_from_db()
    assert stale.removal_reason == RemovalReason.NOT_CONFIRMED


def test_a_merge_of_two_registered_persons_keeps_one_active_registration(agent_a):
    from maillage.care.people import identity
    from maillage.care.people.models import PossibleDuplicate

    first = _register(agent_a)
    second = _register(agent_a, traits={**TRAITS, "birth_name": "Zorgbellin"})  # a typo
    pair = PossibleDuplicate.objects.get()
    admin = make_user("admin.fusion", Role.ADMINISTRATOR)
    kept = identity.merge(admin, pair.pk, first.person_id)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.person_id == second.person_id == kept.pk
    assert first.removed_at is None and second.removal_reason == RemovalReason.MERGED


def test_the_attending_gp_knows_of_the_registration_only_when_the_person_agreed(agent_a):
    from maillage.accounts.models import Profile
    from maillage.directory.models import Practitioner

    doctor = Practitioner.objects.create(family_name="GP", given_name="Test", source="manual")
    other = Practitioner.objects.create(family_name="Autre", given_name="Test", source="manual")
    gp = make_user("gp-registre", Role.PROFESSIONAL)
    Profile.objects.filter(user=gp).update(practitioner=doctor)
    gp.refresh_from_db()
    agreed = registered(agent_a, share_with_professionals=True)
    refused = registered(agent_a)
    for r in (agreed, refused):
        Person.objects.filter(pk=r.person_id).update(attending_doctor=doctor)
    assert registrations.shared_with(gp, Person.objects.get(pk=agreed.person_id))
    assert not registrations.shared_with(gp, Person.objects.get(pk=refused.person_id))
    Person.objects.filter(pk=agreed.person_id).update(attending_doctor=other)
    assert not registrations.shared_with(gp, Person.objects.get(pk=agreed.person_id))
    assert not can_access(gp, agreed, "view")  # never the details
