"""The in-memory search engine (``maillage.directory.search.engine``), without Django.

Random directories are searched both by the engine and by a plain Python filter written from the
definition of each condition; the two must agree exactly, including after appended entries,
removals and a regrouping.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from maillage.directory.search.engine import (
    COLUMNS,
    RANK_LIMIT,
    Criteria,
    Engine,
    Word,
    cells_around,
    haversine_km,
    prefix_span,
    prefix_upper_bound,
)

WORDS = "martin martine marty dupont durand chaumont langres cabinet centre sante kine".split()
COMMUNES = ["52121", "52269", "52448", "75056", "69123", ""]
PROFS = [("10", "SM54"), ("10", "SM02"), ("60", ""), ("70", ""), ("", "")]


def frame(n: int, rng: np.random.Generator, first_id: int = 1) -> pd.DataFrame:
    rows = []
    for i in range(n):
        prof, spec = PROFS[rng.integers(len(PROFS))]
        lat = None if rng.random() < 0.03 else float(47.5 + rng.random() * 1.5)
        lon = None if lat is None else float(4.5 + rng.random() * 1.5)
        words = sorted(set(rng.choice(WORDS, size=rng.integers(0, 4)).tolist()))
        rows.append(
            (
                first_id + i,
                ("role", "organization", "scheme", "service")[rng.integers(4)],
                1000 + i,
                bool(rng.random() < 0.9),
                prof,
                spec,
                ("msp", "cabinet", "hopital", "")[rng.integers(4)],
                COMMUNES[rng.integers(len(COMMUNES))] or None,
                lat,
                lon,
                (None, True, False)[rng.integers(3)],
                bool(rng.random() < 0.2),
                ("", ",fr,", ",fr,en,", ",de,")[rng.integers(4)],
                int(rng.integers(1, 50)) if rng.random() < 0.8 else None,
                int(rng.integers(0, 100_000)),
                " ".join(words),
            )
        )
    return pd.DataFrame.from_records(rows, columns=COLUMNS)


def matches(row, c: Criteria, communes_of: dict[str, list[str]]) -> bool:
    """The definition of every condition, row by row."""
    if c.public_only and not row.public:
        return False
    if c.kind and row.kind != c.kind:
        return False
    if c.commune and row.commune_id != c.commune:
        return False
    if c.professions is not None and not any(
        row.profession_code == p and (s is None or row.specialty_code in s)
        for p, s in c.professions
    ):
        return False
    if c.structure_kind and row.structure_kind != c.structure_kind:
        return False
    if c.accepts_new_patients is not None and row.accepts_new_patients != c.accepts_new_patients:
        return False
    if c.teleconsultation is not None and row.teleconsultation != c.teleconsultation:
        return False
    if c.language and f",{c.language}," not in row.languages:
        return False
    for w in c.words:
        name = any(t.startswith(w.prefix) for t in row.words.split())
        commune = row.commune_id in w.communes
        prof = any(
            row.profession_code == p and (s is None or row.specialty_code in s)
            for p, s in w.professions
        )
        if not (name or commune or prof):
            return False
    if c.center and c.radius_km:
        if row.latitude is None or math.isnan(row.latitude):
            return False
        d = haversine_km(*c.center, np.array([row.latitude]), np.array([row.longitude]))[0]
        if d > c.radius_km:
            return False
    return True


def expected(f: pd.DataFrame, c: Criteria) -> list[int]:
    return sorted(int(r.id) for r in f.itertuples() if matches(r, c, {}))


def titles_of(f: pd.DataFrame):
    """The titles provider of Engine.page: here the entry's words stand for its title."""
    by_id = dict(zip(f["id"].tolist(), f["words"].tolist(), strict=True))
    return lambda ids: {i: by_id[i] for i in ids}


def found(engine: Engine, c: Criteria) -> list[int]:
    return sorted(int(i) for i in engine.ids[engine.select(c).positions])


