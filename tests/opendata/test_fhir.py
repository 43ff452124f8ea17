"""Annuaire Santé FHIR R4 Bundles."""

from __future__ import annotations

import copy
import json

import pandas as pd
import pytest

from maillage.opendata import fhir
from maillage.opendata.errors import DataFormatError
from maillage.opendata.nomenclatures import PROFESSION_SYSTEM, PROFILES, SPECIALTY_SYSTEM

from .conftest import FIXTURES, check_error

BUNDLE = FIXTURES / "annuaire_bundle.json"


@pytest.fixture
def bundle() -> dict:
    return json.loads(BUNDLE.read_text("utf-8"))


def write(tmp_path, document) -> tuple:
    """Write the bundle pretty-printed; return the path and the first line of each entry."""
    path = tmp_path / "bundle.json"
    text = json.dumps(document, ensure_ascii=False, indent=2)
    path.write_text(text, "utf-8")
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith('      "fullUrl"')]
    return path, starts  # "{" of entry k is on line starts[k] (1-based)


def entry_index(document: dict, kind: str, position: int = 0) -> int:
    indexes = [i for i, e in enumerate(document["entry"]) if e["resource"]["resourceType"] == kind]
    return indexes[position]


def test_fixture_is_shaped_like_the_api(bundle):
    assert bundle["type"] == "searchset"
    for entry in bundle["entry"]:
        resource = entry["resource"]
        assert entry["fullUrl"].startswith("https://gateway.api.esante.gouv.fr/fhir/v2/")
        assert PROFILES[resource["resourceType"]][0] in resource["meta"]["profile"]
        assert entry["search"]["mode"] in ("match", "include")


def test_read_bundle():
    result = fhir.read_annuaire_bundle(BUNDLE)
    practitioners, roles, organizations = result.practitioners, result.roles, result.organizations
    for column in ("fhir_id", "rpps", "family_name", "given_name", "gender"):
        assert column in practitioners.columns
    for column in (
        "fhir_id",
        "practitioner_fhir_id",
        "rpps",
        "organization_fhir_id",
        "profession_code",
        "specialty_code",
        "mode_code",
        "active",
    ):
        assert column in roles.columns
    for column in ("fhir_id", "finess", "siret", "name", "type_codes", "postal_code", "city"):
        assert column in organizations.columns
    assert len(practitioners) == 4 and len(roles) == 4 and len(organizations) == 3
    assert result.total == 4 and result.next_url is None
    alice = practitioners.set_index("rpps").loc["19999000001"]
    assert alice["idnps"] == "819999000001" and alice["given_name"] == "Alice"
    assert alice["profession_code"] == "10" and alice["specialty_codes"] == "SM54"
    psychiatrist = roles.set_index("fhir_id").loc["pr-0000105"]
    assert psychiatrist["rpps"] == "19999000005" and psychiatrist["mode_code"] == "S"
    assert psychiatrist["specialty_code"] == "SM42" and bool(psychiatrist["active"])
    assert psychiatrist["organization_fhir_id"] == "org-0000002"
    assert psychiatrist["activity_kind_code"] == "GENR01"
    assert str(roles["active"].dtype) == "boolean"
    hospital = organizations.set_index("fhir_id").loc["org-0000002"]
    assert hospital["finess"] == "529999005" and hospital["category_code"] == "355"
    assert hospital["commune_code"] == "52448" and hospital["part_of_fhir_id"] == "org-0000003"
    legal = organizations.set_index("fhir_id").loc["org-0000003"]
    assert pd.isna(legal["finess"]) and legal["finess_ej"] == "529999006"
    assert legal["siret"] == "26529999900017"


def test_parsed_dict_and_paging_link(bundle):
    bundle["link"].append({"relation": "next", "url": "https://example.org/page2"})
    result = fhir.read_annuaire_bundle(bundle)
    assert result.next_url == "https://example.org/page2" and len(result.roles) == 4


def test_wrong_resource_type(tmp_path, bundle):
    bundle["resourceType"] = "Practitioner"
    path, _ = write(tmp_path, bundle)
    with pytest.raises(DataFormatError) as info:
        fhir.read_annuaire_bundle(path)
    check_error(info.value, path, column="resourceType", expected='"Bundle"')


def test_transaction_bundle_refused(bundle):
    bundle["type"] = "transaction"
    with pytest.raises(DataFormatError) as info:
        fhir.read_annuaire_bundle(bundle)
    check_error(info.value, "<bundle>", column="type", expected="searchset")


