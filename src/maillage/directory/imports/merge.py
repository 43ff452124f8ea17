"""Merge import: bring another directory (CPTS, hospital, PTA list, FHIR Bundle) into maillage.

Seed 003 builds the CPTS "Bottin" from the lists that already exist. Those lists overlap with
what maillage holds (FINESS, RPPS, earlier imports), so an import must not blindly create
entries: it is *staged*, every row is matched against the directory and shown to a
coordinator, and only their decisions are written — in one transaction, after everything was
validated (the rule of :mod:`maillage.imports`).

Steps (each a function, the web pages are thin wrappers):

1. :func:`stage` reads a CSV, XLSX or FHIR Bundle into a :class:`MergeImport` (the file's
   header and cells are kept, not the file), guesses the column mapping from the header names
   (:func:`guess_mapping`) and analyses the rows;
2. :func:`remap` re-runs the analysis with the mapping the coordinator chose;
3. the analysis (:func:`prepare_rows`) normalises and validates each row (an error names the
   line and the source column) and :func:`detect_duplicates` looks for the entry it describes:
   RPPS and FINESS identifiers first, then a fuzzy comparison of name and address among the
   entries *of the same commune* (see :data:`MATCH_THRESHOLD`);
4. :func:`apply` writes the decisions (create / update the match / ignore). Any row in error
   blocks it: nothing is written until the file is right.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction
from django.utils import timezone
from rapidfuzz import fuzz

from maillage.accounts.permissions import audit, can
from maillage.directory.changes import MergeImport
from maillage.directory.models import (
    Location,
    Organization,
    Practitioner,
    PractitionerRole,
    Source,
)
from maillage.opendata.nomenclatures import PROFESSIONS, SPECIALTIES
from maillage.territory.models import Commune

FORMATS = ("csv", "xlsx", "fhir")
MAX_ROWS = 20_000  # a CPTS or hospital list; a national file goes through `maillage import`
MAX_BYTES = 10 * 1024 * 1024

#: Fuzzy duplicates: the score is rapidfuzz ``token_sort_ratio`` (0-100, insensitive to word
#: order, so "MARTIN Jean" = "Jean Martin") on normalised text (lowercase, no accents, no
#: titles, street abbreviations expanded). With an address on both sides the score is
#: ``0.7 × name + 0.3 × address``, otherwise the name alone. A candidate is a duplicate when
#: its score reaches ``MATCH_THRESHOLD`` *and* its name alone reaches ``NAME_THRESHOLD``:
#: same name at another address of the same commune (a practice that moved) still scores
#: 0.7 × 100 + 0.3 × ~50 = 85 and is proposed, while two different people of the same street
#: ("Martin" / "Marin" scores 91 on names, 0 on first names) are not. Only entries of the same
#: commune are compared: it keeps the comparison fast and avoids matching namesakes.
MATCH_THRESHOLD = 85.0
NAME_THRESHOLD = 80.0


@dataclass(frozen=True)
class TargetField:
    label: str
    synonyms: tuple[str, ...]  # normalised header names that map to this field


#: The maillage fields a source column can fill, with the header names that suggest them.
FIELDS: dict[str, TargetField] = {
    "rpps": TargetField("RPPS", ("rpps", "n rpps", "numero rpps", "identifiant rpps", "idpp")),
    "family_name": TargetField(
        "Nom", ("nom", "nom d exercice", "nom de famille", "nom du professionnel", "name")
    ),
    "given_name": TargetField("Prénom", ("prenom", "prenom d exercice", "prenoms")),
    "profession": TargetField(
        "Profession", ("profession", "metier", "specialite", "qualification", "fonction")
    ),
    "organization_name": TargetField(
        "Structure",
        (
            "structure",
            "etablissement",
            "raison sociale",
            "nom de la structure",
            "nom structure",
            "organisme",
            "lieu d exercice",
        ),
    ),
    "finess": TargetField(
        "FINESS", ("finess", "n finess", "numero finess", "finess et", "finess etablissement")
    ),
    "address": TargetField("Adresse", ("adresse", "adresse postale", "rue", "voie")),
    "postal_code": TargetField("Code postal", ("cp", "code postal", "codepostal")),
    "city": TargetField("Ville", ("ville", "commune", "localite", "libelle commune")),
    "commune_code": TargetField("Code INSEE", ("code insee", "insee", "code commune")),
    "phone": TargetField(
        "Téléphone", ("telephone", "tel", "telephone fixe", "numero de telephone", "phone")
    ),
    "email": TargetField("Courriel", ("email", "e mail", "courriel", "mail", "adresse mail")),
    "mssante": TargetField("MSSanté", ("mssante", "messagerie securisee", "mss")),
    "website": TargetField("Site web", ("site", "site web", "site internet", "url", "web")),
}

DECISIONS = {"create": "créer", "update": "mettre à jour", "ignore": "ignorer"}

_TITLES = {"dr", "docteur", "pr", "professeur", "mme", "madame", "m", "mr", "monsieur", "mlle"}
_STREET_WORDS = {
    "r": "rue", "av": "avenue", "ave": "avenue", "bd": "boulevard", "bld": "boulevard",
    "pl": "place", "ch": "chemin", "che": "chemin", "rte": "route", "imp": "impasse",
    "all": "allee", "fg": "faubourg", "fbg": "faubourg", "sq": "square", "st": "saint",
    "ste": "sainte", "crs": "cours", "qu": "quai", "res": "residence", "za": "zone",
}  # fmt: skip


# --------------------------------------------------------------------------- normalisation


def normalize(text: object) -> str:
    """Lowercase, accents removed, punctuation as spaces: the form every comparison uses."""
    value = unicodedata.normalize("NFKD", str(text or ""))
    value = "".join(c for c in value if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", value).split())


def normalize_name(text: object) -> str:
    return " ".join(w for w in normalize(text).split() if w not in _TITLES)


def normalize_address(text: object) -> str:
    return " ".join(_STREET_WORDS.get(w, w) for w in normalize(text).split())


def guess_mapping(headers: Iterable[str]) -> dict[str, str | None]:
    """For each maillage field, the source column whose name suggests it (or None).

    Exact names first ("Nom", "CP"), then names starting with a synonym ("Téléphone cabinet"),
    each column used once, so "Nom" is not taken for "Nom de la structure".
    """
    headers = list(headers)
    normalised = {h: normalize(h) for h in headers}
    mapping: dict[str, str | None] = dict.fromkeys(FIELDS)
    used: set[str] = set()
    for exact in (True, False):
        for name, field in FIELDS.items():
            if mapping[name] is not None:
                continue
            for header in headers:
                if header in used:
                    continue
                h = normalised[header]
                hit = (
                    h in field.synonyms
                    if exact
                    else any(h.startswith(s + " ") for s in field.synonyms if len(s) > 2)
                )
                if hit:
                    mapping[name] = header
                    used.add(header)
                    break
    return mapping


_PROFESSION_WORDS = {normalize(label): code for code, label in PROFESSIONS.items()}
_SPECIALTY_WORDS = {
    normalize(label): code for code, label in SPECIALTIES.items() if code.startswith("SM")
}
_PROFESSION_ALIASES = {
    "medecin generaliste": ("10", "SM54"),
    "generaliste": ("10", "SM54"),
    "mg": ("10", "SM54"),
    "infirmiere": ("60", ""),
    "ide": ("60", ""),
    "kine": ("70", ""),
    "kinesitherapeute": ("70", ""),
    "sage femme": ("50", ""),
    "dentiste": ("40", ""),
    "chirurgien dentiste": ("40", ""),
    "pharmacienne": ("21", ""),
    "orthophoniste": ("91", ""),
    "podologue": ("80", ""),
    "pedicure podologue": ("80", ""),
    "dieteticienne": ("95", ""),
    "cardiologue": ("10", "SM04"),
    "dermatologue": ("10", "SM15"),
    "ophtalmologue": ("10", "SM38"),
    "ophtalmologiste": ("10", "SM38"),
    "pediatre": ("10", "SM40"),
    "psychiatre": ("10", "SM42"),
}


def profession_from_text(text: str) -> tuple[str, str] | None:
    """(TRE_G15 profession code, TRE_R38 specialty code) from what a list says.

    Accepts codes ("10", "SM54"), NOS labels ("Masseur-Kinésithérapeute"), usual words
    ("médecin généraliste", "infirmière", "kiné") and doctors' specialties ("Cardiologie").
    """
    value = normalize(text)
    if not value:
        return None
    if value in PROFESSIONS:
        return value, ""
    if value.upper() in SPECIALTIES:
        return ("10" if value.startswith("sm") else "40" if value.startswith("scd") else "60",
                value.upper())  # fmt: skip
    if value in _PROFESSION_ALIASES:
        return _PROFESSION_ALIASES[value]
    singular = " ".join(w[:-1] if w.endswith("s") and len(w) > 3 else w for w in value.split())
    for candidate in (value, singular):
        if candidate in _PROFESSION_WORDS:
            return _PROFESSION_WORDS[candidate], ""
        if candidate in _PROFESSION_ALIASES:
            return _PROFESSION_ALIASES[candidate]
        if candidate in _SPECIALTY_WORDS:
            return "10", _SPECIALTY_WORDS[candidate]
        prefixed = {c for label, c in _SPECIALTY_WORDS.items() if label.startswith(candidate + " ")}
        if len(prefixed) == 1:  # "Cardiologie" for "Cardiologie et maladies vasculaires"
            return "10", prefixed.pop()
        if candidate.startswith("medecin "):
            rest = candidate.removeprefix("medecin ")
            for label, code in _SPECIALTY_WORDS.items():
                if fuzz.token_sort_ratio(rest, label) >= 90:
                    return "10", code
    return None


# --------------------------------------------------------------------------- reading


class MergeFileError(ValueError):
    """A file that cannot be read at all (format, encoding, empty): nothing is staged."""


def _read_bytes(file: Any) -> tuple[bytes, str]:
    if isinstance(file, (str, Path)):
        path = Path(file)
        data = path.read_bytes()
        return data, path.name
    data = file.read()
    if isinstance(data, str):
        data = data.encode()
    return data, Path(getattr(file, "name", "") or "fichier").name


def _cell(value: Any) -> str:
    """A spreadsheet cell as text; integers stay integers (RPPS numbers are read as floats)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).strip()


