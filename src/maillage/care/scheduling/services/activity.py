"""The activity of the care sites from the database, counted by
:mod:`maillage.analytics.care_activity` (the same function the seeds' calibration is checked
with).

:func:`frames` reads Slot and Booking rows into the two plain tables that module counts:
sessions (one row per site, day and half-day: its first start, last end, seats offered) and
bookings (site, slot start, status, a pseudonymous patient key ``p<person id>``, médecin
traitant yes/no, age at the slot's date or the band kept after anonymisation, commune of
residence). No name, birth date, phone or free text ever enters these frames, so nothing built
from them (pages, CSV, XLSX, API) carries personal data. A month is *synthetic* when any of its
sessions or bookings is (the demo's history): the flag goes with every row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

from maillage.analytics import care_activity
from maillage.care.scheduling.models import Booking, BookingStatus, Site, Slot

#: Communes with fewer acts than this are not shown on the map nor in the commune table
#: (statistical secrecy: a handful of people in a small commune could be recognised).
MIN_ACTS_SHOWN = 5

#: Column labels of the tables and exports, in French.
LABELS = {
    "site": "Site",
    "month": "Mois",
    "half_days": "Demi-journées ouvertes",
    "days_open": "Jours ouverts",
    "hours_open": "Heures ouvertes",
    "slots_offered": "Créneaux offerts",
    "booked": "Rendez-vous pris",
    "acts": "Actes (honorés)",
    "no_shows": "Absences",
    "no_show_rate": "Taux d'absence",
    "distinct_patients": "Patients distincts",
    "acts_per_day": "Actes par jour",
    "acts_per_hour": "Actes par heure",
    "share_without_gp": "Part sans médecin traitant",
    **{band: f"Âge {band}" for band, _, _ in care_activity.AGE_BANDS},
    "synthetic": "Synthétique",
}


@dataclass(frozen=True)
class Activity:
    monthly: pd.DataFrame
    totals: pd.DataFrame
    residence: pd.DataFrame
    site_names: dict[str, str]
    synthetic: bool


def _window(qs, field: str, start: dt.date | None, end: dt.date | None):  # type: ignore[no-untyped-def]
    from maillage.care.scheduling.services.generation import local_zone

    zone = local_zone()
    if start is not None:
        qs = qs.filter(**{f"{field}__gte": dt.datetime.combine(start, dt.time(0), zone)})
    if end is not None:
        qs = qs.filter(**{f"{field}__lt": dt.datetime.combine(end, dt.time(0), zone)})
    return qs


def frames(
    sites: Sequence[Site],
    start: dt.date | None = None,
    end: dt.date | None = None,
    until: dt.datetime | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(sessions, bookings) of ``sites`` between ``start`` and ``end`` (local dates, end
    excluded), with a ``synthetic`` column each. Sessions are the slots already begun by
    ``until`` (default: now): slots ahead are not yet "opened"."""
    from django.utils import timezone

    until = until or timezone.now()
    ids = [s.pk for s in sites]
    slots = _window(
        Slot.objects.filter(schedule__site__in=ids, blocked=False, start__lt=until),
        "start",
        start,
        end,
    ).values_list("schedule__site__slug", "start", "end", "capacity", "schedule__synthetic")
    s = pd.DataFrame(list(slots), columns=["site", "start", "end", "slots", "synthetic"])
    if len(s):
        local = care_activity._local(s["start"])
        s["day"] = local.dt.date
        s["half"] = np.where(local.dt.hour < 13, "am", "pm")
        s = (
            s.groupby(["site", "day", "half"])
            .agg(
                start=("start", "min"),
                end=("end", "max"),
                slots=("slots", "sum"),
                synthetic=("synthetic", "any"),
            )
            .reset_index()
            .loc[:, ["site", "start", "end", "slots", "synthetic"]]
        )
    rows = _window(
        Booking.objects.filter(slot__schedule__site__in=ids, slot__start__lt=until),
        "slot__start",
        start,
        end,
    ).values_list(
        "slot__schedule__site__slug",
        "slot__start",
        "status",
        "person_id",
        "has_gp",
        "person__birth_date",
        "person__age_band_kept",
        "person__commune_id",
        "synthetic",
    )
    b = pd.DataFrame(
        list(rows),
        columns=[
            "site", "start", "status", "person", "has_gp", "birth", "age_band", "commune",
            "synthetic",
        ],
    )  # fmt: skip
    if len(b):
        local_day = care_activity._local(b["start"]).dt.date
        b["age"] = [
            (d.year - born.year - ((d.month, d.day) < (born.month, born.day)))
            if born is not None
            else np.nan
            for d, born in zip(local_day, b["birth"], strict=True)
        ]
    else:
        b["age"] = pd.Series(dtype=float)
    b["patient"] = "p" + b["person"].astype(str)
    b["has_gp"] = b["has_gp"].astype(object).where(b["has_gp"].notna(), None)
    b = b.drop(columns=["person", "birth"])
    return s, b


