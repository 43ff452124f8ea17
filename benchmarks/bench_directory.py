"""Directory search at national scale: 1.2 million practitioner roles, SQLite and PostgreSQL.

What it does, for each database:

1. creates an empty database (SQLite in a temporary MAILLAGE_HOME; PostgreSQL: a dedicated
   database ``maillage_bench`` created and dropped here) and imports the national COG and the
   FINESS establishments (not timed: they are the ground the directory stands on);
2. writes a synthetic national RPPS extract, ``PS_LibreAcces_Personne_activite`` layout
   (pipe-separated, 56 columns, as published by the ANS): 1.2 million activity lines, communes
   drawn from the national COG centroids in proportion to population, professions in the
   proportions of the RPPS (infirmiers, médecins with their specialties, pharmaciens, kinés…);
3. times ``maillage import rpps FILE`` (read + validate + write + reindex), in process;
4. in a fresh process (as a server starts), times 200 varied queries through the JSON API,
   ``GET /api/directory/search?…`` with ``django.test.Client`` (free text with typos, names,
   profession + commune, near + radius, filters), ``--passes`` times (default 3; the figures
   are medians over the passes), after one warm-up query that loads the process's in-memory
   index (its time and the memory it takes reported separately);
5. times the naive peer: the same free-text queries as ``title_norm__icontains`` ORM queries
   (count + first page) on the same index table;
6. deletes the generated file and database (``--keep DIR`` keeps them and reuses them on the
   next run, which then measures the search only: for working on the search).

Usage: ``python benchmarks/bench_directory.py [--roles 1200000] [--backend sqlite|postgresql|both]
[--passes 3] [--keep DIR]`` (PostgreSQL at ``postgres://postgres@127.0.0.1:5432``, override
with ``--pg-url``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PG_URL = "postgres://postgres@127.0.0.1:5432"
PG_DB = "maillage_bench"
SEED = 20261123

# Active RPPS roles by profession (ANS / DREES 2024 orders of magnitude): code, share.
PROFESSION_SHARES = [
    ("60", 0.52),  # infirmiers
    ("10", 0.20),  # médecins
    ("70", 0.085),  # masseurs-kinésithérapeutes
    ("21", 0.062),  # pharmaciens
    ("40", 0.037),  # chirurgiens-dentistes
    ("91", 0.023),  # orthophonistes
    ("50", 0.020),  # sages-femmes
    ("80", 0.012),  # pédicures-podologues
    ("92", 0.006),  # orthoptistes
    ("26", 0.004),  # audioprothésistes
    ("28", 0.029),  # opticiens-lunetiers
]
# Doctors: 45 % general practice, the rest over the common specialties.
DOCTOR_SPECIALTIES = [("SM54", 0.40), ("SM53", 0.05)] + [
    (code, 0.55 / 14)
    for code in ("SM04 SM02 SM42 SM44 SM40 SM20 SM38 SM15 SM24 SM32 SM48 SM41 SM08 SM59").split()
]
GIVEN = (
    "Marie Nathalie Isabelle Sylvie Catherine Sandrine Valérie Christine Céline Stéphanie Sophie "
    "Aurélie Julie Camille Émilie Claire Anne Hélène Laure Pauline Léa Manon Chloé Sarah Lucie "
    "Jean Philippe Michel Alain Patrick Nicolas Christophe Pierre Laurent Frédéric Éric Olivier "
    "David Julien Thomas Sébastien Vincent Antoine Mathieu Guillaume Hugo Louis Paul Lucas Marc "
    "Inès Yasmine Karim Mehdi Amine Fatima Nadia Sofiane Rachid Leïla Théo Nathan Enzo Maëlle"
).split()
SYLLABLES = (
    "ber mar tin dur dub ois mor eau lau ren sim mic lef leb roy rou dav ber tra mor fou gir bon "
    "dup lam fon rou vin mul far mer bla gue boy gar che fra leg gau per rob cle nic hen mat mas "
    "duv den dum lem noe mey duf meu bru jol riv luc bar arn gil roc ren sch col car pic rog fab "
    "aub lem ver chau lan gre val mon bel roz pag cas tel vil cor"
).split()
STREETS = "de la Gare|Victor Hugo|de la République|Jean Jaurès|du Général de Gaulle|des Écoles"


def generate_rpps(path: Path, roles: int, communes: list[tuple], rng) -> dict:
    """Write the synthetic extract; return what the queries need (names, communes used)."""
    from maillage.opendata.nomenclatures import PROFESSIONS, SPECIALTIES
    from maillage.opendata.rpps import HEADER

    codes = np.array([c[0] for c in communes])
    names = np.array([c[1] for c in communes])
    postal = np.array([c[2] for c in communes])
    population = np.array([max(c[3], 1) for c in communes], dtype=float)
    # Practitioners live where people live, and more than proportionally in towns.
    weight = population**1.15
    commune_index = rng.choice(len(codes), size=roles, p=weight / weight.sum())
    prof_codes = np.array([p for p, _ in PROFESSION_SHARES])
    shares = np.array([s for _, s in PROFESSION_SHARES])
    professions = prof_codes[rng.choice(len(prof_codes), size=roles, p=shares / shares.sum())]
    spec_codes = np.array([s for s, _ in DOCTOR_SPECIALTIES])
    spec_p = np.array([p for _, p in DOCTOR_SPECIALTIES])
    specialties = np.where(
        professions == "10",
        spec_codes[rng.choice(len(spec_codes), size=roles, p=spec_p / spec_p.sum())],
        "",
    )
    # About 1.08 lines per person: some practise at two places.
    people = int(roles / 1.08)
    person = np.sort(rng.integers(0, people, size=roles))
    person[:people] = np.arange(people)  # everyone has at least one line
    person.sort()
    surnames = np.array(
        sorted(
            {
                "".join(rng.choice(SYLLABLES, size=rng.integers(2, 4))).capitalize()
                for _ in range(250_000)
            }
        )
    )
    family = surnames[rng.integers(0, len(surnames), size=people)][person]
    given = np.array(GIVEN)[rng.integers(0, len(GIVEN), size=people)][person]
    streets = STREETS.split("|")
    liberal = rng.random(roles) < 0.7
    header = "|".join(HEADER) + "|\n"
    width = len(HEADER)
    with open(path, "w", encoding="utf-8") as out:
        out.write(header)
        for i in range(roles):
            c = commune_index[i]
            rpps = f"1{person[i]:010d}"
            prof = professions[i]
            spec = specialties[i]
            fields = [""] * width
            fields[0], fields[1], fields[2] = "8", rpps, "8" + rpps
            fields[3] = "DR" if prof in ("10", "40") else ""
            fields[7], fields[8] = family[i].upper(), given[i]
            fields[9], fields[10] = prof, PROFESSIONS[prof]
            fields[11] = "C"
            if spec:
                fields[13], fields[15], fields[16] = "S", spec, SPECIALTIES[spec]
            fields[17] = "L" if liberal[i] else "S"
            if liberal[i]:
                fields[24] = f"CABINET {family[i].upper()}"
            else:
                fields[24] = f"CENTRE DE SANTE DE {names[c].upper()}"
            fields[28] = str(1 + (i % 120))
            fields[31], fields[32] = "Rue", streets[i % len(streets)].upper()
            fields[35], fields[36], fields[37] = postal[c], codes[c], names[c]
            fields[38], fields[39] = "99100", "France"
            out.write("|".join(fields) + "|\n")
    # Queries ask where practitioners are, about people who exist: sample lines of the file.
    sample = rng.integers(0, roles, size=5000)
    return {
        "people": [(str(given[i]), str(family[i])) for i in sample],
        "communes": [(str(codes[c]), str(names[c]), str(postal[c])) for c in commune_index[sample]],
    }


def typo(word: str, rng) -> str:
    """One realistic typo: two neighbouring letters swapped, or one letter dropped/doubled."""
    if len(word) < 5:
        return word
    i = int(rng.integers(1, len(word) - 2))
    kind = int(rng.integers(0, 3))
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def build_queries(facts: dict, rng, n: int = 200) -> list[dict]:
    """200 varied queries, the API's parameters (q, profession, commune, near, radius_km…)."""
    from maillage.directory.search.service import normalise

    words = ["generaliste", "infirmier", "kine", "dentiste", "pharmacien", "sage-femme",
             "pediatre", "cardiologue", "orthophoniste", "psychiatre", "infirmiere",
             "medecin generaliste", "ophtalmologue", "podologue"]  # fmt: skip
    groups = ["medecin_generaliste", "infirmier", "masseur_kinesitherapeute", "pediatre",
              "chirurgien_dentiste", "pharmacien", "sage_femme", "orthophoniste"]  # fmt: skip
    communes = facts["communes"]
    queries: list[dict] = []
    pick = lambda seq: seq[int(rng.integers(0, len(seq)))]  # noqa: E731
    for i in range(n):
        code, name, postal = pick(communes)
        kind = i % 8
        if kind == 0:  # free text, typo in the place
            queries.append({"q": f"{pick(words)} {typo(normalise(name).split()[-1], rng)}"})
        elif kind == 1:  # free text, typo in the profession, accents and case
            queries.append({"q": f"{typo(pick(words), rng).upper()} {name}"})
        elif kind == 2:  # a person's name: given name and the beginning of the family name
            given, family = pick(facts["people"])
            queries.append({"q": f"{given} {family[: max(4, len(family) - 2)]}"})
        elif kind == 3:  # profession + commune
            queries.append({"profession": pick(groups), "commune": code})
        elif kind == 4:  # near + radius
            queries.append(
                {"profession": pick(groups), "near": name, "radius_km": pick([5, 10, 20, 30])}
            )
        elif kind == 5:  # address + radius + free text
            queries.append(
                {"q": pick(words), "near": f"12 rue de la Gare {postal} {name}", "radius_km": 15}
            )
        elif kind == 6:  # filters
            queries.append(
                {
                    "profession": pick(groups),
                    "commune": code,
                    "teleconsultation": "false",
                    "kind": "role",
                }  # fmt: skip
            )
        else:  # structures, open now, languages
            queries.append(
                pick(
                    [
                        {"q": f"pharmacie {name}", "kind": "organization"},
                        {"q": name, "structure_kind": "pharmacie"},
                        {"near": name, "radius_km": 25, "open_now": "true"},
                        {"q": pick(words), "near": name, "language": "en", "radius_km": 30},
                        {"q": f"{pick(words)} {name}", "page": 2},
                    ]
                )
            )
    return queries


