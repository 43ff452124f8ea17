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


# --- what a caller needs: address, fiction phone number, weekly hours, teleconsultation -------


def test_street_name_reads_finess_addresses():
    assert synthetic.street_name("34 R DE LA PITIE | BP 12") == "Rue de la Pitie"
    assert synthetic.street_name("2 R JEANNE D'ARC") == "Rue Jeanne d'Arc"
    assert synthetic.street_name("12 BIS AV DU GENERAL DE GAULLE") == "Avenue du General de Gaulle"
    assert synthetic.street_name("CAR HENRI ROLLIN | BP 142") == ""  # not a street type we know
    assert synthetic.street_name("LIEU DIT LES VIGNES") == ""
    assert synthetic.street_name("") == ""


def test_fiction_numbers_stay_in_arcep_blocks_and_never_repeat():
    used: set[str] = set()
    numbers = [synthetic.fiction_number("035301", "same key", used) for _ in range(10_001)]
    assert len(set(numbers)) == 10_001
    assert all(n.replace(" ", "")[:6] in synthetic.FICTION_BLOCKS for n in numbers)
    # the block is full after 10,000: the 10,001st comes from another reserved block
    assert numbers[-1].replace(" ", "")[:6] != "035301"


def test_synthetic_places_have_address_fiction_phone_and_hours(demo_db):
    from maillage.directory.models import OpeningHours
    from maillage.directory.search.service import normalise

    places = Location.objects.filter(synthetic=True, commune__departement_id="52")
    assert places.count() > 100
    phones = list(places.values_list("phone", flat=True))
    assert len(set(phones)) == len(phones)  # one number per place
    assert all(p.replace(" ", "")[:6] in synthetic.FICTION_BLOCKS for p in phones), phones[:5]
    # …and the professional's form takes them back unchanged (its phonenumbers check)
    from maillage.directory.review import phone_number

    assert all(phone_number(p) == p for p in phones)
    assert not places.filter(postal_code="").exists()
    # every place has weekly hours
    assert not places.exclude(id__in=OpeningHours.objects.values("location_id")).exists()
    # own practices: a street FINESS names in that commune, never a house number
    own = places.filter(organization__isnull=True).exclude(address="")
    assert own.count() > 0.8 * places.filter(organization__isnull=True).count()
    streets: dict[str, set[str]] = {}
    for commune, address in Organization.objects.filter(
        commune__departement_id="52", source="finess"
    ).values_list("commune_id", "address"):
        streets.setdefault(commune, set()).add(normalise(synthetic.street_name(address)))
    for place in own:
        assert not place.address[0].isdigit(), place.address
        assert normalise(place.address) in streets[place.commune_id], place.address
    # a place inside a real MSP keeps the MSP's FINESS address
    at_msp = places.filter(organization__category_code=synthetic.FINESS_MSP).first()
    assert at_msp.address == at_msp.organization.address


def test_gp_teleconsultation_share_is_the_drees_one(demo_db):
    gps = PractitionerRole.objects.filter(synthetic=True, profession_code="10")
    share = gps.filter(teleconsultation=True).count() / gps.count()
    assert 0.45 <= share <= 0.55, share  # DREES ER 1249: half of GPs go on teleconsulting
    assert (
        not PractitionerRole.objects.filter(synthetic=True, teleconsultation=True)
        .exclude(profession_code="10")
        .exists()
    )


def test_teleconsultation_and_open_now_filters_find_demo_gps(demo_db):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from maillage.directory.search.service import SearchQuery, reindex_all, search

    reindex_all()
    paris = ZoneInfo("Europe/Paris")
    tele = search(SearchQuery(text="généraliste langres", teleconsultation=True))
    assert tele.total > 0 and all(e.teleconsultation for e in tele.items)
    thursday_10 = datetime(2026, 12, 3, 10, 0, tzinfo=paris)
    sunday_15 = datetime(2026, 12, 6, 15, 0, tzinfo=paris)
    open_now = search(SearchQuery(text="généraliste chaumont", open_now=True), now=thursday_10)
    closed = search(SearchQuery(text="généraliste chaumont", open_now=True), now=sunday_15)
    assert open_now.total > 0 and closed.total == 0


def test_contact_details_are_deterministic(demo_db):
    def snapshot():
        places = Location.objects.filter(synthetic=True, commune__departement_id="52")
        return sorted(
            (p.commune_id, p.name, p.address, p.postal_code, p.phone,
             tuple(p.opening_hours.values_list("weekday", "opens", "closes")))
            for p in places.prefetch_related("opening_hours")
        )  # fmt: skip

    first = snapshot()
    tele = sorted(
        PractitionerRole.objects.filter(
            synthetic=True, teleconsultation=True, location__commune__departement_id="52"
        ).values_list("practitioner__family_name", "practitioner__given_name")
    )
    synthetic.generate(["52"])
    assert snapshot() == first
    assert tele == sorted(
        PractitionerRole.objects.filter(
            synthetic=True, teleconsultation=True, location__commune__departement_id="52"
        ).values_list("practitioner__family_name", "practitioner__given_name")
    )