def read_table(data: bytes, fmt: str, name: str = "fichier") -> tuple[list[str], list[dict]]:
    """Header and rows (``{"line": n, "cells": [...]}``) of a CSV or XLSX file.

    Line numbers are those a person sees in the spreadsheet (header = line 1 in a CSV; the
    sheet's row number in XLSX), so error messages point at the right place.
    """
    if len(data) > MAX_BYTES:
        raise MergeFileError(f"{name} : fichier trop gros (maximum {MAX_BYTES // 1_000_000} Mo)")
    if fmt == "csv":
        text = None
        for encoding in ("utf-8-sig", "cp1252"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError as exc:
                error = exc
        if text is None:
            line = data.count(b"\n", 0, error.start) + 1
            raise MergeFileError(
                f"{name}, ligne {line} : encodage non reconnu (octet 0x{data[error.start]:02x}) ; "
                "enregistrez le fichier en UTF-8"
            )
        first = text.split("\n", 1)[0]
        delimiter = max(";,\t", key=first.count) if first else ";"
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        try:
            raw = list(enumerate(reader, start=1))
        except csv.Error as exc:
            too_big = "field larger than field limit" in str(exc)
            what = "une cellule dépasse 128 Ko" if too_big else f"ligne CSV illisible ({exc})"
            raise MergeFileError(f"{name}, ligne {reader.line_num} : {what}") from exc
    elif fmt == "xlsx":
        import zipfile

        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise MergeFileError(f"{name} : ce n'est pas un classeur XLSX lisible") from exc
        sheet = book.worksheets[0]
        raw = [
            (number, [_cell(v) for v in row])
            for number, row in enumerate(sheet.iter_rows(values_only=True), start=1)
        ]
        book.close()
    else:
        raise MergeFileError(f"format inconnu : {fmt!r} (attendu : csv, xlsx ou fhir)")
    raw = [(n, [c.strip() for c in cells]) for n, cells in raw if any(c.strip() for c in cells)]
    if not raw:
        raise MergeFileError(f"{name} : fichier vide")
    header_line, header = raw[0]
    while header and not header[-1]:
        header.pop()
    if not header or any(not h for h in header):
        raise MergeFileError(f"{name}, ligne {header_line} : chaque colonne doit avoir un nom")
    if len(set(header)) != len(header):
        double = next(h for h in header if header.count(h) > 1)
        raise MergeFileError(f"{name}, ligne {header_line} : colonne « {double} » en double")
    rows = [{"line": n, "cells": cells} for n, cells in raw[1:]]
    if len(rows) > MAX_ROWS:
        raise MergeFileError(f"{name} : {len(rows)} lignes, maximum {MAX_ROWS}")
    return header, rows


def _bundle_table(data: bytes, name: str) -> tuple[list[str], list[dict]]:
    """An Annuaire Santé Bundle as a table whose columns are the maillage fields.

    One row per practitioner (with the address of the structure of their first role) and one
    per geographical structure; legal entities (FINESS EJ) are not places of care and are left
    out. ``line`` is the Bundle entry's position (1-based) so a reviewer can find it.
    """
    import json

    import pandas as pd

    from maillage.opendata.errors import DataFormatError
    from maillage.opendata.fhir import read_annuaire_bundle

    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MergeFileError(f"{name} : ce n'est pas un document JSON ({exc})") from exc
    except RecursionError as exc:
        raise MergeFileError(f"{name} : document JSON trop profondément imbriqué") from exc
    if not isinstance(document, dict):
        raise MergeFileError(f"{name} : un Bundle FHIR (objet JSON) est attendu")
    try:
        bundle = read_annuaire_bundle(document)
    except DataFormatError as exc:
        raise MergeFileError(f"{name} : {exc}") from exc
    position = {
        (e.get("resource", {}).get("resourceType"), e.get("resource", {}).get("id")): i
        for i, e in enumerate(document.get("entry") or [], start=1)
    }

    def text(value: Any) -> str:
        return "" if value is None or pd.isna(value) else str(value)

    orgs = {text(o.fhir_id): o for o in bundle.organizations.itertuples()}
    roles_by_person: dict[str, list[Any]] = defaultdict(list)
    for r in bundle.roles.itertuples():
        roles_by_person[text(r.practitioner_fhir_id) or text(r.rpps)].append(r)
    fields = list(FIELDS)
    header = [FIELDS[f].label for f in fields]
    rows: list[dict] = []
    for p in bundle.practitioners.itertuples():
        roles = roles_by_person.get(text(p.fhir_id)) or roles_by_person.get(text(p.rpps)) or []
        role = roles[0] if roles else None
        org = orgs.get(text(role.organization_fhir_id)) if role is not None else None
        profession = text(role.profession_code) if role is not None else text(p.profession_code)
        specialty = text(role.specialty_code) if role is not None else ""
        values = {
            "rpps": text(p.rpps),
            "family_name": text(p.family_name),
            "given_name": text(p.given_name),
            "profession": specialty or profession,
            "organization_name": text(org.name) if org is not None else "",
            "address": text(org.address) if org is not None else "",
            "postal_code": text(org.postal_code) if org is not None else "",
            "city": text(org.city) if org is not None else "",
            "commune_code": text(org.commune_code) if org is not None else "",
        }
        line = position.get(("Practitioner", text(p.fhir_id)), 0)
        rows.append({"line": line, "cells": [values.get(f, "") for f in fields]})
    for o in bundle.organizations.itertuples():
        if "LEGAL-ENTITY" in text(o.type_codes).split(";"):
            continue
        values = {
            "organization_name": text(o.name),
            "finess": text(o.finess),
            "address": text(o.address),
            "postal_code": text(o.postal_code),
            "city": text(o.city),
            "commune_code": text(o.commune_code),
        }
        line = position.get(("Organization", text(o.fhir_id)), 0)
        rows.append({"line": line, "cells": [values.get(f, "") for f in fields]})
    rows.sort(key=lambda r: r["line"])
    return header, rows


# --------------------------------------------------------------------------- validation


class _Communes:
    """Commune lookup by INSEE code, by name (normalised) and by postal code, loaded once."""

    def __init__(self) -> None:
        self.by_code: dict[str, tuple[str, str]] = {}
        self.by_name: dict[str, list[str]] = defaultdict(list)
        self.by_postal: dict[str, list[str]] = defaultdict(list)
        for code, name, postal in Commune.objects.values_list("code", "name", "postal_codes"):
            self.by_code[code] = (name, postal)
            self.by_name[normalize_address(name)].append(code)
            for cp in re.findall(r"\d{5}", postal or ""):
                self.by_postal[cp].append(code)

    def find(self, code: str, city: str, postal: str) -> tuple[str | None, str | None]:
        """(commune code, None) or (None, why not)."""
        if code:
            return (code, None) if code in self.by_code else (None, f"code INSEE {code} inconnu")
        by_postal = self.by_postal.get(postal, []) if postal else []
        if city:
            named = self.by_name.get(normalize_address(city), [])
            if postal:
                both = [c for c in named if c in by_postal] or [
                    c for c in named if c.startswith(postal[:2])
                ]
                named = both or named
            if len(named) == 1:
                return named[0], None
            if not named:
                return None, f"commune « {city} » introuvable" + (
                    f" (code postal {postal})" if postal else ""
                )
            return None, f"plusieurs communes « {city} » : indiquez le code postal"
        if postal:
            if len(by_postal) == 1:
                return by_postal[0], None
            if not by_postal:
                return None, f"code postal {postal} inconnu"
            return (
                None,
                f"code postal {postal} partagé par {len(by_postal)} communes : indiquez la ville",
            )
        return None, None


def _phone(value: str) -> str:
    """A spreadsheet's phone cell as the directory stores it (:func:`review.phone_number`)."""
    from maillage.directory.review import phone_number

    digits = re.sub(r"\D", "", value)
    if len(digits) == 9 and digits[0] in "123456789" and not value.strip().startswith("+"):
        value = "0" + digits  # a spreadsheet dropped the leading zero
    try:
        return phone_number(value)
    except ValueError:
        raise ValueError("numéro de téléphone valide attendu (03 25 00 00 00)") from None


def _check_row(values: dict[str, str], communes: _Communes) -> tuple[dict, list[dict], list[str]]:
    """Normalise one row. Returns (data, errors as {"field", "message"}, warnings)."""
    data: dict[str, Any] = {}
    errors: list[dict] = []
    warnings: list[str] = []

    def fail(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    for name in ("family_name", "given_name", "organization_name", "address", "city"):
        data[name] = " ".join(values.get(name, "").split())
    rpps = re.sub(r"\s", "", values.get("rpps", ""))
    if rpps and not re.fullmatch(r"\d{11}", rpps):
        fail("rpps", f"numéro RPPS de 11 chiffres attendu, trouvé « {rpps[:20]} »")
    data["rpps"] = rpps
    finess = re.sub(r"\s", "", values.get("finess", "")).upper()
    if finess and not re.fullmatch(r"\d{9}|2[AB]\d{7}", finess):
        fail("finess", f"numéro FINESS de 9 caractères attendu, trouvé « {finess[:20]} »")
    data["finess"] = finess
    postal = re.sub(r"\s", "", values.get("postal_code", ""))
    if postal.isdigit() and len(postal) == 4:
        postal = "0" + postal  # a spreadsheet dropped the leading zero
    if postal and not re.fullmatch(r"\d{5}|2[AB]\d{3}", postal):
        fail("postal_code", f"code postal à 5 chiffres attendu, trouvé « {postal[:10]} »")
        postal = ""
    data["postal_code"] = postal
    for name in ("phone",):
        raw = values.get(name, "").strip()
        data[name] = ""
        if raw:
            try:
                data[name] = _phone(raw)
            except ValueError as exc:
                fail(name, f"{exc}, trouvé « {raw[:25]} »")
    for name in ("email", "mssante"):
        raw = values.get(name, "").strip()
        data[name] = raw
        if raw:
            try:
                EmailValidator()(raw)
            except ValidationError:
                fail(name, f"adresse électronique invalide « {raw[:40]} »")
    site = values.get("website", "").strip()
    if site and not re.match(r"^https?://", site):
        site = "https://" + site
    if site:
        try:
            URLValidator()(site)
        except ValidationError:
            fail("website", f"adresse web invalide « {site[:40]} »")
    data["website"] = site
    profession_text = values.get("profession", "").strip()
    data["profession_code"] = data["specialty_code"] = ""
    if profession_text:
        found = profession_from_text(profession_text)
        if found is None:
            fail("profession", f"profession « {profession_text[:40]} » non reconnue")
        else:
            data["profession_code"], data["specialty_code"] = found
    code = values.get("commune_code", "").strip()
    commune, why = communes.find(code, data["city"], postal)
    if why:
        fail("commune_code" if code else ("city" if data["city"] else "postal_code"), why)
    data["commune"] = commune
    if data["rpps"] or data["family_name"] or data["given_name"]:
        kind = "practitioner"
        if not data["family_name"]:
            fail("family_name", "nom du professionnel manquant")
        if not data["profession_code"]:
            warnings.append("profession non indiquée : la fiche ne sera pas dans la recherche")
    elif data["finess"] or data["organization_name"]:
        kind = "organization"
        if not data["organization_name"]:
            fail("organization_name", "nom de la structure manquant")
    else:
        kind = ""
        fail("family_name", "ni nom de professionnel ni nom de structure")
    if kind and not commune and not errors:
        warnings.append("commune inconnue : pas de recherche de doublon par nom et adresse")
    return {"kind": kind, **data}, errors, warnings


def prepare_rows(
    headers: list[str], source_rows: list[dict], mapping: Mapping[str, str | None]
) -> list[dict]:
    """Validate and normalise every source row through ``mapping``, then find duplicates.

    Each returned row: ``line``, ``kind`` (practitioner / organization), ``data``, ``errors``
    (``{"field", "column", "message"}``), ``warnings``, ``status`` (new / duplicate / error),
    ``match`` and the default ``decision``.
    """
    unknown = [c for c in mapping.values() if c and c not in headers]
    if unknown:
        raise ValueError(f"colonne « {unknown[0]} » absente du fichier")
    for field in mapping:
        if field not in FIELDS:
            raise ValueError(f"champ maillage inconnu : {field!r}")
    if not any(mapping.get(f) for f in ("family_name", "organization_name", "rpps", "finess")):
        raise ValueError(
            "associez au moins une colonne à « Nom », « Structure », « RPPS » ou « FINESS »"
        )
    index = {h: i for i, h in enumerate(headers)}
    communes = _Communes()
    rows = []
    for source in source_rows:
        cells = source["cells"]
        values = {}
        for field, column in mapping.items():
            if column:
                i = index[column]
                values[field] = cells[i] if i < len(cells) else ""
        data, errors, warnings = _check_row(values, communes)
        for error in errors:
            error["column"] = mapping.get(error["field"]) or FIELDS[error["field"]].label
        extra = [c for c in cells[len(headers) :] if c]
        if extra:
            errors.append(
                {
                    "field": "",
                    "column": "",
                    "message": f"{len(headers) + len(extra)} cellules pour {len(headers)} colonnes",
                }
            )
        rows.append(
            {
                "line": source["line"],
                "kind": data.pop("kind"),
                "data": data,
                "errors": errors,
                "warnings": warnings,
                "status": "error" if errors else "new",
                "match": None,
                "decision": "ignore" if errors else "create",
            }
        )
    for row, match in zip(rows, detect_duplicates(rows), strict=True):
        if match is not None and row["status"] != "error":
            row["match"] = match
            row["status"] = "duplicate"
            row["decision"] = "ignore" if match["model"] == "file" else "update"
    return rows


# --------------------------------------------------------------------------- duplicates


def _score(name_a: str, name_b: str, addr_a: str, addr_b: str) -> tuple[float, float]:
    """(combined score, name score) — see :data:`MATCH_THRESHOLD`."""
    name = fuzz.token_sort_ratio(name_a, name_b)
    if addr_a and addr_b:
        return 0.7 * name + 0.3 * fuzz.token_sort_ratio(addr_a, addr_b), name
    return float(name), name


def detect_duplicates(rows: list[dict]) -> list[dict | None]:
    """The existing entry (or earlier row of the same file) each row describes, if any.

    Order: the same RPPS or FINESS earlier in the file; the RPPS of a practitioner or FINESS
    of a structure already in maillage (score 100); then the best fuzzy match on name and
    address among the entries of the row's commune. Rows in error get no match.
    """
    matches: list[dict | None] = [None] * len(rows)
    seen: dict[tuple[str, str], int] = {}
    rpps = {r["data"]["rpps"] for r in rows if r["kind"] == "practitioner" and r["data"]["rpps"]}
    finess = {
        r["data"]["finess"] for r in rows if r["kind"] == "organization" and r["data"]["finess"]
    }
    by_rpps = {
        p.rpps: p for p in Practitioner.objects.filter(rpps__in=rpps).prefetch_related("roles")
    }
    by_finess = {o.finess_et: o for o in Organization.objects.filter(finess_et__in=finess)}
    communes = {r["data"]["commune"] for r in rows if r["data"].get("commune")}
    people: dict[str, list[tuple[int, str, str, str]]] = defaultdict(list)
    for pid, family, given, address, commune in PractitionerRole.objects.filter(
        location__commune_id__in=communes
    ).values_list(
        "practitioner_id",
        "practitioner__family_name",
        "practitioner__given_name",
        "location__address",
        "location__commune_id",
    ):
        people[commune].append((pid, f"{given} {family}", address, commune))
    places: dict[str, list[tuple[int, str, str, str]]] = defaultdict(list)
    for oid, name, address, commune in Organization.objects.filter(
        commune_id__in=communes
    ).values_list("pk", "name", "address", "commune_id"):
        places[commune].append((oid, name, address, commune))
    commune_names = dict(Commune.objects.filter(code__in=communes).values_list("code", "name"))

    for i, row in enumerate(rows):
        if row["errors"] or not row["kind"]:
            continue
        data = row["data"]
        key_name = "rpps" if row["kind"] == "practitioner" else "finess"
        key = (key_name, data[key_name])
        if data[key_name]:
            if key in seen:
                first = rows[seen[key]]
                matches[i] = {
                    "model": "file",
                    "id": None,
                    "label": f"ligne {first['line']} du même fichier",
                    "score": 100.0,
                    "by": key_name.upper(),
                }
                continue
            seen[key] = i
        if row["kind"] == "practitioner" and data["rpps"] in by_rpps:
            p = by_rpps[data["rpps"]]
            matches[i] = {"model": "practitioner", "id": p.pk, "label": f"{p} (RPPS {p.rpps})",
                          "score": 100.0, "by": "RPPS"}  # fmt: skip
            continue
        if row["kind"] == "organization" and data["finess"] in by_finess:
            o = by_finess[data["finess"]]
            matches[i] = {"model": "organization", "id": o.pk,
                          "label": f"{o.name} (FINESS {o.finess_et})", "score": 100.0,
                          "by": "FINESS"}  # fmt: skip
            continue
        commune = data.get("commune")
        if not commune:
            continue
        if row["kind"] == "practitioner":
            name = normalize_name(f"{data['given_name']} {data['family_name']}")
            candidates = people.get(commune, [])
        else:
            name = normalize_name(data["organization_name"])
            candidates = places.get(commune, [])
        address = normalize_address(data["address"])
        best: tuple[float, int, str, str] | None = None
        for cid, cname, caddress, _ in candidates:
            score, name_score = _score(
                name, normalize_name(cname), address, normalize_address(caddress)
            )
            if score >= MATCH_THRESHOLD and name_score >= NAME_THRESHOLD:
                if best is None or score > best[0]:
                    best = (score, cid, cname, caddress)
        if best is not None:
            score, cid, cname, caddress = best
            where = ", ".join(x for x in (caddress, commune_names.get(commune, "")) if x)
            matches[i] = {
                "model": row["kind"],
                "id": cid,
                "label": f"{cname} — {where}" if where else cname,
                "score": round(score, 1),
                "by": "nom + adresse",
            }
    return matches


# --------------------------------------------------------------------------- staging


def _require_reviewer(user: Any) -> None:
    if not can(user, "review"):
        audit(user, "merge_denied", None)
        raise PermissionDenied("Les imports sont réservés aux coordinateurs.")


def stage(
    file: str | Path | IO[bytes],
    format: str,  # noqa: A002 - the name the service contract uses
    mapping: Mapping[str, str | None] | None = None,
    *,
    user: Any,
    source_name: str = "",
) -> MergeImport:
    """Read a file and stage it for review; the directory itself is not touched.

    ``mapping`` (maillage field -> source column) defaults to :func:`guess_mapping` of the
    header; a FHIR Bundle needs none. Raises :class:`MergeFileError` for an unreadable file
    and ValueError for a mapping naming unknown columns or fields.
    """
    _require_reviewer(user)
    if format not in FORMATS:
        raise MergeFileError(f"format inconnu : {format!r} (attendu : csv, xlsx ou fhir)")
    data, name = _read_bytes(file)
    if format == "fhir":
        headers, source_rows = _bundle_table(data, name)
        mapping = {f: FIELDS[f].label for f in FIELDS}
    else:
        headers, source_rows = read_table(data, format, name)
        mapping = dict(mapping) if mapping is not None else guess_mapping(headers)
    full = {f: mapping.get(f) or None for f in FIELDS}
    rows = prepare_rows(headers, source_rows, full)
    merge_import = MergeImport.objects.create(
        source_name=(source_name or name)[:250],
        source_format=format,
        headers=headers,
        source_rows=source_rows,
        mapping=full,
        rows=rows,
        created_by=user,
    )
    audit(user, "merge_stage", merge_import, rows=len(rows), format=format)
    return merge_import


def remap(merge_import: MergeImport, mapping: Mapping[str, str | None], user: Any) -> None:
    """Analyse the staged rows again with another column mapping."""
    _require_reviewer(user)
    if merge_import.status != MergeImport.Status.STAGED:
        raise ValueError("cet import a déjà été appliqué ou annulé")
    full = {f: mapping.get(f) or None for f in FIELDS}
    merge_import.rows = prepare_rows(merge_import.headers, merge_import.source_rows, full)
    merge_import.mapping = full
    merge_import.save(update_fields=["rows", "mapping"])
    audit(user, "merge_remap", merge_import)


def summary(merge_import: MergeImport) -> dict[str, int]:
    counts = {"new": 0, "duplicate": 0, "error": 0}
    for row in merge_import.rows:
        counts[row["status"]] += 1
    return counts


def first_error(merge_import: MergeImport) -> str | None:
    """The first row error as a sentence (line, column, what is wrong), or None."""
    for row in merge_import.rows:
        for error in row["errors"]:
            column = f", colonne {error['column']}" if error.get("column") else ""
            return f"ligne {row['line']}{column} : {error['message']}"
    return None


# --------------------------------------------------------------------------- applying


def _save(obj: Any, user: Any, reason: str) -> Any:
    obj._history_user = user
    obj._change_reason = reason
    obj.save()
    return obj


def _fill(obj: Any, values: Mapping[str, Any]) -> bool:
    """Copy non-empty values onto ``obj``; True when something changed."""
    changed = False
    for name, value in values.items():
        if value not in ("", None) and getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _create(row: dict, user: Any, reason: str) -> list[Any]:
    data = row["data"]
    commune = Commune.objects.get(code=data["commune"]) if data["commune"] else None
    if row["kind"] == "organization":
        org = Organization(
            finess_et=data["finess"] or None,
            name=data["organization_name"][:250],
            address=data["address"][:300],
            postal_code=data["postal_code"],
            city=data["city"][:120] or (commune.name if commune else ""),
            commune=commune,
            phone=data["phone"],
            email=data["email"],
            website=data["website"],
            mssante=data["mssante"],
            latitude=commune.latitude if commune else None,
            longitude=commune.longitude if commune else None,
            source=Source.MANUAL,
        )
        return [_save(org, user, reason)]
    person = _save(
        Practitioner(
            rpps=data["rpps"] or None,
            family_name=data["family_name"][:120],
            given_name=data["given_name"][:120],
            mssante=data["mssante"],
            source=Source.MANUAL,
        ),
        user,
        reason,
    )
    created: list[Any] = [person]
    if data["profession_code"]:
        location = None
        if commune is not None:
            location = _save(
                Location(
                    name=(data["organization_name"] or f"Cabinet {person}")[:250],
                    address=data["address"][:300],
                    postal_code=data["postal_code"],
                    commune=commune,
                    latitude=commune.latitude,
                    longitude=commune.longitude,
                    phone=data["phone"],
                    email=data["email"],
                    website=data["website"],
                    source=Source.MANUAL,
                ),
                user,
                reason,
            )
            created.append(location)
        created.append(
            _save(
                PractitionerRole(
                    practitioner=person,
                    location=location,
                    profession_code=data["profession_code"],
                    specialty_code=data["specialty_code"],
                    source=Source.MANUAL,
                ),
                user,
                reason,
            )
        )
    return created


def _targets(row: dict) -> list[Any]:
    """The directory entries applying ``row`` would change or create (unsaved for a creation).

    Used to check the coordinator's scope before anything is written: an update touches the
    matched entry (and, for a practitioner, the place of the role :func:`_update` picks); a
    creation puts a new entry in the row's commune.
    """
    data, match = row["data"], row["match"]
    if row["decision"] == "update" and match is not None:
        if match["model"] == "organization":
            org = Organization.objects.filter(pk=match["id"]).first()
            return [org] if org is not None else []
        person = Practitioner.objects.filter(pk=match["id"]).first()
        if person is None:
            return []
        role = _role_to_update(person, data)
        return [person] + ([role.location] if role is not None else [])
    if row["decision"] == "create":
        commune = data.get("commune") or None
        if row["kind"] == "organization":
            return [Organization(commune_id=commune)]
        return [Location(commune_id=commune)]  # the place the new role will be at
    return []


def refusal(row: dict, user: Any, decision: str | None = None) -> str | None:
    """Why ``user`` may not apply ``row`` with ``decision`` (default: the row's), or None.

    A coordinator scoped to some territories only changes or creates entries inside them
    (``accounts.permissions.can(user, "edit", entry)``, the same check as the review screen).
    """
    decision = decision or row["decision"]
    if decision not in ("create", "update") or row["errors"] or not row["kind"]:
        return None
    match = row["match"]
    if decision == "update" and (match is None or match["model"] == "file"):
        return None  # not a valid decision; apply() says so
    targets = _targets({**row, "decision": decision})
    if all(can(user, "edit", t) for t in targets):
        return None
    if decision == "update":
        return "refusée : la fiche existante est hors de vos territoires"
    return "refusée : la commune est hors de vos territoires"


def refusals(merge_import: MergeImport, user: Any) -> dict[int, dict[str, str]]:
    """Per row position, the decisions ``user`` may not take and why (see :func:`refusal`)."""
    result: dict[int, dict[str, str]] = {}
    for position, row in enumerate(merge_import.rows):
        refused = {d: m for d in ("update", "create") if (m := refusal(row, user, d))}
        if refused:
            result[position] = refused
    return result


def _role_to_update(person: Practitioner, data: Mapping[str, Any]) -> PractitionerRole | None:
    roles = person.roles.select_related("location").filter(location__isnull=False)
    return roles.filter(location__commune_id=data["commune"]).first() or roles.first()


def _update(row: dict, user: Any, reason: str) -> list[Any]:
    data, match = row["data"], row["match"]
    touched: list[Any] = []
    if match["model"] == "organization":
        org = Organization.objects.get(pk=match["id"])
        values = {k: data[k] for k in ("address", "postal_code", "phone", "email", "website",
                                       "mssante")}  # fmt: skip
        values["city"] = data["city"]
        values["commune_id"] = data["commune"]
        if not org.finess_et and data["finess"]:
            values["finess_et"] = data["finess"]
        if _fill(org, values):
            touched.append(_save(org, user, reason))
        return touched
    person = Practitioner.objects.get(pk=match["id"])
    values = {"mssante": data["mssante"]}
    if not person.rpps and data["rpps"]:
        values["rpps"] = data["rpps"]
    if not person.given_name:
        values["given_name"] = data["given_name"]
    if _fill(person, values):
        touched.append(_save(person, user, reason))
    role = _role_to_update(person, data)
    if role is not None:
        location = role.location
        contact = {k: data[k] for k in ("address", "postal_code", "phone", "email", "website")}
        if _fill(location, contact):
            touched.append(_save(location, user, reason))
    return touched


def apply(
    merge_import: MergeImport, decisions: Mapping[int | str, str], user: Any
) -> dict[str, int]:
    """Write the coordinator's decisions, all or nothing.

    ``decisions`` maps a row's position (0-based, in ``merge_import.rows``) to "create",
    "update" or "ignore"; rows not listed keep their default decision. Any row in error, or a
    decision that does not fit its row, raises ValueError naming the line before anything is
    written. Returns the counts created / updated / ignored.
    """
    _require_reviewer(user)
    if merge_import.status != MergeImport.Status.STAGED:
        raise ValueError("cet import a déjà été appliqué ou annulé")
    error = first_error(merge_import)
    if error:
        raise ValueError(f"import bloqué, {error}. Corrigez le fichier et importez-le à nouveau.")
    rows = [dict(r) for r in merge_import.rows]
    for key, decision in decisions.items():
        position = int(key)
        if not 0 <= position < len(rows):
            raise ValueError(f"ligne inconnue : {key}")
        if decision not in DECISIONS:
            raise ValueError(f"ligne {rows[position]['line']} : décision inconnue « {decision} »")
        rows[position]["decision"] = decision
    for row in rows:
        match = row["match"]
        if row["decision"] == "update" and (match is None or match["model"] == "file"):
            raise ValueError(f"ligne {row['line']} : pas de fiche existante à mettre à jour")
        if row["decision"] == "create" and match is not None and match["model"] == "file":
            raise ValueError(
                f"ligne {row['line']} : même identifiant que la {match['label']}, à ignorer"
            )
        if row["decision"] == "create" and row["data"]["rpps"] and row["kind"] == "practitioner":
            if Practitioner.objects.filter(rpps=row["data"]["rpps"]).exists():
                raise ValueError(
                    f"ligne {row['line']} : le RPPS {row['data']['rpps']} est déjà dans "
                    "l'annuaire ; choisissez « mettre à jour »"
                )
        if row["decision"] == "create" and row["data"]["finess"] and row["kind"] == "organization":
            if Organization.objects.filter(finess_et=row["data"]["finess"]).exists():
                raise ValueError(
                    f"ligne {row['line']} : le FINESS {row['data']['finess']} est déjà dans "
                    "l'annuaire ; choisissez « mettre à jour »"
                )
    counts = {"created": 0, "updated": 0, "ignored": 0}
    for row, staged_row in zip(rows, merge_import.rows, strict=True):
        why = refusal(row, user)
        if why is None and row["decision"] == "ignore":
            why = refusal(row, user, staged_row["decision"])  # ignored because refused
        if why is not None:
            row["decision"] = "refused"
            row["refusal"] = why
    reason = f"import n° {merge_import.pk}"
    written: list[Any] = []
    with transaction.atomic():
        locked = MergeImport.objects.select_for_update().get(pk=merge_import.pk)
        if locked.status != MergeImport.Status.STAGED:
            raise ValueError("cet import a déjà été appliqué ou annulé")
        for row in rows:
            if row["decision"] == "create":
                written += _create(row, user, reason)
                counts["created"] += 1
            elif row["decision"] == "update":
                written += _update(row, user, reason)
                counts["updated"] += 1
            elif row["decision"] == "refused":  # out of the user's territories
                counts["refused"] = counts.get("refused", 0) + 1
            else:
                counts["ignored"] += 1
        from maillage.directory.search.service import reindex_objects

        reindex_objects(written)
        merge_import.rows = rows
        merge_import.status = MergeImport.Status.APPLIED
        merge_import.applied_at = timezone.now()
        merge_import.applied_by = user
        merge_import.result = counts
        merge_import.save()
        audit(user, "merge_apply", merge_import, **counts)
    return counts


def cancel(merge_import: MergeImport, user: Any) -> None:
    _require_reviewer(user)
    if merge_import.status != MergeImport.Status.STAGED:
        raise ValueError("cet import a déjà été appliqué ou annulé")
    merge_import.status = MergeImport.Status.CANCELLED
    merge_import.save(update_fields=["status"])
    audit(user, "merge_cancel", merge_import)
