"""The diagnostic report renderers: HTML, PDF and XLSX from a figures dict, without a database.

The figures come from :mod:`tests.observatory.sample_figures` (real shapes, populations, APL and
FINESS for the CA du Grand Saint-Dizier, Der et Vallées, plus synthetic GPs), i.e. the contract
of ``maillage.observatory.diagnostic.compute``.
"""

from __future__ import annotations

import base64
import copy
import io
import math
import re

import pytest
from django.template import Context, Template
from openpyxl import load_workbook
from pypdf import PdfReader

from maillage.observatory.report import build_context, render_html, render_pdf, render_xlsx, svgmap
from maillage.observatory.report.formatting import (
    NNBSP,
    fr_date,
    fr_minutes,
    fr_number,
    fr_percent,
)

from .sample_figures import sample_departement, sample_epci

SECTION_TITLES = [
    "Territoire et population",
    "Offre de soins de premier recours",
    "Accessibilité potentielle localisée (APL DREES)",
    "Indice d'accessibilité maillage",
    "Temps d'accès",
    "Établissements",
    "Synthèse",
    "Sources et méthodes",
]


@pytest.fixture(scope="module")
def epci():
    return sample_epci()


@pytest.fixture(scope="module")
def html(epci):
    figures, shapes = epci
    return render_html(figures, shapes)


@pytest.fixture(scope="module")
def pdf(epci):
    figures, shapes = epci
    return render_pdf(figures, shapes)


def _text(html: str) -> str:
    """Visible text with entities and typographic spaces normalised, for phrase assertions."""
    text = re.sub(r"<[^>]+>", " ", html)
    text = text.replace("&nbsp;", " ").replace("&#x27;", "'").replace("&#39;", "'")
    text = text.replace("&#8239;", " ").replace("\u00a0", " ").replace(NNBSP, " ")
    return re.sub(r"\s+", " ", text)


# --------------------------------------------------------------------------- French formatting


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (58982, 0, f"58{NNBSP}982"),
        (1234567, 0, f"1{NNBSP}234{NNBSP}567"),
        (999, 0, "999"),
        (6.1, 1, "6,1"),
        (6.15, 1, "6,2"),  # half-up, not binary half-even
        (2.45, 1, "2,5"),
        (6, 1, "6,0"),
        (-1234.5, 1, f"-1{NNBSP}234,5"),
        (-0.04, 1, "0,0"),  # no negative zero
        (0, 0, "0"),
        (None, 0, "n.d."),
        (float("nan"), 1, "n.d."),
        ("58982", 0, f"58{NNBSP}982"),
        ("n.d.", 0, "n.d."),
    ],
)
def test_fr_number(value, decimals, expected):
    assert fr_number(value, decimals) == expected


def test_fr_percent_minutes_and_date():
    assert fr_percent(0.45) == f"45{NNBSP}%"
    assert fr_percent(0.3012, 1) == f"30,1{NNBSP}%"
    assert fr_percent(0.004) == f"<\u00a01{NNBSP}%"  # a few people are not "nobody"
    assert fr_percent(0) == f"0{NNBSP}%"
    assert fr_percent(None) == "n.d."
    assert fr_minutes(14.24) == f"14,2{NNBSP}min"
    assert fr_minutes(None) == "n.d."
    assert fr_date("2026-11-22T10:00:00+01:00") == "22 novembre 2026"
    assert fr_date("2026-03-01") == "1er mars 2026"
    assert fr_date("hier") == "hier"


def test_template_filters():
    template = Template(
        "{% load report_format %}{{ a|fr_number }}|{{ b|fr_number:1 }}|{{ c|fr_percent }}|"
        "{{ d|fr_minutes }}|{{ e|fr_number:2 }}"
    )
    out = template.render(Context({"a": 57613, "b": 6.1, "c": 0.58, "d": 5, "e": None}))
    assert out == f"57{NNBSP}613|6,1|58{NNBSP}%|5,0{NNBSP}min|n.d."


# --------------------------------------------------------------------------- SVG maps and charts


