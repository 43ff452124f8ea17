"""The public request for a médecin traitant in a real browser against ``maillage serve`` on a
fresh data folder: a person fills the form on a 390 px wide page, first with mistakes (French
messages beside the fields), then right, and gets a reference. Screenshots go to ``tmp_path``."""

from __future__ import annotations

import pytest


def _no_sideways_scroll(page, name: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{name} scrolls sideways ({width} px)"


@pytest.mark.browser
def test_a_person_asks_for_a_gp_on_a_phone(served_app, chromium, tmp_path):
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
    page.screenshot(path=str(tmp_path / "request-errors-phone.png"), full_page=True)
    page.fill("#id_phone", "03 53 01 00 42")
    page.fill("#id_commune", "52100 Saint-Dizier")
    page.check("#id_consent")
    page.click("[data-testid=submit]")
    page.wait_for_selector("[data-testid=attachment-done]")
    reference = page.locator("[data-testid=reference]").inner_text()
    assert reference.startswith("MT-") and len(reference) == 11
    _no_sideways_scroll(page, "confirmation")
    page.screenshot(path=str(tmp_path / "request-done-phone.png"), full_page=True)
    # the form sent with mistakes answers 400 on purpose: the browser logs it, nothing else
    assert [e for e in errors if "status of 400" not in e] == []
    assert len(errors) == 1
