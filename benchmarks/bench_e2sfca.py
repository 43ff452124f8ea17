"""Benchmark: E2SFCA for all communes of metropolitan France, ours vs PySAL ``access``.

Inputs: the 34,746 commune centroids shipped in ``data/geo`` (population = demand) and a synthetic
national supply of 10,000 practice sites, drawn from communes with probability proportional to
population, jittered by ~500 m, each with 1-6 FTE (seeded). Travel times: the default model with
a 30-minute cut-off; weights: the DREES GP steps (10/15/20 min).

Prints the median time (over ``--runs``) to build the travel matrix, to compute our E2SFCA, and
to compute PySAL access's ``enhanced_two_stage_fca`` on the very same cost table (its long-table
input, built once outside the timing), the speed ratio and the maximum relative difference.
Exits with status 1 if a floor is missed: matrix < 0.5 s, ours >= 15x faster than access,
max relative difference <= 1e-9.

    python benchmarks/bench_e2sfca.py [--runs 5] [--access-runs 5]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time

import numpy as np
import pandas as pd
import scipy

from maillage.analytics.accessibility import DEFAULT_GP_WEIGHTS, e2sfca
from maillage.analytics.travel import model_costs
from maillage.paths import shipped_data_dir

SITES = 10_000
CUTOFF = 30.0
SEED = 20261122


def national_inputs() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    communes = pd.read_csv(
        shipped_data_dir() / "geo" / "communes-france-centroids.csv.gz",
        dtype={"code_insee": str, "departement": str},
        usecols=["code_insee", "latitude", "longitude", "population"],
    ).set_index("code_insee")
    rng = np.random.default_rng(SEED)
    share = communes["population"].to_numpy(dtype=float)
    pick = rng.choice(len(communes), SITES, p=share / share.sum())
    sites = pd.DataFrame(
        {
            "latitude": communes["latitude"].to_numpy()[pick] + rng.normal(0, 0.0045, SITES),
            "longitude": communes["longitude"].to_numpy()[pick] + rng.normal(0, 0.0065, SITES),
        },
        index=pd.Index([f"site{i:05d}" for i in range(SITES)], name="site"),
    )
    supply = pd.Series(rng.integers(1, 7, SITES).astype(float), index=sites.index, name="fte")
    demand = communes["population"].astype(float)
    return communes[["latitude", "longitude"]], sites, demand, supply


def timed(function, runs: int) -> tuple[float, list[float], object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, result


def run_access(demand: pd.Series, supply: pd.Series, cost_table: pd.DataFrame) -> pd.Series:
    import access

    model = access.Access(
        demand_df=pd.DataFrame({"demand": demand}).rename_axis("geoid"),
        demand_index=True,
        demand_value="demand",
        supply_df=pd.DataFrame({"supply": supply}).rename_axis("geoid"),
        supply_index=True,
        supply_value="supply",
        cost_df=cost_table,
        cost_origin="origin",
        cost_dest="destination",
        cost_name="minutes",
    )
    result = model.enhanced_two_stage_fca(
        name="e2sfca",
        weight_fn=access.weights.step_fn(dict(DEFAULT_GP_WEIGHTS)),
        max_cost=CUTOFF,
    )
    return result["e2sfca_supply"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of the matrix and of our index")
    parser.add_argument("--access-runs", type=int, default=5, help="runs of PySAL access")
    args = parser.parse_args()

    origins, sites, demand, supply = national_inputs()
    matrix_s, matrix_all, costs = timed(lambda: model_costs(origins, sites, CUTOFF), args.runs)
    ours_s, ours_all, ours = timed(lambda: e2sfca(demand, supply, costs), max(args.runs, 5))
    cost_table = costs.to_frame()
    access_s, access_all, theirs = timed(
        lambda: run_access(demand, supply, cost_table), args.access_runs
    )

    unreachable = np.diff(costs.matrix.indptr) == 0
    theirs = theirs.reindex(costs.origin_ids)
    nan_matches = bool(np.array_equal(theirs.isna().to_numpy(), unreachable))
    zeros_ok = bool((ours.to_numpy()[unreachable] == 0).all())
    both = theirs.notna().to_numpy()
    a, b = ours.to_numpy()[both], theirs.to_numpy()[both]
    max_rel = float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))
    ratio = access_s / ours_s

    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}")
    print(f"pandas {pd.__version__}, access {_access_version()}")
    print(
        f"communes {len(origins):,}, sites {len(sites):,}, cut-off {CUTOFF:g} min, "
        f"stored pairs {costs.nnz:,}"
    )
    print(f"travel matrix      median {matrix_s:.3f} s  runs {_fmt(matrix_all)}")
    print(f"our E2SFCA         median {ours_s * 1000:.1f} ms  runs {_fmt(ours_all)}")
    print(f"access E2SFCA      median {access_s:.3f} s  runs {_fmt(access_all)}")
    print(f"ratio access / ours {ratio:,.0f}x")
    print(f"max relative difference {max_rel:.2e} over {both.sum():,} communes")
    print(
        f"communes reaching no site: {unreachable.sum()} (NaN in access: {nan_matches}, "
        f"0 for us: {zeros_ok})"
    )
    floors = {
        "matrix < 0.5 s": matrix_s < 0.5,
        "ours >= 15x faster than access": ratio >= 15,
        "max relative difference <= 1e-9": max_rel <= 1e-9 and nan_matches and zeros_ok,
    }
    for name, ok in floors.items():
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    return 0 if all(floors.values()) else 1


def _fmt(times: list[float]) -> str:
    return ", ".join(f"{t:.3f}" for t in times)


def _access_version() -> str:
    from importlib.metadata import version

    return version("access")


if __name__ == "__main__":
    sys.exit(main())
