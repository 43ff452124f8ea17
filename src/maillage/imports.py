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

from django.db import connection, models, transaction

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

        report = write_in_shadow(write, data)
    else:
        with transaction.atomic():
            report = write(data)
    report.name = name
    report.seconds = time.perf_counter() - start
    log.debug("%s", report)
    return report
