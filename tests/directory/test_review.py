"""The review service: proposals, publication, refusal, direct edits, follow-up list."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from maillage.accounts.models import AuditEvent, Profile, Role
from maillage.directory import review
from maillage.directory.changes import ChangeProposal
from maillage.directory.models import OpeningHours, Organization, Practitioner, PractitionerRole


def make_user(username: str, role: str, practitioner: Practitioner | None = None):
    user = get_user_model().objects.create_user(username, password="x-Secret-123")
    Profile.objects.create(user=user, role=role, practitioner=practitioner)
    return user


@pytest.fixture
def role(demo_db) -> PractitionerRole:
    return (
        PractitionerRole.objects.filter(synthetic=True, location__isnull=False)
        .select_related("practitioner", "location")
        .order_by("pk")
        .first()
    )


@pytest.fixture
def pro(role):
    return make_user("pro", Role.PROFESSIONAL, role.practitioner)


@pytest.fixture
def coordinator(demo_db):
    return make_user("coord", Role.COORDINATOR)


def test_editable_fields_exist_on_models():
    for target_type, names in review.EDITABLE_FIELDS.items():
        model = review.TARGET_MODELS[target_type]
        for name in names:
            if name != review.OPENING_HOURS:
                model._meta.get_field(name)  # raises FieldDoesNotExist on a typo
            assert review.field_label(target_type, name)


def test_propose_then_publish(role, pro, coordinator):
    location = role.location
    proposal = review.propose(
        pro, location, {"phone": "03 25 99 88 77", "mssante": "dr.x@medecin.mssante.fr"}, "nouveau"
    )
    assert proposal.status == ChangeProposal.Status.PENDING
    assert proposal.previous["phone"] == location.phone
    location.refresh_from_db()
    assert location.phone != "03 25 99 88 77"  # nothing written before review

    review.publish(coordinator, proposal, "vérifié par téléphone")
    proposal.refresh_from_db()
    location.refresh_from_db()
    assert proposal.status == ChangeProposal.Status.PUBLISHED
    assert proposal.reviewed_by == coordinator and proposal.review_comment
    assert location.phone == "03 25 99 88 77"
    assert location.mssante == "dr.x@medecin.mssante.fr"
    assert location.verified_on == timezone.localdate()
    last = location.history.first()
    assert last.history_user == coordinator
    assert last.phone == "03 25 99 88 77"
    delta = last.diff_against(last.prev_record)
    assert {"phone", "mssante", "verified_on"} <= set(delta.changed_fields)
    actions = set(
        AuditEvent.objects.filter(target_id=str(location.pk)).values_list("action", flat=True)
    )
    assert {"propose", "publish"} <= actions
    with pytest.raises(ValueError, match="déjà traitée"):
        review.publish(coordinator, proposal)


def test_role_proposal_stamps_the_practitioner(role, pro, coordinator):
    new = not role.accepts_new_patients
    proposal = review.propose(pro, role, {"accepts_new_patients": new})
    review.publish(coordinator, proposal)
    role.refresh_from_db()
    assert role.accepts_new_patients is new
    assert role.history.first().history_user == coordinator
    role.practitioner.refresh_from_db()
    assert role.practitioner.verified_on == timezone.localdate()
    # the search index follows at once (the public search filters on it)
    from maillage.directory.search.index import SearchEntry

    entry = SearchEntry.objects.get(kind="role", object_id=role.pk)
    assert entry.accepts_new_patients is new


def test_reject_keeps_entry(role, pro, coordinator):
    before = role.practitioner.languages
    proposal = review.propose(pro, role.practitioner, {"languages": "fr, EN, de"})
    assert proposal.changes == {"languages": "fr,en,de"}
    review.reject(coordinator, proposal, "langues non confirmées")
    proposal.refresh_from_db()
    role.practitioner.refresh_from_db()
    assert proposal.status == ChangeProposal.Status.REJECTED
    assert proposal.review_comment == "langues non confirmées"
    assert role.practitioner.languages == before
    assert AuditEvent.objects.filter(action="reject", user=coordinator).exists()


def test_permissions(role, pro, coordinator):
    other = PractitionerRole.objects.exclude(practitioner=role.practitioner).first()
    with pytest.raises(PermissionDenied):
        review.propose(pro, other.practitioner, {"languages": "fr"})
    assert AuditEvent.objects.filter(action="propose_denied", user=pro).exists()
    proposal = review.propose(pro, role, {"teleconsultation": not role.teleconsultation})
    with pytest.raises(PermissionDenied):
        review.publish(pro, proposal)
    with pytest.raises(PermissionDenied):
        review.reject(pro, proposal)
    with pytest.raises(PermissionDenied):
        review.edit(pro, role, {"teleconsultation": True})
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(PermissionDenied):
        review.propose(AnonymousUser(), role, {"teleconsultation": True})
    proposal.refresh_from_db()
    assert proposal.status == ChangeProposal.Status.PENDING


def test_bad_fields_and_values(role, pro):
    cases = [
        (role.practitioner, {"family_name": "Autre"}, "family_name", "non modifiable"),
        (role.practitioner, {"mssante": "pas une adresse"}, "mssante", "Messagerie sécurisée"),
        (role.location, {"phone": "appelez-moi"}, "phone", "Téléphone : « appelez-moi »"),
        (role.location, {"postal_code": "5200"}, "postal_code", "Code postal : « 5200 »"),
        (role.practitioner, {"languages": "français"}, "languages", "Langues parlées"),
    ]
    for target, changes, field, message in cases:
        with pytest.raises(review.InvalidField, match=message) as caught:
            review.propose(pro, target, changes)
        assert caught.value.field == field and f"({field})" not in str(caught.value)
    with pytest.raises(ValueError, match="ligne 2"):
        review.propose(pro, role.location, {"opening_hours": "lundi 8h-12h\nfoo 9h-10h"})
    with pytest.raises(ValueError, match="aucune modification"):
        review.propose(pro, role, {"teleconsultation": role.teleconsultation})
    assert not ChangeProposal.objects.filter(proposed_by=pro).exists()


def test_opening_hours_and_direct_edit(role, coordinator):
    location = role.location
    proposal = review.edit(
        coordinator, location, {"opening_hours": "lundi 08:30-12:00 14:00-19:00\nsam 9h-12h"}
    )
    assert proposal.status == ChangeProposal.Status.PUBLISHED
    hours = [str(h) for h in location.opening_hours.all()]
    assert hours == ["lundi 08:30–12:00", "lundi 14:00–19:00", "samedi 09:00–12:00"]
    location.refresh_from_db()
    assert location.verified_on == timezone.localdate()
    assert review.format_opening_hours(review.current_opening_hours(location)).startswith(
        "lundi 08:30-12:00 14:00-19:00"
    )
    # Hours are part of the entry's history: who replaced which slots, and why.
    before = OpeningHours.history.order_by("-history_id").values_list("history_id").first()[0]
    review.edit(coordinator, location, {"opening_hours": "lundi 09:00-12:00"}, "horaires d'été")
    records = list(
        OpeningHours.history.filter(location_id=location.pk, history_id__gt=before).order_by(
            "history_id"
        )
    )
    assert [(r.history_type, str(r.instance)) for r in records] == [
        ("-", "lundi 08:30–12:00"),
        ("-", "lundi 14:00–19:00"),
        ("-", "samedi 09:00–12:00"),
        ("+", "lundi 09:00–12:00"),
    ]
    assert {r.history_user for r in records} == {coordinator}
    assert records[-1].history_change_reason.startswith("modification directe n°")


def test_stale_entries(role, coordinator):
    org = Organization.objects.filter(commune__isnull=False).first()
    Organization.objects.filter(pk=org.pk).update(verified_on=review.months_ago(13))
    stale = review.stale_entries(12)
    assert set(stale) == set(review.VERIFIED_TYPES)
    assert stale["organization"].filter(pk=org.pk).exists()
    review.confirm(coordinator, org)
    assert not review.stale_entries(12)["organization"].filter(pk=org.pk).exists()
    assert review.stale_entries(0)["organization"].filter(pk=org.pk).exists() is False
    # territory filter: an organisation outside the territory is not listed
    from maillage.territory.models import Territory

    territory = Territory.objects.create(slug="t-test", name="T", kind="custom")
    territory.communes.add(role.location.commune)
    in_territory = review.stale_entries(12, territory=territory)
    assert in_territory["location"].filter(pk=role.location.pk).exists()
    assert all(o.commune_id == role.location.commune_id for o in in_territory["organization"][:50])


def test_months_ago():
    assert review.months_ago(12, dt.date(2024, 2, 29)) == dt.date(2023, 2, 28)
    assert review.months_ago(1, dt.date(2024, 3, 31)) == dt.date(2024, 2, 29)
    assert review.months_ago(18, dt.date(2024, 6, 15)) == dt.date(2022, 12, 15)


def test_every_review_write_path_is_scoped_to_the_coordinators_territories(demo_db):
    """A coordinator of the Aube cannot edit, confirm, publish or reject a Haute-Marne entry
    (the merge import has its own test in test_merge.py)."""
    from django.contrib.auth import get_user_model

    from maillage.accounts.models import Profile, Role
    from maillage.directory.models import Organization
    from maillage.territory.services import save_territory

    def coordinator(name: str, territory: str):
        user = get_user_model().objects.create_user(name, password="x-Secret-123")
        profile = Profile.objects.create(user=user, role=Role.COORDINATOR)
        profile.territories.add(save_territory(territory))
        return user

    hospital = Organization.objects.get(finess_et="520000027")  # Chaumont, Haute-Marne
    phone = hospital.phone
    aube, hm = coordinator("aube", "departement:10"), coordinator("hm", "departement:52")
    with pytest.raises(PermissionDenied):
        review.edit(aube, hospital, {"phone": "03 99 99 99 99"})
    with pytest.raises(PermissionDenied):
        review.confirm(aube, hospital)
    first = review.propose(hm, hospital, {"phone": "03 11 11 11 11"})
    with pytest.raises(PermissionDenied):
        review.publish(aube, first)
    with pytest.raises(PermissionDenied):
        review.reject(aube, first)
    hospital.refresh_from_db()
    assert hospital.phone == phone
    review.publish(hm, first)  # the right coordinator may
    hospital.refresh_from_db()
    assert hospital.phone == "03 11 11 11 11"
