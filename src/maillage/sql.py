"""Reads of a hot path whose SQL is written once, not compiled by the ORM on every request.

Django's ORM builds the SQL of a query again at each call: for a row joined over three tables
(a slot, its schedule, its site) that costs about 1 ms of processor time, five times the cost
of running the same statement through a cursor (figures in ``benchmarks/RESULTS.md``,
bookings). :func:`joined_row` runs a join written once per shape and returns ordinary model
instances — every concrete field loaded, each through the field's own converters (dates on
SQLite, encrypted fields), the related objects set as ``select_related`` would set them — so
the code that uses them cannot tell the difference.

Use it only where a profile shows the ORM's compilation matters (one booking: the slot read,
the token's user); everywhere else the ORM is the one way to read.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import connection, models


@cache
def _shape(chain: tuple[tuple[type[models.Model], str], ...], where: str) -> tuple[str, tuple]:
    """The SQL and the per-model (fields, converters) of a join along ``chain``: the first
    model, then each model reached from the previous one through its foreign key ``name``."""
    quote = connection.ops.quote_name
    columns, parts, joins = [], [], []
    previous_alias = ""
    for i, (model, via) in enumerate(chain):
        alias = f"t{i}"
        fields = list(model._meta.concrete_fields)
        columns += [f"{alias}.{quote(f.column)}" for f in fields]
        converters = []
        for f in fields:
            col = f.get_col(alias)
            found = connection.ops.get_db_converters(col) + f.get_db_converters(connection)
            converters.append((f, found, col))
        parts.append((model, [f.attname for f in fields], converters))
        table = quote(model._meta.db_table)
        if i == 0:
            joins.append(f"{table} {alias}")
        else:
            prev_model = chain[i - 1][0]
            fk = prev_model._meta.get_field(via)
            joins.append(
                f"JOIN {table} {alias} ON {alias}.{quote(fk.target_field.column)} = "
                f"{previous_alias}.{quote(fk.column)}"
            )
        previous_alias = alias
    sql = f"SELECT {', '.join(columns)} FROM {' '.join(joins)} WHERE {where}"
    return sql, tuple(parts)


def joined_row(
    chain: tuple[tuple[type[models.Model], str], ...], where: str, params: list[Any]
) -> models.Model | None:
    """The first model's instance of the row ``where`` selects (``t0`` is the first table's
    alias, ``t1`` the next…), its related objects attached along ``chain``; None if no row.

    ``chain`` is ``((Slot, ""), (Schedule, "schedule"), (Site, "site"))``: each later entry
    names the foreign key of the entry before it.
    """
    found = joined_rows(chain, where, params)
    return found[0] if found else None


def joined_rows(
    chain: tuple[tuple[type[models.Model], str], ...], where: str, params: list[Any]
) -> list[models.Model]:
    """Every row ``where`` selects (it may end with ``ORDER BY``/``LIMIT``), as
    :func:`joined_row` builds one."""
    sql, parts = _shape(chain, where)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [_instances(chain, parts, row) for row in cursor.fetchall()]


def _instances(chain: tuple, parts: tuple, row: tuple) -> models.Model:
    instances = []
    start = 0
    for model, names, converters in parts:
        values = []
        for offset, (_field, found, col) in enumerate(converters):
            value = row[start + offset]
            for converter in found:
                value = converter(value, col, connection)
            values.append(value)
        start += len(names)
        instances.append(model.from_db(connection.alias, names, values))
    for i in range(1, len(instances)):
        field = chain[i - 1][0]._meta.get_field(chain[i][1])
        field.set_cached_value(instances[i - 1], instances[i])
    return instances[0]
