"""The indicators as a trend chart (inline SVG, drawn like the scheduling activity chart) and as
CSV/XLSX files: figures by hospital, service and month, never a person."""

from __future__ import annotations

import csv
import io
from html import escape
from typing import Any

COLUMNS = [
    ("hospital", "Établissement"),
    ("service", "Service"),
    ("month", "Mois"),
    ("discharges", "Sorties"),
    ("sent", "Lettres envoyées"),
    ("median_delay_hours", "Délai médian d'envoi (h)"),
    ("sent_same_day_share", "Part envoyée le jour de la sortie"),
    ("sent_within_7_days_share", "Part envoyée sous 7 jours"),
    ("acknowledged_share", "Part des lettres reçues (accusé)"),
    ("evening_share", "Part des sorties après 18 h"),
    ("weekend_share", "Part des sorties le week-end"),
]


def _cell(value: Any) -> Any:
    return "" if value is None else value


def to_csv(rows: list[dict[str, Any]], synthetic: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    if synthetic:
        writer.writerow(["# Données synthétiques (démonstration)"])
    writer.writerow([label for _, label in COLUMNS])
    for row in rows:
        writer.writerow([_cell(row.get(key)) for key, _ in COLUMNS])
    return out.getvalue()


def to_xlsx(rows: list[dict[str, Any]], synthetic: bool) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Lettres de sortie"
    if synthetic:
        sheet.append(["Données synthétiques (démonstration)"])
    sheet.append([label for _, label in COLUMNS])
    for row in rows:
        sheet.append([row.get(key) for key, _ in COLUMNS])
    sheet.column_dimensions["A"].width = 40
    sheet.column_dimensions["B"].width = 24
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


COLORS = ["#1f4e79", "#c05621", "#2f855a", "#6b46c1", "#b7791f", "#c53030", "#2c7a7b"]


def trend_svg(rows: list[dict[str, Any]], key: str = "median_delay_hours") -> str:
    """One line per hospital of ``key`` by month (rows grouped by hospital and month)."""
    points = [r for r in rows if r.get(key) is not None]
    if not points:
        return ""
    months = sorted({r["month"] for r in points})
    hospitals = sorted({r["hospital"] for r in points})
    width, left, right, top, plot_h, bottom = 900, 50, 20, 20 + 18 * len(hospitals), 220, 40
    height = top + plot_h + bottom
    plot_w = width - left - right
    top_value = max(max(float(r[key]) for r in points), 1.0)
    top_value = next(
        m for m in (1, 2, 5, 10, 24, 48, 72, 120, 168, 240, 336, 720, 10**6) if m >= top_value
    )
    x_of = {m: left + (plot_w * i / (len(months) - 1) if len(months) > 1 else plot_w / 2)
            for i, m in enumerate(months)}  # fmt: skip
    out = []
    for n, name in enumerate(hospitals):
        y = 14 + 18 * n
        out.append(
            f'<rect x="{left + 10}" y="{y - 6}" width="14" height="4" fill="{COLORS[n % 7]}"/>'
            f'<text x="{left + 30}" y="{y}" font-size="12" fill="#1f2933">{escape(name)}</text>'
        )
    for k in range(5):
        v, y = top_value * k / 4, top + plot_h - plot_h * k / 4
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#d5dbe3"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="12" text-anchor="end" '
            f'fill="#52606d">{v:.0f}</text>'
        )
    for m in months:
        out.append(
            f'<text x="{x_of[m]:.1f}" y="{height - 15}" font-size="12" text-anchor="middle" '
            f'fill="#52606d">{m[5:]}/{m[2:4]}</text>'
        )
    for n, name in enumerate(hospitals):
        color = COLORS[n % 7]
        mine = sorted((r for r in points if r["hospital"] == name), key=lambda r: r["month"])
        line = [(x_of[r["month"]], top + plot_h - plot_h * float(r[key]) / top_value) for r in mine]
        out.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>' for x, y in line)
        if len(line) > 1:
            coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in line)
            out.append(
                f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"/>'
            )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'font-family="DejaVu Sans, sans-serif" data-testid="trend-chart"><title>Délai médian '
        f"d'envoi de la lettre de liaison (heures) par mois et par établissement</title>"
        f"{''.join(out)}</svg>"
    )
