"""Shared validation for the open-data readers: one way to read, check and type a file.

Every reader goes through the same three steps, so that a coordinator gets the same kind of error
whatever the format:

1. :func:`read_text` reads the bytes (plain or gzip, detected by content), refuses a truncated
   gzip stream, and decodes strict UTF-8, telling apart the Latin-1/CP1252 files that French
   administrations still publish.
2. The file is parsed (:func:`read_csv_table` for delimited text, :func:`load_json` for JSON),
   keeping the line of every row so that errors can point at it.
3. A small declarative schema (:class:`Column`: name in the file, name in the DataFrame, kind,
   required, regex, range, choices) is checked on the *whole* file before anything is returned,
   and the values are converted to typed pandas columns.

The first problem found raises one :class:`~maillage.opendata.errors.DataFormatError` naming the
file, the line, the column and what was expected.

Typed output conventions (the same for every reader):

- text and codes: pandas ``string`` dtype, missing = ``<NA>``; codes are never converted to numbers,
  so leading zeros and Corsican codes ("2A004") survive;
- integers: ``Int64`` (nullable); numbers: ``float64`` (missing = NaN);
- dates: ``datetime64[s]`` (second resolution, so that the odd typo year 0201 of a real register
  stays representable instead of crashing the reader).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import operator
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal, NoReturn

import numpy as np
import pandas as pd
import pyarrow as pa

from .errors import DataFormatError

PathLike = str | Path

# --- Code patterns shared by the readers (regular expressions matched in full) ---------------
COMMUNE_CODE = r"\d{5}|2[AB]\d{3}"
COMMUNE_CODE_TEXT = 'un code commune INSEE de 5 caractères comme "01001" ou "2A004"'
DEPARTEMENT_CODE = r"\d{2}|2[AB]|9[78]\d"
DEPARTEMENT_CODE_TEXT = 'un code département INSEE comme "01", "2A" ou "974"'
REGION_CODE = r"\d{2}|9[78]\d"
REGION_CODE_TEXT = 'un code région INSEE comme "44" ou "01"'
POSTAL_CODE = r"\d{5}"
POSTAL_CODE_TEXT = 'un code postal de 5 chiffres comme "52100"'
FINESS_CODE = r"\d{9}|2[AB]\d{7}"
FINESS_CODE_TEXT = 'un numéro FINESS de 9 caractères comme "010000024" ou "2A0000014"'
SIRET_CODE = r"\d{14}"
SIRET_CODE_TEXT = "un numéro SIRET de 14 chiffres"
SIREN_CODE = r"\d{9}"
SIREN_CODE_TEXT = "un numéro SIREN de 9 chiffres"

_INT_RE = r"[+-]?\d+"
_FLOAT_RE = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_DATE_RE = r"\d{4}-\d{2}-\d{2}"

Kind = Literal["str", "int", "float", "date", "str_list"]


@dataclass(frozen=True)
class Column:
    """One column (CSV) or field (JSON) of an official format, and how to check it.

    ``source`` is the name in the file, ``name`` the English snake_case name in the DataFrame.
    ``pattern`` is a regex the whole value must match (codes); ``expected`` says in words what the
    pattern means, for the error message. ``min``/``max`` bound numbers; ``choices`` lists the
    allowed values. ``na_values`` are spellings of "missing" used by the publisher (e.g.
    CartoSanté's "N/A - secret statistique"), read as missing. ``str_list`` (JSON only) is a list
    of strings, returned ';'-joined. ``may_be_absent`` marks a column that older layouts of a
    format lack: it is then returned as all-missing instead of refusing the file.
    """

    source: str
    name: str
    kind: Kind = "str"
    required: bool = True
    pattern: str | None = None
    expected: str | None = None
    min: float | None = None
    max: float | None = None
    choices: frozenset[str] | None = None
    na_values: tuple[str, ...] = ()
    may_be_absent: bool = False
    max_length: int | None = None

    def describe(self) -> str:
        """The expectation, in words, used in error messages."""
        if self.expected:
            text = self.expected
        elif self.choices is not None:
            text = "l'une des valeurs " + ", ".join(repr(c) for c in sorted(self.choices))
        elif self.kind == "int":
            text = "un nombre entier"
        elif self.kind == "float":
            text = "un nombre écrit avec un point décimal '.'"
        elif self.kind == "date":
            text = "une date écrite AAAA-MM-JJ"
        elif self.kind == "str_list":
            text = "une liste de textes"
        elif self.pattern:
            text = f"une valeur conforme au motif {self.pattern}"
        else:
            text = "un texte"
        bounds = _bounds_text(self.min, self.max)
        return f"{text} {bounds}" if bounds else text


def _bounds_text(low: float | None, high: float | None) -> str:
    def fmt(x: float) -> str:
        return f"{x:g}"

    if low is not None and high is not None:
        return f"entre {fmt(low)} et {fmt(high)}"
    if low is not None:
        return f"d'au moins {fmt(low)}"
    if high is not None:
        return f"d'au plus {fmt(high)}"
    return ""


# --- Reading bytes and text ------------------------------------------------------------------
def read_text(path: PathLike) -> str:
    """The whole file as text: gunzipped if it is gzip data, decoded as strict UTF-8.

    Gzip is recognised by its magic bytes, not by the name, so a renamed file still reads; a file
    named ``.gz`` that is not gzip is refused. A leading UTF-8 byte-order mark is dropped (Excel
    writes one). Anything that is not valid UTF-8 raises, and when the bytes decode as CP1252 the
    message says so, because that is the usual cause with French administrative files.
    """
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except _GZIP_ERRORS as exc:
            raise _gzip_error(path, exc) from None
    elif str(path).lower().endswith(".gz"):
        raise DataFormatError(
            path, "des données compressées par gzip (le nom finit par .gz)", found=raw[:16]
        )
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _encoding_error(path, raw, exc) from None


def _encoding_error(
    path: PathLike,
    raw: bytes,
    exc: UnicodeDecodeError,
    *,
    lines_before: int = 0,
    looks_legacy: Callable[[], bool] | None = None,
) -> DataFormatError:
    """The error for undecodable bytes. ``raw`` is the whole file, or (streaming) a run of
    whole lines that follows ``lines_before`` lines; ``looks_legacy`` then says whether the
    whole file decodes as CP1252 (by default: whether ``raw`` does)."""
    line = lines_before + raw.count(b"\n", 0, exc.start) + 1
    line_start = raw.rfind(b"\n", 0, exc.start) + 1
    line_end = raw.find(b"\n", exc.start)
    line_end = len(raw) if line_end == -1 else line_end
    start = max(line_start, exc.start - 30)
    snippet = raw[start:line_end].decode("cp1252", errors="replace").rstrip("\r")
    if looks_legacy is None:
        looks_legacy = partial(_decodes_as_cp1252, [raw])
    if looks_legacy():
        expected = (
            "du texte UTF-8 ; ce fichier semble encodé en Latin-1/CP1252 (comme beaucoup de "
            "fichiers de données ouvertes français) : convertissez-le, par exemple iconv -f "
            "CP1252 -t UTF-8"
        )
    else:
        expected = f"du texte UTF-8 (l'octet 0x{raw[exc.start]:02x} n'est pas de l'UTF-8 valide)"
    return DataFormatError(path, expected, line=line, found=snippet)


def _decodes_as_cp1252(chunks: Iterable[bytes]) -> bool:
    try:
        for chunk in chunks:
            chunk.decode("cp1252")  # one byte per character: chunks decode independently
    except UnicodeDecodeError:
        return False
    return True


_GZIP_ERRORS = (EOFError, OSError, zlib.error)
_STREAM_CHUNK = 1 << 22  # bytes of whole lines decoded at once when streaming a file


def _gzip_error(path: PathLike, exc: BaseException) -> DataFormatError:
    return DataFormatError(
        path,
        "un fichier gzip complet (le flux est tronqué ou corrompu : téléchargez-le à nouveau)",
        found=str(exc),
    )


def _raw_chunks(path: PathLike) -> Iterator[bytes]:
    """The file's bytes in runs of whole lines (about 4 MB each): gunzipped if it is gzip data,
    the BOM dropped (see :func:`read_text`)."""
    with Path(path).open("rb") as handle:
        magic = handle.read(2)
        handle.seek(0)
        if magic == b"\x1f\x8b":
            stream: io.BufferedIOBase = gzip.GzipFile(fileobj=handle, mode="rb")
        elif str(path).lower().endswith(".gz"):
            raise DataFormatError(
                path,
                "des données compressées par gzip (le nom finit par .gz)",
                found=handle.read(16),
            )
        else:
            stream = handle
        first = True
        while True:
            try:
                lines = stream.readlines(_STREAM_CHUNK)
            except _GZIP_ERRORS as exc:
                raise _gzip_error(path, exc) from None
            if not lines:
                return
            raw = b"".join(lines)
            if first and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            first = False
            yield raw


def stream_lines(path: PathLike) -> Iterator[str]:
    """The file's lines (line ends kept), read as :func:`read_text` reads it — gzip detected by
    content, BOM dropped, strict UTF-8 with the same errors — without holding the whole file:
    a few megabytes are decoded at a time."""
    lines_before = 0
    for raw in _raw_chunks(path):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _encoding_error(
                path,
                raw,
                exc,
                lines_before=lines_before,
                looks_legacy=lambda: _decodes_as_cp1252(_raw_chunks(path)),
            ) from None
        lines_before += raw.count(b"\n")
        yield from io.StringIO(text, newline="")


# --- Delimited text ----------------------------------------------------------------------------
@dataclass
class CsvTable:
    """A validated delimited file: the typed frame and the file line of each row.

    Readers use :meth:`fail` for their own cross-column rules, so that those errors point at the
    right line like the schema checks do.
    """

    path: str
    frame: pd.DataFrame
    lines: np.ndarray
    sources: dict[str, str]

    def fail(self, position: int, column: str, expected: str, found: object = None) -> NoReturn:
        """Raise for row ``position`` (0-based in ``frame``); ``column`` is the DataFrame name."""
        raise DataFormatError(
            self.path,
            expected,
            line=int(self.lines[position]),
            column=self.sources.get(column, column),
            found=found,
        )


def read_csv_table(
    path: PathLike,
    columns: Sequence[Column],
    *,
    sep: str = ",",
    quoting: bool = True,
    trailing_separator: bool = False,
    unique: Sequence[str] = (),
    exact_header: Sequence[Sequence[str]] | None = None,
) -> CsvTable:
    """Read and validate a delimited text file with a header line.

    ``columns`` lists the columns to keep (others in the file are ignored, unless
    ``exact_header`` gives the only header layouts accepted). ``trailing_separator`` is for
    formats whose every line ends with the separator (RPPS extracts). ``unique`` names DataFrame
    columns whose combined values must not repeat. ``quoting=False`` reads quote characters as
    ordinary text (formats that never quote).
    """
    text = read_text(path)
    kept: dict[str, int] = {}  # source column -> position among the kept fields
    on_header = _header_check(path, columns, exact_header, kept)
    rows, lines = _split_rows(path, text, sep, quoting, trailing_separator, on_header)
    del text
    table = _typed_table(path, columns, rows, lines, kept)
    del rows
    if unique:
        check_unique(table, unique)
    return table


def iter_csv_tables(
    path: PathLike,
    columns: Sequence[Column],
    *,
    block_size: int,
    sep: str = ",",
    quoting: bool = True,
    trailing_separator: bool = False,
    exact_header: Sequence[Sequence[str]] | None = None,
) -> Iterator[CsvTable]:
    """:func:`read_csv_table` for files too large to hold: the file is streamed and validated
    ``block_size`` rows at a time, each block a :class:`CsvTable` whose ``lines`` are the
    absolute line numbers in the file (errors are the same as :func:`read_csv_table`'s, found
    block by block). At least one block is yielded, empty for a file with only its header.
    Checks that span blocks (like ``unique``) are the caller's.
    """
    kept: dict[str, int] = {}
    on_header = _header_check(path, columns, exact_header, kept)
    blocks = _row_blocks(
        path, stream_lines(path), sep, quoting, trailing_separator, on_header, block_size
    )
    for rows, lines in blocks:
        yield _typed_table(path, columns, rows, lines, kept)


def _header_check(
    path: PathLike,
    columns: Sequence[Column],
    exact_header: Sequence[Sequence[str]] | None,
    kept: dict[str, int],
) -> Callable[[list[str]], list[int]]:
    """The ``on_header`` of :func:`_row_blocks`: checks the header, fills ``kept`` (source
    column -> position among the kept fields) and returns the indexes of the fields to keep."""

    def on_header(header: list[str]) -> list[int]:
        if exact_header is not None:
            _check_exact_header(path, header, exact_header)
        positions = _header_positions(path, header, columns)
        wanted = [c.source for c in columns if c.source in positions]
        kept.update({source: k for k, source in enumerate(wanted)})
        return [positions[source] for source in wanted]

    return on_header


def _typed_table(
    path: PathLike,
    columns: Sequence[Column],
    rows: list[tuple[str, ...]],
    lines: list[int],
    kept: dict[str, int],
) -> CsvTable:
    """Check and type split rows (``lines``: their line numbers in the file)."""
    frame = pd.DataFrame(index=pd.RangeIndex(len(rows)))
    line_array = np.asarray(lines, dtype=np.int64)
    by_column = list(zip(*rows, strict=True)) if rows else [()] * len(kept)
    for column in columns:
        if column.source not in kept:  # a may_be_absent column of an older layout
            missing = _string_series([""] * len(line_array))
            frame[column.name] = _convert_text_column(path, column, missing, line_array)
            continue
        values = _string_series(by_column[kept[column.source]])
        frame[column.name] = _convert_text_column(path, column, values, line_array)
    return CsvTable(str(path), frame, line_array, {c.name: c.source for c in columns})


def _string_series(values: Sequence[str]) -> pd.Series:
    """A pandas ``string`` Series built through Arrow (several times faster than from a list)."""
    return pd.Series(pd.array(pa.array(values, type=pa.string()), dtype="string"))


def read_csv(path: PathLike, columns: Sequence[Column], **options: Any) -> pd.DataFrame:
    """Like :func:`read_csv_table`, returning only the typed DataFrame."""
    return read_csv_table(path, columns, **options).frame


def _split_rows(
    path: PathLike,
    text: str,
    sep: str,
    quoting: bool,
    trailing_separator: bool,
    on_header: Callable[[list[str]], list[int]],
) -> tuple[list[tuple[str, ...]], list[int]]:
    """Split the whole text into rows (see :func:`_row_blocks`), as one block."""
    source = io.StringIO(text, newline="")
    return next(_row_blocks(path, source, sep, quoting, trailing_separator, on_header, None))


def _row_blocks(
    path: PathLike,
    source: Iterable[str],
    sep: str,
    quoting: bool,
    trailing_separator: bool,
    on_header: Callable[[list[str]], list[int]],
    block_size: int | None,
) -> Iterator[tuple[list[tuple[str, ...]], list[int]]]:
    """Split lines into rows, checking the field count of each against the header; yield them
    ``block_size`` rows at a time (all at once for None) with the file line of each row. At
    least one block is yielded (empty when the file holds only its header).

    ``on_header`` checks the header and returns the indexes of the fields to keep, so that large
    files (a national RPPS extract has millions of lines) only hold the columns a reader uses.
    """
    reader = csv.reader(
        source,
        delimiter=sep,
        quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE,
        strict=True,
    )
    width: int | None = None
    pick: Callable[[list[str]], tuple[str, ...]] = _picker([])
    rows: list[tuple[str, ...]] = []
    lines: list[int] = []
    yielded = False
    previous_end = 0
    try:
        for row in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if trailing_separator:
                if row[-1] != "":
                    raise DataFormatError(
                        path,
                        f"que chaque ligne se termine par le séparateur {sep!r}",
                        line=start,
                        found=row[-1],
                    )
                row = row[:-1]
            if width is None:
                if start != 1:
                    raise DataFormatError(path, "l'en-tête sur la première ligne", line=1, found="")
                header = [name.strip() for name in row]
                duplicates = sorted({name for name in header if header.count(name) > 1})
                if duplicates:
                    raise DataFormatError(
                        path,
                        "des noms de colonnes présents une seule fois dans l'en-tête",
                        line=1,
                        found=duplicates[0],
                    )
                keep = on_header(header)
                pick = _picker(keep)
                width = len(header)
                continue
            if len(row) != width:
                raise DataFormatError(
                    path,
                    f"{width} champs séparés par {sep!r}, comme dans l'en-tête",
                    line=start,
                    found=f"{len(row)} champs",
                )
            rows.append(pick(row))
            lines.append(start)
            if block_size is not None and len(rows) >= block_size:
                yield rows, lines
                yielded = True
                rows, lines = [], []
    except csv.Error as exc:
        raise DataFormatError(
            path, "des guillemets bien formés", line=reader.line_num, found=str(exc)
        ) from None
    if width is None:
        raise DataFormatError(path, "une ligne d'en-tête (le fichier est vide)", line=1)
    if rows or not yielded:
        yield rows, lines


def _picker(indexes: list[int]) -> Callable[[list[str]], tuple[str, ...]]:
    """A fast function returning the fields at ``indexes`` of a row, always as a tuple."""
    if not indexes:
        return lambda row: ()
    if len(indexes) == 1:
        (only,) = indexes
        return lambda row: (row[only],)
    return operator.itemgetter(*indexes)


def _check_exact_header(
    path: PathLike, header: list[str], layouts: Sequence[Sequence[str]]
) -> None:
    if any(list(layout) == header for layout in layouts):
        return
    # Point at the first difference with the closest layout (the one of the same length first).
    layout = min(layouts, key=lambda lay: (len(lay) != len(header), -len(lay)))
    for i, expected in enumerate(layout):
        if i >= len(header) or header[i] != expected:
            found = header[i] if i < len(header) else "(fin de l'en-tête)"
            raise DataFormatError(
                path,
                f"la colonne {expected!r} en position {i + 1} de l'en-tête officiel",
                line=1,
                column=expected,
                found=found,
            )
    raise DataFormatError(
        path,
        f"les {len(layout)} colonnes de l'en-tête officiel",
        line=1,
        found=f"{len(header)} colonnes, dont {header[len(layout)]!r} en trop",
    )


def _header_positions(
    path: PathLike, header: list[str], columns: Sequence[Column]
) -> dict[str, int]:
    positions = {name: i for i, name in enumerate(header)}
    for column in columns:
        if column.source not in positions and not column.may_be_absent:
            raise DataFormatError(
                path,
                f"une colonne nommée {column.source!r} dans la ligne d'en-tête",
                line=1,
                column=column.source,
                found=",".join(header),
            )
    return positions


def _first(mask: pd.Series) -> int:
    return int(np.flatnonzero(mask.fillna(False).to_numpy(dtype=bool))[0])


def _convert_text_column(
    path: PathLike, column: Column, values: pd.Series, lines: np.ndarray
) -> pd.Series:
    """Check one column of raw strings and return it typed."""

    def fail(position: int, expected: str) -> NoReturn:
        raise DataFormatError(
            path,
            expected,
            line=int(lines[position]),
            column=column.source,
            found=values.iloc[position],
        )

    nul = values.str.contains("\x00", regex=False).fillna(False).astype(bool)
    if nul.any():
        position = _first(nul)
        raise DataFormatError(
            path,
            "du texte sans octet NUL (\\x00), signe d'un fichier binaire ou corrompu",
            line=int(lines[position]),
            column=column.source,
            found=values.iloc[position].replace("\x00", "\\x00"),
        )
    if column.max_length is not None:
        long = (values.str.len() > column.max_length).fillna(False).astype(bool)
        if long.any():
            position = _first(long)
            raise DataFormatError(
                path,
                f"au plus {column.max_length} caractères",
                line=int(lines[position]),
                column=column.source,
                found=f"{len(values.iloc[position])} caractères",
            )
    empty = values == ""
    if column.na_values:
        empty |= values.isin(column.na_values)
    if column.required and empty.any():
        fail(_first(empty), f"{column.describe()} (cette colonne est obligatoire)")
    present = ~empty
    text = values.where(present, "")

    if column.kind == "str":
        if column.pattern is not None:
            bad = present & ~text.str.fullmatch(column.pattern).astype(bool)
            if bad.any():
                fail(_first(bad), column.describe())
        if column.choices is not None:
            bad = present & ~text.isin(column.choices)
            if bad.any():
                fail(_first(bad), column.describe())
        return pd.Series(values.where(present, None), dtype="string")

    if column.kind == "int":
        bad = present & ~text.str.fullmatch(_INT_RE).astype(bool)
        if bad.any():
            fail(_first(bad), column.describe())
        numbers = pd.to_numeric(text.where(present, None), errors="coerce")
        _check_range(column, numbers, present, fail)
        return numbers.astype("Int64")

    if column.kind == "float":
        bad = present & ~text.str.fullmatch(_FLOAT_RE).astype(bool)
        if bad.any():
            fail(_first(bad), column.describe())
        numbers = pd.to_numeric(text.where(present, None), errors="coerce").astype("float64")
        _check_range(column, numbers, present, fail)
        return numbers

    if column.kind == "date":
        bad = present & ~text.str.fullmatch(_DATE_RE).astype(bool)
        if bad.any():
            fail(_first(bad), column.describe())
        dates = pd.to_datetime(text.where(present, None), format="%Y-%m-%d", errors="coerce")
        bad = present & dates.isna()
        if bad.any():
            fail(_first(bad), f"{column.describe()} (une date qui existe au calendrier)")
        return dates.astype("datetime64[s]")

    raise ValueError(f"column kind {column.kind!r} is not supported in delimited files")


def _check_range(column: Column, numbers: pd.Series, present: pd.Series, fail: Any) -> None:
    if column.min is None and column.max is None:
        return
    bad = pd.Series(False, index=numbers.index)
    if column.min is not None:
        bad |= present & (numbers < column.min)
    if column.max is not None:
        bad |= present & (numbers > column.max)
    if bad.any():
        fail(_first(bad), column.describe())


def check_unique(table: CsvTable, names: Sequence[str]) -> None:
    """Refuse a repeated key, pointing at the second occurrence and naming the first."""
    key = table.frame[list(names)]
    duplicated = key.duplicated(keep="first")
    if not duplicated.any():
        return
    position = _first(duplicated)
    value = tuple(key.iloc[position])
    first = _first((key == key.iloc[position]).all(axis=1))
    label = value[0] if len(value) == 1 else value
    table.fail(
        position,
        names[0],
        f"un {'/'.join(table.sources.get(n, n) for n in names)} unique "
        f"(déjà à la ligne {int(table.lines[first])})",
        found=label,
    )


# --- JSON --------------------------------------------------------------------------------------
def load_json(path: PathLike) -> tuple[Any, str]:
    """Parse a JSON file (plain or gzip); return the value and the text (for line numbers)."""
    text = read_text(path)
    try:
        return json.loads(text), text
    except json.JSONDecodeError as exc:
        expected = "du JSON valide"
        if not text.rstrip().endswith(("]", "}")):
            expected = (
                "du JSON valide (le texte s'arrête au milieu d'une valeur : est-il tronqué ?)"
            )
        raise DataFormatError(
            path, expected, line=exc.lineno, found=f"{exc.msg}, colonne {exc.colno}"
        ) from None


class JsonLocator:
    """Names places in a JSON document for error messages: JSON path, and line when possible.

    ``array_key`` is None when the records are the top-level array, else the key of the array in
    the top-level object (e.g. ``"features"``). Lines are found only when an error occurs, by
    re-scanning the text up to the bad record, so that valid files cost nothing extra.
    """

    def __init__(self, path: PathLike, text: str | None, array_key: str | None = None) -> None:
        self.path = str(path)
        self.text = text
        self.array_key = array_key
        self.prefix = array_key or ""

    def json_path(self, index: int | None, field: str = "") -> str:
        """``features[3].properties.code``-style path to a record (or the document) and field."""
        base = "" if index is None else f"{self.prefix}[{index}]"
        if not field:
            return base or "$"
        if not base:
            return field
        return f"{base}{field}" if field.startswith("[") else f"{base}.{field}"

    def line_of(self, index: int) -> int | None:
        """The line where record ``index`` starts, or None if it cannot be located."""
        if self.text is None:
            return None
        try:
            offset = _array_item_offset(self.text, self.array_key, index)
        except (ValueError, IndexError):
            return None
        return None if offset is None else self.text.count("\n", 0, offset) + 1

    def fail(self, index: int | None, field: str, expected: str, found: object = None) -> NoReturn:
        line = None if index is None else self.line_of(index)
        raise DataFormatError(
            self.path, expected, line=line, column=self.json_path(index, field), found=found
        )


_WS = re.compile(r"[ \t\n\r]*")


def _array_item_offset(text: str, key: str | None, index: int) -> int | None:
    decoder = json.JSONDecoder()
    pos = _WS.match(text, 0).end()
    if key is not None:
        if text[pos] != "{":
            return None
        pos = _WS.match(text, pos + 1).end()
        while True:
            name, pos = decoder.raw_decode(text, pos)
            pos = _WS.match(text, pos).end()
            if text[pos] != ":":
                return None
            pos = _WS.match(text, pos + 1).end()
            if name == key:
                break
            _, pos = decoder.raw_decode(text, pos)
            pos = _WS.match(text, pos).end()
            if text[pos] != ",":
                return None
            pos = _WS.match(text, pos + 1).end()
    if text[pos] != "[":
        return None
    pos = _WS.match(text, pos + 1).end()
    for _ in range(index):
        _, pos = decoder.raw_decode(text, pos)
        pos = _WS.match(text, pos).end()
        if text[pos] != ",":
            return None
        pos = _WS.match(text, pos + 1).end()
    return pos


_MISSING = object()


def json_found(value: object) -> str:
    """A JSON value as written in the file, for the ``found`` part of a message."""
    if value is _MISSING:
        return "(absent)"
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def check_json_value(column: Column, value: object) -> str | None:
    """None if ``value`` is acceptable for ``column``, else the expectation to report."""
    if value is _MISSING or value is None or value == "" or value == []:
        return f"{column.describe()} (ce champ est obligatoire)" if column.required else None
    kind = column.kind
    if kind == "str":
        if not isinstance(value, str):
            return f"{column.describe()}, sous forme de texte JSON"
        if column.pattern is not None and not re.fullmatch(column.pattern, value):
            return column.describe()
        if column.choices is not None and value not in column.choices:
            return column.describe()
        return None
    if kind == "str_list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"{column.describe()}, sous forme de liste JSON de textes"
        if column.pattern is not None and not all(re.fullmatch(column.pattern, v) for v in value):
            return f"une liste de : {column.describe()}"
        return None
    if kind in ("int", "float"):
        ok_types = (int,) if kind == "int" else (int, float)
        if isinstance(value, bool) or not isinstance(value, ok_types):
            return f"{column.describe()}, sous forme de nombre JSON"
        if isinstance(value, float) and not math.isfinite(value):
            return column.describe()
        if (column.min is not None and value < column.min) or (
            column.max is not None and value > column.max
        ):
            return column.describe()
        return None
    if kind == "date":
        if not isinstance(value, str) or not re.fullmatch(_DATE_RE, value):
            return column.describe()
        return None
    raise ValueError(f"column kind {kind!r} is not supported in JSON")


def validate_json_records(
    locator: JsonLocator,
    records: Iterable[tuple[int, object]],
    columns: Sequence[Column],
    *,
    field_prefix: str = "",
) -> pd.DataFrame:
    """Check JSON objects field by field and return them as a typed DataFrame.

    ``records`` pairs each object with its index in the file's array (so errors name the right
    record even when a reader keeps only some of them). ``field_prefix`` is the path from the
    record to the object holding the fields (``"properties."`` for GeoJSON features).
    """
    collected: dict[str, list[Any]] = {c.name: [] for c in columns}
    holder = field_prefix.rstrip(".")
    for index, record in records:
        if not isinstance(record, Mapping):
            locator.fail(index, holder, "un objet JSON", found=json_found(record))
        for column in columns:
            value = record.get(column.source, _MISSING)
            problem = check_json_value(column, value)
            if problem is not None:
                locator.fail(index, field_prefix + column.source, problem, found=json_found(value))
            if value is _MISSING or value == "" or value == []:
                value = None
            if column.kind == "str_list" and value is not None:
                value = ";".join(value)
            collected[column.name].append(value)
    return typed_frame(collected, columns)


def typed_frame(collected: Mapping[str, list[Any]], columns: Sequence[Column]) -> pd.DataFrame:
    """Build a DataFrame with the package's dtype conventions from Python value lists."""
    data: dict[str, Any] = {}
    for column in columns:
        values = collected[column.name]
        if column.kind in ("str", "str_list"):
            data[column.name] = pd.array(values, dtype="string")
        elif column.kind == "int":
            data[column.name] = pd.array(values, dtype="Int64")
        elif column.kind == "float":
            data[column.name] = np.array(
                [np.nan if v is None else float(v) for v in values], dtype="float64"
            )
        elif column.kind == "date":
            data[column.name] = pd.to_datetime(pd.Series(values, dtype=object)).astype(
                "datetime64[s]"
            )
    return pd.DataFrame(data)
