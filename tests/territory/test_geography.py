"""The COG import agrees with the COG, and territories are named as the CLI promises."""

from __future__ import annotations

import gzip
import json

import pytest

from maillage.opendata.errors import DataFormatError
from maillage.territory.models import Commune, Territory
from maillage.territory.services import (
    GeographyFiles,
    UnknownTerritory,
    import_geography,
    resolve,
)


def _population(territory: Territory) -> int:
    return sum(territory.communes.values_list("population", flat=True))


def test_departement_52_matches_cog(demo_db):
    t = resolve("departement:52")
    assert t.communes.count() == 426
    assert _population(t) == 168_331
    assert t.name == "Haute-Marne"


def test_arrondissements_and_epci(demo_db):
    chaumont = resolve("arrondissement:521")
    assert (chaumont.communes.count(), _population(chaumont)) == (158, 60_377)
    langres = resolve("arrondissement:522")
    assert (langres.communes.count(), _population(langres)) == (157, 42_230)
    agglo = resolve("epci:200068666")
    assert agglo.communes.count() == 60
    # the CPTS spans two départements (Haute-Marne and Marne), as its health project says
    assert set(agglo.communes.values_list("departement_id", flat=True)) == {"51", "52"}


def test_predefined_territories(demo_db):
    centre_sud = resolve("centre-sud-haute-marne")
    assert centre_sud.communes.count() == 158 + 157
    assert _population(centre_sud) == 60_377 + 42_230
    cpts = resolve("cpts-saint-dizier-der-blaise")
    assert set(cpts.communes.values_list("code", flat=True)) == set(
        resolve("epci:200068666").communes.values_list("code", flat=True)
    )


def test_commune_and_region(demo_db):
    chaumont = resolve("commune:52121")
    assert list(chaumont.communes.values_list("name", flat=True)) == ["Chaumont"]
    grand_est = resolve("region:44")
    assert grand_est.communes.filter(departement_id="52").count() == 426


def test_shapes_and_centroids(demo_db):
    assert Commune.objects.filter(departement_id="52", geometry__isnull=True).count() == 0
    langres = Commune.objects.get(code="52269")
    assert langres.latitude == pytest.approx(47.86, abs=0.03)
    assert langres.geometry["type"] in ("Polygon", "MultiPolygon")


@pytest.mark.parametrize(
    "spec, message",
    [
        ("departement:999", "999"),
        ("canton:5201", "type inconnu"),
        ("pas-un-territoire", "aucun territoire enregistré"),
    ],
)
def test_unknown_territories_say_what_is_accepted(demo_db, spec, message):
    with pytest.raises(UnknownTerritory, match=message):
        resolve(spec)


def test_bad_cog_file_leaves_database_unchanged(demo_db, tmp_path):
    files = GeographyFiles.shipped()
    with gzip.open(files.communes, "rt", encoding="utf-8") as fh:
        communes = json.load(fh)
    target = next(i for i, c in enumerate(communes) if c["code"] == "52121")
    communes[target]["population"] = "beaucoup"
    bad = tmp_path / "communes.json"
    bad.write_text(json.dumps(communes), encoding="utf-8")
    files.communes = bad
    before = Commune.objects.get(code="52121").population
    with pytest.raises(DataFormatError) as excinfo:
        import_geography(files)
    assert "communes.json" in str(excinfo.value)
    assert "population" in str(excinfo.value)
    assert Commune.objects.get(code="52121").population == before


def test_geography_import_is_idempotent(demo_db):
    files = GeographyFiles.shipped()
    count, population = Commune.objects.count(), _population(resolve("departement:52"))
    import_geography(files)
    assert Commune.objects.count() == count
    assert _population(resolve("departement:52")) == population
