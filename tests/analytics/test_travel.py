"""Travel-time model and cost matrices."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from maillage.analytics.travel import (
    EARTH_RADIUS_KM,
    CostMatrix,
    TravelModel,
    costs_from_table,
    intra_minutes_from_area,
    model_costs,
)
from maillage.paths import shipped_data_dir


def haversine_km(lat1, lon1, lat2, lon2):
    """Independent great-circle formula (haversine) for the checks."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))


def points(rows):
    return pd.DataFrame(rows, columns=["id", "latitude", "longitude"]).set_index("id")


def test_default_model_values():
    model = TravelModel()
    assert (model.speed_kmh, model.detour_factor, model.intra_commune_minutes) == (60, 1.3, 3)


@pytest.mark.parametrize(
    "kwargs",
    [{"speed_kmh": 0}, {"speed_kmh": -5}, {"detour_factor": 0.9}, {"intra_commune_minutes": -1}],
)
def test_model_rejects_nonsense(kwargs):
    with pytest.raises(ValueError):
        TravelModel(**kwargs)


def test_hand_computed_pair():
    # Two points on the equator 0.1° apart: 6371.0088 km × 0.1 × π/180 = 11.119508 km.
    # By road: × 1.3 = 14.455360 km; at 60 km/h (1 km/min): 14.455360 min; + 3 min intra
    # = 17.455360 min.
    origins = points([("A", 0.0, 0.0)])
    destinations = points([("X", 0.0, 0.1)])
    costs = model_costs(origins, destinations, max_minutes=30)
    assert costs.matrix[0, 0] == pytest.approx(17.455360, abs=1e-6)
    # cut-off below it: the pair is not stored at all
    assert model_costs(origins, destinations, max_minutes=17.4).nnz == 0


def test_cutoff_is_inclusive():
    origins = points([("A", 48.0, 5.0)])
    destinations = points([("X", 48.1, 5.2)])
    exact = model_costs(origins, destinations, max_minutes=1000).matrix[0, 0]
    assert model_costs(origins, destinations, max_minutes=exact).nnz == 1
    assert model_costs(origins, destinations, max_minutes=exact - 1e-9).nnz == 0


def test_same_id_gets_intra_time_and_close_points_at_least_intra():
    origins = points([("52121", 48.10, 5.14), ("52448", 48.63, 4.95)])
    destinations = points(
        [
            ("52121", 48.20, 5.30),  # same id, placed ~15 km away: still the intra time
            ("site", 48.63, 4.95),  # same place as 52448, another id: at least the intra time
        ]
    )
    costs = model_costs(origins, destinations, max_minutes=20)
    frame = costs.to_frame().set_index(["origin", "destination"])["minutes"]
    assert frame[("52121", "52121")] == 3.0
    assert frame[("52448", "site")] == pytest.approx(3.0)
    assert ("52448", "52121") not in frame.index  # ~60 km: beyond 20 minutes


def test_zero_minute_pairs_survive():
    # with no intra-commune time, a commune to itself takes 0 minutes: it must stay stored
    model = TravelModel(intra_commune_minutes=0)
    places = points([("a", 47.0, 5.0), ("b", 47.05, 5.0)])
    costs = model_costs(places, places, max_minutes=15, model=model)
    assert costs.nnz == 4
    assert costs.matrix[0, 0] == 0.0 and costs.matrix[1, 1] == 0.0
    frame = costs.to_frame()
    assert len(frame) == 4 and (frame["minutes"] == 0).sum() == 2
    assert costs.nearest().tolist() == [0.0, 0.0]
    weights = costs.map_values(lambda m: m * 0)  # zero values keep their place in the structure
    assert weights.nnz == 4


def test_matches_brute_force():
    rng = np.random.default_rng(1)
    o = points([(f"o{i}", 47.5 + rng.random(), 4.5 + rng.random()) for i in range(120)])
    d = points([(f"d{j}", 47.5 + rng.random(), 4.5 + rng.random()) for j in range(40)])
    costs = model_costs(o, d, max_minutes=25)
    km = haversine_km(
        o["latitude"].to_numpy()[:, None],
        o["longitude"].to_numpy()[:, None],
        d["latitude"].to_numpy()[None, :],
        d["longitude"].to_numpy()[None, :],
    )
    expected = 3 + km * 1.3 / 60 * 60
    within = expected <= 25
    dense = costs.matrix.toarray()
    assert costs.nnz == within.sum() > 100
    assert np.array_equal(dense > 0, within)
    assert np.allclose(dense[within], expected[within], rtol=0, atol=1e-9)


def test_intra_minutes_from_area_and_override():
    # 16 km²: r = sqrt(16/π) = 2.25676 km; mean distance to centre 2r/3 = 1.50451 km;
    # × 1.3 = 1.95586 km by road; at 40 km/h = 2.93379 min
    assert intra_minutes_from_area(16.0) == pytest.approx(2.93379, abs=1e-5)
    origins = points([("a", 47.0, 5.0), ("b", 47.0, 5.0)])
    origins["intra_minutes"] = [1.5, np.nan]  # NaN: the model's constant
    destinations = points([("x", 47.0, 5.0)])
    costs = model_costs(origins, destinations, max_minutes=10)
    assert costs.matrix.toarray()[:, 0].tolist() == [1.5, 3.0]


