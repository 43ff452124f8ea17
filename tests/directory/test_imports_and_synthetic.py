"""FINESS import and the synthetic demo practitioners."""

from __future__ import annotations

import pytest

from maillage.demo import synthetic
from maillage.directory.imports.finess import import_finess
from maillage.directory.models import Location, Organization, Practitioner, PractitionerRole
from maillage.opendata.errors import DataFormatError


def test_finess_haute_marne(demo_db):
    # FINESS rows only: the demo adds two non-FINESS structures the seeds describe (source manual)
    in_52 = Organization.objects.filter(commune__departement_id="52", source="finess")
    assert in_52.count() == 334
    ch = Organization.objects.get(commune_id="52121", category_code="355")
    assert "CHAUMONT" in ch.name.upper()
    assert in_52.filter(category_code="620").count() == 64


def test_finess_bad_file_changes_nothing(demo_db, tmp_path):
    bad = tmp_path / "finess.csv"
    bad.write_text(
        "nofinesset,nofinessej,raison_sociale\n520000000,520000001,TEST\n", encoding="utf-8"
    )
    before = Organization.objects.count()
    with pytest.raises(DataFormatError, match="finess.csv"):
        import_finess(bad)
    assert Organization.objects.count() == before


def _gps(dep: str):
    return PractitionerRole.objects.filter(
        profession_code="10", location__commune__departement_id=dep
    )


def test_synthetic_gps_match_insee_count_and_are_flagged(demo_db):
    gps = _gps("52")
    assert gps.count() == 112  # INSEE BPE 2024: 112 médecins généralistes in Haute-Marne
    assert not gps.filter(synthetic=False).exists()
    assert not Practitioner.objects.filter(roles__in=gps, synthetic=False).exists()
    assert not Location.objects.filter(roles__in=gps, synthetic=False).exists()
    # every synthetic practice is in a commune of the département, at a plausible place
    assert not gps.filter(location__latitude__isnull=True).exists()


def test_synthetic_age_structure_is_calibrated(demo_db):
    years = list(
        Practitioner.objects.filter(
            roles__profession_code="10",
            roles__location__commune__departement_id__in=["52", "10", "21", "51", "55", "70", "88"],
        ).values_list("birth_year", flat=True)
    )
    ages = [synthetic.REFERENCE_YEAR - y for y in years]
    share_60 = sum(a >= 60 for a in ages) / len(ages)
    share_55 = sum(a >= 55 for a in ages) / len(ages)
    assert 0.38 <= share_60 <= 0.52  # seed 003: 45 % aged 60+
    assert 0.50 <= share_55 <= 0.66  # seed 001: 58 % aged 55+


def test_synthetic_generation_is_deterministic(demo_db):
    def snapshot():
        return sorted(
            _gps("52").values_list(
                "practitioner__family_name",
                "practitioner__given_name",
                "practitioner__birth_year",
                "location__commune_id",
                "fte",
            )
        )

    first = snapshot()
    synthetic.generate(["52"])
    assert snapshot() == first
    assert _gps("52").count() == 112


def test_finess_rows_keep_the_cell_by_cell_meaning():
    """The vectorised row builder: missing text is "", long text is cut, missing numbers and
    dates are None, a commune unknown to the COG (or missing) is None."""
    import datetime

    import pandas as pd

    from maillage.directory.imports.finess import _finess_rows

    text = "string"
    df = pd.DataFrame(
        {
            "finess_et": pd.array(["520000001", "520000002"], dtype=text),
            "finess_ej": pd.array(["520000000", None], dtype=text),
            "siret": pd.array([None, "12345678900011"], dtype=text),
            "name": pd.array(["X" * 300, "CH"], dtype=text),
            "category_code": pd.array(["355", None], dtype=text),
            "category_label": pd.array(["L" * 210, None], dtype=text),
            "aggregate_code": pd.array([None, "1110"], dtype=text),
            "aggregate_label": pd.array([None, "A"], dtype=text),
            "address": pd.array(["1 RUE", None], dtype=text),
            "postal_code": pd.array(["52000", None], dtype=text),
            "city": pd.array(["C" * 130, None], dtype=text),
            "commune_code": pd.array(["52121", "99999"], dtype=text),
            "phone": pd.array([None, "0325000000"], dtype=text),
            "latitude": [48.1, float("nan")],
            "longitude": [5.1, float("nan")],
            "opened_on": pd.to_datetime(["1990-05-02", None]).astype("datetime64[s]"),
        }
    )
    first, second = _finess_rows(df, {"52121"})
    assert first["name"] == "X" * 250 and first["category_label"] == "L" * 200
    assert first["city"] == "C" * 120 and first["siret"] == "" and first["aggregate_code"] == ""
    assert first["commune_id"] == "52121" and first["latitude"] == 48.1
    assert first["opened_on"] == datetime.date(1990, 5, 2)
    assert second["finess_ej"] == "" and second["commune_id"] is None
    assert second["latitude"] is None and second["longitude"] is None
    assert second["opened_on"] is None
    assert first["synthetic"] is False and second["source"] == first["source"]
