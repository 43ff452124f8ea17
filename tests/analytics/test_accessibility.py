"""E2SFCA accessibility, stepped weights and aggregation, on cases computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from maillage.analytics.accessibility import (
    DEFAULT_GP_WEIGHTS,
    aggregate,
    check_weights,
    e2sfca,
    format_weights,
    parse_weights,
    standardised_population,
    step_weights,
    weighted_mean,
)
from maillage.analytics.travel import costs_from_table, model_costs
from maillage.paths import shipped_data_dir


def table(rows):
    return pd.DataFrame(rows, columns=["origin", "destination", "minutes"])


# --- weights ---------------------------------------------------------------------------------


def test_default_gp_weights_and_inclusive_bounds():
    assert DEFAULT_GP_WEIGHTS == ((10, 1.0), (15, 2 / 3), (20, 1 / 3))
    minutes = np.array([0, 9.99, 10, 10.0001, 15, 15.5, 20, 20.01, 45, np.nan])
    expected = [1, 1, 1, 2 / 3, 2 / 3, 1 / 3, 1 / 3, 0, 0, 0]
    assert step_weights(minutes, DEFAULT_GP_WEIGHTS).tolist() == pytest.approx(expected)


def test_step_weights_rejects_negative_minutes():
    with pytest.raises(ValueError):
        step_weights(np.array([-1.0]))


def test_parse_weights():
    assert parse_weights("10:1,15:0.6667,20:0.3333") == ((10, 1), (15, 0.6667), (20, 0.3333))
    assert parse_weights(" 10 : 1 , 15:2/3, 20:1/3 ") == DEFAULT_GP_WEIGHTS
    assert format_weights(DEFAULT_GP_WEIGHTS) == "10:1,15:0.6666666667,20:0.3333333333"
    roundtrip = np.ravel(parse_weights(format_weights(DEFAULT_GP_WEIGHTS)))
    assert roundtrip == pytest.approx(np.ravel(DEFAULT_GP_WEIGHTS), rel=1e-9)
    assert check_weights({20: 0.5, 10: 1}) == ((10, 1), (20, 0.5))  # PySAL step_fn style


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("10:1,,20:0.5", "empty item"),
        ("10", "bound:weight"),
        ("10:1:2", "bound:weight"),
        ("ten:1", "not a number"),
        ("10:1/0", "not a number"),
        ("15:1,10:0.5", "strictly increasing"),
        ("10:1,10:0.5", "strictly increasing"),
        ("10:1.5", r"within \[0, 1\]"),
        ("10:-0.1", r"within \[0, 1\]"),
        ("1:10", r"within \[0, 1\]"),
        ("10:0.5,20:1", "not increase"),
        ("-5:1", ">= 0"),
        ("inf:1", "finite"),
    ],
)
def test_parse_weights_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_weights(text)


# --- E2SFCA by hand --------------------------------------------------------------------------

HAND = table(
    [
        ("a", "x", 5.0),  # W = 1
        ("a", "y", 12.0),  # W = 2/3
        ("b", "x", 10.0),  # W = 1 (10 is inclusive)
        ("c", "y", 20.0),  # W = 1/3 (20 is inclusive)
        ("c", "x", 25.0),  # W = 0 (beyond 20)
    ]
)


def test_e2sfca_hand_case():
    demand = pd.Series({"a": 100.0, "b": 200.0, "c": 300.0})
    supply = pd.Series({"x": 1.0, "y": 2.0})
    costs = costs_from_table(HAND, max_minutes=30)
    result = e2sfca(demand, supply, costs)
    # Step 1, weighted demand at each site:
    #   x: 100×1 + 200×1 + 300×0 = 300            → R_x = 1/300
    #   y: 100×2/3 + 300×1/3 = 66.667 + 100 = 166.667 → R_y = 2/166.667 = 0.012
    # Step 2:
    #   A_a = 1×(1/300) + 2/3×0.012 = 0.0033333 + 0.008 = 0.0113333
    #   A_b = 1×(1/300)                               = 0.0033333
    #   A_c = 1/3×0.012 + 0×(1/300)                   = 0.004
    assert result.to_dict() == pytest.approx({"a": 0.0113333333, "b": 1 / 300, "c": 0.004})
    # supply is distributed, not created: Σ P_i A_i = Σ S_j = 3
    assert (result * demand).sum() == pytest.approx(3.0)


def test_e2sfca_zero_minutes_count_with_full_weight():
    # a commune and a practice in the same place (0 min): the pair must not be lost.
    # x: weighted demand 50×1 + 150×1 (10 min) = 200 → R_x = 4/200 = 0.02; A_a = A_b = 0.02
    costs = costs_from_table(table([("a", "x", 0.0), ("b", "x", 10.0)]), max_minutes=20)
    result = e2sfca(pd.Series({"a": 50.0, "b": 150.0}), pd.Series({"x": 4.0}), costs)
    assert result.tolist() == pytest.approx([0.02, 0.02])


def test_e2sfca_conventions_without_demand_or_supply():
    # y is reached only by c, whose demand is 0: R_y = 0 (not inf); d reaches nothing: A_d = 0
    # x: weighted demand 100 → R_x = 0.01; A_a = 0.01; A_c = 0 (x is 25 min away from c)
    costs = costs_from_table(
        table([("a", "x", 1.0), ("c", "y", 3.0), ("c", "x", 25.0)]),
        max_minutes=30,
        origin_ids=["a", "c", "d"],
    )
    result = e2sfca(pd.Series({"a": 100.0, "c": 0.0}), pd.Series({"x": 1.0, "y": 5.0}), costs)
    assert result.to_dict() == {"a": 0.01, "c": 0.0, "d": 0.0}


def test_e2sfca_custom_weights_and_missing_ids_count_as_zero():
    # 2SFCA as a special case: one step, weight 1 up to 30 min.
    # x: demand a 100 + b 0 (absent from demand) = 100 → R_x = 2/100; A_a = A_b = 0.02
    costs = costs_from_table(table([("a", "x", 5.0), ("b", "x", 25.0), ("b", "y", 5.0)]))
    result = e2sfca(pd.Series({"a": 100.0}), pd.Series({"x": 2.0}), costs, weights=((30, 1.0),))
    assert result.to_dict() == pytest.approx({"a": 0.02, "b": 0.02})


def test_e2sfca_refuses_a_cutoff_shorter_than_the_weights():
    costs = costs_from_table(HAND, max_minutes=15)
    with pytest.raises(ValueError, match="max_minutes >= 20"):
        e2sfca(pd.Series({"a": 1.0}), pd.Series({"x": 1.0}), costs)


@pytest.mark.parametrize(
    "demand, supply, message",
    [
        (pd.Series({"zzz": 1.0}), pd.Series({"x": 1.0}), "not origins"),
        (pd.Series({"a": 1.0}), pd.Series({"q": 1.0}), "not destinations"),
        (pd.Series({"a": -1.0}), pd.Series({"x": 1.0}), "non-negative"),
        (pd.Series({"a": np.nan}), pd.Series({"x": 1.0}), "finite"),
        (pd.Series({"a": 1.0}), pd.Series({"x": np.inf}), "finite"),
        (pd.Series([1.0, 2.0], index=["a", "a"]), pd.Series({"x": 1.0}), "unique"),
    ],
)
def test_e2sfca_bad_input(demand, supply, message):
    costs = costs_from_table(HAND, max_minutes=30)
    with pytest.raises(ValueError, match=message):
        e2sfca(demand, supply, costs)


def test_e2sfca_national_scale_distributes_all_supply():
    communes = pd.read_csv(
        shipped_data_dir() / "geo" / "communes-france-centroids.csv.gz",
        dtype={"code_insee": str},
        usecols=["code_insee", "latitude", "longitude", "population"],
    ).set_index("code_insee")
    rng = np.random.default_rng(3)
    pick = rng.choice(
        len(communes), 10_000, p=communes["population"] / communes["population"].sum()
    )
    sites = communes.iloc[pick][["latitude", "longitude"]].set_axis(
        [f"S{i}" for i in range(10_000)]
    )
    supply = pd.Series(rng.integers(1, 6, 10_000).astype(float), index=sites.index)
    demand = communes["population"].astype(float)
    costs = model_costs(communes[["latitude", "longitude"]], sites, max_minutes=20)
    result = e2sfca(demand, supply, costs)  # speed: benchmarks/bench_e2sfca.py
    # every site is in a commune (W = 1 there), so all supply is distributed
    assert (result * demand).sum() == pytest.approx(supply.sum(), rel=1e-9)


# --- aggregation -----------------------------------------------------------------------------


def test_weighted_mean_by_hand_and_nan_safe():
    values = pd.Series({"a": 2.0, "b": 4.0, "c": np.nan, "d": 10.0})
    weights = pd.Series({"a": 1.0, "b": 3.0, "c": 5.0, "d": np.nan, "e": 7.0})
    # only a and b have both: (2×1 + 4×3) / (1 + 3) = 14 / 4 = 3.5
    assert weighted_mean(values, weights) == 3.5
    assert np.isnan(weighted_mean(values.iloc[:0], weights))
    assert np.isnan(weighted_mean(pd.Series({"a": 1.0}), pd.Series({"a": 0.0})))
    with pytest.raises(ValueError):
        weighted_mean(values, -weights)


def test_aggregate_by_group():
    values = pd.Series({"52001": 2.0, "52002": 4.0, "10001": 1.0, "10002": np.nan, "99999": 5.0})
    weights = pd.Series({"52001": 1.0, "52002": 3.0, "10001": 2.0, "10002": 8.0, "99999": 1.0})
    groups = pd.Series({"52001": "52", "52002": "52", "10001": "10", "10002": "10", "70001": "70"})
    result = aggregate(values, weights, groups)
    # 52: (2×1 + 4×3)/4 = 3.5; 10: 1 (10002 is NaN, skipped); 70: no value → NaN;
    # 99999 has no group → left out
    assert result.to_dict() == pytest.approx({"10": 1.0, "52": 3.5, "70": np.nan}, nan_ok=True)
    assert list(result.index) == ["10", "52", "70"]


def test_standardised_population():
    counts = pd.DataFrame({"0-59": [800.0, 100.0], "60+": [200.0, 900.0]}, index=["young", "old"])
    rates = {"0-59": 4.0, "60+": 8.0}  # consultations per inhabitant per year
    # mean rate: (900×4 + 1100×8) / 2000 = (3600 + 8800)/2000 = 6.2
    # young: (800×4 + 200×8)/6.2 = 4800/6.2 = 774.19; old: (100×4 + 900×8)/6.2 = 7600/6.2 = 1225.81
    result = standardised_population(counts, rates)
    assert result.to_dict() == pytest.approx({"young": 774.1935, "old": 1225.8065}, abs=1e-4)
    assert result.sum() == pytest.approx(2000.0)
    with pytest.raises(ValueError, match="no rate"):
        standardised_population(counts, {"0-59": 1.0})
