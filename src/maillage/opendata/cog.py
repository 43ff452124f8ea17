"""INSEE Code officiel géographique (COG): communes, EPCI, arrondissements, départements, régions.

Reads the JSON files of the npm package ``@etalab/decoupage-administratif`` (the COG plus legal
populations, as shipped in ``data/cog``): each file is one JSON array of objects, one per line.
Territories in maillage are sets of commune codes, so these tables are the backbone every other
dataset is joined to; they are checked strictly (codes as strings, populations as numbers) so that
a join never silently drops a commune because of a lost leading zero.

Populations are INSEE *populations municipales* (the package's ``population`` and
``populationMunicipale`` fields).
"""

from __future__ import annotations

import re

import pandas as pd

from ._validate import (
    COMMUNE_CODE,
    COMMUNE_CODE_TEXT,
    DEPARTEMENT_CODE,
    DEPARTEMENT_CODE_TEXT,
    POSTAL_CODE,
    POSTAL_CODE_TEXT,
    REGION_CODE,
    REGION_CODE_TEXT,
    SIREN_CODE,
    SIREN_CODE_TEXT,
    Column,
    JsonLocator,
    PathLike,
    json_found,
    load_json,
    validate_json_records,
)

ARRONDISSEMENT_CODE = r"\d{3}|2[AB]\d|97\d{2}"
ARRONDISSEMENT_CODE_TEXT = 'un code arrondissement INSEE comme "521", "2A1" ou "9711"'

#: Commune types in the COG. Only ``commune-actuelle`` are communes in the legal sense; the others
#: are former communes kept as "déléguées"/"associées", and the municipal arrondissements of
#: Paris, Lyon and Marseille.
COMMUNE_TYPES = frozenset(
    {"commune-actuelle", "commune-deleguee", "commune-associee", "arrondissement-municipal"}
)
#: Zones: metropolitan France, the five DROM, and the overseas collectivities (COM).
ZONES = frozenset({"metro", "drom", "com"})
#: EPCI legal forms: communauté de communes, d'agglomération, urbaine, métropole, Lyon métropole.
EPCI_KINDS = frozenset({"CC", "CA", "CU", "METRO", "MET69"})

_COMMUNE_RE = re.compile(COMMUNE_CODE)

_COMMUNE_ALL = [
    Column("code", "code", pattern=COMMUNE_CODE, expected=COMMUNE_CODE_TEXT),
    Column("nom", "name"),
    Column("type", "type", choices=COMMUNE_TYPES),
    Column("zone", "zone", choices=ZONES),
    Column("departement", "departement", pattern=DEPARTEMENT_CODE, expected=DEPARTEMENT_CODE_TEXT),
    Column("region", "region", pattern=REGION_CODE, expected=REGION_CODE_TEXT),
]
_COMMUNE_CURRENT = [
    Column(
        "arrondissement",
        "arrondissement",
        required=False,
        pattern=ARRONDISSEMENT_CODE,
        expected=ARRONDISSEMENT_CODE_TEXT,
    ),
    Column("population", "population", kind="int", min=0),
    Column(
        "codesPostaux",
        "postal_codes",
        kind="str_list",
        pattern=POSTAL_CODE,
        expected=POSTAL_CODE_TEXT,
    ),
]


def _records(path: PathLike) -> tuple[list[object], JsonLocator]:
    data, text = load_json(path)
    locator = JsonLocator(path, text)
    if not isinstance(data, list):
        locator.fail(None, "", "un tableau JSON d'objets", found=type(data).__name__)
    return data, locator


def read_communes(path: PathLike) -> pd.DataFrame:
    """Current communes of metropolitan France and the DROM.

    Columns: ``code, name, departement, region, arrondissement, population, postal_codes``.
    ``population`` is Int64 (population municipale); ``arrondissement`` is <NA> where the COG has
    none (Mayotte); ``postal_codes`` is the commune's postal codes joined with ';'.

    Every entry of the file is checked, but only ``commune-actuelle`` entries of zones ``metro``
    and ``drom`` are returned: communes déléguées/associées and municipal arrondissements are not
    communes, and the overseas collectivities (COM) are outside the health-planning scope (no ARS,
    no populations for some).
    """
    data, locator = _records(path)
    base = validate_json_records(locator, enumerate(data), _COMMUNE_ALL)
    keep = (base["type"] == "commune-actuelle") & base["zone"].isin(["metro", "drom"])
    positions = [int(i) for i in base.index[keep.to_numpy()]]
    extra = validate_json_records(locator, ((i, data[i]) for i in positions), _COMMUNE_CURRENT)
    current = base.iloc[positions].reset_index(drop=True)
    frame = pd.concat([current, extra], axis=1)
    duplicated = frame["code"].duplicated()
    if duplicated.any():
        position = positions[int(duplicated.to_numpy().nonzero()[0][0])]
        locator.fail(
            position,
            "code",
            "un code commune présent une seule fois parmi les communes actuelles",
            found=data[position]["code"],
        )
    return frame[
        ["code", "name", "departement", "region", "arrondissement", "population", "postal_codes"]
    ]


_PARENT_FIELDS = {
    "commune-deleguee": "chefLieu",
    "commune-associee": "chefLieu",
    "arrondissement-municipal": "commune",
}


