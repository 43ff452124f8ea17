"""Read the drivable road network of an OpenStreetMap extract (``.osm.pbf``) into arrays.

Only what a car router needs is kept: the nodes of drivable ``highway=*`` ways with their
coordinates, and one directed edge per way segment and allowed direction, with its length, road
class and posted speed. :class:`maillage.analytics.roads.RoadGraph` turns that into a graph.

Regional extracts (e.g. Geofabrik's "champagne-ardenne-latest.osm.pbf") are a good size; reading
is a Python loop over ways, so a whole-France extract takes many minutes and several GB of memory:
for national analyses import times from a dedicated router as a table instead
(:mod:`maillage.opendata.costs`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maillage.opendata.errors import DataFormatError

#: Road classes a car can use (OSM ``highway`` values). Tracks, paths, footways, cycleways,
#: ``construction``/``proposed`` and pedestrian areas are left out.
DRIVABLE_HIGHWAYS: frozenset[str] = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "service",
        "road",
    }
)

#: ``access``/``motor_vehicle``/``motorcar`` values that close a way to ordinary cars.
_CLOSED = frozenset({"no", "private", "agricultural", "forestry", "emergency", "delivery"})
_OPEN = frozenset({"yes", "permissive", "destination", "designated"})

#: French implicit speed limits (``maxspeed=FR:...``), km/h. "rural" is the 80 km/h limit of
#: two-lane roads since 1 July 2018 (some départements went back to 90 since 2020).
_IMPLICIT_MAXSPEED = {
    "fr:urban": 50.0,
    "fr:rural": 80.0,
    "fr:trunk": 110.0,
    "fr:motorway": 130.0,
    "fr:zone30": 30.0,
    "fr:zone20": 20.0,
    "fr:walk": 6.0,
}
_NUMERIC_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class RoadNetwork:
    """Drivable roads as arrays (node positions index ``node_ids``/``latitude``/``longitude``).

    Each edge can be driven from ``source`` to ``target``; a two-way segment appears twice, once
    in each direction, a one-way segment once in its legal direction.
    """

    node_ids: np.ndarray  # int64 OSM node ids, shape (n,)
    latitude: np.ndarray  # float64 WGS84 degrees, shape (n,)
    longitude: np.ndarray
    source: np.ndarray  # int64 node positions, shape (m,)
    target: np.ndarray
    length_m: np.ndarray  # float64 great-circle length of the segment, metres
    highway: np.ndarray  # object array of OSM highway values, shape (m,)
    maxspeed_kmh: np.ndarray  # float64 posted speed, NaN if absent or not understood

    @property
    def node_count(self) -> int:
        return int(self.node_ids.size)

    @property
    def edge_count(self) -> int:
        return int(self.source.size)


def parse_maxspeed(value: str | None) -> float:
    """A ``maxspeed`` tag in km/h (``"50"``, ``"30 mph"``, ``"FR:urban"``); NaN otherwise."""
    if not value:
        return math.nan
    match = _NUMERIC_SPEED.match(value)
    if match:
        speed = float(match.group(1))
        if (match.group(2) or "").lower() == "mph":
            speed *= 1.609344
        return speed if speed > 0 else math.nan
    return _IMPLICIT_MAXSPEED.get(value.strip().lower(), math.nan)


def _direction(tags: dict[str, str], highway: str) -> int:
    """+1 forward only, -1 backward only, 0 both ways."""
    oneway = tags.get("oneway", "").strip().lower()
    if oneway in {"yes", "true", "1"}:
        return 1
    if oneway in {"-1", "reverse"}:
        return -1
    if oneway == "no":
        return 0
    if highway in {"motorway", "motorway_link"}:
        return 1
    if tags.get("junction", "") in {"roundabout", "circular"}:
        return 1
    return 0


def _drivable(tags: dict[str, str], highways: frozenset[str]) -> bool:
    if tags.get("highway") not in highways or tags.get("area") == "yes":
        return False
    for key in ("motorcar", "motor_vehicle"):  # the most specific key decides
        value = tags.get(key)
        if value in _CLOSED:
            return False
        if value in _OPEN:
            return True
    return tags.get("access") not in _CLOSED


def read_road_network(
    path: str | Path, highways: frozenset[str] = DRIVABLE_HIGHWAYS
) -> RoadNetwork:
    """Read the drivable ways of an ``.osm.pbf`` (or any format pyosmium reads) into arrays.

    Ways closed to cars (``access=no/private``... unless ``motor_vehicle``/``motorcar`` opens
    them) and ``area=yes`` are skipped; one-way rules follow the OSM wiki (``oneway=yes/-1``,
    implied on motorways and roundabouts). Segments whose node has no location (a way cut by
    the extract's border) are dropped. Raises :class:`DataFormatError` if the file cannot be
    read as OSM data or holds no drivable road.
    """
    import osmium  # imported here so that the rest of maillage does not need it to import

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such OSM file: {path}")

    refs: list[int] = []
    lats: list[float] = []
    lons: list[float] = []
    way_sizes: list[int] = []
    way_direction: list[int] = []
    way_highway: list[str] = []
    way_maxspeed: list[float] = []
    try:
        processor = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for way in processor:
            tags = {tag.k: tag.v for tag in way.tags}
            if not _drivable(tags, highways):
                continue
            size = 0
            for node in way.nodes:
                location = node.location
                refs.append(node.ref)
                if location.valid():
                    lats.append(location.lat)
                    lons.append(location.lon)
                else:
                    lats.append(math.nan)
                    lons.append(math.nan)
                size += 1
            highway = tags["highway"]
            way_sizes.append(size)
            way_direction.append(_direction(tags, highway))
            way_highway.append(highway)
            way_maxspeed.append(parse_maxspeed(tags.get("maxspeed")))
    except RuntimeError as exc:  # libosmium reports format errors as RuntimeError
        raise DataFormatError(path, "un fichier OpenStreetMap (.osm.pbf)", found=str(exc)) from exc

    if not refs:
        raise DataFormatError(path, "au moins une voie routière carrossable", found="aucune")
    ref_array = np.asarray(refs, dtype=np.int64)
    lat_array = np.asarray(lats, dtype=np.float64)
    lon_array = np.asarray(lons, dtype=np.float64)
    sizes = np.asarray(way_sizes, dtype=np.int64)
    way_of = np.repeat(np.arange(sizes.size), sizes)

    # a segment joins consecutive nodes of the same way, both located
    same_way = way_of[1:] == way_of[:-1]
    located = ~np.isnan(lat_array)
    segment = same_way & located[:-1] & located[1:] & (ref_array[1:] != ref_array[:-1])
    first = np.flatnonzero(segment)
    if first.size == 0:
        raise DataFormatError(
            path, "au moins un tronçon routier carrossable dont les nœuds sont localisés"
        )

    node_ids, position = np.unique(ref_array[located], return_index=True)
    latitude = lat_array[located][position]
    longitude = lon_array[located][position]
    u = np.searchsorted(node_ids, ref_array[first])
    v = np.searchsorted(node_ids, ref_array[first + 1])
    length = _haversine_m(latitude[u], longitude[u], latitude[v], longitude[v])

    seg_way = way_of[first]
    direction = np.asarray(way_direction, dtype=np.int8)[seg_way]
    forward = direction >= 0
    backward = direction <= 0
    source = np.concatenate([u[forward], v[backward]])
    target = np.concatenate([v[forward], u[backward]])
    edge_way = np.concatenate([seg_way[forward], seg_way[backward]])
    return RoadNetwork(
        node_ids=node_ids,
        latitude=latitude,
        longitude=longitude,
        source=source.astype(np.int64),
        target=target.astype(np.int64),
        length_m=np.concatenate([length[forward], length[backward]]),
        highway=np.asarray(way_highway, dtype=object)[edge_way],
        maxspeed_kmh=np.asarray(way_maxspeed, dtype=np.float64)[edge_way],
    )


def _haversine_m(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray):
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi = phi2 - phi1
    dlam = np.radians(lon2 - lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlam / 2) ** 2
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
