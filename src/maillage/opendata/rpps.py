"""RPPS extract ``PS_LibreAcces_Personne_activite``: who practises what, where.

The ANS publishes, in open access (annuaire.sante.fr, "Extraction correspondance"), one line per
professional *activity*: a practitioner working at two sites has two lines. The file is
pipe-separated (``|``), every line (header included) ends with a ``|``, values are never quoted,
and it is UTF-8 since 2020 (older extracts were CP1252, which :func:`read_rpps_activities`
detects and reports). The header is checked against the official layouts: the current one
(56 columns, with "Code rôle" and "Code genre activité") and the previous one (52 columns).

Two kinds of identifiers appear: ``Type d'identifiant PP`` 8 = RPPS (11 digits, national id
"8" + RPPS) and 0 = ADELI (9 characters, national id "0" + ADELI) for professions registered in
ADELI before their move to the RPPS. Both are accepted; ``rpps`` is <NA> on ADELI lines and
``national_id`` always holds the national id.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._validate import (
    COMMUNE_CODE,
    COMMUNE_CODE_TEXT,
    DEPARTEMENT_CODE,
    DEPARTEMENT_CODE_TEXT,
    FINESS_CODE,
    FINESS_CODE_TEXT,
    SIREN_CODE,
    SIREN_CODE_TEXT,
    SIRET_CODE,
    SIRET_CODE_TEXT,
    Column,
    PathLike,
    read_csv_table,
)

#: The header of ``PS_LibreAcces_Personne_activite_<date>.txt`` as published since 2022/2023.
HEADER: tuple[str, ...] = (
    "Type d'identifiant PP",
    "Identifiant PP",
    "Identification nationale PP",
    "Code civilité d'exercice",
    "Libellé civilité d'exercice",
    "Code civilité",
    "Libellé civilité",
    "Nom d'exercice",
    "Prénom d'exercice",
    "Code profession",
    "Libellé profession",
    "Code catégorie professionnelle",
    "Libellé catégorie professionnelle",
    "Code type savoir-faire",
    "Libellé type savoir-faire",
    "Code savoir-faire",
    "Libellé savoir-faire",
    "Code mode exercice",
    "Libellé mode exercice",
    "Numéro SIRET site",
    "Numéro SIREN site",
    "Numéro FINESS site",
    "Numéro FINESS établissement juridique",
    "Identifiant technique de la structure",
    "Raison sociale site",
    "Enseigne commerciale site",
    "Complément destinataire (coord. structure)",
    "Complément point géographique (coord. structure)",
    "Numéro Voie (coord. structure)",
    "Indice répétition voie (coord. structure)",
    "Code type de voie (coord. structure)",
    "Libellé type de voie (coord. structure)",
    "Libellé Voie (coord. structure)",
    "Mention distribution (coord. structure)",
    "Bureau cedex (coord. structure)",
    "Code postal (coord. structure)",
    "Code commune (coord. structure)",
    "Libellé commune (coord. structure)",
    "Code pays (coord. structure)",
    "Libellé pays (coord. structure)",
    "Téléphone (coord. structure)",
    "Téléphone 2 (coord. structure)",
    "Télécopie (coord. structure)",
    "Adresse e-mail (coord. structure)",
    "Code Département (structure)",
    "Libellé Département (structure)",
    "Ancien identifiant de la structure",
    "Autorité d'enregistrement",
    "Code secteur d'activité",
    "Libellé secteur d'activité",
    "Code section tableau pharmaciens",
    "Libellé section tableau pharmaciens",
    "Code rôle",
    "Libellé rôle",
    "Code genre activité",
    "Libellé genre activité",
)
#: The previous layout (extracts up to about 2022): the same without the last four columns.
LEGACY_HEADER: tuple[str, ...] = HEADER[:52]

#: Identifier types: 8 = RPPS, 0 = ADELI.
ID_TYPES = frozenset({"0", "8"})

_OPT = {"required": False}

_COLUMNS = [
    Column("Type d'identifiant PP", "id_type", choices=ID_TYPES),
    Column(
        "Identifiant PP",
        "identifier",
        pattern=r"\d{11}|\d{9}|2[AB]\d{7}",
        expected="un numéro RPPS (11 chiffres) ou ADELI (9 caractères)",
    ),
    Column(
        "Identification nationale PP",
        "national_id",
        pattern=r"8\d{11}|0(?:\d{9}|2[AB]\d{7})",
        expected='l\'identifiant national : "8" + RPPS, ou "0" + ADELI',
    ),
    Column("Code civilité d'exercice", "title", **_OPT),
    Column("Nom d'exercice", "family_name", max_length=120),
    Column("Prénom d'exercice", "given_name", max_length=120, **_OPT),
    Column(
        "Code profession",
        "profession_code",
        pattern=r"\d{2}",
        expected="un code profession de 2 chiffres",
    ),
    Column("Libellé profession", "profession_label"),
    Column("Code catégorie professionnelle", "category_code", **_OPT),
    Column("Code type savoir-faire", "specialty_type_code", **_OPT),
    Column("Code savoir-faire", "specialty_code", max_length=8, **_OPT),
    Column("Libellé savoir-faire", "specialty_label", **_OPT),
    Column("Code mode exercice", "mode_code", choices=frozenset({"L", "S", "B"}), **_OPT),
    Column("Libellé mode exercice", "mode_label", **_OPT),
    Column("Numéro SIRET site", "siret", pattern=SIRET_CODE, expected=SIRET_CODE_TEXT, **_OPT),
    Column("Numéro SIREN site", "siren", pattern=SIREN_CODE, expected=SIREN_CODE_TEXT, **_OPT),
    Column(
        "Numéro FINESS site", "finess_site", pattern=FINESS_CODE, expected=FINESS_CODE_TEXT, **_OPT
    ),
    Column(
        "Numéro FINESS établissement juridique",
        "finess_ej",
        pattern=FINESS_CODE,
        expected=FINESS_CODE_TEXT,
        **_OPT,
    ),
    Column("Raison sociale site", "structure_name", max_length=250, **_OPT),
    Column("Enseigne commerciale site", "trade_name", max_length=250, **_OPT),
    Column("Numéro Voie (coord. structure)", "street_number", **_OPT),
    Column("Indice répétition voie (coord. structure)", "street_number_suffix", **_OPT),
    Column("Libellé type de voie (coord. structure)", "street_type", **_OPT),
    Column("Libellé Voie (coord. structure)", "street_name", max_length=300, **_OPT),
    Column("Bureau cedex (coord. structure)", "post_office", **_OPT),
    Column("Code postal (coord. structure)", "postal_code", **_OPT),
    Column(
        "Code commune (coord. structure)",
        "commune_code",
        pattern=COMMUNE_CODE,
        expected=COMMUNE_CODE_TEXT,
        **_OPT,
    ),
    Column("Libellé commune (coord. structure)", "city", **_OPT),
    Column("Code pays (coord. structure)", "country_code", **_OPT),
    Column("Téléphone (coord. structure)", "phone", **_OPT),
    Column("Adresse e-mail (coord. structure)", "email", **_OPT),
    Column(
        "Code Département (structure)",
        "departement",
        pattern=DEPARTEMENT_CODE,
        expected=DEPARTEMENT_CODE_TEXT,
        **_OPT,
    ),
    Column("Code secteur d'activité", "activity_sector_code", **_OPT),
    Column("Libellé secteur d'activité", "activity_sector_label", **_OPT),
    Column("Code genre activité", "activity_kind_code", may_be_absent=True, **_OPT),
]

#: Output columns, in order.
COLUMNS: tuple[str, ...] = (
    "rpps",
    "title",
    "family_name",
    "given_name",
    "profession_code",
    "profession_label",
    "category_code",
    "specialty_type_code",
    "specialty_code",
    "specialty_label",
    "mode_code",
    "mode_label",
    "siret",
    "finess_site",
    "finess_ej",
    "structure_name",
    "address",
    "postal_code",
    "commune_code",
    "city",
    "phone",
    "email",
    "departement",
    # beyond the core columns: provenance and filters
    "national_id",
    "activity_sector_code",
    "activity_sector_label",
    "activity_kind_code",
)


def read_rpps_activities(path: PathLike) -> pd.DataFrame:
    """Professional activities from an RPPS ``PS_LibreAcces_Personne_activite`` extract.

    One row per activity line, columns :data:`COLUMNS`: ``rpps, title, family_name,
    given_name, profession_code, profession_label, category_code, specialty_type_code,
    specialty_code, specialty_label, mode_code, mode_label, siret, finess_site, finess_ej,
    structure_name, address, postal_code, commune_code, city, phone, email, departement``, then
    ``national_id, activity_sector_code, activity_sector_label, activity_kind_code``.

    ``title`` is the "civilité d'exercice" code (DR, PR) or <NA>; ``address`` is the street line
    rebuilt from number, suffix, street type and name; ``city`` falls back to the post-office line
    without its postal code; ``departement`` falls back to the commune code's département;
    ``structure_name`` falls back to the trade name. Empty fields are <NA>.

    Checked beyond the layout: identifier type and length agree (RPPS 11 digits, ADELI 9), the
    national id is the type digit followed by the identifier, and a French address (no country
    code, or 99100) has a 5-digit postal code.
    """
    table = read_csv_table(
        path,
        _COLUMNS,
        sep="|",
        quoting=False,
        trailing_separator=True,
        exact_header=(HEADER, LEGACY_HEADER),
    )
    frame = table.frame
    rpps_line = (frame["id_type"] == "8").to_numpy(dtype=bool)
    length = frame["identifier"].str.len().to_numpy(dtype=np.int64)
    bad = (rpps_line & (length != 11)) | (~rpps_line & (length != 9))
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        kind = (
            "numéro RPPS de 11 chiffres" if rpps_line[position] else "numéro ADELI de 9 caractères"
        )
        table.fail(
            position,
            "identifier",
            f"un {kind} (selon le Type d'identifiant PP)",
            _at(frame, position, "identifier"),
        )
    national = (frame["id_type"] + frame["identifier"]).to_numpy(dtype=object)
    bad = national != frame["national_id"].to_numpy(dtype=object)
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        table.fail(
            position,
            "national_id",
            f"le type d'identifiant suivi de l'identifiant ({national[position]})",
            _at(frame, position, "national_id"),
        )
    french = frame["country_code"].isna() | (frame["country_code"] == "99100")
    postal = frame["postal_code"]
    bad = (french & postal.notna() & ~postal.str.fullmatch(r"\d{5}").fillna(False)).to_numpy(
        dtype=bool
    )
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        table.fail(
            position,
            "postal_code",
            "un code postal de 5 chiffres pour une adresse en France",
            _at(frame, position, "postal_code"),
        )
    # One person, one name: lines of the same RPPS number that disagree on it are refused.
    for column in ("family_name", "given_name"):
        names = frame[column].fillna("")
        first = names.groupby(frame["identifier"], sort=False).transform("first")
        bad = (names != first).to_numpy(dtype=bool)
        if bad.any():
            position = int(np.flatnonzero(bad)[0])
            same = (frame["identifier"] == frame["identifier"].iloc[position]).to_numpy(dtype=bool)
            earlier = int(np.flatnonzero(same)[0])
            table.fail(
                position,
                column,
                f"la même valeur de {table.sources[column]!r} sur chaque ligne de l'identifiant "
                f"{frame['identifier'].iloc[position]} "
                f"(la ligne {int(table.lines[earlier])} indique "
                f"{first.iloc[position]!r})",
                _at(frame, position, column),
            )
    return _shape(frame)


def _at(frame: pd.DataFrame, position: int, column: str) -> object:
    value = frame[column].iloc[position]
    return "" if pd.isna(value) else value


def _shape(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["rpps"] = frame["identifier"].where(frame["id_type"] == "8")
    number = (
        frame["street_number"].fillna("") + " " + frame["street_number_suffix"].fillna("")
    ).str.strip()
    parts = [number, frame["street_type"].fillna(""), frame["street_name"].fillna("")]
    address = parts[0]
    for part in parts[1:]:
        address = (address + " " + part).str.strip()
    out["address"] = address.replace("", pd.NA).astype("string")
    post_office_city = frame["post_office"].str.replace(r"^\d{5}\s*", "", regex=True)
    out["city"] = frame["city"].fillna(post_office_city.replace("", pd.NA)).astype("string")
    from_commune = (
        frame["commune_code"]
        .str.slice(0, 2)
        .where(
            ~frame["commune_code"].str.startswith("97").fillna(False),
            frame["commune_code"].str.slice(0, 3),
        )
    )
    out["departement"] = frame["departement"].fillna(from_commune).astype("string")
    out["structure_name"] = frame["structure_name"].fillna(frame["trade_name"]).astype("string")
    return out[list(COLUMNS)].reset_index(drop=True)
