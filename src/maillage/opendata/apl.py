"""DREES APL (accessibilité potentielle localisée) to general practitioners, per commune.

Reads the long-format table shipped in ``data/offer`` (one row per commune and APL year, stacked
from the DREES workbook's yearly sheets; see ``data/offer/SOURCES.md``). The APL is the number of
GP consultations/visits accessible per standardised inhabitant and per year; it is the official
measure behind "zones sous-denses", so the diagnostic compares a territory's own computation
(``maillage.analytics``) with it.

Aggregating APL over several communes must weight by ``pop_standardised`` (DREES note).
"""

from __future__ import annotations

import pandas as pd

from ._validate import (
    COMMUNE_CODE,
    COMMUNE_CODE_TEXT,
    DEPARTEMENT_CODE,
    DEPARTEMENT_CODE_TEXT,
    Column,
    PathLike,
    read_csv_table,
)

_COLUMNS = [
    Column("code_commune", "commune_code", pattern=COMMUNE_CODE, expected=COMMUNE_CODE_TEXT),
    Column("commune", "commune_name"),
    Column("dep", "departement", pattern=DEPARTEMENT_CODE, expected=DEPARTEMENT_CODE_TEXT),
    Column("annee_apl", "year", kind="int", min=2000, max=2100),
    Column("apl_mg", "apl", kind="float", min=0),
    Column("apl_mg_moins65", "apl_under65", kind="float", min=0),
    Column("pop_standardisee_mg", "pop_standardised", kind="float", min=0),
    Column("pop_totale", "pop_total", kind="int", min=0),
    Column("annee_pop", "pop_year", kind="int", min=2000, max=2100),
]


def read_apl(path: PathLike) -> pd.DataFrame:
    """APL to general practitioners, one row per commune and year.

    Columns: ``commune_code, commune_name, departement, year, apl, apl_under65,
    pop_standardised, pop_total, pop_year``. ``year`` is the APL year (activity year) and
    ``pop_year`` the year of the populations used; ``apl_under65`` counts only GPs aged 65 or
    less. Each commune appears once per year; the geography is that of the APL year.
    """
    table = read_csv_table(path, _COLUMNS, unique=["commune_code", "year"])
    return table.frame
