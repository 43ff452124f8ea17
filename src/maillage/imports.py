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

from django.db import models, transaction

from maillage.exports.versions import bump as bump_data_version

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
    model.objects.bulk_create(
        objs,
        batch_size=batch_size,
        update_conflicts=True,
        unique_fields=list(unique_fields),
        update_fields=list(update_fields),
    )
    return len(objs)


def run_import(name: str, read: Callable[[], object], write: Callable[[object], ImportReport]):
    """Read and validate everything with ``read()``, then ``write(data)`` in one transaction."""
    start = time.perf_counter()
    data = read()
    with transaction.atomic():
        report = write(data)
        bump_data_version()  # exports built from the previous data are no longer served
    report.name = name
    report.seconds = time.perf_counter() - start
    log.debug("%s", report)
    return report
