"""CartoSanté indicators of care supply per bassin de vie (INSEE living area).

Reads the export shipped in ``data/offer`` (title lines removed, columns renamed; see
``data/offer/SOURCES.md``): densities of self-employed professionals per 10,000 inhabitants in
2024, the 2023 GP APL, and shares of beneficiaries. They give the regional and national
references a territory is compared with. Values under statistical secrecy are missing (NaN);
both an empty cell and CartoSanté's own "N/A - secret statistique" are accepted.
"""

from __future__ import annotations

import pandas as pd

from ._validate import Column, PathLike, read_csv_table

_SECRET = ("N/A - secret statistique", "N/A")


def _rate(source: str, name: str) -> Column:
    return Column(source, name, kind="float", required=False, min=0, na_values=_SECRET)


def _share(source: str, name: str) -> Column:
    return Column(source, name, kind="float", required=False, min=0, max=100, na_values=_SECRET)


_COLUMNS = [
    Column(
        "code_bv",
        "bv_code",
        pattern=r"\d{5}|2[AB]\d{3}|97\dZZ",
        expected=(
            'un code de bassin de vie (code INSEE de sa commune principale, ou "977ZZ"/"978ZZ")'
        ),
    ),
    Column("libelle_bv", "bv_name"),
    _share("part_benef_ophtalmo_2024", "ophtalmo_beneficiary_share_2024"),
    _rate("apl_mg_2023", "apl_gp_2023"),
    _rate("densite_orthophonistes_lib_2024", "speech_therapist_density_2024"),
    _rate("densite_generalistes_lib_2024", "gp_density_2024"),
    _rate("densite_infirmiers_lib_2024", "nurse_density_2024"),
    _rate("densite_sages_femmes_lib_2024", "midwife_density_2024"),
    _share("part_benef_ald_2024", "ald_share_2024"),
    _rate("densite_pharmacies_10000hab_2024", "pharmacy_density_2024"),
]


#: Factor that turns each density column into a density per 10,000 inhabitants. CartoSanté gives
#: speech therapists per 100,000: about 22,000 self-employed orthophonistes for 68 M inhabitants is
#: 3.2 per 10,000, while the file's values are around 25-30 (and the CPTS Saint-Dizier project,
#: seed 003, quotes 10.2 for its territory against 27.8 for Grand Est, for 5 orthophonistes and
#: 59,000 inhabitants). The other densities match national counts per 10,000.
PER_10K_FACTOR = {
    "speech_therapist_density_2024": 0.1,
    "gp_density_2024": 1.0,
    "nurse_density_2024": 1.0,
    "midwife_density_2024": 1.0,
    "pharmacy_density_2024": 1.0,
}


def read_cartosante_bassins(path: PathLike) -> pd.DataFrame:
    """CartoSanté indicators, one row per bassin de vie.

    Columns: ``bv_code, bv_name, ophtalmo_beneficiary_share_2024, apl_gp_2023,
    speech_therapist_density_2024, gp_density_2024, nurse_density_2024, midwife_density_2024,
    ald_share_2024, pharmacy_density_2024`` (floats; shares in %, densities as published —
    per 10,000 inhabitants except speech therapists, per 100,000: see ``PER_10K_FACTOR`` —
    self-employed professionals; NaN under statistical secrecy).
    """
    return read_csv_table(path, _COLUMNS, unique=["bv_code"]).frame
