"""Simple indicators of a territory's care offer, with explicit conventions.

These are the figures a diagnostic of a CPTS or a département starts with: density of
professionals, how many of them are close to retirement, how far people live from the nearest
facility, and how the territory compares with its département, région and France. Each function
takes plain pandas objects, skips missing values explicitly, and returns NaN rather than a
misleading 0 when the denominator is empty.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

#: Thresholds (minutes) used by default for "population beyond X minutes": 20 min is the DREES
#: GP catchment, 30 min the usual target for emergency care (the "moins de 30 minutes" pledge),
#: 45 min a common bound for maternity and specialised care.
DEFAULT_TIME_THRESHOLDS: tuple[int, ...] = (20, 30, 45)


def density_per_10k(count: float | pd.Series, population: float | pd.Series) -> float | pd.Series:
    """Professionals (or facilities) per 10,000 inhabitants, the CartoSanté/INSEE convention.

    Works on numbers or on Series aligned by index (one density per row). A population that is
    zero, negative or missing gives NaN, never infinity. A missing count gives NaN (unknown is
    not zero).
    """
    if isinstance(count, pd.Series) or isinstance(population, pd.Series):
        c = pd.Series(count, dtype=float) if isinstance(count, pd.Series) else count
        p = pd.Series(population, dtype=float) if isinstance(population, pd.Series) else population
        if isinstance(p, pd.Series):
            p = p.where(p > 0)
        elif not (p is not None and p > 0):
            p = float("nan")
        return c / p * 10_000
    if count is None or population is None:
        return float("nan")
    count, population = float(count), float(population)
    if math.isnan(count) or math.isnan(population) or population <= 0:
        return float("nan")
    return count / population * 10_000


def ages_from_birth_years(birth_years: pd.Series, reference_year: int) -> pd.Series:
    """Age reached during ``reference_year`` (``reference_year - birth_year``; NaN stays NaN).

    Directories often publish a birth year, not a date: this is the age at the end of the year,
    the convention of INSEE's "âge atteint dans l'année".
    """
    return reference_year - pd.to_numeric(birth_years, errors="coerce")


def share_aged(ages: pd.Series, min_age: int) -> float:
    """Share (0-1) of professionals aged ``min_age`` or more, among those whose age is known.

    NaN ages are left out of both numerator and denominator; NaN if no age is known. Typical use:
    ``share_aged(ages, 60)`` for "share of GPs aged 60+", a proxy of retirements within 5 years.
    """
    known = pd.to_numeric(pd.Series(ages), errors="coerce").dropna()
    if known.empty:
        return float("nan")
    return float((known >= min_age).mean())


def shares_aged(ages: pd.Series, thresholds: Iterable[int] = (55, 60, 65)) -> dict[int, float]:
    """:func:`share_aged` for several thresholds at once (55+, 60+, 65+ by default)."""
    return {int(t): share_aged(ages, t) for t in thresholds}


def _aligned_population(minutes: pd.Series, population: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Population and its minutes on the population's index; absent from ``minutes`` = NaN."""
    pop = pd.to_numeric(pd.Series(population), errors="coerce").fillna(0.0)
    if (pop < 0).any():
        raise ValueError("population must be non-negative")
    t = pd.to_numeric(pd.Series(minutes), errors="coerce").reindex(pop.index)
    return t.to_numpy(dtype=float), pop.to_numpy(dtype=float)


def population_beyond(
    minutes: pd.Series,
    population: pd.Series,
    thresholds: Iterable[float] = DEFAULT_TIME_THRESHOLDS,
    *,
    max_minutes: float | None = None,
) -> dict[float, float]:
    """Population living more than ``threshold`` minutes from the nearest facility.

    ``minutes``: time to the nearest facility per place (e.g. :meth:`CostMatrix.nearest`), where
    NaN - or a place absent from ``minutes`` - means "none within the cut-off" and counts as
    beyond every threshold. "Beyond" is strict: exactly 20.0 minutes is *not* beyond 20.

    A cost matrix only knows times up to its cut-off, so a threshold above the cut-off would count
    places between the two as beyond it: pass the cut-off as ``max_minutes`` to get a
    ``ValueError`` in that case. Keys are the thresholds as given.
    """
    t, pop = _aligned_population(minutes, population)
    thresholds = list(thresholds)
    if max_minutes is not None:
        too_far = [x for x in thresholds if x > max_minutes]
        if too_far:
            raise ValueError(
                f"thresholds {too_far} exceed the cost matrix cut-off ({max_minutes:g} min): "
                "times beyond the cut-off are unknown"
            )
    unreachable = np.isnan(t)
    result = {}
    for threshold in thresholds:
        beyond = unreachable | (np.nan_to_num(t, nan=np.inf) > threshold)
        result[threshold] = float(pop[beyond].sum())
    return result


def mean_time(minutes: pd.Series, population: pd.Series) -> float:
    """Population-weighted mean time to the nearest facility, over places that can reach one.

    Unreachable places (NaN or absent from ``minutes``) are left out - report them with
    :func:`population_beyond` - so the result is "the mean time of those who have a facility
    within the cut-off". NaN if nobody does.
    """
    t, pop = _aligned_population(minutes, population)
    known = ~np.isnan(t)
    total = pop[known].sum()
    if total <= 0:
        return float("nan")
    return float(np.dot(t[known], pop[known]) / total)


def compare(value: float, references: Mapping[str, float]) -> dict[str, dict[str, float]]:
    """Compare a territory's value with references (département, région, France...).

    Returns ``{name: {"reference": r, "difference": value - r, "ratio": value / r,
    "percent": (value / r - 1) × 100}}``. Ratio and percent are NaN when the reference is 0 or
    missing, and everything is NaN when ``value`` is missing: no fake "infinitely better".
    """
    v = _float(value)
    result: dict[str, dict[str, float]] = {}
    for name, reference in references.items():
        r = _float(reference)
        ratio = v / r if (not math.isnan(v) and not math.isnan(r) and r != 0) else float("nan")
        result[name] = {
            "reference": r,
            "difference": v - r,
            "ratio": ratio,
            "percent": (ratio - 1.0) * 100.0,
        }
    return result


def _float(x: object) -> float:
    if x is None:
        return float("nan")
    try:
        return float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
