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


WIDTHS = [(1280, 900), (390, 844)]


def _search(page, served: str, q: str, ou: str = "", rayon: str = "") -> None:
    """Type the query as a user does (on a phone too: the form is the same)."""
    page.goto(served + "/annuaire/")
    page.fill("#q", q)
    if ou:
        page.fill("#ou", ou)
    if rayon:
        page.select_option("#rayon", rayon)
    page.locator(".dir-search button[type=submit]").click()
    page.wait_for_selector("[data-testid=results]", timeout=READY)


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.browser
@pytest.mark.parametrize("width,height", WIDTHS)
def test_la_noue_teleconsultation_room_is_found_with_its_address(
    served, browser, tmp_path, width, height
):
    """A resident types "La Noue": the first result is the teleconsultation room (the service
    the CPTS runs), one click away; its page gives the address the CPTS publishes, how to book,
    says plainly that the documents give no phone number (none is made up) and whom to ask."""
    page, errors = _page(browser, width, height)
    _search(page, served, "La Noue")
    first = page.locator(".result").first
    assert "Salle de téléconsultation de La Noue" in first.inner_text()
    assert "CPTS Saint-Dizier Der & Blaise" in first.inner_text()
    first.locator(".result-title a").click()
    page.wait_for_selector("#entry-map[data-ready]", timeout=READY)
    body = page.locator("main").inner_text()
    assert "143 avenue de la République" in body
    assert "52100 Saint-Dizier" in body
    assert "ne donnent pas ce numéro" in body
    assert "4 à 5 demi-journées par semaine" in body
    assert "clinic-alpha.com" in body
    # whom to ask for the booking line: the CPTS that runs the room, a mailto link
    assert "demandez-le par courriel" in page.locator("[data-testid=no-phone]").inner_text()
    assert page.locator("a[href='mailto:cptssddb@gmail.com']").first.is_visible()
    _fits(page, width)
    page.screenshot(path=str(tmp_path / f"la-noue-{width}.png"), full_page=True)
    assert errors == []


@pytest.mark.browser
@pytest.mark.parametrize("width,height", WIDTHS)
def test_a_kine_in_chaumont_with_what_a_caller_needs(served, browser, tmp_path, width, height):
    """The search box's own placeholder, "kiné Chaumont": masseurs-kinésithérapeutes of
    Chaumont, labelled as demonstration data; the entry gives an address in Chaumont, a phone
    number said to be fictitious, and the week's hours."""
    page, errors = _page(browser, width, height)
    _search(page, served, "kiné Chaumont")
    subtitles = page.locator(".result-sub").all_inner_texts()
    assert subtitles and all("Kinésithérapeute" in s and "Chaumont" in s for s in subtitles)
    assert page.locator(".result .tag-synth").count() == len(subtitles)
    _fits(page, width)
    page.screenshot(path=str(tmp_path / f"kine-{width}.png"), full_page=True)
    page.locator(".result-title a").first.click()
    page.wait_for_selector("#entry-map[data-ready]", timeout=READY)
    place = page.locator(".place").first.inner_text()
    assert "Chaumont" in place
    assert "03 53 01" in place  # ARCEP's block for works of fiction
    assert page.locator("[data-testid=fictitious-phone]").first.is_visible()
    assert page.locator("table.hours tr").count() == 7
    assert page.locator("[data-testid=synthetic-banner]").is_visible()
    _fits(page, width)
    page.screenshot(path=str(tmp_path / f"kine-entry-{width}.png"), full_page=True)
    assert errors == []


