"""Setting up a maillage database: migrations, the shipped open data, the demo practitioners.

``initialise()`` is what ``maillage demo``, ``maillage serve`` and ``maillage report`` call first:
on a fresh data folder it creates the database and imports everything shipped; afterwards it
only checks that this was done (a few milliseconds).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from html import escape
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection

from maillage.config import DEFAULT_TERRITORY
from maillage.imports import ImportReport

log = logging.getLogger(__name__)


def migrate() -> None:
    """Apply pending migrations (a quick plan check when there are none)."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", interactive=False, verbosity=0)
        _rebuild_index_if_emptied()


def _rebuild_index_if_emptied() -> None:
    """A migration that changes the search index empties it (it is derived data): rebuild it
    when the directory it comes from is not empty."""
    from maillage.directory.models import Organization, SearchEntry
    from maillage.directory.search import service as search

    if not SearchEntry.objects.exists() and Organization.objects.exists():
        search.reindex_all()


def _initialised() -> bool:
    if "territory_commune" not in connection.introspection.table_names():
        return False
    from maillage.directory.models import Practitioner
    from maillage.territory.models import Commune

    return Commune.objects.exists() and Practitioner.objects.filter(synthetic=True).exists()


def demo_departements(
    territory_spec: str = DEFAULT_TERRITORY, margin_km: float = 15.0
) -> list[str]:
    """The départements of the default territory and their neighbours.

    Synthetic practitioners are generated there too, so that accessibility near the border is
    not underestimated (patients cross département lines). Neighbours are found from commune
    centroids closer than ``margin_km``, which works for any territory.
    """
    import numpy as np
    from scipy.spatial import cKDTree

    from maillage.territory.models import Commune
    from maillage.territory.services import resolve

    territory = resolve(territory_spec)
    inside = territory.communes.filter(latitude__isnull=False)
    own = sorted(set(inside.values_list("departement_id", flat=True)))
    pts = np.array(list(inside.values_list("latitude", "longitude")), dtype=float)
    if not len(pts):
        return own
    lat0 = np.radians(pts[:, 0].mean())
    scale = np.array([111.2, 111.2 * np.cos(lat0)])
    tree = cKDTree(pts * scale)
    others = Commune.objects.filter(latitude__isnull=False).exclude(departement_id__in=own)
    lat_min, lat_max = pts[:, 0].min() - 1, pts[:, 0].max() + 1
    others = others.filter(latitude__gte=lat_min, latitude__lte=lat_max)
    rows = list(others.values_list("departement_id", "latitude", "longitude"))
    if not rows:
        return own
    deps = np.array([r[0] for r in rows])
    opts = np.array([(r[1], r[2]) for r in rows], dtype=float) * scale
    dist, _ = tree.query(opts, distance_upper_bound=margin_km)
    return sorted(set(own) | set(deps[np.isfinite(dist)].tolist()))


def run_named_import(
    dataset: str, path: str | Path | None = None, departements: list[str] | None = None
) -> list[ImportReport]:
    from maillage.demo import directory as demo
    from maillage.demo import scheduling as demo_scheduling
    from maillage.demo import synthetic
    from maillage.directory.imports.fhir import import_fhir_bundle
    from maillage.directory.imports.finess import import_finess
    from maillage.directory.imports.rpps import import_rpps
    from maillage.directory.search import service as search
    from maillage.observatory.imports import import_apl, import_cartosante, import_departement_stats
    from maillage.territory.services import import_geography

    if dataset in ("rpps", "fhir") and not path:
        raise ValueError(f"maillage import {dataset} attend le chemin du fichier à importer")
    if path and dataset in ("all", "geography", "synthetic", "dispositifs", "agendas", "index"):
        raise ValueError(f"maillage import {dataset} n'accepte pas de fichier")
    simple = {
        "finess": import_finess,
        "apl": import_apl,
        "cartosante": import_cartosante,
        "insee": import_departement_stats,
        "rpps": import_rpps,
        "fhir": import_fhir_bundle,
    }
    if dataset in simple:
        return [simple[dataset](Path(path) if path else None)]
    if dataset == "geography":
        return [import_geography()]
    if dataset == "synthetic":
        return [synthetic.generate(departements or demo_departements())]
    if dataset == "dispositifs":
        return [demo.load_demo_directory()]
    if dataset == "agendas":
        return [demo_scheduling.load_demo_scheduling()]
    if dataset == "index":
        return [search.reindex_all()]
    if dataset == "all":
        return [step() for _, _, step in _all_steps(departements)]
    raise ValueError(f"jeu de données inconnu : {dataset}")


