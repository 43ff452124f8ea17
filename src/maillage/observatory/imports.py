"""Imports of official indicators: DREES APL, CartoSanté per bassin de vie, INSEE per département."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from maillage import opendata
from maillage.imports import ImportReport, run_import, upsert
from maillage.observatory.models import AplValue, BassinVieIndicator, DepartementStat
from maillage.paths import shipped_data_dir
from maillage.territory.models import Commune, Departement


def _clean(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def import_apl(path: Path | None = None) -> ImportReport:
    """Import DREES APL per commune and year. Communes of older geographies that no longer exist
    in the COG are reported as skipped (the DREES millésime uses its own year's geography)."""
    path = Path(path) if path else shipped_data_dir() / "offer" / "apl_mg_communes_2022_2023_france.csv.gz"

    def write(df: pd.DataFrame) -> ImportReport:
        report = ImportReport("apl")
        communes = set(Commune.objects.values_list("code", flat=True))
        known = df[df["commune_code"].isin(communes)]
        rows = (
            {
                "commune_id": r.commune_code,
                "year": int(r.year),
                "apl": float(r.apl),
                "apl_under65": _clean(r.apl_under65),
                "pop_standardised": float(r.pop_standardised),
                "pop_total": int(r.pop_total),
                "pop_year": int(r.pop_year),
            }
            for r in known.itertuples()
        )
        report.counts["valeurs APL"] = upsert(AplValue, rows, ["commune", "year"])
        report.skipped["communes absentes du COG"] = len(df) - len(known)
        return report

    return run_import("apl", lambda: opendata.read_apl(path), write)


def import_cartosante(path: Path | None = None) -> ImportReport:
    path = Path(path) if path else (
        shipped_data_dir() / "offer" / "cartosante_bassins_vie_indicateurs_offre_2023_2024_france.csv"
    )

    def write(df: pd.DataFrame) -> ImportReport:
        report = ImportReport("cartosante")
        value_cols = [c for c in df.columns if c not in ("bv_code", "bv_name")]
        rows = (
            {
                "bv_code": r["bv_code"],
                "bv_name": r["bv_name"],
                "values": {c: _clean(r[c]) for c in value_cols},
            }
            for r in df.to_dict("records")
        )
        report.counts["bassins de vie"] = upsert(BassinVieIndicator, rows, ["bv_code"])
        return report

    return run_import("cartosante", lambda: opendata.read_cartosante_bassins(path), write)


def import_departement_stats(path: Path | None = None) -> ImportReport:
    path = Path(path) if path else (
        shipped_data_dir() / "offer" / "insee_statlocales_departements_offre_2024_france.csv"
    )

    def write(df: pd.DataFrame) -> ImportReport:
        report = ImportReport("insee")
        deps = set(Departement.objects.values_list("code", flat=True))
        known = df[df["departement"].isin(deps)]
        value_cols = [c for c in df.columns if c not in ("departement", "name")]
        rows = (
            {"departement_id": r["departement"], "values": {c: _clean(r[c]) for c in value_cols}}
            for r in known.to_dict("records")
        )
        report.counts["départements"] = upsert(DepartementStat, rows, ["departement"])
        report.skipped["départements inconnus"] = len(df) - len(known)
        return report

    return run_import("insee", lambda: opendata.read_departement_stats(path), write)
