"""Read a travel-time table (``origin, destination, minutes``) from CSV or Parquet.

This is how real travel times - from a routing engine (OSRM, Valhalla, r5), the Metric distancier,
or a consultancy's study - enter maillage. The format is deliberately minimal:

* columns ``origin``, ``destination``, ``minutes`` (case and surrounding spaces ignored; other
  columns are ignored too), one row per pair;
* CSV in UTF-8 (a BOM is accepted), separated by ``,``, ``;`` or tab (read from the header line);
  with ``;`` or tab, a decimal comma in ``minutes`` is accepted (French spreadsheets); the file may
  be gzip-compressed (``.csv.gz``, detected from its content, not its name);
* or Parquet (detected from its content): string or integer ids, numeric minutes.

Ids are returned as strings exactly as written (INSEE codes keep their leading zeros - in Parquet,
store them as strings for that reason). The whole file is validated before anything is returned:
the first problem raises :class:`~maillage.opendata.errors.DataFormatError` with the line number
(CSV: the header is line 1; Parquet: the 1-based row number) and column.

Turn the table into a matrix with :func:`maillage.analytics.travel.costs_from_table`.
"""

from __future__ import annotations

import csv
import gzip
import io
import warnings
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from maillage.opendata.errors import DataFormatError

COLUMNS = ("origin", "destination", "minutes")
_EXPECTED_HEADER = "une ligne d'en-tête avec les colonnes origin, destination, minutes"
_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"


def read_cost_table(path: str | Path) -> pd.DataFrame:
    """Read and validate a cost table; returns columns ``origin``, ``destination`` (str) and
    ``minutes`` (float64, finite, >= 0), one row per unique pair, in file order.

    Raises :class:`DataFormatError` on: an empty file, a truncated or corrupt gzip stream, a
    corrupt Parquet file, text that is not UTF-8 (with its line), a missing column, a row with the
    wrong number of fields, an empty id, minutes that are missing, not a number, infinite or
    negative (with the line), a duplicated (origin, destination) pair, or no data row at all.
    """
    path = Path(path)
    raw = path.read_bytes()  # FileNotFoundError / IsADirectoryError are the caller's business
    if raw.startswith(_GZIP_MAGIC):
        raw = _gunzip(path, raw)
    if not raw.strip():
        raise DataFormatError(path, _EXPECTED_HEADER, line=1, found="un fichier vide")
    if raw.startswith(_PARQUET_MAGIC):
        return _read_parquet(path, raw)
    return _read_csv(path, raw)


def _gunzip(path: Path, raw: bytes) -> bytes:
    try:
        return gzip.decompress(raw)
    except EOFError:
        raise DataFormatError(
            path,
            "un fichier gzip complet",
            found="un flux gzip tronqué (téléchargement incomplet ?)",
        ) from None
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise DataFormatError(path, "un fichier gzip valide", found=str(exc)) from None


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataFormatError(
            path,
            "du texte UTF-8 (enregistrez à nouveau le fichier en UTF-8)",
            line=line,
            found=raw[exc.start : exc.start + 4],
        ) from None


def _read_csv(path: Path, raw: bytes) -> pd.DataFrame:
    text = _decode(path, raw)
    header = text.split("\n", 1)[0].rstrip("\r")
    if not header.strip():
        raise DataFormatError(path, _EXPECTED_HEADER, line=1, found="une ligne vide")
    separator = max((",", ";", "\t"), key=header.count)
    names = [name.strip().strip('"').strip().lower() for name in header.split(separator)]
    for column in COLUMNS:
        if column not in names:
            raise DataFormatError(path, _EXPECTED_HEADER, line=1, column=column, found=header)
    try:
        with warnings.catch_warnings():
            # pandas only *warns* when some rows have more fields than the header
            warnings.simplefilter("error", pd.errors.ParserWarning)
            table = pd.read_csv(
                io.StringIO(text),
                sep=separator,
                dtype=str,
                na_filter=False,
                keep_default_na=False,
                skip_blank_lines=False,
                index_col=False,
                engine="c",
            )
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        line, saw = _first_ragged_row(text, separator, len(names))
        if line is None:
            raise DataFormatError(path, "du CSV bien formé", found=str(exc)) from None
        raise DataFormatError(
            path,
            f"{len(names)} champs séparés par {separator!r}, comme dans l'en-tête",
            line=line,
            found=f"{saw} champs",
        ) from None
    table.columns = [str(c).strip().strip('"').strip().lower() for c in table.columns]
    table = table[list(COLUMNS)]
    for column in COLUMNS:
        table[column] = table[column].str.strip()
    blank = (table["origin"] == "") & (table["destination"] == "") & (table["minutes"] == "")
    lines = np.arange(2, len(table) + 2)  # the header is line 1
    if blank.any():
        keep = ~blank.to_numpy()
        table, lines = table[keep], lines[keep]
    minutes_text = table["minutes"]
    if separator != ",":
        minutes_text = minutes_text.str.replace(",", ".", regex=False)
    return _validated(path, table, minutes_text, lines)


