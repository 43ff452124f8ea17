"""Login with Pro Santé Connect against a real local OpenID provider (tests/accounts/oidc_provider).

The flow goes through Django's test client for maillage's side and real HTTP for the provider's:
the client follows the redirect to the provider's ``/auth``, which answers with a code on the
callback; maillage then calls the provider's token, userinfo and JWKS endpoints itself.
"""

from __future__ import annotations

import html
import os
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.test import Client

from maillage.accounts import psc
from maillage.accounts.models import AuditEvent, Profile, Role
from maillage.directory.models import Practitioner, Source

from .oidc_provider import LocalOpenIDProvider, psc_claims

RPPS = "10003461033"
HOST = {"HTTP_HOST": "127.0.0.1"}


@pytest.fixture
def op():
    provider = LocalOpenIDProvider().start()
    yield provider
    provider.stop()


@pytest.fixture
def psc_on(settings, op):
    settings.MAILLAGE_PSC_ISSUER = op.issuer
    settings.MAILLAGE_PSC_CLIENT_ID = op.client_id
    settings.MAILLAGE_PSC_CLIENT_SECRET = op.client_secret
    psc.forget_metadata()
    yield op
    psc.forget_metadata()


@pytest.fixture
def practitioner(demo_db):
    return Practitioner.objects.create(
        rpps=RPPS, family_name="Martin", given_name="Camille", source=Source.MANUAL
    )


def start(client: Client, next_url: str = "") -> str:
    """maillage's redirect to the provider (its URL)."""
    response = client.get("/connexion/psc/" + (f"?next={next_url}" if next_url else ""), **HOST)
    assert response.status_code == 302, response.status_code
    return response["Location"]


