"""Annuaire Santé FHIR R4 Bundle import (Practitioner, PractitionerRole, Organization)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from maillage import opendata
from maillage.directory.fhir.resources import PSEUDO_RPPS_PREFIX
from maillage.directory.imports.common import (
    _str,
)
from maillage.directory.models import (
    Location,
    Organization,
    Practitioner,
    PractitionerRole,
    Source,
)
from maillage.imports import ImportReport, run_import
from maillage.territory.models import Commune


def _own_organization(fhir_id: str, finess: str | None, name: str) -> Organization | None:
    """The structure a resource of maillage's own FHIR export describes: its id is our primary
    key and its FINESS (or, without one, its name) agrees. None for any other resource."""
    if not fhir_id.isdigit() or len(fhir_id) > 12:
        return None
    org = Organization.objects.filter(pk=int(fhir_id)).exclude(source=Source.FHIR).first()
    if org is None or (org.finess_et or None) != finess:
        return None
    if finess is None and org.name[:250] != name:
        return None
    return org


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
            own = _own_organization(_str(r.fhir_id), finess, defaults["name"])
            if own is not None:
                # maillage's own export read back (its resource ids are our primary keys):
                # the structure stays as it is, with its places, no FHIR copy of them.
                org_ids[r.fhir_id] = own.id
                mine = Location.objects.filter(organization=own).first()
                if mine is not None:
                    locations[r.fhir_id] = mine.id
                continue
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
        known: set[int] = set()  # maillage's own records met again (their roles are here)
        stand_ins = 0
        for r in bundle.practitioners.itertuples():
            if _str(r.rpps).startswith(PSEUDO_RPPS_PREFIX):
                # A stand-in RPPS ("99" + primary key) of a record without one, written by
                # maillage's own FHIR export: the same record, never a new real practitioner.
                own = Practitioner.objects.filter(pk=int(r.rpps[2:]), rpps=None).first()
                if own is None:
                    stand_ins += 1
                    continue
                people[r.fhir_id] = own.id
                known.add(own.id)
                continue
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
        # Re-import: a role met again (same practitioner, structure, place, profession and
        # specialty) keeps its id, so its public URL and what coordinators published on it
        # (new patients, teleconsultation…) stay; only the source's own fields are updated.
        # Roles of these practitioners that the file no longer carries are removed.
        existing: dict[tuple, list[PractitionerRole]] = {}
        for old in PractitionerRole.objects.filter(
            practitioner_id__in=set(people.values()) - known, source=Source.FHIR
        ).order_by("id"):
            existing.setdefault(_role_key(old), []).append(old)
        old_roles = {role.pk for group in existing.values() for role in group}
        roles, kept = [], []
        for r in bundle.roles.itertuples():
            pid = people.get(_str(r.practitioner_fhir_id)) or people.get(_str(r.rpps))
            if pid is None or pid in known:
                continue
            role = PractitionerRole(
                practitioner_id=pid,
                organization_id=org_ids.get(_str(r.organization_fhir_id)),
                location_id=locations.get(_str(r.organization_fhir_id)),
                profession_code=_str(r.profession_code),
                specialty_code=_str(r.specialty_code),
                mode_code=_str(r.mode_code),
                active=bool(r.active) if not pd.isna(r.active) else True,
                source=Source.FHIR,
            )
            same = existing.get(_role_key(role))
            if same:
                old = same.pop(0)
                if (old.mode_code, old.active) != (role.mode_code, role.active):
                    old.mode_code, old.active = role.mode_code, role.active
                    old.save(update_fields=["mode_code", "active", "updated_at"])
                kept.append(old.pk)
            else:
                roles.append(role)
        gone = {role.pk for group in existing.values() for role in group}
        PractitionerRole.objects.filter(pk__in=gone).delete()
        created = PractitionerRole.objects.bulk_create(roles)
        from maillage.directory.search import service as search

        new_roles = {r.pk for r in created if r.pk is not None} or set(
            PractitionerRole.objects.filter(
                practitioner_id__in=set(people.values()), source=Source.FHIR
            ).values_list("id", flat=True)
        )
        search.reindex_ids("role", old_roles | new_roles)
        search.reindex_ids("organization", set(org_ids.values()))
        report.skipped["identifiants RPPS provisoires inconnus"] = stand_ins
        report.counts["structures"] = len(org_ids)
        report.counts["professionnels"] = len(bundle.practitioners)
        report.counts["activités"] = len(roles) + len(kept)
        report.counts["activités conservées (même identifiant)"] = len(kept)
        return report

    return run_import("fhir", lambda: opendata.read_annuaire_bundle(path), write)


def _role_key(role: PractitionerRole) -> tuple:
    """What identifies a role across imports of the same source."""
    return (
        role.practitioner_id,
        role.organization_id,
        role.location_id,
        role.profession_code,
        role.specialty_code,
    )
