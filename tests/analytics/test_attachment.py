"""Priority and matching of the waiting list for a médecin traitant (pure, no database)."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest
import yaml

from maillage.analytics import attachment as att

DATA = Path(__file__).resolve().parents[2] / "src/maillage/care/attachment/data/priority.yaml"


@pytest.fixture
def weights() -> att.Weights:
    return att.weights_from_mapping(yaml.safe_load(DATA.read_text(encoding="utf-8")))


# --- priority --------------------------------------------------------------------------------


def test_the_score_adds_the_shipped_weights_and_explains_each_point(weights):
    answers = att.Answers(ald=True, age=74, c2s=True, months_without_gp=30, teleconsultations=2)
    result = att.score(answers, weights)
    # ALD 30 + 70 ans 20 + C2S 10 + 24 months (capped) × 1 + 2 teleconsultations × 3
    assert result.total == 30 + 20 + 10 + 24 + 6
    assert [c for c, _, _ in result.explanation] == [
        "ald", "age_70", "c2s", "months_without_gp", "teleconsultations",
    ]  # fmt: skip
    assert ("months_without_gp", "Mois sans médecin traitant (24)", 24) in result.explanation
    assert sum(p for _, _, p in result.explanation) == result.total
    assert "Affection de longue durée (ALD) : +30" in result.lines()


def test_nothing_counted_means_zero_and_an_empty_explanation(weights):
    result = att.score(att.Answers(age=40), weights)
    assert result.total == 0 and result.explanation == ()


def test_weights_are_data_the_cpts_changes(weights):
    data = weights.as_mapping()
    data["criteria"]["pregnancy"]["points"] = 80
    data["criteria"]["ald"]["points"] = 0
    changed = att.weights_from_mapping(data)
    result = att.score(att.Answers(ald=True, pregnancy=True, age=30), changed)
    assert result.total == 80
    assert [c for c, _, _ in result.explanation] == ["pregnancy"]  # 0 points: not listed


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["criteria"].pop("c2s"), "Le critère « c2s » manque."),
        (lambda d: d["criteria"].__setitem__("poids", {"label": "x", "points": 1}), "inconnu"),
        (lambda d: d["criteria"]["ald"].__setitem__("points", -5), "n'est pas entre 0 et 1000"),
        (lambda d: d["criteria"]["ald"].__setitem__("points", "beaucoup"), "un nombre est attendu"),
        (lambda d: d["criteria"]["ald"].__setitem__("points", 2.5), "nombre entier"),
        (lambda d: d["criteria"]["months_without_gp"].pop("cap"), "Plafond"),
        (lambda d: d["matching"].__setitem__("points_per_km", 1e6), "Points par kilomètre"),
    ],
)
def test_weights_that_make_no_sense_are_refused_in_french(weights, change, message):
    data = weights.as_mapping()
    change(data)
    with pytest.raises(att.WeightsError, match=message):
        att.weights_from_mapping(data)


# --- matching --------------------------------------------------------------------------------

# Saint-Dizier, Wassy, Joinville (Haute-Marne) and Chaumont, roughly
SD, WASSY, JOINVILLE, CHAUMONT = (48.64, 4.95), (48.50, 4.95), (48.44, 5.14), (48.11, 5.14)


def _greedy(seekers, gps, weights):
    """Most urgent first, to the nearest GP with room: what the optimum must beat."""
    left = {g.id: g.capacity for g in gps}
    chosen = []
    for s in sorted(seekers, key=lambda s: -s.priority):
        options = sorted(
            (att.distance_km(s.point, g.point), g.id)
            for g in gps
            if left[g.id] > 0
            and att.eligible(s, g)
            and att.gain(s, att.distance_km(s.point, g.point), weights) > 0
        )
        if options:
            left[options[0][1]] -= 1
            chosen.append((s.id, options[0][1]))
    return chosen


def test_the_optimum_places_both_where_greedy_places_only_the_most_urgent(weights):
    # Anne (80 points) lives in Saint-Dizier, which both GPs serve; Bernard (40 points) lives
    # in Chaumont, which only the GP practising in Saint-Dizier serves.
    anne = att.Seeker(1, 80, "52448", SD, 75)
    bernard = att.Seeker(2, 40, "52121", CHAUMONT, 50)
    near = att.Gp(10, 1, SD, communes=frozenset({"52448", "52121"}))
    far = att.Gp(11, 1, WASSY, communes=frozenset({"52448"}))
    greedy = _greedy([anne, bernard], [near, far], weights)
    assert greedy == [(1, 10)]  # Anne takes the nearest, Bernard has nobody left
    result = att.match([anne, bernard], [near, far], weights)
    pairs = sorted((a.seeker, a.gp) for a in result.assignments)
    assert pairs == [(1, 11), (2, 10)]
    assert result.objective > att.objective(greedy, [anne, bernard], [near, far], weights)
    assert result.objective == pytest.approx(
        att.objective(pairs, [anne, bernard], [near, far], weights)
    )
    to_far = next(a for a in result.assignments if a.seeker == 1)
    assert "priorité 80 points" in to_far.reasons
    assert "commune desservie par ce médecin" in to_far.reasons
    assert any(r.startswith("un médecin plus proche (à 0.0 km)") for r in to_far.reasons)


def test_capacity_radius_and_age_groups_are_respected(weights):
    child = att.Seeker(1, 10, "52250", JOINVILLE, 8)
    senior = att.Seeker(2, 50, "52250", JOINVILLE, 82)
    far_away = att.Seeker(3, 90, "52121", CHAUMONT, 40)
    adults_only = att.Gp(
        10, 5, SD, radius_km=40, age_groups=frozenset({"adult", "senior"})
    )  # Joinville is ~25 km away, Chaumont ~60
    result = att.match([child, senior, far_away], [adults_only], weights)
    assert [(a.seeker, a.gp) for a in result.assignments] == [(2, 10)]
    assert sorted(result.unplaced) == [1, 3]
    assert "dans son rayon de 40 km" in result.assignments[0].reasons
    full = att.Gp(11, 0, JOINVILLE, communes=frozenset({"52250"}))
    assert att.match([senior], [full], weights).assignments == []


def test_more_urgent_people_win_when_capacity_is_short(weights):
    people = [att.Seeker(i, p, "52448", SD, 40) for i, p in enumerate([5, 60, 30, 90])]
    gp = att.Gp(1, 2, SD, communes=frozenset({"52448"}))
    result = att.match(people, [gp], weights)
    assert sorted(a.seeker for a in result.assignments) == [1, 3]  # 60 and 90 points


def test_distance_trades_against_priority_as_the_weights_say(weights):
    # a GP 100 km away is not worth it when a km costs 2 points and placing is worth 100
    seeker = att.Seeker(1, 50, "21231", (47.32, 5.04), 40)  # Dijon
    gp = att.Gp(1, 1, SD, radius_km=300)
    costly = att.weights_from_mapping(
        {**weights.as_mapping(), "matching": {"placement_points": 100, "points_per_km": 2}}
    )
    assert att.match([seeker], [gp], weights).assignments  # 100 + 50 - 1 × ~150 > 0
    assert not att.match([seeker], [gp], costly).assignments


def _exact(seekers, gps, weights) -> float:
    """The best objective by enumerating every assignment (tiny instances only)."""
    options = [[None] + [g.id for g in gps if att.eligible(s, g)] for s in seekers]
    best = 0.0
    for choice in itertools.product(*options):
        pairs = [(s.id, g) for s, g in zip(seekers, choice, strict=True) if g is not None]
        try:
            best = max(best, att.objective(pairs, seekers, gps, weights))
        except ValueError:
            continue
    return best


def test_the_matching_equals_exhaustive_search_on_random_small_instances(weights):
    rng = random.Random(7)
    communes = {"52448": SD, "52550": WASSY, "52250": JOINVILLE, "52121": CHAUMONT}
    codes = list(communes)
    beaten = 0
    for _ in range(40):
        seekers = []
        for i in range(rng.randint(1, 6)):
            code = rng.choice(codes)
            seekers.append(
                att.Seeker(i, rng.randint(0, 120), code, communes[code], rng.randint(1, 95))
            )
        gps = []
        for j in range(rng.randint(1, 3)):
            served = frozenset(rng.sample(codes, rng.randint(0, 3)))
            groups = frozenset(rng.sample(list(att.AGE_GROUPS), rng.randint(1, 3)))
            gps.append(
                att.Gp(
                    100 + j,
                    rng.randint(0, 2),
                    communes[rng.choice(codes)],
                    served,
                    rng.choice([None, 20.0, 60.0]),
                    groups,
                )  # fmt: skip
            )
        result = att.match(seekers, gps, weights)
        exact = _exact(seekers, gps, weights)
        assert result.objective == pytest.approx(exact)
        pairs = [(a.seeker, a.gp) for a in result.assignments]
        assert att.objective(pairs, seekers, gps, weights) == pytest.approx(exact)
        if att.objective(_greedy(seekers, gps, weights), seekers, gps, weights) < exact - 1e-6:
            beaten += 1
    assert beaten > 0  # greedy is really worse on some of them


def test_nobody_to_place_or_no_gp(weights):
    assert att.match([], [att.Gp(1, 3, SD)], weights).assignments == []
    result = att.match([att.Seeker(1, 10, "52448", SD, 30)], [], weights)
    assert result.assignments == [] and result.unplaced == [1]
