"""RPPS ``PS_LibreAcces_Personne_activite`` extracts."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from maillage.opendata import rpps
from maillage.opendata.errors import DataFormatError
from maillage.opendata.nomenclatures import profession_group

from .conftest import FIXTURES, check_error, replace_field, write_lines

EXTRACT = FIXTURES / "PS_LibreAcces_Personne_activite_extrait.txt"


def extract_lines() -> list[str]:
    return EXTRACT.read_text("utf-8").splitlines()


def test_fixture_is_in_the_official_layout():
    lines = extract_lines()
    assert lines[0] == "|".join(rpps.HEADER) + "|"
    assert all(line.endswith("|") and line.count("|") == 56 for line in lines)
    assert 8 <= len(lines) - 1 <= 15


def test_read_extract():
    frame = rpps.read_rpps_activities(EXTRACT)
    assert list(frame.columns) == list(rpps.COLUMNS)
    assert list(frame.columns[:23]) == [
        "rpps",
        "title",
        "family_name",
        "given_name",
        "profession_code",
        "profession_label",
        "category_code",
        "specialty_type_code",
        "specialty_code",
        "specialty_label",
        "mode_code",
        "mode_label",
        "siret",
        "finess_site",
        "finess_ej",
        "structure_name",
        "address",
        "postal_code",
        "commune_code",
        "city",
        "phone",
        "email",
        "departement",
    ]
    assert len(frame) == 12 and frame["rpps"].nunique() == 11
    assert (frame["rpps"].str.len() == 11).all()
    assert (frame["national_id"] == "8" + frame["rpps"]).all()
    assert all(str(dtype) == "string" for dtype in frame.dtypes)
    alice = frame.iloc[0]
    assert (alice["title"], alice["given_name"], alice["specialty_code"]) == ("DR", "Alice", "SM54")
    assert alice["address"] == "1 Rue DE L'EXEMPLE" and alice["city"] == "Saint-Dizier"
    assert alice["commune_code"] == "52448" and alice["departement"] == "52"
    assert pd.isna(alice["siret"]) and pd.isna(alice["finess_site"])
    assert "Gaëlle" in set(frame["given_name"])
    groups = [
        profession_group(p, s)
        for p, s in zip(frame["profession_code"], frame["specialty_code"], strict=True)
    ]
    assert groups.count("medecin_generaliste") == 4  # Alice, Bruno (two sites), Claire
    assert {"pediatre", "psychiatre", "cardiologue", "infirmier", "pharmacien"} <= set(groups)
    salaried = frame[frame["mode_code"] == "S"]
    assert set(salaried["finess_site"]) == {"529999003", "529999005"}


def test_gzip_extract(tmp_path):
    path = tmp_path / "extract.txt.gz"
    path.write_bytes(gzip.compress(EXTRACT.read_bytes()))
    assert len(rpps.read_rpps_activities(path)) == 12


def test_legacy_layout_without_role_and_activity_kind(tmp_path):
    lines = ["|".join(line.split("|")[:52]) + "|" for line in extract_lines()]
    frame = rpps.read_rpps_activities(write_lines(tmp_path / "old.txt", lines))
    assert len(frame) == 12 and frame["activity_kind_code"].isna().all()


def test_adeli_line_has_no_rpps(tmp_path):
    lines = extract_lines()
    line = replace_field(lines[7], 0, "0", sep="|")
    line = replace_field(line, 1, "520012345", sep="|")
    lines[7] = replace_field(line, 2, "0520012345", sep="|")
    frame = rpps.read_rpps_activities(write_lines(tmp_path / "adeli.txt", lines))
    assert pd.isna(frame["rpps"][6]) and frame["national_id"][6] == "0520012345"


def test_changed_header(tmp_path):
    lines = extract_lines()
    lines[0] = lines[0].replace("Code profession|", "Code de la profession|")
    path = write_lines(tmp_path / "extract.txt", lines)
    with pytest.raises(DataFormatError) as info:
        rpps.read_rpps_activities(path)
    check_error(info.value, path, line=1, column="Code profession", expected="en-tête officiel")


def test_national_id_must_be_8_plus_rpps(tmp_path):
    lines = extract_lines()
    lines[5] = replace_field(lines[5], 2, "819999000099", sep="|")
    path = write_lines(tmp_path / "extract.txt", lines)
    with pytest.raises(DataFormatError) as info:
        rpps.read_rpps_activities(path)
    check_error(
        info.value,
        path,
        line=6,
        column="Identification nationale PP",
        expected="type d'identifiant suivi de l'identifiant (819999000004)",
    )


def test_rpps_of_ten_digits(tmp_path):
    lines = extract_lines()
    lines[3] = replace_field(
        replace_field(lines[3], 1, "1999900002", sep="|"), 2, "81999900002", "|"
    )
    path = write_lines(tmp_path / "extract.txt", lines)
    with pytest.raises(DataFormatError) as info:
        rpps.read_rpps_activities(path)
    check_error(info.value, path, line=4, column="Identifiant PP")


def test_missing_trailing_pipe(tmp_path):
    lines = extract_lines()
    lines[9] = lines[9][:-1]
    path = write_lines(tmp_path / "extract.txt", lines)
    with pytest.raises(DataFormatError) as info:
        rpps.read_rpps_activities(path)
    check_error(info.value, path, line=10, expected="se termine par le séparateur '|'")


def test_missing_field(tmp_path):
    lines = extract_lines()
    fields = lines[4].split("|")
    lines[4] = "|".join(fields[:18] + fields[19:])  # "Libellé mode exercice" left out
    path = write_lines(tmp_path / "extract.txt", lines)
    with pytest.raises(DataFormatError) as info:
        rpps.read_rpps_activities(path)
    check_error(info.value, path, line=5, expected="56 champs séparés par '|'")


def test_bad_postal_code_in_france(tmp_path):
    lines = extract_lines()
    lines[2] = replace_field(lines[2], 35, "5200", sep="|")
    path = write_lines(tmp_path / "extract.txt", lines)
    with pytest.raises(DataFormatError) as info:
        rpps.read_rpps_activities(path)
    check_error(info.value, path, line=3, column="Code postal (coord. structure)")


def test_pre_2020_cp1252_extract(tmp_path):
    path = write_lines(tmp_path / "extract.txt", extract_lines(), encoding="cp1252")
    with pytest.raises(DataFormatError) as info:
        rpps.read_rpps_activities(path)
    check_error(info.value, path, line=1, expected="Latin-1/CP1252")


def test_truncated_gzip(truncated_gzip):
    path = truncated_gzip(EXTRACT, "extract.txt.gz")
    with pytest.raises(DataFormatError, match="fichier gzip complet"):
        rpps.read_rpps_activities(path)


@pytest.mark.parametrize("block_size", [1, 2, 5, 100])
def test_blocks_make_the_same_frame(block_size):
    whole = rpps.read_rpps_activities(EXTRACT)
    blocks = list(rpps.iter_rpps_activities(EXTRACT, block_size=block_size))
    assert [len(block) for block in blocks[:-1]] == [block_size] * (len(blocks) - 1)
    assert len(blocks) == -(-len(whole) // block_size)  # 12 lines
    pd.testing.assert_frame_equal(pd.concat(blocks, ignore_index=True), whole)


def test_error_in_a_later_block_names_its_line_in_the_file(tmp_path):
    lines = extract_lines()
    lines[10] = replace_field(lines[10], 35, "5200", sep="|")  # line 11, in the fourth block
    path = write_lines(tmp_path / "extract.txt", lines)
    read = []
    with pytest.raises(DataFormatError) as info:
        for block in rpps.iter_rpps_activities(path, block_size=3):
            read.append(block)
    check_error(info.value, path, line=11, column="Code postal (coord. structure)")
    assert [len(block) for block in read] == [3, 3, 3]


@pytest.mark.parametrize("column", ["Nom d'exercice", "Prénom d'exercice"])
def test_a_name_that_differs_from_an_earlier_block_is_refused(tmp_path, column):
    lines = extract_lines()
    index = lines[0].split("|").index(column)
    first = lines[1].split("|")
    lines.append(replace_field(lines[1], index, "AUTRE", sep="|"))  # line 14, block 7
    path = write_lines(tmp_path / "extract.txt", lines)
    with pytest.raises(DataFormatError) as info:
        for _block in rpps.iter_rpps_activities(path, block_size=2):
            pass
    message = check_error(info.value, path, line=len(lines), column=column)
    assert f"de l'identifiant {first[1]} (la ligne 2 indique {first[index]!r})" in message
    # the same name on a line of a later block is accepted
    lines[-1] = replace_field(lines[1], 35, "52000", sep="|")
    path = write_lines(tmp_path / "extract.txt", lines)
    assert sum(len(b) for b in rpps.iter_rpps_activities(path, block_size=2)) == len(lines) - 1


def test_encoding_error_in_a_later_chunk_names_its_line(tmp_path, monkeypatch):
    from maillage.opendata import _validate

    monkeypatch.setattr(_validate, "_STREAM_CHUNK", 8)  # a few lines at a time
    path = tmp_path / "extract.txt"
    path.write_bytes("a|b\n1|2\n3|4\n5|6\n7|Hélène\n".encode("cp1252"))
    with pytest.raises(DataFormatError) as info:
        list(_validate.stream_lines(path))
    check_error(info.value, path, line=5, expected="Latin-1/CP1252")
    path.write_bytes("a|b\n1|2\n3|4\n5|6\n7|Hélène\n".encode() + b"8|\x81\n")
    with pytest.raises(DataFormatError) as info:
        list(_validate.stream_lines(path))
    check_error(info.value, path, line=6, expected="l'octet 0x81")
    path.write_bytes("a|b\n1|Hélène\n".encode())
    assert list(_validate.stream_lines(path)) == ["a|b\n", "1|Hélène\n"]
