"""FINESS establishments import: organizations keyed on the FINESS ET number."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from maillage import opendata
from maillage.directory.imports.common import (
    _date,
    _float,
    _str,
)
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


def import_finess(path: Path | None = None) -> ImportReport:
    """Import the FINESS établissements (ET) as organizations, keyed on the FINESS ET number."""
    path = Path(path) if path else shipped_finess()

    def write(df: pd.DataFrame) -> ImportReport:
        report = ImportReport("finess")
        communes = set(Commune.objects.values_list("code", flat=True))
        rows = []
        unknown = 0
        for r in df.itertuples():
            commune = _str(r.commune_code)
            if commune not in communes:
                unknown += 1
                commune = None
            rows.append(
                {
                    "finess_et": r.finess_et,
                    "finess_ej": _str(r.finess_ej),
                    "siret": _str(r.siret),
                    "name": _str(r.name)[:250],
                    "category_code": _str(r.category_code),
                    "category_label": _str(r.category_label)[:200],
                    "aggregate_code": _str(r.aggregate_code),
                    "aggregate_label": _str(r.aggregate_label)[:200],
                    "address": _str(r.address)[:300],
                    "postal_code": _str(r.postal_code),
                    "city": _str(r.city)[:120],
                    "commune_id": commune,
                    "phone": _str(r.phone),
                    "latitude": _float(r.latitude),
                    "longitude": _float(r.longitude),
                    "opened_on": _date(r.opened_on),
                    "source": Source.FINESS,
                    "synthetic": False,
                }
            )
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
