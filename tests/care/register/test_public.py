"""The public request to be on a commune's register (``/registre/``, no account): a request
"to be validated" with a reference and the consent recorded (web), French refusals with
nothing written, the agents' validation or refusal within their communes, and duplicates by
identity traits proposed to the agent (join or merge), never silently."""

from __future__ import annotations

from django.test import Client

from maillage.accounts.models import AuditEvent, Role
from maillage.care.people.models import Consent, Person, PossibleDuplicate
from maillage.care.register.models import Registration
from maillage.care.register.services import campaigns, registrations
from maillage.care.register.services.summary import register_figures

from .conftest import CHAUMONT, HOST, SAINT_DIZIER, make_user, verified_client

PUBLIC = {
    "registered_by": "relative",
    "requester_name": "Anne Zorgbelin",
    "requester_phone": "01 99 00 00 43",
    "birth_name": "Zorgbelin",
    "first_names": "Philomène Adélaïde",
    "birth_date": "1936-02-17",
    "sex": "F",
    "phone": "01 99 00 00 42",
    "commune": "52100 Saint-Dizier",
    "address": "3 rue des Tilleuls, 2e étage",
    "emergency_contacts": "Sa fille Anne, 01 99 00 00 43",
    "living_alone": "on",
    "mobility": "aid",
    "power_devices": "on",
    "power_devices_detail": "concentrateur d'oxygène",
    "attending_doctor": "Dr Exemple",
    "share_with_professionals": "on",
    "consent": "on",
}


def text(response) -> str:
    return response.content.decode()


def public() -> Client:
    return Client(**HOST)


def test_the_page_needs_no_account_and_names_the_communes_keeping_a_register(agent_a):
    page = public().get("/registre/?commune=52448")
    assert page.status_code == 200
    assert 'data-testid="register-public-form"' in text(page)
    assert page.context["form"]["commune"].value() == "Saint-Dizier"
    assert "Saint-Dizier" in text(page) and "Chaumont" not in page.context["communes"]
    # the public booking page links to it
    assert 'href="/registre/"' in text(public().get("/rendez-vous/"))
    assert not Registration.objects.exists()  # a GET never writes


def test_a_relative_asks_and_the_request_waits_for_the_agents_validation(agent_a):
    done = public().post("/registre/", PUBLIC)
    assert done.status_code == 200, text(done)
    request = Registration.objects.get()
    assert request.pending and not request.active and request.validated_at is None
    assert request.reference.startswith("RV-") and request.reference in text(done)
    assert request.registered_by_kind == "relative" and request.requester_name == "Anne Zorgbelin"
    assert request.requester_phone == "+33199000043" and request.share_with_professionals
    assert request.power_devices and request.living_alone and request.mobility == "aid"
    consent = Consent.objects.get(person=request.person)
    assert (consent.purpose, consent.channel, consent.given) == ("register", "web", True)
    assert AuditEvent.objects.filter(
        user=None, action="create", target_type="register.registration", purpose="register"
    ).exists()
    # not on the register yet: no figure, no campaign call
    assert register_figures({SAINT_DIZIER}, request.created_at)["people"] == 0
    assert register_figures({SAINT_DIZIER}, request.created_at)["pending"] == 1
    campaign = campaigns.open_campaign(agent_a, "heatwave", "orange", {SAINT_DIZIER})
    assert not campaign.assignments.exists()

    client = verified_client(agent_a)
    page = client.get("/soins/registre/")
    assert f'data-testid="pending-{request.pk}"' in text(page)
    assert "Anne Zorgbelin" in text(page) and request.reference in text(page)
    assert client.get(f"/soins/registre/{request.pk}/valider/").status_code == 405
    assert client.post(f"/soins/registre/{request.pk}/valider/").status_code == 302
    request.refresh_from_db()
    assert request.active and request.validated_at is not None
    assert "ZORGBELIN" in text(client.get("/soins/registre/"))
    assert 'data-testid="no-pending"' in text(client.get("/soins/registre/"))


