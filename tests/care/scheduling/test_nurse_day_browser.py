"""The nurse's day and the month's activity in a real browser against ``maillage serve``: the
nurse logs in with her TOTP code, sees today's booking, records the arrival and an outcome;
the activity page counts the act. Screenshots (desktop and 390 px) go to ``tmp_path``."""

from __future__ import annotations

import pytest

from ..helpers import manage_shell, totp_code

PASSWORD = "Demo-mot-de-passe-2026"

SETUP = """
import datetime as dt, json
from django.contrib.auth.models import User
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from maillage.accounts.models import Profile, Role
from maillage.care.scheduling.models import Schedule, Site, Slot
from maillage.care.scheduling.services.booking import book
from maillage.care.scheduling.services.generation import local_zone
site = Site.objects.get(slug="teleconsultation-clos-mortier")
user = User.objects.create_user("infirmiere.demo", password=PASSWORD)
Profile.objects.create(user=user, role=Role.NURSE)
site.staff.add(user)
device = TOTPDevice.objects.create(user=user, name="telephone", confirmed=True)
schedule = site.schedules.filter(active=True).first()
start = dt.datetime.combine(timezone.localdate(), dt.time(0, 5), local_zone())
slot = Slot.objects.create(schedule=schedule, start=start, end=start + dt.timedelta(minutes=30))
person = {"birth_name": "Quillebeuf", "first_names": "Armande", "birth_date": "1948-05-12",
          "sex": "F", "phone": "03 53 01 00 02", "synthetic": True}
booked = book(slot, person, channel="phone", has_gp=False, reason="Fièvre",
              now=start - dt.timedelta(days=1)).booking
day = timezone.localdate().isoformat()
print(json.dumps({"key": device.key, "booking": booked.pk, "day": day}))
"""


@pytest.mark.browser
def test_nurse_day_records_an_outcome_and_the_activity_counts_it(served_app, chromium, tmp_path):
    url, env = served_app.url, served_app.env
    info = manage_shell(env, SETUP.replace("PASSWORD", repr(PASSWORD)))
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    day_url = f"{url}/soins/journee/teleconsultation-clos-mortier/{info['day']}/"
    page.goto(day_url)
    page.fill("#id_username", "infirmiere.demo")
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_load_state()
    assert "/connexion/code/" in page.url
    page.fill("#id_code", totp_code(info["key"]))
    with page.expect_navigation():
        page.click("main form button[type=submit]")  # not the header's logout button
    assert page.url.startswith(day_url)  # the second factor passed, back to the day
    card = page.locator(f"#rdv-{info['booking']}")
    assert "QUILLEBEUF Armande" in card.inner_text()
    with page.expect_navigation():
        card.locator("button[value=honoured]").click()
    card = page.locator(f"#rdv-{info['booking']}")
    assert "Honoré" in card.inner_text()
    card.locator("select[name=act]").select_option("TCG")
    card.locator("select[name=outcome]").select_option("relay")
    relay = card.locator("select[name=relay] option").nth(1).get_attribute("value")
    card.locator("select[name=relay]").select_option(relay)
    card.locator("textarea[name=note]").fill("Angine, antibiotiques, revoir à J7")
    with page.expect_navigation():
        card.locator("text=Enregistrer l'orientation").click()
    card = page.locator(f"#rdv-{info['booking']}")
    assert "Rendez-vous avec un médecin relais" in card.inner_text()
    page.screenshot(path=str(tmp_path / "nurse-day-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(tmp_path / "nurse-day-390.png"), full_page=True)

    page.set_viewport_size({"width": 1280, "height": 900})
    month = info["day"][:7]
    page.goto(f"{url}/soins/activite/?site=teleconsultation-clos-mortier&depuis={month}")
    row = page.locator(f"table.monthly tr[data-month='{month}']")
    assert int(row.locator("td.acts").inner_text()) >= 1
    page.screenshot(path=str(tmp_path / "activity-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(tmp_path / "activity-390.png"), full_page=True)
    page.goto(f"{url}/soins-non-programmes/?lieu=52100&fenetre=48h")
    page.screenshot(path=str(tmp_path / "finder-390.png"), full_page=True)
    assert not errors, errors
    print("screenshots:", tmp_path)
