"""FHIR R4 resources of the directory, shaped like the Annuaire Santé (ANS) public profiles.

One builder per resource (Practitioner, PractitionerRole, Organization, Location,
HealthcareService) turns a model instance into a plain JSON-ready dict; the FHIR server
(:mod:`maillage.directory.fhir.views`), the JSON API and the territory export all use them, so the
three channels can never disagree on what a resource looks like or on what the public may see.

Choices, and why:

- Identifier systems and types are the ones :mod:`maillage.opendata.fhir` verified against the ANS
  guide (RPPS, IDNPS = "8" + RPPS, FINESS with type FINEG, SIRET, IDNST = "1" + FINESS), so that
  a Bundle written here is read back by :func:`maillage.opendata.read_annuaire_bundle`.
- Practitioners without an RPPS (the synthetic demo records) get a *pseudo-RPPS* ``"99"`` + their
  9-digit primary key with ``identifier.use = "temp"``: the Annuaire Santé profiles (and our reader)
  require an RPPS or an IDNPS, and real RPPS numbers all start with ``1``, so these can never
  collide with a real person. The records also carry the ``synthetic`` tag (below).
- ``meta.tag`` ``{DATA_ORIGIN_SYSTEM}|synthetic`` marks demonstration records, as every page and
  report of maillage does.
- Pro-only fields (:attr:`ProOnly.PRO_ONLY_FIELDS`) are only emitted when the caller passes
  ``pro=True`` (the caller asks :func:`maillage.accounts.permissions.can`): the MSSanté address as
  an ``email`` telecom with the FR Core e-mail type extension (code ``MSSANTE``, as in the ANS
  examples), the direct line as a ``phone`` telecom with ``use = "work"`` and rank 1. Notes for
  colleagues are never put in FHIR (free text has no place in a directory exchange).
- Location and HealthcareService have no ANS public profile matching what maillage stores (the
  ANS HealthcareService profiles describe ARS authorisations), so they claim no profile.
- Flags the ANS model lacks (accepts new patients, teleconsultation) are maillage extensions
  (``{MAILLAGE_FHIR}/StructureDefinition/...``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.db.models import Q, QuerySet

from maillage.directory.models import (
    HealthcareService,
    Location,
    Organization,
    Practitioner,
    PractitionerRole,
    StructureKind,
)
from maillage.opendata.nomenclatures import (
    ACTIVITY_KIND_SYSTEM,
    ADDRESS_INSEE_CODE_EXTENSION,
    COMMUNE_SYSTEM,
    FINESS_CATEGORY_SYSTEM,
    FINESS_SYSTEM,
    IDENTIFIER_TYPE_SYSTEM,
    IDNPS_SYSTEM,
    IDNST_SYSTEM,
    MODE_SYSTEM,
    MODES,
    PROFESSION_SYSTEM,
    PROFESSIONS,
    PROFILE_BASE,
    RPPS_SYSTEM,
    SIRENE_SYSTEM,
    SPECIALTIES,
    SPECIALTY_SYSTEM,
)
from maillage.territory.models import Territory

FHIR_VERSION = "4.0.1"
FHIR_CONTENT_TYPE = "application/fhir+json"

#: Base of the URIs maillage mints (code systems, extensions, local identifier systems). They
#: are names, not addresses to fetch; they must never change once data has been exchanged.
MAILLAGE_FHIR = "https://maillage.example/fhir"
DATA_ORIGIN_SYSTEM = f"{MAILLAGE_FHIR}/CodeSystem/data-origin"
STRUCTURE_KIND_SYSTEM = f"{MAILLAGE_FHIR}/CodeSystem/structure-kind"
ACCEPTS_NEW_PATIENTS_EXTENSION = f"{MAILLAGE_FHIR}/StructureDefinition/accepts-new-patients"
TELECONSULTATION_EXTENSION = f"{MAILLAGE_FHIR}/StructureDefinition/teleconsultation"
VERIFIED_ON_EXTENSION = f"{MAILLAGE_FHIR}/StructureDefinition/verified-on"
LOCAL_ID_SYSTEMS = {
    "Practitioner": f"{MAILLAGE_FHIR}/sid/practitioner",
    "PractitionerRole": f"{MAILLAGE_FHIR}/sid/practitioner-role",
    "Organization": f"{MAILLAGE_FHIR}/sid/organization",
    "Location": f"{MAILLAGE_FHIR}/sid/location",
    "HealthcareService": f"{MAILLAGE_FHIR}/sid/healthcare-service",
}
EMAIL_TYPE_EXTENSION = (
    "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-contact-point-email-type"
)
EMAIL_TYPE_SYSTEM = (
    "https://mos.esante.gouv.fr/NOS/TRE_R256-TypeMessagerie/FHIR/TRE-R256-TypeMessagerie"
)

PROFILES = {
    "Practitioner": f"{PROFILE_BASE}/as-dp-practitioner",
    "PractitionerRole": f"{PROFILE_BASE}/as-dp-practitionerrole",
    "Organization": f"{PROFILE_BASE}/as-dp-organization",
}

#: Prefix of the pseudo-RPPS of practitioners without one (real RPPS numbers start with 1).
PSEUDO_RPPS_PREFIX = "99"

SYNTHETIC_TAG = {
    "system": DATA_ORIGIN_SYSTEM,
    "code": "synthetic",
    "display": "Donnée synthétique (démonstration)",
}

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# --- small pieces ---------------------------------------------------------------------------
def _meta(kind: str, obj: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    updated = getattr(obj, "updated_at", None)
    if updated is not None:
        meta["lastUpdated"] = updated.isoformat(timespec="milliseconds")
    if kind in PROFILES:
        meta["profile"] = [PROFILES[kind]]
    if getattr(obj, "synthetic", False):
        meta["tag"] = [dict(SYNTHETIC_TAG)]
    return meta


def _identifier(system: str, value: str, type_code: str | None = None, use: str = "official"):
    identifier: dict[str, Any] = {"use": use}
    if type_code:
        identifier["type"] = {"coding": [{"system": IDENTIFIER_TYPE_SYSTEM, "code": type_code}]}
    identifier["system"] = system
    identifier["value"] = value
    return identifier


def _local_identifier(kind: str, pk: int) -> dict[str, Any]:
    return {"use": "secondary", "system": LOCAL_ID_SYSTEMS[kind], "value": str(pk)}


def _coding(system: str, code: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if labels and code in labels:
        coding["display"] = labels[code]
    return coding


def _telecom(obj: Any, pro: bool) -> list[dict[str, Any]]:
    telecom = []
    if getattr(obj, "phone", ""):
        telecom.append({"system": "phone", "value": obj.phone, "use": "work"})
    if getattr(obj, "email", ""):
        telecom.append({"system": "email", "value": obj.email, "use": "work"})
    if getattr(obj, "website", ""):
        telecom.append({"system": "url", "value": obj.website})
    if pro:
        if getattr(obj, "direct_line", ""):
            telecom.append({"system": "phone", "value": obj.direct_line, "use": "work", "rank": 1})
        if getattr(obj, "mssante", ""):
            telecom.append(
                {
                    "extension": [
                        {
                            "url": EMAIL_TYPE_EXTENSION,
                            "valueCoding": {"system": EMAIL_TYPE_SYSTEM, "code": "MSSANTE"},
                        }
                    ],
                    "system": "email",
                    "value": obj.mssante,
                    "use": "work",
                }
            )
    return telecom


def _address(line: str, postal_code: str, city: str, commune: Any) -> dict[str, Any] | None:
    """A FR Core-like address; the INSEE commune code goes in the FR Core extension."""
    address: dict[str, Any] = {"use": "work", "type": "physical"}
    if commune is not None:
        address["extension"] = [
            {
                "url": ADDRESS_INSEE_CODE_EXTENSION,
                "valueCoding": {
                    "system": COMMUNE_SYSTEM,
                    "code": commune.code,
                    "display": commune.name,
                },
            }
        ]
    if line:
        address["line"] = [line]
    city = city or (commune.name if commune is not None else "")
    if city:
        address["city"] = city
    if postal_code:
        address["postalCode"] = postal_code
    address["country"] = "FR"
    return address if len(address) > 3 else None


def _flag(url: str, value: bool | None) -> dict[str, Any] | None:
    return None if value is None else {"url": url, "valueBoolean": bool(value)}


def _verified(obj: Any) -> dict[str, Any] | None:
    verified = getattr(obj, "verified_on", None)
    return {"url": VERIFIED_ON_EXTENSION, "valueDate": verified.isoformat()} if verified else None


def _extensions(*items: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [item for item in items if item is not None]


def _ref(kind: str, pk: int | None, display: str | None = None) -> dict[str, Any] | None:
    if pk is None:
        return None
    ref: dict[str, Any] = {"reference": f"{kind}/{pk}"}
    if display:
        ref["display"] = display
    return ref


def _hours(opening_hours: Iterable[Any]) -> list[tuple[str, str, str]]:
    return [
        (_WEEKDAYS[h.weekday], h.opens.strftime("%H:%M:%S"), h.closes.strftime("%H:%M:%S"))
        for h in opening_hours
    ]


def _clean(resource: dict[str, Any]) -> dict[str, Any]:
    """Drop empty values: FHIR forbids empty arrays, objects and strings."""
    return {k: v for k, v in resource.items() if v not in (None, "", [], {})}


# --- Practitioner ---------------------------------------------------------------------------
def pseudo_rpps(practitioner: Practitioner) -> str | None:
    """The stand-in RPPS of a practitioner without one (see the module docstring)."""
    if practitioner.pk is None or practitioner.pk >= 10**9:
        return None
    return f"{PSEUDO_RPPS_PREFIX}{practitioner.pk:09d}"


def practitioner(p: Practitioner, *, pro: bool = False, roles: Iterable[Any] = ()) -> dict:
    """A Practitioner (as-dp-practitioner). ``roles`` (already loaded) fill ``qualification``."""
    identifiers = []
    if p.rpps:
        identifiers.append(_identifier(IDNPS_SYSTEM, "8" + p.rpps, "IDNPS"))
        identifiers.append(_identifier(RPPS_SYSTEM, p.rpps, "RPPS"))
    else:
        pseudo = pseudo_rpps(p)
        if pseudo:
            identifiers.append(_identifier(RPPS_SYSTEM, pseudo, "RPPS", use="temp"))
    identifiers.append(_local_identifier("Practitioner", p.pk))
    name: dict[str, Any] = {"use": "usual", "family": p.family_name}
    if p.given_name:
        name["given"] = [p.given_name]
    qualifications = []
    seen: set[tuple[str, str]] = set()
    for role in roles:
        for system, code, labels in (
            (PROFESSION_SYSTEM, role.profession_code, PROFESSIONS),
            (SPECIALTY_SYSTEM, role.specialty_code, SPECIALTIES),
        ):
            if code and (system, code) not in seen:
                seen.add((system, code))
                qualifications.append({"code": {"coding": [_coding(system, code, labels)]}})
    languages = [code.strip() for code in (p.languages or "").split(",") if code.strip()]
    return _clean(
        {
            "resourceType": "Practitioner",
            "id": str(p.pk),
            "meta": _meta("Practitioner", p),
            "language": "fr",
            "extension": _extensions(_verified(p)),
            "identifier": identifiers,
            "active": True,
            "name": [name],
            "telecom": _telecom(p, pro),
            "gender": p.gender if p.gender in ("male", "female", "other", "unknown") else None,
            "qualification": qualifications,
            "communication": [
                {"coding": [{"system": "urn:ietf:bcp:47", "code": code}]} for code in languages
            ],
        }
    )


# --- PractitionerRole -----------------------------------------------------------------------
def practitioner_role(role: PractitionerRole, *, pro: bool = False) -> dict:
    """A PractitionerRole (as-dp-practitionerrole): profession TRE_G15, mode TRE_R23 and
    activity kind TRE_R22 in ``code``, the ordinal specialty TRE_R38 in ``specialty``."""
    del pro  # a role holds no pro-only field; the parameter keeps the builders uniform
    codes = [{"coding": [_coding(PROFESSION_SYSTEM, role.profession_code, PROFESSIONS)]}]
    if role.mode_code:
        codes.append({"coding": [_coding(MODE_SYSTEM, role.mode_code, MODES)]})
    codes.append(
        {
            "coding": [
                {
                    "system": ACTIVITY_KIND_SYSTEM,
                    "code": "GENR01",
                    "display": "Activité de soin et de pharmacie",
                }
            ]
        }
    )
    practitioner_name = None
    if "practitioner" in role._state.fields_cache:
        practitioner_name = str(role.practitioner)
    return _clean(
        {
            "resourceType": "PractitionerRole",
            "id": str(role.pk),
            "meta": _meta("PractitionerRole", role),
            "language": "fr",
            "extension": _extensions(
                _flag(ACCEPTS_NEW_PATIENTS_EXTENSION, role.accepts_new_patients),
                _flag(TELECONSULTATION_EXTENSION, role.teleconsultation),
            ),
            "identifier": [_local_identifier("PractitionerRole", role.pk)],
            "active": role.active,
            "practitioner": _ref("Practitioner", role.practitioner_id, practitioner_name),
            "organization": _ref("Organization", role.organization_id),
            "code": codes,
            "specialty": (
                [{"coding": [_coding(SPECIALTY_SYSTEM, role.specialty_code, SPECIALTIES)]}]
                if role.specialty_code
                else []
            ),
            "location": [_ref("Location", role.location_id)] if role.location_id else [],
        }
    )


# --- Organization ---------------------------------------------------------------------------
def organization(org: Organization, *, pro: bool = False) -> dict:
    """An Organization (as-dp-organization): FINESS (FINEG) and IDNST, SIRET, FINESS category."""
    identifiers = []
    if org.finess_et:
        identifiers.append(_identifier(FINESS_SYSTEM, org.finess_et, "FINEG"))
        identifiers.append(_identifier(IDNST_SYSTEM, "1" + org.finess_et, "IDNST"))
    if org.siret:
        identifiers.append(_identifier(SIRENE_SYSTEM, org.siret, "SIRET"))
    identifiers.append(_local_identifier("Organization", org.pk))
    types = []
    if org.category_code:
        coding = {"system": FINESS_CATEGORY_SYSTEM, "code": org.category_code}
        if org.category_label:
            coding["display"] = org.category_label
        types.append({"coding": [coding]})
    if org.kind:
        types.append(
            {
                "coding": [
                    {
                        "system": STRUCTURE_KIND_SYSTEM,
                        "code": org.kind,
                        "display": str(StructureKind(org.kind).label),
                    }
                ]
            }
        )
    commune = org.commune if org.commune_id else None
    address = _address(org.address, org.postal_code, org.city, commune)
    part_of = None
    if org.finess_ej:
        part_of = {
            "identifier": _identifier(FINESS_SYSTEM, org.finess_ej, "FINEJ"),
            "display": f"Entité juridique FINESS {org.finess_ej}",
        }
    return _clean(
        {
            "resourceType": "Organization",
            "id": str(org.pk),
            "meta": _meta("Organization", org),
            "language": "fr",
            "extension": _extensions(_verified(org)),
            "identifier": identifiers,
            "active": True,
            "type": types,
            "name": org.name,
            "telecom": _telecom(org, pro),
            "address": [address] if address else [],
            "partOf": part_of,
        }
    )


# --- Location -------------------------------------------------------------------------------
def location(loc: Location, *, pro: bool = False, hours: Iterable[Any] | None = None) -> dict:
    """A Location: address with the INSEE code, position, opening hours, managing structure."""
    opening = hours if hours is not None else loc.opening_hours.all()
    position = None
    if loc.latitude is not None and loc.longitude is not None:
        position = {"longitude": loc.longitude, "latitude": loc.latitude}
    address = _address(loc.address, loc.postal_code, "", loc.commune)
    return _clean(
        {
            "resourceType": "Location",
            "id": str(loc.pk),
            "meta": _meta("Location", loc),
            "language": "fr",
            "extension": _extensions(
                _flag(TELECONSULTATION_EXTENSION, loc.teleconsultation), _verified(loc)
            ),
            "identifier": [_local_identifier("Location", loc.pk)],
            "status": "active",
            "name": loc.name,
            "mode": "instance",
            "telecom": _telecom(loc, pro),
            "address": address,
            "position": position,
            "managingOrganization": _ref("Organization", loc.organization_id),
            "hoursOfOperation": [
                {"daysOfWeek": [day], "openingTime": opens, "closingTime": closes}
                for day, opens, closes in _hours(opening)
            ],
        }
    )


# --- HealthcareService ----------------------------------------------------------------------
def healthcare_service(
    service: HealthcareService,
    *,
    pro: bool = False,
    hours: Iterable[Any] | None = None,
    exceptions: Iterable[Any] | None = None,
) -> dict:
    """A HealthcareService: provider, place, contacts, weekly hours and dated closures."""
    opening = hours if hours is not None else service.opening_hours.all()
    closures = exceptions if exceptions is not None else service.exceptions.all()
    not_available = []
    for exc in closures:
        if not exc.closed:
            continue
        not_available.append(
            {
                "description": exc.label or "Fermé",
                "during": {"start": exc.start_date.isoformat(), "end": exc.end_date.isoformat()},
            }
        )
    return _clean(
        {
            "resourceType": "HealthcareService",
            "id": str(service.pk),
            "meta": _meta("HealthcareService", service),
            "language": "fr",
            "extension": _extensions(
                _flag(TELECONSULTATION_EXTENSION, service.teleconsultation), _verified(service)
            ),
            "identifier": [_local_identifier("HealthcareService", service.pk)],
            "active": True,
            "providedBy": _ref("Organization", service.organization_id),
            "category": [{"text": service.category}] if service.category else [],
            "location": [_ref("Location", service.location_id)] if service.location_id else [],
            "name": service.name,
            "comment": service.description,
            "telecom": _telecom(service, pro),
            "availableTime": [
                {"daysOfWeek": [day], "availableStartTime": opens, "availableEndTime": closes}
                for day, opens, closes in _hours(opening)
            ],
            "availabilityExceptions": service.hours_note,
            "notAvailable": not_available,
        }
    )


# --- querysets the server and the export share ----------------------------------------------
def practitioners_qs() -> QuerySet[Practitioner]:
    return Practitioner.objects.prefetch_related("roles")


def roles_qs() -> QuerySet[PractitionerRole]:
    return PractitionerRole.objects.select_related("practitioner")


def organizations_qs() -> QuerySet[Organization]:
    return Organization.objects.select_related("commune")


def locations_qs() -> QuerySet[Location]:
    return Location.objects.select_related("commune").prefetch_related("opening_hours")


def services_qs(*, pro: bool) -> QuerySet[HealthcareService]:
    qs = HealthcareService.objects.prefetch_related("opening_hours", "exceptions")
    return qs if pro else qs.filter(public=True)


def build(kind: str, obj: Any, *, pro: bool = False) -> dict:
    """The resource of ``kind`` for ``obj`` (loaded with the matching ``*_qs`` queryset)."""
    if kind == "Practitioner":
        return practitioner(obj, pro=pro, roles=obj.roles.all())
    if kind == "PractitionerRole":
        return practitioner_role(obj, pro=pro)
    if kind == "Organization":
        return organization(obj, pro=pro)
    if kind == "Location":
        return location(obj, pro=pro)
    if kind == "HealthcareService":
        return healthcare_service(obj, pro=pro)
    raise KeyError(kind)


# --- territory export -----------------------------------------------------------------------
def _entry(resource: dict[str, Any], base_url: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if base_url:
        entry["fullUrl"] = f"{base_url.rstrip('/')}/{resource['resourceType']}/{resource['id']}"
    entry["resource"] = resource
    return entry


def territory_bundle(
    territory: Territory, *, pro: bool = False, base_url: str | None = None
) -> dict[str, Any]:
    """Every Organization, Location, Practitioner, PractitionerRole and HealthcareService whose
    place is in the territory's communes, as one FHIR ``collection`` Bundle.

    A role is in the territory when its location is (or, without a location, its organisation);
    organisations and locations that in-territory roles or services point at are included even
    when they lie outside, so that every reference in the Bundle resolves inside it. The work is
    a fixed number of queries whatever the size (a département is a few thousand resources).
    """
    communes = list(territory.communes.values_list("code", flat=True))
    roles = list(
        PractitionerRole.objects.filter(
            Q(location__commune_id__in=communes)
            | Q(location__isnull=True, organization__commune_id__in=communes)
        )
        .select_related("practitioner")
        .order_by("pk")
    )
    services = list(
        services_qs(pro=pro)
        .filter(
            Q(location__commune_id__in=communes)
            | Q(location__isnull=True, organization__commune_id__in=communes)
        )
        .order_by("pk")
    )
    location_ids = set(
        Location.objects.filter(commune_id__in=communes).values_list("pk", flat=True)
    )
    location_ids |= {r.location_id for r in roles if r.location_id}
    location_ids |= {s.location_id for s in services if s.location_id}
    locations = list(locations_qs().filter(pk__in=location_ids).order_by("pk"))
    organization_ids = set(
        Organization.objects.filter(commune_id__in=communes).values_list("pk", flat=True)
    )
    organization_ids |= {r.organization_id for r in roles if r.organization_id}
    organization_ids |= {s.organization_id for s in services}
    organization_ids |= {loc.organization_id for loc in locations if loc.organization_id}
    organizations = list(organizations_qs().filter(pk__in=organization_ids).order_by("pk"))
    roles_by_practitioner: dict[int, list[PractitionerRole]] = {}
    practitioners: dict[int, Practitioner] = {}
    for role in roles:
        roles_by_practitioner.setdefault(role.practitioner_id, []).append(role)
        practitioners[role.practitioner_id] = role.practitioner

    resources: list[dict[str, Any]] = []
    resources += [organization(o, pro=pro) for o in organizations]
    resources += [location(loc, pro=pro) for loc in locations]
    resources += [
        practitioner(p, pro=pro, roles=roles_by_practitioner[pk])
        for pk, p in sorted(practitioners.items())
    ]
    resources += [practitioner_role(r, pro=pro) for r in roles]
    resources += [healthcare_service(s, pro=pro) for s in services]
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "meta": {"lastUpdated": _now()},
        "identifier": {"system": f"{MAILLAGE_FHIR}/sid/territory", "value": territory.slug},
        "type": "collection",
        "timestamp": _now(),
        "entry": [_entry(resource, base_url) for resource in resources],
    }
    if any("tag" in r.get("meta", {}) for r in resources):
        bundle["meta"]["tag"] = [dict(SYNTHETIC_TAG)]
    return bundle


def export_territory_bundle(spec: str, path: str | Path, *, pro: bool = False) -> int:
    """Write the Bundle of the territory ``spec`` (``epci:200068666`` or a slug) to ``path``
    and return the number of entries: the function a ``maillage`` command calls."""
    from maillage.territory.services import resolve

    bundle = territory_bundle(resolve(spec), pro=pro)
    Path(path).write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    return len(bundle["entry"])


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# --- OperationOutcome -----------------------------------------------------------------------
def operation_outcome(code: str, diagnostics: str, severity: str = "error") -> dict[str, Any]:
    """The FHIR way to say what went wrong (``code`` from the IssueType value set)."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }
