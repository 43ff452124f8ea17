"""The one permission check: roles, own entries, coordinators' territories."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, User

from maillage.accounts.models import Profile, Role
from maillage.accounts.permissions import can
from maillage.directory.models import Organization, Practitioner
from maillage.territory.services import save_territory


def _user(name: str, role: str, **links) -> User:
    user = User.objects.create_user(name, password="x-Un-Long-Mot-De-Passe-42")
    profile = Profile.objects.create(user=user, role=role, **links)
    user.profile = profile
    return user


def test_anonymous_can_nothing(demo_db):
    for action in ("view_pro", "propose", "review", "edit", "admin"):
        assert not can(AnonymousUser(), action)


def test_professional_proposes_only_on_own_entry(demo_db):
    own, other = Practitioner.objects.filter(synthetic=True)[:2]
    pro = _user("pro", Role.PROFESSIONAL, practitioner=own)
    assert can(pro, "view_pro")
    assert can(pro, "propose", own)
    assert not can(pro, "propose", other)
    assert not can(pro, "review", own)


def test_coordinator_is_scoped_to_territories(demo_db):
    coordinator = _user("coord", Role.COORDINATOR)
    chaumont = Organization.objects.filter(commune_id="52121").first()
    troyes = Organization.objects.filter(commune_id="10387").first()
    assert can(coordinator, "review", troyes)  # no territory: the whole directory
    coordinator.profile.territories.add(save_territory("departement:52"))
    assert can(coordinator, "review", chaumont)
    assert not can(coordinator, "review", troyes)
    assert not can(coordinator, "admin")


def test_unknown_action_is_a_bug(demo_db):
    with pytest.raises(ValueError):
        can(AnonymousUser(), "delete")


@pytest.mark.parametrize(
    ("role", "home"),
    [
        (Role.OPERATOR, "/soins/operateur/"),
        (Role.HOSPITAL, "/soins/sorties/"),
        (Role.CCAS_AGENT, "/soins/registre/"),
        (Role.PROFESSIONAL, "/pro/"),
    ],
)
def test_each_role_starts_on_its_own_page(demo_db, role, home):
    from maillage.accounts.permissions import home_of

    assert home_of(_user(f"u-{role}", role))[0] == home
