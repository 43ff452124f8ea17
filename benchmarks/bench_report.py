"""Benchmark (b): `maillage report departement:52` — HTML + PDF + XLSX.

Three figures, medians over RUNS:

1. **cold command**: ``maillage report`` in a new process, as a user runs it, with the export
   cache of reports emptied before each run (what the first report after an import costs);
2. **warm command**: the same command again, the cache filled (data unchanged: a copy);
3. **in process**: the phases (figures, html, pdf, xlsx; three runs) in one process whose
   modules are loaded (the figures recomputed every run, as a background worker does), and
   ``write_reports`` served from the filled cache.

Peak memory (maximum resident set) of each command comes from ``os.wait4``. With ``--reference
DIR`` (files of an earlier version), the HTML must be byte-identical and the PDF's text (through
poppler's ``pdftotext``) identical.

    MAILLAGE_HOME=/tmp/bench-home python benchmarks/bench_report.py [TERRITORY] [RUNS] \
        [--reference DIR]

The database of ``$MAILLAGE_HOME`` must be initialised first (``maillage init``, not timed).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 4.0
FORMATS = ("html", "pdf", "xlsx")


def _command(spec: str, output: Path) -> tuple[float, int]:
    """Seconds and peak RSS (MiB) of ``maillage report`` in a new process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "maillage.cli", "report", spec, "--output", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"maillage report failed: {proc.stderr.read().decode()}")
    return seconds, usage.ru_maxrss // 1024


def _median(values: list[float]) -> str:
    median = statistics.median(values)
    return f"median {median:6.2f} s  (min {min(values):.2f}, max {max(values):.2f})"


def _pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("territory", nargs="?", default="departement:52")
    parser.add_argument("runs", nargs="?", type=int, default=5)
    parser.add_argument("--reference", type=Path, help="report files of an earlier version")
    args = parser.parse_args()
    if not os.environ.get("MAILLAGE_HOME"):
        raise SystemExit("set MAILLAGE_HOME to an initialised data folder")
    home = Path(os.environ["MAILLAGE_HOME"])
    reports_cache = home / "exports" / "report"
    out = Path(tempfile.mkdtemp())

    cold: list[float] = []
    cold_rss: list[int] = []
    for _ in range(args.runs):
        shutil.rmtree(reports_cache, ignore_errors=True)
        seconds, rss = _command(args.territory, out)
        cold.append(seconds)
        cold_rss.append(rss)
    warm: list[float] = []
    warm_rss: list[int] = []
    for _ in range(args.runs):
        seconds, rss = _command(args.territory, out)
        warm.append(seconds)
        warm_rss.append(rss)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maillage.settings")
    import django

    django.setup()
    from maillage.observatory.diagnostic import compute, shapes_for
    from maillage.observatory.reports import render, write_reports
    from maillage.territory.services import resolve

    territory = resolve(args.territory)
    phases: dict[str, list[float]] = {k: [] for k in ("figures", *FORMATS, "total")}
    inproc = Path(tempfile.mkdtemp())
    for _ in range(min(args.runs, 3)):  # three: each is a full rebuild
        t0 = time.perf_counter()
        figures = compute(territory)
        shapes = shapes_for(territory)
        t1 = time.perf_counter()
        phases["figures"].append(t1 - t0)
        for fmt in FORMATS:
            t = time.perf_counter()
            (inproc / f"r.{fmt}").write_bytes(render(territory, figures, fmt, shapes))
            phases[fmt].append(time.perf_counter() - t)
        phases["total"].append(time.perf_counter() - t0)
    copies: list[float] = []
    for _ in range(args.runs):
        t = time.perf_counter()
        write_reports(territory, None, inproc, list(FORMATS))
        copies.append(time.perf_counter() - t)

    print(f"territory: {territory.name} ({territory.communes.count()} communes), runs: {args.runs}")
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, load {os.getloadavg()}")
    print(f"cold command   {_median(cold)}  peak RSS median {statistics.median(cold_rss):.0f} MiB")
    print(f"warm command   {_median(warm)}  peak RSS median {statistics.median(warm_rss):.0f} MiB")
    for phase, values in phases.items():
        print(f"in process {phase:8s} {_median(values)}")
    print(f"in process copy from cache {_median(copies)}")
    c, w = statistics.median(cold), statistics.median(warm)
    verdict = {True: "OK", False: "ABOVE"}
    print(f"cold/warm ratio {c / w:.1f}×; target {TARGET_SECONDS:.0f} s: cold "
          f"{verdict[c < TARGET_SECONDS]}, warm {verdict[w < TARGET_SECONDS]}")  # fmt: skip
    sizes = {fmt: (inproc / f"r.{fmt}").stat().st_size for fmt in FORMATS}
    print("sizes: " + ", ".join(f"{k} {v / 1024:.0f} KiB" for k, v in sizes.items()))
    if args.reference:
        slug = territory.slug
        new, ref = out / f"diagnostic-{slug}", args.reference / f"diagnostic-{slug}"
        same_html = Path(f"{new}.html").read_bytes() == Path(f"{ref}.html").read_bytes()
        same_pdf = _pdf_text(Path(f"{new}.pdf")) == _pdf_text(Path(f"{ref}.pdf"))
        print(f"same as reference: HTML bytes {same_html}, PDF text {same_pdf}")


if __name__ == "__main__":
    main()
