"""Reading travel-time tables (CSV / Parquet) with one clear error per problem."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from maillage.analytics.travel import costs_from_table
from maillage.opendata.costs import read_cost_table
from maillage.opendata.errors import DataFormatError

GOOD = "origin,destination,minutes\n01001,S1,0\n01001,S2,12.5\n52121,S1,30\n"


def write(tmp_path: Path, text: str | bytes, name: str = "costs.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def test_read_csv(tmp_path):
    table = read_cost_table(write(tmp_path, GOOD))
    assert table.columns.tolist() == ["origin", "destination", "minutes"]
    assert table["origin"].tolist() == ["01001", "01001", "52121"]  # leading zeros kept
    assert table["minutes"].tolist() == [0.0, 12.5, 30.0]
    assert str(table["minutes"].dtype) == "float64"
    costs = costs_from_table(table, max_minutes=20)
    assert costs.nnz == 2 and costs.nearest()["01001"] == 0.0


def test_read_csv_variants(tmp_path):
    # BOM, CRLF, capitalised header with spaces, extra column, blank lines, quoted ids
    text = (
        '\ufeffOrigin , Destination,Minutes,source\r\n"01001",S1,3,osrm\r\n\r\n'
        "01002,S1,4.5,osrm\r\n\r\n"
    )
    table = read_cost_table(write(tmp_path, text))
    assert table.values.tolist() == [["01001", "S1", 3.0], ["01002", "S1", 4.5]]
    # French spreadsheet: semicolons and decimal commas
    table = read_cost_table(write(tmp_path, "origin;destination;minutes\n01001;S1;12,5\n"))
    assert table["minutes"].tolist() == [12.5]
    # tabs
    table = read_cost_table(write(tmp_path, "origin\tdestination\tminutes\na\tb\t1\n"))
    assert table.values.tolist() == [["a", "b", 1.0]]


def test_read_gzip_csv(tmp_path):
    path = write(tmp_path, gzip.compress(GOOD.encode()), "costs.csv.gz")
    assert len(read_cost_table(path)) == 3


def test_read_parquet(tmp_path):
    path = tmp_path / "costs.parquet"
    pq.write_table(
        pa.table(
            {"origin": ["01001", "52121"], "destination": ["S1", "S1"], "minutes": [0.0, 7.25]}
        ),
        path,
    )
    table = read_cost_table(path)
    assert table.values.tolist() == [["01001", "S1", 0.0], ["52121", "S1", 7.25]]
    # integer ids and integer minutes are accepted (ids become strings)
    pq.write_table(pa.table({"origin": [1, 2], "destination": [10, 10], "minutes": [3, 4]}), path)
    assert read_cost_table(path).values.tolist() == [["1", "10", 3.0], ["2", "10", 4.0]]


def error(path: Path) -> DataFormatError:
    with pytest.raises(DataFormatError) as info:
        read_cost_table(path)
    return info.value


@pytest.mark.parametrize(
    "text, line, column, found",
    [
        ("origin,destination\na,b\n", 1, "minutes", "origin,destination"),
        ("origin,dest,minutes\na,b,1\n", 1, "destination", None),
        ("origin,destination,minutes\na,b,1\na,c,abc\n", 3, "minutes", "abc"),
        ("origin,destination,minutes\na,b,1\na,c,-2\n", 3, "minutes", "-2"),
        ("origin,destination,minutes\na,b,\n", 2, "minutes", "(vide)"),
        ("origin,destination,minutes\na,b,inf\n", 2, "minutes", "inf"),
        ("origin,destination,minutes\na,b,nan\n", 2, "minutes", "nan"),
        ("origin,destination,minutes\na,b,1\n,c,2\n", 3, "origin", None),
        ("origin,destination,minutes\na,b,1\n\na, ,2\n", 4, "destination", None),
        ("origin,destination,minutes\na,b,1,9\n", 2, None, "4 champs"),
        ("origin,destination,minutes\na,b,1\nc,d,1,9\n", 3, None, "4 champs"),
        ("origin,destination,minutes\na,b,1\nc,d\n", 3, "minutes", "(vide)"),
        (
            "origin,destination,minutes\na,b,1\nc,d,2\na,b,3\n",
            4,
            None,
            "a -> b de nouveau (déjà à la ligne 2)",
        ),
        ("origin,destination,minutes\n", 2, None, "seulement un en-tête"),
        ("", 1, None, "un fichier vide"),
        ("\n\n  \n", 1, None, "un fichier vide"),
        ("\norigin,destination,minutes\na,b,1\n", 1, None, "une ligne vide"),
    ],
)
def test_csv_errors(tmp_path, text, line, column, found):
    exc = error(write(tmp_path, text))
    assert exc.line == line
    assert exc.column == column
    if found is not None:
        assert exc.found == found
    assert exc.path.endswith("costs.csv")


def test_line_numbers_count_blank_lines(tmp_path):
    exc = error(write(tmp_path, "origin,destination,minutes\na,b,1\n\n\na,c,x\n"))
    assert exc.line == 5 and "ligne 5" in str(exc) and "'minutes'" in str(exc)


def test_not_utf8(tmp_path):
    latin1 = "origin,destination,minutes\na,b,1\nSaint-Étienne,b,2\n".encode("latin-1")
    exc = error(write(tmp_path, latin1))
    assert exc.line == 3 and "UTF-8" in exc.expected
    utf16 = write(tmp_path, GOOD.encode("utf-16"))
    assert "UTF-8" in error(utf16).expected


def test_truncated_and_corrupt_gzip(tmp_path):
    packed = gzip.compress((GOOD * 200).encode())
    exc = error(write(tmp_path, packed[: len(packed) // 2], "costs.csv.gz"))
    assert "tronqué" in str(exc.found)
    corrupt = bytearray(packed)
    corrupt[20:40] = b"\x00" * 20
    assert "gzip" in error(write(tmp_path, bytes(corrupt), "costs.csv.gz")).expected


def test_parquet_errors(tmp_path):
    path = tmp_path / "costs.parquet"
    pq.write_table(pa.table({"origin": ["a"], "destination": ["b"], "time": [1.0]}), path)
    assert error(path).column == "minutes"
    pq.write_table(
        pa.table({"origin": ["a", "b"], "destination": ["x", "x"], "minutes": [1.0, None]}), path
    )
    exc = error(path)
    assert (exc.line, exc.column) == (2, "minutes")
    pq.write_table(
        pa.table({"origin": ["a", "b"], "destination": ["x", "x"], "minutes": [1.0, -3.0]}), path
    )
    assert error(path).line == 2
    pq.write_table(pa.table({"origin": [1.5], "destination": ["x"], "minutes": [1.0]}), path)
    assert error(path).column == "origin"
    pq.write_table(
        pa.table({"origin": [None, "a"], "destination": ["x", "x"], "minutes": [1, 2]}), path
    )
    assert (error(path).line, error(path).column) == (1, "origin")
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])  # starts with PAR1 but is cut
    assert "Parquet" in error(path).expected


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_cost_table(tmp_path / "nope.csv")


def test_large_table_reads_quickly(tmp_path):
    n = 200_000
    frame = pd.DataFrame(
        {
            "origin": [f"{i % 34_746:05d}" for i in range(n)],
            "destination": [f"S{i // 34_746}" for i in range(n)],
            "minutes": [i % 45 + 0.5 for i in range(n)],
        }
    )
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    table = read_cost_table(path)
    assert len(table) == n and table["origin"].iloc[1] == "00001"