def test_classes_put_the_threshold_in_the_class_above():
    classes = svgmap.classes_from_breaks([1.5, 2.0, 2.5, 3.5, 4.5], svgmap.PALETTES["RdYlBu6"])
    assert [c[3] for c in classes][0] == "< 1,5"
    assert classes[-1][3] == "≥ 4,5"
    assert svgmap.classify(2.49, classes) == 2
    assert svgmap.classify(2.5, classes) == 3  # 2,5 is not sous-dense
    assert svgmap.classify(12, classes) == 5
    assert svgmap.classify(None, classes) is None
    with pytest.raises(ValueError):
        svgmap.classes_from_breaks([1, 2], ["#000"])


def test_map_has_one_path_per_commune_with_a_shape(epci):
    figures, shapes = epci
    shapes = dict(shapes)
    missing = figures["commune_table"][-1]["code"]
    del shapes[missing]  # a commune without a shape is simply not drawn
    values = {r["code"]: r["apl"]["2023"] for r in figures["commune_table"]}
    no_value = figures["commune_table"][1]["code"]
    values[no_value] = None
    names = {r["code"]: r["name"] for r in figures["commune_table"]}
    classes = svgmap.classes_from_breaks([1.5, 2.0, 2.5, 3.5, 4.5], svgmap.PALETTES["RdYlBu6"])
    svg = svgmap.choropleth_svg(
        shapes, values, classes, "APL", "APL 2023", highlight={no_value}, names=names
    )
    codes = re.findall(r'<path data-code="(\d+[AB]?\d*)"', svg)
    assert sorted(codes) == sorted(shapes)
    assert missing not in codes
    assert svg.count("<title") == len(shapes) + 1  # one hover title per commune + the map's
    assert f'data-code="{no_value}"' in svg and "url(#" in svg  # hatched "no data"
    assert "Non renseigné" in svg and "km</text>" in svg  # legend entry and scale bar
    assert "Saint-Dizier (52448)\u00a0: " in svg
    assert re.search(r"(?:href|src)\s*=", svg) is None


def test_department_map_is_small():
    figures, shapes = sample_departement("52")
    assert len(shapes) == 426
    values = {r["code"]: r["apl"]["2023"] for r in figures["commune_table"]}
    classes = svgmap.classes_from_breaks([2.5], ["#d73027", "#4575b4"])
    svg = svgmap.choropleth_svg(shapes, values, classes, "APL", "APL")
    assert len(svg.encode()) < 300_000
    assert svg.count("<path data-code=") == 426


def test_area_km2_is_plausible(epci):
    _figures, shapes = epci
    area = svgmap.area_km2(shapes["52448"])  # Saint-Dizier: about 49 km²
    assert 40 < area < 60


# --------------------------------------------------------------------------- HTML


def test_html_has_every_section_and_the_synthetic_banner(html):
    text = _text(html)
    assert "Diagnostic territorial — CA du Grand Saint-Dizier, Der et Vallées" in text
    for title in SECTION_TITLES:
        assert title in text, title
    assert (
        "Données de démonstration : les professionnels de santé de ce rapport sont synthétiques "
        "(générés, calibrés sur des agrégats réels). Les populations, les établissements FINESS "
        "et l'APL DREES sont réels." in text
    )
    assert "22 novembre 2026" in text and "maillage 0.1.0" in text
    assert 'class="banner"' in html


def test_html_is_self_contained(html):
    for url in re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", html):
        assert url.startswith("#"), url
    assert "url(http" not in html and "@import" not in html
    assert "<link" not in html and "<script" not in html and "<img" not in html
    # URLs may appear as plain text in the sources list only.
    assert "https://www.insee.fr" in html


def test_print_html_embeds_maps_as_data_images(epci):
    figures, shapes = epci
    out = render_html(figures, shapes, for_print=True)
    sources = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", out)
    images = [u for u in sources if not u.startswith("#")]
    assert len(images) == 4
    assert all(u.startswith("data:image/svg+xml;base64,") for u in images)


def test_figures_text_is_escaped(epci):
    figures, shapes = epci
    hostile = copy.deepcopy(figures)
    hostile["territory"]["name"] = '<img src="http://evil.example/x.png">'
    hostile["sources"].append({"label": "<script>alert(1)</script>", "detail": ""})
    out = render_html(hostile, shapes)
    assert "<script>alert" not in out and '<img src="http://evil' not in out


