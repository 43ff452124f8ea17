"""Benchmark (b): `maillage report departement:52` — HTML + PDF + XLSX.

Figures, medians over RUNS:

1. **cold command**: ``maillage report`` in a new process, as a user runs it, with the export
   cache of reports emptied before each run (what a report costs once its files are gone: a
   format asked for later, the cache cleared); the figures of the data version stay cached in
   ``exports/diagnostic/`` when the tree keeps them;
2. **cold, nothing cached**: the same with the figures' cache emptied too (the first report
   after an import or an edit, which bump the data version);
3. **warm command**: the same command again, the cache filled (data unchanged: a copy);
4. **in process** (without ``--tree``): the phases (figures, html, pdf, xlsx; three runs) in one
   process whose modules are loaded (the figures recomputed every run, as a background worker
   does), and ``write_reports`` served from the filled cache.

Wall seconds, processor seconds (user + system) and peak memory (maximum resident set) of each
command come from ``os.wait4``. ``--tree old=/work/main/src --tree new=$PWD/src`` runs each
command with each source tree in turn (``PYTHONPATH``), run by run, so that both see the same
load, and checks that the trees write the same HTML (bytes) and PDF text (``pdftotext``), or
says where they differ. With ``--reference DIR`` (files of an earlier version), the HTML must be
byte-identical and the PDF's text identical.

    MAILLAGE_HOME=/tmp/bench-home python benchmarks/bench_report.py [TERRITORY] [RUNS] \
        [--reference DIR] [--tree NAME=SRC ...]

The database of ``$MAILLAGE_HOME`` must be initialised first (``maillage init``, not timed).
"""

from __future__ import annotations

import argparse
import difflib
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
MODES = ("cold, nothing cached", "cold", "warm")  # each after the one that fills its cache


def _command(spec: str, output: Path, src: str | None = None) -> tuple[float, float, int]:
    """Wall seconds, processor seconds and peak RSS (MiB) of ``maillage report`` in a new
    process (with ``src`` first on its ``PYTHONPATH`` when given)."""
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "maillage.cli", "report", spec, "--output", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"maillage report failed: {proc.stderr.read().decode()}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024


def _median(values: list[float]) -> str:
    median = statistics.median(values)
    return f"median {median:6.2f} s  (min {min(values):.2f}, max {max(values):.2f})"


def _pdf_text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _compare(label: str, new: Path, ref: Path) -> None:
    """Print whether two report folders hold the same HTML bytes and PDF text."""
    html_new, html_ref = (sorted(p.glob("*.html"))[0].read_bytes() for p in (new, ref))
    text_new, text_ref = (_pdf_text(sorted(p.glob("*.pdf"))[0]) for p in (new, ref))
    print(f"{label}: HTML bytes {html_new == html_ref}, PDF text {text_new == text_ref}")
    if text_new != text_ref:
        diff = difflib.unified_diff(text_ref.splitlines(), text_new.splitlines(), lineterm="", n=0)
        print("\n".join(list(diff)[:40]))


def _alternate(args: argparse.Namespace, home: Path) -> None:
    """Each mode with each tree in turn, run by run (``--tree``)."""
    trees = dict(t.split("=", 1) for t in args.tree)
    folders = {name: Path(tempfile.mkdtemp(prefix=f"report-{name}-")) for name in trees}
    results = {(n, m): [] for n in trees for m in MODES}
    for _ in range(args.runs):
        for name, src in trees.items():
            for mode in MODES:
                if mode != "warm":
                    shutil.rmtree(home / "exports" / "report", ignore_errors=True)
                if mode == "cold, nothing cached":
                    shutil.rmtree(home / "exports" / "diagnostic", ignore_errors=True)
                wall, cpu, rss = _command(args.territory, folders[name], src)
                results[name, mode].append((wall, cpu, rss))
                print(f"  {name} {mode}: wall {wall:.2f} s, CPU {cpu:.2f} s, RSS {rss} MiB, "
                      f"load {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    print(f"territory {args.territory}, runs: {args.runs}, python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load after {os.getloadavg()}")  # fmt: skip
    print(f"{'':8s} {'mode':22s} {'wall median (min-max)':>24s} {'CPU median (min-max)':>24s}"
          f" {'RSS MiB':>8s}")  # fmt: skip
    for (name, mode), rows in results.items():
        wall, cpu, rss = ([r[i] for r in rows] for i in range(3))
        print(f"{name:8s} {mode:22s} {statistics.median(wall):8.2f} ({min(wall):.2f}-"
              f"{max(wall):.2f}) {statistics.median(cpu):12.2f} ({min(cpu):.2f}-{max(cpu):.2f})"
              f" {statistics.median(rss):8.0f}")  # fmt: skip
    names = list(trees)
    for name in names[1:]:
        for mode in MODES:
            ratio = statistics.median(r[1] for r in results[name, mode]) / statistics.median(
                r[1] for r in results[names[0], mode]
            )
            print(f"CPU {name}/{names[0]} {mode}: {ratio:.2f}")
        _compare(f"{name} vs {names[0]}", folders[name], folders[names[0]])
    if args.reference:
        for name in names:
            _compare(f"{name} vs reference", folders[name], args.reference)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("territory", nargs="?", default="departement:52")
    parser.add_argument("runs", nargs="?", type=int, default=5)
    parser.add_argument("--reference", type=Path, help="report files of an earlier version")
    parser.add_argument(
        "--tree", action="append", default=[], help="NAME=SRC: a source tree to alternate"
    )
    args = parser.parse_args()
    if not os.environ.get("MAILLAGE_HOME"):
        raise SystemExit("set MAILLAGE_HOME to an initialised data folder")
    home = Path(os.environ["MAILLAGE_HOME"])
    if args.tree:
        _alternate(args, home)
        return
    reports_cache = home / "exports" / "report"
    out = Path(tempfile.mkdtemp())

    cold: list[float] = []
    cold_rss: list[int] = []
    for _ in range(args.runs):
        shutil.rmtree(reports_cache, ignore_errors=True)
        seconds, _cpu, rss = _command(args.territory, out)
        cold.append(seconds)
        cold_rss.append(rss)
    warm: list[float] = []
    warm_rss: list[int] = []
    for _ in range(args.runs):
        seconds, _cpu, rss = _command(args.territory, out)
        warm.append(seconds)
        warm_rss.append(rss)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maillage.settings")
    import django

    django.setup()
    from maillage.observatory.diagnostic import compute
    from maillage.observatory.reports import render, write_reports
    from maillage.territory.services import resolve, shapes_for

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
