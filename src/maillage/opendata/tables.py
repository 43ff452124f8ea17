"""Reader for the analyst's own two-column tables (``id,population``, ``id,capacity``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from maillage.opendata.errors import DataFormatError


def read_id_values(path: str | Path, value_column: str) -> pd.Series:
    """Read a CSV with columns ``id`` and ``value_column`` into a float Series indexed by id.

    Ids are kept as text (leading zeros matter in INSEE codes). Values must be finite and
    non-negative; ids must be unique.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataFormatError(path, f"un fichier lisible ({exc.strerror})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataFormatError(
            path, "du texte UTF-8 (le fichier semble encodé en Latin-1/Windows-1252)", line=line
        ) from exc
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise DataFormatError(path, f"une ligne d'en-tête 'id,{value_column}'", line=1)
    header = [h.strip() for h in lines[0].split(",")]
    for col in ("id", value_column):
        if col not in header:
            raise DataFormatError(
                path, f"une colonne {col!r} dans l'en-tête 'id,{value_column}'", line=1,
                found=lines[0],
            )  # fmt: skip
    i_id, i_val = header.index("id"), header.index(value_column)
    ids: list[str] = []
    values: list[float] = []
    seen: set[str] = set()
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split(",")
        if len(cells) != len(header):
            raise DataFormatError(
                path, f"{len(header)} champs séparés par des virgules", line=n, found=line
            )
        ident = cells[i_id].strip()
        if not ident:
            raise DataFormatError(path, "un identifiant non vide", line=n, column="id")
        if ident in seen:
            raise DataFormatError(
                path, "des identifiants uniques", line=n, column="id", found=ident
            )
        seen.add(ident)
        try:
            value = float(cells[i_val])
        except ValueError:
            raise DataFormatError(
                path, "un nombre", line=n, column=value_column, found=cells[i_val]
            ) from None
        if not (value >= 0 and value != float("inf")):
            raise DataFormatError(
                path, "un nombre fini >= 0", line=n, column=value_column, found=cells[i_val]
            )
        ids.append(ident)
        values.append(value)
    if not ids:
        raise DataFormatError(path, "au moins une ligne de données après l'en-tête", line=2)
    return pd.Series(values, index=pd.Index(ids, name="id"), name=value_column, dtype=float)