def compute(
    sites: Sequence[Site],
    start: dt.date | None = None,
    end: dt.date | None = None,
    until: dt.datetime | None = None,
) -> Activity:
    """The activity of ``sites``: per site and month, per site over the period, per commune."""
    sessions, bookings = frames(sites, start, end, until)
    monthly = care_activity.monthly_activity(sessions, bookings)
    synthetic_months = set()
    for frame in (sessions, bookings):
        if len(frame):
            months = care_activity._local(frame["start"]).dt.strftime("%Y-%m")
            flagged = frame.assign(month=months)[frame["synthetic"].astype(bool)]
            synthetic_months |= set(zip(flagged["site"], flagged["month"], strict=True))
    monthly["synthetic"] = [
        (site, month) in synthetic_months
        for site, month in zip(monthly["site"], monthly["month"], strict=True)
    ]
    totals = (
        care_activity.totals(monthly, bookings)
        if len(monthly)
        else pd.DataFrame(columns=list(care_activity.MONTHLY_COLUMNS))
    )
    if len(totals):
        flagged = monthly.groupby("site")["synthetic"].any()
        totals["synthetic"] = totals["site"].map(flagged).fillna(False).astype(bool)
    residence = (
        care_activity.residence(bookings)
        if len(bookings)
        else pd.DataFrame(columns=["site", "commune", "acts"])
    )
    return Activity(
        monthly=monthly,
        totals=totals,
        residence=residence,
        site_names={s.slug: s.name for s in sites},
        synthetic=bool(monthly["synthetic"].any()) if len(monthly) else False,
    )


def communes_shown(residence: pd.DataFrame) -> dict[str, int]:
    """Acts per commune of residence over all sites, communes under :data:`MIN_ACTS_SHOWN`
    left out."""
    if not len(residence):
        return {}
    acts = residence.groupby("commune")["acts"].sum()
    return {str(c): int(n) for c, n in acts.items() if n >= MIN_ACTS_SHOWN}


EXPORT_COLUMNS = [*care_activity.MONTHLY_COLUMNS, "synthetic"]


def _cell(value: object) -> object:
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else round(float(value), 4)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def export_rows(activity: Activity) -> list[list[object]]:
    """Header (French labels) then one row per site and month: aggregates only."""
    rows: list[list[object]] = [[LABELS[c] for c in EXPORT_COLUMNS]]
    for record in activity.monthly.loc[:, EXPORT_COLUMNS].itertuples(index=False):
        values = [_cell(v) for v in record]
        values[0] = activity.site_names.get(values[0], values[0])
        values[-1] = "oui" if values[-1] else "non"
        rows.append(values)
    return rows


def to_csv(activity: Activity) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    if activity.synthetic:
        writer.writerow(["DONNÉES SYNTHÉTIQUES (démonstration) pour les mois marqués « oui »"])
    for row in export_rows(activity):
        writer.writerow(
            [
                "" if v is None else str(v).replace(".", ",") if isinstance(v, float) else v
                for v in row
            ]
        )
    return out.getvalue()