def test_pdf_fetcher_serves_data_urls_only():
    from maillage.observatory.report.pdf import offline_fetcher

    fetcher = offline_fetcher()
    fetch = getattr(fetcher, "fetch", fetcher)
    for url in ("file:///etc/passwd", "http://example.org/x.png", "https://example.org/"):
        with pytest.raises(ValueError):
            fetch(url)
    assert fetch("data:image/svg+xml;base64,PHN2Zy8+") is not None


def test_html_tables(html, epci):
    figures, _shapes = epci
    text = _text(html)
    assert "Offre globale synthétisée" in text and "dont à Saint-Dizier" in text
    for item in figures["offer"].values():
        assert item["label"] in text
    assert html.count('<path data-code="') == 4 * figures["communes"]  # four maps
    for row in figures["commune_table"]:
        assert f'<td class="code">{row["code"]}</td>' in html
    # Synthetic tables carry the marker and the footnote.
    assert '<span class="mark">†</span>' in html
    assert "Valeurs calculées sur des professionnels de santé synthétiques" in text
    assert f"55{NNBSP}381" in html  # French thousands separator


def test_commune_table_sorted_by_apl(epci):
    figures, shapes = epci
    ctx = build_context(figures, shapes)
    values = [r["apl_latest"] for r in ctx["commune_rows"] if r["apl_latest"] is not None]
    assert values == sorted(values)
    assert ctx["commune_rows_omitted"] == 0


def test_html_tolerates_missing_keys_and_none_values(epci):
    figures, shapes = epci
    minimal = render_html({"territory": {"name": "Territoire vide"}}, {})
    text = _text(minimal)
    for title in SECTION_TITLES:
        assert title in text
    assert "Données de démonstration" not in text

    holes = copy.deepcopy(figures)
    for item in holes["offer"].values():
        for key in item:
            if key not in ("label", "synthetic"):
                item[key] = None
    holes["apl_drees"] = {"2022": None, "2023": None}
    holes["access_times"][0]["mean_minutes"] = None
    holes["commune_table"][0]["apl"] = {"2022": None, "2023": None}
    holes["commune_table"][1]["minutes"] = {}
    del holes["accessibility"]
    del holes["establishments"]
    out = render_html(holes, shapes)
    assert "n.d." in out
    assert out.count('<path data-code="') >= 3 * figures["communes"]


# --------------------------------------------------------------------------- PDF


