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

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
    CsvTable,
    PathLike,
    iter_csv_tables,
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


#: Lines validated and returned at a time by :func:`iter_rpps_activities`: the national extract
#: (about 1.2 million lines) is never held whole.
BLOCK_LINES = 100_000


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
    national id is the type digit followed by the identifier, a French address (no country
    code, or 99100) has a 5-digit postal code, and every line of one identifier carries the same
    name. The whole file is returned at once: the national import uses
    :func:`iter_rpps_activities`, which holds one block at a time.
    """
    frames = list(iter_rpps_activities(path))
    if len(frames) == 1:
        return frames[0]
    return pd.concat(frames, ignore_index=True)


def iter_rpps_activities(
    path: PathLike, *, block_size: int = BLOCK_LINES
) -> Iterator[pd.DataFrame]:
    """:func:`read_rpps_activities`, ``block_size`` lines at a time (same columns, same checks,
    same errors with the absolute line number). The name check spans the whole file: a line
    whose name differs from the first line of its identifier is refused even when that first
    line was in an earlier block (only the first line and name of each identifier are kept).
    At least one block is yielded (empty when the file holds only its header); an error stops
    the iteration at the block that holds it.
    """
    names = _FirstNames()
    for table in iter_csv_tables(
        path,
        _COLUMNS,
        block_size=block_size,
        sep="|",
        quoting=False,
        trailing_separator=True,
        exact_header=(HEADER, LEGACY_HEADER),
    ):
        _check_lines(table)
        names.check(table)
        yield _shape(table.frame)


def _check_lines(table: CsvTable) -> None:
    """The rules that involve one line only: identifier length and national id, postal code."""
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


class _FirstNames:
    """One person, one name: the first line and name of every identifier met so far, in Arrow
    arrays (about 40 bytes an identifier), so that lines of the same identifier that disagree on
    the name are refused across the whole file, quoting the earlier line."""

    _NAMES = ("family_name", "given_name")

    def __init__(self) -> None:
        self.ids = pa.array([], pa.string())
        self.lines = np.empty(0, dtype=np.int64)
        self.names = {column: pa.array([], pa.string()) for column in self._NAMES}

    def check(self, table: CsvTable) -> None:
        frame = table.frame
        ids = frame["identifier"].to_numpy(dtype=object)
        if not len(ids):
            return
        # Each line's reference: the identifier's first line in an earlier block, else in this one.
        known = pc.index_in(pa.array(ids, pa.string()), value_set=self.ids)
        earlier = pc.is_valid(known).to_numpy(zero_copy_only=False)
        where = pc.drop_null(known).to_numpy(zero_copy_only=False).astype(np.int64)
        codes, _ = pd.factorize(ids)
        first_here = np.zeros(len(ids), dtype=bool)
        first_here[np.unique(codes, return_index=True)[1]] = True
        first_of_code = np.empty(codes.max() + 1, dtype=np.int64)
        first_of_code[codes[first_here]] = np.flatnonzero(first_here)
        reference = first_of_code[codes]
        ref_lines = table.lines[reference]
        ref_lines[earlier] = self.lines[where]
        values = {}
        for column in self._NAMES:
            names = frame[column].fillna("").to_numpy(dtype=object)
            values[column] = names
            first = names[reference]
            first[earlier] = self.names[column].take(pa.array(where)).to_numpy(zero_copy_only=False)
            bad = names != first
            if bad.any():
                position = int(np.flatnonzero(bad)[0])
                table.fail(
                    position,
                    column,
                    f"la même valeur de {table.sources[column]!r} sur chaque ligne de "
                    f"l'identifiant {ids[position]} "
                    f"(la ligne {int(ref_lines[position])} indique {first[position]!r})",
                    _at(frame, position, column),
                )
        new = first_here & ~earlier
        self.ids = pa.concat_arrays([self.ids, pa.array(ids[new], pa.string())])
        self.lines = np.concatenate([self.lines, table.lines[new]])
        for column in self._NAMES:
            self.names[column] = pa.concat_arrays(
                [self.names[column], pa.array(values[column][new], pa.string())]
            )


def _at(frame: pd.DataFrame, position: int, column: str) -> object:
    value = frame[column].iloc[position]
    return "" if pd.isna(value) else value


def _shape(frame: pd.DataFrame) -> pd.DataFrame:
    """The output columns, built in place (the frame is one block of the reader's, unshared)."""
    out = frame
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