@pytest.mark.browser
@pytest.mark.parametrize("width,height", WIDTHS)
def test_pharmacies_around_langres(served, browser, tmp_path, width, height):
    """Typed as a sentence: the pharmacies within 15 km of Langres, Langres' own first, on the
    list and the map."""
    page, errors = _page(browser, width, height)
    _search(page, served, "pharmacies autour de Langres")
    count = page.locator("[data-testid=result-count]").inner_text()
    assert "à moins de 15 km de Langres" in count
    subtitles = page.locator(".result-sub").all_inner_texts()
    assert len(subtitles) >= 5 and all("Pharmacie" in s for s in subtitles)
    assert "Langres" in subtitles[0]
    page.wait_for_selector("#results-map[data-ready][data-base]", timeout=READY)
    assert int(page.locator("#results-map").get_attribute("data-ready")) == len(subtitles)
    _fits(page, width)
    page.screenshot(path=str(tmp_path / f"pharmacies-langres-{width}.png"), full_page=True)
    assert errors == []


@pytest.mark.browser
@pytest.mark.parametrize("width,height,typed", [(1280, 900, "q"), (390, 844, "ou")])
def test_the_emergency_department_nearest_to_joinville(
    served, browser, tmp_path, width, height, typed
):
    """Joinville has no emergency department: "urgences Joinville" (or "urgences" with Où =
    Joinville) puts the nearest ones first, Saint-Dizier at 27 km, with the distance shown and
    a line saying why; the first opens on the department of the hospital, with its switchboard."""
    page, errors = _page(browser, width, height)
    if typed == "q":
        _search(page, served, "urgences Joinville")
    else:
        _search(page, served, "urgences", ou="Joinville")
    note = page.locator("[data-testid=nearest-note]").inner_text()
    assert "du plus proche au plus éloigné de Joinville" in note
    results = page.locator(".result")
    first, second = results.nth(0).inner_text(), results.nth(1).inner_text()
    assert "Urgences" in first and "Saint-Dizier" in first and "27,4 km" in first
    assert "Urgences" in second and "Chaumont" in second and "34,7 km" in second
    # the map shows the same entries as the list, the far departments included
    page.wait_for_selector("#results-map[data-ready][data-base]", timeout=READY)
    assert int(page.locator("#results-map").get_attribute("data-ready")) == results.count()
    _fits(page, width)
    page.screenshot(path=str(tmp_path / f"urgences-joinville-{width}.png"), full_page=True)
    results.nth(0).locator(".result-title a").click()
    page.wait_for_selector("#entry-map[data-ready]", timeout=READY)
    assert "03 25 56 84 84" in page.locator("[data-testid=switchboard]").inner_text()
    _fits(page, width)
    page.screenshot(path=str(tmp_path / f"urgences-entry-{width}.png"), full_page=True)
    assert errors == []


@pytest.mark.browser
@pytest.mark.parametrize("width,height", WIDTHS)
def test_a_gp_accepting_new_patients_within_10_km_of_52200(
    served, browser, tmp_path, width, height
):
    """Où = "52200" is Langres' postal code (not Flagey's INSEE code); with the filter, every
    result accepts new patients and lies within 10 km, its distance shown."""
    page, errors = _page(browser, width, height)
    page.goto(served + "/annuaire/")
    page.fill("#q", "médecin généraliste")
    page.fill("#ou", "52200")
    page.select_option("#rayon", "10")
    if not page.locator("input[name=nouveaux]").is_visible():
        page.click(".dir-filters summary")
    page.check("input[name=nouveaux]")
    page.locator(".dir-search button[type=submit]").click()
    page.wait_for_selector("[data-testid=results]", timeout=READY)
    assert "à moins de 10 km de Langres" in page.locator("[data-testid=result-count]").inner_text()
    results = page.locator(".result")
    assert results.count() > 0
    for i in range(results.count()):
        text = results.nth(i).inner_text()
        assert "Accepte de nouveaux patients" in text and "Médecin" in text
        distance = results.nth(i).locator("[data-testid=distance]").inner_text()
        assert float(distance.removeprefix("à ").removesuffix(" km").replace(",", ".")) <= 10
    page.wait_for_selector("#results-map[data-ready][data-base]", timeout=READY)
    assert int(page.locator("#results-map").get_attribute("data-ready")) == results.count()
    _fits(page, width)
    page.screenshot(path=str(tmp_path / f"gp-52200-{width}.png"), full_page=True)
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
