"""Communes attached to bassins de vie, for the indicators computed per bassin.

The official commune → bassin de vie table is not shipped, so each commune is attached to the
nearest bassin-de-vie main commune (an approximation). Used by the diagnostic and by the demo's
synthetic practitioners (:mod:`maillage.demo.synthetic`), which sit above the observatory.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from maillage.observatory.models import BassinVieIndicator


def assign_bassins(communes: pd.DataFrame) -> pd.Series:
    """Attach each commune to the nearest bassin-de-vie main commune (approximation)."""
    bvs = pd.DataFrame.from_records(BassinVieIndicator.objects.values("bv_code"))
    if bvs.empty:
        return pd.Series(communes["code"].values, index=communes["code"].values)
    centres = communes[communes["code"].isin(set(bvs["bv_code"]))]
    lat0 = np.radians(46.5)
    xy = np.c_[communes["longitude"] * np.cos(lat0), communes["latitude"]]
    cxy = np.c_[centres["longitude"] * np.cos(lat0), centres["latitude"]]
    _, idx = cKDTree(cxy).query(xy)
    return pd.Series(centres["code"].values[idx], index=communes["code"].values)
