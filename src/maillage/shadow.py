"""Shadow writes: an import's write phase on a snapshot, applied to SQLite in one short step.

SQLite has one writer at a time. A national import that writes for a minute in one transaction
makes every login, proposal and review wait that minute (then fail with "database is locked").
Here the write phase runs, unchanged, on a private copy of the database, and only the rows it
changed are carried over, in one transaction that lasts as long as copying those rows takes:

1. ``VACUUM INTO`` a snapshot beside the database: a read, which never blocks the site (WAL);
2. on the snapshot, triggers record the key of every row the import inserts, and the *before*
   image of every row it updates or deletes; new ids start far above the live ones, so rows that
   users insert meanwhile never collide with the import's;
3. the import's ``write(data)`` runs on the snapshot, in one transaction, as it would live;
4. the snapshot is attached to the live connection and one ``BEGIN IMMEDIATE`` transaction
   deletes what the import deleted, updates **only the columns the import changed** (a field a
   coordinator published during the import survives, unless the import changed the same field:
   then the import wins, as if it had run just after) and inserts what it inserted (replacing
   a row the site inserted meanwhile under the same natural key, e.g. a search entry).

Failure anywhere before the final commit leaves the live database untouched; the snapshot file is
removed either way.

The lock lasts as long as writing the changed rows and their indexes takes, so the import must
change only what it means to: the search index's full rebuild keeps the id of every unchanged
entry and skips identical rows (:func:`maillage.directory.search.service.reindex_all`), so a
100,000-line RPPS import carries its 100,000 new entries, not 300,000 rows of a rewritten index.
The log line gives the rows and seconds per table and the commit; the WAL checkpoint that such a
commit triggers runs after it, once the lock is released.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from maillage.imports import ImportConsistencyError

log = logging.getLogger(__name__)

ID_GAP = 100_000  # new rows of the import start this far above the live ids (a clash aborts)
PREFIX = "_maillage_shadow_"
SHADOW_PRAGMAS = (
    "PRAGMA journal_mode=MEMORY; PRAGMA synchronous=OFF; PRAGMA recursive_triggers=ON; "
    "PRAGMA foreign_keys=ON"
)


class ImportConflictError(ImportConsistencyError):
    """The live database changed, during the import, in a way the import cannot carry over."""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tracked_tables(cursor: Any) -> dict[str, tuple[str, list[str]]]:
    """``{table: (primary key column, columns)}`` for every table with a one-column key."""
    cursor.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE %s",
        [PREFIX + "%"],
    )
    tables = {}
    for (table,) in cursor.fetchall():
        cursor.execute(f"PRAGMA table_info({_q(table)})")
        info = cursor.fetchall()
        keys = [row[1] for row in info if row[5]]
        if len(keys) == 1:
            tables[table] = (keys[0], [row[1] for row in info])
    return tables


def _install_tracking(cursor: Any, tables: dict[str, tuple[str, list[str]]]) -> None:
    for table, (pk, cols) in tables.items():
        t, b, n = _q(table), _q(PREFIX + "b_" + table), _q(PREFIX + "n_" + table)
        cursor.execute(f"CREATE TABLE {b} AS SELECT * FROM {t} WHERE 0")
        cursor.execute(f"CREATE UNIQUE INDEX {_q(PREFIX + 'bk_' + table)} ON {b} ({_q(pk)})")
        cursor.execute(f"CREATE TABLE {n} (k PRIMARY KEY)")
        k = _q(pk)
        old_values = ", ".join(f"OLD.{_q(c)}" for c in cols)
        col_list = ", ".join(_q(c) for c in cols)
        keep_before = (
            f"INSERT OR IGNORE INTO {b} ({col_list}) SELECT {old_values} "
            f"WHERE NOT EXISTS (SELECT 1 FROM {n} WHERE k = OLD.{k});"
        )
        cursor.execute(
            f"CREATE TRIGGER {_q(PREFIX + 'i_' + table)} AFTER INSERT ON {t} BEGIN "
            f"INSERT OR IGNORE INTO {n} (k) SELECT NEW.{k} "
            f"WHERE NOT EXISTS (SELECT 1 FROM {b} WHERE {k} = NEW.{k}); END"
        )
        cursor.execute(
            f"CREATE TRIGGER {_q(PREFIX + 'u_' + table)} AFTER UPDATE ON {t} BEGIN "
            f"{keep_before} INSERT OR IGNORE INTO {n} (k) SELECT NEW.{k} "
            f"WHERE NEW.{k} IS NOT OLD.{k} AND NOT EXISTS (SELECT 1 FROM {b} WHERE {k} = NEW.{k});"
            " END"
        )
        cursor.execute(
            f"CREATE TRIGGER {_q(PREFIX + 'd_' + table)} AFTER DELETE ON {t} BEGIN "
            f"{keep_before} END"
        )
    # Rows the import creates get ids far above the live ones (AUTOINCREMENT tables): a row a
    # user inserts on the live site meanwhile takes the next live id, never one of these.
    cursor.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%AUTOINCREMENT%'"
    )
    for (table,) in cursor.fetchall():
        cursor.execute(
            "INSERT INTO sqlite_sequence (name, seq) SELECT %s, 0 "
            "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = %s)",
            [table, table],
        )
    cursor.execute("UPDATE sqlite_sequence SET seq = seq + %s", [ID_GAP])


def _changed_tables(
    cursor: Any, tables: dict[str, tuple[str, list[str]]]
) -> dict[str, tuple[str, list[str]]]:
    """The tables the import changed: read from the attached snapshot alone, before the live
    write lock is taken (the site keeps writing meanwhile)."""
    changed = {}
    for table, spec in tables.items():
        b = "shadow." + _q(PREFIX + "b_" + table)
        n = "shadow." + _q(PREFIX + "n_" + table)
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {b}) OR EXISTS (SELECT 1 FROM {n})")
        if cursor.fetchone()[0]:
            changed[table] = spec
    return changed


def _apply(cursor: Any, tables: dict[str, tuple[str, list[str]]]) -> dict[str, str]:
    """Carry the snapshot's changes over to the live database (attached snapshot: ``shadow``);
    ``tables`` are those :func:`_changed_tables` found changed. Returns, per table, the rows
    written and the seconds it took (for the log)."""
    counts: dict[str, str] = {}
    for table, (pk, cols) in tables.items():
        started = time.perf_counter()
        t, k = _q(table), _q(pk)
        b = "shadow." + _q(PREFIX + "b_" + table)
        n = "shadow." + _q(PREFIX + "n_" + table)
        s = "shadow." + t
        cursor.execute(
            f"SELECT n.k FROM {n} n JOIN {s} s ON s.{k} = n.k JOIN main.{t} t ON t.{k} = n.k "
            "LIMIT 1"
        )
        clash = cursor.fetchone()
        if clash:
            raise ImportConflictError(
                f"la base a changé pendant l'import : la ligne {clash[0]} de la table {table} "
                "a été créée entre-temps. Relancez l'import."
            )
        # Deleted by the import.
        cursor.execute(
            f"DELETE FROM main.{t} WHERE {k} IN (SELECT b.{k} FROM {b} b "
            f"WHERE NOT EXISTS (SELECT 1 FROM {s} s WHERE s.{k} = b.{k}))"
        )
        deleted = cursor.rowcount
        # Updated by the import: only the columns it changed.
        others = [c for c in cols if c != pk]
        updated = 0
        if others:
            sets = ", ".join(
                f"{_q(c)} = CASE WHEN b.{_q(c)} IS NOT s.{_q(c)} THEN s.{_q(c)} "
                f"ELSE main.{t}.{_q(c)} END"
                for c in others
            )
            changed = " OR ".join(f"b.{_q(c)} IS NOT s.{_q(c)}" for c in others)
            cursor.execute(
                f"UPDATE main.{t} SET {sets} FROM {b} b JOIN {s} s ON s.{k} = b.{k} "
                f"WHERE main.{t}.{k} = b.{k} AND ({changed})"
            )
            updated = cursor.rowcount
        # Inserted by the import (and still there at its end). A row the site inserted
        # meanwhile with the same natural key (the search entry of a role published during
        # the import) is replaced: the import wins, as if it had run just after. If that row
        # is referenced, the deferred foreign-key check fails the commit: nothing is written.
        col_list = ", ".join(_q(c) for c in cols)
        cursor.execute(
            f"INSERT OR REPLACE INTO main.{t} ({col_list}) SELECT {col_list} FROM {s} "
            f"WHERE {k} IN (SELECT k FROM {n})"
        )
        rows = deleted + updated + cursor.rowcount
        counts[table] = f"{rows} rows {time.perf_counter() - started:.2f} s"
    return counts


@contextlib.contextmanager
def _connection_to(path: str):
    """Point this thread's default connection at ``path`` for the duration of the block."""
    saved = connection.settings_dict
    connection.close()
    options = {**saved.get("OPTIONS", {}), "init_command": SHADOW_PRAGMAS}
    options.pop("transaction_mode", None)
    connection.settings_dict = {**saved, "NAME": path, "OPTIONS": options}
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict = saved


