"""What the directory importers share: cell conversions and bulk writes without model instances."""

from __future__ import annotations

import pandas as pd


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
    """Delete rows by id without loading them, after doing what each reference to them asks
    (``on_delete``): other apps point at directory rows (a care site at its practitioner's
    role, a booking at the médecin traitant's), and a raw delete would break their foreign
    keys and fail the whole import. History rows keep no constraint and are left as they are.
    """
    from django.db import connection, models

    table = connection.ops.quote_name(model._meta.db_table)
    references = [r for r in model._meta.related_objects if r.on_delete is not models.DO_NOTHING]
    with connection.cursor() as cursor:
        for start in range(0, len(ids), _ID_BATCH):
            batch = ids[start : start + _ID_BATCH]
            for relation in references:
                rows = relation.related_model._base_manager.filter(
                    **{f"{relation.field.name}__in": batch}
                )
                if relation.on_delete is models.SET_NULL:
                    rows.update(**{relation.field.name: None})
                elif relation.on_delete is models.CASCADE:
                    rows.delete()
                elif rows.exists():  # PROTECT, RESTRICT…: refuse with the reason
                    raise models.ProtectedError(
                        f"{relation.related_model._meta.verbose_name} référence encore "
                        f"des lignes à supprimer de {model._meta.verbose_name}",
                        set(rows[:10]),
                    )
            marks = ", ".join(["%s"] * len(batch))
            cursor.execute(f"DELETE FROM {table} WHERE id IN ({marks})", batch)


def _bulk_upsert(
    model,
    constants: dict,
    columns: list[str],
    rows,
    conflict: str | None = None,
    update: list[str] | None = None,
):
    """Insert ``rows`` (tuples of ``columns`` values, plus ``constants`` on every row) without
    model instances: COPY through a temporary table on PostgreSQL, executemany on SQLite. With
    ``conflict`` (a unique column), existing rows are updated (``ON CONFLICT DO UPDATE``) —
    every column but ``conflict``, or only ``update`` when given."""
    from django.db import connection

    q = connection.ops.quote_name
    table = q(model._meta.db_table)
    all_columns = [*columns, *constants]
    extra = tuple(constants.values())
    cols = ", ".join(q(c) for c in all_columns)
    upsert_sql = ""
    if conflict:
        kept = update if update is not None else [c for c in columns if c != conflict]
        sets = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in kept)
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
