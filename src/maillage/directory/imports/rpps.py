"""RPPS extract import: practitioners by RPPS number, one role per activity line."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pandas as pd
from django.utils import timezone

from maillage import opendata
from maillage.directory.imports.common import (
    _bulk_upsert,
    _delete_ids,
    _ids_by,
    _ids_in,
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
        from maillage.directory.search import service as search

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
        # The extract is the full list of a practitioner's activities. Roles keep their id (and
        # so their public URL, their proposals and the fields coordinators published, such as
        # "accepts new patients", which the extract does not carry): a line matches the known
        # role with the same (practitioner, structure, place, profession, specialty, mode), else
        # one with the same (practitioner, profession, specialty) that moved or changed mode,
        # which is updated in place. Only roles no line describes any more are deleted.
        person_ids = sorted(set(by_rpps.values()))
        old_roles = _ids_in(PractitionerRole, "practitioner_id", person_ids, source=Source.RPPS)
        exact: dict[tuple, list[int]] = defaultdict(list)
        loose: dict[tuple, list[int]] = defaultdict(list)
        for start in range(0, len(person_ids), 900):
            for rid, pid, org, loc, prof, spec, mode in PractitionerRole.objects.filter(
                practitioner_id__in=person_ids[start : start + 900], source=Source.RPPS
            ).values_list(
                "id", "practitioner_id", "organization_id", "location_id",
                "profession_code", "specialty_code", "mode_code",
            ).order_by("id"):  # fmt: skip
                exact[(pid, org, loc, prof, spec, mode)].append(rid)
                loose[(pid, prof, spec)].append(rid)
        taken: set[int] = set()
        lines: list[tuple] = []
        skipped = 0
        for rpps, finess, name, address, code, prof, spec, mode in zip(
            df["rpps"], df["finess_site"], stored, addresses, commune_codes,
            df["profession_code"], df["specialty_code"], df["mode_code"], strict=True,
        ):  # fmt: skip
            location = known.get((name, address, code)) if code in communes else None
            finess = _str(finess)
            if location is None and not finess:
                skipped += 1
            line = (by_rpps[rpps], orgs.get(finess), location, _str(prof), _str(spec), _str(mode))
            same = exact.get(line)
            while same and same[-1] in taken:
                same.pop()
            if same:
                taken.add(same.pop())
                lines.append((None, line))  # unchanged
            else:
                lines.append((0, line))
        new_rows, moved = [], []
        for state, line in lines:
            if state is None:
                continue
            pid, org, loc, prof, spec, mode = line
            candidates = loose.get((pid, prof, spec), [])
            while candidates and candidates[-1] in taken:
                candidates.pop()
            if candidates:
                rid = candidates.pop()
                taken.add(rid)
                moved.append((rid, pid, org, loc, prof, spec, mode, 1.0, True, False,
                              Source.RPPS, False, now))  # fmt: skip
            else:
                new_rows.append((pid, org, loc, prof, spec, mode, 1.0, True, False,
                                 Source.RPPS, False, now))  # fmt: skip
        del lines, exact, loose
        gone = [rid for rid in old_roles if rid not in taken]
        _delete_ids(PractitionerRole, gone)
        role_columns = [
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
        ]
        _bulk_upsert(
            PractitionerRole,
            {},
            ["id", *role_columns],
            moved,
            conflict="id",
            update=["organization_id", "location_id", "mode_code", "updated_at"],
        )
        _bulk_upsert(PractitionerRole, {}, role_columns, new_rows)
        roles = range(len(taken) + len(new_rows))
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
