"""The directory search (``maillage.directory.search.service``) on the demo database.

The demo database holds the FINESS establishments and the synthetic practitioners of Haute-Marne
and its neighbours, indexed by ``maillage init``; tests add their own entries where a case needs
exact figures and index them with ``reindex_objects`` as a published change would.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from maillage.directory.models import (
    HealthcareService,
    Location,
    OpeningException,
    OpeningHours,
    Organization,
    Practitioner,
    PractitionerRole,
    Scheme,
    SearchEntry,
    Source,
)
from maillage.directory.search.service import (
    SearchQuery,
    fold,
    normalise,
    prefix_upper_bound,
    reindex_all,
    reindex_objects,
    resolve_place,
    search,
    stem,
    tokens,
)
from maillage.territory.models import Commune

PARIS = ZoneInfo("Europe/Paris")
GP_SPECIALTIES = {"SM26", "SM53", "SM54"}
CHAUMONT, LANGRES = "52121", "52269"


def run(**kwargs):
    return search(SearchQuery(**kwargs))


def everything(**kwargs) -> list[SearchEntry]:
    """All the entries of a query, across its pages."""
    first = run(page_size=100, **kwargs)
    items = list(first.items)
    for page in range(2, first.pages + 1):
        items += run(page=page, page_size=100, **kwargs).items
    return items


def make_role(
    family: str,
    given: str,
    commune: str,
    *,
    profession: str = "10",
    specialty: str = "SM54",
    latitude: float | None = None,
    longitude: float | None = None,
    languages: str = "",
    accepts: bool | None = None,
    teleconsultation: bool = False,
) -> PractitionerRole:
    place = Commune.objects.get(code=commune)
    location = Location.objects.create(
        name=f"Cabinet {family}",
        commune=place,
        latitude=latitude if latitude is not None else place.latitude,
        longitude=longitude if longitude is not None else place.longitude,
        source=Source.MANUAL,
    )
    person = Practitioner.objects.create(
        family_name=family, given_name=given, languages=languages, source=Source.MANUAL
    )
    role = PractitionerRole.objects.create(
        practitioner=person,
        location=location,
        profession_code=profession,
        specialty_code=specialty,
        accepts_new_patients=accepts,
        teleconsultation=teleconsultation,
        source=Source.MANUAL,
    )
    reindex_objects([role])
    return role


def entry_of(role: PractitionerRole) -> SearchEntry:
    return SearchEntry.objects.get(kind="role", object_id=role.id)


# --- normalisation (no database) ---------------------------------------------------------------


def test_normalise_drops_case_accents_and_punctuation():
    assert (
        normalise("Médecin GÉNÉRALISTE, Saint-Dizier (52)") == "medecin generaliste saint dizier 52"
    )
    assert normalise("Cœur d'Œuvre") == "coeur d oeuvre"
    assert tokens("Le Dr. Généraliste de Chaumont") == ["generaliste", "chaumont"]


def test_plural_and_feminine_folding():
    assert [fold(w) for w in ("pharmacies", "hopitaux", "bureaux", "urgences", "psy", "ss")] == [
        "pharmacie", "hopital", "bureau", "urgence", "psy", "ss",
    ]  # fmt: skip
    assert stem("infirmieres") == "infirmier" and stem("psychiatre") == "psychiatr"
    assert stem("dieteticienne") == "dieteticien" and stem("kines") == "kine"
    assert stem("52200") == "52200"


def test_prefix_upper_bound_stays_in_the_alphabet():
    assert prefix_upper_bound("chaumon") == "chaumoo"
    assert prefix_upper_bound("abz") == "ac"
    assert prefix_upper_bound("a9") == "aa"
    assert prefix_upper_bound("zz") is None


# --- free text -----------------------------------------------------------------------------------


def gp_roles_of(commune: str) -> set[int]:
    return set(
        PractitionerRole.objects.filter(
            active=True,
            location__commune_id=commune,
            profession_code="10",
            specialty_code__in=GP_SPECIALTIES,
        ).values_list("id", flat=True)
    )


def test_generaliste_chaumon_finds_the_gps_of_chaumont(demo_db):
    expected = gp_roles_of(CHAUMONT)
    assert expected, "the demo database has GPs in Chaumont"
    items = everything(text="generaliste chaumon")
    assert {e.object_id for e in items if e.commune_id == CHAUMONT} == expected
    for e in items:  # every result is a GP of a commune whose name starts with "Chaumont"
        assert e.kind == "role" and e.specialty_code in GP_SPECIALTIES
        assert any(w.startswith("chaumon") for w in normalise(e.commune.name).split())
    # Chaumont (Haute-Marne, the most populous "Chaumont") ranks first.
    assert items[0].commune_id == CHAUMONT


def test_typos_are_corrected_and_reported(demo_db):
    exact = run(text="generaliste chaumont")
    typo = run(text="generalsite chaumond")
    assert typo.corrected_text == "generaliste chaumont"
    assert typo.total == exact.total > 0
    assert [e.id for e in typo.items] == [e.id for e in exact.items]
    assert exact.corrected_text is None


def test_accents_and_case_are_ignored(demo_db):
    plain = run(text="generaliste chaumont")
    accented = run(text="Médecin Généraliste CHAUMONT")
    assert accented.total == plain.total
    assert accented.corrected_text is None


def test_words_match_by_prefix(demo_db):
    nurses = everything(text="infirm langr")
    expected = set(
        PractitionerRole.objects.filter(
            active=True, location__commune_id=LANGRES, profession_code__in=["60", "69"]
        ).values_list("id", flat=True)
    )
    assert expected
    assert {e.object_id for e in nurses if e.kind == "role" and e.commune_id == LANGRES} == expected


def test_synonyms_of_professions(demo_db):
    kine = make_role("Kinetest", "Paul", LANGRES, profession="70", specialty="")
    midwife = make_role("Sagetest", "Lou", LANGRES, profession="50", specialty="")
    assert kine.id in {e.object_id for e in everything(text="kiné langres")}
    assert midwife.id in {e.object_id for e in everything(text="sage-femme langres")}
    dentists = run(text="dentiste", kind="role")
    assert dentists.total > 0
    assert {e.profession_code for e in dentists.items} == {"40"}


def test_names_and_title_ranking(demo_db):
    role = make_role("Quillardet", "Zéphyrine", LANGRES)
    result = run(text="zephyrine quill")
    assert [e.object_id for e in result.items] == [role.id]
    entry = result.items[0]
    assert entry.title == "Zéphyrine Quillardet" and not entry.synthetic
    # A person whose name is the query comes before people only located there.
    other = make_role("Langresson", "Marc", CHAUMONT)
    ranked = run(text="langres", kind="role", page_size=5)
    assert ranked.items[0].object_id == other.id


def test_synthetic_entries_stay_flagged(demo_db):
    result = run(text="generaliste chaumont")
    assert result.items and all(e.synthetic for e in result.items)


# --- filters -------------------------------------------------------------------------------------


def test_profession_filter_by_group_key_and_code(demo_db):
    by_key = run(profession="medecin_generaliste", commune=CHAUMONT)
    assert by_key.total == len(gp_roles_of(CHAUMONT))
    assert all(e.specialty_code in GP_SPECIALTIES for e in by_key.items)
    nurses = run(profession="60", commune=CHAUMONT, page_size=100)
    assert nurses.total > 0 and {e.profession_code for e in nurses.items} == {"60"}


def test_specialty_filter(demo_db):
    role = make_role("Cardiotest", "Anne", LANGRES, specialty="SM04")
    result = run(specialty="SM04", commune=LANGRES)
    assert [e.object_id for e in result.items] == [role.id]


def test_commune_filter(demo_db):
    items = everything(commune=LANGRES, kind="role")
    assert items and {e.commune_id for e in items} == {LANGRES}
    expected = PractitionerRole.objects.filter(active=True, location__commune_id=LANGRES).count()
    assert len(items) == expected


def test_near_with_radius_uses_the_great_circle(demo_db):
    langres = Commune.objects.get(code=LANGRES)
    # 0.09 degree due north is 0.09 × π × 6371.0088 / 180 = 10.0075 km, by hand.
    north = make_role(
        "Nordtest", "Ana", LANGRES, latitude=langres.latitude + 0.09, longitude=langres.longitude
    )
    expected_km = 0.09 * math.pi * 6371.0088 / 180
    inside = run(near="Langres", radius_km=10.1, text="nordtest")
    assert [e.object_id for e in inside.items] == [north.id]
    assert inside.items[0].distance_km == pytest.approx(expected_km, abs=0.01)
    assert inside.near_label == "Langres"
    assert inside.center == (langres.latitude, langres.longitude)
    assert run(near="Langres", radius_km=9.9, text="nordtest").total == 0
    # Without text: every result within the radius, nearest first.
    around = everything(near="52200 Langres", radius_km=12, kind="role")
    distances = [e.distance_km for e in around]
    assert distances == sorted(distances) and max(distances) <= 12.0
    assert north.id in {e.object_id for e in around}


def test_near_without_radius_orders_by_distance(demo_db):
    result = run(near="Chaumont", profession="medecin_generaliste", page_size=30)
    distances = [e.distance_km for e in result.items]
    assert distances == sorted(distances)
    assert result.items[0].commune_id == CHAUMONT


def test_accepts_new_patients_teleconsultation_and_language(demo_db):
    role = make_role(
        "Polyglotte", "Ines", LANGRES, languages="fr, en", accepts=True, teleconsultation=True
    )
    accepting = everything(commune=LANGRES, kind="role", accepts_new_patients=True)
    assert accepting and all(e.accepts_new_patients for e in accepting)
    assert role.id in {e.object_id for e in accepting}
    refusing = everything(commune=LANGRES, kind="role", accepts_new_patients=False)
    assert role.id not in {e.object_id for e in refusing}
    tele = everything(commune=LANGRES, teleconsultation=True)
    assert role.id in {e.object_id for e in tele} and all(e.teleconsultation for e in tele)
    english = run(commune=LANGRES, language="en")
    assert [e.object_id for e in english.items] == [role.id]
    assert run(commune=LANGRES, language="de").total == 0


def test_open_now_follows_hours_and_exceptions(demo_db):
    role = make_role("Horairetest", "Léo", LANGRES)
    location = role.location
    OpeningHours.objects.create(location=location, weekday=0, opens=time(8), closes=time(12))
    monday = date(2026, 3, 2)  # a Monday
    assert monday.weekday() == 0

    def found(at: datetime) -> bool:
        result = search(SearchQuery(text="horairetest", open_now=True), now=at)
        return role.id in {e.object_id for e in result.items}

    assert found(datetime(2026, 3, 2, 10, 0, tzinfo=PARIS))
    assert found(datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("UTC")))  # 10:00 in Paris
    assert not found(datetime(2026, 3, 2, 12, 0, tzinfo=PARIS))  # closing minute excluded
    assert not found(datetime(2026, 3, 3, 10, 0, tzinfo=PARIS))  # Tuesday
    OpeningException.objects.create(
        location=location, start_date=monday, end_date=monday, closed=True, label="fermé"
    )
    assert not found(datetime(2026, 3, 2, 10, 0, tzinfo=PARIS))
    OpeningException.objects.create(
        location=location,
        start_date=date(2026, 3, 3),
        end_date=date(2026, 3, 3),
        closed=False,
        opens=time(14),
        closes=time(16),
    )
    assert found(datetime(2026, 3, 3, 15, 0, tzinfo=PARIS))
    assert not found(datetime(2026, 3, 3, 10, 0, tzinfo=PARIS))


def test_kind_filter(demo_db):
    structures = run(text="langres", kind="organization", page_size=100)
    assert structures.total > 0 and {e.kind for e in structures.items} == {"organization"}
    roles = run(text="langres", kind="role", page_size=100)
    assert roles.total > 0 and {e.kind for e in roles.items} == {"role"}


def test_structure_kind_filter(demo_db):
    org = Organization.objects.create(
        name="Maison de santé Testville", kind="msp", commune_id=LANGRES, source=Source.MANUAL
    )
    reindex_objects([org])
    result = run(structure_kind="msp", commune=LANGRES)
    assert org.id in {e.object_id for e in result.items if e.kind == "organization"}
    assert all(e.structure_kind == "msp" for e in result.items)


def test_pagination(demo_db):
    area = {"profession": "infirmier", "near": "Chaumont", "radius_km": 15}
    first = run(page_size=7, **area)
    second = run(page_size=7, page=2, **area)
    assert first.total == second.total > 14
    assert first.pages == math.ceil(first.total / 7)
    assert len(first.items) == len(second.items) == 7
    assert not {e.id for e in first.items} & {e.id for e in second.items}
    assert first.items[-1].distance_km <= second.items[0].distance_km
    assert len(everything(**area)) == first.total
    beyond = run(page_size=7, page=first.pages + 1, **area)
    assert beyond.items == []


def test_large_results_are_counted_exactly(demo_db):
    everyone = run(kind="organization")
    assert everyone.total == Organization.objects.count() > 5000
    assert len(everyone.items) == 20 and everyone.pages == math.ceil(everyone.total / 20)
    # The platform's territory (Haute-Marne) first, then by the population of the commune.
    assert all(e.commune.departement_id == "52" for e in everyone.items)
    first = [e.commune.population for e in everyone.items]
    biggest = Commune.objects.filter(departement_id="52").order_by("-population").first()
    assert first == sorted(first, reverse=True) and first[0] == biggest.population  # St-Dizier


# --- private entries ---------------------------------------------------------------------------


def test_private_schemes_and_services_need_include_private(demo_db):
    scheme = Scheme.objects.create(
        slug="cellule-xylophage", name="Cellule Xylophage", kind="dac", public=False
    )
    org = Organization.objects.create(name="Hôpital Xylotest", source=Source.MANUAL)
    service = HealthcareService.objects.create(
        organization=org, name="Ligne xylophage", public=False, source=Source.MANUAL
    )
    reindex_objects([scheme, service])
    assert run(text="xylophage").total == 0
    private = run(text="xylophage", include_private=True)
    assert {(e.kind, e.object_id) for e in private.items} == {
        ("scheme", scheme.id),
        ("service", service.id),
    }


# --- places and bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, code",
    [
        ("52269", LANGRES),
        ("Langres", LANGRES),
        ("langres", LANGRES),
        ("12 rue Diderot 52200 Langres", LANGRES),
        ("52200", LANGRES),  # a postal code first (Langres), not Flagey's INSEE code
        ("52000", CHAUMONT),  # a postal code only: its most populous commune
        ("Saint-Dizier", "52448"),
        ("st dizier", "52448"),
        ("3 place de l'Hôtel de Ville, Saint Dizier", "52448"),
        ("Chaumond", CHAUMONT),
        ("12 rue de la Marne, Chaumont", CHAUMONT),  # the town, not the commune "La Marne"
        ("12 rue de la Marne 52000 Chaumont", CHAUMONT),
        ("Flagey 52250", "52200"),  # what "vouliez-vous dire" links to
    ],
)
def test_resolve_place_codes_names_and_addresses(demo_db, text, code):
    place = resolve_place(text)
    assert place is not None and place.code == code


def test_an_ambiguous_postal_code_offers_the_other_communes(demo_db):
    result = run(text="pharmacie", near="52200")
    assert result.near_label == "Langres"
    labels = [label for label, _text in result.place_alternatives]
    assert labels[0] == "Flagey (code INSEE 52200)"  # the commune whose INSEE code it is
    assert len(labels) == 5 and all("52200" in label for label in labels[1:])
    for label, text in result.place_alternatives:  # each link resolves to what it says
        assert label.startswith(resolve_place(text).name + " (")
    assert run(text="pharmacie", near="Langres").place_alternatives == []


@pytest.mark.parametrize(
    "text, near, first_commune",
    [
        ("pharmacie chaumont", None, CHAUMONT),  # not the Buttes-Chaumont of Paris
        ("pharmacies", None, None),  # plural, the territory first
        ("pharmacies autour de Chaumont", "Chaumont", CHAUMONT),
        ("pharmacie près de Langres", "Langres", LANGRES),
        ("urgences chaumont", "Chaumont", CHAUMONT),  # distances from Chaumont
        ("prise de sang st dizier", None, "52448"),
        ("pharmacie 12 rue de la Marne 52000 Chaumont", "Chaumont", CHAUMONT),  # an address
    ],
)
def test_everyday_phrasing(demo_db, text, near, first_commune):
    result = run(text=text)
    assert result.total and result.near_label == near
    first = result.items[0]
    if first_commune:
        assert first.commune_id == first_commune
    else:
        assert first.commune_id.startswith("52")


def test_unknown_place_gives_an_empty_flagged_result(demo_db):
    result = run(near="Xqzwvillebourg-sur-Rien", radius_km=10)
    assert result.total == 0 and result.items == []
    assert result.place_not_found and result.near_label is None and result.center is None
    assert resolve_place("") is None


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"radius_km": 10}, "near"),
        ({"near": "Langres", "radius_km": -1}, "radius_km"),
        ({"page": 0}, "page"),
        ({"page_size": 101}, "page_size"),
        ({"profession": "astronaute"}, "profession inconnue"),
        ({"specialty": "SM999"}, "spécialité inconnue"),
        ({"kind": "planet"}, "type d'entrée inconnu"),
        ({"structure_kind": "castle"}, "type de structure inconnu"),
        ({"language": "english"}, "ISO 639-1"),
        ({"commune": "Langres"}, "code INSEE"),
    ],
)
def test_bad_input_gives_a_clear_error(demo_db, kwargs, message):
    with pytest.raises(ValueError, match=message):
        run(**kwargs)


def test_unknown_words_give_no_result(demo_db):
    result = run(text="qxwzv")
    assert result.total == 0 and result.corrected_text is None


# --- indexing -----------------------------------------------------------------------------------


def test_reindex_all_is_idempotent(demo_db):
    def snapshot():
        return sorted(
            SearchEntry.objects.values_list("kind", "object_id", "title", "text", "commune_id")
        )

    first_report = reindex_all()
    first = snapshot()
    results = [e.object_id for e in run(text="generaliste chaumont").items]
    second_report = reindex_all()
    assert snapshot() == first
    assert first_report.counts == second_report.counts
    assert (
        first_report.counts["activités"]
        == PractitionerRole.objects.filter(active=True, location__isnull=False).count()
    )
    assert first_report.counts["structures"] == Organization.objects.count()
    assert [e.object_id for e in run(text="generaliste chaumont").items] == results
    # An entry added after a full reindex gets an id of its own (sequences were reset).
    role = make_role("Apresreindex", "Eve", LANGRES)
    assert run(text="apresreindex").items[0].object_id == role.id


def _entry_writes(queries) -> list[str]:
    """The statements among ``queries`` that write the entry table."""
    table = SearchEntry._meta.db_table
    return [
        q["sql"]
        for q in queries
        if table in q["sql"]
        and q["sql"].lstrip().split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}
    ]


def test_reindex_all_of_an_unchanged_directory_writes_nothing(demo_db):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from maillage.directory.search.index import SearchChange, SearchSnapshot

    reindex_all()  # in line with the directory
    before = list(SearchEntry.objects.order_by("id").values_list())
    changes = list(SearchChange.objects.values_list("id", "stamp"))
    snapshots = SearchSnapshot.objects.count()
    with CaptureQueriesContext(connection) as queries:
        report = reindex_all()
    assert _entry_writes(queries.captured_queries) == []
    assert list(SearchEntry.objects.order_by("id").values_list()) == before
    # No change logged, no snapshot rewritten: every process keeps its engine.
    assert list(SearchChange.objects.values_list("id", "stamp")) == changes
    assert SearchSnapshot.objects.count() == snapshots
    assert report.counts["structures"] == Organization.objects.count()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT total_changes()")
            total = cursor.fetchone()[0]
            reindex_all()
            cursor.execute("SELECT total_changes()")
            assert cursor.fetchone()[0] == total  # not one row written, in any table


def test_reindex_all_updates_changed_entries_in_place(demo_db):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    kept = make_role("Gardee", "Anne", LANGRES)
    renamed = make_role("Avantrenommage", "Paul", LANGRES)
    dropped = make_role("Supprimee", "Zoe", CHAUMONT)
    reindex_all()
    before = {(k, o): i for i, k, o in SearchEntry.objects.values_list("id", "kind", "object_id")}
    # Changes made without telling the index (as an import on the snapshot does).
    Practitioner.objects.filter(id=renamed.practitioner_id).update(family_name="Apresrenommage")
    PractitionerRole.objects.filter(id=dropped.id).update(active=False)
    added = make_role("Nouvelle", "Ida", CHAUMONT)
    SearchEntry.objects.filter(kind="role", object_id=added.id).delete()  # not indexed yet
    with CaptureQueriesContext(connection) as queries:
        reindex_all()
    after = {(k, o): i for i, k, o in SearchEntry.objects.values_list("id", "kind", "object_id")}
    # The renamed entry keeps its id, with the new title; every other entry keeps its id.
    assert entry_of(renamed).id == before["role", renamed.id]
    assert entry_of(renamed).title == "Paul Apresrenommage"
    assert entry_of(kept).id == before["role", kept.id]
    del before["role", dropped.id]
    assert {key: after[key] for key in before} == before
    # The entry of the role gone is deleted; the new one gets an id above every earlier one.
    assert set(after) - set(before) == {("role", added.id)}
    assert after["role", added.id] > max(before.values())
    # Statements writing entries: the renamed one rewritten, the new one, the one gone.
    writes = _entry_writes(queries.captured_queries)
    assert 1 <= len(writes) <= 4, writes
    assert [e.title for e in run(text="paul apresrenommage").items] == ["Paul Apresrenommage"]


def test_an_engine_loaded_before_a_full_reindex_ends_as_a_fresh_one(demo_db):
    from maillage.directory.search import service as search_module

    renamed = make_role("Renommee", "Avantprenom", LANGRES)
    dropped = make_role("Disparue", "Lou", CHAUMONT)
    reindex_all()
    queries = [
        {"text": "avantprenom"},
        {"text": "apresprenom renommee"},
        {"text": "lou disparue"},
        {"text": "ajoutee"},
        {"text": "generaliste", "commune": CHAUMONT},
        {"text": "pharmacie langres"},
        {"profession": "infirmier", "near": "Chaumont", "radius_km": 20.0},
    ]
    assert run(**queries[0]).total == 1  # this process's engine is loaded
    loaded = search_module._state
    Practitioner.objects.filter(id=renamed.practitioner_id).update(given_name="Apresprenom")
    PractitionerRole.objects.filter(id=dropped.id).delete()
    added = make_role("Ajoutee", "Nina", CHAUMONT)
    reindex_all()

    def results() -> list[tuple[int, list[int]]]:
        return [
            (found.total, [e.id for e in found.items])
            for found in (run(page_size=50, **q) for q in queries)
        ]

    patched = results()
    assert search_module._state is not loaded
    search_module._state = None  # a new process
    assert results() == patched
    assert patched[0][0] == 0 and patched[1][0] == 1 and patched[2][0] == 0
    assert patched[3][1] == [entry_of(added).id]


def test_a_change_logged_below_the_full_reindex_is_not_lost(demo_db):
    """A review published while an import's full reindex ran on a shadow copy: its change row
    lands below the import's full change, and the import's snapshot does not hold it."""
    from maillage.directory.search import service as search_module
    from maillage.directory.search.index import SearchChange

    role = make_role("Pendantimport", "Alix", LANGRES)
    SearchEntry.objects.filter(kind="role", object_id=role.id).delete()
    reindex_all()  # adds it back: a full change, with its snapshot
    full = SearchChange.objects.get(full=True)
    # What the shadow apply leaves: the entry of the publication, its change below the full one.
    Practitioner.objects.filter(id=role.practitioner_id).update(given_name="Publiee")
    old = entry_of(role).id
    SearchEntry.objects.filter(id=old).delete()
    reindex_objects([role])  # the new entry (a new id) and a change above the full one…
    SearchChange.objects.exclude(id=full.id).update(id=full.id - 1)  # … moved below it
    search_module._state = None  # a new process
    assert [e.object_id for e in run(text="publiee pendantimport").items] == [role.id]
    assert run(text="alix pendantimport").total == 0


def test_reindex_objects_follows_changes_and_deletions(demo_db):
    role = make_role("Avantchangement", "Rose", LANGRES)
    person = role.practitioner
    person.family_name = "Apreschangement"
    person.save()
    reindex_objects([person])
    found = run(text="rose apreschangement").items
    assert [e.object_id for e in found] == [role.id]
    assert found[0].title == "Rose Apreschangement"
    assert run(text="rose avantchangement", kind="scheme").total == 0
    role.active = False
    role.save()
    reindex_objects([role])
    assert run(text="apreschangement").total == 0


def test_an_rpps_import_is_searchable_at_once(demo_db):
    from pathlib import Path

    from maillage.directory.imports.rpps import import_rpps

    extract = Path(__file__).parents[1] / "opendata" / "fixtures"
    import_rpps(extract / "PS_LibreAcces_Personne_activite_extrait.txt")
    found = run(text="bruno test", kind="role")
    assert {e.commune_id for e in found.items} == {CHAUMONT, LANGRES}
    assert all(not e.synthetic for e in found.items)
    # Re-importing replaces the roles: the index follows, without duplicates.
    import_rpps(extract / "PS_LibreAcces_Personne_activite_extrait.txt")
    assert run(text="bruno test", kind="role").total == 2


# --- the in-memory engine and the change log -----------------------------------------------------


def test_a_published_change_is_applied_to_the_loaded_engine(demo_db):
    from maillage.directory.search import service as search_module

    run(text="chaumont")  # the engine is loaded and up to date
    loaded = search_module._state.engine
    role = make_role("Publiee", "Ines", LANGRES)
    assert [e.object_id for e in run(text="ines publiee").items] == [role.id]
    state = search_module._state
    assert state.engine is not loaded and state.engine.appended == loaded.appended + 1
    # The entry it replaced is dropped: one entry, with the new name (the place keeps its name
    # "Cabinet Publiee", still a name word of the entry).
    role.practitioner.family_name = "Renommee"
    role.practitioner.save()
    reindex_objects([role.practitioner])
    assert [e.title for e in run(text="ines publiee").items] == ["Ines Renommee"]
    assert run(text="ines renommee").total == 1


def test_a_rolled_back_change_is_forgotten(demo_db):
    from django.db import transaction

    class Abandon(Exception):
        pass

    with pytest.raises(Abandon), transaction.atomic():
        make_role("Abandonnee", "Lea", LANGRES)
        assert run(text="lea abandonnee").total == 1  # seen inside the transaction
        raise Abandon
    # The change row it stood on is gone: the engine is reloaded, without the entry.
    assert run(text="lea abandonnee").total == 0
    make_role("Suivante", "Lea", LANGRES)
    assert run(text="lea suivante").total == 1 and run(text="lea abandonnee").total == 0


def test_a_full_reindex_saves_the_engine_that_processes_load(demo_db):
    from maillage.directory.search import service as search_module
    from maillage.directory.search.index import SearchChange, SearchSnapshot

    reindex_all()
    change = SearchChange.objects.get()
    assert change.full and SearchSnapshot.objects.filter(change=change).count() > 10
    role = make_role("Apresinstantane", "Noe", CHAUMONT)
    search_module._state = None  # a new process
    assert [e.object_id for e in run(text="noe apresinstantane").items] == [role.id]
    state = search_module._state
    # Loaded from the snapshot, then the partial change after it applied.
    assert state.engine.appended == 1 and state.change_id > change.id
    assert state.engine.n == SearchEntry.objects.count()


# --- the nearest emergency department, whatever the distance ----------------------------------

ED = {
    "saint-dizier": "ch-saint-dizier-urgences",
    "chaumont": "ch-chaumont-urgences",
    "langres": "ch-langres-urgences",
}


def _slug(entry: SearchEntry) -> str | None:
    if entry.kind != "service":
        return None
    return HealthcareService.objects.get(pk=entry.object_id).slug


@pytest.mark.parametrize(
    "kwargs",
    [
        {"text": "urgences joinville"},
        {"text": "urgences près de Joinville"},
        {"text": "urgences", "near": "Joinville"},
        {"text": "urgences", "near": "52300"},
        {"text": "urgences", "near": "Joinville", "radius_km": 10},  # none within 10 km
    ],
)
def test_urgences_from_joinville_lead_with_the_nearest_departments(demo_db, kwargs):
    """Joinville has no emergency department (its hospital is a former hôpital local): the
    departments of Saint-Dizier, Chaumont and Langres come first, nearest first, with their
    distance, whatever the radius; what Joinville itself matches follows."""
    result = run(**kwargs)
    assert result.nearest == "urgences" and result.nearest_count == 3
    first = result.items[:3]
    assert [_slug(e) for e in first] == [ED["saint-dizier"], ED["chaumont"], ED["langres"]]
    distances = [e.distance_km for e in first]
    assert distances == sorted(distances) and 20 < distances[0] < 35, distances
    assert all(e.nearest for e in first) and not any(e.nearest for e in result.items[3:])
    # the hospital of Joinville is no emergency department: never among the nearest ones
    assert all(e.commune_id != "52250" for e in first)
    assert result.near_label == "Joinville"


def test_nearest_departments_keep_the_other_filters_and_page_without_repeats(demo_db):
    assert run(text="urgences joinville", teleconsultation=True).nearest_count == 0
    assert run(text="urgences joinville", kind="organization").nearest_count == 0
    pages = [run(text="urgences", near="Joinville", page=n, page_size=2) for n in (1, 2, 3)]
    ids = [e.id for p in pages for e in p.items]
    assert len(ids) == len(set(ids)) == 6
    assert [_slug(e) for e in pages[1].items][:1] == [ED["langres"]]
    assert pages[0].total == pages[2].total == run(text="urgences", near="Joinville").total


def test_a_word_that_is_not_urgences_puts_nothing_first(demo_db):
    assert run(text="samu joinville").nearest_count == 0
    assert run(text="hôpital joinville").nearest_count == 0


def test_search_page_shows_the_nearest_department_and_its_distance(demo_db, client):
    html = client.get(
        "/annuaire/", {"q": "urgences joinville"}, HTTP_HOST="127.0.0.1"
    ).content.decode()
    assert 'data-testid="nearest-note"' in html
    assert "du plus proche au plus éloigné de Joinville" in html
    first = html[html.index('class="result ') :][:1500]
    assert "Urgences" in first and "GENEVIEVE DE GAULLE" in first.upper()
    assert (
        'data-testid="distance">à 27,4\u202fkm' in first or 'data-testid="distance">à 27,4' in first
    )
