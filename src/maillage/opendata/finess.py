"""FINESS establishments (ET), geolocated: the register of health and social-care facilities.

Reads the flattened extraction shipped in ``data/offer`` (one row per établissement, WGS84
coordinates, INSEE commune code rebuilt from postal code + city; see ``data/offer/SOURCES.md``).
It is the source of "where is the nearest facility of a kind" in territorial diagnostics, through
:data:`FACILITY_KINDS`.

Known limits of the shipped file (2021 snapshot): openings and closures since 8 January 2021 are
missing; there are no capacities; 9 ET have no coordinates; and the coordinates of every overseas
ET are wrong upstream (the converter applied the Lambert-93 inverse to UTM coordinates, placing
La Réunion at latitude 55.6°N). :func:`read_finess` therefore blanks coordinates that fall outside
their territory (see ``drop_implausible_coordinates``) rather than hand a map or a travel-time
matrix points in the sea.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np
import pandas as pd

from ._validate import (
    COMMUNE_CODE,
    COMMUNE_CODE_TEXT,
    DEPARTEMENT_CODE,
    FINESS_CODE,
    FINESS_CODE_TEXT,
    POSTAL_CODE,
    POSTAL_CODE_TEXT,
    SIRET_CODE,
    SIRET_CODE_TEXT,
    Column,
    PathLike,
    read_csv_table,
)

_FINESS_DEPARTEMENT = rf"{DEPARTEMENT_CODE}|970"

_COLUMNS = [
    Column("nofinesset", "finess_et", pattern=FINESS_CODE, expected=FINESS_CODE_TEXT),
    Column("nofinessej", "finess_ej", pattern=FINESS_CODE, expected=FINESS_CODE_TEXT),
    Column("raison_sociale", "name"),
    Column("adresse", "address", required=False),
    Column("code_postal", "postal_code", pattern=POSTAL_CODE, expected=POSTAL_CODE_TEXT),
    Column("ville", "city"),
    Column(
        "departement",
        "departement",
        pattern=_FINESS_DEPARTEMENT,
        expected='un code département comme "01", "2A" ou "974"',
    ),
    Column(
        "code_commune_insee",
        "commune_code",
        required=False,
        pattern=COMMUNE_CODE,
        expected=COMMUNE_CODE_TEXT,
    ),
    Column(
        "categetab",
        "category_code",
        pattern=r"\d{3}",
        expected="une catégorie FINESS de 3 chiffres",
    ),
    Column("libcategetab", "category_label"),
    Column(
        "categagretab",
        "aggregate_code",
        pattern=r"\d{4}",
        expected="une catégorie agrégée FINESS de 4 chiffres",
    ),
    Column("libcategagretab", "aggregate_label"),
    Column(
        "code_ape",
        "ape_code",
        required=False,
        pattern=r"\d{4}[A-Z]",
        expected='un code NAF/APE comme "8610Z"',
    ),
    Column(
        "code_sph", "sph_code", required=False, pattern=r"\d", expected="un code SPH d'un chiffre"
    ),
    Column("lib_sph", "sph_label", required=False),
    Column("siret", "siret", required=False, pattern=SIRET_CODE, expected=SIRET_CODE_TEXT),
    Column(
        "telephone",
        "phone",
        required=False,
        pattern=r"\d{10}",
        expected="un numéro de téléphone de 10 chiffres",
    ),
    Column("date_ouverture", "opened_on", kind="date"),
    Column("date_maj", "updated_on", kind="date"),
    Column("latitude", "latitude", kind="float", required=False, min=-90, max=90),
    Column("longitude", "longitude", kind="float", required=False, min=-180, max=180),
]

#: Latitude/longitude boxes (south, north, west, east), slightly padded, of the territories a
#: FINESS département can be in. Metropolitan départements (Corsica included) share one box.
TERRITORY_BOUNDS: dict[str, tuple[float, float, float, float]] = {
    "metro": (41.2, 51.2, -5.3, 9.7),
    "971": (15.8, 16.6, -61.9, -60.9),  # Guadeloupe
    "972": (14.3, 14.95, -61.3, -60.75),  # Martinique
    "973": (2.0, 5.9, -54.7, -51.5),  # Guyane
    "974": (-21.45, -20.8, 55.15, 55.9),  # La Réunion
    "975": (46.7, 47.2, -56.5, -56.1),  # Saint-Pierre-et-Miquelon
    "976": (-13.1, -12.55, 44.95, 45.35),  # Mayotte
    "977": (17.85, 18.0, -62.95, -62.75),  # Saint-Barthélemy
    "978": (18.0, 18.15, -63.2, -62.95),  # Saint-Martin
}


def read_finess(path: PathLike, *, drop_implausible_coordinates: bool = True) -> pd.DataFrame:
    """FINESS establishments, one row per ET.

    Columns: ``finess_et, finess_ej, name, address, postal_code, city, departement,
    commune_code, category_code, category_label, aggregate_code, aggregate_label, ape_code,
    sph_code, sph_label, siret, phone, opened_on, updated_on, latitude, longitude``.
    Dates are ``datetime64[s]``; ``latitude``/``longitude`` are float (NaN when unknown);
    ``commune_code`` is <NA> when the INSEE code could not be rebuilt (368 ET nationally).

    Latitude and longitude must be both present or both empty. With
    ``drop_implausible_coordinates`` (the default), a position outside the box of its
    département's territory (:data:`TERRITORY_BOUNDS`; départements not listed there, like the
    register's "970", are accepted in any overseas box) is replaced by NaN; their number is in
    ``frame.attrs["implausible_coordinates"]``. In the shipped 2021 file this blanks the
    2,045 overseas ET, whose upstream coordinates are wrong, and nothing in metropolitan France.
    """
    table = read_csv_table(path, _COLUMNS, unique=["finess_et"])
    frame = table.frame
    lat, lon = frame["latitude"], frame["longitude"]
    half = lat.isna() != lon.isna()
    if half.any():
        position = int(np.flatnonzero(half.to_numpy())[0])
        column = "longitude" if lon.isna().iloc[position] else "latitude"
        table.fail(
            position, column, "latitude et longitude toutes deux données ou toutes deux vides", ""
        )
    implausible = ~lat.isna() & ~_plausible(frame["departement"], lat, lon)
    frame.attrs["implausible_coordinates"] = int(implausible.sum())
    if drop_implausible_coordinates and implausible.any():
        frame.loc[implausible, ["latitude", "longitude"]] = np.nan
    return frame


def _plausible(departement: pd.Series, lat: pd.Series, lon: pd.Series) -> pd.Series:
    def inside(box: tuple[float, float, float, float]) -> pd.Series:
        south, north, west, east = box
        return (lat >= south) & (lat <= north) & (lon >= west) & (lon <= east)

    territory = departement.where(departement.str.len() == 3, "metro").astype(object)
    ok = pd.Series(False, index=lat.index)
    for key, box in TERRITORY_BOUNDS.items():
        ok |= (territory == key) & inside(box)
    unknown = ~territory.isin(list(TERRITORY_BOUNDS))
    if unknown.any():
        overseas = pd.Series(False, index=lat.index)
        for key, box in TERRITORY_BOUNDS.items():
            if key != "metro":
                overseas |= inside(box)
        ok |= unknown & overseas
    return ok


#: Kind of facility → ``{"label", "categories", "approximate", "note"}``: the FINESS ET category
#: codes (``category_code``) used for "travel time to the nearest facility of a kind". Checked
#: against the shipped 2021 extraction (counts for France / Haute-Marne in brackets).
#:
#: - ``hospital``: general hospitals, public or military — 101 CHR/CHU sites (373 / 0), 355
#:   centres hospitaliers (1,287 / 3), 106 CH ex-hôpitaux locaux (214 / 4), 114 hôpitaux des
#:   armées (10 / 0). In Haute-Marne this gives the 7 hospitals of the diagnostic (Chaumont,
#:   Langres, Saint-Dizier, Bourbonne-les-Bains, Joinville, Montier-en-Der, Wassy). Not included:
#:   292 CHS psychiatry (its code is on every CMP/CATTP site of a CHS: 14 sites in 52), private
#:   clinics 365/128/129 (MCO but "clinique", kept apart so the report can name them), SSR 109,
#:   USLD 362 and hospital-at-home 127.
#: - ``emergency``: an APPROXIMATION. FINESS ET categories do not say which sites have an
#:   emergency department (that is an authorisation, in the FINESS/ARHGOS activity data, not in
#:   this file). We use 101 + 355 + 114: public acute-care hospitals, where nearly all emergency
#:   departments are. It over-counts (1,670 sites nationally against 700 emergency departments
#:   in INSEE BPE 2024, because CHU and CH have several ET sites and not all CH have an ED) and
#:   misses the ~120 private-clinic EDs, so nearest-ED times are under-estimated in places; in
#:   Haute-Marne it gives 3 sites, as BPE 2024 does (Chaumont, Langres, Saint-Dizier). Replace it
#:   with the ARS list of emergency sites when one is loaded.
#: - ``maternity``: deliberately ABSENT. Maternity units are authorisations too; the only
#:   obstetric ET categories (122, 5 sites; 631 maisons de naissance, 9) cover a tiny fraction of
#:   the ~450 maternity units, and using hospitals instead would be wrong in most rural areas.
#:   See :data:`UNAVAILABLE_KINDS`.
#: - ``pharmacy``: 620 pharmacies d'officine (21,116 / 64). Mutualist (629) and mining (628)
#:   pharmacies serve members only; propharmacies (627) are doctors who dispense: left out.
#: - ``msp``: 603 maisons de santé pluriprofessionnelles (1,763 / 8).
#: - ``centre_de_sante``: 124 centres de santé (2,495 / 6).
#: - ``laboratory``: 611 laboratoires de biologie médicale (4,021 / 6) and 610, the older
#:   "laboratoire d'analyses" category still used by 71 sites (none in 52). 612 (no patient
#:   billing) is left out.
#: - ``ehpad``: 500 EHPAD (7,501 / 25).
#: - ``cpts``: 604 communautés professionnelles territoriales de santé (103 / 1): the legal
#:   structure's address, not a place of care, listed so that reports can name them.
class FacilityKind(TypedDict):
    """One entry of :data:`FACILITY_KINDS`."""

    label: str  # French label for reports
    categories: frozenset[str]  # FINESS ET category codes
    approximate: bool  # True when the categories only approximate the kind
    note: str | None  # caveat to print next to the indicator (French)


_EMERGENCY_NOTE = (
    "Approximation : centres hospitaliers publics (CHR/CHU, CH, hôpitaux des armées). FINESS ne "
    "dit pas quels sites ont un service d'urgences ; les urgences des cliniques privées manquent."
)

FACILITY_KINDS: dict[str, FacilityKind] = {
    "hospital": {
        "label": "Hôpital (centre hospitalier)",
        "categories": frozenset({"101", "106", "114", "355"}),
        "approximate": False,
        "note": None,
    },
    "emergency": {
        "label": "Service d'urgences",
        "categories": frozenset({"101", "114", "355"}),
        "approximate": True,
        "note": _EMERGENCY_NOTE,
    },
    "pharmacy": {
        "label": "Pharmacie",
        "categories": frozenset({"620"}),
        "approximate": False,
        "note": None,
    },
    "msp": {
        "label": "Maison de santé pluriprofessionnelle",
        "categories": frozenset({"603"}),
        "approximate": False,
        "note": None,
    },
    "centre_de_sante": {
        "label": "Centre de santé",
        "categories": frozenset({"124"}),
        "approximate": False,
        "note": None,
    },
    "laboratory": {
        "label": "Laboratoire de biologie médicale",
        "categories": frozenset({"610", "611"}),
        "approximate": False,
        "note": None,
    },
    "ehpad": {
        "label": "EHPAD",
        "categories": frozenset({"500"}),
        "approximate": False,
        "note": None,
    },
    "cpts": {
        "label": "CPTS (siège)",
        "categories": frozenset({"604"}),
        "approximate": False,
        "note": "Adresse de la structure juridique de la CPTS, pas un lieu de soins.",
    },
}

#: Kinds that cannot be derived from FINESS ET categories, and why (shown by reports instead of
#: a misleading travel time).
UNAVAILABLE_KINDS: dict[str, str] = {
    "maternity": (
        "Les maternités sont des autorisations d'activité (gynécologie-obstétrique), absentes des "
        "catégories d'établissement FINESS : indicateur non calculable avec ce fichier."
    ),
}


def facilities_of_kind(finess: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The rows of a :func:`read_finess` frame that are facilities of ``kind``.

    Raises KeyError for an unknown kind, and ValueError, with the reason, for a kind listed in
    :data:`UNAVAILABLE_KINDS`.
    """
    if kind in UNAVAILABLE_KINDS:
        raise ValueError(UNAVAILABLE_KINDS[kind])
    categories = FACILITY_KINDS[kind]["categories"]
    return finess[finess["category_code"].isin(categories)]
