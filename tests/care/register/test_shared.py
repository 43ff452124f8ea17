"""What the CPTS's carers learn of the register: on the GP's page (/pro/mes-patients/) and
the nurse's day (/soins/journee/…), "Inscrite au registre de <commune>" beside a patient of
theirs who agreed, and nothing else of the registration; no flag without that consent, for a
request not validated or a removed registration, for another GP or for the phone operator;
what is revealed is audited."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from maillage.accounts.models import AuditEvent, Profile, Role
from maillage.care.register.models import Registration
from maillage.care.register.services import registrations
from maillage.care.scheduling.services import attendance
from maillage.directory.models import Location, Practitioner, PractitionerRole

from ..scheduling.conftest import schedule as schedule  # the fixtures
from ..scheduling.conftest import site as site
from ..scheduling.staff_fixtures import PERSON, book_today
from .conftest import PASSWORD, SAINT_DIZIER, make_user, verified_client

OTHER = {**PERSON, "birth_name": "Brindejonc", "first_names": "Aristide", "sex": "M",
         "phone": "03 53 01 00 03"}  # fmt: skip
SECRETS = ("7 rue Secrète", "Fils Secretin", "oxygène nocturne", "concentrateur Zéphyr")
FLAG = "Inscrite au registre de Saint-Dizier"


def gp_role(name: str) -> PractitionerRole:
    doctor = Practitioner.objects.create(
        family_name=name, given_name="Test", source="manual", synthetic=True
    )
    return PractitionerRole.objects.create(
        practitioner=doctor, location=Location.objects.filter(commune_id="52448").first(),
        profession_code="10", specialty_code="SM54", source="manual", synthetic=True,
    )  # fmt: skip


def gp_user(username: str, role: PractitionerRole) -> User:
    user = User.objects.create_user(username, password=PASSWORD)
    Profile.objects.create(user=user, role=Role.PROFESSIONAL, practitioner=role.practitioner)
    return user


def register(agent: User, traits: dict, share: bool) -> Registration:
    traits = {k: v for k, v in traits.items() if k not in ("commune_id", "synthetic")}
    return registrations.register_person(
        agent, traits=traits, commune_id=SAINT_DIZIER, registered_by="agent", consent=True,
        synthetic=True,
        details={"address": SECRETS[0], "emergency_contacts": SECRETS[1],
                 "vulnerability_notes": SECRETS[2], "power_devices": True,
                 "power_devices_detail": SECRETS[3], "share_with_professionals": share},
    )  # fmt: skip


@pytest.fixture
def world(schedule, agent_a):
    nurse = make_user("infirmiere-registre", Role.NURSE)
    operator = make_user("operateur-registre", Role.OPERATOR)
    schedule.site.staff.add(nurse, operator)
    role_a, role_b = gp_role("Alpha"), gp_role("Bravo")
    agreed_booking = book_today(schedule, has_gp=True, gp=role_a, minutes=5)
    refused_booking = book_today(schedule, OTHER, has_gp=True, gp=role_a, minutes=40)
    for booking in (agreed_booking, refused_booking):
        attendance.mark(booking, "honoured", nurse)
    agreed = register(agent_a, PERSON, share=True)
    refused = register(agent_a, OTHER, share=False)
    assert agreed.person_id == agreed_booking.person_id  # the same person (exact match)
    assert refused.person_id == refused_booking.person_id
    return {
        "gp_a": gp_user("dr.alpha", role_a),
        "gp_b": gp_user("dr.bravo", role_b),
        "nurse": nurse,
        "operator": operator,
        "agreed": agreed,
        "refused": refused,
        "day": f"/soins/journee/{schedule.site.slug}/{timezone.localdate().isoformat()}/",
    }


def page(user: User, url: str) -> str:
    response = verified_client(user).get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def no_detail(body: str, registration: Registration) -> None:
    for secret in (*SECRETS, registration.reference):
        assert secret not in body, secret


def test_the_gp_sees_the_flag_of_a_patient_who_agreed_and_nothing_more(world):
    body = page(world["gp_a"], "/pro/mes-patients/")
    assert "ZORGBELIN" in body and "BRINDEJONC" in body  # both are their patients
    assert body.count('data-testid="care-flag"') == 1 and FLAG in body
    no_detail(body, world["agreed"])
    no_detail(body, world["refused"])
    event = AuditEvent.objects.get(purpose="register_shared", user=world["gp_a"])
    assert event.details == {"fields": ["registered"], "ids": [world["agreed"].pk]}


def test_another_gp_learns_nothing(world):
    body = page(world["gp_b"], "/pro/mes-patients/")
    assert "ZORGBELIN" not in body and 'data-testid="care-flag"' not in body
    person = world["agreed"].person
    assert registrations.shared_flags(world["gp_b"], [person]) == {}
    assert not AuditEvent.objects.filter(purpose="register_shared").exists()


def test_the_nurse_sees_the_flag_on_her_day_and_the_operator_does_not(world):
    body = page(world["nurse"], world["day"])
    assert body.count('data-testid="care-flag"') == 1 and FLAG in body
    no_detail(body, world["agreed"])
    body = page(world["operator"], world["day"])
    assert "ZORGBELIN" in body and 'data-testid="care-flag"' not in body
    for role in (Role.COORDINATOR, Role.CCAS_AGENT, Role.HOSPITAL, Role.ADMINISTRATOR):
        user = make_user(f"autre-{role}", role, [SAINT_DIZIER])
        assert registrations.shared_flags(user, [world["agreed"].person]) == {}, role


def test_no_flag_once_removed_or_while_only_requested(world, agent_a):
    registrations.remove(agent_a, world["agreed"])
    assert 'data-testid="care-flag"' not in page(world["gp_a"], "/pro/mes-patients/")
    # a request from the public page, agreeing, but not validated yet: still nothing
    person = world["agreed"].person
    registrations.request_registration(
        traits={"birth_name": person.birth_name, "first_names": person.first_names,
                "birth_date": person.birth_date, "sex": "F", "phone": "03 53 01 00 01"},
        commune_id=SAINT_DIZIER, registered_by="self", consent=True, synthetic=True,
        details={"address": "ailleurs", "share_with_professionals": True},
    )  # fmt: skip
    assert Registration.objects.pending().filter(person=person).exists()
    assert 'data-testid="care-flag"' not in page(world["gp_a"], "/pro/mes-patients/")
    assert 'data-testid="care-flag"' not in page(world["nurse"], world["day"])
