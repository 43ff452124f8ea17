"""Who may write what, on schemes (dispositifs) and services, through every write path.

Three people: the administrator, a coordinator of Haute-Marne (52) only, and the owner of the
Centre hospitalier de Chaumont (a professional linked to that organisation). Two of everything:
one in Haute-Marne, one in the Aube (10, Troyes). The write paths are the real ones, over HTTP:
a proposal (``PATCH`` on the JSON API), publishing it (JSON API and the review page), and
"still correct" on the follow-up page; plus the direct edit of ``review.edit``. A refusal is a
403 and leaves the entry as it was.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.test import Client

from maillage.accounts.models import Profile, Role
from maillage.directory import review
from maillage.directory.changes import ChangeProposal
from maillage.directory.models import HealthcareService, Organization, Scheme
from maillage.territory.services import save_territory

pytestmark = pytest.mark.django_db

CHAUMONT, TROYES = "52121", "10387"
CH_CHAUMONT_FINESS = "520000027"
NEW = "Description revue"


def _client(role: str, name: str, **links: Any) -> Client:
    user = get_user_model().objects.create_user(name, password="x-Un-Long-Mot-De-Passe-42")
    profile = Profile.objects.create(user=user, role=role)
    for relation, objects in links.items():
        getattr(profile, relation).add(*objects)
    client = Client()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def entries(demo_db) -> dict[str, Any]:
    """A service and two schemes in Haute-Marne, the same in the Aube."""
    org52 = Organization.objects.get(finess_et=CH_CHAUMONT_FINESS)
    org10 = Organization.objects.filter(commune_id=TROYES).first()
    assert org10 is not None and org10.commune.departement_id == "10"
    made = {"org52": org52, "org10": org10}
    for dep, org, commune in (("52", org52, CHAUMONT), ("10", org10, TROYES)):
        made[f"service{dep}"] = HealthcareService.objects.create(
            organization=org, name=f"Consultation test {dep}", source="manual"
        )
        # located by its commune
        made[f"scheme{dep}"] = Scheme.objects.create(
            slug=f"msp-test-{dep}", name=f"MSP test {dep}", kind="msp", commune_id=commune
        )
        # located only by the structure that carries it
        made[f"carried{dep}"] = Scheme.objects.create(
            slug=f"dac-test-{dep}", name=f"DAC test {dep}", kind="dac", organization=org
        )
    return made


@pytest.fixture
def admin() -> Client:
    return _client(Role.ADMINISTRATOR, "admin")


@pytest.fixture
def coordinator52() -> Client:
    return _client(Role.COORDINATOR, "coord52", territories=[save_territory("departement:52")])


@pytest.fixture
def owner(entries) -> Client:
    return _client(Role.PROFESSIONAL, "owner-ch", organizations=[entries["org52"]])


def _url(target: Any) -> str:
    if isinstance(target, Scheme):
        return f"/api/directory/schemes/{target.slug}"
    return f"/api/directory/services/{target.pk}"


def _propose(client: Client, target: Any) -> int:
    response = client.patch(
        _url(target), data=json.dumps({"description": NEW}), content_type="application/json"
    )
    return response.status_code


def _pending(target: Any) -> ChangeProposal:
    """A pending proposal on ``target``, made by an administrator of the platform."""
    staff = get_user_model().objects.create_user(f"staff-{target.pk}-{type(target).__name__}")
    Profile.objects.create(user=staff, role=Role.ADMINISTRATOR)
    return review.propose(staff, target, {"description": NEW})


def _publish_api(client: Client, target: Any) -> int:
    proposal = _pending(target)
    return client.post(f"/api/directory/proposals/{proposal.pk}/publish").status_code


def _publish_page(client: Client, target: Any) -> int:
    proposal = _pending(target)
    prefix = f"p{proposal.pk}"
    return client.post(
        f"/pro/a-valider/{proposal.pk}/", {f"{prefix}-decision": "publish", f"{prefix}-comment": ""}
    ).status_code


def _confirm_page(client: Client, target: Any) -> int:
    kind = "scheme" if isinstance(target, Scheme) else "service"
    return client.post(f"/pro/a-relancer/{kind}/{target.pk}/verifiee/").status_code


def _edit(client: Client, target: Any) -> int:
    try:
        review.edit(client.user, target, {"description": NEW})
    except PermissionDenied:
        return 403
    return 200


WRITE_PATHS = {
    "propose": (_propose, 202),
    "publish-api": (_publish_api, 200),
    "publish-page": (_publish_page, 302),
    "confirm-page": (_confirm_page, 302),
    "edit": (_edit, 200),
}
TARGETS = ("service", "scheme", "carried")


def _changed(target: Any) -> bool:
    target.refresh_from_db()
    return target.description == NEW or target.verified_on is not None


def _check(client: Client, path: str, target: Any, allowed: bool) -> None:
    write, ok = WRITE_PATHS[path]
    assert target.description != NEW and target.verified_on is None
    status = write(client, target)
    assert status == (ok if allowed else 403), (path, target, status)
    if path == "propose" or not allowed:
        assert not _changed(target), (path, target)
    else:
        assert _changed(target), (path, target)


@pytest.mark.parametrize("path", WRITE_PATHS)
@pytest.mark.parametrize("kind", TARGETS)
def test_coordinator_of_52_writes_in_52_only(coordinator52, entries, path, kind):
    _check(coordinator52, path, entries[f"{kind}52"], allowed=True)
    _check(coordinator52, path, entries[f"{kind}10"], allowed=False)


@pytest.mark.parametrize("path", WRITE_PATHS)
@pytest.mark.parametrize("kind", TARGETS)
def test_administrator_writes_everywhere(admin, entries, path, kind):
    _check(admin, path, entries[f"{kind}52"], allowed=True)
    _check(admin, path, entries[f"{kind}10"], allowed=True)


def test_owner_proposes_on_their_own_organisation_only(owner, entries):
    own, other = entries["org52"], entries["org10"]
    for org, status in ((own, 202), (other, 403)):
        response = owner.patch(
            f"/api/directory/organizations/{org.pk}",
            data=json.dumps({"website": "https://exemple.fr"}),
            content_type="application/json",
        )
        assert response.status_code == status, response.content
    # what the organisation runs (a service) or carries (a scheme) is theirs too; a scheme of
    # Chaumont that it does not carry is not, nor anything in the Aube
    assert _propose(owner, entries["service52"]) == 202
    assert _propose(owner, entries["carried52"]) == 202
    assert _propose(owner, entries["scheme52"]) == 403
    for kind in TARGETS:
        assert _propose(owner, entries[f"{kind}10"]) == 403, kind
    assert ChangeProposal.objects.filter(proposed_by=owner.user).count() == 3


@pytest.mark.parametrize("path", [p for p in WRITE_PATHS if p != "propose"])
def test_owner_neither_publishes_nor_edits(owner, entries, path):
    for kind in TARGETS:
        _check(owner, path, entries[f"{kind}52"], allowed=False)
