""" "Signaler une erreur": anyone reports an error on an entry; it becomes a proposal that a
coordinator reviews; nothing changes before, a GET writes nothing, pro-only fields stay out."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from maillage.accounts.models import AuditEvent, Profile, Role
from maillage.directory import review
from maillage.directory.changes import ChangeProposal
from maillage.directory.models import Organization, PractitionerRole


@pytest.fixture
def http() -> Client:
    return Client(HTTP_HOST="127.0.0.1")


@pytest.fixture
def org(demo_db) -> Organization:
    return Organization.objects.filter(commune__code="52121").order_by("pk").first()


@pytest.fixture
def coordinator(demo_db):
    user = get_user_model().objects.create_user("coord.signal", password="Un-mot-de-passe-42")
    Profile.objects.create(user=user, role=Role.COORDINATOR)
    return user


def _browser_data(http: Client, url: str, **changes: str) -> dict[str, str]:
    """What a browser submits: every field with its shown value, then the visitor's changes."""
    from django.forms import CheckboxInput

    data: dict[str, str] = {}
    for _, form in http.get(url).context["forms"]:
        for bound in form:
            value = bound.value()
            if isinstance(bound.field.widget, CheckboxInput):
                if value:
                    data[bound.html_name] = "on"
            else:
                data[bound.html_name] = "" if value is None else str(value)
    return {**data, **changes}


def _state() -> tuple[int, int]:
    return ChangeProposal.objects.count(), AuditEvent.objects.count()


def test_every_entry_page_links_to_the_report_form(http, org):
    role = PractitionerRole.objects.filter(active=True, location__isnull=False).first()
    for url, target in [
        (f"/annuaire/structure/{org.pk}/", f"/annuaire/signaler/organization/{org.pk}/"),
        (f"/annuaire/professionnel/{role.pk}/", f"/annuaire/signaler/role/{role.pk}/"),
        (f"/annuaire/lieu/{role.location_id}/", f"/annuaire/signaler/location/{role.location_id}/"),
    ]:
        html = http.get(url).content.decode()
        assert f'href="{target}"' in html, url


def test_the_form_offers_public_fields_only_and_a_get_writes_nothing(http, org):
    before = _state()
    page = http.get(f"/annuaire/signaler/organization/{org.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Téléphone" in html and "mssante" not in html and "notes_pro" not in html
    assert _state() == before


def test_a_correction_waits_for_a_coordinator_then_is_published(http, org, coordinator):
    old_phone = org.phone
    url = f"/annuaire/signaler/organization/{org.pk}/"
    data = _browser_data(http, url, comment="Nouveau standard")
    data[f"organization{org.pk}-phone"] = "0325445566"
    response = http.post(url, data)
    assert response.status_code == 200 and 'data-testid="report-sent"' in response.content.decode()
    proposal = ChangeProposal.objects.get(target_type="organization", target_id=org.pk)
    assert proposal.changes == {"phone": "03 25 44 55 66"}
    assert proposal.proposed_by.username == review.PUBLIC_REPORTER
    assert not proposal.proposed_by.is_active and not proposal.proposed_by.has_usable_password()
    org.refresh_from_db()
    assert org.phone == old_phone  # nothing changes before the review
    review.publish(coordinator, proposal)
    org.refresh_from_db()
    assert org.phone == "03 25 44 55 66"


def test_a_comment_alone_is_a_proposal_that_changes_nothing(http, org, coordinator):
    verified = org.verified_on
    url = f"/annuaire/signaler/organization/{org.pk}/"
    http.post(url, _browser_data(http, url, comment="Fermé depuis mars"))
    proposal = ChangeProposal.objects.get(target_type="organization", target_id=org.pk)
    assert proposal.changes == {} and proposal.comment == "Fermé depuis mars"
    review.publish(coordinator, proposal)
    org.refresh_from_db()
    assert org.verified_on == verified


@pytest.mark.parametrize(
    "data, message",
    [
        ({}, "rien n&#x27;a été envoyé"),
        ({"phone": "03 25"}, "pas un numéro de téléphone valide"),
    ],
)
def test_bad_reports_are_refused_in_french_and_write_nothing(http, org, data, message):
    url = f"/annuaire/signaler/organization/{org.pk}/"
    posted = _browser_data(http, url)
    posted.update({f"organization{org.pk}-{k}": v for k, v in data.items()})
    before = _state()
    response = http.post(url, posted)
    assert response.status_code == 400 and message in response.content.decode()
    assert _state() == before


def test_a_robot_filling_the_hidden_field_writes_nothing(http, org):
    before = _state()
    response = http.post(
        f"/annuaire/signaler/organization/{org.pk}/",
        {"comment": "Achetez", "site_web_confirmation": "http://spam.example"},
    )
    assert response.status_code == 200 and _state() == before


def test_unknown_types_and_entries_are_404(http, org):
    assert http.get(f"/annuaire/signaler/practitioner/{org.pk}/").status_code == 404
    assert http.get("/annuaire/signaler/organization/999999999/").status_code == 404
