# ruff: noqa: E501 - the CSV extract is kept as a hospital writes it
"""The hospital referent's import with its column mapping, in a real browser against
``maillage serve`` on a fresh data folder: the demo referent logs in with a TOTP code, uploads
a CSV extract whose columns have the hospital's own names, sees the mapping proposed, maps a
column wrongly (French errors with file, line and column; nothing imported), corrects it,
imports, then finds the delays by service on the indicators page. Screenshots in ``tmp_path``."""

from __future__ import annotations

import datetime as dt

import pytest

from ..helpers import manage_shell, totp_code

SETUP = """
import json
from django_otp.plugins.otp_totp.models import TOTPDevice
from django.contrib.auth.models import User
from maillage.demo.accounts import HOSPITAL_USERNAME, ensure_demo_accounts
passwords = ensure_demo_accounts()
user = User.objects.get(username=HOSPITAL_USERNAME)
device, _ = TOTPDevice.objects.get_or_create(user=user, name="telephone", confirmed=True)
print(json.dumps({"username": HOSPITAL_USERNAME, "password": passwords[HOSPITAL_USERNAME],
                  "key": device.key,
                  "hospitals": list(user.profile.organizations.values_list("name", flat=True))}))
"""

EXTRACT = """NDA;Nom patient;Prénom;Né(e) le;Sexe;Unité;Entrée;Sortie;Devenir;Envoi courrier;Canal
B-001;Zorgbelin;Philomène;17/02/1941;F;Cardiologie;{d1} 10:00;{d8} 11:00;Domicile;{d8} 15:00;MSSanté
B-002;Quertal;Anselme;03/11/1950;M;Cardiologie;{d0} 08:00;{d8} 19:30;EHPAD;{d11} 09:00;courrier
B-003;Vrillon;Odette;21/06/1938;F;Gériatrie;{d9} 09:00;{d12} 10:00;SSR;;
"""


def extract() -> tuple[str, str]:
    """The CSV, its stays in the last month (dates relative to today), and their month."""
    start = dt.date.today() - dt.timedelta(days=25)
    days = {f"d{n}": (start + dt.timedelta(days=n)).strftime("%d/%m/%Y") for n in range(13)}
    return EXTRACT.format(**days), (start + dt.timedelta(days=8)).strftime("%Y-%m")


@pytest.mark.browser
def test_the_referent_imports_a_csv_with_a_column_mapping(served_app, chromium, tmp_path):
    url, env = served_app.url, served_app.env
    info = manage_shell(env, SETUP)
    assert info["hospitals"], "the demo hospitals are not in the served directory"
    content, month = extract()
    upload = tmp_path / "sorties-mars.csv"
    upload.write_text(content, encoding="utf-8")
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: m.type == "error" and "status of 400" not in m.text
            and errors.append(m.text))  # fmt: skip
    page.goto(f"{url}/soins/sorties/import/")
    page.fill("#id_username", info["username"])
    page.fill("#id_password", info["password"])
    page.click("form button[type=submit]")
    page.wait_for_load_state()
    assert "/connexion/code/" in page.url
    page.fill("#id_code", totp_code(info["key"]))
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert page.url.endswith("/soins/sorties/import/"), page.url
    chosen = page.locator("#id_hospital option").nth(1).inner_text()
    page.select_option("#id_hospital", label=chosen)
    page.set_input_files("#id_file", str(upload))
    with page.expect_navigation():
        page.click("[data-testid=upload]")
    assert "NDA" in page.locator("[data-testid=columns]").inner_text()
    # the mapping is proposed from the column names
    assert page.locator("#id_birth_name").input_value() == "Nom patient"
    assert page.locator("#id_discharge_at").input_value() == "Sortie"
    assert page.locator("#id_letter_sent_at").input_value() == "Envoi courrier"
    page.screenshot(path=str(tmp_path / "mapping.png"), full_page=True)
    # a wrong choice: the birth date read from the discharge column
    page.select_option("#id_birth_date", "Sortie")
    page.select_option("#id_discharge_at", "Né(e) le")
    with page.expect_navigation():
        page.click("[data-testid=run-import]")
    problems = page.locator("[data-testid=import-errors]").inner_text()
    assert "Rien n'a été importé" in problems
    assert "sorties-mars.csv, ligne 2, colonne « Né(e) le »" in problems
    page.screenshot(path=str(tmp_path / "mapping-errors.png"), full_page=True)
    page.select_option("#id_birth_date", "Né(e) le")
    page.select_option("#id_discharge_at", "Sortie")
    with page.expect_navigation():
        page.click("[data-testid=run-import]")
    assert "3 créés, 0 modifiés, 0 inchangés" in page.locator("[data-testid=message]").inner_text()
    listed = page.locator("[data-testid=discharges]").inner_text()
    assert "ZORGBELIN Philomène" in listed and "non envoyée" in listed
    page.goto(f"{url}/soins/sorties/indicateurs/")
    # the chart first, then the hospitals; each hospital folded, its services, then the months
    chart = page.locator("[data-testid=trend-chart]")
    assert chart.count() == 1
    hospitals_table = page.locator("[data-testid=by-hospital]")
    assert chart.bounding_box()["y"] < hospitals_table.bounding_box()["y"]
    group = page.locator("[data-testid=hospital-services]", has_text=chosen.split(" (")[0])
    if group.get_attribute("open") is None:
        group.locator("summary").first.click()
    assert "Cardiologie\t2\t" in group.locator("[data-testid=services]").inner_text()
    months = group.locator("details.letters-months", has_text="Cardiologie")
    assert not months.locator("[data-testid=detail]").is_visible()  # folded until asked
    months.locator("summary").click()
    assert f"{month}\t2\t" in months.locator("[data-testid=detail]").inner_text()
    assert "Gériatrie" in group.locator("[data-testid=services]").inner_text()
    page.screenshot(path=str(tmp_path / "indicators.png"), full_page=True)
    height = page.evaluate("document.documentElement.scrollHeight")
    print("indicators page height at 1280 px:", height)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{url}/soins/sorties/indicateurs/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the indicators page scrolls sideways at 390 px ({width} px)"
    page.screenshot(path=str(tmp_path / "indicators-390.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{url}/soins/sorties/import/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the import page scrolls sideways at 390 px ({width} px)"
    assert not errors, errors
    print("screenshots:", tmp_path)
