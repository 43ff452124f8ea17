"""The nominative list the prefect may ask for during an alert (CSV or XLSX): the active
registrations of the user's communes, audited as an export (purpose ``register_prefect``,
with the format). Cells typed by the public (names, addresses) never run as formulas: in the
CSV a leading ``= + - @`` is quoted with an apostrophe, in the XLSX every cell is text or a
date."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from django.utils import timezone

from maillage.care.people import audit
from maillage.care.register.models import Registration
from maillage.care.register.services.registrations import visible

PURPOSE = "register_prefect"
COLUMNS = [
    "commune", "nom", "prénom", "date de naissance", "téléphone", "adresse", "vit seule",
    "mobilité", "appareil électrique", "personnes à prévenir", "inscrite le", "synthétique",
]  # fmt: skip


def rows(user: Any, communes: set[str] | None, fmt: str) -> list[list[Any]]:
    """The list's rows (dates as dates), audited as one export."""
    shown = list(visible(user, communes).order_by("commune__name", "pk"))
    audit.record_list(user, shown, PURPOSE, action="export", format=fmt)
    return [_row(r) for r in shown]


def _row(r: Registration) -> list[Any]:
    p = r.person
    return [
        r.commune.name, p.used_name or p.birth_name, p.used_first_name or p.first_names,
        p.birth_date, p.phone_display, r.address, "oui" if r.living_alone else "non",
        r.get_mobility_display(), "oui" if r.power_devices else "non", r.emergency_contacts,
        timezone.localtime(r.created_at).date(), "synthétique" if r.synthetic else "",
    ]  # fmt: skip


def _cell(value: Any) -> str:
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def to_csv(table: list[list[Any]]) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";")
    writer.writerow(COLUMNS)
    writer.writerows([_cell(v) for v in row] for row in table)
    return out.getvalue()


def to_xlsx(table: list[list[Any]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Registre"
    for c, title in enumerate(COLUMNS, start=1):
        sheet.cell(1, c, title).font = Font(bold=True)
    for r, row in enumerate(table, start=2):
        for c, value in enumerate(row, start=1):
            cell = sheet.cell(r, c)
            if isinstance(value, dt.date):
                cell.value = value
                cell.number_format = "DD/MM/YYYY"
            else:
                cell.value = "" if value is None else str(value)
                cell.data_type = "s"  # never a formula, whatever the text begins with
    sheet.freeze_panes = "A2"
    widths = (18, 18, 18, 12, 16, 36, 9, 28, 10, 36, 12, 12)
    for letter, width in zip("ABCDEFGHIJKL", widths, strict=True):
        sheet.column_dimensions[letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
