"""The one import pipeline every dataset goes through.

An import has two phases. *Read*: the opendata readers parse and validate every file completely
(a bad file raises :class:`~maillage.opendata.errors.DataFormatError` naming file, line, column and
what was expected) and cross-file checks run, before the database is touched. *Write*: one
transaction upserts every row by its natural key (INSEE code, FINESS number, commune + year...),
so a failure leaves the database as it was and running the same import twice changes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from django.db import connection, models, transaction
from django.db.models.constants import OnConflict
from django.db.models.fields import AutoFieldMixin

log = logging.getLogger(__name__)


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
    objs = [model(**row) for row in rows]
    if not objs:
        return 0
    if update_fields is None:
        first = objs[0]
        update_fields = [
            f.attname
            for f in model._meta.concrete_fields
            if not f.primary_key and f.attname not in unique_fields and hasattr(first, f.attname)
        ]
    auto_pk = isinstance(model._meta.pk, AutoFieldMixin)
    if connection.vendor == "sqlite" and not (auto_pk and any(o.pk is not None for o in objs)):
        _sqlite_upsert(model, objs, unique_fields, update_fields)
        return len(objs)
    model.objects.bulk_create(
        objs,
        batch_size=batch_size,
        update_conflicts=True,
        unique_fields=list(unique_fields),
        update_fields=list(update_fields),
    )
    return len(objs)


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
}


def _sqlite_upsert(
    model: type[models.Model],
    objs: list[models.Model],
    unique_fields: Sequence[str],
    update_fields: Sequence[str],
) -> None:
    """What ``bulk_create(update_conflicts=True)`` writes, as one prepared ``INSERT … ON
    CONFLICT DO UPDATE`` run with ``executemany``: Django compiles SQLite bulk inserts in
    batches of ~40 rows (999 parameters) and converts each value in Python, which made the
    first start's imports take minutes. Same columns, same values, same conflict clause."""
    opts = model._meta
    fields = [f for f in opts.concrete_fields if not isinstance(f, AutoFieldMixin)]
    plain = [
        _PLAIN.get(f.target_field.get_internal_type() if f.is_relation else f.get_internal_type())
        for f in fields
    ]
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

    def values(obj: models.Model) -> list:
        row = []
        for f, kind in zip(fields, plain, strict=True):
            value = f.pre_save(obj, True)
            if value is not None and type(value) is not kind:
                value = f.get_db_prep_save(value, connection)
            row.append(value)
        return row

    with connection.cursor() as cursor:
        for start in range(0, len(objs), 5000):
            cursor.executemany(sql, [values(obj) for obj in objs[start : start + 5000]])


def run_import(name: str, read: Callable[[], object], write: Callable[[object], ImportReport]):
    """Read and validate everything with ``read()``, then ``write(data)`` in one transaction."""
    start = time.perf_counter()
    data = read()
    with transaction.atomic():
        report = write(data)
    report.name = name
    report.seconds = time.perf_counter() - start
    log.debug("%s", report)
    return report
