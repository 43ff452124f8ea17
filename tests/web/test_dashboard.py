"""The territory dashboard, through Django's test client and through a real browser."""

from __future__ import annotations

import pytest


def test_dashboard_page(client, demo_db, worker):
    response = client.get("/territoires/departement-52/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Haute-Marne" in html
    assert "168\u202f331" in html or "168 331" in html
    assert "synthétiques" in html
    assert "Content-Security-Policy" in response.headers
    geo = client.get("/territoires/departement-52/communes.geojson").json()
    assert len(geo["features"]) == 426
    pdf = client.get("/territoires/departement-52/diagnostic.pdf")
    assert pdf.status_code == 202  # a département's PDF is built in the background…
    worker()
    pdf = client.get("/territoires/departement-52/diagnostic.pdf")
    assert pdf.status_code == 200 and pdf.getvalue()[:4] == b"%PDF"  # …then served
    assert client.get("/territoires/departement-52/diagnostic.exe").status_code == 404


@pytest.fixture(scope="module")
def served(served_app) -> str:
    return served_app.url


@pytest.mark.browser
def test_dashboard_in_chromium(served, chromium, tmp_path):
    browser = chromium
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto(served + "/")
    page.wait_for_selector("#map[data-ready]", timeout=30_000)
    assert page.locator("#map").get_attribute("data-ready") == "426"
    assert page.locator("#map path.leaflet-interactive").count() == 426
    assert "168" in page.locator("[data-testid=kpi-population] .value").inner_text()
    apl = page.locator("[data-testid=kpi-apl] .value").inner_text()
    assert apl.strip() not in ("", "n.d.")
    assert page.locator("[data-testid=synthetic-banner]").is_visible()
    assert page.locator(".legend").is_visible()
    page.click("button[data-layer=minutes_emergency]")
    assert "Minutes" in page.locator(".legend").inner_text()
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    # a phone-sized window keeps the map and indicators usable
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.locator("#map").bounding_box()["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert errors == []


@pytest.mark.browser
def test_the_html_report_fits_a_phone(served, chromium, tmp_path):
    """The HTML report at 390 px: no sideways scrolling of the page (it was 617 px wide); wide
    tables scroll inside themselves."""
    page = chromium.new_page(viewport={"width": 390, "height": 844})
    url = served + "/territoires/commune-52121/diagnostic.html"
    page.goto(url)
    for _ in range(60):  # built in the background on first request
        if page.locator("main h2").count():
            break
        page.wait_for_timeout(2000)
        page.goto(url)
    assert page.locator("main h2").count() > 3
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(tmp_path / "report-phone.png"), full_page=True)
