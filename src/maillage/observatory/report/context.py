"""From the figures dict to what the report template shows.

The figures are the JSON contract of :func:`maillage.observatory.diagnostic.compute` (also what
``maillage report --format json`` prints), so every key except the territory name is treated as
optional and every number may be ``None``: the report says "n.d." rather than failing. All the
decisions about *what* to show (class breaks, sorting, which facility map, which rows carry the
synthetic marker) live here, in plain Python that tests can call; the template only lays out.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping
from typing import Any

from maillage.observatory.report import charts, svgmap
from maillage.observatory.report.formatting import (
    NBSP,
    NNBSP,
    fr_date,
    fr_number,
    fr_percent,
    to_number,
)

APL_THRESHOLD = 2.5
"""DREES: a commune whose APL to GPs is below 2.5 consultations per year and per standardised
inhabitant is "sous-dense" (the threshold used for the zonage médecins)."""

APL_BREAKS = [1.5, 2.0, APL_THRESHOLD, 3.5, 4.5]
DENSITY_BREAKS = [10, 20, 50, 100, 250]
TIME_BREAKS = [10, 20, 30, 45]
TIME_THRESHOLDS = ("20", "30", "45")
YLGNBU = ["#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"]

PRINT_ROWS = 80  # communes table rows in the PDF
PRINT_CATEGORIES = 40  # establishments table rows in the PDF (the last one sums the others)
SYNTHETIC_MARK = "†"
SYNTHETIC_BANNER_LEAD = "Données de démonstration"
SYNTHETIC_BANNER_BODY = (
    "les professionnels de santé de ce rapport sont synthétiques "
    "(générés, calibrés sur des agrégats réels). Les populations, les établissements FINESS et "
    "l'APL DREES sont réels."
)
SYNTHETIC_BANNER = f"{SYNTHETIC_BANNER_LEAD}{NBSP}: {SYNTHETIC_BANNER_BODY}"
SYNTHETIC_FOOTNOTE = (
    "† Valeurs calculées sur des professionnels de santé synthétiques "
    f"(données de démonstration){NBSP}: elles illustrent la méthode et ne décrivent pas "
    "l'offre réelle du territoire."
)

SECTIONS = [
    ("territoire", "1. Territoire et population"),
    ("offre", "2. Offre de soins de premier recours"),
    ("apl", "3. Accessibilité potentielle localisée (APL DREES)"),
    ("indice", "4. Indice d'accessibilité maillage"),
    ("temps", "5. Temps d'accès"),
    ("etablissements", "6. Établissements"),
    ("synthese", "7. Synthèse"),
    ("sources", "Sources et méthodes"),
]


def _get(mapping: Any, *keys: str, default: Any = None) -> Any:
    """``mapping[k1][k2]…`` or ``default`` when any level is missing or not a mapping."""
    current = mapping
    for key in keys:
        if not isinstance(current, Mapping) or key not in current:
            return default
        current = current[key]
    return default if current is None else current


def _years(*series: Any) -> list[str]:
    years: set[str] = set()
    for s in series:
        if isinstance(s, Mapping):
            years.update(str(y) for y in s)
    return sorted(years)


def _share(part: float | None, whole: float | None) -> float | None:
    if part is None or not whole:
        return None
    return part / whole


def build_context(
    figures: Mapping[str, Any], shapes: Mapping[str, Mapping], *, for_print: bool = False
) -> dict[str, Any]:
    """Everything ``observatory/report/report.html`` needs, computed once.

    ``for_print`` prepares the variant :func:`~maillage.observatory.report.render_pdf` lays out,
    where WeasyPrint's speed matters (it lays out about a thousand table cells per second):

    - the communes table is abridged to the :data:`PRINT_ROWS` communes with the lowest APL and
      the establishments table to :data:`PRINT_CATEGORIES` rows, the last one summing the others
      (the full tables of a département would double the PDF time for pages nobody reads on
      paper; the HTML and the XLSX keep every row);
    - maps are embedded as ``data:`` SVG images rather than inline SVG, which WeasyPrint draws
      about twice as fast (no CSS cascade over thousands of SVG elements) and which need no
      hover titles on paper;
    - their outlines are simplified at :data:`~svgmap.PRINT_SIMPLIFY` (0.19 mm on the A4 page)
      rather than the screen's :data:`~svgmap.SIMPLIFY`: about a third fewer points for WeasyPrint
      to draw, every commune still drawn in the same colour. (Rasterising the communes to a PNG
      was measured too: WeasyPrint re-encodes the image and spends as long on it as on the
      vector map, and the printed map would lose its sharpness.)
    """
    territory = _get(figures, "territory", default={})
    name = territory.get("name") or territory.get("slug") or "Territoire"
    synthetic = bool(figures.get("synthetic_practitioners"))
    population = to_number(figures.get("population"))
    main = _get(figures, "main_commune", default={})
    main_name = main.get("name") or "la commune principale"
    rows = [r for r in figures.get("commune_table") or [] if isinstance(r, Mapping)]
    names = {str(r.get("code")): str(r.get("name") or r.get("code")) for r in rows}
    codes = [str(r.get("code")) for r in rows]
    territory_shapes = {c: shapes[c] for c in codes if c in shapes}
    by_population = sorted(rows, key=lambda r: -(to_number(r.get("population")) or 0))
    labels = [str(r.get("code")) for r in by_population[: 3 if len(rows) >= 10 else 1]]

    ctx: dict[str, Any] = {
        "territory": territory,
        "name": name,
        "title": f"Diagnostic territorial — {name}",
        "kind_label": territory.get("kind_label") or territory.get("kind") or "",
        "code": territory.get("code") or "",
        "generated": fr_date(figures.get("generated_at")),
        "generated_at": figures.get("generated_at") or "",
        "version": figures.get("maillage_version") or "",
        "synthetic": synthetic,
        "banner": SYNTHETIC_BANNER,
        "banner_lead": SYNTHETIC_BANNER_LEAD,
        "banner_body": SYNTHETIC_BANNER_BODY,
        "mark": SYNTHETIC_MARK,
        "footnote": SYNTHETIC_FOOTNOTE,
        "warnings": [
            w for w in [*(figures.get("warnings") or []), *(figures.get("missing") or [])] if w
        ],
        "sections": SECTIONS,
        "shapes_missing": len([c for c in codes if c not in shapes]),
    }
    maps = {
        "names": names,
        "labels": labels,
        "simplify": svgmap.PRINT_SIMPLIFY if for_print else svgmap.SIMPLIFY,
    }
    ctx.update(_territory_section(figures, rows, territory_shapes, **maps))
    ctx.update(_offer_section(figures, main_name))
    ctx.update(_apl_section(figures, rows, territory_shapes, **maps))
    ctx.update(_accessibility_section(figures, rows, territory_shapes, ctx=ctx, **maps))
    ctx.update(_time_section(figures, rows, territory_shapes, **maps))
    ctx.update(_commune_table(figures, rows, ctx))
    ctx["commune_rows_total"] = len(ctx["commune_rows"])
    ctx["commune_rows_omitted"] = 0
    if for_print and len(ctx["commune_rows"]) > PRINT_ROWS:
        ctx["commune_rows_omitted"] = len(ctx["commune_rows"]) - PRINT_ROWS
        ctx["commune_rows"] = ctx["commune_rows"][:PRINT_ROWS]
    establishments = [e for e in figures.get("establishments") or [] if isinstance(e, Mapping)]
    ctx["establishments"] = establishments
    ctx["establishments_total"] = sum(to_number(e.get("count")) or 0 for e in establishments)
    ctx["establishments_categories"] = len(establishments)
    ctx["establishments_other"] = None
    if for_print and len(establishments) > PRINT_CATEGORIES:
        rest = establishments[PRINT_CATEGORIES - 1 :]
        ctx["establishments"] = establishments[: PRINT_CATEGORIES - 1]
        ctx["establishments_other"] = {
            "categories": len(rest),
            "count": sum(to_number(e.get("count")) or 0 for e in rest),
        }
    ctx["synthesis"] = [s for s in figures.get("synthesis") or [] if s]
    ctx["sources"] = [
        s if isinstance(s, Mapping) else {"label": str(s), "detail": ""}
        for s in figures.get("sources") or []
    ]
    ctx["key_figures"] = _key_figures(figures, ctx, population)
    ctx["main_name"] = main_name
    if for_print:
        for key in ("map_density", "map_apl", "map_index", "map_time"):
            ctx[key] = _as_image(ctx.get(key) or "")
    return ctx


def _as_image(svg: str) -> str:
    """An inline SVG as an ``<img>`` with a ``data:`` URL (for WeasyPrint, see build_context)."""
    if not svg:
        return ""
    title = re.search(r"<title[^>]*>([^<]*)</title>", svg)
    alt = html.escape(html.unescape(title.group(1)), quote=True) if title else ""
    svg = re.sub(r"<title>[^<]*</title>", "", svg)  # hover titles: useless on paper
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img class="map" alt="{alt}" src="data:image/svg+xml;base64,{data}">'


# --------------------------------------------------------------------------- sections


def _territory_section(
    figures: Mapping[str, Any],
    rows: list[Mapping],
    territory_shapes: Mapping[str, Mapping],
    names: Mapping[str, str],
    labels: list[str],
    simplify: float,
) -> dict[str, Any]:
    population = to_number(figures.get("population"))
    main = _get(figures, "main_commune", default={})
    areas = {c: svgmap.area_km2(g) for c, g in territory_shapes.items()}
    complete = bool(rows) and all(areas.get(str(r.get("code"))) for r in rows)
    area = sum(a for a in areas.values() if a) if complete else None
    densities: dict[str, float | None] = {}
    for r in rows:
        code = str(r.get("code"))
        pop = to_number(r.get("population"))
        densities[code] = pop / areas[code] if pop is not None and areas.get(code) else None
    departements = [d for d in figures.get("departements") or [] if isinstance(d, Mapping)]
    region = _get(figures, "region", default={})
    top = sorted(rows, key=lambda r: -(to_number(r.get("population")) or 0))[:10]
    density_map = (
        svgmap.choropleth_svg(
            territory_shapes,
            densities,
            svgmap.classes_from_breaks(DENSITY_BREAKS, svgmap.PALETTES["PuBu6"], 0),
            title="Densité de population par commune",
            legend_title="Habitants par km²",
            names=names,
            labels=labels,
            value_format=lambda v: f"{fr_number(v, 1)}{NNBSP}hab./km²",
            uid="map-density",
            simplify=simplify,
        )
        if territory_shapes
        else ""
    )
    return {
        "communes": figures.get("communes"),
        "population": population,
        "population_source": figures.get("population_source") or "INSEE",
        "main_commune": main,
        "main_share": _share(to_number(main.get("population")), population),
        "departements": departements,
        "departements_text": ", ".join(
            f"{d.get('name', '')} ({d.get('code', '')})".strip() for d in departements
        ),
        "region": region,
        "area_km2": area,
        "density": population / area if population and area else None,
        "top_communes": [
            {
                "name": r.get("name"),
                "code": r.get("code"),
                "population": r.get("population"),
                "share": _share(to_number(r.get("population")), population),
                "density": densities.get(str(r.get("code"))),
            }
            for r in top
        ],
        "map_density": density_map,
    }


def _offer_section(figures: Mapping[str, Any], main_name: str) -> dict[str, Any]:
    offer = figures.get("offer") or {}
    rows = []
    for key, item in offer.items() if isinstance(offer, Mapping) else []:
        if not isinstance(item, Mapping):
            continue
        density = to_number(item.get("density_10k"))
        dep = to_number(item.get("density_10k_departement"))
        rows.append(
            {
                "key": key,
                "label": item.get("label") or key,
                "count": item.get("count"),
                "count_main": item.get("count_main_commune"),
                "share_60": item.get("share_60_plus"),
                "share_55": item.get("share_55_plus"),
                "density": density,
                "density_dep": dep,
                "density_reg": to_number(item.get("density_10k_region")),
                "density_fr": to_number(item.get("density_10k_france")),
                "below_dep": density is not None and dep is not None and density < dep,
                "synthetic": bool(item.get("synthetic")),
            }
        )
    # Professions with no figure at all (no open data here) become one line under the table
    # instead of rows of "n.d.": the reader sees at once what is known and what is not.
    measured = ("count", "density", "density_dep", "density_reg", "density_fr")
    missing = [r["label"] for r in rows if all(r[k] is None for k in measured)]
    rows = [r for r in rows if r["label"] not in missing]
    chart_rows = [r for r in rows if r["density"] is not None][:6]
    series = ["Territoire", "Département", "Région", "France"]
    values_at = ["density", "density_dep", "density_reg", "density_fr"]
    keep = [
        i for i, k in enumerate(values_at) if i == 0 or any(r[k] is not None for r in chart_rows)
    ]
    chart = (
        charts.comparison_bars_svg(
            [(r["label"], [r[values_at[i]] for i in keep]) for r in chart_rows],
            [series[i] for i in keep],
            title=f"Densité pour 10{NNBSP}000 habitants{NBSP}: territoire et références",
            unit=f"professionnels pour 10{NNBSP}000 habitants",
        )
        if chart_rows
        else ""
    )
    return {
        "offer_rows": rows,
        "offer_missing": missing,
        "offer_synthetic": any(r["synthetic"] for r in rows),
        "offer_chart": chart,
        "offer_main_header": f"dont à {main_name}",
    }


def _latest_apl(row: Mapping, year: str | None) -> float | None:
    return to_number(_get(row, "apl", year)) if year else None


def _apl_section(
    figures: Mapping[str, Any],
    rows: list[Mapping],
    territory_shapes: Mapping[str, Mapping],
    names: Mapping[str, str],
    labels: list[str],
    simplify: float,
) -> dict[str, Any]:
    apl = figures.get("apl_drees") or {}
    ref = figures.get("apl_drees_reference") or {}
    below = figures.get("apl_below_2_5") or {}
    row_years = _years(*(r.get("apl") for r in rows))
    years = _years(apl, below, *(ref.get(k) for k in ("departement", "region", "france"))) or (
        row_years
    )
    latest = (row_years or years or [None])[-1]
    apl_rows = [
        {
            "year": y,
            "territory": to_number(_get(apl, y)),
            "departement": to_number(_get(ref, "departement", y)),
            "region": to_number(_get(ref, "region", y)),
            "france": to_number(_get(ref, "france", y)),
            "below_population": to_number(_get(below, y, "population")),
            "below_share": to_number(_get(below, y, "share")),
            "below_communes": to_number(_get(below, y, "communes")),
        }
        for y in years
    ]
    classes = svgmap.classes_from_breaks(APL_BREAKS, svgmap.PALETTES["RdYlBu6"], 1)
    values = {str(r.get("code")): _latest_apl(r, latest) for r in rows}
    apl_map = svgmap.choropleth_svg(
        territory_shapes,
        values,
        classes,
        title=f"APL aux médecins généralistes {latest or ''} par commune",
        legend_title=f"APL {latest or ''} (consultations/an/hab.)",
        names=names,
        labels=labels,
        value_format=lambda v: fr_number(v, 2),
        uid="map-apl",
        simplify=simplify,
    )
    # Population by APL class (latest year), the same classes and colours as the map.
    pops = [0.0] * len(classes)
    pop_nd = 0.0
    for r in rows:
        idx = svgmap.classify(values.get(str(r.get("code"))), classes)
        pop = to_number(r.get("population")) or 0.0
        if idx is None:
            pop_nd += pop
        else:
            pops[idx] += pop
    total = sum(pops) + pop_nd
    categories = [c[3] for c in classes]
    colors = [c[2] for c in classes]
    chart_values: list[float | None] = list(pops)
    if pop_nd:
        categories.append("n.d.")
        colors.append(svgmap.NO_DATA_FILL)
        chart_values.append(pop_nd)
    value_labels = [
        f"{fr_number(v)} ({fr_percent(_share(v, total))})" if v else "0" for v in chart_values
    ]
    apl_chart = (
        charts.column_chart_svg(
            categories,
            chart_values,
            title=f"Population selon la classe d'APL {latest or ''}",
            colors=colors,
            value_labels=value_labels,
            axis_label="habitants",
        )
        if rows and latest
        else ""
    )
    last = apl_rows[-1] if apl_rows else {}
    return {
        "apl_rows": apl_rows,
        "apl_latest": latest,
        "apl_latest_row": last,
        "apl_threshold": APL_THRESHOLD,
        "map_apl": apl_map if rows and territory_shapes else "",
        "apl_chart": apl_chart,
        "apl_commune_years": row_years,
    }


def _accessibility_section(
    figures: Mapping[str, Any],
    rows: list[Mapping],
    territory_shapes: Mapping[str, Mapping],
    names: Mapping[str, str],
    labels: list[str],
    ctx: Mapping[str, Any],
    simplify: float,
) -> dict[str, Any]:
    acc = figures.get("accessibility") or {}
    values = {str(r.get("code")): to_number(r.get("accessibility")) for r in rows}
    breaks = svgmap.quantile_breaks(values.values(), 5, 1)
    classes = svgmap.classes_from_breaks(breaks, svgmap.spread_palette(YLGNBU, len(breaks) + 1), 1)
    latest = ctx.get("apl_latest")
    under = {
        str(r.get("code"))
        for r in rows
        if (v := _latest_apl(r, latest)) is not None and v < APL_THRESHOLD
    }
    has_values = any(v is not None for v in values.values())
    acc_map = (
        svgmap.choropleth_svg(
            territory_shapes,
            values,
            classes,
            title="Indice d'accessibilité maillage par commune",
            legend_title="Indice maillage (classes de quantiles)",
            highlight=under,
            highlight_label=f"APL DREES {latest or ''} < 2,5",
            names=names,
            labels=labels,
            uid="map-index",
            simplify=simplify,
        )
        if has_values and territory_shapes
        else ""
    )
    return {
        "acc": acc,
        "acc_synthetic": bool(acc.get("synthetic", figures.get("synthetic_practitioners"))),
        "map_index": acc_map,
        "acc_under_count": len(under),
    }


def _time_section(
    figures: Mapping[str, Any],
    rows: list[Mapping],
    territory_shapes: Mapping[str, Mapping],
    names: Mapping[str, str],
    labels: list[str],
    simplify: float,
) -> dict[str, Any]:
    times = [t for t in figures.get("access_times") or [] if isinstance(t, Mapping)]
    time_rows = []
    for t in times:
        beyond = t.get("population_beyond") or {}
        shares = t.get("share_beyond") or {}
        time_rows.append(
            {
                "key": t.get("key"),
                "label": t.get("label") or t.get("key"),
                "mean": to_number(t.get("mean_minutes")),
                "beyond": [
                    (to_number(beyond.get(k)), to_number(shares.get(k))) for k in TIME_THRESHOLDS
                ],
                "synthetic": bool(t.get("synthetic")),
            }
        )
    mapped = _time_map_kind(times)
    time_map = ""
    if mapped is not None and rows and territory_shapes:
        key = str(mapped.get("key"))
        values = {str(r.get("code")): to_number(_get(r, "minutes", key)) for r in rows}
        if any(v is not None for v in values.values()):
            time_map = svgmap.choropleth_svg(
                territory_shapes,
                values,
                svgmap.classes_from_breaks(TIME_BREAKS, svgmap.PALETTES["YlOrRd5"], 0, "min"),
                title=f"Temps d'accès{NBSP}: {mapped.get('label') or key}",
                legend_title="Temps d'accès estimé (minutes)",
                names=names,
                labels=labels,
                value_format=lambda v: f"{fr_number(v, 1)}{NNBSP}min",
                uid="map-time",
                simplify=simplify,
            )
    return {
        "time_rows": time_rows,
        "time_thresholds": TIME_THRESHOLDS,
        "time_synthetic": any(r["synthetic"] for r in time_rows),
        "map_time": time_map,
        "map_time_label": (mapped.get("label") or mapped.get("key")) if mapped else "",
        "map_time_synthetic": bool(mapped.get("synthetic")) if mapped else False,
    }


def _time_map_kind(times: list[Mapping]) -> Mapping | None:
    """The facility kind mapped in section 5: emergency first, else a hospital, else the first."""
    for wanted in ("emergency", "urgence", "hospital", "hopital"):
        for t in times:
            if wanted in str(t.get("key", "")).lower():
                return t
    return times[0] if times else None


def _commune_table(
    figures: Mapping[str, Any], rows: list[Mapping], ctx: Mapping[str, Any]
) -> dict[str, Any]:
    years = ctx.get("apl_commune_years") or []
    latest = ctx.get("apl_latest")
    times = [t for t in figures.get("access_times") or [] if isinstance(t, Mapping)]
    time_cols = [
        {
            "key": str(t.get("key")),
            "label": _short_time_label(t),
            "synthetic": bool(t.get("synthetic")),
        }
        for t in times
    ]
    table = []
    for r in rows:
        apl_values = [to_number(_get(r, "apl", y)) for y in years]
        table.append(
            {
                "code": r.get("code"),
                "name": r.get("name") or r.get("code"),
                "population": to_number(r.get("population")),
                "apl": apl_values,
                "apl_latest": _latest_apl(r, latest),
                "under": (v := _latest_apl(r, latest)) is not None and v < APL_THRESHOLD,
                "accessibility": to_number(r.get("accessibility")),
                "gp_count": to_number(r.get("gp_count")),
                "minutes": [to_number(_get(r, "minutes", c["key"])) for c in time_cols],
            }
        )
    table.sort(
        key=lambda r: (
            r["apl_latest"] is None,
            r["apl_latest"] if r["apl_latest"] is not None else 0,
            str(r["name"]),
        )
    )
    return {
        "commune_rows": table,
        "commune_time_cols": time_cols,
        "commune_years": years,
        "commune_has_acc": any(r["accessibility"] is not None for r in table),
        "commune_has_gp": any(r["gp_count"] is not None for r in table),
    }


def _short_time_label(t: Mapping) -> str:
    """A column header for a facility kind: the label up to its first parenthesis or comma."""
    label = str(t.get("label") or t.get("key") or "")
    for sep in (" (", ","):
        label = label.split(sep)[0]
    return label


def _key_figures(
    figures: Mapping[str, Any], ctx: Mapping[str, Any], population: float | None
) -> list[dict[str, Any]]:
    """The "chiffres clés" box of the cover page (at most six figures, each with a comparison)."""
    out: list[dict[str, Any]] = [
        {
            "label": "habitants",
            "value": fr_number(population),
            "note": f"{fr_number(figures.get('communes'))} communes",
        }
    ]
    gp = next((r for r in ctx.get("offer_rows", []) if r["key"] == "medecin_generaliste"), None)
    if gp is not None:
        out.append(
            {
                "label": f"médecins généralistes pour 10{NNBSP}000 hab."
                + (f"{NBSP}{SYNTHETIC_MARK}" if gp["synthetic"] else ""),
                "value": fr_number(gp["density"], 1),
                "note": f"département{NBSP}: {fr_number(gp['density_dep'], 1)}",
            }
        )
    last = ctx.get("apl_latest_row") or {}
    if last:
        out.append(
            {
                "label": f"APL DREES {last.get('year')} (consultations/an/hab.)",
                "value": fr_number(last.get("territory"), 2),
                "note": f"France{NBSP}: {fr_number(last.get('france'), 2)}",
            }
        )
        out.append(
            {
                "label": "de la population en commune sous-dense (APL < 2,5)",
                "value": fr_percent(last.get("below_share")),
                "note": f"{fr_number(last.get('below_population'))} habitants",
            }
        )
    first_time = ctx.get("time_rows") or []
    emergency = next((t for t in first_time if t["key"] == "emergency"), None)
    if emergency is not None:
        pop30, share30 = emergency["beyond"][1]
        out.append(
            {
                "label": "temps moyen d'accès au centre hospitalier (urgences, approx.)",
                "value": f"{fr_number(emergency['mean'], 1)}{NNBSP}min",
                "note": f"{fr_percent(share30, 1)} à plus de 30 min",
            }
        )
    if ctx.get("establishments_total"):
        out.append(
            {
                "label": "établissements FINESS",
                "value": fr_number(ctx.get("establishments_total")),
                "note": f"{fr_number(ctx.get('establishments_categories'))} catégories",
            }
        )
    return out[:6]
