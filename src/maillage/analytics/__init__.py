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
"""

from maillage.analytics.accessibility import (
    DEFAULT_GP_WEIGHTS,
    aggregate,
    check_weights,
    e2sfca,
    format_weights,
    parse_weights,
    standardised_population,
    step_weights,
    weighted_mean,
)
from maillage.analytics.indicators import (
    DEFAULT_TIME_THRESHOLDS,
    ages_from_birth_years,
    compare,
    density_per_10k,
    mean_time,
    population_beyond,
    share_aged,
    shares_aged,
)
from maillage.analytics.roads import HIGHWAY_SPEEDS_KMH, RoadGraph
from maillage.analytics.travel import (
    CostMatrix,
    TravelModel,
    costs_from_table,
    intra_minutes_from_area,
    model_costs,
)

__all__ = [
    "DEFAULT_GP_WEIGHTS",
    "DEFAULT_TIME_THRESHOLDS",
    "HIGHWAY_SPEEDS_KMH",
    "CostMatrix",
    "RoadGraph",
    "TravelModel",
    "ages_from_birth_years",
    "aggregate",
    "check_weights",
    "compare",
    "costs_from_table",
    "density_per_10k",
    "e2sfca",
    "format_weights",
    "intra_minutes_from_area",
    "mean_time",
    "model_costs",
    "parse_weights",
    "population_beyond",
    "share_aged",
    "shares_aged",
    "standardised_population",
    "step_weights",
    "weighted_mean",
]
