"""NOS code lists and the report's profession groups."""

from __future__ import annotations

import re

from maillage.opendata import nomenclatures as nos


def test_systems_are_nos_fhir_urls():
    for system in (nos.PROFESSION_SYSTEM, nos.SPECIALTY_SYSTEM, nos.MODE_SYSTEM):
        assert re.fullmatch(
            r"https://mos\.esante\.gouv\.fr/NOS/TRE_(\w\d+)-\w+/FHIR/TRE-\1-\w+", system
        )
    assert nos.PROFESSION_SYSTEM.endswith("/TRE_G15-ProfessionSante/FHIR/TRE-G15-ProfessionSante")


def test_codes_that_are_easy_to_get_wrong():
    assert nos.PROFESSIONS["95"] == "Diététicien"
    assert nos.PROFESSIONS["96"] == "Psychomotricien"
    assert nos.PROFESSIONS["98"] == "Manipulateur ERM"
    assert nos.SPECIALTIES["SM19"] == "Gynécologie médicale"
    assert nos.SPECIALTIES["SM20"] == "Gynécologie-obstétrique"
    assert nos.SPECIALTIES["SM41"] == "Pneumologie"
    assert nos.SPECIALTIES["SM42"] == "Psychiatrie"
    assert nos.MODES == {
        "L": "Libéral, indépendant, artisan, commerçant",
        "S": "Salarié",
        "B": "Bénévole",
    }


def test_profession_groups_use_known_codes_and_do_not_overlap():
    keys = list(nos.PROFESSION_GROUPS)
    assert keys[:4] == [
        "medecin_generaliste",
        "infirmier",
        "masseur_kinesitherapeute",
        "chirurgien_dentiste",
    ]
    required = {
        "sage_femme",
        "pharmacien",
        "orthophoniste",
        "pedicure_podologue",
        "pediatre",
        "psychiatre",
        "ophtalmologue",
        "gynecologue",
        "cardiologue",
    }
    assert required <= set(keys)
    seen: dict[tuple[str, str | None], str] = {}
    for key, (label, profession, specialties) in nos.PROFESSION_GROUPS.items():
        assert label and profession in nos.PROFESSIONS
        for specialty in specialties or [None]:
            assert specialty is None or specialty in nos.SPECIALTIES
            assert (profession, specialty) not in seen, (key, seen.get((profession, specialty)))
            seen[(profession, specialty)] = key
    assert nos.PROFESSION_GROUPS["medecin_generaliste"] == (
        "Médecins généralistes",
        "10",
        frozenset({"SM53", "SM54", "SM26"}),
    )
    assert nos.PROFESSION_GROUPS["infirmier"] == ("Infirmiers", "60", None)


def test_profession_group_lookup():
    assert nos.profession_group("10", "SM54") == "medecin_generaliste"
    assert nos.profession_group("10", "SM73") == "cardiologue"
    assert nos.profession_group("10", "SM05") is None  # a surgeon
    assert nos.profession_group("10", None) is None
    assert nos.profession_group("60", None) == "infirmier"
    assert nos.profession_group("60", "SI01") == "infirmier"
    assert nos.profession_group("93", None) is None  # psychologists are not in TRE_G15
