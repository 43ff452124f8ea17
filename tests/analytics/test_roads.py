"""OpenStreetMap reader and road-graph travel times, on the generated extract of conftest.py."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from scipy.sparse.csgraph import dijkstra

from maillage.analytics import roads
from maillage.analytics.roads import ACCESS_SPEED_KMH, HIGHWAY_SPEEDS_KMH, RoadGraph
from maillage.opendata.errors import DataFormatError
from maillage.opendata.osm import parse_maxspeed, read_road_network

from .conftest import NODES, write_pbf

R = 6371.0088


def km(a, b):
    """Haversine distance between two (lat, lon) tuples, km (independent of the code)."""
    (lat1, lon1), (lat2, lon2) = np.radians(a), np.radians(b)
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * R * np.arcsin(np.sqrt(h))


# Segment lengths: 0.01° of longitude at 48° N = 0.744040 km; 0.01° of latitude = 1.111951 km;
# 0.04° of longitude at 48.01° N = 2.975584 km.
EAST = km(NODES[1], NODES[2])
NORTH = km(NODES[5], NODES[6])
TOP = km(NODES[6], NODES[7])


def at(*node_ids, prefix="n"):
    return pd.DataFrame(
        [(f"{prefix}{n}", *NODES[n]) for n in node_ids], columns=["id", "latitude", "longitude"]
    ).set_index("id")


def test_segment_lengths_by_hand():
    assert EAST == pytest.approx(0.744040, abs=1e-6)
    assert NORTH == pytest.approx(1.111951, abs=1e-6)
    assert TOP == pytest.approx(2.975584, abs=1e-6)


def test_read_road_network(road_pbf):
    network = read_road_network(road_pbf)
    # footway 3-8, private service 4-9, the building and the segment to the missing node are out
    assert sorted(network.node_ids.tolist()) == [1, 2, 3, 4, 5, 6, 7, 10, 11]
    pairs = {
        (int(network.node_ids[u]), int(network.node_ids[v]))
        for u, v in zip(network.source, network.target, strict=True)
    }
    assert (5, 6) in pairs and (6, 5) not in pairs  # oneway=yes
    assert {(1, 2), (2, 1), (6, 7), (7, 6), (7, 1), (1, 7), (10, 11), (11, 10)} <= pairs
    assert network.edge_count == 15  # 4×2 primary + 1 oneway + 2 tertiary + 2 residential + 2
    residential = network.highway == "residential"
    assert np.all(network.maxspeed_kmh[residential] == 20)
    assert np.allclose(network.length_m[network.highway == "secondary"], NORTH * 1000, rtol=1e-9)


def test_hand_computed_times(road_pbf):
    graph = RoadGraph.from_pbf(road_pbf)
    costs = graph.costs(at(1, 6), at(3, 5, 7), max_minutes=60)
    m = costs.to_frame().set_index(["origin", "destination"])["minutes"]
    primary = EAST / 70 * 60  # 0.637749 min per 744 m segment at 70 km/h
    # 1 -> 3: two primary segments
    assert m[("n1", "n3")] == pytest.approx(2 * primary, rel=1e-12)
    # 1 -> 7: residential capped by maxspeed=20 (< 30): 1.111951 km at 20 km/h = 3.335853 min
    assert m[("n1", "n7")] == pytest.approx(NORTH / 20 * 60, rel=1e-12)
    # 6 -> 5: the secondary is one-way 5 -> 6, so 6 -> 7 (tertiary, 50 km/h) -> 1 (residential,
    # 20 km/h) -> 5 (4 primary segments): 3.570701 + 3.335853 + 2.550995 = 9.457549 min
    expected = TOP / 50 * 60 + NORTH / 20 * 60 + 4 * primary
    assert expected == pytest.approx(9.457549, abs=1e-6)
    assert m[("n6", "n5")] == pytest.approx(expected, rel=1e-12)
    # and 5 -> 6 takes the one-way secondary directly: 1.111951 km at 60 km/h
    back = graph.costs(at(5), at(6), max_minutes=60).matrix[0, 0]
    assert back == pytest.approx(NORTH, rel=1e-12)


def test_snapping_adds_the_access_time_and_same_place_is_zero(road_pbf):
    graph = RoadGraph.from_pbf(road_pbf)
    # 0.001° north of node 3: 0.111195 km of gap at 20 km/h = 0.333585 min
    near3 = pd.DataFrame({"latitude": [48.001], "longitude": [5.02]}, index=["p"])
    costs = graph.costs(near3, at(3, 4), max_minutes=10)
    gap = km((48.001, 5.02), NODES[3]) / ACCESS_SPEED_KMH * 60
    assert gap == pytest.approx(0.333585, abs=1e-6)
    assert costs.matrix[0, 0] == pytest.approx(gap, rel=1e-9)
    assert costs.matrix[0, 1] == pytest.approx(gap + EAST / 70 * 60, rel=1e-9)
    # two places on the same node: 0 minutes, kept as an explicit zero
    same = graph.costs(at(2), at(2, prefix="site"), max_minutes=5)
    assert same.nnz == 1 and same.matrix.data.tolist() == [0.0]


def test_isolated_component_is_not_snapped_to(road_pbf):
    graph = RoadGraph.from_pbf(road_pbf)
    nodes, gap_km = graph.snap(at(10))  # exactly on the isolated service road
    assert graph.node_ids[nodes[0]] != 10 and graph.node_ids[nodes[0]] in {1, 2, 3, 4, 5, 6, 7}
    assert gap_km[0] > 4


def test_cutoff_is_inclusive_and_matches_unlimited_dijkstra(road_pbf, monkeypatch):
    graph = RoadGraph.from_pbf(road_pbf)
    everything = at(1, 2, 3, 4, 5, 6, 7)
    full = dijkstra(graph.graph, directed=True)
    idx = {int(n): i for i, n in enumerate(graph.node_ids)}
    ids = [idx[n] for n in (1, 2, 3, 4, 5, 6, 7)]
    expected = full[np.ix_(ids, ids)]
    for cutoff in (1.0, 2.0, 5.0, 100.0):
        costs = graph.costs(everything, everything, max_minutes=cutoff)
        dense = np.full(costs.shape, np.inf)
        frame = costs.to_frame()
        dense[
            costs.origin_ids.get_indexer(frame["origin"]),
            costs.destination_ids.get_indexer(frame["destination"]),
        ] = frame["minutes"]
        assert np.allclose(np.where(expected <= cutoff, expected, np.inf), dense, rtol=1e-12)
    # a pair exactly at the cut-off is kept
    exact = float(expected[0, 2])
    assert graph.costs(at(1), at(3), max_minutes=exact).nnz == 1
    # small work arrays force one origin per Dijkstra batch: same answer
    monkeypatch.setattr(roads, "_MAX_DENSE", 1)
    chunked = graph.costs(everything, everything, max_minutes=100.0)
    assert (chunked.matrix != graph.costs(everything, everything, 100.0).matrix).nnz == 0


def test_speeds_are_documented_and_configurable(road_pbf):
    assert HIGHWAY_SPEEDS_KMH["primary"] == 70 and "footway" not in HIGHWAY_SPEEDS_KMH
    slow = RoadGraph.from_pbf(road_pbf, speeds={**HIGHWAY_SPEEDS_KMH, "primary": 35.0})
    minutes = slow.costs(at(1), at(2), max_minutes=10).matrix[0, 0]
    assert minutes == pytest.approx(EAST / 35 * 60, rel=1e-12)


def test_parse_maxspeed():
    assert parse_maxspeed("50") == 50
    assert parse_maxspeed("30 mph") == pytest.approx(48.28, abs=0.01)
    assert parse_maxspeed("FR:urban") == 50
    assert np.isnan(parse_maxspeed("signals")) and np.isnan(parse_maxspeed(None))


def test_bad_files(tmp_path):
    garbage = tmp_path / "garbage.osm.pbf"
    garbage.write_bytes(b"this is not a protobuf file at all" * 10)
    with pytest.raises(DataFormatError, match="garbage.osm.pbf.*OpenStreetMap"):
        RoadGraph.from_pbf(garbage)
    truncated = tmp_path / "truncated.osm.pbf"
    truncated.write_bytes(write_pbf(tmp_path / "ok.osm.pbf").read_bytes()[:-20])
    with pytest.raises(DataFormatError):
        read_road_network(truncated)
    gz = tmp_path / "roads.osm.pbf.gz"
    gz.write_bytes(gzip.compress(b"junk"))
    with pytest.raises(DataFormatError):
        read_road_network(gz)
    with pytest.raises(FileNotFoundError):
        read_road_network(tmp_path / "missing.osm.pbf")
    only_paths = write_pbf(tmp_path / "paths.osm.pbf", ways=[(1, [1, 2], {"highway": "footway"})])
    with pytest.raises(DataFormatError, match="carrossable"):
        read_road_network(only_paths)
