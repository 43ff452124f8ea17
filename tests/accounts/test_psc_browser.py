"""Pro Santé Connect in a real browser: ``maillage serve`` configured with a local OpenID
provider (tests/accounts/oidc_provider.py) that shows its own confirmation page, as PSC asks for
the CPS card or the e-CPS app. Screenshots (desktop and 390 px) go to ``tmp_path``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest

from .oidc_provider import LocalOpenIDProvider, psc_claims

RPPS = "19900000042"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def op():
    provider = LocalOpenIDProvider().start()
    provider.interactive = True
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def psc_site(served_app, op):
    """A second ``maillage serve`` on the browser tests' data folder, with PSC configured."""
    env = {
        **served_app.env,
        "MAILLAGE_PSC_ISSUER": op.issuer,
        "MAILLAGE_PSC_CLIENT_ID": op.client_id,
        "MAILLAGE_PSC_CLIENT_SECRET": op.client_secret,
    }
    done = subprocess.run(
        [sys.executable, "-m", "maillage.cli", "manage", "shell", "-c",
         "import json; from maillage.directory.models import Practitioner; "
         f"p, _ = Practitioner.objects.get_or_create(rpps='{RPPS}', defaults=dict("
         "family_name='Lefèvre', given_name='Anne', source='manual')); "
         "print(json.dumps({'pk': p.pk}))"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    practitioner = json.loads(done.stdout.strip().splitlines()[-1])["pk"]
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "maillage.cli", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            urllib.request.urlopen(url + "/connexion/", timeout=2)
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("maillage serve did not start: " + proc.stderr.read().decode())
    yield url, env, practitioner
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.browser
def test_a_professional_logs_in_with_pro_sante_connect(psc_site, op, chromium, tmp_path):
    url, env, practitioner = psc_site
    op.claims = psc_claims(RPPS, given="Anne", family="Lefèvre")
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))

    page.goto(url + "/pro/")
    assert "/connexion/" in page.url
    button = page.get_by_role("link", name="Se connecter avec Pro Santé Connect")
    assert button.is_visible()
    assert page.locator("#id_password").is_visible()  # the password form stays beside it
    page.screenshot(path=str(tmp_path / "connexion.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(tmp_path / "connexion-phone.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the login page scrolls sideways on a phone ({width} px)"
    page.set_viewport_size({"width": 1280, "height": 900})

    button.click()
    page.wait_for_load_state()
    assert page.url.startswith(op.base + "/auth?")  # the provider's own page
    page.click("#valider")
    page.wait_for_load_state()
    # back where the login was asked (/pro/), which opens a professional's own entry
    assert page.url == url + "/pro/ma-fiche/", page.url
    assert "Anne Lefèvre" in page.locator("h1").inner_text()
    assert page.locator("header .nav-logout button").is_visible()
    page.screenshot(path=str(tmp_path / "espace-pro-psc.png"), full_page=True)
    state = json.loads(
        subprocess.run(
            [sys.executable, "-m", "maillage.cli", "manage", "shell", "-c",
             "import json; from django.contrib.auth import get_user_model as g; "
             f"u = g().objects.get(username='psc-{RPPS}'); "
             "print(json.dumps({'role': u.profile.role, "
             "'practitioner': u.profile.practitioner_id}))"],
            env=env, capture_output=True, text=True,
        ).stdout.strip().splitlines()[-1]
    )  # fmt: skip
    assert state == {"role": "professional", "practitioner": practitioner}

    # logging out of maillage closes the PSC session too, then comes back to the site
    page.click("header .nav-logout button")
    page.wait_for_load_state()
    assert page.url.startswith(url + "/") and "/pro/" not in page.url, page.url
    assert op.logout_requests[-1]["post_logout_redirect_uri"] == url + "/"
    assert op.logout_requests[-1]["id_token_hint"]
    assert page.locator("header").get_by_text("Connexion").count() == 1

    # an RPPS the directory does not know: a French message, nobody logged in
    op.claims = psc_claims("19999999998")
    page.goto(url + "/connexion/")
    page.get_by_role("link", name="Se connecter avec Pro Santé Connect").click()
    page.wait_for_load_state()
    page.click("#valider")
    page.wait_for_load_state()
    assert page.url == url + "/connexion/"
    alert = page.locator(".messages .message.error")
    assert "Votre numéro RPPS 19999999998 ne correspond à aucune fiche" in alert.inner_text()
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(tmp_path / "connexion-rpps-inconnu-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert errors == []
    if os.environ.get("MAILLAGE_KEEP_SCREENSHOTS"):
        print("screenshots in", tmp_path)
