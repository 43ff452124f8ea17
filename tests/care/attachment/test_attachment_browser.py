"""The waiting list in a real browser against ``maillage serve`` on a fresh data folder with the
synthetic demo waiting list: a person fills the form on a 390 px wide page, first with mistakes
(French messages beside the fields), then right, and gets a reference; the coordinator (TOTP)
sees the dashboard count her (desktop and 390 px, no sideways scroll of the page). Screenshots
go to ``tmp_path`` and, for looking at them, to ``/tmp/maillage-attachment-shots``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ..helpers import manage_shell, totp_code

PASSWORD = "Demo-mot-de-passe-2026"
SHOTS = Path("/tmp/maillage-attachment-shots")
SETUP = """
import json
from django.contrib.auth.models import User
from django_otp.plugins.otp_totp.models import TOTPDevice
from maillage.accounts.models import Profile, Role
from maillage.demo.attachment import load_demo_waiting_list
from maillage.territory.models import Territory
report = load_demo_waiting_list()
user = User.objects.create_user("coordination.test", password=PASSWORD)
Profile.objects.create(user=user, role=Role.COORDINATOR)
user.profile.territories.add(Territory.objects.get(slug="liste-attente-haute-marne-demo"))
device = TOTPDevice.objects.create(user=user, name="telephone", confirmed=True)
print(json.dumps({"key": device.key, "requests": report.counts["demandes"]}))
"""


def _shot(page, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / name), full_page=True)
    SHOTS.mkdir(exist_ok=True)
    shutil.copy(tmp_path / name, SHOTS / name)


def _no_sideways_scroll(page, name: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{name} scrolls sideways ({width} px)"


@pytest.mark.browser
def test_a_person_asks_for_a_gp_on_a_phone_and_the_dashboard_counts_her(
    served_app, chromium, tmp_path
):
    info = manage_shell(served_app.env, SETUP.replace("PASSWORD", repr(PASSWORD)))
    assert info["requests"] >= 35
    coordinator = chromium.new_page(viewport={"width": 1280, "height": 900})
    board = f"{served_app.url}/soins/medecin-traitant/tableau-de-bord/"
    coordinator.goto(board)
    coordinator.fill("#id_username", "coordination.test")
    coordinator.fill("#id_password", PASSWORD)
    coordinator.click("form button[type=submit]")
    coordinator.wait_for_load_state()
    assert "/connexion/code/" in coordinator.url
    coordinator.fill("#id_code", totp_code(info["key"]))
    with coordinator.expect_navigation():
        coordinator.click("main form button[type=submit]")
    assert coordinator.url.startswith(board)
    before = int(coordinator.locator("[data-key=people]").inner_text())
    assert before > 0 and coordinator.locator("[data-testid=map] svg").count() == 1
    assert "données synthétiques" in coordinator.locator("main").inner_text().lower()

    page = chromium.new_page(viewport={"width": 390, "height": 844})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto(f"{served_app.url}/medecin-traitant/")
    assert "médecin traitant" in page.locator("h1").inner_text()
    _no_sideways_scroll(page, "form")
    page.fill("#id_birth_name", "Zorgbelin")
    page.fill("#id_first_names", "Philomène")
    page.fill("#id_birth_date", "1941-02-17")
    page.check("input[name=sex][value=F]")
    page.fill("#id_phone", "12")
    page.fill("#id_commune", "Nullepart")
    page.check("#id_ald")
    page.click("[data-testid=submit]")
    page.wait_for_selector("[data-testid=error-phone]")
    assert "numéro de téléphone valide" in page.locator("[data-testid=error-phone]").inner_text()
    assert "Commune inconnue" in page.locator("[data-testid=error-commune]").inner_text()
    assert "Votre accord est nécessaire" in page.locator("[data-testid=error-consent]").inner_text()
    _shot(page, tmp_path, "request-errors-phone.png")
    page.fill("#id_phone", "03 53 01 00 42")
    page.fill("#id_commune", "52100 Saint-Dizier")
    page.check("#id_consent")
    page.click("[data-testid=submit]")
    page.wait_for_selector("[data-testid=attachment-done]")
    reference = page.locator("[data-testid=reference]").inner_text()
    assert reference.startswith("MT-") and len(reference) == 11
    _no_sideways_scroll(page, "confirmation")
    _shot(page, tmp_path, "request-done-phone.png")
    # the form sent with mistakes answers 400 on purpose: the browser logs it, nothing else
    assert [e for e in errors if "status of 400" not in e] == []
    assert len(errors) == 1

    coordinator.reload()  # the dashboard moves
    assert int(coordinator.locator("[data-key=people]").inner_text()) == before + 1
    saint_dizier = coordinator.locator("table.by-commune tr[data-commune='52448']")
    assert saint_dizier.count() == 1
    _shot(coordinator, tmp_path, "dashboard-desktop.png")
    coordinator.select_option("#priorite", "haute")
    with coordinator.expect_navigation():
        coordinator.click("form.filters button")
    assert "priorité haute" in coordinator.locator("[data-testid=map-caption]").inner_text()
    coordinator.set_viewport_size({"width": 390, "height": 844})
    coordinator.goto(board)
    _no_sideways_scroll(coordinator, "dashboard")
    _shot(coordinator, tmp_path, "dashboard-390.png")
    with coordinator.expect_download() as download:
        coordinator.click("[data-testid=csv]")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert f"Personnes en attente;{before + 1}" in text and "DONNÉES SYNTHÉTIQUES" in text
