"""The register in a real browser against ``maillage serve``: a CCAS agent of Saint-Dizier
logs in with a TOTP code, registers a person, opens a heatwave campaign, takes the call and
records the outcome; the dashboard counts it. Screenshots (desktop and 390 px) in ``tmp_path``."""

from __future__ import annotations

import pytest

from ..helpers import manage_shell, totp_code

PASSWORD = "Demo-mot-de-passe-2026"

SETUP = """
import json
from django.contrib.auth.models import User
from django_otp.plugins.otp_totp.models import TOTPDevice
from maillage.accounts.models import Profile, Role
from maillage.territory.models import Territory
territory = Territory.objects.create(slug="ccas-essai", name="CCAS essai", kind="commune")
territory.communes.set(["52448"])
user = User.objects.create_user("ccas.essai", password=PASSWORD)
Profile.objects.create(user=user, role=Role.CCAS_AGENT).territories.add(territory)
device = TOTPDevice.objects.create(user=user, name="telephone", confirmed=True)
print(json.dumps({"key": device.key}))
"""


@pytest.mark.browser
def test_an_agent_registers_a_person_and_calls_them_in_a_heatwave(served_app, chromium, tmp_path):
    url, env = served_app.url, served_app.env
    info = manage_shell(env, SETUP.replace("PASSWORD", repr(PASSWORD)))
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto(f"{url}/soins/registre/")
    page.fill("#id_username", "ccas.essai")
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state()
    assert "/connexion/code/" in page.url
    page.fill("#id_code", totp_code(info["key"]))
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert page.url.startswith(f"{url}/soins/registre/")

    form = page.locator("[data-testid=register-form]")
    form.locator("#id_birth_name").fill("Navigatrice")
    form.locator("#id_first_names").fill("Odile")
    form.locator("#id_birth_date").fill("1936-02-17")
    form.locator("input[name=sex][value=F]").check()
    form.locator("#id_phone").fill("01 99 00 20 01")
    form.locator("#id_commune").select_option("52448")
    form.locator("#id_address").fill("5 rue du Navigateur")
    form.locator("#id_emergency_contacts").fill("Son neveu, 01 99 00 20 02")
    form.locator("#id_living_alone").check()
    form.locator("#id_mobility").select_option("aid")
    form.locator("#id_registered_by").select_option("self")
    with page.expect_navigation():
        page.click("[data-testid=submit]")  # first without consent: refused in French
    assert "accord de la personne est nécessaire" in page.inner_text("#field-consent")
    assert errors == [
        "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    ]
    errors.clear()  # that 400 was the refused form's answer
    page.locator("#id_consent").check()
    with page.expect_navigation():
        page.click("[data-testid=submit]")
    assert "NAVIGATRICE Odile" in page.inner_text("[data-testid=register]")
    page.screenshot(path=str(tmp_path / "registre.png"), full_page=True)

    page.goto(f"{url}/soins/registre/campagnes/")
    page.locator("#id_kind").select_option("heatwave")
    page.locator("#id_level").select_option("red")
    page.locator("input[name=communes][value='52448']").check()
    with page.expect_navigation():
        page.click("[data-testid=open-campaign]")
    assert page.inner_text("[data-testid=fig-people]") == "1"
    with page.expect_navigation():
        page.click("[data-testid=go-call]")
    with page.expect_navigation():
        page.click("[data-testid=next-call]")
    call = page.inner_text("[data-testid=call]")
    assert "NAVIGATRICE Odile" in call and "01 99 00 20 01" in call and "neveu" in call
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(tmp_path / "appel-390.png"), full_page=True)
    with page.expect_navigation():
        page.click("[data-testid=outcome-reached_fine]")
    page.goto(page.url.replace("appel/", ""))
    assert page.inner_text("[data-testid=fig-reached_fine]") == "1"
    page.screenshot(path=str(tmp_path / "campagne-390.png"), full_page=True)
    assert not errors, errors


