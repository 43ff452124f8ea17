"""Identity matching rules (no database): the normalised key and the near-match reasons."""

from __future__ import annotations

import datetime as dt

from maillage.care.people.identity import better_contact, near_reasons, similar
from maillage.care.people.models import Person, match_key, normalise_name


def person(**traits) -> Person:
    values = {
        "birth_name": "ZORGBELIN", "first_names": "Philomène Adélaïde",
        "birth_date": dt.date(1941, 2, 7), "sex": "F",
    }  # fmt: skip
    values.update(traits)
    made = Person(**values)
    made.match_key = made.compute_match_key()
    return made


def test_the_key_ignores_case_accents_hyphens_apostrophes_spaces_and_later_first_names():
    assert normalise_name("Le Gall") == normalise_name("le-gall") == normalise_name("LÉGALL")
    assert normalise_name("D'Arcy") == "DARCY" and normalise_name("Œuvray") == "OEUVRAY"
    assert match_key("zorgbelin", "Philomène Adélaïde") == match_key("ZORGBELIN", "PHILOMENE")
    assert match_key("Dupont", "Jean-Pierre, Marie") == "DUPONT|JEANPIERRE"
    assert match_key("Dupont", "Jean Pierre") == "DUPONT|JEAN"  # two first names: the first
    assert match_key("", "") == ""


def test_near_matches_typo_inverted_date_used_name_other_first_name():
    old = person()
    assert near_reasons(person(birth_name="ZORGBELLIN"), old) == ["name_typo"]
    assert near_reasons(person(birth_date=dt.date(1941, 7, 2)), old) == ["date_inverted"]
    assert near_reasons(person(first_names="Adélaïde"), old) == ["first_name"]
    assert near_reasons(person(first_names="Philomene", birth_place_insee="52448"),
                        person(birth_place_insee="52121")) == ["birth_place"]  # fmt: skip
    married = person(used_name="MARTIN")
    assert near_reasons(person(birth_name="Martin"), married) == ["used_name"]


def test_not_near_other_sex_other_date_other_name_or_first_name():
    old = person()
    assert near_reasons(person(sex="M"), old) == []
    assert near_reasons(person(birth_date=dt.date(1941, 2, 8)), old) == []
    assert near_reasons(person(birth_name="DUPONT"), old) == []
    assert near_reasons(person(first_names="Jeanne"), old) == []
    assert not similar("LI", "LU") and similar("MARTIN", "MARTNI") and not similar("", "")


def test_contact_is_filled_when_empty_and_replaced_only_by_a_professional():
    class Staff:
        is_authenticated = True

    stored = person(phone="+33353010001", email="")
    given = person(phone="+33353010002", email="a@example.org")
    assert better_contact(stored, given, None) == ["email"]  # the web: the phone stays
    assert better_contact(stored, given, Staff()) == ["phone", "email"]
    assert better_contact(stored, person(phone="", email=""), Staff()) == []
