"""Importing practitioners from the official formats: RPPS extract and Annuaire Santé FHIR."""

from __future__ import annotations

from pathlib import Path

import pytest

from maillage.directory.imports.fhir import import_fhir_bundle
from maillage.directory.imports.rpps import import_rpps
from maillage.directory.models import Practitioner, PractitionerRole, Source
from maillage.opendata.errors import DataFormatError

FIXTURES = Path(__file__).parents[1] / "opendata" / "fixtures"
RPPS = FIXTURES / "PS_LibreAcces_Personne_activite_extrait.txt"
BUNDLE = FIXTURES / "annuaire_bundle.json"


def _real():
    return Practitioner.objects.filter(synthetic=False)


def test_rpps_import_is_idempotent(demo_db):
    report = import_rpps(RPPS)
    assert report.counts == {"professionnels": 11, "activités": 12}
    import_rpps(RPPS)
    assert _real().count() == 11
    roles = PractitionerRole.objects.filter(source=Source.RPPS)
    assert roles.count() == 12
    # the practitioner with two practice places keeps both, in the right communes
    two = roles.filter(practitioner__rpps="19999000002")
    assert set(two.values_list("location__commune_id", flat=True)) == {"52121", "52269"}
    gp = roles.get(practitioner__rpps="19999000001")
    assert (gp.profession_code, gp.specialty_code, gp.mode_code) == ("10", "SM54", "L")
    assert not roles.filter(synthetic=True).exists()


def test_bad_rpps_line_writes_nothing(demo_db, tmp_path):
    lines = RPPS.read_text(encoding="utf-8").splitlines()
    n = next(i for i, line in enumerate(lines) if "|19999000004|" in line)
    lines[n] = lines[n].replace("|19999000004|", "|1999900000X|", 1)
    bad = tmp_path / "PS_LibreAcces_Personne_activite.txt"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataFormatError) as excinfo:
        import_rpps(bad)
    assert f"line {n + 1}" in str(excinfo.value)
    assert not _real().exists()


def test_fhir_bundle_merges_with_rpps(demo_db):
    import_rpps(RPPS)
    report = import_fhir_bundle(BUNDLE)
    assert report.counts["professionnels"] == 4
    # same RPPS numbers: the FHIR import updates the practitioners, it does not duplicate them
    assert _real().count() == 11
    role = PractitionerRole.objects.get(source=Source.FHIR, practitioner__rpps="19999000005")
    assert role.organization.finess_et == "529999005"
    assert role.location.commune_id == "52448"
    import_fhir_bundle(BUNDLE)
    assert PractitionerRole.objects.filter(source=Source.FHIR).count() == 4