def test_practitioner_without_identifier(tmp_path, bundle):
    k = entry_index(bundle, "Practitioner", 2)
    del bundle["entry"][k]["resource"]["identifier"]
    path, starts = write(tmp_path, bundle)
    with pytest.raises(DataFormatError) as info:
        fhir.read_annuaire_bundle(path)
    check_error(
        info.value,
        path,
        line=starts[k],
        column=f"entry[{k}].resource.identifier",
        expected="un identifiant RPPS",
    )


def test_idnps_and_rpps_disagree(bundle):
    k = entry_index(bundle, "Practitioner", 1)
    bundle["entry"][k]["resource"]["identifier"][0]["value"] = "819999000099"
    with pytest.raises(DataFormatError) as info:
        fhir.read_annuaire_bundle(bundle)
    check_error(info.value, "<bundle>", column=f"entry[{k}].resource.identifier")


def test_rpps_of_wrong_length(bundle):
    k = entry_index(bundle, "Practitioner", 0)
    bundle["entry"][k]["resource"]["identifier"][1]["value"] = "1999900001"
    with pytest.raises(DataFormatError) as info:
        fhir.read_annuaire_bundle(bundle)
    check_error(
        info.value, "<bundle>", column=f"entry[{k}].resource.identifier[1].value", expected="11"
    )


def test_older_identifier_systems_and_idnps_only(bundle):
    first = entry_index(bundle, "Practitioner", 0)
    identifiers = bundle["entry"][first]["resource"]["identifier"]
    identifiers[1]["system"] = "http://rpps.fr"
    del identifiers[1]["type"]
    second = entry_index(bundle, "Practitioner", 1)
    del bundle["entry"][second]["resource"]["identifier"][1]
    practitioners = fhir.read_annuaire_bundle(bundle).practitioners
    assert practitioners["rpps"].tolist()[:2] == ["19999000001", "19999000004"]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("active", "yes", "booléen JSON"),
        ("period", {"start": "2021-31-12"}, "PractitionerRole FHIR R4 valides"),
    ],
)
def test_invalid_fhir_value(tmp_path, bundle, field, value, expected):
    bundle["entry"][1]["resource"][field] = value
    path, starts = write(tmp_path, bundle)
    with pytest.raises(DataFormatError) as info:
        fhir.read_annuaire_bundle(path)
    check_error(
        info.value,
        path,
        line=starts[1],
        column=f"entry[1].resource.{field}" + (".start" if field == "period" else ""),
        expected=expected,
    )


def test_unknown_resource_type(bundle):
    bundle["entry"][0]["resource"]["resourceType"] = "Praticien"
    with pytest.raises(DataFormatError) as info:
        fhir.read_annuaire_bundle(bundle)
    check_error(info.value, "<bundle>", column="entry[0].resource.resourceType")


def test_role_without_practitioner(bundle):
    del bundle["entry"][2]["resource"]["practitioner"]
    with pytest.raises(DataFormatError) as info:
        fhir.read_annuaire_bundle(bundle)
    check_error(info.value, "<bundle>", column="entry[2].resource.practitioner")


def test_organization_without_identifier(bundle):
    k = entry_index(bundle, "Organization", 0)
    bundle["entry"][k]["resource"]["identifier"] = []
    with pytest.raises(DataFormatError) as info:
        fhir.read_annuaire_bundle(bundle)
    check_error(info.value, "<bundle>", column=f"entry[{k}].resource.identifier")


def test_bad_finess(bundle):
    k = entry_index(bundle, "Organization", 1)
    bundle["entry"][k]["resource"]["identifier"][1]["value"] = "52999900"
    with pytest.raises(DataFormatError) as info:
        fhir.read_annuaire_bundle(bundle)
    check_error(
        info.value, "<bundle>", column=f"entry[{k}].resource.identifier[1].value", expected="FINESS"
    )


def test_repeated_resource_is_kept_once(bundle):
    bundle["entry"].append(copy.deepcopy(bundle["entry"][-1]))
    assert len(fhir.read_annuaire_bundle(bundle).organizations) == 3


def test_profession_codes_use_the_nos_systems(bundle):
    systems = {
        coding["system"]
        for entry in bundle["entry"]
        for concept in entry["resource"].get("code", []) + entry["resource"].get("specialty", [])
        for coding in concept["coding"]
    }
    assert {PROFESSION_SYSTEM, SPECIALTY_SYSTEM} <= systems


def test_broken_json(tmp_path):
    path = tmp_path / "bundle.json"
    text = BUNDLE.read_text("utf-8")
    path.write_text(text.replace('"type": "searchset",', '"type": "searchset"', 1), "utf-8")
    with pytest.raises(DataFormatError) as info:
        fhir.read_annuaire_bundle(path)
    check_error(info.value, path, expected="JSON valide")
    assert info.value.line is not None and info.value.line > 1
