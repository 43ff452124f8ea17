"""First start of ``maillage demo``, as a new user lives it.

Each run starts ``maillage demo`` in a fresh, empty data folder (``MAILLAGE_HOME``) on a free
port and polls ``http://127.0.0.1:<port>/`` every 0.25 s, recording from the launch:

* ``answer``: the first HTTP response of any status (the "préparation des données" page is a
  503 with ``Retry-After``);
* ``usable``: the first 200 of ``/`` (which redirects to the default territory's dashboard)
  whose page names the territory — the demo with its data;
* ``peak RSS`` of the process (``VmHWM``);

then stops it and starts it again on the same folder (``second``: data already there, time to
the usable dashboard). Medians over the runs.

Optionally ``--install REPO``: time ``pip install REPO`` (non-editable) into a new virtualenv
first and use its ``maillage``. ``--old PATH`` alternates runs with another ``maillage``
executable (e.g. a virtualenv of the previous commit).

    python benchmarks/bench_first_start.py --runs 5 --maillage .venv/bin/maillage
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

MARKER = "Haute-Marne"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def _peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def start_and_wait(exe: str, home: Path, timeout: float) -> dict[str, float]:
    port = _free_port()
    env = {**os.environ, "MAILLAGE_HOME": str(home), "MAILLAGE_DATABASE_URL": ""}
    log = (home / "demo.log").open("w")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [exe, "demo", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    result: dict[str, float] = {}
    try:
        while time.perf_counter() - t0 < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"maillage demo exited ({proc.returncode}), see {log.name}")
            try:
                status, body = _get(f"http://127.0.0.1:{port}/")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.25)
                continue
            now = time.perf_counter() - t0
            result.setdefault("answer", now)
            if status == 200 and MARKER in body:
                result["usable"] = now
                break
            time.sleep(0.25)
        result["rss_mb"] = _peak_rss_mb(proc.pid)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    return result


def install(repo: str, venv: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", repo], check=True)
    return time.perf_counter() - t0, str(venv / "bin" / "maillage")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--maillage", default=shutil.which("maillage") or "maillage")
    parser.add_argument("--install", metavar="REPO", help="pip install REPO into a new venv")
    parser.add_argument("--old", metavar="EXE", help="another maillage, alternated run by run")
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()

    exes = {"new": args.maillage}
    if args.install:
        venv = Path(tempfile.mkdtemp(prefix="maillage-venv-"))
        seconds, exes["new"] = install(args.install, venv)
        print(f"fresh install (new venv + pip install {args.install}): {seconds:.1f} s")
    if args.old:
        exes["old"] = args.old
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in exes}
    for i in range(args.runs):
        for name, exe in exes.items():
            home = Path(tempfile.mkdtemp(prefix="maillage-home-"))
            try:
                first = start_and_wait(exe, home, args.timeout)
                second = start_and_wait(exe, home, args.timeout)
            finally:
                shutil.rmtree(home, ignore_errors=True)
            first["second"] = second.get("usable", float("nan"))
            runs[name].append(first)
            print(
                f"run {i + 1} {name}: answer {first.get('answer', float('nan')):.1f} s, "
                f"usable {first.get('usable', float('nan')):.1f} s, "
                f"second start {first['second']:.1f} s, peak RSS {first['rss_mb']:.0f} MB, "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    for name, rows in runs.items():

        def med(key: str, rows=rows) -> float:
            return statistics.median(r.get(key, float("nan")) for r in rows)

        print(
            f"{name} ({exes[name]}), median of {len(rows)}: first answer {med('answer'):.1f} s, "
            f"usable dashboard {med('usable'):.1f} s, second start {med('second'):.1f} s, "
            f"peak RSS {med('rss_mb'):.0f} MB"
        )


if __name__ == "__main__":
    main()
