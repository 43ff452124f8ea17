"""Spatial accessibility: the enhanced two-step floating catchment area (E2SFCA).

The E2SFCA (Luo & Qi 2009) is the method behind the DREES/IRDES *accessibilité potentielle
localisée* (APL, Barlet, Coldefy, Collin & Lucas-Gabrielli 2012). It corrects the two blind spots
of a density per département: people cross commune borders to see a doctor, and a doctor's
capacity is shared by everyone who can reach them.

With ``W(t)`` a stepped distance-decay weight, ``P_k`` the (standardised) demand of origin ``k``,
``S_j`` the supply at destination ``j`` and ``t_kj`` the travel time:

1. each supply point's ratio of supply to the demand that can reach it, weighted by distance,
   ``R_j = S_j / Σ_k P_k W(t_kj)``;
2. each origin's accessibility, the weighted sum of the ratios it can reach,
   ``A_i = Σ_j R_j W(t_ij)``.

The weight is applied in **both** steps, as in Luo & Qi, in the DREES APL and in PySAL ``access``
(``Access.enhanced_two_stage_fca``; this implementation matches it to ~1e-15, see the tests).
With ``W`` the sparse origin × destination weight matrix: ``R = S / (Wᵀ P)``, ``A = W R`` - two
sparse matrix-vector products, a few milliseconds for all French communes.

A property worth knowing: ``Σ_i P_i A_i = Σ_j S_j`` over supply points that have some demand in
reach - supply is distributed, not created. So the population-weighted mean of ``A`` over a closed
territory is its plain supply/demand ratio, and aggregates must be weighted by the (standardised)
demand, as DREES prescribes for APL (:func:`aggregate`).

Units: ``A`` is supply per unit of demand. With supply in FTE GPs and demand in standardised
inhabitants, ``A × 100,000`` is "FTE per 100,000 inhabitants"; with supply in consultations per
year, ``A`` is directly DREES's "consultations per standardised inhabitant per year".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from maillage.analytics.travel import CostMatrix

Weights = Sequence[tuple[float, float]] | Mapping[float, float]

#: DREES APL weights for general practitioners: (upper bound in minutes, weight).
#: Bounds are **inclusive upper bounds**: [0, 10] → 1, (10, 15] → 2/3, (15, 20] → 1/3,
#: > 20 → 0. DREES estimated these steps from the observed share of patients who see a GP at each
#: travel time (SNIIR-AM data), see Barlet et al. 2012 and the DREES APL page; the inclusive
#: upper bound is also PySAL ``access``'s ``weights.step_fn`` convention.
DEFAULT_GP_WEIGHTS: tuple[tuple[float, float], ...] = ((10.0, 1.0), (15.0, 2 / 3), (20.0, 1 / 3))


def _validate(pairs: Sequence[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    if len(pairs) == 0:
        raise ValueError("weights: at least one 'bound:weight' step is needed")
    result = []
    previous_bound, previous_weight = -math.inf, math.inf
    for bound, weight in pairs:
        bound, weight = float(bound), float(weight)
        if not math.isfinite(bound) or bound < 0:
            raise ValueError(f"weights: bound {bound!r} must be a finite number of minutes >= 0")
        if not (0.0 <= weight <= 1.0):
            raise ValueError(f"weights: weight {weight!r} (bound {bound:g}) must be within [0, 1]")
        if bound <= previous_bound:
            raise ValueError(
                f"weights: bounds must be strictly increasing, {bound:g} follows {previous_bound:g}"
            )
        if weight > previous_weight:
            raise ValueError(
                f"weights: weights must not increase with time (a distance decay), {weight:g} at "
                f"{bound:g} min follows {previous_weight:g}"
            )
        result.append((bound, weight))
        previous_bound, previous_weight = bound, weight
    return tuple(result)


def check_weights(weights: Weights) -> tuple[tuple[float, float], ...]:
    """Validate stepped weights and return them as a tuple of ``(upper bound, weight)``.

    Accepts a sequence of pairs or a mapping ``{bound: weight}`` (PySAL ``step_fn`` style).
    Bounds (minutes) must be strictly increasing and weights within [0, 1] and non-increasing:
    a weight that grows with travel time is almost always a typo (swapped ``bound:weight``).
    """
    pairs = sorted(weights.items()) if isinstance(weights, Mapping) else list(weights)
    try:
        pairs = [(b, w) for b, w in pairs]
    except (TypeError, ValueError):
        raise ValueError("weights must be (bound, weight) pairs") from None
    return _validate(pairs)


def parse_weights(text: str) -> tuple[tuple[float, float], ...]:
    """Parse stepped weights written as ``"10:1,15:0.6667,20:0.3333"``.

    Each comma-separated item is ``upper_bound_minutes:weight``; spaces are ignored and ``2/3``
    style fractions are accepted. Raises ``ValueError`` saying what is wrong (empty text, an item
    that is not ``bound:weight``, non-increasing bounds, a weight outside [0, 1]...).
    """
    if text is None or not str(text).strip():
        raise ValueError("weights: empty text, expected e.g. '10:1,15:0.6667,20:0.3333'")
    pairs = []
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            raise ValueError(f"weights: empty item in {text!r}")
        parts = item.split(":")
        if len(parts) != 2:
            raise ValueError(f"weights: {item!r} is not 'bound:weight' (e.g. '10:1')")
        pairs.append((_number(parts[0], item), _number(parts[1], item)))
    return _validate(pairs)


def _number(text: str, item: str) -> float:
    text = text.strip()
    try:
        if "/" in text:
            numerator, denominator = text.split("/")
            return float(numerator) / float(denominator)
        return float(text)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"weights: {text!r} in {item!r} is not a number") from None


def format_weights(weights: Weights) -> str:
    """The inverse of :func:`parse_weights` (for settings and reports)."""
    return ",".join(f"{b:g}:{w:.10g}" for b, w in check_weights(weights))


def step_weights(minutes: np.ndarray, weights: Weights = DEFAULT_GP_WEIGHTS) -> np.ndarray:
    """The stepped weight of each travel time: the weight of the first bound ``>= minutes``.

    Bounds are inclusive upper bounds; beyond the last bound the weight is 0; NaN (unreachable)
    gets 0. Negative minutes raise ``ValueError``.
    """
    steps = check_weights(weights)
    minutes = np.asarray(minutes, dtype=float)
    if np.any(minutes < 0):
        raise ValueError("step_weights: travel times must be non-negative")
    bounds = np.array([b for b, _ in steps])
    values = np.array([w for _, w in steps] + [0.0])
    return values[np.searchsorted(bounds, minutes, side="left")]


def _aligned(values: pd.Series, ids: pd.Index, what: str, side: str) -> np.ndarray:
    if not isinstance(values, pd.Series):
        raise TypeError(f"{what} must be a pandas Series indexed by {side} id")
    if not values.index.is_unique:
        raise ValueError(f"{what}: the index ({side} ids) must be unique")
    unknown = values.index.difference(ids)
    if len(unknown):
        raise ValueError(
            f"{what}: {len(unknown)} id(s) are not {side}s of the cost matrix, e.g. "
            f"{unknown[:5].tolist()} - they would be silently left out"
        )
    array = pd.to_numeric(values, errors="coerce").reindex(ids).to_numpy(dtype=float)
    known = ids.get_indexer(values.index)
    if np.any(np.isnan(array[known])) or np.any(np.isinf(array)):
        raise ValueError(f"{what}: values must be finite numbers (missing ids count as 0)")
    if np.any(array[known] < 0):
        raise ValueError(f"{what}: values must be non-negative")
    return np.nan_to_num(array, nan=0.0)


def e2sfca(
    demand: pd.Series,
    supply: pd.Series,
    costs: CostMatrix,
    weights: Weights = DEFAULT_GP_WEIGHTS,
) -> pd.Series:
    """E2SFCA accessibility of each origin of ``costs`` (supply per unit of demand).

    * ``demand``: indexed by origin id (e.g. standardised population per commune, see
      :func:`standardised_population`); origins of ``costs`` missing from it count as 0.
    * ``supply``: indexed by destination id (headcount, FTE or consultations per practice site;
      several professionals at one site are summed beforehand); missing destinations count as 0.
    * ``costs``: travel minutes; its cut-off must not be shorter than the last bound with a
      positive weight, or catchments would be silently truncated (``ValueError``).

    Returns a Series indexed by ``costs.origin_ids``. Conventions (documented in
    docs/analytics.md): a supply point with no weighted demand in reach has ``R_j = 0`` (nobody
    can use it; PySAL ``access`` divides by zero there), and an origin with no supply in reach
    has ``A_i = 0`` (``access`` gives NaN).
    """
    steps = check_weights(weights)
    reach = max((b for b, w in steps if w > 0), default=0.0)
    if costs.max_minutes is not None and costs.max_minutes < reach:
        raise ValueError(
            f"the cost matrix stops at {costs.max_minutes:g} min but the weights reach "
            f"{reach:g} min: build the costs with max_minutes >= {reach:g}"
        )
    p = _aligned(demand, costs.origin_ids, "demand", "origin")
    s = _aligned(supply, costs.destination_ids, "supply", "destination")
    w = costs.map_values(lambda minutes: step_weights(minutes, steps))
    weighted_demand = w.T @ p
    ratio = np.divide(s, weighted_demand, out=np.zeros_like(s), where=weighted_demand > 0)
    return pd.Series(w @ ratio, index=costs.origin_ids, name="accessibility")


def standardised_population(
    population_by_group: pd.DataFrame, relative_use: Mapping[object, float] | pd.Series
) -> pd.Series:
    """Population standardised by care consumption, the demand of the DREES APL.

    ``population_by_group``: one row per commune, one column per age (or age × sex) group.
    ``relative_use``: consumption per inhabitant of each group (e.g. GP consultations per year by
    age band from the Assurance maladie), in any unit. Each group's population is weighted by its
    consumption relative to the mean consumption of the whole input, so that the standardised
    total equals the real total: a commune of older people counts for more than its headcount.
    """
    rates = pd.Series(relative_use, dtype=float)
    missing = [c for c in population_by_group.columns if c not in rates.index]
    if missing:
        raise ValueError(f"relative_use has no rate for group(s) {missing}")
    rates = rates.reindex(population_by_group.columns)
    if (rates < 0).any() or rates.isna().any():
        raise ValueError("relative_use must be non-negative numbers")
    counts = population_by_group.astype(float).fillna(0.0)
    if (counts < 0).any().any():
        raise ValueError("population counts must be non-negative")
    total = counts.to_numpy().sum()
    weighted = counts.to_numpy() @ rates.to_numpy()
    mean_rate = weighted.sum() / total if total > 0 else 0.0
    scale = 1.0 / mean_rate if mean_rate > 0 else 0.0
    return pd.Series(weighted * scale, index=population_by_group.index, name="standardised")


def weighted_mean(values: pd.Series, weights: pd.Series) -> float:
    """Weighted mean of ``values``, aligned on the index; NaN values or weights are skipped.

    Returns NaN when no weight is left (e.g. an empty territory). Negative weights raise
    ``ValueError``. This is how DREES aggregates APL: weighted by standardised population, so the
    mean is the accessibility of the average inhabitant, not of the average commune.
    """
    v, w = _pair(values, weights)
    if w.size == 0 or w.sum() <= 0:
        return float("nan")
    return float(np.dot(v, w) / w.sum())


def aggregate(values: pd.Series, weights: pd.Series, groups: pd.Series) -> pd.Series:
    """Weighted mean of ``values`` per group (e.g. APL per département or per territory).

    ``groups`` maps each id to its group (a commune to its département code, a CPTS...); ids
    without a group are left out. NaN values or weights are skipped as in :func:`weighted_mean`;
    a group without any weight gets NaN. Index of the result: the groups, sorted.
    """
    frame = pd.DataFrame({"value": values, "weight": weights})
    frame["group"] = groups
    frame = frame.dropna()
    if (frame["weight"] < 0).any():
        raise ValueError("weights must be non-negative")
    frame["product"] = frame["value"].astype(float) * frame["weight"].astype(float)
    sums = frame.groupby("group", sort=True)[["product", "weight"]].sum()
    result = sums["product"] / sums["weight"].where(sums["weight"] > 0)
    all_groups = pd.Index(pd.Series(groups).dropna().unique())
    result = result.reindex(all_groups.sort_values() if _sortable(all_groups) else all_groups)
    result.index.name = getattr(groups, "name", None)
    result.name = getattr(values, "name", None)
    return result


def _sortable(index: pd.Index) -> bool:
    try:
        index.sort_values()
    except TypeError:
        return False
    return True


def _pair(values: pd.Series, weights: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    frame = pd.concat(
        [pd.Series(values, dtype=float), pd.Series(weights, dtype=float)], axis=1, join="inner"
    ).dropna()
    v, w = frame.iloc[:, 0].to_numpy(), frame.iloc[:, 1].to_numpy()
    if np.any(w < 0):
        raise ValueError("weights must be non-negative")
    return v, w
