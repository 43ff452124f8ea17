"""The demo's synthetic year of discharges: the three hospitals found by FINESS in the imported
directory, everything flagged synthetic with fiction phone numbers, plausible figures, a
second run adding nothing, and the hospital referent's account on those hospitals."""

from __future__ import annotations

from maillage.care.letters.models import Discharge
from maillage.care.letters.services.summary import letters_figures
from maillage.care.people.models import Person, is_fiction_phone
from maillage.demo.letters import demo_hospitals, load_demo_discharges, spec

from .conftest import paris

NOW = paris(2026, 11, 30, 12)


def test_a_synthetic_year_for_the_three_hospitals_once(demo_db):
    hospitals = demo_hospitals()
    assert [h.finess_et for h in hospitals] == ["520000027", "520000043", "520000068"]
    counts = load_demo_discharges(NOW)
    assert counts == {h["finess"]: h["discharges"] for h in spec()["hospitals"]}
    assert load_demo_discharges(NOW) == {}  # idempotent
    rows = Discharge.objects.all()
    assert rows.count() == sum(counts.values()) and not rows.filter(synthetic=False).exists()
    people = Person.objects.filter(pk__in=rows.values("person_id"))
    assert not people.filter(synthetic=False).exists()
    assert all(is_fiction_phone(p) for p in people.values_list("phone", flat=True)[:200])
    assert not rows.filter(discharge_at__gt=NOW).exists()
    from django.db.models import F

    assert not rows.filter(letter_sent_at__lt=F("discharge_at")).exists()
    assert not rows.filter(discharge_at__lt=F("admission_at")).exists()
    figures = letters_figures({h.commune_id for h in hospitals}, NOW)
    assert figures["synthetic"] is True and len(figures["hospitals"]) == 3
    for hospital in figures["hospitals"]:
        assert 0.35 <= hospital["sent_same_day_share"] <= 0.7, hospital
        assert 0.7 <= hospital["sent_within_7_days_share"] <= 0.95, hospital
        assert (
            0.05 <= hospital["evening_share"] <= 0.2 and 0.08 <= hospital["weekend_share"] <= 0.25
        )


def test_the_demo_referent_is_on_the_demo_hospitals(demo_db, tmp_path, monkeypatch):
    from maillage.accounts.models import Role
    from maillage.demo.accounts import HOSPITAL_USERNAME, ensure_demo_accounts

    passwords = ensure_demo_accounts()
    from django.contrib.auth.models import User

    referent = User.objects.get(username=HOSPITAL_USERNAME)
    assert HOSPITAL_USERNAME in passwords and referent.profile.role == Role.HOSPITAL
    assert set(referent.profile.organizations.values_list("finess_et", flat=True)) == {
        "520000027", "520000043", "520000068",
    }  # fmt: skip
