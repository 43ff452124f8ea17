"""INSEE "statistiques locales" per département: care supply counts and context indicators.

Reads the export shipped in ``data/offer`` (two title lines removed, INSEE's French column
headers kept; see ``data/offer/SOURCES.md``). Counts of GPs, nurses, pharmacies, dentists and
emergency services come from the BPE 2024 (base permanente des équipements); they are the
departmental reference for the diagnostic. :data:`COLUMN_MAPPING` is the documented
correspondence between INSEE's headers and the DataFrame's English names.
"""

from __future__ import annotations

import pandas as pd

from ._validate import DEPARTEMENT_CODE, DEPARTEMENT_CODE_TEXT, Column, PathLike, read_csv_table

#: INSEE header → (column name, kind). ``count`` = BPE number of facilities/professionals
#: (Int64), ``share`` = percentage, ``number`` = other float. Every column of the file is kept.
COLUMN_MAPPING: dict[str, tuple[str, str]] = {
    "Médecin généraliste (en nombre) 2024": ("gp_count_2024", "count"),
    "Taux de pauvreté 2021": ("poverty_rate_2021", "share"),
    "Bassin de natation (en nombre) 2024": ("swimming_pool_count_2024", "count"),
    "Salles multisports (gymnases) (en nombre) 2024": ("sports_hall_count_2024", "count"),
    "Urgences (en nombre) 2024": ("emergency_count_2024", "count"),
    "Infirmier (en nombre) 2024": ("nurse_count_2024", "count"),
    "Pharmacie (en nombre) 2024": ("pharmacy_count_2024", "count"),
    "Chirurgien dentiste (en nombre) 2024": ("dentist_count_2024", "count"),
    "Espérance de vie des femmes à la naissance 2024": ("life_expectancy_women_2024", "number"),
    "Espérance de vie des hommes à la naissance 2024": ("life_expectancy_men_2024", "number"),
    "Médiane du niveau de vie 2021": ("median_living_standard_2021", "number"),
    "Densité de population (historique depuis 1876) 2022": ("population_density_2022", "number"),
    "Taux brut de mortalité 2024": ("crude_mortality_rate_2024", "number"),
    "Taux de mortalité standardisé des 0 à 64 ans 2024": (
        "standardised_mortality_rate_0_64_2024",
        "number",
    ),
    "Part des diplômés d'un BAC+5 ou plus dans la pop. non scolarisée de 15 ans ou + 2022": (
        "share_master_or_higher_2022",
        "share",
    ),
    "Part des non ou peu diplômés dans la pop. non scolarisée de 15 ans ou + 2022": (
        "share_no_or_low_qualification_2022",
        "share",
    ),
    "Part des diplômés d'un BAC+2 dans la pop. non scolarisée de 15 ans ou + 2022": (
        "share_bac2_2022",
        "share",
    ),
    (
        "Part des pers., dont le diplôme le plus élevé est un CAP ou un BEP, "
        "dans la pop. non scolarisée de 15 ans ou + 2022"
    ): ("share_cap_bep_2022", "share"),
    "Part des actifs occ 15 ans ou plus vélo pour travailler 2022": (
        "share_commute_bicycle_2022",
        "share",
    ),
    "Part des actifs occ 15 ans ou plus voiture pour travailler 2022": (
        "share_commute_car_2022",
        "share",
    ),
    # INSEE's header has a word missing and a double space; kept exactly as published.
    "Part des actifs occupés de 15 ans ou plus  les transports en commun 2022": (
        "share_commute_public_transport_2022",
        "share",
    ),
    "Estimations de population 2025": ("population_2025", "count"),
}


def _column(source: str, name: str, kind: str) -> Column:
    if kind == "count":
        return Column(source, name, kind="int", required=False, min=0)
    if kind == "share":
        return Column(source, name, kind="float", required=False, min=0, max=100)
    return Column(source, name, kind="float", required=False, min=0)


_COLUMNS = [
    Column("Code", "departement", pattern=DEPARTEMENT_CODE, expected=DEPARTEMENT_CODE_TEXT),
    Column("Libellé", "name"),
    *(_column(source, name, kind) for source, (name, kind) in COLUMN_MAPPING.items()),
]


def read_departement_stats(path: PathLike) -> pd.DataFrame:
    """INSEE local statistics, one row per département.

    Columns: ``departement, name`` then, in :data:`COLUMN_MAPPING` order, ``gp_count_2024,
    poverty_rate_2021, swimming_pool_count_2024, sports_hall_count_2024, emergency_count_2024,
    nurse_count_2024, pharmacy_count_2024, dentist_count_2024, life_expectancy_women_2024,
    life_expectancy_men_2024, median_living_standard_2021, population_density_2022,
    crude_mortality_rate_2024, standardised_mortality_rate_0_64_2024,
    share_master_or_higher_2022, share_no_or_low_qualification_2022, share_bac2_2022,
    share_cap_bep_2022, share_commute_bicycle_2022, share_commute_car_2022,
    share_commute_public_transport_2022, population_2025``. Counts are Int64, the rest float;
    values INSEE does not publish (e.g. poverty rate for small overseas départements) are missing.
    """
    return read_csv_table(path, _COLUMNS, unique=["departement"]).frame