def write_in_shadow(
    write: Callable[[object], Any],
    data: object,
    untracked: Iterable[str] = (),
    after_apply: Callable[[], object] | None = None,
    prepared: Callable[[], object] | None = None,
) -> Any:
    """``write(data)`` on a snapshot of the live SQLite database, then its changes applied to
    the live database in one short transaction. Returns what ``write`` returned.

    Tables in ``untracked`` are not carried over (counters the import bumps on the snapshot:
    ``after_apply()`` runs on the live database inside the apply transaction instead).
    ``prepared()`` runs once the apply is prepared, just before the live write lock is taken."""
    live_path = Path(str(connection.settings_dict["NAME"]))
    shadow_path = live_path.with_name(f".{live_path.stem}-import-{uuid.uuid4().hex[:8]}.sqlite3")
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM INTO %s", [str(shadow_path)])
        os.chmod(shadow_path, 0o600)
        copied = time.perf_counter()
        with _connection_to(str(shadow_path)):
            with connection.cursor() as cursor:
                skip = set(untracked)
                tables = {t: v for t, v in _tracked_tables(cursor).items() if t not in skip}
                with transaction.atomic():
                    _install_tracking(cursor, tables)
            with transaction.atomic():
                result = write(data)
        written = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("ATTACH DATABASE %s AS shadow", [str(shadow_path)])
            # Index upkeep of tens of thousands of rows: a page cache that holds the indexes
            # (the default 2 MB makes every insert re-read pages) shortens the lock.
            cursor.execute("PRAGMA main.cache_size = -262144")
            # The WAL checkpoint that a commit of this size triggers runs after the write lock
            # is released, but inside the COMMIT call: it is run below instead, so that the
            # log tells the lock time apart from it.
            cursor.execute("PRAGMA wal_autocheckpoint = 0")
        try:
            with connection.cursor() as cursor:
                tables = _changed_tables(cursor, tables)
            if prepared is not None:
                prepared()
            with transaction.atomic():  # BEGIN IMMEDIATE: the one moment the site waits
                applied_at, applied_cpu = time.perf_counter(), time.thread_time()
                with connection.cursor() as cursor:
                    counts = _apply(cursor, tables)
                if after_apply is not None:
                    after_apply()
                committing = time.perf_counter()
        finally:
            with connection.cursor() as cursor:
                cursor.execute("DETACH DATABASE shadow")
                cursor.execute("PRAGMA main.cache_size = -2000")
                cursor.execute("PRAGMA wal_autocheckpoint = 1000")
        done, done_cpu = time.perf_counter(), time.thread_time()
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
        checkpointed = time.perf_counter()
        log.info(
            "shadow import: snapshot %.1f s, write %.1f s, prepare %.2f s, "
            "live write lock held %.2f s, %.2f s of processor time (%s; commit %.2f s), "
            "then WAL checkpoint %.2f s",
            copied - started, written - copied, applied_at - written, done - applied_at,
            done_cpu - applied_cpu, ", ".join(f"{t}: {c}" for t, c in counts.items()),
            done - committing, checkpointed - done,
        )  # fmt: skip
        return result
    finally:
        for suffix in ("", "-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(str(shadow_path) + suffix)
