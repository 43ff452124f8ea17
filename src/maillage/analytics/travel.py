"""Travel times between places, as sparse origin × destination matrices of minutes.

Every accessibility measure in maillage starts from a *cost matrix*: how many minutes it takes to
go from each origin (usually a commune, where people live) to each destination (a practice, a
hospital, a pharmacy). Three sources produce the same :class:`CostMatrix`:

* :func:`model_costs` - the default, needs nothing but coordinates: great-circle distance ×
  detour factor ÷ speed, plus an intra-commune time (see :class:`TravelModel` for the values and
  why they were chosen). Good enough for 10-30 minute catchments at commune level, instantly, for
  the whole of France.
* :func:`costs_from_table` - real times computed elsewhere (a routing engine, the Metric/Odomatrix
  distancier, a consultancy's matrix), read with :func:`maillage.opendata.costs.read_cost_table`.
* :meth:`maillage.analytics.roads.RoadGraph.costs` - shortest paths on an OpenStreetMap road graph.

Conventions shared by all sources:

* Only pairs within the cut-off are stored; the cut-off is **inclusive** (a pair at exactly
  ``max_minutes`` is kept). A pair that is not stored is "unreachable within the cut-off".
* ``matrix.data`` holds exact minutes. A pair that takes **0 minutes** (a commune to itself in an
  imported matrix) is kept as an *explicit zero*: the sparsity structure, not the value, says
  whether a pair is reachable. So never call ``eliminate_zeros()`` on it and do not use sparse
  arithmetic that drops explicit zeros (``+``, ``min(axis=...)`` treat missing as 0); use
  :meth:`CostMatrix.to_frame`, :meth:`CostMatrix.nearest` and :meth:`CostMatrix.map_values`,
  which all respect the structure.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.spatial import cKDTree

#: Mean Earth radius (IUGG), km. The error of a spherical Earth on 50 km is < 0.5 %.
EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class TravelModel:
    """Parameters of the default travel-time model.

    ``minutes = intra + great_circle_km × detour_factor ÷ speed_kmh × 60``, where ``intra`` is
    ``intra_commune_minutes`` (or a per-origin value, see :func:`model_costs`).

    Why these defaults:

    ``detour_factor = 1.3``
        The ratio of road distance to straight-line distance ("circuity" or route factor).
        Published measurements put it mostly between 1.2 and 1.45 (e.g. Ballou, Rahardja & Sakai
        2002 across countries; Boscoe, Henry & Zdeb 2012 for trips to hospitals), higher for short
        trips and for networks shaped by relief and rivers, lower on long trips that use main
        roads. Primary-care trips are short (≤ 20-30 min) and French rural départementales are
        sinuous but dense, so we take the middle of the range, 1.3, a common choice for France.
    ``speed_kmh = 60``
        Mean door-to-door speed along the road. Outside built-up areas French two-lane roads are
        limited to 80 km/h (90 in some départements since 2020), but a 10-30 minute trip also
        crosses villages at 50 km/h or less, junctions and bends. Mean off-peak car speeds on such
        trips are commonly taken as 60-70 km/h; we take the lower end because the short trips
        that matter for primary care spend a larger share of their time in built-up areas.
        With the detour factor this is 46 km/h "as the crow flies": 20 minutes reach about 13 km.
    ``intra_commune_minutes = 3``
        People do not live at the centroid of their commune. Metropolitan France has about
        552,000 km² for 34,746 communes, i.e. 16 km² on average, a disc of radius r ≈ 2.3 km.
        The mean distance from a uniformly spread resident to the centre of a disc is 2r/3 ≈ 1.5
        km, ≈ 2 km by road (× 1.3), i.e. 3 minutes at 40 km/h on local streets and lanes. Every
        trip gets it once (the trip from home to the main road). Use
        :func:`intra_minutes_from_area` for a per-commune value instead of the constant.
    """

    speed_kmh: float = 60.0
    detour_factor: float = 1.3
    intra_commune_minutes: float = 3.0
    #: Speed used by :func:`intra_minutes_from_area` on local streets inside a commune.
    local_speed_kmh: float = 40.0

    def __post_init__(self) -> None:
        for name in ("speed_kmh", "detour_factor", "local_speed_kmh"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"TravelModel.{name} must be a positive number, got {value!r}")
        if self.detour_factor < 1:
            raise ValueError(
                f"TravelModel.detour_factor must be >= 1 (roads are never shorter than the "
                f"straight line), got {self.detour_factor!r}"
            )
        if not (math.isfinite(self.intra_commune_minutes) and self.intra_commune_minutes >= 0):
            raise ValueError(
                "TravelModel.intra_commune_minutes must be a non-negative number, "
                f"got {self.intra_commune_minutes!r}"
            )

    def minutes_for_km(self, great_circle_km: np.ndarray | float) -> np.ndarray | float:
        """Driving minutes for a straight-line distance, without the intra-commune time."""
        return great_circle_km * self.detour_factor / self.speed_kmh * 60.0

    def km_for_minutes(self, minutes: float) -> float:
        """The straight-line distance covered in ``minutes`` of driving (inverse of the above)."""
        return minutes * self.speed_kmh / 60.0 / self.detour_factor


def intra_minutes_from_area(
    area_km2: pd.Series | np.ndarray | float, model: TravelModel = TravelModel()
) -> pd.Series | np.ndarray | float:
    """Intra-commune time from the commune's area, as in :class:`TravelModel`'s justification.

    ``2/3 × sqrt(area / π) × detour_factor ÷ local_speed_kmh × 60``: the mean distance from a
    resident spread uniformly over a disc of the same area to its centre, by road. Pass the result
    as an ``intra_minutes`` column of the origins of :func:`model_costs`.
    """
    area = np.asarray(area_km2, dtype=float) if not isinstance(area_km2, pd.Series) else area_km2
    if np.any(np.asarray(area) < 0):
        raise ValueError("areas must be non-negative")
    radius = np.sqrt(area / math.pi)
    return 2.0 / 3.0 * radius * model.detour_factor / model.local_speed_kmh * 60.0


@dataclass
class CostMatrix:
    """Travel minutes from origins (rows) to destinations (columns), within a cut-off.

    ``matrix`` is a CSR matrix with canonical format (sorted column indices, no duplicates).
    A stored entry means "reachable within the cut-off" and holds the exact minutes, **including
    explicit zeros** for 0-minute pairs (see the module docstring). ``max_minutes`` is the
    (inclusive) cut-off the matrix was built with, ``None`` if unknown or none; functions that
    need a longer catchment than the cut-off check it.
    """

    matrix: sp.csr_matrix
    origin_ids: pd.Index
    destination_ids: pd.Index
    max_minutes: float | None = field(default=None)

    def __post_init__(self) -> None:
        self.origin_ids = pd.Index(self.origin_ids)
        self.destination_ids = pd.Index(self.destination_ids)
        if not sp.issparse(self.matrix):
            raise TypeError("CostMatrix.matrix must be a scipy.sparse matrix")
        shape = (len(self.origin_ids), len(self.destination_ids))
        if self.matrix.shape != shape:
            raise ValueError(f"matrix shape {self.matrix.shape} does not match the ids {shape}")
        for name, ids in (
            ("origin_ids", self.origin_ids),
            ("destination_ids", self.destination_ids),
        ):
            if not ids.is_unique:
                duplicated = ids[ids.duplicated()].unique()[:5].tolist()
                raise ValueError(f"{name} must be unique, duplicated: {duplicated}")
        if self.matrix.format == "csr":
            matrix = self.matrix
            if matrix.dtype != np.float64:
                matrix = matrix.astype(np.float64)
            if not matrix.has_sorted_indices:
                matrix = matrix.copy()
                matrix.sort_indices()
            rows = np.repeat(np.arange(shape[0]), np.diff(matrix.indptr))
            cols = matrix.indices
        else:  # never let scipy sum duplicates silently: check them, then build the CSR
            coo = self.matrix.tocoo()
            order = np.lexsort((coo.col, coo.row))
            rows, cols = coo.row[order], coo.col[order]
            matrix = _csr_from_pairs(rows, cols, coo.data[order], shape, presorted=True)
        if np.any((np.diff(rows) == 0) & (np.diff(cols) == 0)):
            raise ValueError("CostMatrix.matrix has duplicate (origin, destination) entries")
        data = matrix.data
        if not np.all(np.isfinite(data)) or np.any(data < 0):
            raise ValueError("CostMatrix minutes must be finite and non-negative")
        if self.max_minutes is not None and not (self.max_minutes >= 0):
            raise ValueError(f"max_minutes must be non-negative, got {self.max_minutes!r}")
        self.matrix = matrix

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    @property
    def nnz(self) -> int:
        """Number of stored (reachable) pairs, 0-minute pairs included."""
        return int(self.matrix.nnz)

    def map_values(self, function: Callable[[np.ndarray], np.ndarray]) -> sp.csr_matrix:
        """A CSR matrix with the same structure and ``function(minutes)`` as values.

        The way to turn minutes into weights without losing 0-minute pairs (``function`` gets and
        must return a 1-D float array of the stored values; zero results are kept stored).
        """
        m = self.matrix
        values = np.asarray(function(m.data.copy()), dtype=np.float64)
        if values.shape != m.data.shape:
            raise ValueError("map_values: function must return one value per stored pair")
        return sp.csr_matrix((values, m.indices.copy(), m.indptr.copy()), shape=m.shape)

    def to_frame(self) -> pd.DataFrame:
        """The stored pairs as a long table with columns ``origin, destination, minutes``.

        Rows are ordered by origin then destination position; 0-minute pairs are included. This is
        also the format of :func:`costs_from_table` and of PySAL ``access`` cost tables.
        """
        m = self.matrix
        rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
        return pd.DataFrame(
            {
                "origin": self.origin_ids.take(rows),
                "destination": self.destination_ids.take(m.indices),
                "minutes": m.data.copy(),
            }
        )

    def nearest(self, among: Iterable[object] | None = None) -> pd.Series:
        """Minutes from each origin to its nearest destination; NaN if none within the cut-off.

        ``among`` restricts the destinations considered (e.g. the ids of one kind of facility in
        a matrix built for all facilities); ids not in ``destination_ids`` are ignored.
        """
        m = self.matrix
        data = m.data
        if among is not None:
            columns = self.destination_ids.get_indexer(pd.Index(list(among)).unique())
            keep = np.zeros(m.shape[1], dtype=bool)
            keep[columns[columns >= 0]] = True
            data = np.where(keep[m.indices], data, np.inf)
        result = np.full(m.shape[0], np.nan)
        counts = np.diff(m.indptr)
        nonempty = counts > 0
        if data.size:
            minima = np.minimum.reduceat(data, m.indptr[:-1][nonempty])
            minima[np.isinf(minima)] = np.nan
            result[nonempty] = minima
        return pd.Series(result, index=self.origin_ids, name="minutes")

    def restrict(self, max_minutes: float) -> CostMatrix:
        """The same matrix with a shorter (inclusive) cut-off."""
        m = self.matrix
        keep = m.data <= max_minutes
        rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))[keep]
        matrix = _csr_from_pairs(rows, m.indices[keep], m.data[keep], m.shape, presorted=True)
        cutoff = max_minutes if self.max_minutes is None else min(max_minutes, self.max_minutes)
        return CostMatrix(matrix, self.origin_ids, self.destination_ids, cutoff)


def _csr_from_pairs(
    rows: np.ndarray,
    cols: np.ndarray,
    values: np.ndarray,
    shape: tuple[int, int],
    *,
    presorted: bool = False,
) -> sp.csr_matrix:
    """Build a canonical CSR from unique (row, col) pairs, keeping explicit zeros.

    Pairs must be unique: the callers guarantee it (duplicates are detected and raise).
    ``presorted`` means sorted by row then column, which skips scipy's counting sort.
    """
    values = np.asarray(values, dtype=np.float64)
    if presorted:
        rows = np.asarray(rows, dtype=np.int64)
        indptr = np.zeros(shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
        matrix = sp.csr_matrix((values, np.asarray(cols), indptr), shape=shape)
        matrix.has_sorted_indices = True
    else:
        # scipy's COO -> CSR is a C counting sort; summing duplicates keeps explicit zeros
        matrix = sp.coo_matrix((values, (rows, cols)), shape=shape).tocsr()
        if matrix.nnz != values.size:
            raise ValueError("duplicate (origin, destination) pairs")
    return matrix


def _as_index(ids: Iterable[object]) -> pd.Index:
    return ids if isinstance(ids, pd.Index) else pd.Index(list(ids))


def _unit_vectors(frame: pd.DataFrame, what: str) -> np.ndarray:
    """3-D unit-sphere coordinates of WGS84 latitude/longitude columns (validated)."""
    missing = [c for c in ("latitude", "longitude") if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} must have columns latitude and longitude; missing {missing}")
    lat = pd.to_numeric(frame["latitude"], errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(frame["longitude"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(lat) | ~np.isfinite(lon) | (np.abs(lat) > 90) | (np.abs(lon) > 180)
    if np.any(bad):
        first = frame.index[np.flatnonzero(bad)[0]]
        raise ValueError(
            f"{what}: latitude/longitude must be WGS84 degrees, {int(bad.sum())} bad row(s), "
            f"first id {first!r}"
        )
    if not frame.index.is_unique:
        duplicated = frame.index[frame.index.duplicated()].unique()[:5].tolist()
        raise ValueError(f"{what}: ids (the index) must be unique, duplicated: {duplicated}")
    phi, lam = np.radians(lat), np.radians(lon)
    cos_phi = np.cos(phi)
    return np.column_stack([cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)])


def great_circle_km(chord: np.ndarray) -> np.ndarray:
    """Great-circle distance (km) from the chord length between unit vectors."""
    half = np.multiply(np.asarray(chord, dtype=np.float64), 0.5)
    np.minimum(half, 1.0, out=half)
    np.arcsin(half, out=half)
    half *= 2.0 * EARTH_RADIUS_KM
    return half


def _chord_for_km(km: float) -> float:
    theta = km / EARTH_RADIUS_KM
    if theta >= math.pi:
        return 2.0
    # a hair of slack: the exact minutes filter decides, the tree must not lose boundary pairs
    return 2.0 * math.sin(theta / 2.0) * (1 + 1e-9) + 1e-12


def model_costs(
    origins: pd.DataFrame,
    destinations: pd.DataFrame,
    max_minutes: float,
    model: TravelModel = TravelModel(),
) -> CostMatrix:
    """Model travel times (see :class:`TravelModel`) for all pairs within ``max_minutes``.

    ``origins`` and ``destinations`` are indexed by id and have ``latitude`` and ``longitude``
    columns (WGS84 degrees). ``origins`` may have an ``intra_minutes`` column (e.g. from
    :func:`intra_minutes_from_area`) that replaces ``model.intra_commune_minutes`` per origin
    (NaN = use the model's).

    Every pair gets the origin's intra-commune time, so points a few metres apart still take at
    least that long, and a pair whose origin and destination have the **same id** (a commune to
    itself) gets exactly the intra-commune time whatever the coordinates say. The cut-off is
    inclusive.

    A KD-tree on 3-D unit-sphere coordinates finds the candidate pairs (chord ≤ the chord of the
    farthest reachable distance) without ever building the dense matrix: all French communes ×
    10,000 sites within 30 minutes takes a fraction of a second.
    """
    if not (isinstance(max_minutes, int | float) and math.isfinite(max_minutes)):
        raise ValueError(f"max_minutes must be a finite number, got {max_minutes!r}")
    if max_minutes < 0:
        raise ValueError(f"max_minutes must be non-negative, got {max_minutes!r}")
    xyz_o = _unit_vectors(origins, "origins")
    xyz_d = _unit_vectors(destinations, "destinations")
    n_o, n_d = len(origins), len(destinations)
    origin_ids, destination_ids = pd.Index(origins.index), pd.Index(destinations.index)

    intra = np.full(n_o, float(model.intra_commune_minutes))
    if "intra_minutes" in origins.columns:
        given = pd.to_numeric(origins["intra_minutes"], errors="coerce").to_numpy(dtype=float)
        if np.any(given < 0) or np.any(np.isinf(given)):
            raise ValueError("origins.intra_minutes must be finite and non-negative")
        intra = np.where(np.isnan(given), intra, given)

    if n_o == 0 or n_d == 0:
        empty = _csr_from_pairs(np.empty(0), np.empty(0), np.empty(0), (n_o, n_d))
        return CostMatrix(empty, origin_ids, destination_ids, float(max_minutes))

    reach_km = model.km_for_minutes(max(max_minutes - float(intra.min()), 0.0))
    if max_minutes - float(intra.min()) >= 0:
        pairs = cKDTree(xyz_o).sparse_distance_matrix(
            cKDTree(xyz_d), _chord_for_km(reach_km), output_type="ndarray"
        )
        rows, cols = pairs["i"], pairs["j"]  # strided views: no copy
        minutes = model.minutes_for_km(great_circle_km(pairs["v"]))
        minutes += intra[rows]
    else:
        rows = cols = np.empty(0, dtype=np.int64)
        minutes = np.empty(0)

    # same id on both sides: exactly the intra-commune time, even if the points are far apart
    same_col = destination_ids.get_indexer(origin_ids)
    if np.any(same_col >= 0):
        not_self = cols != same_col[rows]
        rows, cols, minutes = rows[not_self], cols[not_self], minutes[not_self]
        self_rows = np.flatnonzero(same_col >= 0)
        rows = np.concatenate([rows, self_rows])
        cols = np.concatenate([cols, same_col[self_rows]])
        minutes = np.concatenate([minutes, intra[self_rows]])

    keep = minutes <= max_minutes
    matrix = _csr_from_pairs(rows[keep], cols[keep], minutes[keep], (n_o, n_d))
    return CostMatrix(matrix, origin_ids, destination_ids, float(max_minutes))


def costs_from_table(
    table: pd.DataFrame,
    max_minutes: float | None = None,
    origin_ids: Iterable[object] | None = None,
    destination_ids: Iterable[object] | None = None,
) -> CostMatrix:
    """A :class:`CostMatrix` from a long table with columns ``origin, destination, minutes``.

    This is how real travel times (a routing engine's output, a distancier such as Metric, a
    matrix read by :func:`maillage.opendata.costs.read_cost_table`) plug into every analysis.

    * ``max_minutes``: keep only pairs with ``minutes <= max_minutes`` (inclusive). ``None``
      keeps every pair and records no cut-off.
    * ``origin_ids`` / ``destination_ids``: the rows / columns of the result, in that order (an
      origin without any pair gets an empty row); pairs whose ids are not listed are dropped, so
      the same national table serves any territory. By default, the ids in the table in order of
      first appearance (before the cut-off is applied, so every origin keeps its row).
    * Ids are used as they are (no conversion): make them the same type as the indexes of your
      demand and supply Series (INSEE codes are strings).
    * 0-minute pairs are kept (explicit zeros). Missing, negative or non-finite minutes and
      duplicated (origin, destination) pairs raise ``ValueError``.
    """
    missing = [c for c in ("origin", "destination", "minutes") if c not in table.columns]
    if missing:
        raise ValueError(
            f"cost table must have columns origin, destination, minutes; missing {missing}"
        )
    minutes = pd.to_numeric(table["minutes"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(minutes) | (minutes < 0)
    if np.any(bad):
        position = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"cost table: minutes must be finite non-negative numbers; {int(bad.sum())} bad "
            f"row(s), first {table.iloc[position].to_dict()}"
        )
    origins = table["origin"]
    destinations = table["destination"]
    if origins.isna().any() or destinations.isna().any():
        raise ValueError("cost table: origin and destination must not be missing")
    o_codes, o_seen = pd.factorize(origins)  # fast even on 10^7 string ids
    d_codes, d_seen = pd.factorize(destinations)
    o_index = pd.Index(o_seen) if origin_ids is None else _as_index(origin_ids)
    d_index = pd.Index(d_seen) if destination_ids is None else _as_index(destination_ids)
    for name, ids in (("origin_ids", o_index), ("destination_ids", d_index)):
        if not ids.is_unique:
            raise ValueError(f"{name} must be unique")
    rows = o_index.get_indexer(o_seen)[o_codes]
    cols = d_index.get_indexer(d_seen)[d_codes]
    keep = (rows >= 0) & (cols >= 0)
    if max_minutes is not None:
        if not (math.isfinite(max_minutes) and max_minutes >= 0):
            raise ValueError(
                f"max_minutes must be a finite non-negative number, got {max_minutes!r}"
            )
        keep &= minutes <= max_minutes
    rows, cols, minutes = rows[keep], cols[keep], minutes[keep]
    try:
        matrix = _csr_from_pairs(rows, cols, minutes, (len(o_index), len(d_index)))
    except ValueError:
        pairs = pd.DataFrame({"row": rows, "col": cols})
        k = int(np.flatnonzero(pairs.duplicated().to_numpy())[0])
        raise ValueError(
            "cost table: duplicated pair origin="
            f"{o_index[rows[k]]!r}, destination={d_index[cols[k]]!r}"
        ) from None
    return CostMatrix(matrix, o_index, d_index, None if max_minutes is None else float(max_minutes))
