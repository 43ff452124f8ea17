"""Which value wins on re-import: the source's or the one a coordinator published.

Each importer declares, as data, a rule per field it writes:

- ``SOURCE_CHANGES``: the source wins only when its value changed since the last import;
  otherwise the value in the directory (perhaps corrected by a coordinator) stays;
- ``PUBLISHED``: once in the directory, the published value stays whatever the source says;
- ``SOURCE_ONLY``: the source always wins (identifiers, categories, coordinates).

The last imported source value of each ``SOURCE_CHANGES``/``PUBLISHED`` field is kept on the
entry (``source_values``), so a later import can tell "the source changed" from "a coordinator
changed it".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

SOURCE_CHANGES = "la source l'emporte si elle change"
PUBLISHED = "la valeur publiée l'emporte"
SOURCE_ONLY = "source seule"

FINESS_RULES: dict[str, str] = {
    "phone": SOURCE_CHANGES,
    "address": SOURCE_CHANGES,
    "postal_code": SOURCE_CHANGES,
    "city": SOURCE_CHANGES,
    "name": SOURCE_CHANGES,
}

LABELS = {
    "phone": "Téléphone",
    "address": "Adresse",
    "postal_code": "Code postal",
    "city": "Ville",
    "name": "Raison sociale",
}


def merge_fields(
    rules: Mapping[str, str],
    current: Mapping[str, object] | None,
    last_source: Mapping[str, object] | None,
    new: dict[str, object],
    source_name: str,
    day: date,
) -> tuple[dict[str, object], dict[str, object], list[str]]:
    """Return (values to write, source values to remember, French notes for the history).

    ``current`` is the entry as stored (None for a new entry), ``last_source`` the source values
    remembered at the last import, ``new`` the row the source gives now.
    """
    values = dict(new)
    remembered = {f: new[f] for f in rules if rules[f] != SOURCE_ONLY and f in new}
    notes: list[str] = []
    if current is None:
        return values, remembered, notes
    last_source = last_source or {}
    for field, rule in rules.items():
        if field not in new or rule == SOURCE_ONLY:
            continue
        published = current.get(field)
        if published == new[field]:
            continue
        if rule == PUBLISHED and published not in (None, ""):
            values[field] = published
            continue
        # SOURCE_CHANGES: without a remembered value, the entry predates this rule: the
        # published value was the source's own unless someone edited it; keep it only if the
        # source still says what it said (unknown here), so the source wins and it is said.
        if field in last_source and last_source[field] == new[field]:
            values[field] = published  # source unchanged: the coordinator's value stays
            continue
        if published not in (None, "") and (
            field not in last_source or published != last_source[field]
        ):
            notes.append(_note(LABELS.get(field, field), str(published), source_name, day))
    return values, remembered, notes


NOTE_LENGTH = 100  # the history's change reason column


def _note(label: str, published: str, source_name: str, day: date) -> str:
    """The French history line; a shorter wording, then a shortened value, when the full
    sentence would not fit the history's 100-character column."""
    when = day.strftime("%d/%m/%Y")
    full = (
        f"{label} : la valeur publiée « {published} » a été remplacée par celle du "
        f"{source_name} (import du {when})"
    )
    if len(full) <= NOTE_LENGTH:
        return full

    def short(value: str) -> str:
        return (
            f"{label} : valeur publiée « {value} » remplacée par le {source_name} "
            f"(import du {when})"
        )

    room = NOTE_LENGTH - len(short(""))
    if len(published) > room:
        published = published[: max(room - 1, 0)] + "…"
    return short(published)
