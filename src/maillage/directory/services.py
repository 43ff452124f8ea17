"""Directory imports: FINESS establishments, RPPS extracts and Annuaire Santé FHIR bundles.

All go through :func:`maillage.imports.run_import`: the file is read and validated completely,
then written in one transaction keyed on FINESS / RPPS numbers, so re-running is idempotent.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from maillage import opendata
from maillage.directory.models import (
    Location,
    Organization,
    Practitioner,
    PractitionerRole,
    Source,
)
from maillage.imports import ImportReport, run_import, upsert
from maillage.paths import shipped_data_dir
from maillage.territory.models import Commune


def _str(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)


def _float(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _date(value: object):
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).date()


def shipped_finess() -> Path:
    return shipped_data_dir() / "offer" / "finess_etablissements_geo_2021_france.csv.gz"


def import_finess(path: Path | None = None) -> ImportReport:
    """Import the FINESS établissements (ET) as organizations, keyed on the FINESS ET number."""
    path = Path(path) if path else shipped_finess()

    def write(df: pd.DataFrame) -> ImportReport:
        report = ImportReport("finess")
        communes = set(Commune.objects.values_list("code", flat=True))
        rows = []
        unknown = 0
        for r in df.itertuples():
            commune = _str(r.commune_code)
            if commune not in communes:
                unknown += 1
                commune = None
            rows.append(
                {
                    "finess_et": r.finess_et,
                    "finess_ej": _str(r.finess_ej),
                    "siret": _str(r.siret),
                    "name": _str(r.name)[:250],
                    "category_code": _str(r.category_code),
                    "category_label": _str(r.category_label)[:200],
                    "aggregate_code": _str(r.aggregate_code),
                    "aggregate_label": _str(r.aggregate_label)[:200],
                    "address": _str(r.address)[:300],
                    "postal_code": _str(r.postal_code),
                    "city": _str(r.city)[:120],
                    "commune_id": commune,
                    "phone": _str(r.phone),
                    "latitude": _float(r.latitude),
                    "longitude": _float(r.longitude),
                    "opened_on": _date(r.opened_on),
                    "source": Source.FINESS,
                    "synthetic": False,
                }
            )
        report.counts["établissements"] = upsert(Organization, rows, ["finess_et"])
        report.skipped["commune inconnue du COG"] = unknown
        return report

    return run_import("finess", lambda: opendata.read_finess(path), write)


def _practice_location(
    name: str, address: str, postal_code: str, commune_code: str, cache: dict
) -> Location | None:
    key = (name, address, commune_code)
    if key in cache:
        return cache[key]
    commune = Commune.objects.filter(code=commune_code).first()
    if commune is None:
        cache[key] = None
        return None
    location, _ = Location.objects.get_or_create(
        name=name or f"Cabinet, {commune.name}",
        address=address,
        commune=commune,
        defaults={
            "postal_code": postal_code,
            "latitude": commune.latitude,
            "longitude": commune.longitude,
            "source": Source.RPPS,
        },
    )
    cache[key] = location
    return location


def import_rpps(path: Path) -> ImportReport:
    """Import an RPPS ``PS_LibreAcces_Personne_activite`` extract: practitioners by RPPS number,
    one role per activity line (profession, specialty, mode, place)."""
    path = Path(path)

    def write(df: pd.DataFrame) -> ImportReport:
        report = ImportReport("rpps")
        # Lines identified by an ADELI number only (no RPPS) cannot be keyed reliably: skip them.
        without_rpps = df["rpps"].isna() | (df["rpps"].astype(str) == "")
        report.skipped["lignes sans numéro RPPS (ADELI)"] = int(without_rpps.sum())
        df = df[~without_rpps]
        people = df.drop_duplicates("rpps")
        upsert(
            Practitioner,
            (
                {
                    "rpps": r.rpps,
                    "family_name": _str(r.family_name),
                    "given_name": _str(r.given_name),
                    "source": Source.RPPS,
                    "synthetic": False,
                }
                for r in people.itertuples()
            ),
            ["rpps"],
            update_fields=["family_name", "given_name", "source", "synthetic"],
        )
        by_rpps = dict(
            Practitioner.objects.filter(rpps__in=list(people["rpps"])).values_list("rpps", "id")
        )
        orgs = dict(
            Organization.objects.filter(finess_et__in=list(df["finess_site"].dropna())).values_list(
                "finess_et", "id"
            )
        )
        # The extract is the full list of a practitioner's activities: replace them.
        PractitionerRole.objects.filter(
            practitioner_id__in=by_rpps.values(), source=Source.RPPS
        ).delete()
        cache: dict = {}
        roles = []
        skipped = 0
        for r in df.itertuples():
            location = _practice_location(
                _str(r.structure_name),
                _str(r.address),
                _str(r.postal_code),
                _str(r.commune_code),
                cache,
            )
            if location is None and not _str(r.finess_site):
                skipped += 1
            roles.append(
                PractitionerRole(
                    practitioner_id=by_rpps[r.rpps],
                    organization_id=orgs.get(_str(r.finess_site)),
                    location=location,
                    profession_code=_str(r.profession_code),
                    specialty_code=_str(r.specialty_code),
                    mode_code=_str(r.mode_code),
                    source=Source.RPPS,
                )
            )
        PractitionerRole.objects.bulk_create(roles, batch_size=2000)
        report.counts["professionnels"] = len(by_rpps)
        report.counts["activités"] = len(roles)
        report.skipped["activités sans lieu localisable"] = skipped
        return report

    return run_import("rpps", lambda: opendata.read_rpps_activities(path), write)


def import_fhir_bundle(path: Path) -> ImportReport:
    """Import an Annuaire Santé FHIR R4 Bundle (Practitioner, PractitionerRole, Organization)."""
    path = Path(path)

    def write(bundle) -> ImportReport:
        report = ImportReport("fhir")
        org_ids: dict[str, int] = {}
        locations: dict[str, int] = {}
        communes = set(Commune.objects.values_list("code", flat=True))
        for r in bundle.organizations.itertuples():
            finess = _str(r.finess) or None
            commune = _str(r.commune_code) if _str(r.commune_code) in communes else None
            defaults = {
                "name": _str(r.name)[:250] or "(sans nom)",
                "finess_ej": _str(r.finess_ej),
                "siret": _str(r.siret),
                "category_code": _str(r.category_code),
                "address": _str(r.address)[:300],
                "postal_code": _str(r.postal_code),
                "city": _str(r.city)[:120],
                "commune_id": commune,
                "source": Source.FHIR,
            }
            if finess:
                org, _ = Organization.objects.update_or_create(finess_et=finess, defaults=defaults)
            else:
                org, _ = Organization.objects.update_or_create(
                    name=defaults["name"], source=Source.FHIR, finess_et=None, defaults=defaults
                )
            org_ids[r.fhir_id] = org.id
            if commune:
                place = Commune.objects.get(code=commune)
                location, _ = Location.objects.update_or_create(
                    organization=org,
                    source=Source.FHIR,
                    defaults={
                        "name": org.name,
                        "address": org.address,
                        "postal_code": org.postal_code,
                        "commune": place,
                        "latitude": org.latitude or place.latitude,
                        "longitude": org.longitude or place.longitude,
                    },
                )
                locations[r.fhir_id] = location.id
        people: dict[str, int] = {}
        for r in bundle.practitioners.itertuples():
            p, _ = Practitioner.objects.update_or_create(
                rpps=r.rpps,
                defaults={
                    "family_name": _str(r.family_name),
                    "given_name": _str(r.given_name),
                    "gender": _str(getattr(r, "gender", "")),
                    "source": Source.FHIR,
                    "synthetic": False,
                },
            )
            people[r.fhir_id] = p.id
            people[r.rpps] = p.id
        PractitionerRole.objects.filter(
            practitioner_id__in=set(people.values()), source=Source.FHIR
        ).delete()
        roles = []
        for r in bundle.roles.itertuples():
            pid = people.get(_str(r.practitioner_fhir_id)) or people.get(_str(r.rpps))
            if pid is None:
                continue
            roles.append(
                PractitionerRole(
                    practitioner_id=pid,
                    organization_id=org_ids.get(_str(r.organization_fhir_id)),
                    location_id=locations.get(_str(r.organization_fhir_id)),
                    profession_code=_str(r.profession_code),
                    specialty_code=_str(r.specialty_code),
                    mode_code=_str(r.mode_code),
                    active=bool(r.active) if not pd.isna(r.active) else True,
                    source=Source.FHIR,
                )
            )
        PractitionerRole.objects.bulk_create(roles)
        report.counts["structures"] = len(org_ids)
        report.counts["professionnels"] = len(bundle.practitioners)
        report.counts["activités"] = len(roles)
        return report

    return run_import("fhir", lambda: opendata.read_annuaire_bundle(path), write)
