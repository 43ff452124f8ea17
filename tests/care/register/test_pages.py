"""The register's pages: the agent's register (form with consent, French errors, 400, nothing
written), confirm and remove as POST within the agent's communes only, campaigns and their
dashboard (figures only for a coordinator), the call screen, the prefect's CSV (audited)."""

from __future__ import annotations

from django.test import Client

from maillage.accounts.models import AuditEvent, Role
from maillage.care.people.models import Person
from maillage.care.register.models import CallAssignment, Campaign, Registration
from maillage.care.register.services.summary import campaign_figures

from .conftest import CHAUMONT, FORM, HOST, SAINT_DIZIER, make_user, registered, verified_client


def text(response) -> str:
    return response.content.decode()


def test_the_pages_need_a_role_and_the_second_factor(agent_a, coordinator):
    assert Client(**HOST).get("/soins/registre/").status_code == 302
    unverified = Client(**HOST)
    unverified.force_login(agent_a)
    assert "double-authentification" in unverified.get("/soins/registre/")["Location"]
    for role in (Role.OPERATOR, Role.NURSE, Role.PROFESSIONAL, Role.HOSPITAL):
        other = verified_client(make_user(f"u-{role}", role, [SAINT_DIZIER]))
        for url in ("/soins/registre/", "/soins/registre/campagnes/",
                    "/soins/registre/liste-prefet.csv"):  # fmt: skip
            assert other.get(url).status_code == 403, (role, url)
    # a coordinator: no register page, no call screen
    client = verified_client(coordinator)
    assert client.get("/soins/registre/").status_code == 403


def test_an_agent_registers_a_person_and_sees_only_their_communes(agent_a, agent_b):
    theirs = registered(agent_b, CHAUMONT)
    client = verified_client(agent_a)
    done = client.post("/soins/registre/", FORM)
    assert done.status_code == 302, text(done)
    mine = Registration.objects.exclude(pk=theirs.pk).get()
    assert mine.commune_id == SAINT_DIZIER and mine.living_alone and mine.power_devices
    assert mine.person.consents.get().purpose == "register"
    page = client.get("/soins/registre/")
    assert page.status_code == 200
    assert "ZORGBELIN" in text(page) and theirs.person.birth_name not in text(page)
    listed = AuditEvent.objects.filter(
        user=agent_a, action="view", target_type="register.registration"
    ).last()
    assert listed.details["ids"] == [mine.pk]


def test_bad_registrations_answer_400_in_french_and_write_nothing(agent_a):
    client = verified_client(agent_a)
    for change, field, message in [
        ({"consent": ""}, "consent", "accord de la personne est nécessaire"),
        ({"commune": CHAUMONT}, "commune", "Choix inconnu"),  # not one of the agent's
        ({"commune": "99999"}, "commune", "Choix inconnu"),
        ({"phone": "12"}, "phone", "numéro de téléphone valide"),
        ({"birth_date": "01/01/2990"}, "birth_date", "dans le futur"),
        ({"mobility": "vole"}, "mobility", "Choix inconnu"),
    ]:
        response = client.post("/soins/registre/", {**FORM, **change})
        assert response.status_code == 400, change
        assert f'data-testid="error-{field}"' in text(response) and message in text(response)
    assert not Registration.objects.exists() and not Person.objects.exists()


def test_confirm_and_remove_are_posts_within_the_agents_communes(agent_a, agent_b):
    mine, theirs = registered(agent_a), registered(agent_b, CHAUMONT)
    client = verified_client(agent_a)
    assert client.get(f"/soins/registre/{mine.pk}/retirer/").status_code == 405
    for url in (f"/soins/registre/{theirs.pk}/confirmer/", f"/soins/registre/{theirs.pk}/retirer/"):
        assert client.post(url).status_code == 404
    theirs.refresh_from_db()
    assert theirs.removed_at is None
    assert client.post(f"/soins/registre/{mine.pk}/retirer/").status_code == 302
    mine.refresh_from_db()
    assert mine.removed_at is not None and mine.removal_reason == "request"


def test_a_campaign_from_opening_to_the_call_screen(agent_a, agent_b, coordinator):
    person = registered(agent_a, emergency_contacts="Sa fille Anne")
    registered(agent_b, CHAUMONT)
    boss = verified_client(coordinator)
    bad = boss.post("/soins/registre/campagnes/", {"kind": "heatwave", "level": "red",
                                                    "max_attempts": "3"})  # fmt: skip
    assert bad.status_code == 400 and "Choisissez au moins une commune" in text(bad)
    opened = boss.post(
        "/soins/registre/campagnes/",
        {"kind": "heatwave", "level": "red", "communes": [SAINT_DIZIER], "max_attempts": "3"},
    )
    campaign = Campaign.objects.get()
    assert opened["Location"] == f"/soins/registre/campagnes/{campaign.pk}/"
    dashboard = boss.get(opened["Location"])
    assert dashboard.status_code == 200 and 'data-testid="fig-people">1<' in text(dashboard)
    assert person.person.birth_name not in text(dashboard)  # a coordinator: figures only
    assert boss.post(f"/soins/registre/campagnes/{campaign.pk}/appel/").status_code == 403

    agent = verified_client(agent_a)
    screen = agent.get(f"/soins/registre/campagnes/{campaign.pk}/appel/")
    assert 'data-testid="next-call"' in text(screen)
    assert not CallAssignment.objects.filter(agent__isnull=False).exists()  # a GET takes nobody
    agent.post(f"/soins/registre/campagnes/{campaign.pk}/appel/")
    screen = agent.get(f"/soins/registre/campagnes/{campaign.pk}/appel/")
    assert person.person.birth_name in text(screen) and "Sa fille Anne" in text(screen)
    assert "01 99 00" in text(screen)
    call = CallAssignment.objects.get()
    # the agent of Chaumont neither sees the campaign nor records its calls
    other = verified_client(agent_b)
    assert other.get(f"/soins/registre/campagnes/{campaign.pk}/").status_code == 404
    url = f"/soins/registre/campagnes/{campaign.pk}/appel/{call.pk}/"
    assert other.post(url, {"outcome": "reached_fine"}).status_code == 404
    first = agent.post(url, {"outcome": "not_reached"}, follow=True)
    assert "Résultat enregistré." in text(first)
    again = agent.post(url, {"outcome": "not_reached"}, follow=True)  # a double click
    assert "Résultat enregistré." not in text(again) and "déjà enregistré" in text(again)
    call.refresh_from_db()
    assert call.attempts == 1
    agent.post(f"/soins/registre/campagnes/{campaign.pk}/appel/")
    agent.post(url, {"outcome": "needs_help", "note": "besoin d'eau"})
    call.refresh_from_db()
    assert call.outcome == "needs_help" and call.last_note == "besoin d'eau"
    assert call.attempts == 1
    dashboard = boss.get(f"/soins/registre/campagnes/{campaign.pk}/")
    assert 'data-testid="fig-needs_help">1<' in text(dashboard)
    assert campaign_figures(campaign)["needs_help"] == 1


def test_the_prefects_list_is_for_coordinators_in_their_territory_and_audited(
    agent_a, agent_b, coordinator
):
    mine = registered(agent_a)
    outside = registered(None, "52060")  # not in the coordinator's territory
    assert verified_client(agent_a).get("/soins/registre/liste-prefet.csv").status_code == 403
    response = verified_client(coordinator).get("/soins/registre/liste-prefet.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = response.content.decode("utf-8-sig")
    assert mine.person.birth_name in body and outside.person.birth_name not in body
    assert "synthétique" in body
    event = AuditEvent.objects.get(user=coordinator, action="export")
    assert event.purpose == "register_prefect" and event.details["ids"] == [mine.pk]


def test_an_administrator_registers_in_any_commune_of_the_default_territory(demo_db):
    admin = verified_client(make_user("admin-registre", Role.ADMINISTRATOR))
    page = admin.get("/soins/registre/")
    assert page.status_code == 200 and f'value="{SAINT_DIZIER}"' in text(page)
    assert admin.post("/soins/registre/", {**FORM, "commune": CHAUMONT}).status_code == 302
    assert Registration.objects.get().commune_id == CHAUMONT