def _all_steps(
    departements: list[str] | None = None,
) -> list[tuple[str, float, Callable[[], ImportReport]]]:
    """What ``maillage import all`` does, in order: (label shown to the user, share of the
    total time measured on a fresh install, step)."""
    from maillage.demo import directory as demo
    from maillage.demo import scheduling as demo_scheduling
    from maillage.demo import synthetic
    from maillage.directory.imports.finess import import_finess
    from maillage.directory.search import service as search
    from maillage.observatory.imports import import_apl, import_cartosante, import_departement_stats
    from maillage.territory.services import import_geography

    return [
        ("communes et territoires (COG)", 0.11, import_geography),
        ("établissements FINESS", 0.36, lambda: import_finess(None)),
        ("accessibilité potentielle localisée (APL)", 0.23, lambda: import_apl(None)),
        ("bassins de vie (CartoSanté)", 0.01, lambda: import_cartosante(None)),
        ("statistiques départementales (INSEE)", 0.01, lambda: import_departement_stats(None)),
        (
            "professionnels de démonstration",
            0.11,
            lambda: synthetic.generate(departements or demo_departements()),
        ),
        ("dispositifs de démonstration", 0.01, demo.load_demo_directory),
        ("agendas de démonstration", 0.005, demo_scheduling.load_demo_scheduling),
        ("index de recherche", 0.16, search.reindex_all),
    ]


def initialise(
    force: bool = False,
    progress: Callable[[str], None] = print,
    state: Preparation | None = None,
) -> None:
    """Create the database and import the shipped data, unless already done.

    ``state``, when given, follows the steps (for the page served while the data is prepared).
    """
    if state is not None:
        state.advance("structure de la base (migrations)", 0.0)
    migrate()
    if not force and _initialised():
        return
    start = time.perf_counter()
    db = settings.DATABASES["default"]
    sqlite = db["ENGINE"].endswith("sqlite3")
    where = db["NAME"] if sqlite else f"{db['ENGINE']} {db['NAME']}"
    progress(f"Initialisation de la base maillage ({where})…")
    if sqlite:
        # The first load writes ~400,000 rows: no fsync per commit while it runs (a crash of the
        # process still rolls back cleanly, WAL stays on so every import stays all-or-nothing).
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=OFF")
    try:
        done = 0.0
        for label, share, step in _all_steps():
            if state is not None:
                state.advance(label, done)
            progress(f"  {step()}")
            done += share
    finally:
        if sqlite:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous=NORMAL")
    progress(f"Base prête en {time.perf_counter() - start:.0f} s.")


class Preparation:
    """Where the first-start preparation is, shared between the thread that imports the data
    and the threads that serve the "préparation des données" page meanwhile."""

    def __init__(self) -> None:
        self.label = "démarrage"
        self.fraction = 0.0
        self.error: str | None = None
        self.ready = threading.Event()
        self.started = time.monotonic()

    def advance(self, label: str, fraction: float) -> None:
        self.label, self.fraction = label, min(max(fraction, 0.0), 0.99)

    @property
    def percent(self) -> int:
        return 100 if self.ready.is_set() else int(self.fraction * 100)


def _preparation_page(state: Preparation) -> str:
    elapsed = int(time.monotonic() - state.started)
    if state.error:
        title = "La préparation des données a échoué"
        body = (
            f"<p>{escape(state.error)}</p><p>Le détail est dans le terminal qui a lancé "
            "maillage. Relancez la commande : les données déjà importées sont conservées.</p>"
        )
        refresh = ""
    else:
        title = "Préparation des données…"
        body = (
            f'<p class="pc">{state.percent} %</p>'
            f'<progress max="100" value="{state.percent}"></progress>'
            f"<p>Étape en cours : {escape(state.label)} (depuis {elapsed} s).</p>"
            "<p>Au premier lancement, maillage importe les données ouvertes livrées avec lui "
            "(communes, établissements FINESS, APL, CartoSanté, INSEE) et crée les "
            "professionnels de démonstration. Cette page se recharge toute seule.</p>"
        )
        refresh = '<meta http-equiv="refresh" content="3">'
    return (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
        f"{refresh}<title>maillage — {title}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;"
        "padding:0 1rem;color:#1e293b}progress{width:100%;height:1.2rem}"
        ".pc{font-size:2.5rem;margin:.5rem 0}</style></head>"
        f"<body><h1>maillage — {title}</h1>{body}</body></html>"
    )


