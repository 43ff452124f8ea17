"""Commune geometry: GeoJSON polygons and the centroid table.

Maps use commune polygons as their base layer and travel-time computations start from commune
centroids, so both are checked before use: a polygon with an open ring or swapped coordinates
would draw wrongly or break a point-in-polygon test far from where the file was read.

Coordinates are WGS84 longitude/latitude (GeoJSON order: ``[lon, lat]``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ._validate import (
    COMMUNE_CODE,
    COMMUNE_CODE_TEXT,
    DEPARTEMENT_CODE,
    DEPARTEMENT_CODE_TEXT,
    Column,
    JsonLocator,
    PathLike,
    json_found,
    load_json,
    read_csv_table,
    validate_json_records,
)

_SHAPE_PROPERTIES = [
    Column("code", "code", pattern=COMMUNE_CODE, expected=COMMUNE_CODE_TEXT),
    Column("nom", "name"),
    Column("departement", "departement", pattern=DEPARTEMENT_CODE, expected=DEPARTEMENT_CODE_TEXT),
    Column("population", "population", kind="int", min=0),
]


def read_commune_shapes(path: PathLike) -> pd.DataFrame:
    """Commune polygons from a GeoJSON FeatureCollection.

    Columns: ``code, name, departement, population, geometry``; ``geometry`` holds the GeoJSON
    geometry dict unchanged (Polygon or MultiPolygon), ready for a map layer or shapely's
    ``shape()``. Properties must be ``code``, ``nom``, ``departement``, ``population`` (the layout
    of ``data/geo``). Each ring must have at least four positions and be closed, each position
    must be ``[lon, lat]`` numbers with lon in [-180, 180] and lat in [-90, 90].
    """
    data, text = load_json(path)
    locator = JsonLocator(path, text, array_key="features")
    if not isinstance(data, Mapping) or data.get("type") != "FeatureCollection":
        found = data.get("type") if isinstance(data, Mapping) else type(data).__name__
        locator.fail(None, "type", 'un objet GeoJSON avec "type": "FeatureCollection"', found)
    features = data.get("features")
    if not isinstance(features, list):
        locator.fail(None, "features", "une liste de features", found=json_found(features))
    properties: list[tuple[int, object]] = []
    for index, feature in enumerate(features):
        if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
            locator.fail(index, "type", 'un objet avec "type": "Feature"', found=_type(feature))
        properties.append((index, feature.get("properties")))
        _check_geometry(locator, index, feature.get("geometry"))
    frame = validate_json_records(
        locator, properties, _SHAPE_PROPERTIES, field_prefix="properties."
    )
    duplicated = frame["code"].duplicated()
    if duplicated.any():
        index = int(duplicated.to_numpy().nonzero()[0][0])
        locator.fail(
            index,
            "properties.code",
            "un code commune utilisé par une seule feature",
            frame["code"][index],
        )
    frame["geometry"] = pd.Series([f["geometry"] for f in features], dtype=object)
    return frame


def _type(value: object) -> str:
    if isinstance(value, Mapping):
        return json_found(value.get("type"))
    return type(value).__name__


def _check_geometry(locator: JsonLocator, index: int, geometry: object) -> None:
    if not isinstance(geometry, Mapping):
        locator.fail(index, "geometry", "un objet géométrie GeoJSON", found=json_found(geometry))
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates")
    if kind == "Polygon":
        polygons, prefix = [coordinates], "geometry.coordinates"
    elif kind == "MultiPolygon":
        if not isinstance(coordinates, list) or not coordinates:
            locator.fail(
                index,
                "geometry.coordinates",
                "une liste non vide de polygones",
                _short(coordinates),
            )
        polygons, prefix = coordinates, "geometry.coordinates[{p}]"
    else:
        locator.fail(index, "geometry.type", '"Polygon" or "MultiPolygon"', json_found(kind))
    for p, polygon in enumerate(polygons):
        where = prefix.format(p=p)
        if not isinstance(polygon, list) or not polygon:
            locator.fail(index, where, "une liste non vide d'anneaux", _short(polygon))
        for r, ring in enumerate(polygon):
            _check_ring(locator, index, f"{where}[{r}]", ring)


def _short(value: object) -> str:
    text = json_found(value)
    return text if len(text) <= 50 else text[:47] + "..."


def _check_ring(locator: JsonLocator, index: int, where: str, ring: object) -> None:
    if not isinstance(ring, list) or len(ring) < 4:
        locator.fail(index, where, "un anneau d'au moins 4 positions", _short(ring))
    array = np.asarray(ring) if _regular(ring) else None
    if array is None or array.dtype.kind not in "if" or array.ndim != 2:
        for k, position in enumerate(ring):
            if (
                not isinstance(position, list)
                or len(position) not in (2, 3)
                or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in position)
            ):
                locator.fail(index, f"{where}[{k}]", "a position [longitude, latitude]", position)
        array = np.asarray(ring, dtype=float)
    lon, lat = array[:, 0], array[:, 1]
    bad = ~np.isfinite(lon) | ~np.isfinite(lat) | (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        locator.fail(
            index,
            f"{where}[{k}]",
            "[longitude, latitude] avec la longitude dans [-180, 180] et la latitude "
            "dans [-90, 90]",
            found=ring[k],
        )
    if not np.array_equal(array[0, :2], array[-1, :2]):
        locator.fail(
            index,
            where,
            "un anneau fermé (dernière position égale à la première)",
            found=f"première {ring[0]}, dernière {ring[-1]}",
        )


def _regular(ring: Sequence[object]) -> bool:
    """True if every position is a list of the same length (so numpy gives a 2-D array)."""
    first = ring[0]
    if not isinstance(first, list) or len(first) not in (2, 3):
        return False
    size = len(first)
    return all(isinstance(p, list) and len(p) == size for p in ring)


_CENTROIDS = [
    Column("code_insee", "code", pattern=COMMUNE_CODE, expected=COMMUNE_CODE_TEXT),
    Column("nom", "name"),
    Column("departement", "departement", pattern=DEPARTEMENT_CODE, expected=DEPARTEMENT_CODE_TEXT),
    Column("latitude", "latitude", kind="float", min=-90, max=90),
    Column("longitude", "longitude", kind="float", min=-180, max=180),
    Column("population", "population", kind="int", min=0),
]


def read_commune_centroids(path: PathLike) -> pd.DataFrame:
    """Commune centroids (``data/geo/communes-france-centroids.csv``).

    Columns: ``code, name, departement, latitude, longitude, population``. These are centroids of
    the commune polygons, not town-hall positions (see ``data/geo/SOURCES.md``); they are the
    origins/destinations of commune-level travel-time computations.
    """
    return read_csv_table(path, _CENTROIDS, unique=["code"]).frame
