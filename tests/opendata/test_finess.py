"""FINESS establishments and the facility kinds used by travel-time indicators."""

from __future__ import annotations

import pandas as pd
import pytest

from maillage.opendata import finess
from maillage.opendata.errors import DataFormatError

from .conftest import DATA, check_error, head_lines, replace_field, write_lines

FRANCE = DATA / "offer" / "finess_etablissements_geo_2021_france.csv.gz"
COLUMNS = [
    "finess_et",
    "finess_ej",
    "name",
    "address",
    "postal_code",
    "city",
    "departement",
    "commune_code",
    "category_code",
    "category_label",
    "aggregate_code",
    "aggregate_label",
    "ape_code",
    "sph_code",
    "sph_label",
    "siret",
    "phone",
    "opened_on",
    "updated_on",
    "latitude",
    "longitude",
]


@pytest.fixture(scope="module")
def france() -> pd.DataFrame:
    return finess.read_finess(FRANCE)


def test_columns_and_types(france):
    assert list(france.columns) == COLUMNS
    assert len(france) == 95_333
    first = france.iloc[0]
    assert first["finess_et"] == "010000024" and first["commune_code"] == "01451"
    assert first["opened_on"] == pd.Timestamp("1979-02-13")
    assert str(france["opened_on"].dtype) == "datetime64[s]"
    assert france["commune_code"].isna().sum() == 368
    assert (france["finess_et"].str.startswith("2A")).any()


def test_haute_marne(france):
    hm = france[france["departement"] == "52"]
    assert len(hm) == 334
    assert hm["latitude"].between(47.67, 48.67).all() and hm["longitude"].between(4.70, 5.75).all()
    assert hm["commune_code"].str.startswith("52").all()
    counts = {kind: len(finess.facilities_of_kind(hm, kind)) for kind in finess.FACILITY_KINDS}
    assert counts == {
        "hospital": 7,
        "emergency": 3,
        "pharmacy": 64,
        "msp": 8,
        "centre_de_sante": 6,
        "laboratory": 6,
        "ehpad": 25,
        "cpts": 1,
    }
    hospitals = finess.facilities_of_kind(hm, "hospital")["commune_code"]
    assert {"52121", "52269", "52448"} <= set(hospitals)


def test_facility_kinds_match_the_data(france):
    """Every category of every kind exists in the register, with the label it is meant for."""
    labels = france.drop_duplicates("category_code").set_index("category_code")["category_label"]
    for kind, spec in finess.FACILITY_KINDS.items():
        assert spec["categories"] <= set(labels.index), kind
        assert spec["label"] and spec["approximate"] == (spec["note"] is not None) or kind == "cpts"
    assert labels["355"] == "Centre Hospitalier (C.H.)"
    assert labels["620"] == "Pharmacie d'Officine"
    assert labels["603"] == "Maison de santé (L.6223-3)"
    assert labels["124"] == "Centre de Santé"
    assert labels["611"] == "Laboratoire de Biologie Médicale"
    assert labels["500"].startswith("Etablissement d'hébergement pour personnes âgées")
    assert finess.FACILITY_KINDS["emergency"]["approximate"]
    with pytest.raises(ValueError, match="maternités"):
        finess.facilities_of_kind(france, "maternity")


def test_implausible_overseas_coordinates_are_blanked(france):
    assert france.attrs["implausible_coordinates"] == 2045
    overseas = france[france["departement"].str.len() == 3]
    assert overseas["latitude"].isna().all()
    metro = france[france["departement"].str.len() == 2]
    assert metro["latitude"].isna().sum() == 9  # the ET without a Location upstream


def test_keeping_implausible_coordinates(tmp_path):
    lines = head_lines(FRANCE, 4)
    lines[2] = replace_field(lines[2], 20, "55.7")  # latitude of a metropolitan ET
    path = write_lines(tmp_path / "finess.csv", lines)
    assert finess.read_finess(path)["latitude"].isna().sum() == 1
    kept = finess.read_finess(path, drop_implausible_coordinates=False)
    assert kept.attrs["implausible_coordinates"] == 1 and kept["latitude"].notna().all()


def test_bad_date_on_line_n(tmp_path):
    lines = head_lines(FRANCE, 10)
    lines[6] = replace_field(lines[6], 18, "13/02/1979")
    path = write_lines(tmp_path / "finess.csv", lines)
    with pytest.raises(DataFormatError) as info:
        finess.read_finess(path)
    check_error(info.value, path, line=7, column="date_ouverture", expected="AAAA-MM-JJ")


def test_finess_number_must_keep_its_zero(tmp_path):
    lines = head_lines(FRANCE, 5)
    lines[4] = replace_field(lines[4], 0, "10000024")
    path = write_lines(tmp_path / "finess.csv", lines)
    with pytest.raises(DataFormatError) as info:
        finess.read_finess(path)
    check_error(info.value, path, line=5, column="nofinesset", expected="FINESS de 9 caractères")


def test_half_coordinates(tmp_path):
    lines = head_lines(FRANCE, 5)
    lines[3] = replace_field(lines[3], 21, "")
    path = write_lines(tmp_path / "finess.csv", lines)
    with pytest.raises(DataFormatError) as info:
        finess.read_finess(path)
    check_error(
        info.value, path, line=4, column="longitude", expected="deux données ou toutes deux vides"
    )


def test_duplicate_establishment(tmp_path):
    lines = head_lines(FRANCE, 5)
    path = write_lines(tmp_path / "finess.csv", [*lines, lines[2]])
    with pytest.raises(DataFormatError) as info:
        finess.read_finess(path)
    check_error(info.value, path, line=6, column="nofinesset", expected="déjà à la ligne 3")


def test_missing_column(tmp_path):
    lines = [",".join(line.split(",")[:-1]) for line in head_lines(FRANCE, 3)]
    path = write_lines(tmp_path / "finess.csv", lines)
    with pytest.raises(DataFormatError) as info:
        finess.read_finess(path)
    check_error(info.value, path, line=1, column="longitude")


def test_cp1252_export(tmp_path):
    lines = head_lines(FRANCE, 50)  # "Etablissement public de santé" needs an accent
    path = write_lines(tmp_path / "finess.csv", lines, encoding="cp1252")
    with pytest.raises(DataFormatError) as info:
        finess.read_finess(path)
    check_error(info.value, path, line=2, expected="Latin-1/CP1252")


def test_truncated_gzip(truncated_gzip):
    path = truncated_gzip(FRANCE, "finess.csv.gz")
    with pytest.raises(DataFormatError) as info:
        finess.read_finess(path)
    check_error(info.value, path, expected="fichier gzip complet")
