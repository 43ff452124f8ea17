"""The diagnostic figures as an Excel workbook, one sheet per table of the report.

Why a workbook besides the PDF: ARS and CPTS analysts re-use the tables (pivot, merge with their
own files, re-chart). So numbers are stored as numbers with a number format (never as
pre-formatted French strings), a missing value is an empty cell (not "n.d.", which would break
sums), and every sheet has the same layout: title (row 1), note (row 2, saying when the sheet is
built on synthetic data), a bold frozen header (row 3) with an autofilter, data from row 4. Read
one back with ``pandas.read_excel(path, sheet_name="Offre", header=2)``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from maillage.observatory.report.context import (
    APL_THRESHOLD,
    SYNTHETIC_BANNER,
    TIME_THRESHOLDS,
    _get,
    _years,
)
from maillage.observatory.report.formatting import fr_date, to_number

INT = "#,##0"
DEC1 = "0.0"
DEC2 = "0.00"
PCT = "0.0%"
AUTO = "auto"  # integer format for whole numbers, two decimals otherwise

NAVY = "1F3A5F"
HEADER_FILL = PatternFill("solid", fgColor="E7EDF4")
HEADER_FONT = Font(bold=True, color=NAVY)
TITLE_FONT = Font(bold=True, size=13, color=NAVY)
NOTE_FONT = Font(italic=True, size=9, color="5F6B7A")
SYNTHETIC_FONT = Font(italic=True, bold=True, size=9, color="A15C00")
HEADER_BORDER = Border(bottom=Side(style="medium", color=NAVY))

SYNTHETIC_NOTE = f"† {SYNTHETIC_BANNER} Ne pas utiliser ces valeurs pour décrire l'offre réelle."


@dataclass(frozen=True)
class Column:
    """A column of a sheet: header, width (characters) and number format (``None`` = text)."""

    header: str
    width: float
    number_format: str | None = None


def _cell_value(value: Any, number_format: str | None) -> Any:
    """Numbers stay numbers (``None``/NaN → empty cell); text columns get text."""
    if number_format is None:
        if value is None:
            return None
        if isinstance(value, bool):
            return "oui" if value else "non"
        return value if isinstance(value, int | float) else str(value)
    return to_number(value)


def _write_table(
    ws: Worksheet,
    title: str,
    note: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Any]],
    *,
    synthetic: bool = False,
    freeze_columns: int = 0,
) -> None:
    ws["A1"] = title
    ws["A1"].font = TITLE_FONT
    ws["A2"] = note
    ws["A2"].font = SYNTHETIC_FONT if synthetic else NOTE_FONT
    for j, column in enumerate(columns, start=1):
        cell = ws.cell(row=3, column=j, value=column.header)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.border = HEADER_BORDER
        cell.alignment = Alignment(wrap_text=True, vertical="bottom")
        ws.column_dimensions[get_column_letter(j)].width = column.width
    for i, row in enumerate(rows, start=4):
        for j, column in enumerate(columns, start=1):
            value = _cell_value(row[j - 1] if j - 1 < len(row) else None, column.number_format)
            cell = ws.cell(row=i, column=j, value=value)
            if column.number_format == AUTO and value is not None:
                cell.number_format = INT if float(value).is_integer() else DEC2
            elif column.number_format and value is not None:
                cell.number_format = column.number_format
            elif column.number_format is None and isinstance(value, str) and len(value) > 60:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.row_dimensions[3].height = 32
    ws.freeze_panes = ws.cell(row=4, column=1 + freeze_columns)
    last_row = max(3, 3 + len(rows))
    ws.auto_filter.ref = f"A3:{get_column_letter(len(columns))}{last_row}"


def _note(synthetic: bool, source: str) -> str:
    return SYNTHETIC_NOTE if synthetic else f"Source : {source}"


def render_xlsx(figures: Mapping[str, Any]) -> bytes:
    """The workbook as bytes (sheets: Synthèse, Offre, APL DREES, Accessibilité, Temps d'accès,
    Établissements, Communes, Sources)."""
    territory = _get(figures, "territory", default={})
    name = territory.get("name") or territory.get("slug") or "Territoire"
    synthetic = bool(figures.get("synthetic_practitioners"))
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.title = f"Diagnostic territorial — {name}"
    wb.properties.creator = f"maillage {figures.get('maillage_version') or ''}".strip()
    try:
        stamp = datetime.fromisoformat(str(figures.get("generated_at")))
        wb.properties.created = wb.properties.modified = stamp.replace(tzinfo=None)
    except ValueError:
        pass

    _summary_sheet(wb.create_sheet("Synthèse"), figures, name, synthetic)
    _offer_sheet(wb.create_sheet("Offre"), figures, name)
    _apl_sheet(wb.create_sheet("APL DREES"), figures, name)
    _accessibility_sheet(wb.create_sheet("Accessibilité"), figures, name, synthetic)
    _times_sheet(wb.create_sheet("Temps d'accès"), figures, name)
    _establishments_sheet(wb.create_sheet("Établissements"), figures, name)
    _communes_sheet(wb.create_sheet("Communes"), figures, name, synthetic)
    _sources_sheet(wb.create_sheet("Sources"), figures, name)

    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _summary_sheet(ws: Worksheet, figures: Mapping[str, Any], name: str, synthetic: bool) -> None:
    territory = _get(figures, "territory", default={})
    main = _get(figures, "main_commune", default={})
    departements = ", ".join(
        f"{d.get('name', '')} ({d.get('code', '')})"
        for d in figures.get("departements") or []
        if isinstance(d, Mapping)
    )
    apl = figures.get("apl_drees") or {}
    years = _years(apl)
    rows: list[list[Any]] = [
        ["Territoire", name, None],
        ["Type", territory.get("kind_label") or territory.get("kind"), None],
        ["Code", territory.get("code"), None],
        ["Rapport généré le", fr_date(figures.get("generated_at")), None],
        ["Version de maillage", figures.get("maillage_version"), None],
        ["Communes", None, figures.get("communes")],
        ["Population", None, figures.get("population")],
        ["Source des populations", figures.get("population_source"), None],
        ["Commune principale", main.get("name"), main.get("population")],
        ["Département(s)", departements, None],
        ["Région", _get(figures, "region", "name"), None],
        ["Professionnels de santé synthétiques", "oui" if synthetic else "non", None],
    ]
    for year in years:
        rows.append([f"APL DREES {year} (territoire)", None, to_number(apl.get(year))])
    below = figures.get("apl_below_2_5") or {}
    for year in _years(below):
        rows.append(
            [
                f"Population en commune APL < {APL_THRESHOLD:.1f} ({year})".replace(".", ","),
                None,
                _get(below, year, "population"),
            ]
        )
    for item in figures.get("synthesis") or []:
        rows.append(["Constat", item, None])
    for item in figures.get("warnings") or []:
        rows.append(["Avertissement", item, None])
    columns = [Column("Rubrique", 38), Column("Texte", 90), Column("Valeur", 14, AUTO)]
    _write_table(
        ws,
        f"Diagnostic territorial — {name}",
        _note(synthetic, "maillage, synthèse du diagnostic"),
        columns,
        rows,
        synthetic=synthetic,
    )
    for row in ws.iter_rows(min_row=4, min_col=2, max_col=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def _offer_sheet(ws: Worksheet, figures: Mapping[str, Any], name: str) -> None:
    offer = figures.get("offer") or {}
    main = _get(figures, "main_commune", "name", default="commune principale")
    rows = []
    synthetic = False
    for key, item in offer.items() if isinstance(offer, Mapping) else []:
        if not isinstance(item, Mapping):
            continue
        synthetic = synthetic or bool(item.get("synthetic"))
        rows.append(
            [
                item.get("label") or key,
                key,
                item.get("count"),
                item.get("count_main_commune"),
                item.get("share_55_plus"),
                item.get("share_60_plus"),
                item.get("share_65_plus"),
                item.get("density_10k"),
                item.get("density_10k_departement"),
                item.get("density_10k_region"),
                item.get("density_10k_france"),
                bool(item.get("synthetic")),
            ]
        )
    columns = [
        Column("Profession", 34),
        Column("Clé", 24),
        Column("Effectif", 10, INT),
        Column(f"dont à {main}", 14, INT),
        Column("Part 55 ans et plus", 11, PCT),
        Column("Part 60 ans et plus", 11, PCT),
        Column("Part 65 ans et plus", 11, PCT),
        Column("Densité pour 10 000 hab. (territoire)", 15, DEC1),
        Column("Densité département", 13, DEC1),
        Column("Densité région", 13, DEC1),
        Column("Densité France", 13, DEC1),
        Column("Données synthétiques", 12),
    ]
    _write_table(
        ws,
        f"Offre de soins de premier recours — {name}",
        _note(synthetic, "maillage, annuaire des professionnels de santé"),
        columns,
        rows,
        synthetic=synthetic,
        freeze_columns=1,
    )


def _apl_sheet(ws: Worksheet, figures: Mapping[str, Any], name: str) -> None:
    apl = figures.get("apl_drees") or {}
    ref = figures.get("apl_drees_reference") or {}
    below = figures.get("apl_below_2_5") or {}
    years = _years(apl, below, *(ref.get(k) for k in ("departement", "region", "france")))
    rows = [
        [
            int(y) if y.isdigit() else y,
            _get(apl, y),
            _get(ref, "departement", y),
            _get(ref, "region", y),
            _get(ref, "france", y),
            _get(below, y, "population"),
            _get(below, y, "share"),
            _get(below, y, "communes"),
        ]
        for y in years
    ]
    columns = [
        Column("Année", 8, "0"),
        Column(f"APL {name}", 14, DEC2),
        Column("APL département", 13, DEC2),
        Column("APL région", 13, DEC2),
        Column("APL France", 13, DEC2),
        Column("Population en commune APL < 2,5", 16, INT),
        Column("Part de la population", 12, PCT),
        Column("Communes APL < 2,5", 12, INT),
    ]
    _write_table(
        ws,
        f"Accessibilité potentielle localisée aux médecins généralistes — {name}",
        "Source : DREES, APL (données réelles). Consultations accessibles par an et par habitant "
        "standardisé ; moyenne pondérée par la population standardisée.",
        columns,
        rows,
    )


def _accessibility_sheet(
    ws: Worksheet, figures: Mapping[str, Any], name: str, synthetic_default: bool
) -> None:
    acc = figures.get("accessibility") or {}
    synthetic = bool(acc.get("synthetic", synthetic_default))
    rows = [
        ["Indicateur", acc.get("label"), None],
        ["Unité", acc.get("unit"), None],
        ["Valeur pour le territoire", None, acc.get("value")],
        ["Valeur pour le département", None, acc.get("departement")],
        ["Pondération par temps d'accès", acc.get("weights"), None],
        ["Modèle de déplacement", acc.get("travel_model"), None],
        ["Calculé sur des professionnels synthétiques", "oui" if synthetic else "non", None],
    ]
    columns = [Column("Paramètre", 40), Column("Texte", 70), Column("Valeur", 12, DEC1)]
    _write_table(
        ws,
        f"Indice d'accessibilité maillage — {name}",
        _note(synthetic, "maillage, calcul E2SFCA"),
        columns,
        rows,
        synthetic=synthetic,
    )


def _times_sheet(ws: Worksheet, figures: Mapping[str, Any], name: str) -> None:
    times = [t for t in figures.get("access_times") or [] if isinstance(t, Mapping)]
    synthetic = any(t.get("synthetic") for t in times)
    rows = []
    for t in times:
        row = [t.get("label") or t.get("key"), t.get("key"), t.get("mean_minutes")]
        for k in TIME_THRESHOLDS:
            row += [_get(t, "population_beyond", k), _get(t, "share_beyond", k)]
        row.append(bool(t.get("synthetic")))
        rows.append(row)
    columns = [Column("Service", 44), Column("Clé", 20), Column("Temps moyen (min)", 11, DEC1)]
    for k in TIME_THRESHOLDS:
        columns += [
            Column(f"Population au-delà de {k} min", 13, INT),
            Column(f"Part au-delà de {k} min", 11, PCT),
        ]
    columns.append(Column("Données synthétiques", 12))
    _write_table(
        ws,
        f"Temps d'accès au service le plus proche — {name}",
        _note(synthetic, "maillage, modèle de temps de déplacement"),
        columns,
        rows,
        synthetic=synthetic,
        freeze_columns=1,
    )


def _establishments_sheet(ws: Worksheet, figures: Mapping[str, Any], name: str) -> None:
    rows = [
        [e.get("category_code"), e.get("label"), e.get("count")]
        for e in figures.get("establishments") or []
        if isinstance(e, Mapping)
    ]
    columns = [
        Column("Code catégorie FINESS", 12),
        Column("Catégorie", 60),
        Column("Nombre", 10, INT),
    ]
    _write_table(
        ws,
        f"Établissements FINESS par catégorie — {name}",
        "Source : FINESS, répertoire des établissements sanitaires et sociaux (données réelles).",
        columns,
        rows,
    )


def _communes_sheet(ws: Worksheet, figures: Mapping[str, Any], name: str, synthetic: bool) -> None:
    table = [r for r in figures.get("commune_table") or [] if isinstance(r, Mapping)]
    years = _years(*(r.get("apl") for r in table))
    times = [t for t in figures.get("access_times") or [] if isinstance(t, Mapping)]
    keys = [str(t.get("key")) for t in times]
    labels = {str(t.get("key")): str(t.get("label") or t.get("key")) for t in times}
    marks = {str(t.get("key")): " †" if t.get("synthetic") else "" for t in times}
    mark = " †" if synthetic else ""
    columns = [
        Column("Code commune", 10),
        Column("Commune", 28),
        Column("Population", 11, INT),
        *(Column(f"APL DREES {y}", 10, DEC2) for y in years),
        Column(f"Indice maillage{mark}", 11, DEC1),
        Column(f"Médecins généralistes{mark}", 12, INT),
        *(Column(f"Temps (min) : {labels[k]}{marks[k]}", 16, DEC1) for k in keys),
    ]
    rows = [
        [
            r.get("code"),
            r.get("name"),
            r.get("population"),
            *(_get(r, "apl", y) for y in years),
            r.get("accessibility"),
            r.get("gp_count"),
            *(_get(r, "minutes", k) for k in keys),
        ]
        for r in table
    ]
    _write_table(
        ws,
        f"Communes — {name}",
        _note(synthetic, "INSEE, DREES, maillage"),
        columns,
        rows,
        synthetic=synthetic,
        freeze_columns=2,
    )
    ws.row_dimensions[3].height = 58


def _sources_sheet(ws: Worksheet, figures: Mapping[str, Any], name: str) -> None:
    rows = []
    for s in figures.get("sources") or []:
        if isinstance(s, Mapping):
            rows.append([s.get("label"), s.get("detail")])
        else:
            rows.append([str(s), None])
    acc = figures.get("accessibility") or {}
    rows += [
        [
            "Méthode : APL",
            "Indicateur DREES (2SFCA) ; valeur territoriale = moyenne des APL communales pondérée "
            "par la population standardisée ; sous-densité : APL < 2,5 consultations par an et par "
            "habitant.",
        ],
        [
            "Méthode : indice maillage",
            f"E2SFCA ; pondérations : {acc.get('weights') or 'n.d.'} ; "
            f"déplacements : {acc.get('travel_model') or 'n.d.'}.",
        ],
        [
            "Cellules vides",
            "Valeur non disponible (n.d. dans le rapport).",
        ],
    ]
    if figures.get("synthetic_practitioners"):
        rows.append(["Données synthétiques", SYNTHETIC_BANNER])
    _write_table(
        ws,
        f"Sources et méthodes — {name}",
        "Les sources réelles et synthétiques sont distinguées dans chaque feuille (ligne 2).",
        [Column("Source", 42), Column("Détail", 110)],
        rows,
    )
    for row in ws.iter_rows(min_row=4, min_col=2, max_col=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
