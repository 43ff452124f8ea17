"""Relevance beside latency: the labelled queries of ``tests/directory/data/relevance.yaml``
against our search (one or several source trees, alternated run by run) and two peers in the
same run, SQLite FTS5 and PostgreSQL full text, each in its best configuration.

What it does, on the demo database of ``$MAILLAGE_HOME`` (``maillage init``: real FINESS of
France, synthetic practitioners of Haute-Marne):

* ours: for each ``--tree NAME=SRC``, a fresh process (as a server starts) loads the index,
  then runs every labelled query through the search page's parser (``q`` and "Où"), once
  ("first pass": caches cold) and ``--passes`` more times (median pass); trees alternate, run
  after run (``--runs``);
* SQLite FTS5: a table of the same entries (full text, indexed words, commune name, postal codes),
  ``unicode61 remove_diacritics 2`` with prefix indexes; every word a prefix (``"mot"*``),
  AND, else OR when AND finds nothing; ordered by the platform's territory (Haute-Marne)
  first, then ``bm25``;
* PostgreSQL: the same text in a ``tsvector`` (``simple`` configuration over ``unaccent``,
  GIN index), prefix ``to_tsquery`` (``mot:*``), AND then OR, ordered by territory then
  ``ts_rank_cd``; when nothing matches, the trigram similarity of ``pg_trgm`` on the text (typos).
  The peers get the same stopwords and the same normalisation as ours; they read "Où" as more
  words of the query (they have no place resolver).

Recall@10 and MRR as in :mod:`maillage.directory.search.evaluation`; latency per query (wall and
CPU) of the first and the median pass. Figures go to stdout as JSON and a table.

Usage: ``MAILLAGE_HOME=… python benchmarks/bench_relevance.py --tree old=/work/main/src
--tree new=src [--runs 2] [--passes 3] [--peers sqlite,postgresql] [--pg-url URL]``
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LABELLED = ROOT / "tests/directory/data/relevance.yaml"
EVALUATION = ROOT / "src/maillage/directory/search/evaluation.py"
PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
HOME_DEP = "52"


def _evaluation():
    """This tree's evaluation module, whatever tree ``maillage`` is imported from."""
    spec = importlib.util.spec_from_file_location("relevance_evaluation", EVALUATION)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _setup() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maillage.settings")
    django.setup()


