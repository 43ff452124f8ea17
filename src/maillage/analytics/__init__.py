"""Pure computation for territorial health planning: numpy, scipy and pandas only, no Django.

Everything here takes DataFrames/Series indexed by ids (INSEE commune codes, practice ids...)
and returns plain pandas objects, so the same analysis runs from a Django service, the CLI or a
notebook, on one CPTS or on all 34,746 communes of metropolitan France.

* :mod:`~maillage.analytics.travel` - travel times as sparse matrices (:class:`CostMatrix`):
  the default crow-fly model (:class:`TravelModel`, :func:`model_costs`) and imported tables
  (:func:`costs_from_table`).
* :mod:`~maillage.analytics.roads` - travel times on an OpenStreetMap road graph
  (:class:`RoadGraph`).
* :mod:`~maillage.analytics.accessibility` - E2SFCA / APL-like accessibility (:func:`e2sfca`)
  with stepped weights (:data:`DEFAULT_GP_WEIGHTS`, :func:`parse_weights`) and its aggregation
  by (standardised) population (:func:`weighted_mean`, :func:`aggregate`).
* :mod:`~maillage.analytics.indicators` - densities, age shares, time to the nearest facility,
  population beyond a time, comparisons with reference territories.

Methods, parameters and conventions are explained in ``docs/analytics.md``.

The names below are loaded on first use (PEP 562): importing one submodule, e.g.
:mod:`~maillage.analytics.age_bands` from the care models at Django's start-up, must not import
numpy, pandas and scipy with the whole package.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Where each public name lives.
_SOURCES = {
    "accessibility": (
        "DEFAULT_GP_WEIGHTS",
        "aggregate",
        "check_weights",
        "e2sfca",
        "format_weights",
        "parse_weights",
        "standardised_population",
        "step_weights",
        "weighted_mean",
    ),
    "indicators": (
        "DEFAULT_TIME_THRESHOLDS",
        "ages_from_birth_years",
        "compare",
        "density_per_10k",
        "mean_time",
        "population_beyond",
        "share_aged",
        "shares_aged",
    ),
    "roads": ("HIGHWAY_SPEEDS_KMH", "RoadGraph"),
    "travel": (
        "CostMatrix",
        "TravelModel",
        "costs_from_table",
        "intra_minutes_from_area",
        "model_costs",
    ),
}
_MODULE_OF = {name: module for module, names in _SOURCES.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULE_OF])
