"""APL (DREES), CartoSanté indicators and INSEE local statistics."""

from __future__ import annotations

import pytest

from maillage.opendata import apl, cartosante, insee
from maillage.opendata.errors import DataFormatError

from .conftest import DATA, check_error, head_lines, replace_field, write_lines

OFFER = DATA / "offer"
APL = OFFER / "apl_mg_communes_2022_2023_france.csv.gz"
CARTOSANTE = OFFER / "cartosante_bassins_vie_indicateurs_offre_2023_2024_france.csv"
INSEE = OFFER / "insee_statlocales_departements_offre_2024_france.csv"


def test_apl_2023_haute_marne():
    frame = apl.read_apl(APL)
    assert list(frame.columns) == [
        "commune_code",
        "commune_name",
        "departement",
        "year",
        "apl",
        "apl_under65",
        "pop_standardised",
        "pop_total",
        "pop_year",
    ]
    assert len(frame) == 69_918
    hm = frame[(frame["departement"] == "52") & (frame["year"] == 2023)]
    assert len(hm) == 426
    assert int(hm["pop_total"].sum()) == 171_042
    weighted = (hm["apl"] * hm["pop_standardised"]).sum() / hm["pop_standardised"].sum()
    assert weighted == pytest.approx(2.95, abs=0.005)
    assert hm.set_index("commune_code").loc["52121", "apl"] == pytest.approx(3.30, abs=0.01)
    assert (hm["pop_year"] == 2021).all()


def test_apl_negative_value(tmp_path):
    lines = head_lines(APL, 9)
    lines[8] = replace_field(lines[8], 4, "-1.2")
    path = write_lines(tmp_path / "apl.csv", lines)
    with pytest.raises(DataFormatError) as info:
        apl.read_apl(path)
    check_error(info.value, path, line=9, column="apl_mg", expected="d'au moins 0")


def test_apl_same_commune_twice_in_a_year(tmp_path):
    lines = head_lines(APL, 4)
    path = write_lines(tmp_path / "apl.csv", [*lines, lines[1]])
    with pytest.raises(DataFormatError) as info:
        apl.read_apl(path)
    check_error(info.value, path, line=5, column="code_commune", expected="déjà à la ligne 2")


def test_cartosante():
    frame = cartosante.read_cartosante_bassins(CARTOSANTE)
    assert list(frame.columns) == [
        "bv_code",
        "bv_name",
        "ophtalmo_beneficiary_share_2024",
        "apl_gp_2023",
        "speech_therapist_density_2024",
        "gp_density_2024",
        "nurse_density_2024",
        "midwife_density_2024",
        "ald_share_2024",
        "pharmacy_density_2024",
    ]
    assert len(frame) == 1709
    assert frame["apl_gp_2023"].isna().sum() == 4 and frame["ald_share_2024"].isna().sum() == 157
    assert {"977ZZ", "978ZZ"} <= set(frame["bv_code"])
    assert len(frame[frame["bv_code"].str.startswith("52")]) == 10


def test_cartosante_secret_statistique_is_missing(tmp_path):
    lines = head_lines(CARTOSANTE, 4)
    lines[2] = replace_field(lines[2], 8, "N/A - secret statistique")
    lines[3] = replace_field(lines[3], 3, "3,1")  # written "3,1" (quoted): a decimal comma
    path = write_lines(tmp_path / "cartosante.csv", lines)
    with pytest.raises(DataFormatError) as info:
        cartosante.read_cartosante_bassins(path)
    check_error(info.value, path, line=4, column="apl_mg_2023", expected="point décimal")
    lines[3] = replace_field(lines[3], 3, "3")
    frame = cartosante.read_cartosante_bassins(write_lines(path, lines))
    assert frame["ald_share_2024"].isna().tolist() == [True, True, True]  # 1 and 3 empty upstream
    assert frame["apl_gp_2023"].tolist() == [3.0, 1.8, 3.0]


def test_insee_statistics():
    frame = insee.read_departement_stats(INSEE)
    assert len(frame) == 101
    assert frame.columns[:2].tolist() == ["departement", "name"]
    assert len(frame.columns) == 2 + len(insee.COLUMN_MAPPING)
    for name in (
        "gp_count_2024",
        "nurse_count_2024",
        "pharmacy_count_2024",
        "dentist_count_2024",
        "emergency_count_2024",
        "population_2025",
        "poverty_rate_2021",
        "life_expectancy_women_2024",
        "life_expectancy_men_2024",
    ):
        assert name in frame.columns
    hm = frame.set_index("departement").loc["52"]
    assert hm["name"] == "Haute-Marne" and hm["gp_count_2024"] == 112
    assert hm["emergency_count_2024"] == 3
    counts = frame.set_index("departement")["gp_count_2024"]
    assert counts[["10", "21", "51", "55", "70", "88"]].tolist() == [211, 591, 528, 140, 192, 308]
    assert str(frame["gp_count_2024"].dtype) == "Int64"
    assert frame["poverty_rate_2021"].isna().sum() == 3


def test_insee_renamed_header(tmp_path):
    lines = head_lines(INSEE, 3)
    lines[0] = lines[0].replace("Urgences (en nombre) 2024", "Urgences 2024")
    path = write_lines(tmp_path / "insee.csv", lines)
    with pytest.raises(DataFormatError) as info:
        insee.read_departement_stats(path)
    check_error(info.value, path, line=1, column="Urgences (en nombre) 2024")


def test_insee_count_with_decimals(tmp_path):
    lines = head_lines(INSEE, 4)
    lines[3] = replace_field(lines[3], 2, "373.5")
    path = write_lines(tmp_path / "insee.csv", lines)
    with pytest.raises(DataFormatError) as info:
        insee.read_departement_stats(path)
    check_error(
        info.value,
        path,
        line=4,
        column="Médecin généraliste (en nombre) 2024",
        expected="un nombre entier",
    )