CRITERIA = [
    Criteria(),
    Criteria(public_only=False),
    Criteria(words=[Word("mar")]),
    Criteria(words=[Word("martin"), Word("cab")]),
    Criteria(words=[Word("chaumont", communes=["52121"])]),
    Criteria(
        words=[
            Word("gen", professions=[("10", frozenset({"SM54"}))]),
            Word("langres", communes=["52269"]),
        ]
    ),  # fmt: skip
    Criteria(words=[Word("kine", professions=[("70", None)])], accepts_new_patients=True),
    Criteria(professions=[("10", None)], commune="52121"),
    Criteria(professions=[("60", None), ("10", frozenset({"SM02"}))], kind="role"),
    Criteria(structure_kind="msp", teleconsultation=True),
    Criteria(language="en", accepts_new_patients=False),
    Criteria(center=(48.1, 5.1), radius_km=20),
    Criteria(words=[Word("sante")], center=(48.0, 5.3), radius_km=35, kind="organization"),
    Criteria(words=[Word("zzz")]),
    Criteria(commune="99999"),
]


@pytest.mark.parametrize("criteria", CRITERIA)
def test_select_agrees_with_the_definition(criteria):
    rng = np.random.default_rng(7)
    f = frame(3000, rng)
    assert found(Engine.build(f), criteria) == expected(f, criteria)


@pytest.mark.parametrize("criteria", CRITERIA)
def test_appended_and_removed_entries_are_searched_like_the_others(criteria):
    rng = np.random.default_rng(11)
    base, later = frame(2000, rng), frame(500, rng, first_id=5000)
    # Removed entries exist when they are removed (or were removed already: idempotent).
    first = [int(i) for i in rng.choice(np.r_[base["id"], later["id"][:200]], 100, replace=False)]
    second = [int(i) for i in rng.choice(np.r_[base["id"], later["id"]], 200, replace=False)]
    removed = first + second
    engine = Engine.build(base).extend(later.iloc[:200], first)
    engine = engine.extend(later.iloc[200:], second)
    everything = pd.concat([base, later], ignore_index=True)
    alive = everything[~everything["id"].isin(removed)]
    assert found(engine, criteria) == expected(alive, criteria)
    assert engine.appended == 500


def test_a_large_append_regroups_and_answers_the_same():
    rng = np.random.default_rng(13)
    base, block = frame(1000, rng), frame(1000, rng)
    many = pd.concat([block] * 60, ignore_index=True)
    many["id"] = np.arange(10_000, 10_000 + len(many))
    engine = Engine.build(base).extend(many, [])
    assert engine.by_cell.size == engine.n == 61_000  # sorted orders rebuilt over everything
    everything = pd.concat([base, many], ignore_index=True)
    for criteria in CRITERIA[2:8]:
        assert len(found(engine, criteria)) == len(expected(everything, criteria))


def test_a_new_word_is_found_by_prefix_after_an_append():
    rng = np.random.default_rng(3)
    base = frame(100, rng)
    new = frame(1, rng, first_id=1000)
    new.loc[0, "words"] = "xylophage"
    new.loc[0, "public"] = True
    engine = Engine.build(base).extend(new, [])
    assert engine.name_count("xylo") == 1
    assert found(engine, Criteria(words=[Word("xylo")])) == [1000]
    assert engine.term_counts()["xylophage"] == 1