def test_an_agent_refuses_a_request_and_others_cannot_touch_it(agent_a, agent_b, coordinator):
    assert public().post("/registre/", PUBLIC).status_code == 200
    request = Registration.objects.get()
    # another commune's agent: not in their list, 404 on the decision
    other = verified_client(agent_b)
    assert f"pending-{request.pk}" not in text(other.get("/soins/registre/"))
    assert other.post(f"/soins/registre/{request.pk}/valider/").status_code == 404
    assert other.post(f"/soins/registre/{request.pk}/refuser/").status_code == 404
    for role in (Role.COORDINATOR, Role.NURSE, Role.OPERATOR, Role.PROFESSIONAL):
        if role == Role.COORDINATOR:
            user = coordinator
        else:
            user = make_user(f"u-{role}", role, [SAINT_DIZIER])
        assert (
            verified_client(user).post(f"/soins/registre/{request.pk}/valider/").status_code == 403
        ), role
    request.refresh_from_db()
    assert request.pending
    client = verified_client(agent_a)
    assert client.post(f"/soins/registre/{request.pk}/refuser/").status_code == 302
    request.refresh_from_db()
    assert request.removed_at is not None and request.removal_reason == "refused"
    # a decided request cannot be decided again
    again = client.post(f"/soins/registre/{request.pk}/valider/", follow=True)
    assert "déjà été traitée" in text(again)
    request.refresh_from_db()
    assert request.validated_at is None


def test_bad_requests_answer_400_in_french_and_write_nothing(agent_a):
    for change, where, message in [
        ({"commune": "Zzyzxville"}, "error-commune", "Commune inconnue"),
        ({"commune": "52121 Chaumont"}, "form-errors", "ne tient pas encore son registre"),
        ({"birth_date": "2990-01-01"}, "error-birth_date", "dans le futur"),
        ({"consent": ""}, "error-consent", "accord de la personne est nécessaire"),
        ({"requester_name": ""}, "error-requester_name", "Indiquez votre nom"),
        ({"requester_phone": "12"}, "error-requester_phone", "numéro de téléphone valide"),
        ({"registered_by": "mayor"}, "error-registered_by", "Choix inconnu"),
        ({"mobility": "vole"}, "error-mobility", "Choix inconnu"),
        ({"address": ""}, "error-address", "elle sert à une visite"),
        ({"website": "http://spam"}, "register-public-form", "Envoyer la demande"),  # a robot
    ]:
        response = public().post("/registre/", {**PUBLIC, **change})
        assert response.status_code == 400, change
        assert f'data-testid="{where}"' in text(response), change
        assert message in text(response), change
    assert not Registration.objects.exists() and not Person.objects.exists()
    assert not Consent.objects.exists()


def test_the_service_refuses_a_commune_without_agent_and_a_missing_consent(agent_a):
    base = {"traits": {"birth_name": "X", "first_names": "Y", "sex": "F",
                       "birth_date": "1940-01-01", "phone": "0199000001"},
            "details": {"address": "1 rue"}, "registered_by": "self"}  # fmt: skip
    for commune, consent, message in [
        ("99999", True, "Commune inconnue"),
        (CHAUMONT, True, "ne tient pas encore"),
        (SAINT_DIZIER, False, "Sans l'accord"),
    ]:
        try:
            registrations.request_registration(**base, commune_id=commune, consent=consent)
        except registrations.RegisterError as exc:
            assert message in str(exc)
        else:
            raise AssertionError(commune)
    assert not Person.objects.exists()


def real_registration(agent):
    """A registered person who is not synthetic (the public page never makes synthetic ones,
    and identity matching keeps the two apart)."""
    return registrations.register_person(
        agent, traits={"birth_name": "Quenouillard", "first_names": "Marthe", "sex": "F",
                       "birth_date": "1931-05-09", "phone": "01 99 00 00 11"},
        commune_id=SAINT_DIZIER, details={"address": "1 rue Haute"}, registered_by="agent",
        consent=True,
    )  # fmt: skip