def percentile(values: list[float], p: float) -> float:
    return float(np.percentile(np.array(values), p))


def run_queries(client, queries: list[dict], via_api: bool) -> tuple[list, list, list, list]:
    from maillage.directory.search.service import SearchQuery, search

    latencies, totals, failures, timed = [], [], [], []
    for params in queries:
        t = time.perf_counter()
        if via_api:
            response = client.get("/api/directory/search", params)
            elapsed = time.perf_counter() - t
            if response.status_code != 200:
                failures.append((params, response.status_code, response.content[:200]))
                continue
            totals.append(response.json()["total"])
        else:
            query = SearchQuery(
                text=params.get("q", ""),
                profession=params.get("profession"),
                commune=params.get("commune"),
                near=params.get("near"),
                radius_km=params.get("radius_km"),
                kind=params.get("kind"),
                structure_kind=params.get("structure_kind"),
                teleconsultation={"true": True, "false": False}.get(params.get("teleconsultation")),
                language=params.get("language"),
                open_now=params.get("open_now") == "true",
                page=int(params.get("page", 1)),
            )
            totals.append(search(query).total)
            elapsed = time.perf_counter() - t
        latencies.append(elapsed * 1000)
        timed.append((elapsed * 1000, params))
    return latencies, totals, failures, timed


