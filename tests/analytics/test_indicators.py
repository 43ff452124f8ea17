"""Simple indicators, on cases computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from maillage.analytics.indicators import (
    ages_from_birth_years,
    compare,
    density_per_10k,
    mean_time,
    population_beyond,
    share_aged,
    shares_aged,
)


def test_density_per_10k():
    # 112 GPs for 171,042 inhabitants: 112 / 171,042 × 10,000 = 6.548
    assert density_per_10k(112, 171_042) == pytest.approx(6.5481, abs=1e-4)
    assert math.isnan(density_per_10k(3, 0))
    assert math.isnan(density_per_10k(3, -5))
    assert math.isnan(density_per_10k(np.nan, 1000))
    assert math.isnan(density_per_10k(None, 1000))
    counts = pd.Series({"52": 112.0, "10": 211.0, "xx": 5.0})
    population = pd.Series({"52": 171_042.0, "10": 310_000.0, "xx": 0.0})
    result = density_per_10k(counts, population)
    assert result["10"] == pytest.approx(211 / 31)  # 211 / 310,000 × 10,000 = 6.806
    assert math.isnan(result["xx"])


def test_shares_aged():
    ages = pd.Series([40, 55, 58, 61, 66, np.nan, 70])
    # known ages: 6; 55+: 5 → 5/6; 60+: 3 → 1/2; 65+: 2 → 1/3
    assert share_aged(ages, 55) == pytest.approx(5 / 6)
    assert shares_aged(ages) == pytest.approx({55: 5 / 6, 60: 0.5, 65: 1 / 3})
    assert math.isnan(share_aged(pd.Series([np.nan]), 60))
    assert math.isnan(share_aged(pd.Series([], dtype=float), 60))
    births = pd.Series([1960, 1990, None])
    assert ages_from_birth_years(births, 2026).tolist()[:2] == [66, 36]
    assert share_aged(ages_from_birth_years(births, 2026), 60) == 0.5


def test_population_beyond_and_mean_time():
    minutes = pd.Series({"a": 5.0, "b": 20.0, "c": 25.0, "d": 40.0, "e": np.nan})
    population = pd.Series({"a": 100.0, "b": 200.0, "c": 300.0, "d": 400.0, "e": 50.0, "f": 7.0})
    # beyond 20 (strictly): c, d, e (NaN = unreachable), f (absent = unreachable) = 757
    # beyond 30: d, e, f = 457; beyond 45: e, f = 57
    assert population_beyond(minutes, population) == {20: 757.0, 30: 457.0, 45: 57.0}
    # mean over those who reach one: (5×100 + 20×200 + 25×300 + 40×400) / 1000 = 28,000 / 1000
    assert mean_time(minutes, population) == pytest.approx(28.0)
    assert math.isnan(mean_time(pd.Series({"a": np.nan}), pd.Series({"a": 10.0})))
    with pytest.raises(ValueError, match="cut-off"):
        population_beyond(minutes, population, (20, 45), max_minutes=30)
    with pytest.raises(ValueError):
        population_beyond(minutes, -population)


def test_compare():
    result = compare(2.95, {"département": 2.95, "France": 3.74, "vide": 0.0, "inconnu": None})
    assert result["France"]["difference"] == pytest.approx(-0.79)
    assert result["France"]["ratio"] == pytest.approx(2.95 / 3.74)
    assert result["France"]["percent"] == pytest.approx((2.95 / 3.74 - 1) * 100)
    assert result["département"]["ratio"] == 1.0
    assert math.isnan(result["vide"]["ratio"]) and result["vide"]["difference"] == 2.95
    assert math.isnan(result["inconnu"]["difference"])
    missing = compare(None, {"France": 3.0})["France"]
    assert missing["reference"] == 3.0
    assert all(math.isnan(missing[k]) for k in ("difference", "ratio", "percent"))
