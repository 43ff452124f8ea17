"""The one import pipeline every dataset goes through.

An import has two phases. *Read*: the opendata readers parse and validate every file completely
(a bad file raises :class:`~maillage.opendata.errors.DataFormatError` naming file, line, column and
what was expected) and cross-file checks run, before the database is touched. *Write*: one
transaction upserts every row by its natural key (INSEE code, FINESS number, commune + year...),
so a failure leaves the database as it was and running the same import twice changes nothing.

Beside a live site on SQLite, one transaction that writes for a minute would hold SQLite's single
write lock for that minute: every login, proposal and review would wait behind it. So
``maillage import`` writes in *shadow* mode (:func:`isolation`): the write phase runs, unchanged,
against a private snapshot of the database (``VACUUM INTO``, which never blocks the site), with
triggers recording which rows it inserted, updated or deleted; then one short transaction applies
exactly those rows to the live database (:mod:`maillage.shadow`). The site waits only for that
final step, and the import is still all-or-nothing: it fails before it, or commits it whole.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace

from django.db import connection, models, transaction
from django.db.models.constants import OnConflict
from django.db.models.fields import AutoFieldMixin

from maillage.exports.versions import bump as bump_data_version

log = logging.getLogger(__name__)
DATA_VERSION_TABLE = "exports_dataversion"


class ImportConsistencyError(ValueError):
    """A cross-file inconsistency found before writing (a commune of an unknown département)."""


@dataclass
class ImportReport:
    """What an import did, for the CLI and the logs."""

    name: str
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def __str__(self) -> str:
        parts = [f"{k}: {v:,}".replace(",", " ") for k, v in self.counts.items()]
        text = f"{self.name}: " + ", ".join(parts) + f" ({self.seconds:.1f} s)"
        if any(self.skipped.values()):
            text += " — ignorés : " + ", ".join(f"{k}: {v}" for k, v in self.skipped.items() if v)
        return text


def upsert(
    model: type[models.Model],
    rows: Iterable[dict],
    unique_fields: Sequence[str],
    update_fields: Sequence[str] | None = None,
    batch_size: int = 2000,
) -> int:
    """Insert or update ``rows`` (dicts of field values) keyed on ``unique_fields``.

    Uses ``INSERT ... ON CONFLICT DO UPDATE`` on both SQLite and PostgreSQL, so a re-run updates
    in place instead of duplicating. Returns the number of rows sent.
    """
    rows = list(rows)
    if not rows:
        return 0
    if connection.vendor == "sqlite" and _by_attname(model, rows):
        if update_fields is None:
            update_fields = [
                f.attname
                for f in model._meta.concrete_fields
                if not f.primary_key and f.attname not in unique_fields
            ]
        _sqlite_upsert(model, rows, unique_fields, update_fields)
        return len(rows)
    objs = [model(**row) for row in rows]
    if update_fields is None:
        first = objs[0]
        update_fields = [
            f.attname
            for f in model._meta.concrete_fields
            if not f.primary_key and f.attname not in unique_fields and hasattr(first, f.attname)
        ]
    model.objects.bulk_create(
        objs,
        batch_size=batch_size,
        update_conflicts=True,
        unique_fields=list(unique_fields),
        update_fields=list(update_fields),
    )
    return len(objs)


def _by_attname(model: type[models.Model], rows: list[dict]) -> bool:
    """True when every key of ``rows`` is the column attribute of a field the insert writes
    (``commune_id``, not ``commune``; not an automatic primary key)."""
    written = {f.attname for f in model._meta.concrete_fields if not isinstance(f, AutoFieldMixin)}
    return set().union(*rows) <= written


# Field types whose database value is the Python value itself when it has this exact type (the
# generic conversion below costs ~20 µs a value: 2.5 million values for FINESS alone).
_PLAIN = {
    "CharField": str,
    "TextField": str,
    "SlugField": str,
    "EmailField": str,
    "URLField": str,
    "IntegerField": int,
    "BigIntegerField": int,
    "SmallIntegerField": int,
    "PositiveIntegerField": int,
    "PositiveSmallIntegerField": int,
    "FloatField": float,
    "BooleanField": bool,
    "AutoField": int,
    "BigAutoField": int,
}


def _sqlite_upsert(
    model: type[models.Model],
    rows: list[dict],
    unique_fields: Sequence[str],
    update_fields: Sequence[str],
) -> None:
    """What ``bulk_create(update_conflicts=True)`` of ``model(**row)`` objects writes, as one
    prepared ``INSERT … ON CONFLICT DO UPDATE`` run with ``executemany``: Django compiles
    SQLite bulk inserts in batches of ~40 rows (999 parameters) and converts each value in
    Python, which made the first start's imports take minutes. Same columns, same values (the
    field's default for a missing key, ``auto_now`` fields set to now), same conflict clause."""
    opts = model._meta
    fields = [f for f in opts.concrete_fields if not isinstance(f, AutoFieldMixin)]
    plain = [
        _PLAIN.get(f.target_field.get_internal_type() if f.is_relation else f.get_internal_type())
        for f in fields
    ]
    stamped = {}  # auto_now / auto_now_add: the value pre_save gives a new object
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            stamped[f.attname] = f.get_db_prep_save(f.pre_save(SimpleNamespace(), True), connection)
    unique_columns = [opts.get_field(name).column for name in unique_fields]
    update_columns = [opts.get_field(name).column for name in update_fields]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({}) {}".format(
        quote(opts.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
        connection.ops.on_conflict_suffix_sql(
            fields, OnConflict.UPDATE, update_columns, unique_columns
        ),
    )
    columns = [(f, f.attname, kind) for f, kind in zip(fields, plain, strict=True)]

    def values(row: dict) -> list:
        out = []
        for f, attname, kind in columns:
            if attname in stamped:
                out.append(stamped[attname])
                continue
            value = row[attname] if attname in row else f.get_default()
            if value is not None and type(value) is not kind:
                value = f.get_db_prep_save(value, connection)
            out.append(value)
        return out

    with connection.cursor() as cursor:
        for start in range(0, len(rows), 5000):
            cursor.executemany(sql, [values(row) for row in rows[start : start + 5000]])


