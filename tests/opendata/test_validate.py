"""The shared validation layer: encodings, gzip, CSV shape and the declarative schema."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from maillage.opendata._validate import Column, read_csv, read_text
from maillage.opendata.errors import DataFormatError

from .conftest import check_error, write_lines

SCHEMA = [
    Column("code", "code", pattern=r"\d{5}|2[AB]\d{3}", expected="a commune code"),
    Column("nom", "name"),
    Column("population", "population", kind="int", min=0),
    Column("part", "share", kind="float", required=False, min=0, max=100),
    Column("date", "day", kind="date", required=False),
]
GOOD = [
    "code,nom,population,part,date",
    "01001,L'Abergement-Clémenciat,860,12.5,2024-01-31",
    "2A004,Ajaccio,73000,,",
]


def test_typed_output_keeps_codes_as_strings(tmp_path):
    frame = read_csv(write_lines(tmp_path / "t.csv", GOOD), SCHEMA)
    assert frame["code"].tolist() == ["01001", "2A004"]
    assert str(frame["code"].dtype) == "string"
    assert str(frame["population"].dtype) == "Int64"
    assert frame["share"].dtype == "float64" and pd.isna(frame["share"][1])
    assert str(frame["day"].dtype) == "datetime64[s]" and pd.isna(frame["day"][1])


def test_gzip_is_detected_by_content_and_bom_is_dropped(tmp_path):
    path = tmp_path / "no-suffix"
    path.write_bytes(gzip.compress(("\ufeff" + "\n".join(GOOD)).encode()))
    assert read_csv(path, SCHEMA)["name"][1] == "Ajaccio"


def test_truncated_gzip(tmp_path):
    data = gzip.compress(("\n".join(GOOD * 200)).encode())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError) as info:
        read_text(path)
    check_error(info.value, path, expected="fichier gzip complet")


def test_gz_name_without_gzip_content(tmp_path):
    path = write_lines(tmp_path / "plain.csv.gz", GOOD)
    with pytest.raises(DataFormatError, match="compressées par gzip"):
        read_text(path)


def test_latin1_file_is_named_as_such(tmp_path):
    path = write_lines(tmp_path / "latin1.csv", GOOD, encoding="latin-1")
    with pytest.raises(DataFormatError) as info:
        read_csv(path, SCHEMA)
    message = check_error(info.value, path, line=2, expected="texte UTF-8")
    assert "Latin-1/CP1252" in message
    assert "Clémenciat" in message  # the offending text, decoded for the reader


def test_missing_column(tmp_path):
    lines = [line.rsplit(",", 1)[0] for line in GOOD]  # drop "date"
    path = write_lines(tmp_path / "t.csv", lines)
    with pytest.raises(DataFormatError) as info:
        read_csv(path, SCHEMA)
    check_error(info.value, path, line=1, column="date", expected="une colonne nommée 'date'")


@pytest.mark.parametrize(
    ("row", "column", "expected"),
    [
        ("1001,X,1,,", "code", "a commune code"),
        ("01001,,1,,", "nom", "obligatoire"),
        ("01001,X,1.5,,", "population", "un nombre entier"),
        ("01001,X,-3,,", "population", "d'au moins 0"),
        ("01001,X,3,12;5,", "part", "point décimal"),
        ("01001,X,3,101,", "part", "entre 0 et 100"),
        ("01001,X,3,nan,", "part", "un nombre"),
        ("01001,X,3,,31/01/2024", "date", "AAAA-MM-JJ"),
        ("01001,X,3,,2024-02-30", "date", "existe au calendrier"),
    ],
)
def test_bad_value_names_line_column_and_expectation(tmp_path, row, column, expected):
    path = write_lines(tmp_path / "t.csv", [*GOOD, GOOD[1], row])
    with pytest.raises(DataFormatError) as info:
        read_csv(path, SCHEMA)
    check_error(info.value, path, line=5, column=column, expected=expected)


def test_wrong_number_of_fields(tmp_path):
    path = write_lines(tmp_path / "t.csv", [*GOOD, "01002,Y,5"])
    with pytest.raises(DataFormatError) as info:
        read_csv(path, SCHEMA)
    check_error(info.value, path, line=4, expected="5 champs")


def test_line_numbers_count_quoted_newlines(tmp_path):
    rows = [*GOOD, '01002,"Two\nlines",5,,', "01003,Z,-1,,"]
    path = write_lines(tmp_path / "t.csv", rows)
    with pytest.raises(DataFormatError) as info:
        read_csv(path, SCHEMA)
    check_error(info.value, path, line=6, column="population")


def test_duplicate_key_points_at_both_lines(tmp_path):
    path = write_lines(tmp_path / "t.csv", [*GOOD, GOOD[1]])
    with pytest.raises(DataFormatError) as info:
        read_csv(path, SCHEMA, unique=["code"])
    check_error(info.value, path, line=4, column="code", expected="déjà à la ligne 2")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(DataFormatError) as info:
        read_csv(path, SCHEMA)
    check_error(info.value, path, line=1, expected="en-tête")
