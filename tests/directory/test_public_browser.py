"""The public directory in a real browser: Debian's chromium driven by Playwright against
``maillage serve`` on a fresh data folder, as a new user would run it.

What only a browser can show: the clustered map really draws (Leaflet.markercluster runs under
the Content-Security-Policy), typed text goes through the form, and a phone-sized window keeps
the search usable (no sideways scrolling, the button reachable).
"""

from __future__ import annotations

import pytest

from maillage.directory.views.public import MAP_CAP

READY = 30_000  # ms: generous, the first search of a process loads the vocabulary


@pytest.fixture(scope="module")
def served(served_app) -> str:
    return served_app.url


@pytest.fixture
def browser(chromium):
    return chromium


def _page(browser, width: int, height: int):
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    return page, errors


@pytest.mark.browser
def test_typo_search_finds_chaumont_gps(served, browser, tmp_path):
    page, errors = _page(browser, 1280, 900)
    page.goto(served + "/annuaire/")
    page.fill("#q", "generalsite chaumon")  # a typo and an unfinished word
    page.press("#q", "Enter")
    page.wait_for_selector("[data-testid=results]", timeout=READY)
    assert "generaliste" in page.locator("[data-testid=corrected]").inner_text()
    subtitles = page.locator(".result-sub").all_inner_texts()
    assert len(subtitles) > 5
    assert all("Chaumont" in s and "Médecin" in s for s in subtitles)
    assert page.locator("[data-testid=synthetic-banner]").is_visible()
    assert page.locator(".result .tag-synth").count() == len(subtitles)
    page.wait_for_selector("#results-map[data-ready]", timeout=READY)
    assert int(page.locator("#results-map").get_attribute("data-ready")) > 5
    page.screenshot(path=str(tmp_path / "search.png"), full_page=True)
    # a result opens its entry page, with its small map
    page.locator(".result-title a").first.click()
    page.wait_for_selector("#entry-map[data-ready]", timeout=READY)
    assert "Médecin" in page.locator(".subtitle").first.inner_text()
    assert page.locator("[data-testid=verified]").is_visible()
    assert errors == []


@pytest.mark.browser
def test_wide_search_draws_clustered_markers(served, browser, tmp_path):
    page, errors = _page(browser, 1280, 900)
    page.goto(served + "/annuaire/?profession=chirurgien_dentiste")  # ~1,200 demo dentists
    page.wait_for_selector("#results-map[data-ready]", timeout=READY)
    shown = int(page.locator("#results-map").get_attribute("data-ready"))
    assert shown > 500
    clusters = page.locator("#results-map .marker-cluster")
    assert clusters.count() >= 3
    # cluster labels add up to at most the points sent
    counts = [int(t) for t in clusters.all_inner_texts() if t.strip().isdigit()]
    assert counts and sum(counts) <= shown
    assert "carte" in page.locator("#map-note").inner_text()
    page.screenshot(path=str(tmp_path / "clusters.png"))
    # past the cap, the page says the map is partial
    page.goto(served + "/annuaire/?profession=infirmier")  # ~2,900 demo nurses
    page.wait_for_selector("#results-map[data-ready]", timeout=READY)
    assert page.locator("#results-map").get_attribute("data-ready") == str(MAP_CAP)
    assert "limite de 1\u202f000 points" in page.locator("#map-note").inner_text()
    assert errors == []


@pytest.mark.browser
def test_phone_sized_window_keeps_search_usable(served, browser, tmp_path):
    page, errors = _page(browser, 390, 844)
    page.goto(served + "/annuaire/")
    for selector in ("#q", "#ou", "#rayon", ".dir-search button[type=submit]"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, selector
    page.fill("#q", "infirmier")
    page.fill("#ou", "Langres")
    page.select_option("#rayon", "10")
    page.locator(".dir-search button[type=submit]").click()
    page.wait_for_selector("[data-testid=results]", timeout=READY)
    page.wait_for_selector("#results-map[data-ready]", timeout=READY)
    assert "à moins de 10 km de Langres" in page.locator("[data-testid=result-count]").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator("#results-map").bounding_box()["width"] <= 390
    assert page.locator(".result").first.bounding_box()["width"] <= 390
    # the filters fold away on a phone and open on demand
    assert not page.locator("#profession").is_visible()
    page.click(".dir-filters summary")
    assert page.locator("#profession").is_visible()
    page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    assert errors == []


@pytest.mark.browser
@pytest.mark.parametrize("width,height", [(1280, 900), (390, 844)])
def test_la_noue_teleconsultation_room_is_found_with_its_address(
    served, browser, tmp_path, width, height
):
    """A resident looks for the teleconsultation room of La Noue: the search finds the
    service, its page gives the address the CPTS publishes, how to book, and says plainly that
    the documents give no phone number (none is made up)."""
    page, errors = _page(browser, width, height)
    page.goto(served + "/annuaire/")
    page.fill("#q", "téléconsultation la noue")
    page.press("#q", "Enter")
    page.wait_for_selector("[data-testid=results]", timeout=READY)
    # The service (run by the CPTS), not the dispositif of the same name.
    service = page.locator(".result", has_text="CPTS Saint-Dizier Der & Blaise")
    service.locator(".result-title a", has_text="La Noue").first.click()
    page.wait_for_selector("#entry-map[data-ready]", timeout=READY)
    body = page.locator("main").inner_text()
    assert "143 avenue de la République" in body
    assert "52100 Saint-Dizier" in body
    assert "ne donnent pas ce numéro" in body
    assert "4 à 5 demi-journées par semaine" in body
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(tmp_path / f"la-noue-{width}.png"), full_page=True)
    assert errors == []


@pytest.mark.browser
@pytest.mark.parametrize("width, height", [(1280, 900), (390, 844)])
def test_dispositifs_page_is_a_map_with_perimeters_points_and_town_names(
    served, browser, tmp_path, width, height
):
    """The three CLS of Haute-Marne on one map, with a legend, the communes and town names as
    background (no tiles configured), at desktop and phone widths."""
    page, errors = _page(browser, width, height)
    page.goto(served + "/annuaire/dispositifs/?type=cls")
    page.wait_for_selector("#schemes-map[data-ready][data-base]", timeout=READY)
    assert int(page.locator("#schemes-map").get_attribute("data-perimeters")) == 3
    assert page.locator("#schemes-map path.leaflet-interactive").count() >= 3
    labels = page.locator(".town-label").all_inner_texts()
    assert "Chaumont" in labels and "Langres" in labels
    assert "Contrat local de santé" in page.locator("#schemes-legend").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(tmp_path / f"dispositifs-{width}.png"), full_page=True)
    page.goto(served + "/annuaire/dispositifs/")
    page.wait_for_selector("#schemes-map[data-ready]", timeout=READY)
    assert int(page.locator("#schemes-map").get_attribute("data-points")) > 10
    assert errors == []
