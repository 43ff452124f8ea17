"""INSEE COG readers, on the shipped files and on broken copies of them."""

from __future__ import annotations

import gzip
import json

import pytest

from maillage.opendata import cog
from maillage.opendata.errors import DataFormatError

from .conftest import DATA, check_error

COG = DATA / "cog"


@pytest.fixture(scope="module")
def communes():
    return cog.read_communes(COG / "communes.json.gz")


@pytest.fixture(scope="module")
def raw_communes() -> list[dict]:
    return json.loads(gzip.decompress((COG / "communes.json.gz").read_bytes()))


def write_array(path, records):
    """Write records the way the package does: one per line between '[' and ']'."""
    body = ",\n".join(json.dumps(r, ensure_ascii=False) for r in records)
    path.write_text(f"[\n{body}\n]\n", encoding="utf-8")
    return path


def test_communes_of_haute_marne(communes):
    assert list(communes.columns) == [
        "code",
        "name",
        "departement",
        "region",
        "arrondissement",
        "population",
        "postal_codes",
    ]
    hm = communes[communes["departement"] == "52"]
    assert len(hm) == 426
    assert int(hm["population"].sum()) == 168_331
    assert hm.groupby("arrondissement")["population"].sum().to_dict() == {
        "521": 60_377,
        "522": 42_230,
        "523": 65_724,
    }
    chaumont = communes.set_index("code").loc["52121"]
    assert chaumont["name"] == "Chaumont" and chaumont["postal_codes"] == "52000"


def test_communes_keep_current_metro_and_drom_only(communes):
    assert len(communes) == 34_746 + 129
    assert communes["code"].is_unique
    assert not communes["code"].str.startswith("98").any()  # COM left out
    assert communes.set_index("code").loc["2A004", "name"] == "Ajaccio"
    assert communes["arrondissement"].isna().sum() == 17  # Mayotte has none
    assert str(communes["population"].dtype) == "Int64"
    assert communes.set_index("code").loc["13055", "postal_codes"].count(";") == 15


def test_epci_and_members():
    epci, members = cog.read_epci(COG / "epci.json.gz")
    assert list(epci.columns) == ["code", "name", "kind", "population"]
    assert list(members.columns) == ["epci_code", "commune_code"]
    assert len(epci) == 1255 and members["commune_code"].is_unique
    assert (members["epci_code"] == "200068666").sum() == 60
    row = epci.set_index("code").loc["200068666"]
    assert row["name"] == "CA du Grand Saint-Dizier Der et Vallées" and row["kind"] == "CA"


def test_arrondissements_departements_regions():
    arr = cog.read_arrondissements(COG / "arrondissements.json")
    assert list(arr.columns) == ["code", "name", "departement", "region", "chef_lieu"]
    assert arr.set_index("code").loc["523", "name"] == "Saint-Dizier"
    dep = cog.read_departements(COG / "departements.json")
    assert list(dep.columns) == ["code", "name", "region", "chef_lieu"]
    assert dep.set_index("code").loc["52"].to_dict() == {
        "name": "Haute-Marne",
        "region": "44",
        "chef_lieu": "52121",
    }
    reg = cog.read_regions(COG / "regions.json")
    assert list(reg.columns) == ["code", "name", "chef_lieu"]
    assert reg.set_index("code").loc["94", "chef_lieu"] == "2A004"


def test_bad_population_names_the_line_of_the_record(tmp_path, raw_communes):
    records = raw_communes[:30]
    records[12] = {**records[12], "population": "860"}
    path = write_array(tmp_path / "communes.json", records)
    with pytest.raises(DataFormatError) as info:
        cog.read_communes(path)
    check_error(info.value, path, line=14, column="[12].population", expected="nombre JSON")


def test_numeric_code_would_lose_its_leading_zero(tmp_path, raw_communes):
    records = raw_communes[:5]
    records[3] = {**records[3], "code": 1005}
    path = write_array(tmp_path / "communes.json", records)
    with pytest.raises(DataFormatError) as info:
        cog.read_communes(path)
    check_error(info.value, path, line=5, column="[3].code", expected="texte JSON")


def test_missing_postal_codes_of_a_current_commune(tmp_path, raw_communes):
    records = raw_communes[:5]
    del records[2]["codesPostaux"]
    path = write_array(tmp_path / "communes.json", records)
    with pytest.raises(DataFormatError) as info:
        cog.read_communes(path)
    message = check_error(info.value, path, line=4, column="[2].codesPostaux")
    assert "(absent)" in message


def test_broken_json(tmp_path):
    path = tmp_path / "regions.json"
    path.write_text('[\n{"code": "01", "nom": "Guadeloupe", "chefLieu": "97105"}\n{"code"', "utf-8")
    with pytest.raises(DataFormatError) as info:
        cog.read_regions(path)
    check_error(info.value, path, line=3, expected="JSON valide")


def test_truncated_json_says_so(tmp_path):
    text = (COG / "regions.json").read_text("utf-8")
    path = tmp_path / "regions.json"
    path.write_text(text[: len(text) // 2], "utf-8")
    with pytest.raises(DataFormatError, match="tronqué"):
        cog.read_regions(path)


def test_truncated_gzip(truncated_gzip):
    path = truncated_gzip(COG / "communes.json.gz", "communes.json.gz")
    with pytest.raises(DataFormatError) as info:
        cog.read_communes(path)
    check_error(info.value, path, expected="fichier gzip complet")


def test_latin1_json(tmp_path):
    path = tmp_path / "departements.json"
    path.write_bytes((COG / "departements.json").read_text("utf-8").encode("cp1252"))
    with pytest.raises(DataFormatError) as info:
        cog.read_departements(path)
    message = check_error(info.value, path, expected="texte UTF-8")
    assert "CP1252" in message and info.value.line is not None


def test_not_an_array(tmp_path):
    path = tmp_path / "regions.json"
    path.write_text('{"code": "01"}', "utf-8")
    with pytest.raises(DataFormatError, match="tableau JSON"):
        cog.read_regions(path)


def test_commune_in_two_epci(tmp_path):
    records = json.loads(gzip.decompress((COG / "epci.json.gz").read_bytes()))[:3]
    records[2]["membres"].append(dict(records[0]["membres"][0]))
    path = write_array(tmp_path / "epci.json", records)
    with pytest.raises(DataFormatError) as info:
        cog.read_epci(path)
    k = len(records[2]["membres"]) - 1
    check_error(
        info.value,
        path,
        line=4,
        column=f"[2].membres[{k}].code",
        expected=f"d'un seul EPCI (elle est aussi dans {records[0]['code']})",
    )
