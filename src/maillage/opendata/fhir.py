"""Annuaire Santé (ANS) FHIR Bundles: practitioners, their roles, and organisations.

The Annuaire Santé API (``https://gateway.api.esante.gouv.fr/fhir/v2``) answers searches with
FHIR R4 ``searchset`` Bundles whose resources follow the ANS "Annuaire Santé" implementation guide
(profiles ``as-dp-practitioner``, ``as-dp-practitionerrole``, ``as-dp-organization`` for the
public data, ``as-dr-*`` for the restricted data; both are read the same way). This module turns a
saved Bundle (a file, or the parsed JSON of an API page) into three DataFrames the directory can
import, after checking that:

- the document is a ``Bundle`` of type ``searchset`` or ``collection``;
- every entry's resource parses as FHIR (validated with ``fhir.resources.R4B``: the package ships
  R4B 4.3 and R5, not R4 4.0.1, and R4B is wire-compatible with R4 for Bundle, Practitioner,
  PractitionerRole and Organization);
- a Practitioner carries an RPPS or a national id (IDNPS), and the two agree;
- a PractitionerRole points at its practitioner;
- an Organization carries at least one identifier, and FINESS/SIRET values are well-formed.

Errors name the JSON path (``entry[3].resource.identifier``) and, for a file, the line where the
entry starts.

Identifier systems (checked against the ANS IG sources, ``ansforge/IG-fhir-annuaire``): the
national ids are ``urn:oid:1.2.250.1.71.4.2.1`` (IDNPS, persons: "8" + RPPS, or "0" + ADELI) and
``urn:oid:1.2.250.1.71.4.2.2`` (IDNST, structures: "1" + FINESS, "3" + SIRET, "4" + RPPS rang;
it is *not* the FINESS system). RPPS is ``https://rpps.esante.gouv.fr`` (older servers:
``http://rpps.fr``), FINESS ``https://finess.esante.gouv.fr`` (older: ``http://finess.sante.gouv.fr``)
with type FINEG (établissement) or FINEJ (entité juridique), SIREN/SIRET ``https://sirene.fr``
(older: ``http://sirene.fr``). Types come from ``fr-core-cs-v2-0203`` (codes IDNPS, RPPS, IDNST,
FINEG, FINEJ, SIRET, SIREN); the reader accepts them whatever the code system URL, which changed
between versions of the French core IG.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ._validate import FINESS_CODE, JsonLocator, PathLike, json_found, load_json
from .nomenclatures import (
    ADDRESS_INSEE_CODE_EXTENSION,
    FINESS_SYSTEMS,
    IDNPS_SYSTEM,
    IDNST_SYSTEM,
    RPPS_SYSTEM,
    RPPS_SYSTEMS,
    SIRENE_SYSTEMS,
)

BUNDLE_TYPES = frozenset({"searchset", "collection"})

_RPPS_RE = re.compile(r"\d{11}")
_IDNPS_RE = re.compile(r"8\d{11}|0(?:\d{9}|2[AB]\d{7})")
_FINESS_RE = re.compile(FINESS_CODE)
_SIRET_RE = re.compile(r"\d{14}")
_SIREN_RE = re.compile(r"\d{9}")


@dataclass(frozen=True)
class AnnuaireBundle:
    """The three tables of an Annuaire Santé Bundle, plus paging information.

    ``practitioners``: ``fhir_id, rpps, idnps, family_name, given_name, prefix, title, gender,
    active, profession_code, specialty_codes``.
    ``roles``: ``fhir_id, practitioner_fhir_id, rpps, organization_fhir_id, profession_code,
    category_code, specialty_code, specialty_codes, mode_code, activity_kind_code,
    function_code, active, period_start, period_end``.
    ``organizations``: ``fhir_id, finess, finess_ej, siret, siren, idnst, name, type_codes,
    category_code, activity_sector_code, address, postal_code, city, commune_code,
    part_of_fhir_id, active``.
    Multi-valued codes are ';'-joined. ``total`` is ``Bundle.total`` (all matches, not only this
    page) and ``next_url`` the ``next`` link to fetch the following page, if any.
    """

    practitioners: pd.DataFrame
    roles: pd.DataFrame
    organizations: pd.DataFrame
    total: int | None = None
    next_url: str | None = None


def read_annuaire_bundle(path_or_dict: PathLike | Mapping[str, Any]) -> AnnuaireBundle:
    """Read and validate an Annuaire Santé FHIR Bundle (a JSON file, or an already parsed dict).

    Entries of other resource types (Location, HealthcareService, an OperationOutcome of a
    searchset) are validated as FHIR and otherwise ignored. A resource repeated in the Bundle
    (same type and id, as ``_include`` can produce) is kept once.
    """
    if isinstance(path_or_dict, Mapping):
        data: Any = path_or_dict
        locator = JsonLocator("<bundle>", None, array_key="entry")
    else:
        data, text = load_json(path_or_dict)
        locator = JsonLocator(Path(path_or_dict), text, array_key="entry")
    _check_bundle(locator, data)
    seen: set[tuple[str, str]] = set()
    practitioners: list[tuple[int, Mapping[str, Any]]] = []
    roles: list[tuple[int, Mapping[str, Any]]] = []
    organizations: list[tuple[int, Mapping[str, Any]]] = []
    for index, entry in enumerate(data.get("entry") or []):
        resource = _check_entry(locator, index, entry)
        kind = resource["resourceType"]
        key = (kind, str(resource.get("id")))
        if resource.get("id") is not None and key in seen:
            continue
        seen.add(key)
        if kind == "Practitioner":
            practitioners.append((index, resource))
        elif kind == "PractitionerRole":
            roles.append((index, resource))
        elif kind == "Organization":
            organizations.append((index, resource))
    practitioner_frame = _practitioners(locator, practitioners)
    rpps_by_id = dict(zip(practitioner_frame["fhir_id"], practitioner_frame["rpps"], strict=True))
    return AnnuaireBundle(
        practitioners=practitioner_frame,
        roles=_roles(locator, roles, rpps_by_id),
        organizations=_organizations(locator, organizations),
        total=data.get("total"),
        next_url=next(
            (link.get("url") for link in data.get("link") or [] if link.get("relation") == "next"),
            None,
        ),
    )


# --- structure and FHIR validation --------------------------------------------------------------
def _fhir_models() -> Any:
    """The ``fhir.resources.R4B`` module, imported on first use.

    ``fhir.resources`` (with pydantic) is only needed to read FHIR, so importing
    ``maillage.opendata`` must not require it.
    """
    try:
        import fhir.resources.R4B as r4b
        from fhir.resources.R4B import bundle  # noqa: F401 - loads r4b.bundle
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError(
            "reading FHIR Bundles needs the fhir.resources package (pip install fhir.resources)"
        ) from exc
    return r4b


def _errors(exc: Exception) -> dict[str, Any] | None:
    """The first pydantic error of a validation exception, or None for other exceptions."""
    errors = getattr(exc, "errors", None)
    return errors()[0] if callable(errors) else None


def _loc(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _check_bundle(locator: JsonLocator, data: Any) -> None:
    if not isinstance(data, Mapping):
        locator.fail(None, "", "un objet JSON (un Bundle FHIR)", found=type(data).__name__)
    if data.get("resourceType") != "Bundle":
        locator.fail(None, "resourceType", '"Bundle"', found=json_found(data.get("resourceType")))
    if data.get("type") not in BUNDLE_TYPES:
        locator.fail(
            None,
            "type",
            'un Bundle de type "searchset" ou "collection"',
            json_found(data.get("type")),
        )
    shell = {key: value for key, value in data.items() if key != "entry"}
    r4b = _fhir_models()
    try:
        r4b.bundle.Bundle.model_validate(shell)
    except ValueError as exc:  # pydantic.ValidationError is a ValueError
        error = _errors(exc)
        if error is None:
            raise
        locator.fail(
            None, _loc(error["loc"]), f"des données de Bundle FHIR R4 valides ({error['msg']})"
        )
    entries = data.get("entry")
    if entries is not None and not isinstance(entries, list):
        locator.fail(None, "entry", "une liste d'entrées", found=type(entries).__name__)


def _check_entry(locator: JsonLocator, index: int, entry: Any) -> Mapping[str, Any]:
    if not isinstance(entry, Mapping):
        locator.fail(index, "", "un objet d'entrée de Bundle", found=type(entry).__name__)
    resource = entry.get("resource")
    if not isinstance(resource, Mapping):
        locator.fail(index, "resource", "un objet ressource", found=json_found(resource))
    kind = resource.get("resourceType")
    r4b = _fhir_models()
    try:
        model = r4b.get_fhir_model_class(kind) if isinstance(kind, str) else None
    except (KeyError, ValueError, AttributeError):
        model = None
    if model is None:
        locator.fail(
            index, "resource.resourceType", "un type de ressource FHIR R4", json_found(kind)
        )
    try:
        model.model_validate(resource)
    except ValueError as exc:
        error = _errors(exc)
        if error is None:
            raise
        locator.fail(
            index,
            f"resource.{_loc(error['loc'])}".rstrip("."),
            f"des données {kind} FHIR R4 valides ({error['msg']})",
            found=_value_at(resource, error["loc"]),
        )
    active = resource.get("active")
    if active is not None and not isinstance(active, bool):
        # pydantic's lax mode would read "yes" as true; FHIR JSON booleans are true/false only
        locator.fail(
            index, "resource.active", "true ou false (un booléen JSON)", json_found(active)
        )
    try:
        r4b.bundle.BundleEntry.model_validate({k: v for k, v in entry.items() if k != "resource"})
    except ValueError as exc:
        error = _errors(exc)
        if error is None:
            raise
        locator.fail(index, _loc(error["loc"]), f"une entrée de Bundle valide ({error['msg']})")
    return resource


def _value_at(document: object, loc: tuple[Any, ...]) -> object:
    """The JSON value at a pydantic error location, for the message (None if not reachable)."""
    for part in loc:
        try:
            document = document[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return None
    return json_found(document)


# --- small accessors -------------------------------------------------------------------------
def _type_codes(identifier: Mapping[str, Any]) -> set[str]:
    codings = (identifier.get("type") or {}).get("coding") or []
    return {c.get("code") for c in codings if isinstance(c, Mapping)}


def _nos(system: object, table: str) -> bool:
    """True if ``system`` is the URL of the NOS table ``table`` (e.g. "TRE_G15-ProfessionSante").

    Matched on the table name because servers append suffixes (the AS PractitionerRole profile
    once fixed the G15 system with a trailing "/TRE_G15-ProfessionSante-FHIR.json").
    """
    return isinstance(system, str) and f"/NOS/{table}/" in f"{system}/"


def _codes(concepts: object, table: str) -> list[str]:
    """Codes from the NOS table ``table`` in a CodeableConcept or a list of them."""
    if isinstance(concepts, Mapping):
        concepts = [concepts]
    found: list[str] = []
    for concept in concepts or []:
        for coding in (concept or {}).get("coding") or []:
            if (
                _nos(coding.get("system"), table)
                and coding.get("code")
                and coding["code"] not in found
            ):
                found.append(coding["code"])
    return found


def _first(values: list[str]) -> str | None:
    return values[0] if values else None


def _joined(values: list[str]) -> str | None:
    return ";".join(values) if values else None


def _reference_id(reference: object, kind: str) -> str | None:
    if not isinstance(reference, Mapping):
        return None
    text = reference.get("reference")
    if isinstance(text, str):
        match = re.search(rf"(?:^|/){kind}/([^/]+)(?:/_history/[^/]+)?$", text)
        if match:
            return match.group(1)
    return None


def _frame(rows: list[dict[str, Any]], columns: dict[str, str]) -> pd.DataFrame:
    data = {name: [row.get(name) for row in rows] for name in columns}
    return pd.DataFrame(
        {name: pd.array(data[name], dtype=dtype) for name, dtype in columns.items()}
    )


# --- Practitioner ------------------------------------------------------------------------------
_PRACTITIONER_COLUMNS = {
    "fhir_id": "string",
    "rpps": "string",
    "idnps": "string",
    "family_name": "string",
    "given_name": "string",
    "prefix": "string",
    "title": "string",
    "gender": "string",
    "active": "boolean",
    "profession_code": "string",
    "specialty_codes": "string",
}


#: FHIR AdministrativeGender (the only values a Practitioner.gender may take).
_GENDERS = frozenset({"male", "female", "other", "unknown"})


def _practitioners(
    locator: JsonLocator, resources: list[tuple[int, Mapping[str, Any]]]
) -> pd.DataFrame:
    rows = []
    for index, resource in resources:
        rpps = idnps = None
        for k, identifier in enumerate(resource.get("identifier") or []):
            system, value = identifier.get("system"), identifier.get("value")
            types = _type_codes(identifier)
            where = f"resource.identifier[{k}].value"
            if system in RPPS_SYSTEMS or "RPPS" in types:
                if not isinstance(value, str) or not _RPPS_RE.fullmatch(value):
                    locator.fail(index, where, "un numéro RPPS de 11 chiffres", json_found(value))
                rpps = value
            elif system == IDNPS_SYSTEM or "IDNPS" in types:
                if not isinstance(value, str) or not _IDNPS_RE.fullmatch(value):
                    locator.fail(
                        index, where, 'un IDNPS : "8" + RPPS ou "0" + ADELI', json_found(value)
                    )
                idnps = value
        if rpps is None and idnps is None:
            locator.fail(
                index,
                "resource.identifier",
                f"un identifiant RPPS (système {RPPS_SYSTEM}, type RPPS) ou un identifiant "
                f"national (IDNPS, système {IDNPS_SYSTEM})",
                json_found(resource.get("identifier", "(absent)")),
            )
        if rpps is not None and idnps is not None and idnps != "8" + rpps:
            locator.fail(
                index, "resource.identifier", f'IDNPS "8{rpps}" (celui du RPPS {rpps})', idnps
            )
        if rpps is None and idnps is not None and idnps.startswith("8"):
            rpps = idnps[1:]
        gender = resource.get("gender")
        if gender is not None and gender not in _GENDERS:
            locator.fail(
                index,
                "resource.gender",
                "l'une des valeurs "
                + ", ".join(repr(g) for g in sorted(_GENDERS))
                + " (FHIR AdministrativeGender)",
                json_found(gender),
            )
        names = [n for n in resource.get("name") or [] if isinstance(n, Mapping)]
        name = next((n for n in names if n.get("use") in ("usual", "official")), None)
        name = name or (names[0] if names else {})
        for part, limit in (("family", 120),):
            value = name.get(part)
            if isinstance(value, str) and (len(value) > limit or "\x00" in value):
                locator.fail(
                    index,
                    f"resource.name.{part}",
                    f"au plus {limit} caractères, sans octet NUL",
                    f"{len(value)} caractères",
                )
        qualifications = [q.get("code") for q in resource.get("qualification") or []]
        rows.append(
            {
                "fhir_id": resource.get("id"),
                "rpps": rpps,
                "idnps": idnps,
                "family_name": name.get("family"),
                "given_name": " ".join(name.get("given") or []) or None,
                "prefix": " ".join(name.get("prefix") or []) or None,
                "title": " ".join(name.get("suffix") or []) or None,
                "gender": resource.get("gender"),
                "active": resource.get("active"),
                "profession_code": _first(_codes(qualifications, "TRE_G15-ProfessionSante")),
                "specialty_codes": _joined(_codes(qualifications, "TRE_R38-SpecialiteOrdinale")),
            }
        )
    return _frame(rows, _PRACTITIONER_COLUMNS)


# --- PractitionerRole --------------------------------------------------------------------------
_ROLE_COLUMNS = {
    "fhir_id": "string",
    "practitioner_fhir_id": "string",
    "rpps": "string",
    "organization_fhir_id": "string",
    "profession_code": "string",
    "category_code": "string",
    "specialty_code": "string",
    "specialty_codes": "string",
    "mode_code": "string",
    "activity_kind_code": "string",
    "function_code": "string",
    "active": "boolean",
    "period_start": "string",
    "period_end": "string",
}


def _roles(
    locator: JsonLocator,
    resources: list[tuple[int, Mapping[str, Any]]],
    rpps_by_id: Mapping[str, Any],
) -> pd.DataFrame:
    rows = []
    for index, resource in resources:
        reference = resource.get("practitioner")
        practitioner_id = _reference_id(reference, "Practitioner")
        rpps = rpps_by_id.get(practitioner_id) if practitioner_id else None
        logical = (reference or {}).get("identifier") if isinstance(reference, Mapping) else None
        if isinstance(logical, Mapping) and (
            logical.get("system") in RPPS_SYSTEMS or "RPPS" in _type_codes(logical)
        ):
            value = logical.get("value")
            if not isinstance(value, str) or not _RPPS_RE.fullmatch(value):
                locator.fail(
                    index,
                    "resource.practitioner.identifier.value",
                    "un numéro RPPS de 11 chiffres",
                    json_found(value),
                )
            rpps = value
        if practitioner_id is None and rpps is None:
            locator.fail(
                index,
                "resource.practitioner",
                'une référence au professionnel ("Practitioner/<id>" ou un identifiant RPPS)',
                json_found(reference if reference is not None else "(absent)"),
            )
        code, specialty = resource.get("code"), resource.get("specialty")
        specialties = _codes(specialty, "TRE_R38-SpecialiteOrdinale")
        period = resource.get("period") or {}
        rows.append(
            {
                "fhir_id": resource.get("id"),
                "practitioner_fhir_id": practitioner_id,
                "rpps": rpps,
                "organization_fhir_id": _reference_id(resource.get("organization"), "Organization"),
                "profession_code": _first(_codes(code, "TRE_G15-ProfessionSante")),
                "category_code": _first(_codes(code, "TRE_R09-CategorieProfessionnelle")),
                "specialty_code": _first(specialties),
                "specialty_codes": _joined(specialties),
                "mode_code": _first(_codes(code, "TRE_R23-ModeExercice")),
                "activity_kind_code": _first(_codes(code, "TRE_R22-GenreActivite")),
                "function_code": _first(_codes(code, "TRE_R21-Fonction")),
                "active": resource.get("active"),
                "period_start": period.get("start"),
                "period_end": period.get("end"),
            }
        )
    return _frame(rows, _ROLE_COLUMNS)


# --- Organization ------------------------------------------------------------------------------
_ORGANIZATION_COLUMNS = {
    "fhir_id": "string",
    "finess": "string",
    "finess_ej": "string",
    "siret": "string",
    "siren": "string",
    "idnst": "string",
    "name": "string",
    "type_codes": "string",
    "category_code": "string",
    "activity_sector_code": "string",
    "address": "string",
    "postal_code": "string",
    "city": "string",
    "commune_code": "string",
    "part_of_fhir_id": "string",
    "active": "boolean",
}


def _organizations(
    locator: JsonLocator, resources: list[tuple[int, Mapping[str, Any]]]
) -> pd.DataFrame:
    rows = []
    for index, resource in resources:
        ids: dict[str, str] = {}
        identifiers = [i for i in resource.get("identifier") or [] if isinstance(i, Mapping)]
        if not any(isinstance(i.get("value"), str) and i["value"] for i in identifiers):
            locator.fail(
                index,
                "resource.identifier",
                "au moins un identifiant (FINESS, SIRET ou identifiant national de "
                "structure IDNST)",
                json_found(resource.get("identifier", "(absent)")),
            )
        for k, identifier in enumerate(identifiers):
            system, value = identifier.get("system"), identifier.get("value")
            types = _type_codes(identifier)
            where = f"resource.identifier[{k}].value"
            if system in FINESS_SYSTEMS or types & {"FINEG", "FINEJ"}:
                if not isinstance(value, str) or not _FINESS_RE.fullmatch(value):
                    locator.fail(
                        index, where, "un numéro FINESS de 9 caractères", json_found(value)
                    )
                ids["finess_ej" if "FINEJ" in types else "finess"] = value
            elif system in SIRENE_SYSTEMS or types & {"SIRET", "SIREN"}:
                if isinstance(value, str) and _SIRET_RE.fullmatch(value) and "SIREN" not in types:
                    ids["siret"] = value
                elif isinstance(value, str) and _SIREN_RE.fullmatch(value) and "SIRET" not in types:
                    ids["siren"] = value
                else:
                    locator.fail(
                        index,
                        where,
                        "un SIRET de 14 chiffres ou un SIREN de 9 chiffres",
                        json_found(value),
                    )
            elif system == IDNST_SYSTEM or "IDNST" in types:
                if not isinstance(value, str) or not value:
                    locator.fail(
                        index,
                        where,
                        "un identifiant national de structure (IDNST)",
                        json_found(value),
                    )
                ids["idnst"] = value
        idnst = ids.get("idnst")
        has_finess = "finess" in ids or "finess_ej" in ids
        if idnst and idnst[0] == "1" and _FINESS_RE.fullmatch(idnst[1:]) and not has_finess:
            ids["finess"] = idnst[1:]  # FINESS of unknown level (EG or EJ): reported as finess
        if idnst and idnst[0] == "3" and _SIRET_RE.fullmatch(idnst[1:]):
            ids.setdefault("siret", idnst[1:])
        types = resource.get("type") or []
        type_codes = [
            c["code"]
            for concept in types
            for c in (concept or {}).get("coding") or []
            if isinstance(c, Mapping) and c.get("code")
        ]
        addresses = [a for a in resource.get("address") or [] if isinstance(a, Mapping)]
        address = addresses[0] if addresses else {}
        rows.append(
            {
                "fhir_id": resource.get("id"),
                **ids,
                "name": resource.get("name"),
                "type_codes": _joined(type_codes),
                "category_code": _first(_codes(types, "TRE_R66-CategorieEtablissement")),
                "activity_sector_code": _first(_codes(types, "TRE_R02-SecteurActivite")),
                "address": ", ".join(
                    line for line in address.get("line") or [] if isinstance(line, str)
                )
                or None,
                "postal_code": address.get("postalCode"),
                "city": address.get("city"),
                "commune_code": _insee_code(address),
                "part_of_fhir_id": _reference_id(resource.get("partOf"), "Organization"),
                "active": resource.get("active"),
            }
        )
    return _frame(rows, _ORGANIZATION_COLUMNS)


def _insee_code(address: Mapping[str, Any]) -> str | None:
    for extension in address.get("extension") or []:
        coding = extension.get("valueCoding") or {}
        if extension.get("url") == ADDRESS_INSEE_CODE_EXTENSION or _nos(
            coding.get("system"), "TRE_R13-Commune"
        ):
            return coding.get("code")
    return None
