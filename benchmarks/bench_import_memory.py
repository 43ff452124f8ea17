"""Peak memory and time of ``maillage import rpps <national file>`` in a fresh process.

What it does:

1. in a temporary MAILLAGE_HOME (SQLite), migrates and imports the national COG and FINESS
   (not measured: the ground the directory stands on);
2. writes a **synthetic** national-size RPPS extract (``PS_LibreAcces_Personne_activite``
   layout, pipe-separated, 56 columns) with the generator of ``bench_directory.py``
   (default 1.2 million activity lines; made-up names, never real people);
3. runs ``python -m maillage.cli import rpps FILE`` under ``/usr/bin/time -v`` for each source
   tree given (``--tree old=/work/main/src --tree new=src``), alternating the trees, ``--runs``
   times each, each run in a fresh process against a copy of the same prepared database (so
   every run is a first import, not a re-import);
4. prints, per tree, the median peak RSS (MB), wall time and processor time (user + sys).

Usage: ``python benchmarks/bench_import_memory.py [--roles 1200000] [--runs 3]
[--tree name=PATH ...] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def prepare(home: Path, roles: int) -> Path:
    """Child process: database with COG + FINESS, and the synthetic extract; return its path."""
    code = f"""
import os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "maillage.settings"
import django
django.setup()
import numpy as np
from django.core.management import call_command
sys.path.insert(0, {str(HERE)!r})
from bench_directory import SEED, generate_rpps
from maillage.bootstrap import run_named_import
from maillage.territory.models import Commune
call_command("migrate", verbosity=0)
run_named_import("geography")
run_named_import("finess")
communes = [
    (c, n, (p or "").split(",")[0][:5] or c, pop or 0)
    for c, n, p, pop in Commune.objects.filter(latitude__isnull=False).values_list(
        "code", "name", "postal_codes", "population"
    )
]
generate_rpps({str(home / "extract.txt")!r}, {roles}, communes, np.random.default_rng(SEED))
"""
    env = {**os.environ, "MAILLAGE_HOME": str(home / "base")}
    (home / "base").mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    return home / "extract.txt"


def measure(tree: Path, base: Path, extract: Path, scratch: Path) -> dict:
    """One fresh-process import from the source tree ``tree``; peak RSS and times."""
    if scratch.exists():
        shutil.rmtree(scratch)
    shutil.copytree(base, scratch)
    env = {**os.environ, "MAILLAGE_HOME": str(scratch), "PYTHONPATH": str(tree)}
    done = subprocess.run(
        ["/usr/bin/time", "-v", sys.executable, "-m", "maillage.cli", "import", "rpps",
         str(extract)],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"import failed ({tree}):\n{done.stdout}\n{done.stderr[-3000:]}")
    err = done.stderr

    def field(label: str) -> str:
        return re.search(rf"{re.escape(label)}: (.+)", err).group(1).strip()

    wall = 0.0
    for part in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"):
        wall = wall * 60 + float(part)
    return {
        "rss_mb": int(field("Maximum resident set size (kbytes)")) / 1024,
        "wall_s": wall,
        "cpu_s": float(field("User time (seconds)")) + float(field("System time (seconds)")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--roles", type=int, default=1_200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--tree",
        action="append",
        help="name=PATH of a src/ folder holding the maillage package (repeatable)",
    )
    parser.add_argument("--keep", type=Path, help="prepare here once and reuse on later runs")
    args = parser.parse_args()
    trees = dict(t.split("=", 1) for t in (args.tree or [f"new={HERE.parent / 'src'}"]))
    work = args.keep or Path(tempfile.mkdtemp(prefix="maillage-bench-mem-"))
    try:
        extract = work / "extract.txt"
        if not extract.exists():
            prepare(work, args.roles)
        print(f"synthetic extract: {args.roles} lines, {extract.stat().st_size / 1e6:.0f} MB")
        results: dict[str, list[dict]] = {name: [] for name in trees}
        for run in range(args.runs):
            for name, tree in trees.items():  # alternated: load drifts hit both alike
                r = measure(Path(tree), work / "base", extract, work / "scratch")
                results[name].append(r)
                print(f"run {run + 1} {name}: {r['rss_mb']:.0f} MB peak, "
                      f"{r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} s CPU", flush=True)  # fmt: skip
        for name, rs in results.items():
            print(
                f"{name}: median peak RSS {statistics.median(r['rss_mb'] for r in rs):.0f} MB, "
                f"wall {statistics.median(r['wall_s'] for r in rs):.1f} s, "
                f"CPU {statistics.median(r['cpu_s'] for r in rs):.1f} s over {len(rs)} runs"
            )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