def read_commune_parents(path: PathLike) -> pd.DataFrame:
    """Former communes and municipal arrondissements, with the current commune they belong to.

    Columns: ``code, type, parent``. Official tables published per commune often use older
    geographies (DREES APL uses the geography of its millésime) or the municipal arrondissements
    of Paris, Lyon and Marseille; this table lets an import fold those rows into the current
    commune. Entries whose code is also a current commune (the chef-lieu of a commune nouvelle
    keeps its code) map to themselves and are left out.
    """
    data, locator = _records(path)
    base = validate_json_records(locator, enumerate(data), _COMMUNE_ALL)
    rows = []
    for position, kind in zip(base.index, base["type"], strict=True):
        field = _PARENT_FIELDS.get(kind)
        if field is None:
            continue
        record = data[int(position)]
        parent = record.get(field)
        if not isinstance(parent, str) or not _COMMUNE_RE.fullmatch(parent):
            locator.fail(int(position), field, COMMUNE_CODE_TEXT, found=parent)
        if parent != record["code"]:
            rows.append((record["code"], kind, parent))
    return pd.DataFrame(rows, columns=["code", "type", "parent"]).drop_duplicates("code")


_EPCI = [
    Column("code", "code", pattern=SIREN_CODE, expected=f"{SIREN_CODE_TEXT} (le SIREN de l'EPCI)"),
    Column("nom", "name"),
    Column("type", "kind", choices=EPCI_KINDS),
    Column("populationMunicipale", "population", kind="int", min=0),
]
_EPCI_MEMBER = [Column("code", "commune_code", pattern=COMMUNE_CODE, expected=COMMUNE_CODE_TEXT)]


def read_epci(path: PathLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """EPCI à fiscalité propre and their member communes.

    Returns ``(epci, members)``: ``epci`` has ``code, name, kind, population`` (kind = CC, CA, CU,
    METRO or MET69; population = population municipale); ``members`` has ``epci_code,
    commune_code``, one row per member. A commune belongs to at most one EPCI: a file saying
    otherwise is refused, since territory aggregation would count it twice.
    """
    data, locator = _records(path)
    epci = validate_json_records(locator, enumerate(data), _EPCI)
    if epci["code"].duplicated().any():
        position = int(epci["code"].duplicated().to_numpy().nonzero()[0][0])
        locator.fail(
            position, "code", "un code d'EPCI présent une seule fois", found=epci["code"][position]
        )
    epci_codes: list[str] = []
    commune_codes: list[str] = []
    seen: dict[str, str] = {}
    for index, record in enumerate(data):
        members = record.get("membres")
        if not isinstance(members, list) or not members:
            locator.fail(
                index,
                "membres",
                "une liste non vide de communes membres",
                found=json_found(members),
            )
        for k, member in enumerate(members):
            field = f"membres[{k}]"
            if not isinstance(member, dict):
                locator.fail(index, field, "un objet JSON", found=json_found(member))
            code = member.get("code")
            if not isinstance(code, str) or not _COMMUNE_RE.fullmatch(code):
                locator.fail(index, f"{field}.code", COMMUNE_CODE_TEXT, found=json_found(code))
            if code in seen:
                locator.fail(
                    index,
                    f"{field}.code",
                    f"une commune membre d'un seul EPCI (elle est aussi dans {seen[code]})",
                    found=code,
                )
            seen[code] = record["code"]
            epci_codes.append(record["code"])
            commune_codes.append(code)
    members_frame = pd.DataFrame(
        {
            "epci_code": pd.array(epci_codes, dtype="string"),
            "commune_code": pd.array(commune_codes, dtype="string"),
        }
    )
    return epci, members_frame


_ARRONDISSEMENTS = [
    Column("code", "code", pattern=ARRONDISSEMENT_CODE, expected=ARRONDISSEMENT_CODE_TEXT),
    Column("nom", "name"),
    Column("departement", "departement", pattern=DEPARTEMENT_CODE, expected=DEPARTEMENT_CODE_TEXT),
    Column("region", "region", pattern=REGION_CODE, expected=REGION_CODE_TEXT),
    Column("chefLieu", "chef_lieu", pattern=COMMUNE_CODE, expected=COMMUNE_CODE_TEXT),
]
_DEPARTEMENTS = [
    Column("code", "code", pattern=DEPARTEMENT_CODE, expected=DEPARTEMENT_CODE_TEXT),
    Column("nom", "name"),
    Column("region", "region", pattern=REGION_CODE, expected=REGION_CODE_TEXT),
    Column("chefLieu", "chef_lieu", pattern=COMMUNE_CODE, expected=COMMUNE_CODE_TEXT),
]
_REGIONS = [
    Column("code", "code", pattern=REGION_CODE, expected=REGION_CODE_TEXT),
    Column("nom", "name"),
    Column("chefLieu", "chef_lieu", pattern=COMMUNE_CODE, expected=COMMUNE_CODE_TEXT),
]


def _read_simple(path: PathLike, columns: list[Column]) -> pd.DataFrame:
    data, locator = _records(path)
    frame = validate_json_records(locator, enumerate(data), columns)
    duplicated = frame["code"].duplicated()
    if duplicated.any():
        position = int(duplicated.to_numpy().nonzero()[0][0])
        locator.fail(
            position, "code", "un code présent une seule fois", found=frame["code"][position]
        )
    return frame


def read_arrondissements(path: PathLike) -> pd.DataFrame:
    """Arrondissements (sub-prefecture areas): ``code, name, departement, region, chef_lieu``."""
    return _read_simple(path, _ARRONDISSEMENTS)


def read_departements(path: PathLike) -> pd.DataFrame:
    """Départements, including overseas ones: ``code, name, region, chef_lieu``."""
    return _read_simple(path, _DEPARTEMENTS)


def read_regions(path: PathLike) -> pd.DataFrame:
    """Régions, including overseas ones: ``code, name, chef_lieu``."""
    return _read_simple(path, _REGIONS)


__all__ = [
    "read_arrondissements",
    "read_communes",
    "read_departements",
    "read_epci",
    "read_regions",
]