def to_xlsx(activity: Activity) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    book = Workbook()
    sheet = book.active
    sheet.title = "Activité mensuelle"
    row0 = 1
    if activity.synthetic:
        sheet.cell(1, 1, "DONNÉES SYNTHÉTIQUES (démonstration) pour les mois marqués « oui »")
        sheet.cell(1, 1).font = Font(bold=True, color="8A4B00")
        row0 = 2
    for i, row in enumerate(export_rows(activity)):
        for j, value in enumerate(row, start=1):
            cell = sheet.cell(row0 + i, j, value)
            if i == 0:
                cell.font = Font(bold=True)
                cell.fill = PatternFill("solid", fgColor="F0F4F8")
    sheet.freeze_panes = sheet.cell(row0 + 1, 3)
    for column in sheet.columns:
        sheet.column_dimensions[column[0].column_letter].width = 14
    sheet.column_dimensions["A"].width = 40
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def acts_chart_svg(monthly: pd.DataFrame, names: dict[str, str]) -> str:
    """Acts per month, one line per site, as an inline SVG (no JavaScript); months of the
    synthetic history drawn dashed."""
    acts_by_site = monthly.groupby("site")["acts"].sum()
    monthly = monthly[monthly["site"].isin(acts_by_site[acts_by_site > 0].index)]
    if not len(monthly):
        return ""
    months = sorted(monthly["month"].unique())
    colors = ["#1f4e79", "#c05621", "#2f855a", "#6b46c1", "#b7791f", "#c53030", "#2c7a7b"]
    width, right, left, bottom, plot_h = 900, 20, 50, 40, 230
    # the legend first, wrapped in rows: the plot starts below it
    legend: list[str] = []
    legend_x, legend_y = left + 10, 12
    for n, site in enumerate(sorted(monthly["site"].unique())):
        label = names.get(site, site)
        item = 20 + 7 * len(label) + 24
        if legend_x + item > width - right and legend_x > left + 10:
            legend_x, legend_y = left + 10, legend_y + 18
        legend.append(
            f'<rect x="{legend_x}" y="{legend_y - 6}" width="14" height="4" '
            f'fill="{colors[n % len(colors)]}"/><text x="{legend_x + 20}" y="{legend_y}" '
            f'font-size="12" fill="#1f2933">{escape(label)}</text>'
        )
        legend_x += item
    top = legend_y + 18
    height = top + plot_h + bottom
    plot_w = width - left - right
    top_value = max(float(monthly["acts"].max()), 1.0)
    magnitude = 10 ** int(np.floor(np.log10(top_value)))
    top_value = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= top_value)
    x_of = {
        m: left + (plot_w * i / (len(months) - 1) if len(months) > 1 else plot_w / 2)
        for i, m in enumerate(months)
    }
    out: list[str] = list(legend)
    for k in range(5):
        v = top_value * k / 4
        y = top + plot_h - plot_h * k / 4
        out.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#d5dbe3"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="12" text-anchor="end" '
            f'fill="#52606d">{v:.0f}</text>'
        )
    step = max(1, len(months) // 10)
    for i, m in enumerate(months):
        if i % step == 0:
            out.append(
                f'<text x="{x_of[m]:.1f}" y="{height - 15}" font-size="12" text-anchor="middle" '
                f'fill="#52606d">{m[5:]}/{m[2:4]}</text>'
            )
    for n, (_site, rows) in enumerate(monthly.groupby("site")):
        color = colors[n % len(colors)]
        points = [
            (x_of[m], top + plot_h - plot_h * a / top_value, bool(syn))
            for m, a, syn in zip(rows["month"], rows["acts"], rows["synthetic"], strict=True)
        ]
        if len(points) <= 24:  # few months: a dot per month (a single month has no line)
            out.extend(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{color}"/>' for x, y, _ in points
            )
        for (x0, y0, s0), (x1, y1, s1) in zip(points, points[1:], strict=False):
            dash = ' stroke-dasharray="4 3"' if (s0 or s1) else ""
            out.append(
                f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" '
                f'stroke="{color}" stroke-width="2"{dash}/>'
            )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'font-family="DejaVu Sans, sans-serif"><title>Actes par mois et par site '
        f"(pointillés : historique synthétique)</title>{''.join(out)}</svg>"
    )


def sites_for(user: object, all_sites: Iterable[Site]) -> list[Site]:
    """Coordinators and administrators see every site; nurses and operators their own."""
    from maillage.accounts.models import Role
    from maillage.accounts.permissions import role_of

    role = role_of(user)
    if role in (Role.COORDINATOR, Role.ADMINISTRATOR):
        return list(all_sites)
    if role in (Role.NURSE, Role.OPERATOR):
        return [s for s in all_sites if s.staff.filter(pk=user.pk).exists()]  # type: ignore[attr-defined]
    return []


HONOURED = BookingStatus.HONOURED