PUBLIC_SETUP = """
import json
from django.contrib.auth.models import User
from django_otp.plugins.otp_totp.models import TOTPDevice
from maillage.accounts.models import Profile, Role
from maillage.territory.models import Territory
territory, _ = Territory.objects.get_or_create(
    slug="ccas-public", defaults={"name": "CCAS public", "kind": "commune"})
territory.communes.set(["52448"])
user = User.objects.create_user("ccas.public", password=PASSWORD)
Profile.objects.create(user=user, role=Role.CCAS_AGENT).territories.add(territory)
device = TOTPDevice.objects.create(user=user, name="telephone", confirmed=True)
print(json.dumps({"key": device.key}))
"""


@pytest.mark.browser
def test_a_relative_asks_on_the_public_page_and_the_agent_validates(served_app, chromium, tmp_path):
    url, env = served_app.url, served_app.env
    info = manage_shell(env, PUBLIC_SETUP.replace("PASSWORD", repr(PASSWORD)))
    phone = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone.set_default_timeout(90_000)  # a loaded two-core machine: the served app may lag
    page = phone.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto(f"{url}/rendez-vous/")
    with page.expect_navigation():
        page.click("[data-testid=register-link]")
    assert page.url == f"{url}/registre/"
    assert "Saint-Dizier" in page.inner_text("[data-testid=register-communes]")
    form = page.locator("[data-testid=register-public-form]")
    form.locator("input[name=registered_by][value=relative]").check()
    form.locator("#id_requester_name").fill("Anne Publique")
    form.locator("#id_requester_phone").fill("01 99 00 30 02")
    form.locator("#id_birth_name").fill("Publique")
    form.locator("#id_first_names").fill("Germaine")
    form.locator("#id_birth_date").fill("1934-07-21")
    form.locator("input[name=sex][value=F]").check()
    form.locator("#id_commune").fill("52100 Saint-Dizier")
    form.locator("#id_address").fill("12 rue des Capucins, 3e étage")
    form.locator("#id_phone").fill("01 99 00 30 01")
    form.locator("#id_emergency_contacts").fill("Sa fille Anne, 01 99 00 30 02")
    form.locator("#id_living_alone").check()
    form.locator("#id_mobility").select_option("aid")
    form.locator("#id_share_with_professionals").check()
    page.screenshot(path=str(tmp_path / "public-form-390.png"), full_page=True)
    with page.expect_navigation():
        page.click("[data-testid=submit]")  # without consent: refused in French
    assert "accord de la personne est nécessaire" in page.inner_text("#field-consent")
    assert page.locator("#id_birth_name").input_value() == "Publique"  # nothing to retype
    page.screenshot(path=str(tmp_path / "public-error-390.png"), full_page=True)
    errors.clear()  # the refused form's 400
    page.locator("#id_consent").check()
    with page.expect_navigation():
        page.click("[data-testid=submit]")
    reference = page.inner_text("[data-testid=reference]")
    assert reference.startswith("RV-")
    assert "Saint-Dizier" in page.inner_text("[data-testid=register-done]")
    page.screenshot(path=str(tmp_path / "public-done-390.png"), full_page=True)
    assert not errors, errors
    phone.close()

    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(90_000)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto(f"{url}/soins/registre/")
    page.fill("#id_username", "ccas.public")
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state()
    page.fill("#id_code", totp_code(info["key"]))
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    request = page.locator("[data-testid=pending] li", has_text=reference)
    assert "PUBLIQUE Germaine" in request.inner_text() and "Anne Publique" in request.inner_text()
    page.screenshot(path=str(tmp_path / "agent-pending.png"), full_page=True)
    with page.expect_navigation():
        request.locator("button", has_text="Valider").click()
    assert "la personne est inscrite" in page.inner_text(".messages")
    assert "PUBLIQUE Germaine" in page.inner_text("[data-testid=register]")
    assert page.locator("[data-testid=pending] li", has_text=reference).count() == 0
    page.screenshot(path=str(tmp_path / "agent-validated.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(tmp_path / "agent-validated-390.png"), full_page=True)
    assert not errors, errors