def provider_answer(authorize_url: str) -> str:
    """What the provider sends the browser back to: the callback path and query."""
    answer = requests.get(authorize_url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    assert back.path == "/connexion/psc/retour/"
    return f"{back.path}?{back.query}"


def psc_login(client: Client, next_url: str = ""):
    return client.get(provider_answer(start(client, next_url)), **HOST)


def logged_in_user(client: Client):
    user_id = client.session.get("_auth_user_id")
    return get_user_model().objects.get(pk=user_id) if user_id else None


def login_page_messages(client: Client) -> str:
    page = client.get("/connexion/", **HOST)
    assert page.status_code == 200
    return html.unescape(page.content.decode())


# --- the flow ---------------------------------------------------------------------------------


def test_first_login_creates_the_professional_linked_to_the_rpps_entry(psc_on, practitioner):
    op = psc_on
    client = Client()
    authorize = start(client, "/pro/ma-fiche/")
    asked = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    assert authorize.startswith(op.base + "/auth?")
    assert asked["scope"] == "openid scope_all"
    assert asked["acr_values"] == "eidas1"
    assert asked["client_id"] == op.client_id
    assert asked["code_challenge_method"] == "S256" and asked["nonce"] and asked["state"]

    response = client.get(provider_answer(authorize), **HOST)
    assert response.status_code == 302
    assert response["Location"] == "/pro/ma-fiche/"
    user = logged_in_user(client)
    assert user is not None and user.username == f"psc-{RPPS}"
    assert (user.first_name, user.last_name) == ("Camille", "Martin")
    assert not user.has_usable_password()
    assert user.profile.role == Role.PROFESSIONAL
    assert user.profile.practitioner == practitioner
    assert client.session["auth_method"] == "psc"
    event = AuditEvent.objects.filter(action="login", user=user).get()
    assert event.details == {"method": "psc"}
    assert (event.target_type, event.target_id) == ("practitioner", str(practitioner.pk))
    # the token request carried the PKCE verifier and the client's secret
    assert op.token_requests[-1]["code_verifier"]
    assert client.get("/pro/ma-fiche/", **HOST).status_code == 200

    # a second login finds the same account
    again = Client()
    assert psc_login(again).status_code == 302
    assert logged_in_user(again) == user
    assert get_user_model().objects.filter(username__startswith="psc-").count() == 1


def test_userinfo_as_plain_json_is_accepted_too(psc_on, practitioner):
    psc_on.userinfo_as_jwt = False
    client = Client()
    psc_login(client)
    assert logged_in_user(client).profile.practitioner == practitioner


def test_an_existing_professional_account_is_the_one_logged_in(psc_on, practitioner):
    User = get_user_model()
    existing = User.objects.create_user("dr.martin", password="Un-mot-de-passe-2026")
    Profile.objects.create(user=existing, role=Role.PROFESSIONAL, practitioner=practitioner)
    client = Client()
    psc_login(client)
    assert logged_in_user(client) == existing
    assert not User.objects.filter(username=f"psc-{RPPS}").exists()


def test_an_account_of_another_role_is_never_taken_over(psc_on, practitioner):
    User = get_user_model()
    coordinator = User.objects.create_user("coord.martin", password="Un-mot-de-passe-2026")
    Profile.objects.create(user=coordinator, role=Role.COORDINATOR, practitioner=practitioner)
    client = Client()
    psc_login(client)
    user = logged_in_user(client)
    assert user != coordinator and user.profile.role == Role.PROFESSIONAL
    coordinator.profile.refresh_from_db()
    assert coordinator.profile.role == Role.COORDINATOR

    # the PSC user name taken by an account of another role: refused, that account untouched
    Client().logout()
    user.profile.role = Role.COORDINATOR
    user.profile.practitioner = None
    user.profile.save()
    other = Client()
    psc_login(other)
    assert logged_in_user(other) is None
    assert "existe déjà pour ce numéro RPPS" in login_page_messages(other)
    user.profile.refresh_from_db()
    assert user.profile.role == Role.COORDINATOR


def test_an_rpps_unknown_to_the_directory_logs_nobody_in(psc_on, demo_db):
    psc_on.claims = psc_claims("19999999999")
    client = Client()
    response = psc_login(client)
    assert response.status_code == 302 and response["Location"] == "/connexion/"
    assert logged_in_user(client) is None
    page = login_page_messages(client)
    assert "Votre numéro RPPS 19999999999 ne correspond à aucune fiche" in page
    assert not get_user_model().objects.filter(username="psc-19999999999").exists()
    refused = AuditEvent.objects.get(action="login_refused")
    assert refused.details["reason"] == "unknown_rpps" and refused.user is None


def test_a_token_without_rpps_logs_nobody_in(psc_on, practitioner):
    psc_on.claims = psc_claims(None)
    client = Client()
    psc_login(client)
    assert logged_in_user(client) is None
    assert "n'a pas transmis de numéro RPPS" in login_page_messages(client)


def test_a_disabled_account_stays_out(psc_on, practitioner):
    client = Client()
    psc_login(client)
    user = logged_in_user(client)
    user.is_active = False
    user.save()
    again = Client()
    psc_login(again)
    assert logged_in_user(again) is None
    assert "Votre compte est désactivé" in login_page_messages(again)


# --- what must be refused ---------------------------------------------------------------------


def test_a_callback_with_a_state_this_session_did_not_issue_is_refused(psc_on, practitioner):
    victim, attacker = Client(), Client()
    start(victim)  # the victim's session has its own state
    callback = provider_answer(start(attacker))  # a valid code, for the attacker's state
    response = victim.get(callback, **HOST)
    assert response["Location"] == "/connexion/"
    assert logged_in_user(victim) is None
    assert "a expiré ou ne vient pas de ce site" in login_page_messages(victim)
    assert psc_on.token_requests == []  # the code was never exchanged

    # and a callback replayed after a successful login is refused as well
    attacker.get(callback, **HOST)
    assert logged_in_user(attacker) is not None
    replay = Client()
    start(replay)
    assert logged_in_user(replay) is None
    assert replay.get(callback, **HOST)["Location"] == "/connexion/"
    assert logged_in_user(replay) is None


@pytest.mark.parametrize(
    "knob",
    [
        pytest.param({"sign_with_wrong_key": {"id_token"}}, id="id-token-unpublished-key"),
        pytest.param({"sign_with_wrong_key": {"userinfo"}}, id="userinfo-unpublished-key"),
        pytest.param({"id_token_overrides": {"nonce": "un-autre-nonce"}}, id="wrong-nonce"),
        pytest.param({"id_token_overrides": {"aud": "un-autre-client"}}, id="wrong-audience"),
        pytest.param({"id_token_overrides": {"iss": "https://ailleurs.example"}}, id="wrong-iss"),
        pytest.param({"id_token_overrides": {"exp": 1_000_000_000}}, id="expired"),
        pytest.param({"id_token_overrides": {"acr": "eidas0"}}, id="lower-acr"),
        pytest.param({"userinfo_overrides": {"sub": "quelqu-un-d-autre"}}, id="userinfo-sub"),
    ],
)
def test_an_answer_that_does_not_verify_logs_nobody_in(psc_on, practitioner, knob):
    for name, value in knob.items():
        setattr(psc_on, name, value)
    client = Client()
    response = psc_login(client)
    assert response.status_code == 302 and response["Location"] == "/connexion/"
    assert logged_in_user(client) is None
    assert "n'a pas pu être vérifiée" in login_page_messages(client)
    assert "oidc_id_token" not in client.session  # no hint of a refused login kept
    assert not get_user_model().objects.filter(username=f"psc-{RPPS}").exists()
    assert AuditEvent.objects.get(action="login_refused").details["reason"] == "invalid"


def test_cancelling_at_the_provider_logs_nobody_in(psc_on, practitioner):
    client = Client()
    state = parse_qs(urlsplit(start(client)).query)["state"][0]
    response = client.get(f"/connexion/psc/retour/?error=access_denied&state={state}", **HOST)
    assert response["Location"] == "/connexion/"
    assert logged_in_user(client) is None
    assert "a été annulée" in login_page_messages(client)


def test_a_provider_that_does_not_answer_sends_back_to_the_password_form(settings, demo_db):
    settings.MAILLAGE_PSC_ISSUER = "http://127.0.0.1:9/auth/realms/esante-wallet"  # discard port
    settings.MAILLAGE_PSC_CLIENT_ID = "maillage"
    settings.MAILLAGE_PSC_CLIENT_SECRET = "secret"
    psc.forget_metadata()
    client = Client()
    response = client.get("/connexion/psc/", **HOST)
    assert response["Location"] == "/connexion/"
    assert "Pro Santé Connect ne répond pas" in login_page_messages(client)


# --- beside the password, and off by default ---------------------------------------------------


def test_the_button_shows_only_when_configured(settings, op, demo_db):
    settings.MAILLAGE_PSC_ISSUER = ""
    settings.MAILLAGE_PSC_CLIENT_ID = ""
    settings.MAILLAGE_PSC_CLIENT_SECRET = ""
    client = Client()
    page = client.get("/connexion/", **HOST).content.decode()
    assert "Pro Santé Connect" not in page and 'id="id_password"' in page
    assert client.get("/connexion/psc/", **HOST).status_code == 404
    assert client.get("/connexion/psc/retour/?code=x&state=y", **HOST).status_code == 404
    # half a configuration is off too
    settings.MAILLAGE_PSC_ISSUER = op.issuer
    settings.MAILLAGE_PSC_CLIENT_ID = op.client_id
    assert "Pro Santé Connect" not in client.get("/connexion/", **HOST).content.decode()
    assert client.get("/connexion/psc/", **HOST).status_code == 404

    settings.MAILLAGE_PSC_CLIENT_SECRET = op.client_secret
    page = client.get("/connexion/?next=/pro/", **HOST).content.decode()
    assert "Se connecter avec <strong>Pro Santé Connect</strong>" in page
    assert 'href="/connexion/psc/?next=/pro/"' in page
    assert 'id="id_password"' in page  # the password form stays


def test_password_login_stays_for_other_users(psc_on, demo_db):
    User = get_user_model()
    coordinator = User.objects.create_user("coord.mdp", password="Un-mot-de-passe-2026")
    Profile.objects.create(user=coordinator, role=Role.COORDINATOR)
    client = Client()
    response = client.post(
        "/connexion/", {"username": "coord.mdp", "password": "Un-mot-de-passe-2026"}, **HOST
    )
    assert response.status_code == 302
    assert logged_in_user(client) == coordinator
    assert "auth_method" not in client.session
    assert psc_on.authorize_requests == []


def test_logout_after_a_psc_login_closes_the_psc_session(psc_on, practitioner):
    client = Client()
    psc_login(client)
    id_token = client.session["oidc_id_token"]
    response = client.post("/deconnexion/", **HOST)
    assert logged_in_user(client) is None
    target = urlsplit(response["Location"])
    assert (
        f"{target.scheme}://{target.netloc}{target.path}"
        == psc_on.discovery()["end_session_endpoint"]
    )
    params = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert params["id_token_hint"] == id_token
    assert params["post_logout_redirect_uri"] == "http://127.0.0.1/"

    # a password user's logout stays local
    User = get_user_model()
    User.objects.create_user("coord.mdp", password="Un-mot-de-passe-2026")
    client.post("/connexion/", {"username": "coord.mdp", "password": "Un-mot-de-passe-2026"},
                **HOST)  # fmt: skip
    assert client.post("/deconnexion/", **HOST)["Location"] == "/"


def test_check_deploy_reports_a_half_configuration_in_french(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILLAGE_PSC_")}
    env.update(
        MAILLAGE_HOME=str(tmp_path / "home"),
        MAILLAGE_PSC_ISSUER="https://auth.esante.gouv.fr/auth/realms/esante-wallet",
        MAILLAGE_PSC_CLIENT_ID="annuaire-cpts",
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-m", "maillage.cli", "check", "--deploy"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Pro Santé Connect est à moitié configuré : il manque MAILLAGE_PSC_CLIENT_SECRET" in (
        result.stderr
    )
    assert "MAILLAGE_PSC_CLIENT_ID" not in result.stderr.split("il manque")[1].split(".")[0]


def test_a_discovery_document_of_another_issuer_is_not_believed(settings, op, demo_db):
    settings.MAILLAGE_PSC_ISSUER = "https://auth.esante.gouv.fr/auth/realms/esante-wallet"
    settings.MAILLAGE_PSC_DISCOVERY_URL = op.issuer + "/.well-known/openid-configuration"
    settings.MAILLAGE_PSC_CLIENT_ID = op.client_id
    settings.MAILLAGE_PSC_CLIENT_SECRET = op.client_secret
    psc.forget_metadata()
    client = Client()
    assert client.get("/connexion/psc/", **HOST)["Location"] == "/connexion/"
    assert "Pro Santé Connect ne répond pas" in login_page_messages(client)
    assert op.authorize_requests == []
    psc.forget_metadata()


def test_check_deploy_refuses_a_plain_http_issuer(settings):
    from maillage.web.checks import deployment_checks

    settings.MAILLAGE_PSC_ISSUER = "http://auth.esante.gouv.fr/auth/realms/esante-wallet"
    settings.MAILLAGE_PSC_CLIENT_ID = "annuaire-cpts"
    settings.MAILLAGE_PSC_CLIENT_SECRET = "secret"
    found = {e.id: e.msg for e in deployment_checks()}
    assert "n'est pas une adresse https://" in found["maillage.E021"]
    assert "maillage.E020" not in found  # complete, only not HTTPS
    settings.MAILLAGE_PSC_ISSUER = "https://auth.esante.gouv.fr/auth/realms/esante-wallet"
    assert not {"maillage.E020", "maillage.E021"} & {e.id for e in deployment_checks()}


def test_a_psc_login_is_the_second_factor_of_the_care_pages(psc_on, practitioner):
    from django.test import RequestFactory

    from maillage.care.people.views import check

    client = Client()
    psc_login(client)
    request = RequestFactory().get("/", **HOST)
    request.user, request.session = logged_in_user(client), client.session
    assert check(request) is None  # no TOTP asked after Pro Santé Connect
    request.session = Client().session  # the same user after a password login: code asked
    assert check(request)["Location"].startswith("/compte/double-authentification/")
