"""The GP's page in a real browser against ``maillage serve``: the demo GP (``docteur.demo``,
with the demo's synthetic bookings addressed to them) logs in with a TOTP code, finds
"Mes patients" in the professional space's navigation, sees their patients (one sent as
médecin relais) and acknowledges a report. Screenshots (desktop and 390 px) go to
``tmp_path``."""

from __future__ import annotations

import pytest

from ..helpers import manage_shell, totp_code

SETUP = """
import json
from django_otp.plugins.otp_totp.models import TOTPDevice
from django.contrib.auth.models import User
from maillage.demo.accounts import PROFESSIONAL_USERNAME, ensure_demo_accounts
from maillage.demo.care import load_demo_gp_bookings
passwords = ensure_demo_accounts()
load_demo_gp_bookings()
user = User.objects.get(username=PROFESSIONAL_USERNAME)
device, _ = TOTPDevice.objects.get_or_create(user=user, name="telephone", confirmed=True)
print(json.dumps({"username": PROFESSIONAL_USERNAME, "password": passwords[PROFESSIONAL_USERNAME],
                  "key": device.key}))
"""


@pytest.mark.browser
def test_the_demo_gp_sees_their_patients_and_acknowledges_a_report(served_app, chromium, tmp_path):
    url, env = served_app.url, served_app.env
    info = manage_shell(env, SETUP)
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto(f"{url}/pro/")
    page.fill("#id_username", info["username"])
    page.fill("#id_password", info["password"])
    page.click("form button[type=submit]")
    page.wait_for_load_state()
    # an account with a TOTP device types its code right after the password
    assert "/connexion/code/" in page.url
    page.fill("#id_code", totp_code(info["key"]))
    with page.expect_navigation():
        page.click("main form button[type=submit]")  # not the header's logout button
    assert "/pro/ma-fiche/" in page.url
    # the professional space offers the page
    with page.expect_navigation():
        page.click("nav.pro-nav >> text=Mes patients")
    assert page.url.endswith("/pro/mes-patients/")
    assert page.locator("h1").inner_text() == "Mes patients vus par la CPTS"
    assert page.locator("nav.pro-nav a[aria-current=page]").inner_text() == "Mes patients"
    text = page.locator("main").inner_text()
    assert "VAUCOULEURS Odette" in text and "Médecin relais" in text
    assert "synthétique" in text
    assert page.locator("#a-venir ~ ol li.visit").count() == 2
    page.screenshot(path=str(tmp_path / "gp-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(tmp_path / "gp-390.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at 390 px ({width} px wide)"
    # acknowledge one report: the button goes, the card says received
    button = page.locator("button", has_text="J'ai reçu le compte rendu").first
    card_id = button.locator("xpath=ancestor::li").get_attribute("id")
    before = page.locator("button", has_text="J'ai reçu le compte rendu").count()
    with page.expect_navigation():
        button.click()
    assert "Réception du compte rendu confirmée." in page.locator(".messages").inner_text()
    assert page.locator("button", has_text="J'ai reçu le compte rendu").count() == before - 1
    assert "reçu le" in page.locator(f"#{card_id}").inner_text()
    assert not errors, errors
    print("screenshots:", tmp_path)
