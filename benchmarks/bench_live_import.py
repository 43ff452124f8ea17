"""Logins, proposals and reviews on a live SQLite site while a 100k-line RPPS import runs.

What it does:

1. builds (once) a site: ``maillage init`` in a temporary data folder (the shipped open data and
   the demo practitioners), then ``--clients`` professional accounts, each linked to a demo
   practitioner, and one coordinator account; ``--template DIR`` reuses a folder built before;
2. writes a synthetic ``PS_LibreAcces_Personne_activite`` extract of ``--lines`` activity lines
   in the official layout (pipe-separated, 56 columns; the generator of ``bench_directory.py``);
3. for each mode and run: copies the site, starts ``maillage serve`` (waitress, real HTTP), starts
   the clients — each professional in a loop: ``GET /connexion/``, ``POST /connexion/`` (login),
   ``PATCH /api/directory/practitioners/{own id}`` (a proposal), then a 2–4 s pause; the
   coordinator, every 2 s: publishes the newest pending proposal (a review) — and once the
   site is warm (every professional's first proposal answered and a review published: a live
   site's first requests load its search engine, which is not the import's doing) and two
   seconds more, runs ``maillage import rpps FILE`` in a subprocess; measures every request that
   *started* while the import ran: p50 / p95 / max latency per kind, and errors (5xx, 503
   included, and connection failures); checks that the import wrote everything (or nothing);
4. prints one line per run and the medians over runs per mode.

Modes: ``none`` (the same clients for 90 s without an import: what the machine gives
anyway), ``shadow`` (``maillage import`` as shipped: write on a snapshot, apply in one short
transaction) and ``direct`` (``MAILLAGE_IMPORT_ISOLATION=direct``: the single long write
transaction the import used before, i.e. the code at main).

``--tree NAME=SRC`` (repeatable) runs the server and the import of each mode but ``none`` once per
tree, with ``PYTHONPATH=SRC``, alternated within each run (``--tree old=/work/main/src --tree
new=$PWD/src``); the shadow import's log line (lock time, rows and seconds per table) is printed.

Usage: ``python benchmarks/bench_live_import.py [--lines 100000] [--clients 4] [--runs 3]
[--modes none,shadow,direct] [--template DIR] [--tree NAME=SRC ...]``.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_directory import generate_rpps  # noqa: E402 - the official-layout generator

PASSWORD = "Banc-d-essai-import-2026"
# BENCH_TIMELINE=1: print when each line of the import came and which requests took > 0.8 s
TIMELINE = bool(os.environ.get("BENCH_TIMELINE"))
BASELINE_S = 90  # mode "none": how long the clients run without an import
THINK_S = (2.0, 4.0)  # pause of a professional between two visits
SEED = 20261203


_tree: list[str] = []  # the source tree the maillage subprocesses run (--tree), if any


def maillage(home: Path, *args: str, env: dict | None = None, **kw) -> subprocess.Popen:
    full_env = {
        **os.environ,
        "MAILLAGE_HOME": str(home),
        "MAILLAGE_DATABASE_URL": "",
        **(env or {}),
        **({"PYTHONPATH": _tree[0]} if _tree else {}),
    }
    return subprocess.Popen([sys.executable, "-m", "maillage.cli", *args], env=full_env, **kw)


def build_template(home: Path, clients: int) -> None:
    home.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    assert maillage(home, "init").wait() == 0, "maillage init failed"
    print(f"site built in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    script = f"""
from django.contrib.auth import get_user_model
from maillage.accounts.models import Profile, Role
from maillage.directory.models import PractitionerRole
User = get_user_model()
roles = PractitionerRole.objects.filter(synthetic=True, active=True, location__isnull=False)
ids = list(roles.order_by('practitioner_id').values_list('practitioner_id', flat=True)
           .distinct()[:{clients}])