def _pdf_page_count(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


def test_pdf(pdf):
    assert pdf.startswith(b"%PDF")
    assert _pdf_page_count(pdf) >= 3


def test_pdf_helper_process_lays_out_the_same_pdf(epci, pdf):
    from maillage.observatory.report.pdf import PdfProcess

    figures, shapes = epci
    helper = PdfProcess()
    try:
        helper.send(render_html(figures, shapes, for_print=True))
        made = helper.result()
    finally:
        helper.close()
    texts = [[p.extract_text() for p in PdfReader(io.BytesIO(d)).pages] for d in (made, pdf)]
    assert texts[0] == texts[1]

    lost = PdfProcess()
    lost._process.kill()  # dies before its document: no PDF, a clear error
    lost._process.wait()
    lost.send("<p>trop tard</p>")
    with pytest.raises(RuntimeError, match="PDF helper failed"):
        lost.result()
    lost.close()


def test_pdf_abridges_the_communes_table_of_large_territories():
    figures, shapes = sample_departement("52")
    ctx = build_context(figures, shapes, for_print=True)
    assert len(ctx["commune_rows"]) == 80
    assert ctx["commune_rows_omitted"] == 426 - 80
    assert "Tableau abrégé" in _text(render_html(figures, {}, for_print=True))
    assert "Tableau abrégé" not in _text(render_html(figures, {}))


# --------------------------------------------------------------------------- XLSX


def test_xlsx(epci):
    figures, _shapes = epci
    wb = load_workbook(io.BytesIO(render_xlsx(figures)))
    assert wb.sheetnames == [
        "Synthèse",
        "Offre",
        "APL DREES",
        "Accessibilité",
        "Temps d'accès",
        "Établissements",
        "Communes",
        "Sources",
    ]
    offer = wb["Offre"]
    assert offer["A3"].value == "Profession" and offer["A3"].font.bold
    assert offer.freeze_panes == "B4"
    assert "synthétiques" in offer["A2"].value
    rows = {r[0].value: r for r in offer.iter_rows(min_row=4)}
    for item in figures["offer"].values():
        row = rows[item["label"]]
        assert isinstance(row[2].value, int | float) and row[2].value == item["count"]
        assert row[2].number_format == "#,##0"
        assert row[5].value is None or row[5].number_format == "0.0%"
        assert isinstance(row[7].value, float)
    assert offer.column_dimensions["A"].width >= 30

    communes = wb["Communes"]
    assert communes.max_row == 3 + figures["communes"]
    assert "synthétiques" in communes["A2"].value
    apl = wb["APL DREES"]
    assert apl["A4"].value == 2022 and isinstance(apl["B4"].value, float)
    assert "réelles" in apl["A2"].value
    for ws in wb.worksheets:
        assert ws["A1"].font.bold
        assert ws.freeze_panes is not None


def test_xlsx_tolerates_missing_keys():
    wb = load_workbook(io.BytesIO(render_xlsx({"territory": {"name": "Vide"}})))
    assert len(wb.sheetnames) == 8


# ----------------------------------------------------- size (speed: benchmarks/bench_report.py)


def test_department_html_stays_small():
    figures, shapes = sample_departement("52")
    out = render_html(figures, shapes)
    assert len(out.encode()) < 1_500_000


def _print_maps(ctx: dict) -> dict[str, str]:
    """The SVG of each map of a print context (embedded as ``data:`` images)."""
    out = {}
    for key in ("map_density", "map_apl", "map_index", "map_time"):
        if ctx.get(key):
            data = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', ctx[key]).group(1)
            out[key] = base64.b64decode(data).decode("utf-8")
    return out


def _path_points(svg: str) -> int:
    """Points of the communes' outlines (each ``M x y`` and each relative move ``dx dy``)."""
    return sum(
        len(re.findall(r"-?\d+(?:\.\d+)?", d)) // 2
        for d in re.findall(r'<path data-code="[^"]+" d="([^"]+)"', svg)
    )


def test_print_maps_are_simplified_for_paper_and_draw_every_commune():
    figures, shapes = sample_departement("52")
    screen = build_context(figures, shapes)
    printed = _print_maps(build_context(figures, shapes, for_print=True))
    assert set(printed) == {"map_density", "map_apl", "map_index", "map_time"}
    for key, svg in printed.items():
        codes = re.findall(r'<path data-code="([^"]+)" d="M', svg)
        assert sorted(codes) == sorted(shapes), key  # every commune still has its outline
        # WeasyPrint draws each point (~10 µs): the print maps carry far fewer than the page's
        assert _path_points(svg) < 0.75 * _path_points(screen[key]), key
        assert _path_points(svg) < 10_000, key
    # same colours on paper as on screen
    fills = re.compile(r'<path data-code="([^"]+)" d="[^"]+" fill="([^"]+)"')
    assert dict(fills.findall(printed["map_apl"])) == dict(fills.findall(screen["map_apl"]))


def test_print_simplification_moves_no_outline_by_more_than_a_fifth_of_a_millimetre():
    # 0.19 mm at the largest scale a map unit can have on the A4 page
    assert svgmap.PRINT_SIMPLIFY * svgmap.PRINT_MM_PER_UNIT == pytest.approx(0.19)
    ring = [(float(x), 0.3 * math.sin(x)) for x in range(200)]  # wiggles under the tolerance
    simplified = svgmap._simplify(ring, svgmap.PRINT_SIMPLIFY)
    assert len(simplified) < 10
    for x, y in ring:  # every dropped point is within the tolerance of the kept outline
        (x0, y0), (x1, y1) = next(
            (a, b) for a, b in zip(simplified, simplified[1:], strict=False) if a[0] <= x <= b[0]
        )
        expected = y0 + (y1 - y0) * (x - x0) / ((x1 - x0) or 1)
        assert abs(y - expected) <= svgmap.PRINT_SIMPLIFY
