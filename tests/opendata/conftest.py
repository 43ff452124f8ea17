"""Helpers for the open-data reader tests: where the shipped data is, how to write bad files."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pytest

from maillage.opendata.errors import DataFormatError

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def head_lines(path: Path, count: int) -> list[str]:
    """The first ``count`` lines of a shipped text file (plain or gzip), without newlines."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [next(handle).rstrip("\n") for _ in range(count)]


def write_lines(path: Path, lines: list[str], *, encoding: str = "utf-8") -> Path:
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def replace_field(line: str, index: int, value: str, sep: str = ",") -> str:
    """The CSV line with field ``index`` replaced (quoting handled as in the shipped files)."""
    fields = next(csv.reader([line], delimiter=sep))
    fields[index] = value
    out = io.StringIO()
    csv.writer(out, delimiter=sep, lineterminator="").writerow(fields)
    return out.getvalue()


def check_error(
    error: DataFormatError,
    path: Path | str,
    *,
    line: int | None = None,
    column: str | None = None,
    expected: str | None = None,
) -> str:
    """Assert that the error names the file, line, column and expectation; return the message."""
    message = str(error)
    assert Path(path).name in message
    if line is not None:
        assert error.line == line, message
        assert f"ligne {line}" in message
    if column is not None:
        assert error.column == column, message
        assert repr(column) in message
    if expected is not None:
        assert expected in message, message
    return message


@pytest.fixture
def truncated_gzip(tmp_path: Path):
    """Factory: a gzip copy of a shipped file, cut in the middle of its compressed stream."""

    def make(source: Path, name: str) -> Path:
        raw = source.read_bytes()
        data = raw if raw[:2] == b"\x1f\x8b" else gzip.compress(raw)
        target = tmp_path / name
        target.write_bytes(data[: len(data) // 2])
        return target

    return make