def _passes(ev, queries, run, passes: int) -> dict:
    """One first pass, then ``passes`` more; scores of the last, timings of first and median."""
    timings = []
    outcomes = None
    for _ in range(passes + 1):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        per_query = []
        outcomes = []
        for q in queries:
            t0, c0 = time.perf_counter(), time.process_time()
            outcome = ev.evaluate([q], run)
            per_query.append((time.perf_counter() - t0, time.process_time() - c0))
            outcomes += outcome
        timings.append(
            {
                "wall_s": time.perf_counter() - wall0,
                "cpu_s": time.process_time() - cpu0,
                "p50_ms": 1000 * statistics.median(w for w, _ in per_query),
                "p95_ms": 1000 * sorted(w for w, _ in per_query)[int(0.95 * len(per_query))],
                "max_ms": 1000 * max(w for w, _ in per_query),
            }
        )
    median = sorted(timings[1:], key=lambda t: t["cpu_s"])[len(timings[1:]) // 2]
    return {
        "queries": len(outcomes),
        "recall_at_10": round(ev.recall_at_10(outcomes), 4),
        "mrr": round(ev.mean_reciprocal_rank(outcomes), 4),
        "failed": [o.query.line for o in outcomes if not o.passed],
        "first_pass": timings[0],
        "median_pass": median,
    }


def child_ours(passes: int) -> dict:
    _setup()
    import resource

    ev = _evaluation()
    queries = [q for q in ev.resolve(ev.load(LABELLED), LABELLED) if q.targets]
    from maillage.directory.search.service import load_index

    t0, c0 = time.perf_counter(), time.process_time()
    load_index()
    load = {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}
    out = _passes(ev, queries, ev.page_search, passes)
    out["load"] = load
    out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


# --- peers ---------------------------------------------------------------------------------


def _peer_rows():
    """(id, home, text, title) of every public entry: title, indexed words, commune name and
    postal codes: what a full-text peer would index."""
    from maillage.directory.search.index import SearchEntry
    from maillage.directory.search.service import normalise
    from maillage.territory.models import Commune

    communes = {
        code: normalise(f"{name} {postal}")
        for code, name, postal in Commune.objects.values_list("code", "name", "postal_codes")
    }
    rows = []
    for eid, title_norm, text, words, commune in SearchEntry.objects.filter(
        public=True
    ).values_list("id", "title_norm", "text", "words", "commune_id"):
        body = f"{text} {words} {communes.get(commune, '')}"
        rows.append((eid, int((commune or "").startswith(HOME_DEP)), body, title_norm))
    return rows


def _peer_words(q: str, ou: str) -> list[str]:
    from maillage.directory.search.service import tokens

    return tokens(f"{q} {ou}")


def child_sqlite(passes: int) -> dict:
    import sqlite3

    _setup()
    ev = _evaluation()
    queries = [q for q in ev.resolve(ev.load(LABELLED), LABELLED) if q.targets]
    t0, c0 = time.perf_counter(), time.process_time()
    rows = _peer_rows()
    folder = tempfile.mkdtemp(prefix="bench-fts5-")
    db = sqlite3.connect(Path(folder) / "fts.sqlite3")
    db.execute(
        "CREATE VIRTUAL TABLE fts USING fts5(body, home UNINDEXED, "
        "tokenize='unicode61 remove_diacritics 2', prefix='2 3 4')"
    )
    db.executemany("INSERT INTO fts(rowid, home, body) VALUES (?, ?, ?)", [r[:3] for r in rows])
    db.commit()
    build = {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}

    def run(q: str, ou: str) -> list[int]:
        words = _peer_words(q, ou)
        if not words:
            return []
        for joiner in (" AND ", " OR "):
            match = joiner.join(f'"{w}"*' for w in words)
            found = db.execute(
                "SELECT rowid FROM fts WHERE fts MATCH ? ORDER BY home DESC, bm25(fts) LIMIT 10",
                [match],
            ).fetchall()
            if found:
                return [r[0] for r in found]
        return []

    out = _passes(ev, queries, run, passes)
    out["build"] = build
    db.close()
    return out


def child_postgresql(passes: int, url: str) -> dict:
    import psycopg

    _setup()
    ev = _evaluation()
    queries = [q for q in ev.resolve(ev.load(LABELLED), LABELLED) if q.targets]
    t0, c0 = time.perf_counter(), time.process_time()
    rows = _peer_rows()
    db = psycopg.connect(url, autocommit=True)
    db.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    db.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    db.execute("DROP TABLE IF EXISTS bench_relevance_peer")
    db.execute(
        "CREATE TABLE bench_relevance_peer (id bigint PRIMARY KEY, home int, body text, "
        "doc tsvector)"
    )
    with db.cursor() as cursor:
        with cursor.copy("COPY bench_relevance_peer (id, home, body) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r[:3])
    db.execute("UPDATE bench_relevance_peer SET doc = to_tsvector('simple', unaccent(body))")
    db.execute("CREATE INDEX ON bench_relevance_peer USING gin (doc)")
    db.execute("CREATE INDEX ON bench_relevance_peer USING gin (body gin_trgm_ops)")
    db.execute("ANALYZE bench_relevance_peer")
    build = {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}

    def run(q: str, ou: str) -> list[int]:
        words = _peer_words(q, ou)
        if not words:
            return []
        for joiner in (" & ", " | "):
            query = joiner.join(f"{w}:*" for w in words)
            found = db.execute(
                "SELECT id FROM bench_relevance_peer, to_tsquery('simple', %s) q "
                "WHERE doc @@ q ORDER BY home DESC, ts_rank_cd(doc, q) DESC, id LIMIT 10",
                [query],
            ).fetchall()
            if found:
                return [r[0] for r in found]
        text = " ".join(words)
        found = db.execute(
            "SELECT id FROM bench_relevance_peer WHERE body %% %s "
            "ORDER BY home DESC, similarity(body, %s) DESC, id LIMIT 10",
            [text, text],
        ).fetchall()
        return [r[0] for r in found]

    try:
        out = _passes(ev, queries, run, passes)
    finally:
        db.execute("DROP TABLE IF EXISTS bench_relevance_peer")
        db.close()
    out["build"] = build
    return out


# --- driver ----------------------------------------------------------------------------------


def _spawn(args: list[str], src: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=False
    )
    if out.returncode:
        raise SystemExit(f"échec de {args} ({src}) :\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", default=[], help="NAME=SRC (repeatable)")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--peers", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--child", choices=["ours", "sqlite", "postgresql"])
    args = parser.parse_args()
    if args.child == "ours":
        print(json.dumps(child_ours(args.passes)))
        return
    if args.child == "sqlite":
        print(json.dumps(child_sqlite(args.passes)))
        return
    if args.child == "postgresql":
        print(json.dumps(child_postgresql(args.passes, args.pg_url)))
        return
    trees = [t.split("=", 1) for t in args.tree] or [["new", str(ROOT / "src")]]
    results: dict[str, list[dict]] = {}
    for _run in range(args.runs):
        for name, src in trees:  # alternated run by run
            results.setdefault(name, []).append(
                _spawn(["--child", "ours", "--passes", str(args.passes)], Path(src).resolve())
            )
    peers = [p for p in args.peers.split(",") if p]
    for peer in peers:
        extra = ["--pg-url", args.pg_url] if peer == "postgresql" else []
        results[peer] = [
            _spawn(["--child", peer, "--passes", str(args.passes), *extra], ROOT / "src")
        ]
    print(json.dumps(results))
    print(f"\n{'engine':<12} {'n':>4} {'recall@10':>9} {'MRR':>6} {'first p50':>10} "
          f"{'first cpu':>10} {'med p50':>8} {'med p95':>8} {'med cpu':>8}")  # fmt: skip
    for name, runs in results.items():
        r = runs[-1]
        f_p50 = statistics.median(x["first_pass"]["p50_ms"] for x in runs)
        f_cpu = statistics.median(x["first_pass"]["cpu_s"] for x in runs)
        m_p50 = statistics.median(x["median_pass"]["p50_ms"] for x in runs)
        m_p95 = statistics.median(x["median_pass"]["p95_ms"] for x in runs)
        m_cpu = statistics.median(x["median_pass"]["cpu_s"] for x in runs)
        print(
            f"{name:<12} {r['queries']:>4} {r['recall_at_10']:>9.3f} {r['mrr']:>6.3f} "
            f"{f_p50:>8.1f}ms {f_cpu:>9.2f}s {m_p50:>6.1f}ms {m_p95:>6.1f}ms {m_cpu:>7.2f}s"
        )


if __name__ == "__main__":
    main()
