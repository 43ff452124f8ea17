"""The diagnostic figures: real aggregates agree with the sources, synthetic ones are flagged."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from maillage.observatory.diagnostic import compute
from maillage.paths import shipped_data_dir
from maillage.territory.services import resolve


@pytest.fixture
def apl_file() -> pd.DataFrame:
    return pd.read_csv(
        shipped_data_dir() / "offer" / "apl_mg_communes_2022_2023_france.csv.gz",
        dtype={"code_commune": str, "dep": str},
    )


def _weighted(df: pd.DataFrame) -> float:
    return float((df["apl_mg"] * df["pop_standardisee_mg"]).sum() / df["pop_standardisee_mg"].sum())


def test_departement_52_figures(demo_db, apl_file):
    f = compute(resolve("departement:52"))
    assert f["communes"] == 426
    assert f["population"] == 168_331
    assert f["main_commune"]["name"] == "Saint-Dizier"  # the most populous commune
    # APL aggregated with the DREES weights (standardised population), recomputed from the file
    for year in (2022, 2023):
        rows = apl_file[(apl_file["dep"] == "52") & (apl_file["annee_apl"] == year)]
        assert f["apl_drees"][str(year)] == pytest.approx(_weighted(rows), abs=0.006)
    assert f["apl_drees"]["2023"] == pytest.approx(2.95, abs=0.01)  # SOURCES.md sanity check
    france = apl_file[apl_file["annee_apl"] == 2023]
    assert f["apl_drees_reference"]["france"]["2023"] == pytest.approx(_weighted(france), abs=0.006)
    below = f["apl_below_2_5"]["2023"]
    assert below["communes"] == 211  # SOURCES.md: 211 communes of 52 below 2.5 in 2023
    gp = f["offer"]["medecin_generaliste"]
    assert gp["count"] == 112 and gp["synthetic"] is True
    assert gp["density_10k"] == pytest.approx(112 / 168_331 * 10_000, abs=0.01)
    assert f["synthetic_practitioners"] is True
    assert f["warnings"] and "synthétiques" in f["warnings"][0]
    json.dumps(f, allow_nan=False)  # strictly valid JSON


def test_professions_without_open_data_are_not_invented(demo_db):
    """Kinés are synthetic, calibrated on the seed's local density (seed 003: 28 in the CA
    Saint-Dizier Der & Blaise, 4.4 per 10,000), and exist in Haute-Marne only: elsewhere their
    count is unknown, never zero; paediatricians have no data anywhere."""
    f = compute(resolve("epci:200068666"))
    kine = f["offer"]["masseur_kinesitherapeute"]
    assert kine["synthetic"] is True and 18 <= kine["count"] <= 36
    assert f["offer"]["pediatre"]["count"] is None
    aube = compute(resolve("departement:10"))
    assert aube["offer"]["masseur_kinesitherapeute"]["count"] is None
    assert aube["offer"]["masseur_kinesitherapeute"]["density_10k"] is None


def test_epci_figures_and_access_times(demo_db):
    f = compute(resolve("epci:200068666"))
    assert f["communes"] == 60
    assert f["main_commune"]["name"] == "Saint-Dizier"
    assert {d["code"] for d in f["departements"]} == {"51", "52"}
    keys = {t["key"] for t in f["access_times"]}
    assert {"emergency", "pharmacy", "medecin_generaliste"} <= keys
    emergency = next(t for t in f["access_times"] if t["key"] == "emergency")
    # Saint-Dizier has a hospital: its own time is the intra-commune time only
    sd = next(r for r in f["commune_table"] if r["code"] == "52448")
    assert sd["minutes"]["emergency"] <= 10
    assert emergency["population_beyond"]["45"] <= emergency["population_beyond"]["20"]
    assert f["accessibility"]["value"] is not None and f["accessibility"]["synthetic"]
    assert len(f["commune_table"]) == 60
    hospitals = {e["category_code"]: e["count"] for e in f["establishments"]}
    assert hospitals.get("355", 0) >= 1
    assert f["synthesis"] and "60 communes" in f["synthesis"][0]


def test_pharmacies_are_the_real_finess_officines_beside_cartosante(demo_db):
    from maillage.directory.models import Organization

    f = compute(resolve("departement:52"))
    pharmacies = f["offer"]["pharmacie"]
    real = Organization.objects.filter(category_code="620", commune__departement_id="52")
    assert pharmacies["count"] == real.count() > 50 and pharmacies["synthetic"] is False
    assert pharmacies["density_10k"] == pytest.approx(
        real.count() / f["population"] * 1e4, abs=0.01
    )
    assert pharmacies["density_10k_departement"] is not None  # CartoSanté, per bassin de vie
    nearest = next(t for t in f["access_times"] if t["key"] == "pharmacy")
    assert nearest["mean_minutes"] > 0