def preparing(application: Callable, state: Preparation) -> Callable:
    """Wrap a WSGI application: while ``state`` is not ready, every request gets the
    preparation page (503 with ``Retry-After``, JSON for the API), without touching the
    database that is being written."""

    def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if state.ready.is_set():
            return application(environ, start_response)
        status = "500 Internal Server Error" if state.error else "503 Service Unavailable"
        path = environ.get("PATH_INFO", "")
        if path.startswith(("/api/", "/fhir/")):
            payload = {
                "detail": state.error or "Préparation des données en cours, réessayez.",
                "progress": state.percent,
                "step": state.label,
            }
            body = json.dumps(payload, ensure_ascii=False).encode()
            ctype = "application/json"
        else:
            body = _preparation_page(state).encode()
            ctype = "text/html; charset=utf-8"
        headers = [
            ("Content-Type", ctype),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ]
        if not state.error:
            headers.append(("Retry-After", "5"))
        start_response(status, headers)
        return [body]

    return app


def serve_after(
    prepare: Callable[[Preparation], None],
    host: str,
    port: int,
    progress: Callable[[str], None] = print,
) -> None:
    """Serve at once; ``prepare(state)`` runs in a background thread (first start: migrations
    and imports), and pages answer "préparation des données… X %" until it has finished."""
    from waitress import serve as waitress_serve

    from maillage.exports.tasks import start_worker_thread
    from maillage.wsgi import application

    state = Preparation()

    def run() -> None:
        try:
            prepare(state)
            _warm_up()
            _schedule_background_work()
            # the worker's queue lives in the database: it starts once the migrations ran
            start_worker_thread()
            state.ready.set()
            progress(f"Données prêtes en {time.monotonic() - state.started:.0f} s.")
        except Exception as exc:  # shown on the page and in the terminal, server keeps running
            log.exception("préparation des données")
            state.error = f"{type(exc).__name__}: {exc}"
            progress(f"La préparation des données a échoué : {state.error}")
        finally:
            connection.close()

    threading.Thread(target=run, name="maillage-preparation", daemon=True).start()
    progress(
        f"maillage est servi sur http://{host}:{port}/ (Ctrl+C pour arrêter) ; "
        "préparation des données en cours"
    )
    waitress_serve(preparing(application, state), host=host, port=port, threads=8,
                   ident="maillage")  # fmt: skip


def _schedule_background_work() -> None:
    """The recurring tasks: the care agendas' slots kept generated up to the horizon."""
    from maillage.care.scheduling.tasks import ensure_generation_scheduled
    from maillage.demo.care import ensure_history_scheduled

    ensure_generation_scheduled()
    ensure_history_scheduled()  # the rooms' synthetic history (about 30 s): after the start


def _warm_up() -> None:
    from maillage.directory.search.service import load_index

    load_index()  # the directory search index, in memory: the first visitor does not wait
    from maillage.territory import search as territory_search

    territory_search.search("52")  # the territory picker's names (about 2 s to build)


def needs_preparation() -> bool:
    """True when the database is missing tables or data (a first start)."""
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    pending = bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    try:
        return pending or not _initialised()
    finally:
        connection.close()


def serve(host: str, port: int, progress: Callable[[str], None] = print) -> None:
    """Serve the web application with waitress (static files through WhiteNoise)."""
    from waitress import serve as waitress_serve

    from maillage.exports.tasks import start_worker_thread
    from maillage.wsgi import application

    _warm_up()
    _schedule_background_work()
    connection.close()  # the serving threads open their own
    start_worker_thread()  # background builds (exports) for the embedded default
    progress(f"maillage est servi sur http://{host}:{port}/ (Ctrl+C pour arrêter)")
    waitress_serve(application, host=host, port=port, threads=8, ident="maillage")
