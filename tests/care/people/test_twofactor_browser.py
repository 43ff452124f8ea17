"""Two-factor enrolment and login in a real browser against ``maillage serve``: a nurse enrols
at her first login and types her code at the next; an administrator is asked when he opens a
care page, then erases a person's data. Screenshots (desktop and 390 px) go to ``tmp_path``."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import pytest
from django_otp.oath import TOTP

PASSWORD = "Demo-mot-de-passe-2026"


def _maillage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "maillage.cli", *args], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _login(page, username: str) -> None:
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")  # logged out: the one form
    page.wait_for_load_state()


def _code_from_page(page, drift: int = 0) -> str:
    """What the nurse's phone would show: computed from the key printed on the page."""
    b32 = page.locator("#otp-secret").inner_text().replace(" ", "")
    key = base64.b32decode(b32 + "=" * (-len(b32) % 8))
    return f"{TOTP(key, drift=drift).token():06d}", key


def _shots(page, tmp_path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(tmp_path / f"{name}-phone.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{name} scrolls sideways on a phone ({width} px)"
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.browser
def test_totp_enrolment_and_login(served_app, chromium, tmp_path):
    url, env = served_app.url, served_app.env
    for role, username in (("nurse", "inf.demo"), ("administrator", "dpo.demo")):
        _maillage(env, "manage", "create_demo_user", "--role", role, "--username", username,
                  "--password", PASSWORD)  # fmt: skip
    out = _maillage(
        env, "manage", "shell", "-c",
        "import json; from maillage.care.people.services import create_person; "
        "p = create_person(None, 'test', birth_name='Zorgbelin', first_names='Philomène', "
        "birth_date='1941-02-17', sex='F', phone='01 99 00 12 34', synthetic=True); "
        "print(json.dumps({'pk': p.pk}))",
    )  # fmt: skip
    person = json.loads(out.strip().splitlines()[-1])["pk"]

    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))

    # 1. the nurse's first login: the enrolment page, QR code and key
    page.goto(url + "/connexion/?next=/pro/")
    _login(page, "inf.demo")
    assert "/compte/double-authentification/" in page.url
    assert page.locator(".otp-qr svg").count() == 1
    _shots(page, tmp_path, "enrolment")
    code, key = _code_from_page(page)
    page.fill("#id_code", "000000" if code != "000000" else "111111")
    page.click("button:has-text('Activer')")
    page.wait_for_load_state()
    assert "ne correspond pas" in page.locator("[role=alert]").inner_text()
    assert errors == [
        "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    ]
    errors.clear()  # the wrong code answered 400, as it should
    code, _ = _code_from_page(page)  # the same key is shown again
    page.fill("#id_code", code)
    page.click("button:has-text('Activer')")
    page.wait_for_load_state()
    assert page.url.startswith(url + "/pro/")  # the professional space

    # 2. next login: the code page
    page.click("header .nav-logout button")
    page.wait_for_load_state()
    page.goto(url + "/connexion/?next=/pro/")
    _login(page, "inf.demo")
    assert "/connexion/code/" in page.url
    _shots(page, tmp_path, "code")
    page.fill("#id_code", f"{TOTP(key, drift=1).token():06d}")  # the next step: no replay
    page.click("button:has-text('Valider')")
    page.wait_for_load_state()
    assert page.url.startswith(url + "/pro/")  # the professional space
    page.click("header .nav-logout button")
    page.wait_for_load_state()

    # 3. an administrator is asked when he opens a care page, then erases a person's data
    page.goto(url + f"/soins/personnes/{person}/effacer/")
    _login(page, "dpo.demo")
    assert "/compte/double-authentification/" in page.url
    code, _ = _code_from_page(page)
    page.fill("#id_code", code)
    page.click("button:has-text('Activer')")
    page.wait_for_load_state()
    assert page.url == url + f"/soins/personnes/{person}/effacer/"
    _shots(page, tmp_path, "erase")
    page.click("text=Effacer définitivement")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Données effacées"
    assert "Zorgbelin" not in page.content()
    assert not errors, errors
