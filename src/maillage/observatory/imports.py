"""Imports of official indicators: DREES APL, CartoSanté (bassins de vie), INSEE (départements)."""

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


def fold_into_current_communes(df: pd.DataFrame, parents: pd.DataFrame) -> pd.DataFrame:
    """Fold APL rows of former communes and municipal arrondissements into the current commune.

    The DREES millésime uses its own year's geography and the municipal arrondissements of Paris,
    Lyon and Marseille. Merged rows are aggregated as DREES prescribes: APL weighted by
    standardised population, populations summed.
    """
    df = df.copy()
    df["commune_code"] = df["commune_code"].replace(
        dict(zip(parents["code"], parents["parent"], strict=True))
    )
    df["w_apl"] = df["apl"] * df["pop_standardised"]
    df["w_apl65"] = df["apl_under65"].astype(float) * df["pop_standardised"]
    out = df.groupby(["commune_code", "year"], as_index=False).agg(
        w_apl=("w_apl", "sum"),
        w_apl65=("w_apl65", lambda s: s.sum(min_count=len(s))),
        pop_standardised=("pop_standardised", "sum"),
        pop_total=("pop_total", "sum"),
        pop_year=("pop_year", "max"),
    )
    std = out["pop_standardised"].where(out["pop_standardised"] > 0)
    out["apl"] = (out["w_apl"] / std).fillna(0.0)
    out["apl_under65"] = out["w_apl65"] / std
    return out.drop(columns=["w_apl", "w_apl65"])


def import_apl(path: Path | None = None) -> ImportReport:
    """Import DREES APL per commune and year, folded into the current communes of the COG."""
    path = (
        Path(path)
        if path
        else shipped_data_dir() / "offer" / "apl_mg_communes_2022_2023_france.csv.gz"
    )
    cog = shipped_data_dir() / "cog" / "communes.json.gz"

    def read() -> pd.DataFrame:
        return fold_into_current_communes(
            opendata.read_apl(path), opendata.read_commune_parents(cog)
        )

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

    return run_import("apl", read, write)


def import_cartosante(path: Path | None = None) -> ImportReport:
    path = (
        Path(path)
        if path
        else (
            shipped_data_dir()
            / "offer"
            / "cartosante_bassins_vie_indicateurs_offre_2023_2024_france.csv"
        )
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
    path = (
        Path(path)
        if path
        else (shipped_data_dir() / "offer" / "insee_statlocales_departements_offre_2024_france.csv")
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