for i, pid in enumerate(ids):
    u = User.objects.create_user(f'bench-pro-{{i}}', password={PASSWORD!r})
    Profile.objects.create(user=u, role=Role.PROFESSIONAL, practitioner_id=pid)
u = User.objects.create_user('bench-coord', password={PASSWORD!r})
Profile.objects.create(user=u, role=Role.COORDINATOR)
"""
    assert maillage(home, "manage", "shell", "-c", script).wait() == 0


def practitioners(db: Path) -> list[int]:
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT p.practitioner_id FROM accounts_profile p JOIN auth_user u ON u.id = p.user_id "
        "WHERE u.username LIKE 'bench-pro-%' ORDER BY u.username"
    ).fetchall()
    con.close()
    return [r[0] for r in rows]


def count_rpps(db: Path) -> tuple[int, int]:
    con = sqlite3.connect(db)
    people = con.execute("SELECT count(*) FROM directory_practitioner WHERE source = 'rpps'")
    roles = con.execute("SELECT count(*) FROM directory_practitionerrole WHERE source = 'rpps'")
    out = people.fetchone()[0], roles.fetchone()[0]
    con.close()
    return out


def write_extract(db: Path, path: Path, lines: int) -> None:
    con = sqlite3.connect(db)
    communes = [
        (c, n, (p or "").split(",")[0][:5] or c, pop or 0)
        for c, n, p, pop in con.execute(
            "SELECT code, name, postal_codes, population FROM territory_commune "
            "WHERE latitude IS NOT NULL"
        )
    ]
    con.close()
    generate_rpps(path, lines, communes, np.random.default_rng(SEED))


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Session:
    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect()
        )

    def cookie(self, name: str) -> str:
        return next((c.value for c in self.jar if c.name == name), "")

    def request(self, method: str, path: str, data: bytes | None = None, headers=None):
        req = urllib.request.Request(self.base + path, data=data, method=method)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with self.opener.open(req, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: list[tuple[str, float, float, int]] = []  # kind, start, seconds, status

    def timed(self, kind: str, call):
        start = time.time()
        t = time.perf_counter()
        try:
            status, body = call()
        except OSError:
            status, body = 599, b""
        with self.lock:
            self.samples.append((kind, start, time.perf_counter() - t, status))
        return status, body


def login(rec: Recorder, base: str, username: str) -> Session | None:
    s = Session(base)
    status, page = s.request("GET", "/connexion/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page or b"")
    if not token:
        rec.timed("login", lambda: (status if status >= 500 else 598, b""))
        return None
    form = f"username={username}&password={PASSWORD}&csrfmiddlewaretoken={token.group(1).decode()}"
    status, _ = rec.timed(
        "login",
        lambda: s.request(
            "POST", "/connexion/", form.encode(),
            {"Content-Type": "application/x-www-form-urlencoded", "Referer": base + "/connexion/"},
        ),
    )  # fmt: skip
    return s if status == 302 else None


def professional(rec: Recorder, base: str, i: int, pid: int, stop: threading.Event) -> None:
    rng = random.Random(i)
    while not stop.is_set():
        s = login(rec, base, f"bench-pro-{i}")
        if s is not None:
            body = {"direct_line": f"03 25 {rng.randint(10, 99)} {rng.randint(10, 99)} 00"}
            rec.timed(
                "proposal",
                lambda s=s, body=body: s.request(
                    "PATCH", f"/api/directory/practitioners/{pid}", json.dumps(body).encode(),
                    {"Content-Type": "application/json", "X-CSRFToken": s.cookie("csrftoken"),
                     "Referer": base + "/"},
                ),
            )  # fmt: skip
        stop.wait(rng.uniform(*THINK_S))


def coordinator(rec: Recorder, base: str, stop: threading.Event) -> None:
    s = None
    while not stop.is_set():
        s = s or login(rec, base, "bench-coord")
        if s is None:
            stop.wait(1)
            continue
        status, body = s.request("GET", "/api/directory/proposals?status=pending")
        data = json.loads(body) if status == 200 else []
        items = data if isinstance(data, list) else data.get("items", [])
        if items:
            rec.timed(
                "review",
                lambda s=s, pk=items[-1]["id"]: s.request(
                    "POST", f"/api/directory/proposals/{pk}/publish", b"{}",
                    {"Content-Type": "application/json", "X-CSRFToken": s.cookie("csrftoken"),
                     "Referer": base + "/"},
                ),
            )  # fmt: skip
        stop.wait(2.0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def one_run(
    template: Path, extract: Path, lines: int, mode: str, clients: int, label: str = ""
) -> dict:
    label = label or mode
    home = Path(tempfile.mkdtemp(prefix="bench-live-"))
    try:
        shutil.copy(template / "secret_key", home / "secret_key")
        src = sqlite3.connect(template / "maillage.sqlite3")
        dst = sqlite3.connect(home / "maillage.sqlite3")
        src.backup(dst)
        src.close()
        dst.close()
        db = home / "maillage.sqlite3"
        pids = practitioners(db)[:clients]
        before = count_rpps(db)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = maillage(home, "serve", "--port", str(port), stderr=subprocess.DEVNULL)
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/connexion/", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        rec, stop = Recorder(), threading.Event()
        threads = [
            threading.Thread(target=professional, args=(rec, base, i, pid, stop))
            for i, pid in enumerate(pids)
        ]
        threads.append(threading.Thread(target=coordinator, args=(rec, base, stop)))
        for t in threads:
            t.start()
        # A live site has been running: its first requests (the search engine loaded, the
        # connections opened) are not the import's doing. Start the clock once every
        # professional has had a proposal answered and a review has been published (≤ 90 s).
        deadline = time.time() + 90
        while time.time() < deadline:
            with rec.lock:
                done = {k for k, *_ in rec.samples}
                proposals = sum(1 for k, *_ in rec.samples if k == "proposal")
            if proposals >= clients and "review" in done:
                break
            time.sleep(0.5)
        time.sleep(2)
        env = {"MAILLAGE_IMPORT_ISOLATION": mode}
        t0 = time.time()
        if mode == "none":  # the same clients on the same machine, without an import
            imp = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({BASELINE_S})"])
            import_err = ""
            imp.wait()
        else:
            imp = maillage(home, "import", "rpps", str(extract), env=env,
                           stderr=subprocess.PIPE, text=True)  # fmt: skip
            stamped = [(time.time(), line) for line in imp.stderr]  # each line when it came
            imp.wait()
            import_err = "".join(line for _, line in stamped)
            if TIMELINE:  # the import's lines and the slow requests, seconds after its start
                events = [(at - t0, "import", line.strip()[:150]) for at, line in stamped]
                events += [
                    (start - t0, kind, f"{seconds:.2f} s, status {status}")
                    for kind, start, seconds, status in rec.samples
                    if start >= t0 - 1 and seconds > 0.8
                ]
                for at, who, what in sorted(events):
                    print(f"  {at:7.2f}  {who:8} {what}", file=sys.stderr)
        t1 = time.time()
        stop.set()
        for t in threads:
            t.join()
        server.terminate()
        server.wait(timeout=30)
        after = count_rpps(db)
        during = [s for s in rec.samples if t0 <= s[1] <= t1]
        result = {"mode": label, "import_s": t1 - t0, "import_rc": imp.returncode,
                  "rpps_people_added": after[0] - before[0],
                  "rpps_roles_added": after[1] - before[1], "kinds": {}}  # fmt: skip
        if imp.returncode != 0:
            result["import_error"] = import_err[-500:]
        shadow = re.search(r"shadow import: (.*)", import_err)
        result["shadow"] = shadow.group(1) if shadow else ""
        for kind in ("login", "proposal", "review", "all"):
            rows = [s for s in during if kind == "all" or s[0] == kind]
            ok = [s[2] for s in rows if s[3] < 500]
            errors = sum(1 for s in rows if s[3] >= 500)
            lat = sorted(s[2] for s in rows)
            result["kinds"][kind] = {
                "n": len(rows), "errors": errors, "ok": len(ok),
                "p50": float(np.percentile(lat, 50)) if lat else float("nan"),
                "p95": float(np.percentile(lat, 95)) if lat else float("nan"),
                "max": max(lat) if lat else float("nan"),
                "statuses": sorted({s[3] for s in rows}),
            }  # fmt: skip
        return result
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--modes", default="none,shadow,direct")
    parser.add_argument("--tree", action="append", default=[], metavar="NAME=SRC")
    parser.add_argument(
        "--template", help="site folder: built there if missing, reused (and kept) if present"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-live-work-"))
    template = Path(args.template) if args.template else work / "template"
    if not (template / "maillage.sqlite3").exists() or not practitioners(
        template / "maillage.sqlite3"
    ):
        build_template(template, args.clients)
    extract = template / f"PS_LibreAcces_Personne_activite_bench_{args.lines}.txt"
    if not extract.exists():  # kept beside the template, reused by the next invocation
        t = time.perf_counter()
        write_extract(template / "maillage.sqlite3", extract, args.lines)
        print(f"extract: {args.lines} lines, {extract.stat().st_size / 1e6:.1f} MB, "
              f"{time.perf_counter() - t:.0f} s", file=sys.stderr)  # fmt: skip
    trees = [tuple(t.split("=", 1)) for t in args.tree] or [("", "")]
    combos = [
        (mode, name, src, f"{mode}@{name}" if name else mode)
        for mode in args.modes.split(",")
        for name, src in (trees[:1] if mode == "none" else trees)
    ]
    results = []
    try:
        for run in range(args.runs):
            for mode, _name, src, label in combos:
                _tree[:] = [src] if src else []
                r = one_run(template, extract, args.lines, mode, args.clients, label)
                results.append(r)
                a = r["kinds"]["all"]
                print(
                    f"run {run + 1} {label:6s}: import {r['import_s']:.0f} s rc={r['import_rc']} "
                    f"(+{r['rpps_people_added']} practitioners, +{r['rpps_roles_added']} roles); "
                    f"{a['n']} requests during import, errors {a['errors']}, p50 {a['p50']:.3f} s, "
                    f"p95 {a['p95']:.3f} s, max {a['max']:.2f} s "
                    + " | ".join(
                        f"{k} n={v['n']} err={v['errors']} p95={v['p95']:.3f} max={v['max']:.2f}"
                        for k, v in r["kinds"].items() if k != "all"
                    ),
                    flush=True,
                )  # fmt: skip
                if r.get("shadow"):
                    print("   " + r["shadow"], flush=True)
                if "import_error" in r:
                    print("   import error: " + r["import_error"], flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # a template built here, and its extract
    print("\nmedians over runs")
    for _mode, _name, _src, mode in combos:
        rs = [r for r in results if r["mode"] == mode]
        for kind in ("login", "proposal", "review", "all"):
            ks = [r["kinds"][kind] for r in rs]
            print(
                f"{mode:6s} {kind:8s}: n {statistics.median(k['n'] for k in ks):.0f}, "
                f"errors {statistics.median(k['errors'] for k in ks):.0f} "
                f"(total {sum(k['errors'] for k in ks)}), "
                f"p50 {statistics.median(k['p50'] for k in ks):.3f} s, "
                f"p95 {statistics.median(k['p95'] for k in ks):.3f} s, "
                f"max {statistics.median(k['max'] for k in ks):.2f} s"
            )
        print(f"{mode:6s} import: {statistics.median(r['import_s'] for r in rs):.0f} s, "
              f"all runs complete: {all(r['import_rc'] == 0 for r in rs)}")  # fmt: skip


if __name__ == "__main__":
    main()
