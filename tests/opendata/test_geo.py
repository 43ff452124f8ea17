"""Commune polygons (GeoJSON) and centroids (CSV)."""

from __future__ import annotations

import copy
import gzip
import json

import pytest

from maillage.opendata import geo
from maillage.opendata.errors import DataFormatError

from .conftest import DATA, check_error, head_lines, replace_field, write_lines

SHAPES = DATA / "geo" / "communes-52-et-voisins.geojson.gz"
CENTROIDS = DATA / "geo" / "communes-france-centroids.csv.gz"


@pytest.fixture(scope="module")
def collection() -> dict:
    return json.loads(gzip.decompress(SHAPES.read_bytes()))


def small(collection: dict, count: int = 5) -> dict:
    return {"type": "FeatureCollection", "features": copy.deepcopy(collection["features"][:count])}


def write_pretty(path, document):
    """One feature per line, so that line numbers are meaningful."""
    features = ",\n".join(json.dumps(f) for f in document["features"])
    path.write_text(f'{{"type": "FeatureCollection", "features": [\n{features}\n]}}\n', "utf-8")
    return path


def test_shapes_of_haute_marne_and_neighbours():
    shapes = geo.read_commune_shapes(SHAPES)
    assert list(shapes.columns) == ["code", "name", "departement", "population", "geometry"]
    assert len(shapes) == 3706
    hm = shapes[shapes["departement"] == "52"]
    assert len(hm) == 426 and int(hm["population"].sum()) == 168_331
    assert {g["type"] for g in shapes["geometry"]} <= {"Polygon", "MultiPolygon"}
    assert shapes["departement"].value_counts()["21"] == 698


def test_centroids():
    centroids = geo.read_commune_centroids(CENTROIDS)
    assert list(centroids.columns) == [
        "code",
        "name",
        "departement",
        "latitude",
        "longitude",
        "population",
    ]
    assert len(centroids) == 34_746
    assert int(centroids["population"].sum()) == 66_165_815
    chaumont = centroids.set_index("code").loc["52121"]
    assert chaumont["latitude"] == pytest.approx(48.098, abs=1e-3)
    assert chaumont["longitude"] == pytest.approx(5.140, abs=1e-3)


def test_open_ring(tmp_path, collection):
    document = small(collection)
    ring = document["features"][3]["geometry"]["coordinates"][0]
    ring[-1] = [ring[-1][0] + 0.01, ring[-1][1]]
    path = write_pretty(tmp_path / "shapes.geojson", document)
    with pytest.raises(DataFormatError) as info:
        geo.read_commune_shapes(path)
    check_error(
        info.value,
        path,
        line=5,
        column="features[3].geometry.coordinates[0]",
        expected="anneau fermé",
    )


def test_swapped_or_out_of_range_coordinates(tmp_path, collection):
    document = small(collection)
    ring = document["features"][1]["geometry"]["coordinates"][0]
    ring[2] = [48.5, 200.0]
    path = write_pretty(tmp_path / "shapes.geojson", document)
    with pytest.raises(DataFormatError) as info:
        geo.read_commune_shapes(path)
    check_error(
        info.value,
        path,
        line=3,
        column="features[1].geometry.coordinates[0][2]",
        expected="latitude",
    )


def test_string_coordinate(tmp_path, collection):
    document = small(collection)
    document["features"][0]["geometry"]["coordinates"][0][1] = ["4.6", "48.2"]
    path = write_pretty(tmp_path / "shapes.geojson", document)
    with pytest.raises(DataFormatError) as info:
        geo.read_commune_shapes(path)
    check_error(info.value, path, line=2, column="features[0].geometry.coordinates[0][1]")


def test_point_geometry_refused(tmp_path, collection):
    document = small(collection)
    document["features"][2]["geometry"] = {"type": "Point", "coordinates": [5.1, 48.1]}
    path = write_pretty(tmp_path / "shapes.geojson", document)
    with pytest.raises(DataFormatError) as info:
        geo.read_commune_shapes(path)
    check_error(info.value, path, line=4, column="features[2].geometry.type", expected="Polygon")


def test_bad_property_in_single_line_file_still_has_a_path(tmp_path, collection):
    document = small(collection)
    document["features"][4]["properties"]["departement"] = 52
    path = tmp_path / "shapes.geojson"
    path.write_text(json.dumps(document), "utf-8")  # one line, like the shipped file
    with pytest.raises(DataFormatError) as info:
        geo.read_commune_shapes(path)
    check_error(info.value, path, line=1, column="features[4].properties.departement")


def test_not_a_feature_collection(tmp_path):
    path = tmp_path / "shapes.geojson"
    path.write_text('{"type": "Feature", "features": []}', "utf-8")
    with pytest.raises(DataFormatError, match="FeatureCollection"):
        geo.read_commune_shapes(path)


def test_truncated_geojson_gzip(truncated_gzip):
    path = truncated_gzip(SHAPES, "shapes.geojson.gz")
    with pytest.raises(DataFormatError, match="fichier gzip complet"):
        geo.read_commune_shapes(path)


def test_centroid_latitude_out_of_range(tmp_path):
    lines = head_lines(CENTROIDS, 12)
    lines[7] = replace_field(lines[7], 3, "148.1")
    path = write_lines(tmp_path / "centroids.csv", lines)
    with pytest.raises(DataFormatError) as info:
        geo.read_commune_centroids(path)
    check_error(info.value, path, line=8, column="latitude", expected="entre -90 et 90")


def test_centroid_code_without_leading_zero(tmp_path):
    lines = head_lines(CENTROIDS, 6)
    lines[3] = replace_field(lines[3], 0, "1004")
    path = write_lines(tmp_path / "centroids.csv", lines)
    with pytest.raises(DataFormatError) as info:
        geo.read_commune_centroids(path)
    check_error(info.value, path, line=4, column="code_insee", expected="code commune")
