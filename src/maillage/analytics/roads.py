"""Travel times on a road graph built from OpenStreetMap.

A :class:`RoadGraph` is a directed graph whose edges are road segments weighted by driving
minutes (length ÷ a speed per road class, capped by the posted ``maxspeed``). Places (communes,
practices) are snapped to the nearest node of the graph's main component; the snapping gap is
driven at ``access_speed_kmh``. Shortest times come from ``scipy.sparse.csgraph.dijkstra`` with
``limit`` = the cut-off, so the search stops early and the result is a sparse
:class:`~maillage.analytics.travel.CostMatrix` like every other source of times.

Use it for a département or a région from a regional extract; for national matrices, compute the
times with a dedicated router (OSRM, Valhalla...) and import them as a table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from maillage.analytics.travel import (
    CostMatrix,
    _csr_from_pairs,
    _unit_vectors,
    great_circle_km,
)
from maillage.opendata.osm import RoadNetwork, read_road_network

#: Mean free-flow car speed per OSM road class, km/h - *average* speeds including bends,
#: junctions and slowing down in villages, not legal limits. Derived from the French limits
#: (130 motorways, 110 dual carriageways, 80 two-lane roads outside built-up areas since 2018,
#: 50 in built-up areas, 30 in "zones 30", 20 in "zones de rencontre") with a realisation factor
#: of about 0.75-0.85 on open roads and lower on small or urban roads; they sit a little above
#: OSRM's default car profile, which is tuned for congested networks, and are consistent with the
#: 60 km/h of :class:`~maillage.analytics.travel.TravelModel` for a rural mix of secondary and
#: tertiary roads. A posted ``maxspeed`` lower than the class speed caps it.
HIGHWAY_SPEEDS_KMH: dict[str, float] = {
    "motorway": 110.0,
    "motorway_link": 60.0,
    "trunk": 90.0,
    "trunk_link": 50.0,
    "primary": 70.0,
    "primary_link": 40.0,
    "secondary": 60.0,
    "secondary_link": 35.0,
    "tertiary": 50.0,
    "tertiary_link": 30.0,
    "unclassified": 40.0,
    "residential": 30.0,
    "living_street": 15.0,
    "service": 20.0,
    "road": 30.0,
}

#: Speed over the straight-line gap between a place and its snapped node (km/h): that gap is
#: driven on lanes, tracks and driveways missing from the graph; 20 km/h on the straight line is
#: about 26 km/h on a road 1.3 times longer.
ACCESS_SPEED_KMH = 20.0

#: Dense work arrays of Dijkstra are kept below this many float64 (~160 MB).
_MAX_DENSE = 20_000_000


@dataclass
class RoadGraph:
    """A directed road graph: ``graph[u, v]`` = minutes to drive from node ``u`` to node ``v``.

    ``snappable`` marks the nodes places may be snapped to: the largest strongly connected
    component, so that a place is never snapped to an isolated car park or a one-way dead end
    from which nothing can be reached.
    """

    graph: sp.csr_matrix
    latitude: np.ndarray
    longitude: np.ndarray
    node_ids: np.ndarray | None = None
    snappable: np.ndarray | None = None
    _tree: cKDTree | None = field(default=None, init=False, repr=False)
    _tree_nodes: np.ndarray | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        n = self.graph.shape[0]
        if (
            self.graph.shape != (n, n)
            or self.latitude.shape != (n,)
            or self.longitude.shape != (n,)
        ):
            raise ValueError("RoadGraph: graph must be n × n with n coordinates")
        if self.snappable is None:
            self.snappable = _largest_strong_component(self.graph)

    @classmethod
    def from_network(
        cls,
        network: RoadNetwork,
        speeds: Mapping[str, float] = HIGHWAY_SPEEDS_KMH,
        *,
        use_maxspeed: bool = True,
    ) -> RoadGraph:
        """Weight each edge by ``length ÷ speed``; road classes without a speed are dropped.

        Parallel edges keep the fastest one. With ``use_maxspeed``, a posted speed lower than the
        class speed caps it (a 30 km/h town centre, a 70 km/h bend).
        """
        speed = np.array([float(speeds.get(h, math.nan)) for h in network.highway], dtype=float)
        if use_maxspeed:
            posted = network.maxspeed_kmh
            speed = np.where(np.isfinite(posted) & (posted > 0), np.fmin(speed, posted), speed)
        keep = np.isfinite(speed) & (speed > 0) & (network.source != network.target)
        u, v = network.source[keep], network.target[keep]
        minutes = network.length_m[keep] / 1000.0 / speed[keep] * 60.0
        n = network.node_count
        # fastest of parallel edges: sort by (u, v, minutes), keep the first of each (u, v)
        order = np.lexsort((minutes, v, u))
        u, v, minutes = u[order], v[order], minutes[order]
        first = np.ones(u.size, dtype=bool)
        first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        graph = _csr_from_pairs(u[first], v[first], minutes[first], (n, n), presorted=True)
        return cls(graph, network.latitude, network.longitude, node_ids=network.node_ids)

    @classmethod
    def from_pbf(
        cls,
        path: str | Path,
        speeds: Mapping[str, float] = HIGHWAY_SPEEDS_KMH,
        *,
        use_maxspeed: bool = True,
    ) -> RoadGraph:
        """Read an ``.osm.pbf`` extract (see :func:`maillage.opendata.osm.read_road_network`).

        Only road classes with a speed in ``speeds`` are read (add e.g. ``"track"`` to it to
        route on tracks). Raises
        :class:`~maillage.opendata.errors.DataFormatError` on a file that is not OSM data.
        """
        network = read_road_network(path, highways=frozenset(speeds))
        return cls.from_network(network, speeds, use_maxspeed=use_maxspeed)

    @property
    def node_count(self) -> int:
        return int(self.graph.shape[0])

    def snap(self, places: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Nearest snappable node of each place, and the straight-line gap in km."""
        xyz = _unit_vectors(places, "places")
        if self._tree is None:
            nodes = np.flatnonzero(self.snappable)
            if nodes.size == 0:
                raise ValueError("RoadGraph has no node to snap to (empty graph)")
            frame = pd.DataFrame(
                {"latitude": self.latitude[nodes], "longitude": self.longitude[nodes]}
            )
            self._tree = cKDTree(_unit_vectors(frame, "road nodes"))
            self._tree_nodes = nodes
        if len(places) == 0:
            return np.empty(0, dtype=np.int64), np.empty(0)
        chord, position = self._tree.query(xyz, k=1)
        return self._tree_nodes[position], great_circle_km(chord)

    def costs(
        self,
        origins: pd.DataFrame,
        destinations: pd.DataFrame,
        max_minutes: float,
        *,
        access_speed_kmh: float = ACCESS_SPEED_KMH,
    ) -> CostMatrix:
        """Driving minutes from each origin to each destination, within ``max_minutes``.

        ``origins``/``destinations``: indexed by id, columns ``latitude``, ``longitude``.
        Minutes = gap(origin → its node) + shortest path + gap(node → destination), gaps at
        ``access_speed_kmh``. The cut-off is inclusive. Places snapped to the same node are 0
        minutes apart on the graph (only the gaps count), so two points at the same location are
        0 minutes apart and kept as an explicit zero.
        """
        if not (math.isfinite(max_minutes) and max_minutes >= 0):
            raise ValueError(
                f"max_minutes must be a finite non-negative number, got {max_minutes!r}"
            )
        if not (math.isfinite(access_speed_kmh) and access_speed_kmh > 0):
            raise ValueError("access_speed_kmh must be positive")
        o_node, o_km = self.snap(origins)
        d_node, d_km = self.snap(destinations)
        o_min = o_km / access_speed_kmh * 60.0
        d_min = d_km / access_speed_kmh * 60.0
        shape = (len(origins), len(destinations))
        rows_out, cols_out, vals_out = [], [], []
        if shape[0] and shape[1]:
            limit = max_minutes - float(o_min.min()) - float(d_min.min())
            if limit >= 0:
                unique_nodes, origin_row = np.unique(o_node, return_inverse=True)
                by_node = np.argsort(origin_row, kind="stable")
                starts = np.searchsorted(origin_row[by_node], np.arange(unique_nodes.size + 1))
                chunk = max(1, _MAX_DENSE // max(self.node_count, shape[1], 1))
                for lo in range(0, unique_nodes.size, chunk):
                    hi = min(lo + chunk, unique_nodes.size)
                    graph_minutes = dijkstra(
                        self.graph, directed=True, indices=unique_nodes[lo:hi], limit=limit
                    )[:, d_node]
                    members = by_node[starts[lo] : starts[hi]]  # origins snapped in this chunk
                    total = (
                        o_min[members, None]
                        + graph_minutes[origin_row[members] - lo]
                        + d_min[None, :]
                    )
                    r, c = np.nonzero(total <= max_minutes)
                    rows_out.append(members[r])
                    cols_out.append(c)
                    vals_out.append(total[r, c])
        if rows_out:
            rows, cols, vals = (np.concatenate(x) for x in (rows_out, cols_out, vals_out))
        else:
            rows = cols = np.empty(0, dtype=np.int64)
            vals = np.empty(0)
        matrix = _csr_from_pairs(rows, cols, vals, shape)
        return CostMatrix(
            matrix, pd.Index(origins.index), pd.Index(destinations.index), float(max_minutes)
        )


def _largest_strong_component(graph: sp.csr_matrix) -> np.ndarray:
    n = graph.shape[0]
    if n == 0:
        return np.zeros(0, dtype=bool)
    count, labels = connected_components(graph, directed=True, connection="strong")
    sizes = np.bincount(labels, minlength=count)
    largest = labels == int(np.argmax(sizes))
    if sizes.max() <= 1:  # no cycle at all (e.g. a single one-way road): fall back to weak
        _, labels = connected_components(graph, directed=True, connection="weak")
        largest = labels == int(np.argmax(np.bincount(labels)))
    return largest
