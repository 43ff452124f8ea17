"""Benchmark (b): `maillage report departement:52` — HTML + PDF + XLSX, floor 10 s.

Runs in-process on the embedded database of ``$MAILLAGE_HOME`` (initialised on first use, not
timed), five times, and prints the median of each phase. The figures cache of the web views is
not used: every run recomputes the figures from the database, as the CLI does.

    MAILLAGE_HOME=/tmp/bench-home python benchmarks/bench_report.py [TERRITORY] [RUNS]
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

FLOOR_SECONDS = 10.0


def main() -> None:
    territory_spec = sys.argv[1] if len(sys.argv) > 1 else "departement:52"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maillage.settings")
    import django

    django.setup()
    from maillage.bootstrap import initialise
    from maillage.observatory.diagnostic import compute
    from maillage.observatory.reports import render
    from maillage.territory.services import resolve

    initialise(progress=lambda m: print(m, file=sys.stderr))
    territory = resolve(territory_spec)
    phases: dict[str, list[float]] = {k: [] for k in ("figures", "html", "pdf", "xlsx", "total")}
    out = Path(tempfile.mkdtemp())
    for _ in range(runs):
        t0 = time.perf_counter()
        figures = compute(territory)
        t1 = time.perf_counter()
        phases["figures"].append(t1 - t0)
        for fmt in ("html", "pdf", "xlsx"):
            t = time.perf_counter()
            (out / f"r.{fmt}").write_bytes(render(territory, figures, fmt))
            phases[fmt].append(time.perf_counter() - t)
        phases["total"].append(time.perf_counter() - t0)
    print(f"territory: {territory.name} ({territory.communes.count()} communes), runs: {runs}")
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs")
    for phase, values in phases.items():
        print(f"{phase:8s} median {statistics.median(values):6.2f} s  "
              f"(min {min(values):.2f}, max {max(values):.2f})")  # fmt: skip
    total = statistics.median(phases["total"])
    print(f"floor {FLOOR_SECONDS:.0f} s: median total is {total / FLOOR_SECONDS:.2f}× the floor "
          f"({'OK' if total < FLOOR_SECONDS else 'ABOVE FLOOR'})")  # fmt: skip
    sizes = {fmt: (out / f"r.{fmt}").stat().st_size for fmt in ("html", "pdf", "xlsx")}
    print("sizes: " + ", ".join(f"{k} {v / 1024:.0f} KiB" for k, v in sizes.items()))


if __name__ == "__main__":
    main()
