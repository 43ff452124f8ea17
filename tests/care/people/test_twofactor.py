"""Two-factor login (TOTP) for the roles that see personal data."""

from __future__ import annotations

import base64
import html
import re
import time

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from maillage.accounts.models import Role
from maillage.care.people.services import create_person

from .conftest import PASSWORD, TRAITS

HOST = {"HTTP_HOST": "127.0.0.1"}


def _login(client, username: str, next_url: str = ""):
    data = {"username": username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post("/connexion/", data, **HOST)


def _setup_form(page: str) -> tuple[bytes, str]:
    """The key shown on the enrolment page (as a person would type it) and the signed field."""
    secret = re.search(r'<code id="otp-secret">([A-Z2-7 ]+)</code>', page).group(1)
    b32 = secret.replace(" ", "")
    key = base64.b32decode(b32 + "=" * (-len(b32) % 8))
    setup = re.search(r'name="setup" value="([^"]+)"', page).group(1)
    return key, html.unescape(setup)


def _code(key: bytes, drift: int = 0) -> str:
    return f"{TOTP(key, drift=drift).token():06d}"


@pytest.fixture
def person(db):
    return create_person(None, "test", **TRAITS)


def test_a_nurse_enrols_at_first_login_then_types_her_code(client, make_user, person):
    make_user("infirmiere", Role.NURSE)
    care_page = f"/soins/personnes/{person.pk}/donnees.json"

    response = _login(client, "infirmiere", care_page)
    assert response.status_code == 302
    assert response["Location"].startswith("/compte/double-authentification/?next=")

    page = client.get(response["Location"], **HOST)
    assert page.status_code == 200
    text = page.content.decode()
    assert "<svg" in text and "Activer la double authentification" in text
    assert not TOTPDevice.objects.exists(), "a GET never writes"
    key, setup = _setup_form(text)

    wrong = client.post(
        "/compte/double-authentification/",
        {"setup": setup, "code": f"{(int(_code(key)) + 1) % 1000000:06d}", "next": care_page},
        **HOST,
    )
    assert wrong.status_code == 400
    assert "Ce code ne correspond pas" in html.unescape(wrong.content.decode())
    assert not TOTPDevice.objects.exists()
    tampered = client.post(
        "/compte/double-authentification/",
        {"setup": setup[:-2] + "xx", "code": _code(key), "next": care_page},
        **HOST,
    )
    assert tampered.status_code == 400 and not TOTPDevice.objects.exists()

    done = client.post(
        "/compte/double-authentification/",
        {"setup": setup, "code": _code(key), "next": care_page},
        **HOST,
    )
    assert done.status_code == 302 and done["Location"] == care_page
    device = TOTPDevice.objects.get()
    assert device.confirmed and bytes.fromhex(device.key) == key
    # past the guard: the page answers for the nurse's role (rights requests: administrators)
    assert client.get(care_page, **HOST).status_code == 403

    client.logout()
    response = _login(client, "infirmiere", care_page)
    assert response["Location"].startswith("/connexion/code/?next=")
    guarded = client.get(care_page, **HOST)
    assert guarded.status_code == 302 and guarded["Location"].startswith("/connexion/code/")
    wrong = client.post("/connexion/code/", {"code": _code(key, drift=5)}, **HOST)
    assert wrong.status_code == 400 and "Code incorrect" in wrong.content.decode()
    throttled = client.post("/connexion/code/", {"code": _code(key, drift=1)}, **HOST)
    assert throttled.status_code == 400 and "Trop d'essais" in html.unescape(
        throttled.content.decode()
    )
    time.sleep(1.1)  # django-otp doubles the wait after each failure: 1 s after the first
    again = client.post(
        "/connexion/code/", {"code": _code(key, drift=1), "next": care_page}, **HOST
    )
    assert again.status_code == 302 and again["Location"] == care_page
    assert client.get(care_page, **HOST).status_code == 403  # the guard passed


def test_a_coordinator_is_asked_only_on_care_pages(client, make_user, person):
    make_user("coord", Role.COORDINATOR)
    response = _login(client, "coord")
    assert response.status_code == 302 and response["Location"] == "/pro/"
    assert client.get("/pro/", **HOST).status_code == 200
    care = client.get(f"/soins/personnes/{person.pk}/donnees.json", **HOST)
    assert care.status_code == 302
    assert care["Location"].startswith("/compte/double-authentification/?next=")


def test_an_operator_cannot_skip_the_code(client, make_user, person):
    make_user("operatrice", Role.OPERATOR)
    _login(client, "operatrice")
    for url in (
        f"/soins/personnes/{person.pk}/donnees.json",
        f"/soins/personnes/{person.pk}/effacer/",
    ):
        response = client.get(url, **HOST)
        assert response.status_code == 302 and "double-authentification" in response["Location"]
    assert client.post(f"/soins/personnes/{person.pk}/effacer/", **HOST).status_code == 302
    person.refresh_from_db()
    assert person.birth_name == "ZORGBELIN"


def test_care_roles_start_on_their_own_pages(client, make_user):
    """Without a ``next``, an operator lands on the phone booking screen and a nurse on her
    day, and the navigation names that page (not the directory's professional space)."""
    for username, role, home, label in (
        ("operatrice", Role.OPERATOR, "/soins/operateur/", "Rendez-vous"),
        ("infirmiere", Role.NURSE, "/soins/journee/", "Ma journée"),
    ):
        client.logout()
        make_user(username, role)
        response = _login(client, username)
        assert "double-authentification" in response["Location"]
        page = client.get(response["Location"], **HOST).content.decode()
        key, setup = _setup_form(page)
        done = client.post(
            "/compte/double-authentification/", {"setup": setup, "code": _code(key)}, **HOST
        )
        assert done["Location"] == home, username
        nav = client.get("/annuaire/", **HOST).content.decode()
        assert f'href="{home}">{label}</a>' in nav
        assert ">Espace pro</a>" not in nav


def test_a_nurse_who_leaves_the_code_page_is_not_logged_in_elsewhere(client, make_user):
    """Without her code, a nurse reaches neither the professional space nor the public pages
    as a logged-in user: every page leads back to the enrolment (or code) page."""
    make_user("infirmiere", Role.NURSE)
    _login(client, "infirmiere")
    for url in ("/pro/", "/annuaire/", "/"):
        response = client.get(url, **HOST)
        assert response.status_code == 302, url
        assert "double-authentification" in response["Location"], url
    # the enrolment page itself and logging out stay reachable
    assert client.get("/compte/double-authentification/", **HOST).status_code == 200
    assert client.post("/deconnexion/", **HOST).status_code == 302
    assert client.get("/annuaire/", **HOST).status_code == 200


def test_pro_sante_connect_counts_as_the_second_factor(client, admin_user, person):
    client.force_login(admin_user)
    url = f"/soins/personnes/{person.pk}/donnees.json"
    assert client.get(url, **HOST).status_code == 302
    session = client.session
    session["auth_method"] = "psc"
    session.save()
    assert client.get(url, **HOST).status_code == 200


def test_anonymous_visitors_go_to_the_login_page(client, person):
    response = client.get(f"/soins/personnes/{person.pk}/donnees.json", **HOST)
    assert response.status_code == 302 and response["Location"].startswith("/connexion/?next=")


def test_the_code_page_never_sends_elsewhere(client, make_user):
    make_user("infirmiere", Role.NURSE)
    _login(client, "infirmiere")
    page = client.get("/compte/double-authentification/?next=https://ailleurs.example/", **HOST)
    key, setup = _setup_form(page.content.decode())
    done = client.post(
        "/compte/double-authentification/",
        {"setup": setup, "code": _code(key), "next": "https://ailleurs.example/"},
        **HOST,
    )
    assert done.status_code == 302 and done["Location"] == "/soins/journee/"  # her own page


def test_a_bad_code_format_is_a_french_message(client, make_user):
    make_user("infirmiere", Role.NURSE)
    _login(client, "infirmiere")
    page = client.get("/compte/double-authentification/", **HOST)
    _, setup = _setup_form(page.content.decode())
    response = client.post(
        "/compte/double-authentification/", {"setup": setup, "code": "abc"}, **HOST
    )
    assert response.status_code == 400
    assert "Le code fait 6 chiffres." in response.content.decode()


def test_administrators_remove_devices_without_seeing_their_secret(client, make_user):
    from django.contrib.auth.models import User

    nurse = make_user("infirmiere", Role.NURSE)
    device = TOTPDevice.objects.create(user=nurse, name="téléphone", confirmed=True)
    admin = User.objects.create_superuser("admin", password=PASSWORD)
    client.force_login(admin)
    page = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/", **HOST)
    assert page.status_code == 200 and "infirmiere" in page.content.decode()
    assert device.key not in page.content.decode()
    assert device.config_url.split("secret=")[1][:16] not in page.content.decode()