def test_pages_follow_distance_title_and_population():
    rng = np.random.default_rng(5)
    f = frame(RANK_LIMIT * 4, rng)
    engine = Engine.build(f)
    center = (48.2, 5.2)
    # Beyond RANK_LIMIT candidates, near a place: the nearest first, found through rings.
    selection = engine.select(Criteria(public_only=False, center=center))
    assert len(selection.positions) > RANK_LIMIT
    page = engine.page(selection, [], center, 40, 20, titles_of(f))
    located = f.dropna(subset=["latitude"])
    d = haversine_km(*center, located["latitude"].to_numpy(), located["longitude"].to_numpy())
    order = located["id"].to_numpy()[np.lexsort((located["id"].to_numpy(), d))]
    assert page == [int(i) for i in order[40:60]]
    # Without a place: dispositifs first (a few dozen, they would sink under thousands of
    # roles), then the biggest commune population.
    selection = engine.select(Criteria(public_only=False))
    top = engine.page(selection, [], None, 0, 10, titles_of(f))
    ranked = f.assign(scheme=f["kind"] == "scheme").sort_values(
        ["scheme", "weight", "id"], ascending=[False, False, True]
    )
    assert top == ranked["id"].tolist()[:10]
    # The platform's territory first: its entries lead, by population, with its dispositifs
    # that have no commune (a DAC, a PTA: they are the platform's own).
    top = engine.page(selection, [], None, 0, 10, titles_of(f), home=["52269"])
    own = (f["commune_id"] == "52269") | ((f["kind"] == "scheme") & f["commune_id"].isna())
    home = (
        f[own]
        .assign(scheme=f["kind"] == "scheme")
        .sort_values(["scheme", "weight", "id"], ascending=[False, False, True])
    )
    assert top == home["id"].tolist()[:10]
    # A commune named whole in the query comes before the territory.
    top = engine.page(selection, [], None, 0, 10, titles_of(f), home=["52269"], place=["52121"])
    chaumont = (
        f[f["commune_id"] == "52121"]
        .assign(scheme=f["kind"] == "scheme")
        .sort_values(["scheme", "weight", "id"], ascending=[False, False, True])
    )
    assert top == chaumont["id"].tolist()[:10]
    # Few candidates: titles starting with the query come first.
    selection = engine.select(Criteria(words=[Word("marty")], public_only=False))
    page = engine.page(selection, ["marty"], None, 0, 1000, titles_of(f))
    titles = [f.set_index("id").loc[i, "words"] for i in page]
    ranks = [0 if t.startswith("marty") else 1 for t in titles]
    assert ranks == sorted(ranks)


def test_open_now_uses_the_place_or_the_service_hours():
    rng = np.random.default_rng(9)
    f = frame(400, rng)
    engine = Engine.build(f)
    c = Criteria(
        public_only=False,
        open_locations=np.array([3, 4]),
        open_services=np.array([1001, 1002]),
        services_with_hours=np.array([1001, 1002, 1003]),
    )
    want = sorted(
        int(r.id)
        for r in f.itertuples()
        if (
            (r.object_id in (1001, 1002))
            or (r.object_id not in (1001, 1002, 1003) and r.location_id in (3, 4))
            if r.kind == "service"
            else r.location_id in (3, 4)
        )
    )
    assert found(engine, c) == want


def test_prefix_helpers_and_cells():
    assert prefix_upper_bound("chaumon") == "chaumoo"
    assert prefix_upper_bound("zz") is None
    words = ["chaumont", "chaumontel", "chaumouse", "langres"]
    assert prefix_span(words, "chaumon") == (0, 2)
    assert prefix_span(words, "z") == (4, 4)
    # The cells around a point cover every point of the circle.
    rng = np.random.default_rng(1)
    lat = 48 + rng.random(5000) - 0.5
    lon = 5 + rng.random(5000) - 0.5
    d = haversine_km(48.0, 5.0, lat, lon)
    from maillage.directory.search.engine import cell_of

    inside = cell_of(lat[d <= 25], lon[d <= 25])
    assert set(inside.tolist()) <= set(cells_around(48.0, 5.0, 25).tolist())


def test_unknown_kind_is_refused():
    f = frame(3, np.random.default_rng(2))
    f.loc[0, "kind"] = "bidule"
    with pytest.raises(ValueError, match="bidule"):
        Engine.build(f)


def test_a_saved_engine_answers_like_the_original():
    rng = np.random.default_rng(17)
    f = frame(2000, rng)
    engine = Engine.build(f)
    parts = engine.dump()
    loaded = Engine.load(parts)
    for criteria in CRITERIA:
        assert found(loaded, criteria) == found(engine, criteria)
    assert loaded.term_counts() == engine.term_counts()
    later = frame(10, rng, first_id=9000)
    assert found(loaded.extend(later, [1, 2]), CRITERIA[0]) == found(
        engine.extend(later, [1, 2]), CRITERIA[0]
    )
    with pytest.raises(ValueError, match="built whole"):
        engine.extend(later, []).dump()
    del parts["terms.words"]
    with pytest.raises(ValueError, match="terms.words"):
        Engine.load(parts)
