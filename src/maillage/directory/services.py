"""Directory imports: FINESS establishments, RPPS extracts and Annuaire Santé FHIR bundles.

All go through :func:`maillage.imports.run_import`: the file is read and validated completely,
then written in one transaction keyed on FINESS / RPPS numbers, so re-running is idempotent.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from django.utils import timezone

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


def import_rpps(path: Path) -> ImportReport:
    """Import an RPPS ``PS_LibreAcces_Personne_activite`` extract: practitioners by RPPS number,
    one role per activity line (profession, specialty, mode, place).

    Written to scale to the national extract (about 1.2 million lines) in minutes: no query per
    line. Practitioners are upserted in bulk (``INSERT … ON CONFLICT`` on the RPPS number),
    places of practice are keyed by (name, address, commune) in one pass against the places
    already known, roles are inserted in bulk, and the search index is refreshed (fully when the
    extract is large, else only the entries it touched). Bulk writes bypass django-simple-history:
    the import itself is the audit trail of these rows (source ``rpps``).
    """
    path = Path(path)

    def write(df: pd.DataFrame) -> ImportReport:
        from maillage.directory import search

        report = ImportReport("rpps")
        # Lines identified by an ADELI number only (no RPPS) cannot be keyed reliably: skip them.
        without_rpps = df["rpps"].isna() | (df["rpps"].astype(str) == "")
        report.skipped["lignes sans numéro RPPS (ADELI)"] = int(without_rpps.sum())
        df = df[~without_rpps].reset_index(drop=True)
        now = timezone.now()
        people = df.drop_duplicates("rpps")
        _bulk_upsert(
            Practitioner,
            {"mssante": "", "direct_line": "", "notes_pro": "", "gender": "", "languages": ""},
            ["rpps", "family_name", "given_name", "source", "synthetic", "updated_at"],
            (
                (rpps, _str(family), _str(given), Source.RPPS, False, now)
                for rpps, family, given in zip(
                    people["rpps"], people["family_name"], people["given_name"], strict=True
                )
            ),
            conflict="rpps",
        )
        by_rpps = _ids_by(Practitioner, "rpps", people["rpps"].astype(str).tolist())
        orgs = dict(Organization.objects.exclude(finess_et=None).values_list("finess_et", "id"))
        communes = {
            code: (name, lat, lon)
            for code, name, lat, lon in Commune.objects.values_list(
                "code", "name", "latitude", "longitude"
            )
        }
        # Places of practice, keyed by (stored name, address, commune), created in one pass.
        names = df["structure_name"].fillna("").astype(str)
        addresses = df["address"].fillna("").astype(str)
        commune_codes = df["commune_code"].fillna("").astype(str)
        postal = df["postal_code"].fillna("").astype(str)
        stored = [
            name or (f"Cabinet, {communes[code][0]}" if code in communes else "")
            for name, code in zip(names, commune_codes, strict=True)
        ]
        known = {
            (n, a, c): i
            for i, n, a, c in Location.objects.filter(source=Source.RPPS).values_list(
                "id", "name", "address", "commune_id"
            )
        }
        new_places: dict[tuple, tuple] = {}
        for name, address, code, postal_code in zip(
            stored, addresses, commune_codes, postal, strict=True
        ):
            key = (name, address, code)
            if code in communes and key not in known and key not in new_places:
                _n, lat, lon = communes[code]
                new_places[key] = (name[:250], address[:300], postal_code[:5], code, lat, lon,
                                   Source.RPPS, False, False, now)  # fmt: skip
        _bulk_upsert(
            Location,
            {
                "mssante": "",
                "direct_line": "",
                "notes_pro": "",
                "phone": "",
                "email": "",
                "website": "",
            },  # fmt: skip
            [
                "name",
                "address",
                "postal_code",
                "commune_id",
                "latitude",
                "longitude",
                "source",
                "synthetic",
                "teleconsultation",
                "updated_at",
            ],  # fmt: skip
            new_places.values(),
        )
        if new_places:
            known = {
                (n, a, c): i
                for i, n, a, c in Location.objects.filter(source=Source.RPPS).values_list(
                    "id", "name", "address", "commune_id"
                )
            }
        # The extract is the full list of a practitioner's activities: replace them.
        person_ids = sorted(set(by_rpps.values()))
        old_roles = _ids_in(PractitionerRole, "practitioner_id", person_ids, source=Source.RPPS)
        _delete_ids(PractitionerRole, old_roles)
        roles = []
        skipped = 0
        for rpps, finess, name, address, code, prof, spec, mode in zip(
            df["rpps"], df["finess_site"], stored, addresses, commune_codes,
            df["profession_code"], df["specialty_code"], df["mode_code"], strict=True,
        ):  # fmt: skip
            location = known.get((name, address, code)) if code in communes else None
            finess = _str(finess)
            if location is None and not finess:
                skipped += 1
            roles.append(
                (
                    by_rpps[rpps],
                    orgs.get(finess),
                    location,
                    _str(prof),
                    _str(spec),
                    _str(mode),
                    1.0,
                    True,
                    False,
                    Source.RPPS,
                    False,
                    now,
                )  # fmt: skip
            )
        _bulk_upsert(
            PractitionerRole,
            {},
            [
                "practitioner_id",
                "organization_id",
                "location_id",
                "profession_code",
                "specialty_code",
                "mode_code",
                "fte",
                "active",
                "teleconsultation",
                "source",
                "synthetic",
                "updated_at",
            ],  # fmt: skip
            roles,
        )
        report.counts["professionnels"] = len(by_rpps)
        report.counts["activités"] = len(roles)
        report.skipped["activités sans lieu localisable"] = skipped
        # The search index follows: whole when the extract is large, else what it touched.
        if len(roles) > 50_000:
            search.reindex_all()
        else:
            new_roles = _ids_in(PractitionerRole, "practitioner_id", person_ids, source=Source.RPPS)
            search.reindex_ids("role", set(old_roles) | set(new_roles))
        return report

    return run_import("rpps", lambda: opendata.read_rpps_activities(path), write)


_ID_BATCH = 900  # below SQLite's limit of bound variables, whatever its compile options


def _ids_by(model, field: str, values: list[str]) -> dict[str, int]:
    """``{value: id}`` for ``values`` of a unique ``field``, in batches (or one scan if many)."""
    if len(values) > 100_000:
        wanted = set(values)
        return {
            v: i
            for v, i in model.objects.exclude(**{field: None}).values_list(field, "id")
            if v in wanted
        }
    out: dict[str, int] = {}
    for start in range(0, len(values), _ID_BATCH):
        batch = values[start : start + _ID_BATCH]
        out.update(model.objects.filter(**{f"{field}__in": batch}).values_list(field, "id"))
    return out


def _ids_in(model, field: str, keys: list[int], **filters) -> list[int]:
    out: list[int] = []
    for start in range(0, len(keys), _ID_BATCH):
        batch = keys[start : start + _ID_BATCH]
        qs = model.objects.filter(**{f"{field}__in": batch}, **filters)
        out += list(qs.values_list("id", flat=True))
    return out


def _delete_ids(model, ids: list[int]) -> None:
    """Delete rows by id without loading them (nothing references roles but their history)."""
    from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(ids), _ID_BATCH):
            batch = ids[start : start + _ID_BATCH]
            marks = ", ".join(["%s"] * len(batch))
            cursor.execute(f"DELETE FROM {table} WHERE id IN ({marks})", batch)


def _bulk_upsert(model, constants: dict, columns: list[str], rows, conflict: str | None = None):
    """Insert ``rows`` (tuples of ``columns`` values, plus ``constants`` on every row) without
    model instances: COPY through a temporary table on PostgreSQL, executemany on SQLite. With
    ``conflict`` (a unique column), existing rows are updated (``ON CONFLICT DO UPDATE``)."""
    from django.db import connection

    q = connection.ops.quote_name
    table = q(model._meta.db_table)
    all_columns = [*columns, *constants]
    extra = tuple(constants.values())
    cols = ", ".join(q(c) for c in all_columns)
    upsert_sql = ""
    if conflict:
        sets = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in columns if c != conflict)
        upsert_sql = f" ON CONFLICT ({q(conflict)}) DO UPDATE SET {sets}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE TEMPORARY TABLE maillage_bulk ON COMMIT DROP AS SELECT {cols} "
                f"FROM {table} WITH NO DATA"
            )
            with cursor.cursor.copy(f"COPY maillage_bulk ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((*row, *extra))
            cursor.execute(
                f"INSERT INTO {table} ({cols}) SELECT {cols} FROM maillage_bulk{upsert_sql}"
            )
            cursor.execute("DROP TABLE maillage_bulk")
        else:
            cursor.execute("PRAGMA cache_size = -262144")  # index upkeep of big tables
            marks = ", ".join(["%s"] * len(all_columns))
            sql = f"INSERT INTO {table} ({cols}) VALUES ({marks}){upsert_sql}"
            batch: list[tuple] = []
            for row in rows:
                batch.append((*row, *extra))
                if len(batch) >= 50_000:
                    cursor.executemany(sql, batch)
                    batch.clear()
            if batch:
                cursor.executemany(sql, batch)


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
