"""RPPS extract import: practitioners by RPPS number, one role per activity line."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from django.utils import timezone

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
from maillage.opendata.rpps import BLOCK_LINES, iter_rpps_activities
from maillage.territory.models import Commune


def import_rpps(path: Path, *, block_size: int = BLOCK_LINES) -> ImportReport:
    """Import an RPPS ``PS_LibreAcces_Personne_activite`` extract: practitioners by RPPS number,
    one role per activity line (profession, specialty, mode, place).

    Written to scale to the national extract (about 1.2 million lines) in minutes and in bounded
    memory: the file is read, validated and written ``block_size`` lines at a time, inside the
    one transaction of the import (a bad line in a later block rolls back the earlier blocks'
    writes: all or nothing). What must span the file is kept compact: the first line and name of
    each identifier (reader), the practitioners met (a bitmap of ids), the known roles of those
    practitioners and the places of practice (one key string each). No query per line:
    practitioners are upserted in bulk (``INSERT … ON CONFLICT`` on the RPPS number), places of
    practice are keyed by (name, address, commune) against the places already known, roles are
    inserted in bulk, and the search index is refreshed (fully when the extract is large, else
    only the entries it touched). Bulk writes bypass django-simple-history: the import itself is
    the audit trail of these rows (source ``rpps``).
    """
    path = Path(path)

    def read() -> Iterator[pd.DataFrame]:
        # The first block is read and checked before the write phase starts (a wrong file is
        # refused before any snapshot or transaction); the others are read while writing.
        blocks = iter_rpps_activities(path, block_size=block_size)
        first = next(blocks)
        return itertools.chain([first], blocks)

    def write(blocks: Iterator[pd.DataFrame]) -> ImportReport:
        from maillage.directory.search import service as search

        report = ImportReport("rpps")
        now = timezone.now()
        orgs = dict(Organization.objects.exclude(finess_et=None).values_list("finess_et", "id"))
        communes = {
            code: (name, lat, lon)
            for code, name, lat, lon in Commune.objects.values_list(
                "code", "name", "latitude", "longitude"
            )
        }
        places = _Places(now)
        roles = _Roles(now)
        without_rpps = skipped = 0
        for df in blocks:
            # Lines identified by an ADELI number only (no RPPS) cannot be keyed reliably.
            adeli = (df["rpps"].isna() | (df["rpps"].astype(str) == "")).to_numpy(dtype=bool)
            without_rpps += int(adeli.sum())
            df = df[~adeli].reset_index(drop=True)
            if df.empty:
                continue
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
            # Places of practice, keyed by (stored name, address, commune), created in one pass.
            names = df["structure_name"].fillna("").astype(str)
            addresses = df["address"].fillna("").astype(str)
            commune_codes = df["commune_code"].fillna("").astype(str)
            postal = df["postal_code"].fillna("").astype(str)
            stored = [
                name or (f"Cabinet, {communes[code][0]}" if code in communes else "")
                for name, code in zip(names, commune_codes, strict=True)
            ]
            locations = places.ids(stored, addresses, commune_codes, postal, communes)
            pids, org_ids, loc_ids = [], [], []
            for rpps, finess, location in zip(
                df["rpps"], df["finess_site"], locations, strict=True
            ):
                finess = _str(finess)
                if location is None and not finess:
                    skipped += 1
                pids.append(by_rpps[rpps])
                org_ids.append(orgs.get(finess, -1))
                loc_ids.append(-1 if location is None else location)
            roles.add(
                pd.DataFrame(
                    {
                        "pid": np.asarray(pids, dtype=np.int64),
                        "org": np.asarray(org_ids, dtype=np.int64),
                        "loc": np.asarray(loc_ids, dtype=np.int64),
                        "prof": [_str(v) for v in df["profession_code"]],
                        "spec": [_str(v) for v in df["specialty_code"]],
                        "mode": [_str(v) for v in df["mode_code"]],
                    }
                )
            )
            del df, people, by_rpps, names, addresses, commune_codes, postal, stored, locations
        old_roles = roles.finish()
        report.skipped["lignes sans numéro RPPS (ADELI)"] = without_rpps
        report.counts["professionnels"] = roles.people
        report.counts["activités"] = roles.lines
        report.skipped["activités sans lieu localisable"] = skipped
        # The search index follows: whole when the extract is large, else what it touched.
        if roles.lines > 50_000:
            del places, roles, old_roles, orgs, communes  # the index build needs the memory
            search.reindex_all()
        else:
            person_ids = roles.person_ids()
            new_roles = _ids_in(PractitionerRole, "practitioner_id", person_ids, source=Source.RPPS)
            search.reindex_ids("role", set(old_roles) | set(new_roles))
        return report

    return run_import("rpps", read, write)


def _place_key(name: str, address: str, commune: str) -> str:
    return f"{name}\x1f{address}\x1f{commune}"


class _Places:
    """The RPPS places of practice, by (stored name, address, commune) joined in one string, in
    an Arrow array beside their ids (the national extract has about a million places: as a dict
    of Python strings they would cost several times more); new places are created block by
    block."""

    def __init__(self, now) -> None:
        self.now = now
        self.keys = pa.array([], pa.string())
        self.place_ids = np.empty(0, dtype=np.int64)
        self.last = self._load(0)

    def _load(self, after: int) -> int:
        """Append the places above id ``after``; return the highest id known."""
        rows = Location.objects.filter(source=Source.RPPS, id__gt=after).values_list(
            "id", "name", "address", "commune_id"
        )
        keys: list[str] = []
        ids: list[int] = []
        chunks, id_chunks = [self.keys], [self.place_ids]
        for i, n, a, c in rows.iterator(chunk_size=20_000):
            keys.append(_place_key(n, a, c))
            ids.append(i)
            if len(keys) >= 100_000:
                chunks.append(pa.array(keys, pa.string()))
                id_chunks.append(np.asarray(ids, dtype=np.int64))
                keys, ids = [], []
        chunks.append(pa.array(keys, pa.string()))
        id_chunks.append(np.asarray(ids, dtype=np.int64))
        self.keys = pa.concat_arrays(chunks)
        self.place_ids = np.concatenate(id_chunks)
        return max(after, int(self.place_ids.max())) if len(self.place_ids) else after

    def _find(self, keys: list[str | None]) -> np.ndarray:
        """The position in ``self.keys`` of each key, -1 when unknown (or None)."""
        found = pc.index_in(pa.array(keys, pa.string()), value_set=self.keys)
        return pc.fill_null(found, -1).to_numpy().astype(np.int64)

    def ids(self, stored, addresses, commune_codes, postal, communes) -> list[int | None]:
        """The place id of each line (None: no commune known), creating the missing places."""
        keys = [
            _place_key(name, address, code) if code in communes else None
            for name, address, code in zip(stored, addresses, commune_codes, strict=True)
        ]
        at = self._find(keys)
        new_places: dict[str, tuple] = {}
        for key, known, name, address, code, postal_code in zip(
            keys, (at >= 0).tolist(), stored, addresses, commune_codes, postal, strict=True
        ):
            if key is not None and not known and key not in new_places:
                _n, lat, lon = communes[code]
                new_places[key] = (name[:250], address[:300], postal_code[:5], code, lat, lon,
                                   Source.RPPS, False, False, self.now)  # fmt: skip
        if new_places:
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
            self.last = self._load(self.last)
            at = self._find(keys)
        ids = self.place_ids[np.maximum(at, 0)].tolist()
        return [None if a < 0 else i for a, i in zip(at.tolist(), ids, strict=True)]


_EXACT = ["pid", "org", "loc", "prof", "spec", "mode"]
_LOOSE = ["pid", "prof", "spec"]


class _Roles:
    """Role identity across re-imports, block by block.

    The extract is the full list of a practitioner's activities. Roles keep their id (and so
    their public URL, their proposals and the fields coordinators published, such as "accepts
    new patients", which the extract does not carry): a line matches the known role with the same
    (practitioner, structure, place, profession, specialty, mode), else one with the same
    (practitioner, profession, specialty) that moved or changed mode, which is updated in place.
    Only roles no line describes any more are deleted.

    Lines are matched in file order, each taking the newest known role still free (as a whole-file
    pass would): exact matches block by block as lines come, then, once the whole file has been
    seen, the "moved" matches for the lines left over. A line is inserted as a new role at once
    when its practitioner has no known role of the same profession and specialty; only the others
    wait for the end. The known roles of a practitioner are loaded when their first line comes
    (before any of their new roles is written), into compact columns (``org`` and ``loc`` are -1
    for none).
    """

    def __init__(self, now) -> None:
        self.now = now
        self.seen = np.zeros(0, dtype=bool)  # practitioner ids met so far
        self.known: list[pd.DataFrame] = []  # id, then _EXACT columns, and "taken"
        self.waiting: list[pd.DataFrame] = []  # lines that may match a moved role
        self.lines = 0

    @property
    def people(self) -> int:
        return int(self.seen.sum())

    def person_ids(self) -> list[int]:
        return np.flatnonzero(self.seen).tolist()

    def _known(self) -> pd.DataFrame:
        if len(self.known) != 1:
            frame = pd.concat(self.known, ignore_index=True) if self.known else None
            self.known = [frame if frame is not None else _empty_known()]
        return self.known[0]

    def _load(self, pids: np.ndarray) -> None:
        """The known RPPS roles of practitioners met for the first time."""
        if len(pids) and pids.max() >= len(self.seen):
            grown = np.zeros(max(pids.max() + 1, 2 * len(self.seen)), dtype=bool)
            grown[: len(self.seen)] = self.seen
            self.seen = grown
        new = np.unique(pids[~self.seen[pids]]).tolist()
        self.seen[new] = True
        rows = []
        for start in range(0, len(new), 900):
            rows += PractitionerRole.objects.filter(
                practitioner_id__in=new[start : start + 900], source=Source.RPPS
            ).values_list(
                "id", "practitioner_id", "organization_id", "location_id",
                "profession_code", "specialty_code", "mode_code",
            )  # fmt: skip
        if rows:
            frame = pd.DataFrame(rows, columns=["id", *_EXACT])
            frame[["org", "loc"]] = frame[["org", "loc"]].fillna(-1)
            frame = frame.astype({"id": np.int64, "pid": np.int64, "org": np.int64,
                                  "loc": np.int64})  # fmt: skip
            for column in ("prof", "spec", "mode"):
                frame[column] = frame[column].fillna("").astype(str)
            frame["taken"] = False
            self.known.append(frame)

    def add(self, lines: pd.DataFrame) -> None:
        """One block of lines (columns _EXACT): match, insert the new roles that cannot match."""
        self.lines += len(lines)
        pids = lines["pid"].to_numpy()
        self._load(pids)
        known = self._known()
        if known.empty:
            self._insert_new(lines)
            return
        free = known[~known["taken"].to_numpy() & np.isin(known["pid"].to_numpy(), pids)]
        pairs = _pair(lines, free, _EXACT)
        known.loc[pairs["known"], "taken"] = True
        left = lines.drop(index=pairs["line"])
        loose = free.drop(index=pairs["known"])[_LOOSE].drop_duplicates()
        may_move = left.merge(loose, on=_LOOSE, how="left", indicator=True)["_merge"].eq("both")
        may_move = may_move.to_numpy()
        self._insert_new(left[~may_move])
        if may_move.any():
            self.waiting.append(left[may_move])

    def finish(self) -> list[int]:
        """Match the lines left to moved roles, write them, delete the roles no line describes;
        return the ids of the known roles (before the import)."""
        known = self._known()
        if self.waiting:
            lines = pd.concat(self.waiting, ignore_index=True)
            free = known[~known["taken"].to_numpy()]
            pairs = _pair(lines, free, _LOOSE)
            known.loc[pairs["known"], "taken"] = True
            moved = lines.loc[pairs["line"]].assign(id=known.loc[pairs["known"], "id"].to_numpy())
            _bulk_upsert(
                PractitionerRole,
                {},
                ["id", *_ROLE_COLUMNS],
                self._rows(moved, with_id=True),
                conflict="id",
                update=["organization_id", "location_id", "mode_code", "updated_at"],
            )
            self._insert_new(lines.drop(index=pairs["line"]))
        _delete_ids(PractitionerRole, known.loc[~known["taken"], "id"].tolist())
        return known["id"].tolist()

    def _insert_new(self, lines: pd.DataFrame) -> None:
        _bulk_upsert(PractitionerRole, {}, _ROLE_COLUMNS, self._rows(lines))

    def _rows(self, lines: pd.DataFrame, with_id: bool = False):
        ids = lines["id"].tolist() if with_id else itertools.repeat(None)
        for rid, pid, org, loc, prof, spec, mode in zip(
            ids, lines["pid"].tolist(), lines["org"].tolist(), lines["loc"].tolist(),
            lines["prof"], lines["spec"], lines["mode"], strict=False,
        ):  # fmt: skip
            row = (pid, None if org < 0 else org, None if loc < 0 else loc, prof, spec, mode,
                   1.0, True, False, Source.RPPS, False, self.now)  # fmt: skip
            yield (rid, *row) if with_id else row


_ROLE_COLUMNS = [
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


def _empty_known() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=np.int64) for c in ["id", "pid", "org", "loc"]})
    for column in ("prof", "spec", "mode"):
        frame[column] = pd.Series(dtype=object)
    frame["taken"] = pd.Series(dtype=bool)
    return frame


def _pair(lines: pd.DataFrame, free: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """Match lines (in file order) to free known roles of the same ``key``: the k-th line of a
    key takes the k-th newest role. Returns the index labels of both (``line``, ``known``)."""
    if lines.empty or free.empty:
        return pd.DataFrame({"line": pd.Series(dtype=np.int64), "known": pd.Series(dtype=np.int64)})
    left = lines[key].assign(k=lines.groupby(key, sort=False).cumcount(), line=lines.index)
    newest = free.sort_values("id", ascending=False, kind="stable")
    right = newest[key].assign(k=newest.groupby(key, sort=False).cumcount(), known=newest.index)
    return left.merge(right, on=[*key, "k"], how="inner")[["line", "known"]]
