"""FINESS establishments import: organizations keyed on the FINESS ET number."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from maillage import opendata
from maillage.directory.imports.provenance import FINESS_RULES, merge_fields
from maillage.directory.models import (
    Organization,
    Source,
)
from maillage.imports import ImportReport, run_import, upsert
from maillage.paths import shipped_data_dir
from maillage.territory.models import Commune


def shipped_finess() -> Path:
    return shipped_data_dir() / "offer" / "finess_etablissements_geo_2021_france.csv.gz"


def _text(df: pd.DataFrame, column: str, limit: int | None = None) -> list[str]:
    """A text column as Python strings, missing values as "" (vectorised: the row-by-row
    ``_str`` calls cost about 3 s of processor time over the 95,000 FINESS rows)."""
    col = df[column].astype("string").fillna("")
    if limit is not None:
        col = col.str.slice(0, limit)
    return col.tolist()


def _floats(df: pd.DataFrame, column: str) -> list[float | None]:
    col = df[column].astype("float64")
    return [None if v != v else v for v in col.tolist()]


def _finess_rows(df: pd.DataFrame, communes: set[str]) -> list[dict]:
    """The organization rows of a FINESS frame; a commune unknown to the COG becomes None."""
    opened = pd.to_datetime(df["opened_on"])
    opened_on = [None if d is pd.NaT else d for d in opened.dt.date.tolist()]
    columns = {
        "finess_et": df["finess_et"].tolist(),
        "finess_ej": _text(df, "finess_ej"),
        "siret": _text(df, "siret"),
        "name": _text(df, "name", 250),
        "category_code": _text(df, "category_code"),
        "category_label": _text(df, "category_label", 200),
        "aggregate_code": _text(df, "aggregate_code"),
        "aggregate_label": _text(df, "aggregate_label", 200),
        "address": _text(df, "address", 300),
        "postal_code": _text(df, "postal_code"),
        "city": _text(df, "city", 120),
        "commune_id": [c if c in communes else None for c in _text(df, "commune_code")],
        "phone": _text(df, "phone"),
        "latitude": _floats(df, "latitude"),
        "longitude": _floats(df, "longitude"),
        "opened_on": opened_on,
    }
    names = list(columns)
    return [
        {**dict(zip(names, values, strict=True)), "source": Source.FINESS, "synthetic": False}
        for values in zip(*columns.values(), strict=True)
    ]


def import_finess(path: Path | None = None) -> ImportReport:
    """Import the FINESS établissements (ET) as organizations, keyed on the FINESS ET number."""
    path = Path(path) if path else shipped_finess()

    def write(df: pd.DataFrame) -> ImportReport:
        report = ImportReport("finess")
        communes = set(Commune.objects.values_list("code", flat=True))
        rows = _finess_rows(df, communes)
        unknown = sum(1 for row in rows if row["commune_id"] is None)
        # Re-import: the id (and so the URL) of each establishment stays, keyed on the FINESS
        # number; per field, FINESS_RULES says whether the source or the published value wins.
        fields = list(FINESS_RULES)
        known = {
            o["finess_et"]: o
            for o in Organization.objects.filter(finess_et__isnull=False).values(
                "id", "finess_et", "source_values", *fields
            )
        }
        today = date.today()
        notes: dict[str, list[str]] = {}
        for row in rows:
            old = known.get(row["finess_et"])
            values, remembered, said = merge_fields(
                FINESS_RULES, old, old["source_values"] if old else None, row, "FINESS", today
            )
            row.update(values)
            row["source_values"] = remembered
            if said:
                notes[row["finess_et"]] = said
        report.counts["établissements"] = upsert(Organization, rows, ["finess_et"])
        # Say it in the entry's history (its review/history page) when the source replaced a
        # value a coordinator had published: one record per field.
        for org in Organization.objects.filter(finess_et__in=list(notes)):
            for note in notes[org.finess_et]:
                org._change_reason = note[:100]
                org.save()
        report.counts["valeurs publiées remplacées par la source"] = sum(map(len, notes.values()))
        report.skipped["commune inconnue du COG"] = unknown
        return report

    return run_import("finess", lambda: opendata.read_finess(path), write)
