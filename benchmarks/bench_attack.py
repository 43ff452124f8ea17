"""Attack benchmark: normal search latency, alone and while four clients send heavy inputs.

Starts ``maillage serve`` (waitress, the server the project ships) on a prepared data folder,
measures a single client running a fixed list of realistic searches (unloaded), then the same
client while four attacking threads loop over heavy inputs (a 3,000-word search, 3,000 FHIR
ids, a 100k-character FHIR name, a huge page number). Prints p50/p95 of the normal client in
both phases, their ratio, and the attackers' response codes. Several runs; medians.

The normal client connects from 127.0.0.1, each attacker from its own address (127.0.0.2…),
so that the per-IP rate limits see distinct clients. ``--no-rate-limits`` turns them off
(``MAILLAGE_RATE_LIMITS_ENABLED=0``) to measure what the input bounds alone do.

    MAILLAGE_HOME=/path/with/a/database python benchmarks/bench_attack.py --runs 3
    # the code before the change: --src /path/to/old/worktree/src
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

QUERIES = [
    {"q": "medecin generaliste chaumont"},
    {"q": "infirmier", "near": "Saint-Dizier"},
    {"q": "pharmacie langres"},
    {"q": "kine", "near": "Chaumont", "radius_km": "10"},
    {"q": "cardiologue"},
    {"q": "dentiste joinville"},
    {"q": "sage femme"},
    {"q": "generalsite chaumnt"},
    {"q": "psychiatre haute marne"},
    {"q": "centre hospitalier"},
    {"q": "orthophoniste", "accepts_new_patients": "true"},
    {"q": "ophtalmologue troyes"},
    {"q": "maison de sante"},
    {"q": "pediatre dijon"},
    {"q": "dermatologue"},
    {"q": "medecin", "near": "Langres", "radius_km": "15"},
]
WORDS = " ".join(["medecin", "langres", "cardiologue", "chaumont"] * 750)  # 3,000 words
HEAVY = [
    "/api/directory/search?" + urllib.parse.urlencode({"q": WORDS}),
    "/fhir/Practitioner?_id=" + ",".join(str(i) for i in range(1, 3001)),
    "/fhir/Practitioner?name=" + "a" * 100_000,
    "/api/directory/actions?page=99999999999999999999",
    "/fhir/Practitioner?_offset=99999999999999999999",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 60, source: str | None = None) -> tuple[int, float]:
    """GET ``url``; ``source`` is the local address to connect from (127.0.0.x: each attacker
    is its own client for the per-IP rate limits, as distinct machines would be)."""
    parts = urllib.parse.urlsplit(url)
    start = time.perf_counter()
    try:
        conn = http.client.HTTPConnection(
            parts.hostname, parts.port, timeout=timeout,
            source_address=(source, 0) if source else None,
        )  # fmt: skip
        conn.request("GET", parts.path + ("?" + parts.query if parts.query else ""))
        response = conn.getresponse()
        response.read()
        status = response.status
        conn.close()
    except Exception:
        status = -1  # timeout or connection error
    return status, (time.perf_counter() - start) * 1000


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def normal_client(base: str, n: int, deadline: float) -> list[float]:
    times = []
    for i in range(n):
        if time.monotonic() > deadline:
            break
        url = f"{base}/api/directory/search?" + urllib.parse.urlencode(QUERIES[i % len(QUERIES)])
        status, ms = get(url)
        if status == 200:
            times.append(ms)
        else:
            print(f"  normal query answered {status}", file=sys.stderr)
    return times


def attacker(base: str, k: int, stop: threading.Event, codes: collections.Counter) -> None:
    i = k
    while not stop.is_set():
        status, _ = get(base + HEAVY[i % len(HEAVY)], timeout=30, source=f"127.0.0.{k + 2}")
        codes[status] += 1
        i += 1


def one_run(base: str, n: int, attackers: int, max_s: float) -> dict:
    for q in QUERIES:  # warm the process (index loaded, caches)
        get(f"{base}/api/directory/search?" + urllib.parse.urlencode(q))
    unloaded = normal_client(base, n, time.monotonic() + max_s)
    stop, codes = threading.Event(), collections.Counter()
    threads = [
        threading.Thread(target=attacker, args=(base, k, stop, codes), daemon=True)
        for k in range(attackers)
    ]
    for t in threads:
        t.start()
    time.sleep(1.0)  # let the attack start
    loaded = normal_client(base, n, time.monotonic() + max_s)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    return {
        "unloaded_p50": percentile(unloaded, 0.5),
        "unloaded_p95": percentile(unloaded, 0.95),
        "attack_p50": percentile(loaded, 0.5) if loaded else float("nan"),
        "attack_p95": percentile(loaded, 0.95) if loaded else float("nan"),
        "attack_done": len(loaded),
        "codes": dict(codes),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--queries", type=int, default=48, help="normal searches per phase")
    parser.add_argument("--attackers", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=60, help="cap of a phase")
    parser.add_argument("--src", help="serve the code of this src/ folder (before/after)")
    parser.add_argument("--no-rate-limits", action="store_true", help="turn rate limits off")
    args = parser.parse_args()

    port = free_port()
    env = dict(os.environ)
    if args.no_rate_limits:
        env["MAILLAGE_RATE_LIMITS_ENABLED"] = "0"
    else:
        # The default rules, with a search budget the back-to-back normal client stays within
        # (300 a minute instead of 60): the attackers exceed either within seconds.
        from maillage.settings import MAILLAGE_RATE_LIMITS

        rules = [(n, r, 300 if n == "search" else c, s) for n, r, c, s in MAILLAGE_RATE_LIMITS]
        env["MAILLAGE_RATE_LIMITS"] = json.dumps(rules)
    if args.src:
        env["PYTHONPATH"] = args.src
    server = subprocess.Popen(
        [sys.executable, "-m", "maillage.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if get(f"{base}/api/directory/search?q=medecin", timeout=5)[0] == 200:
                break
            time.sleep(0.5)
        else:
            print("server did not start", file=sys.stderr)
            return 1
        runs = []
        for r in range(args.runs):
            res = one_run(base, args.queries, args.attackers, args.max_seconds)
            runs.append(res)
            print(
                f"run {r + 1}: unloaded p50 {res['unloaded_p50']:.1f} / p95 "
                f"{res['unloaded_p95']:.1f} ms; under attack p50 {res['attack_p50']:.1f} / p95 "
                f"{res['attack_p95']:.1f} ms ({res['attack_done']} searches); attackers "
                f"{res['codes']}"
            )
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0] if k != "codes"}
        total = collections.Counter()
        for r in runs:
            total.update(r["codes"])
        print(
            f"median of {args.runs}: unloaded p50 {med['unloaded_p50']:.1f} / p95 "
            f"{med['unloaded_p95']:.1f} ms; under attack p50 {med['attack_p50']:.1f} / p95 "
            f"{med['attack_p95']:.1f} ms; ratio p95 {med['attack_p95'] / med['unloaded_p95']:.2f}"
            f"; attacker codes {dict(total)}"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