def test_a_request_for_someone_already_registered_is_joined_by_the_agent(agent_a):
    existing = real_registration(agent_a)
    person = existing.person
    same = {**PUBLIC, "birth_name": person.birth_name, "first_names": person.first_names,
            "birth_date": person.birth_date.isoformat(), "phone": "01 99 00 77 77",
            "address": "nouvelle adresse"}  # fmt: skip
    assert public().post("/registre/", same).status_code == 200  # says nothing of the register
    request = Registration.objects.pending().get()
    assert request.person_id == person.pk  # the same person (exact match)
    person.refresh_from_db()
    assert person.phone != "+33199007777"  # an anonymous page never changes a stored contact
    client = verified_client(agent_a)
    page = text(client.get("/soins/registre/"))
    assert f'data-testid="already-{request.pk}"' in page and f"join-{request.pk}" in page
    refused = client.post(f"/soins/registre/{request.pk}/valider/", follow=True)
    assert "déjà inscrite au registre" in text(refused)
    assert client.post(f"/soins/registre/{request.pk}/joindre/").status_code == 302
    existing.refresh_from_db()
    request.refresh_from_db()
    assert existing.address == "nouvelle adresse" and existing.share_with_professionals
    assert request.removal_reason == "merged"
    assert Registration.objects.active().filter(person=person).count() == 1


def test_a_near_duplicate_is_proposed_as_a_merge_before_validation(agent_a):
    existing = real_registration(agent_a)
    person = existing.person
    typo = {
        **PUBLIC,
        "birth_name": person.birth_name[:-1] + "x",
        "first_names": person.first_names,
        "birth_date": person.birth_date.isoformat(),
    }
    assert public().post("/registre/", typo).status_code == 200
    request = Registration.objects.pending().get()
    assert request.person_id != person.pk
    pair = PossibleDuplicate.objects.get()
    client = verified_client(agent_a)
    page = text(client.get("/soins/registre/"))
    assert f'data-testid="near-{request.pk}"' in page
    assert f"/soins/personnes/doublons/{pair.pk}/" in page
    refused = client.post(f"/soins/registre/{request.pk}/valider/", follow=True)
    assert "Une personne proche est déjà connue" in text(refused)
    request.refresh_from_db()
    assert request.pending
    # the agent compares and merges (people's review page), keeping the registered person
    assert client.get(f"/soins/personnes/doublons/{pair.pk}/").status_code == 200
    merged = client.post(
        f"/soins/personnes/doublons/{pair.pk}/", {"decision": "merge", "keep": person.pk}
    )
    assert merged.status_code == 302, text(merged)
    request.refresh_from_db()
    assert request.person_id == person.pk and request.pending
    assert client.post(f"/soins/registre/{request.pk}/joindre/").status_code == 302
    assert Registration.objects.active().get().pk == existing.pk


def test_a_request_no_agent_answers_is_closed_after_90_days_then_anonymised(agent_a):
    import datetime as dt

    from django.utils import timezone

    from maillage.care.people import retention

    assert public().post("/registre/", PUBLIC).status_code == 200  # its reference, at once
    request = Registration.objects.get()
    assert request.pending
    now = timezone.now()
    assert registrations.remove_unconfirmed(now + dt.timedelta(days=89)) == 0
    assert registrations.remove_unconfirmed(now + dt.timedelta(days=91)) == 1
    request.refresh_from_db()
    assert request.removed_at is not None and not request.pending
    assert registrations.pending(agent_a, {SAINT_DIZIER}).count() == 0
    # past retention the request's data goes, as for any removed registration
    retention.anonymise_expired(now + dt.timedelta(days=91 + 400))
    request.refresh_from_db()
    assert "Tilleuls" not in (request.address or "")
