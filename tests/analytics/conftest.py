"""Fixtures of the analytics tests: a small OpenStreetMap extract written with pyosmium.

The road network (lon/lat in degrees, all at latitude 48, 0.01° of longitude ≈ 744 m):

    7 (48.01, 5.00) ---------- tertiary, two-way, one segment ---------- 6 (48.01, 5.04)
    |  residential, maxspeed=20                                          ^ secondary, oneway 5 -> 6
    1 --- 2 --- 3 --- 4 --- 5     primary, two-way, along latitude 48.00 (lon 5.00 ... 5.04)
                |     |
                8     9           8: footway (not drivable), 9: service with access=private

    10 --- 11 (48.05, 5.10-5.11): an isolated service road (its own component)
    a way 2 -> 99 where node 99 is missing from the file (cut by the extract's border)
"""

from __future__ import annotations

from pathlib import Path

import pytest

NODES = {
    1: (48.00, 5.00),
    2: (48.00, 5.01),
    3: (48.00, 5.02),
    4: (48.00, 5.03),
    5: (48.00, 5.04),
    6: (48.01, 5.04),
    7: (48.01, 5.00),
    8: (47.995, 5.02),
    9: (47.995, 5.03),
    10: (48.05, 5.10),
    11: (48.05, 5.11),
}

WAYS = [
    (100, [1, 2, 3, 4, 5], {"highway": "primary", "name": "D 1"}),
    (101, [5, 6], {"highway": "secondary", "oneway": "yes"}),
    (102, [6, 7], {"highway": "tertiary"}),
    (103, [7, 1], {"highway": "residential", "maxspeed": "20"}),
    (104, [3, 8], {"highway": "footway"}),
    (105, [4, 9], {"highway": "service", "access": "private"}),
    (106, [10, 11], {"highway": "service"}),
    (107, [2, 99], {"highway": "unclassified"}),
    (108, [8, 9], {"building": "yes"}),
]


def write_pbf(path: Path, nodes=NODES, ways=WAYS) -> Path:
    import osmium
    from osmium.osm.mutable import Node, Way

    writer = osmium.SimpleWriter(str(path))
    try:
        for node_id, (lat, lon) in sorted(nodes.items()):
            writer.add_node(Node(id=node_id, location=(lon, lat), version=1))
        for way_id, refs, tags in ways:
            writer.add_way(Way(id=way_id, nodes=refs, tags=tags, version=1))
    finally:
        writer.close()
    return path


@pytest.fixture
def road_pbf(tmp_path: Path) -> Path:
    return write_pbf(tmp_path / "roads.osm.pbf")