@pytest.mark.parametrize(
    "frame, message",
    [
        (pd.DataFrame({"lat": [1.0]}, index=["a"]), "latitude and longitude"),
        (points([("a", np.nan, 5.0)]), "WGS84"),
        (points([("a", 95.0, 5.0)]), "WGS84"),
        (points([("a", 47.0, 5.0), ("a", 47.1, 5.0)]), "unique"),
    ],
)
def test_model_costs_bad_input(frame, message):
    with pytest.raises(ValueError, match=message):
        model_costs(frame, points([("x", 47.0, 5.0)]), max_minutes=10)


def test_model_costs_bad_cutoff_and_empty():
    o = points([("a", 47.0, 5.0)])
    with pytest.raises(ValueError):
        model_costs(o, o, max_minutes=-1)
    with pytest.raises(ValueError):
        model_costs(o, o, max_minutes=math.nan)
    empty = model_costs(o, o.iloc[:0], max_minutes=10)
    assert empty.shape == (1, 0) and empty.nearest().isna().all()


def test_nearest_and_restrict():
    table = pd.DataFrame(
        {
            "origin": ["a", "a", "b", "c"],
            "destination": ["x", "y", "y", "x"],
            "minutes": [12.0, 7.0, 25.0, 0.0],
        }
    )
    costs = costs_from_table(table, origin_ids=["a", "b", "c", "d"])
    assert costs.nearest().to_dict() == pytest.approx(
        {"a": 7.0, "b": 25.0, "c": 0.0, "d": np.nan}, nan_ok=True
    )
    # only destinations of one kind
    assert costs.nearest(among=["x", "unknown"]).tolist() == pytest.approx(
        [12.0, np.nan, 0.0, np.nan], nan_ok=True
    )
    short = costs.restrict(12)
    assert short.max_minutes == 12 and short.nnz == 3
    assert short.nearest().tolist() == pytest.approx([7.0, np.nan, 0.0, np.nan], nan_ok=True)


def test_costs_from_table_roundtrip_and_options():
    table = pd.DataFrame(
        {
            "origin": ["01001", "01001", "01002", "01003"],
            "destination": ["S1", "S2", "S1", "S9"],
            "minutes": [0.0, 22.5, 30.0, 5.0],
        }
    )
    costs = costs_from_table(table, max_minutes=22.5)
    assert list(costs.origin_ids) == ["01001", "01002", "01003"]  # order of first appearance
    assert costs.max_minutes == 22.5
    frame = costs.to_frame()
    assert frame.values.tolist() == [
        ["01001", "S1", 0.0],
        ["01001", "S2", 22.5],
        ["01003", "S9", 5.0],
    ]
    restricted = costs_from_table(table, origin_ids=["01002", "01001"], destination_ids=["S1"])
    assert restricted.matrix.toarray().tolist() == [[30.0], [0.0]]
    assert restricted.max_minutes is None


@pytest.mark.parametrize(
    "rows, message",
    [
        ([("a", "x", -1.0)], "non-negative"),
        ([("a", "x", np.nan)], "non-negative"),
        ([("a", "x", "abc")], "non-negative"),
        ([("a", "x", 1.0), ("a", "x", 2.0)], "duplicated pair origin='a'"),
        ([(None, "x", 1.0)], "missing"),
    ],
)
def test_costs_from_table_bad(rows, message):
    table = pd.DataFrame(rows, columns=["origin", "destination", "minutes"])
    with pytest.raises(ValueError, match=message):
        costs_from_table(table)


def test_costs_from_table_missing_column():
    with pytest.raises(ValueError, match="minutes"):
        costs_from_table(pd.DataFrame({"origin": ["a"], "destination": ["b"], "time": [1]}))


def test_cost_matrix_validation():
    ids = pd.Index(["a", "b"])
    with pytest.raises(ValueError, match="shape"):
        CostMatrix(sp.csr_matrix((2, 3)), ids, ids)
    with pytest.raises(ValueError, match="unique"):
        CostMatrix(sp.csr_matrix((2, 2)), pd.Index(["a", "a"]), ids)
    with pytest.raises(ValueError, match="non-negative"):
        CostMatrix(sp.csr_matrix(np.array([[-1.0, 0], [0, 0]])), ids, ids)
    duplicated = sp.coo_matrix((np.array([1.0, 2.0]), (np.array([0, 0]), np.array([1, 1]))), (2, 2))
    with pytest.raises(ValueError, match="duplicate"):
        CostMatrix(duplicated, ids, ids)
    # a COO with an explicit zero becomes a CSR that keeps it
    zero = sp.coo_matrix((np.array([0.0]), (np.array([1]), np.array([0]))), (2, 2))
    costs = CostMatrix(zero, ids, ids)
    assert costs.nnz == 1 and costs.nearest()["b"] == 0.0


def test_national_matrix_shape():
    """All communes × 10,000 sites within 30 min (speed: benchmarks/bench_e2sfca.py)."""
    communes = pd.read_csv(
        shipped_data_dir() / "geo" / "communes-france-centroids.csv.gz",
        dtype={"code_insee": str},
        usecols=["code_insee", "latitude", "longitude", "population"],
    ).set_index("code_insee")
    rng = np.random.default_rng(7)
    pick = rng.choice(
        len(communes), 10_000, p=communes["population"] / communes["population"].sum()
    )
    sites = pd.DataFrame(
        {
            "latitude": communes["latitude"].to_numpy()[pick] + rng.normal(0, 0.005, 10_000),
            "longitude": communes["longitude"].to_numpy()[pick] + rng.normal(0, 0.005, 10_000),
        },
        index=[f"S{i}" for i in range(10_000)],
    )
    costs = model_costs(communes, sites, max_minutes=30)
    assert costs.shape == (34_746, 10_000) and costs.nnz > 500_000
    assert costs.to_frame()["minutes"].max() <= 30
