"""Booking in a real browser against ``maillage serve`` on a fresh data folder (the demo rooms
of Clos Mortier and La Noue, their slots generated from today): a person books on a 390 px
wide page and gets the confirmation (the SMS file backend of the data folder holds it); the
CPTS's demo operator books another for a caller with the keyboard only. Screenshots (desktop
and 390 px) go to ``tmp_path``."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django_otp.oath import TOTP

ROOM = "teleconsultation-clos-mortier"


def _maillage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "maillage.cli", *args], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _sms(home: Path) -> list[str]:
    folder = home / "sms"
    return [p.read_text(encoding="utf-8") for p in folder.iterdir()] if folder.exists() else []


def _no_sideways_scroll(page, name: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{name} scrolls sideways ({width} px)"


def _page(browser, width: int, height: int):
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    return page, errors


@pytest.mark.browser
def test_a_person_books_on_a_phone_and_gets_a_confirmation(served_app, chromium, tmp_path):
    url, home = served_app.url, Path(served_app.env["MAILLAGE_HOME"])
    page, errors = _page(chromium, 390, 844)
    page.goto(f"{url}/rendez-vous/{ROOM}/")
    assert "Clos Mortier" in page.locator("h1").inner_text()
    slots = page.locator("[data-testid=slot]")
    assert slots.count() >= 5
    _no_sideways_scroll(page, "slots")
    page.screenshot(path=str(tmp_path / "slots-phone.png"), full_page=True)
    slots.first.click()
    page.wait_for_selector("[data-testid=booking-form]")
    page.fill("#id_birth_name", "Zorgbelin")
    page.fill("#id_first_names", "Philomène Adélaïde")
    page.fill("#id_birth_date", "17/02/1941")
    page.check("#id_sex_0")
    page.fill("#id_phone", "03 53 01 00 42")
    page.check("#id_has_gp_1")
    page.fill("#id_reason", "Toux sèche depuis trois jours")
    page.check("#id_consent_teleconsultation")
    _no_sideways_scroll(page, "form")
    page.screenshot(path=str(tmp_path / "form-phone.png"), full_page=True)
    # first a mistake: a child of 3 is refused on the birth date, in French
    page.fill("#id_birth_date", "01/01/" + str(time.localtime().tm_year - 3))
    page.click("[data-testid=submit]")
    error = page.locator("[data-testid=error-birth_date]")
    assert "à partir de 6 ans" in error.inner_text()
    page.screenshot(path=str(tmp_path / "error-phone.png"), full_page=True)
    page.fill("#id_birth_date", "17/02/1941")
    page.click("[data-testid=submit]")
    page.wait_for_selector("[data-testid=confirmed]")
    reference = page.locator("[data-testid=reference]").inner_text()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", reference)
    link = page.locator("[data-testid=private-link]").inner_text()
    assert "/rendez-vous/rdv/" in link
    _no_sideways_scroll(page, "confirmation")
    page.screenshot(path=str(tmp_path / "confirmation-phone.png"), full_page=True)
    [sms] = [s for s in _sms(home) if reference in s]
    assert "+33353010042" in sms and "Rendez-vous confirmé" in sms and "Toux" not in sms
    # desktop views of the same pages
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(tmp_path / "confirmation.png"), full_page=True)
    page.goto(f"{url}/rendez-vous/{ROOM}/")
    page.screenshot(path=str(tmp_path / "slots.png"), full_page=True)
    # the one error the browser saw: the 400 answer to the child's form
    assert errors == [
        "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    ]


def _tab_to(page, testid: str, limit: int = 40) -> None:
    """Press Tab until the element with ``testid`` (or the id) has the focus."""
    for _ in range(limit):
        focused = page.evaluate(
            "document.activeElement && (document.activeElement.dataset.testid"
            " || document.activeElement.id)"
        )
        if focused == testid:
            return
        page.keyboard.press("Tab")
    pytest.fail(f"{testid} never got the focus with Tab")


@pytest.mark.browser
def test_the_demo_operator_books_for_a_caller_with_the_keyboard_only(
    served_app, chromium, tmp_path
):
    url, env, home = served_app.url, served_app.env, Path(served_app.env["MAILLAGE_HOME"])
    passwords = json.loads(
        _maillage(
            env, "manage", "shell", "-c",
            "import json; from maillage.demo.accounts import ensure_demo_accounts; "
            "print(json.dumps(ensure_demo_accounts()))",
        ).strip().splitlines()[-1]
    )  # fmt: skip
    assert {"operateur.cpts", "infirmiere.cpts"} <= set(passwords)
    page, errors = _page(chromium, 1280, 900)
    page.goto(f"{url}/connexion/?next=/soins/operateur/")
    page.focus("#id_username")
    page.keyboard.type("operateur.cpts")
    page.keyboard.press("Tab")
    page.keyboard.type(passwords["operateur.cpts"])
    page.keyboard.press("Enter")
    page.wait_for_selector("#otp-secret")  # first login: the second factor is enrolled
    b32 = page.locator("#otp-secret").inner_text().replace(" ", "")
    key = base64.b32decode(b32 + "=" * (-len(b32) % 8))
    page.keyboard.type(f"{TOTP(key).token():06d}")  # the code field has the focus
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=slot-search]")
    assert page.locator("[data-testid=shortcuts]").is_visible()
    page.screenshot(path=str(tmp_path / "operator.png"), full_page=True)
    # search La Noue's slots with the keyboard: Alt+S picks the site, Enter searches
    page.keyboard.press("Alt+s")
    page.keyboard.type("Salle de téléconsultation de La")
    page.keyboard.press("Alt+j")  # the day field: Enter there sends the search
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "site=" in page.url
    focused = page.evaluate("document.activeElement.dataset.testid")
    assert focused == "op-slot", "the first free slot has the focus after a search"
    assert "La Noue" in page.evaluate("document.activeElement.title")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=operator-form]")
    assert page.evaluate("document.activeElement.id") == "id_birth_name"
    page.keyboard.type("Durand")
    page.keyboard.press("Tab")
    page.keyboard.type("Marcel Louis")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.type("05/09/1938")
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowRight")  # sex: the radio group, Masculin
    _tab_to(page, "id_phone")
    page.keyboard.type("03 53 01 00 51")
    _tab_to(page, "id_has_gp_0")
    page.keyboard.press("Space")  # has a médecin traitant: Oui
    _tab_to(page, "id_gp_label")
    page.keyboard.type("Dr Martin, Saint-Dizier")
    _tab_to(page, "id_reason")
    page.keyboard.type("Renouvellement d'ordonnance")
    _tab_to(page, "id_consent_teleconsultation")
    page.keyboard.press("Space")
    _tab_to(page, "id_consent_report")
    page.keyboard.press("Space")
    page.screenshot(path=str(tmp_path / "operator-form.png"), full_page=True)
    _tab_to(page, "submit")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=confirmed]")
    reference = page.locator("[data-testid=reference]").inner_text()
    assert "Par téléphone (operateur.cpts)" in page.locator(".facts").inner_text()
    page.screenshot(path=str(tmp_path / "operator-booked.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    _no_sideways_scroll(page, "operator booking")
    page.screenshot(path=str(tmp_path / "operator-booked-phone.png"), full_page=True)
    assert any(reference in s and "+33353010051" in s for s in _sms(home))
    # the caller's bookings: Alt+R back to the search, Alt+T the phone, Enter
    page.set_viewport_size({"width": 1280, "height": 900})
    page.keyboard.press("Alt+r")
    page.wait_for_selector("[data-testid=slot-search]")
    page.keyboard.press("Alt+t")
    page.keyboard.type("0353010051")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=caller-bookings]")
    assert reference in page.locator("[data-testid=caller-bookings]").inner_text()
    page.screenshot(path=str(tmp_path / "operator-callers.png"), full_page=True)
    assert errors == []
