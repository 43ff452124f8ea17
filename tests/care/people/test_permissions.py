"""The one object-level check for personal data, filled by each care app."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from maillage.accounts.models import Role
from maillage.care.people import permissions
from maillage.care.people.models import Consent, Person
from maillage.care.people.permissions import can_access
from maillage.care.people.services import create_person, record_consent

from .conftest import TRAITS


def test_rules_decide_per_role_and_object(db, registries, make_user, visit_table):
    Visit = visit_table
    nurse = make_user("infirmiere", Role.NURSE)
    operator = make_user("operatrice", Role.OPERATOR)
    coordinator = make_user("coord", Role.COORDINATOR)
    person = create_person(None, "test", **TRAITS)
    mine = Visit.objects.create(person=person, at=timezone.now(), reason="a")
    other = Visit.objects.create(person=person, at=timezone.now(), reason="b")

    assert not can_access(nurse, mine, "view"), "a model without a rule is closed"

    def visits(user, role, obj, action):  # the nurse sees her visits; coordinators none
        if role == Role.NURSE:
            return obj.pk == mine.pk and action in ("view", "update")
        if role == Role.OPERATOR:
            return action in ("view", "create")
        return False

    permissions.register(Visit, visits)
    assert can_access(nurse, mine, "view") and can_access(nurse, mine, "update")
    assert not can_access(nurse, other, "view") and not can_access(nurse, mine, "delete")
    assert can_access(operator, other, "view") and not can_access(operator, other, "update")
    assert not can_access(coordinator, mine, "view"), "aggregates only"


def test_people_are_open_when_one_app_says_so(db, registries, make_user):
    nurse = make_user("infirmiere", Role.NURSE)
    person = create_person(None, "test", **TRAITS)
    assert not can_access(nurse, person, "view")
    permissions.register_person_rule(lambda user, role, obj, action: False)
    assert not can_access(nurse, person, "view")
    permissions.register_person_rule(lambda user, role, obj, action: role == Role.NURSE)
    assert can_access(nurse, person, "view")


def test_administrators_always_nobody_else_by_default(db, registries, make_user, admin_user):
    person = create_person(None, "test", **TRAITS)
    consent = record_consent(person, "teleconsultation", True, "web")
    no_role = make_user("sans-role", None)
    gone = make_user("parti", Role.NURSE, is_active=False)
    permissions.register_person_rule(lambda user, role, obj, action: True)
    permissions.register(Consent, lambda user, role, obj, action: True)
    for obj in (person, consent):
        assert can_access(admin_user, obj, "erase")
        assert not can_access(AnonymousUser(), obj, "view")
        assert not can_access(None, obj, "view")
        assert not can_access(no_role, obj, "view")
        assert not can_access(gone, obj, "view")


def test_an_unknown_action_is_a_bug(db, admin_user):
    with pytest.raises(ValueError):
        can_access(admin_user, Person(), "read")


def test_a_rule_on_a_parent_class_covers_subclasses(db, registries, make_user):
    nurse = make_user("infirmiere", Role.NURSE)
    permissions.register(Consent, lambda user, role, obj, action: action == "view")

    class SignedConsent(Consent):
        class Meta:
            proxy = True
            app_label = "people"

    try:
        assert can_access(nurse, SignedConsent(), "view")
        assert not can_access(nurse, SignedConsent(), "update")
    finally:
        from django.apps import apps

        apps.all_models["people"].pop("signedconsent", None)
        apps.clear_cache()