ISOLATION_MODES = ("direct", "shadow")
_isolation: list[str] = [os.environ.get("MAILLAGE_IMPORT_ISOLATION", "") or "direct"]


@contextlib.contextmanager
def isolation(mode: str) -> Iterator[None]:
    """Run the imports inside the block in ``mode``: ``direct`` (one transaction on the live
    database) or ``shadow`` (on SQLite: write on a snapshot, then apply the changed rows in one
    short transaction; elsewhere the same as ``direct``). ``MAILLAGE_IMPORT_ISOLATION`` in the
    environment wins over ``mode``, so a deployment can force either."""
    if mode not in ISOLATION_MODES:
        raise ValueError(f"mode d'import inconnu : {mode}")
    _isolation.append(os.environ.get("MAILLAGE_IMPORT_ISOLATION", "") or mode)
    try:
        yield
    finally:
        _isolation.pop()


def _shadow_applies() -> bool:
    return (
        _isolation[-1] == "shadow"
        and connection.vendor == "sqlite"
        and not connection.in_atomic_block  # inside a caller's transaction: join it instead
        and not connection.is_in_memory_db()
    )


def run_import(name: str, read: Callable[[], object], write: Callable[[object], ImportReport]):
    """Read and validate everything with ``read()``, then ``write(data)`` in one transaction
    (on a snapshot applied in one short transaction, in shadow mode)."""
    start = time.perf_counter()
    data = read()
    if _shadow_applies():
        from maillage.shadow import write_in_shadow

        # The data version is a counter: bumped on the live database, in the apply transaction
        # (the snapshot's copy of it is left out, it may be behind the live one).
        report = write_in_shadow(
            write, data, untracked={DATA_VERSION_TABLE}, after_apply=bump_data_version
        )
    else:
        with transaction.atomic():
            report = write(data)
            bump_data_version()  # exports built from the previous data are no longer served
    report.name = name
    report.seconds = time.perf_counter() - start
    log.debug("%s", report)
    return report
