"""A professional's change goes through review, in a real browser against ``maillage serve``.

The server runs on a fresh data folder as a new user starts it; accounts are created with the
``create_demo_user`` management command, as a demonstration would. Screenshots of the pages
(desktop and phone widths) are written to ``tmp_path`` for a person to look at.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

NEW_PHONE = "03 25 12 34 56"


def _maillage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "maillage.cli", *args], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _shell(env: dict, code: str) -> dict:
    """Run Python in the served database (``maillage manage shell -c``); returns its JSON."""
    out = _maillage(env, "manage", "shell", "-c", code)
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def served(served_app) -> tuple[str, dict]:
    return served_app.url, served_app.env


def _login(page, username: str, password: str) -> None:
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form button[type=submit]")
    page.wait_for_load_state()


@pytest.mark.browser
def test_proposal_published_by_coordinator(served, chromium, tmp_path):
    url, env = served
    entry = _shell(
        env,
        "import json; from maillage.directory.models import PractitionerRole as R; "
        "r = R.objects.filter(synthetic=True, location__isnull=False, active=True)"
        ".exclude(accepts_new_patients=True).exclude(location__phone='03 25 12 34 56')"
        ".order_by('pk').first(); "
        "print(json.dumps({'role': r.pk, 'practitioner': r.practitioner_id, "
        "'location': r.location_id, 'name': str(r.practitioner), "
        "'family': r.practitioner.family_name, 'given': r.practitioner.given_name, "
        "'commune': r.location.commune.name, 'cp': r.location.commune.postal_codes[:5]}))",
    )
    password = "Demo-mot-de-passe-2026"
    _maillage(env, "manage", "create_demo_user", "--role", "professional", "--username",
              "dr.demo", "--password", password, "--practitioner-id",
              str(entry["practitioner"]))  # fmt: skip
    _maillage(env, "manage", "create_demo_user", "--role", "coordinator", "--username",
              "coord.demo", "--password", password)  # fmt: skip

    browser = chromium
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))

    # 1. the professional logs in through the real login page and proposes a change
    page.goto(url + "/pro/ma-fiche/")
    assert "/connexion/" in page.url
    _login(page, "dr.demo", password)
    assert page.url.endswith("/pro/ma-fiche/")
    assert entry["name"] in page.locator("h1").inner_text()
    page.fill(f"#id_l{entry['location']}-phone", NEW_PHONE)
    page.select_option(f"#id_r{entry['role']}-accepts_new_patients", "true")
    page.fill("#id_comment", "Nouveau numéro, et je reprends des patients.")
    page.click("text=Proposer ces modifications")
    page.wait_for_load_state()
    assert "transmise au coordinateur" in page.locator(".messages").inner_text()
    assert page.locator("[data-testid=pending-proposal]").count() == 2
    page.screenshot(path=str(tmp_path / "ma-fiche.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(tmp_path / "ma-fiche-phone.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"Ma fiche scrolls sideways on a phone ({width} px)"
    page.set_viewport_size({"width": 1280, "height": 900})
    page.click("header .nav-logout button")
    page.wait_for_load_state()
    assert page.locator("header").get_by_text("Connexion").count() == 1

    # 2. the coordinator publishes it
    page.goto(url + "/pro/a-valider/")
    _login(page, "coord.demo", password)
    assert page.url.endswith("/pro/a-valider/")
    proposals = page.locator("[data-testid=proposal]")
    assert proposals.count() == 2
    assert NEW_PHONE in page.locator("table.diff ins").all_inner_texts()
    page.screenshot(path=str(tmp_path / "a-valider.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(tmp_path / "a-valider-phone.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"À valider scrolls sideways on a phone ({width} px)"
    page.set_viewport_size({"width": 1280, "height": 900})
    for _ in range(2):
        first = page.locator("[data-testid=proposal]").first
        first.locator("textarea").fill("Vérifié par téléphone.")
        first.locator("button[value=publish]").click()
        page.wait_for_load_state()
        assert "publiée" in page.locator(".messages").inner_text()
    assert page.locator("[data-testid=proposal]").count() == 0

    # 3. the coordinator imports a CPTS list: column mapping, then the review screen
    csv_path = tmp_path / "liste-cpts.csv"
    csv_path.write_text(
        "Nom;Prénom;Profession;Adresse;CP;Ville;Téléphone\n"
        f"{entry['family']};{entry['given']};Médecin généraliste;;{entry['cp']};"
        f"{entry['commune']};{NEW_PHONE}\n"
        "Nouvelle;Claire;Infirmière;2 place Diderot;52200;Langres;03 25 87 00 00\n"
        "Sans;Numéro;Infirmier;1 place Bel Air;52200;Langres;123\n",
        encoding="utf-8",
    )
    page.goto(url + "/pro/importer/")
    page.set_input_files("#id_file", str(csv_path))
    page.click("text=Analyser le fichier")
    page.wait_for_load_state()
    assert "/colonnes/" in page.url
    assert page.locator("#id_phone").input_value() == "Téléphone"
    assert page.locator("#id_postal_code").input_value() == "CP"
    page.screenshot(path=str(tmp_path / "import-colonnes.png"), full_page=True)
    page.click("text=Rechercher les doublons")
    page.wait_for_load_state()
    assert "doublon de" in page.locator("[data-testid=row-2]").inner_text()
    assert "nouveau" in page.locator("[data-testid=row-3]").inner_text()
    assert "erreur (ligne 4, colonne Téléphone" in page.locator("[data-testid=row-4]").inner_text()
    assert page.locator("button[value=apply]").is_disabled()
    page.screenshot(path=str(tmp_path / "import-examen.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(tmp_path / "import-examen-phone.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the import review scrolls sideways on a phone ({width} px)"
    page.set_viewport_size({"width": 1280, "height": 900})

    # 4. follow-up list and history of the entry
    page.goto(url + "/pro/a-relancer/")
    assert page.locator("[data-testid=count-practitioner] .count-badge").inner_text() != "0"
    page.screenshot(path=str(tmp_path / "a-relancer.png"), full_page=False)
    page.goto(url + f"/pro/historique/location/{entry['location']}/")
    assert "coord.demo" in page.locator("[data-testid=history]").inner_text()
    page.screenshot(path=str(tmp_path / "historique.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(tmp_path / "historique-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert errors == []

    # 5. the public entry shows the new values
    public = page.goto(url + f"/annuaire/professionnel/{entry['role']}/")
    assert public is not None and public.status == 200, public and public.status
    assert NEW_PHONE in page.content()

    stored = _shell(
        env,
        "import json; from maillage.directory.models import PractitionerRole as R; "
        f"r = R.objects.select_related('location').get(pk={entry['role']}); "
        "h = r.location.history.first(); "
        "print(json.dumps({'phone': r.location.phone, 'accepts': r.accepts_new_patients, "
        "'verified': str(r.location.verified_on), 'by': h.history_user.username}))",
    )
    assert stored["phone"] == NEW_PHONE
    assert stored["accepts"] is True
    assert stored["by"] == "coord.demo"
    assert stored["verified"] != "None"
