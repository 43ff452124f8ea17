"""The waiting list's dashboard for a set of communes: :func:`~.summary.waiting_figures` (the
same numbers as ``maillage care summary``), the figures by commune and priority band, the
share placed per month, a map of the people waiting, and the CSV/XLSX exports. Aggregates
only: no name, no request, nothing personal."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass
from typing import Any

from maillage.care.attachment.models import AttachmentRequest
from maillage.care.attachment.services import summary

#: No imported open source gives the share of patients without a médecin traitant by commune
#: (the Assurance maladie publishes it by département in its reports, not as open data).
OFFICIAL_SOURCE_MISSING = (
    "Aucune source officielle de la part de patients sans médecin traitant n'est importée "
    "dans maillage (l'Assurance maladie ne la publie pas en données ouvertes par commune) : "
    "elle n'est pas montrée à côté de ces chiffres."
)


@dataclass
class Dashboard:
    totals: dict[str, Any]
    communes: list[dict[str, Any]]
    months: list[dict[str, Any]]
    bands: list[dict[str, Any]]
    synthetic: bool


def compute(communes: set[str], now: dt.datetime) -> Dashboard:
    return Dashboard(
        totals=summary.waiting_figures(communes, now),
        communes=summary.by_commune(communes, now),
        months=summary.placed_by_month(communes, now),
        bands=summary.dashboard_settings()["priority_bands"],
        synthetic=AttachmentRequest.objects.filter(
            commune_id__in=communes, person__synthetic=True
        ).exists(),
    )


def map_svg(board: Dashboard, communes: set[str], band: str = "") -> str:
    """A choropleth of the people waiting (of one priority band when ``band``) by commune."""
    from maillage.observatory.report.svgmap import (
        PALETTES,
        choropleth_svg,
        classes_from_breaks,
        spread_palette,
    )
    from maillage.territory.models import Commune

    key = f"waiting_{band}" if band else "waiting"
    values = {r["commune"]: float(r[key]) for r in board.communes}
    drawn = Commune.objects.filter(pk__in=list(communes)).only("code", "name", "geometry")
    shapes = {c.code: c.geometry for c in drawn if c.geometry}
    if not shapes:
        return ""
    names = {c.code: c.name for c in drawn}
    values = {code: values.get(code, 0.0) for code in shapes}
    top = max(values.values(), default=0.0)
    # "< 1" is nobody waiting; then up to three classes of whole people
    breaks = sorted({1.0} | {float(max(1, round(top * f))) for f in (0.25, 0.5, 0.75)})
    classes = [
        (lower, upper, color, _count_label(lower, upper))
        for lower, upper, color, _ in classes_from_breaks(
            breaks, spread_palette(PALETTES["YlOrRd5"], len(breaks) + 1), decimals=0
        )
    ]
    label = next((b["label"].lower() for b in board.bands if b["key"] == band), "")
    return choropleth_svg(
        shapes, values, classes,
        "Personnes en attente d'un médecin traitant" + (f" ({label})" if label else ""),
        "Personnes", names=names,
        labels=[max(values, key=values.get)] if top else [],
        value_format=lambda v: "n.d." if v is None else f"{v:.0f}",
        uid="attente",
    )  # fmt: skip


COMMUNE_COLUMNS = [
    ("commune", "Code commune"), ("name", "Commune"), ("waiting", "Personnes en attente"),
] + [
    (f"waiting_{b['key']}", f"En attente — {b['label'].lower()}")
    for b in summary.dashboard_settings()["priority_bands"]
] + [
    ("placed", "Placées"), ("gps_with_capacity", "Médecins ayant déclaré une capacité"),
    ("capacity_per_month", "Capacité déclarée par mois"),
    ("balance", "Capacité moins demande"),
]  # fmt: skip
MONTH_COLUMNS = [("month", "Mois"), ("requests", "Demandes du mois"),
                 ("placed", "Dont placées depuis"), ("placed_share", "Part placée")]  # fmt: skip
TOTAL_LABELS = {
    "people": "Personnes en attente", "proposed": "Dont proposées à un médecin",
    "median_wait_days": "Attente médiane (jours)", "requests": "Demandes reçues",
    "placed": "Demandes placées", "placed_share": "Part placée",
    "gps_with_capacity": "Médecins ayant déclaré une capacité",
    "capacity_per_month": "Capacité déclarée par mois",
}  # fmt: skip


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> list[list[Any]]:
    return [[label for _, label in columns]] + [[r.get(k) for k, _ in columns] for r in rows]


def to_csv(board: Dashboard) -> str:
    """Per commune, then the totals (the numbers of the page), then per month."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    if board.synthetic:
        writer.writerow(["DONNÉES SYNTHÉTIQUES (démonstration)"])
    writer.writerows(_table(board.communes, COMMUNE_COLUMNS))
    writer.writerow([])
    writer.writerows([[label, board.totals.get(k)] for k, label in TOTAL_LABELS.items()])
    writer.writerow([])
    writer.writerows(_table(board.months, MONTH_COLUMNS))
    return out.getvalue()


def to_xlsx(board: Dashboard) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheets = [
        ("Par commune", _table(board.communes, COMMUNE_COLUMNS)),
        ("Totaux", [["Indicateur", "Valeur"]] + [[label, board.totals.get(k)]
                                                  for k, label in TOTAL_LABELS.items()]),
        ("Par mois", _table(board.months, MONTH_COLUMNS)),
    ]  # fmt: skip
    for i, (title, rows) in enumerate(sheets):
        sheet = book.active if i == 0 else book.create_sheet()
        sheet.title = title
        if board.synthetic:
            rows = [["DONNÉES SYNTHÉTIQUES (démonstration)"], *rows]
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                sheet.cell(r, c, value).font = Font(bold=r == 1 + board.synthetic)
        sheet.column_dimensions["A"].width = 36
        sheet.column_dimensions["B"].width = 24
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _count_label(lower: float, upper: float) -> str:
    """A class of whole people, [lower, upper): "aucune", "1", "2 à 4", "≥ 5"."""
    if lower == -math.inf:
        return "aucune"
    if upper == math.inf:
        return f"≥ {lower:.0f}"
    last = upper - 1
    return f"{lower:.0f}" if last <= lower else f"{lower:.0f} à {last:.0f}"