def worker(backend: str, roles: int, home: Path, reuse: bool, passes: int) -> dict:
    """Runs in its own process (Django settings are per process): import, then measure."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "maillage.settings"
    import django
    from django.conf import settings

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # django.test.Client
    django.setup()
    from django.core.management import call_command

    from maillage.bootstrap import run_named_import
    from maillage.territory.models import Commune

    rng = np.random.default_rng(SEED)
    facts_path = home / "bench-facts.json"
    if reuse and facts_path.exists():  # --keep: a database built by an earlier run
        return measure(backend, json.loads(facts_path.read_text()), passes)
    call_command("migrate", verbosity=0)
    t = time.perf_counter()
    run_named_import("geography")
    run_named_import("finess")
    setup_s = time.perf_counter() - t
    communes = [
        (c, n, (p or "").split(",")[0][:5] or c, pop or 0)
        for c, n, p, pop in Commune.objects.filter(latitude__isnull=False).values_list(
            "code", "name", "postal_codes", "population"
        )
    ]
    path = home / "PS_LibreAcces_Personne_activite_bench.txt"
    t = time.perf_counter()
    facts = generate_rpps(path, roles, communes, rng)
    generate_s = time.perf_counter() - t
    file_mb = path.stat().st_size / 1e6

    t = time.perf_counter()
    reports = run_named_import("rpps", path)
    import_s = time.perf_counter() - t
    path.unlink()
    facts_path.write_text(json.dumps(facts))
    return {
        "roles": roles,
        "setup_s": setup_s,
        "generate_s": generate_s,
        "file_mb": file_mb,
        "import_s": import_s,
        "import_reports": [str(r) for r in reports],
    }


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(backend: str, facts: dict, passes: int) -> dict:
    """Search latencies through the API (``passes`` times the same 200 queries) and the peer.
    The queries depend only on the seed and the facts: a reused database gets the same ones."""
    rng = np.random.default_rng(SEED + 1)
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from maillage.directory.search.index import SearchEntry
    from maillage.directory.search.service import SearchQuery, normalise, search

    entries = SearchEntry.objects.count()
    client = Client()
    rss_before = rss_mb()
    t = time.perf_counter()
    warm = client.get("/api/directory/search", {"q": "generaliste chaumont"})
    warmup_s = time.perf_counter() - t
    index_mb = rss_mb() - rss_before
    via_api = warm.status_code == 200
    if not via_api:
        print(f"API unavailable ({warm.status_code}): measuring search() directly", file=sys.stderr)
    queries = build_queries(facts, rng)
    pass_p50, pass_p95, all_latencies = [], [], []
    for _ in range(passes):
        latencies, totals, failures, timed = run_queries(client, queries, via_api)
        pass_p50.append(percentile(latencies, 50))
        pass_p95.append(percentile(latencies, 95))
        all_latencies += latencies
    latencies = all_latencies

    # The naive peer: icontains on the normalised title, same text, count + first page.
    naive = []
    text_queries = [q["q"] for q in queries if q.get("q")][:60]
    for text in text_queries:
        t = time.perf_counter()
        qs = SearchEntry.objects.filter(title_norm__icontains=normalise(text))
        qs.count()
        list(qs.order_by("id")[:20])
        naive.append((time.perf_counter() - t) * 1000)
    ours_text = []
    for text in text_queries:
        t = time.perf_counter()
        client.get("/api/directory/search", {"q": text}) if via_api else search(
            SearchQuery(text=text)
        )
        ours_text.append((time.perf_counter() - t) * 1000)

    if connection.vendor == "sqlite":
        size_mb = Path(settings.DATABASES["default"]["NAME"]).stat().st_size / 1e6
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            size_mb = cursor.fetchone()[0] / 1e6
    return {
        "backend": backend,
        "entries": entries,
        "via_api": via_api,
        "warmup_ms": warmup_s * 1000,
        "index_rss_mb": index_mb,
        "queries": len(latencies),
        "passes": passes,
        "failures": [str(f) for f in failures[:5]],
        "p50_ms": float(np.median(pass_p50)),
        "p95_ms": float(np.median(pass_p95)),
        "pass_p95_ms": pass_p95,
        "max_ms": max(latencies),
        "empty_results": sum(1 for t in totals if t == 0),
        "naive_p50_ms": percentile(naive, 50),
        "naive_p95_ms": percentile(naive, 95),
        "ours_text_p50_ms": percentile(ours_text, 50),
        "ours_text_p95_ms": percentile(ours_text, 95),
        "db_size_mb": size_mb,
        "slowest": [(round(ms, 1), p) for ms, p in sorted(timed, key=lambda x: -x[0])[:8]],
    }


def run_backend(backend: str, roles: int, pg_url: str, keep: Path | None, passes: int) -> dict:
    """One backend in a worker process: in a temporary data folder and a fresh PostgreSQL
    database, both removed afterwards; with ``keep``, in ``keep/<backend>`` and a kept database,
    reused (import skipped) when an earlier run built them."""
    with tempfile.TemporaryDirectory(prefix="maillage-bench-") as tmp:
        home = keep / backend if keep else Path(tmp)
        home.mkdir(parents=True, exist_ok=True)
        reuse = keep is not None and (home / "bench-facts.json").exists()
        env = dict(os.environ, MAILLAGE_HOME=str(home))
        env.pop("MAILLAGE_DATABASE_URL", None)
        dropdb = ["dropdb", "--if-exists", "-h", "127.0.0.1", "-U", "postgres", PG_DB]
        if backend == "postgresql":
            if not reuse:
                subprocess.run(dropdb, check=True)
                subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", PG_DB], check=True)
            env["MAILLAGE_DATABASE_URL"] = f"{pg_url}/{PG_DB}"
        command = [sys.executable, __file__, "--worker", backend, "--roles", str(roles),
                   "--home", str(home), "--passes", str(passes)]  # fmt: skip
        result: dict = {}
        try:
            # The import in one process, the search in a fresh one (as a server starts).
            for step in ([] if reuse else [command]) + [[*command, "--reuse"]]:
                out = subprocess.run(step, env=env, check=True, capture_output=True, text=True)
                result.update(json.loads(out.stdout.strip().splitlines()[-1]))
        except subprocess.CalledProcessError as exc:
            print(exc.stdout[-3000:], exc.stderr[-5000:], file=sys.stderr)
            raise
        finally:
            if backend == "postgresql" and keep is None:
                subprocess.run(dropdb, check=False)
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--roles", type=int, default=1_200_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--passes", type=int, default=3, help="runs of the 200 queries")
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep the databases (KEEP/<backend>, PostgreSQL maillage_bench) and reuse them "
        "on the next run: measures search only (for working on the search)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--reuse", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = worker(args.worker, args.roles, Path(args.home), args.reuse, args.passes)
        print(json.dumps(result))
        return
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        r = run_backend(backend, args.roles, args.pg_url, args.keep, args.passes)
        print(json.dumps(r, indent=1))
        print(
            f"{backend}: {r['entries']:,} entries; import {r.get('import_s', float('nan')):.0f} s "
            f"(reused: {'import_s' not in r}); search via {'API' if r['via_api'] else 'search()'} "
            f"p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms (max {r['max_ms']:.0f}); "
            f"naive icontains p50 {r['naive_p50_ms']:.0f} ms p95 {r['naive_p95_ms']:.0f} ms vs "
            f"ours {r['ours_text_p50_ms']:.1f} / {r['ours_text_p95_ms']:.1f} ms; "
            f"database {r['db_size_mb']:.0f} MB; index in memory {r['index_rss_mb']:.0f} MB, "
            f"loaded in {r['warmup_ms'] / 1000:.1f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