def _first_ragged_row(text: str, separator: str, expected: int) -> tuple[int | None, int]:
    """Line and field count of the first row with more fields than the header (slow path)."""
    reader = csv.reader(io.StringIO(text), delimiter=separator)
    next(reader, None)
    for row in reader:
        if len(row) > expected:
            return reader.line_num, len(row)
    return None, 0


def _read_parquet(path: Path, raw: bytes) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        arrow = pq.read_table(io.BytesIO(raw))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataFormatError(path, "un fichier Parquet valide", found=str(exc)) from None
    by_name = {name.strip().lower(): name for name in arrow.column_names}
    for column in COLUMNS:
        if column not in by_name:
            raise DataFormatError(
                path,
                "les colonnes Parquet origin, destination, minutes",
                column=column,
                found=", ".join(arrow.column_names),
            )
    table = pd.DataFrame(index=pd.RangeIndex(arrow.num_rows))
    for column in ("origin", "destination"):
        data = arrow.column(by_name[column])
        kind = data.type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)) and not (
            pa.types.is_integer(kind) or pa.types.is_dictionary(kind)
        ):
            raise DataFormatError(
                path, "des identifiants texte (ou entiers)", column=column, found=str(kind)
            )
        values = data.to_pandas()
        nulls = values.isna().to_numpy()
        if nulls.any():
            row = int(np.flatnonzero(nulls)[0]) + 1
            raise DataFormatError(
                path, "un identifiant non vide", line=row, column=column, found="null"
            )
        table[column] = values.astype(str).str.strip().to_numpy()
    minutes = arrow.column(by_name["minutes"])
    if not (pa.types.is_integer(minutes.type) or pa.types.is_floating(minutes.type)) and not (
        pa.types.is_decimal(minutes.type) or pa.types.is_string(minutes.type)
    ):
        raise DataFormatError(
            path, "des minutes numériques", column="minutes", found=str(minutes.type)
        )
    minutes_values = minutes.to_pandas()
    table["minutes"] = minutes_values.to_numpy()
    return _validated(path, table, minutes_values, np.arange(1, arrow.num_rows + 1))


def _is_empty(value: object) -> bool:
    if value is None or (isinstance(value, str) and not value):
        return True
    return isinstance(value, float) and np.isnan(value)


def _validated(
    path: Path, table: pd.DataFrame, minutes_text: pd.Series, lines: np.ndarray
) -> pd.DataFrame:
    """Check ids, minutes and uniqueness; ``lines[k]`` is the file line of row ``k``."""
    if len(table) == 0:
        raise DataFormatError(
            path, "au moins une ligne de données", line=2, found="seulement un en-tête"
        )
    for column in ("origin", "destination"):
        empty = (table[column] == "").to_numpy()
        if empty.any():
            k = int(np.flatnonzero(empty)[0])
            raise DataFormatError(
                path, "un identifiant non vide", line=int(lines[k]), column=column, found=""
            )
    minutes = pd.to_numeric(pd.Series(minutes_text).reset_index(drop=True), errors="coerce")
    minutes = minutes.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(minutes) | (minutes < 0)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        found = table["minutes"].iloc[k]
        raise DataFormatError(
            path,
            "un nombre de minutes >= 0",
            line=int(lines[k]),
            column="minutes",
            found="(vide)" if _is_empty(found) else found,
        )
    result = pd.DataFrame(
        {
            "origin": table["origin"].astype(str).to_numpy(),
            "destination": table["destination"].astype(str).to_numpy(),
            "minutes": minutes,
        }
    )
    result["origin"] = result["origin"].astype(str)
    result["destination"] = result["destination"].astype(str)
    duplicated = result.duplicated(["origin", "destination"]).to_numpy()
    if duplicated.any():
        k = int(np.flatnonzero(duplicated)[0])
        origin, destination = result["origin"].iloc[k], result["destination"].iloc[k]
        same = (result["origin"] == origin) & (result["destination"] == destination)
        first = int(lines[int(np.flatnonzero(same.to_numpy())[0])])
        raise DataFormatError(
            path,
            "une ligne par couple (origin, destination)",
            line=int(lines[k]),
            found=f"{origin} -> {destination} de nouveau (déjà à la ligne {first})",
        )
    return result
