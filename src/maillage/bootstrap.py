"""Setting up a maillage database: migrations, the shipped open data, the demo practitioners.

``initialise()`` is what ``maillage demo``, ``maillage serve`` and ``maillage report`` call first:
on a fresh data folder it creates the database and imports everything shipped; afterwards it
only checks that this was done (a few milliseconds).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection

from maillage.config import DEFAULT_TERRITORY
from maillage.imports import ImportReport


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
    from maillage.demo import synthetic
    from maillage.directory.imports.fhir import import_fhir_bundle
    from maillage.directory.imports.finess import import_finess
    from maillage.directory.imports.rpps import import_rpps
    from maillage.directory.search import service as search
    from maillage.observatory.imports import import_apl, import_cartosante, import_departement_stats
    from maillage.territory.services import import_geography

    if dataset in ("rpps", "fhir") and not path:
        raise ValueError(f"maillage import {dataset} attend le chemin du fichier à importer")
    if path and dataset in ("all", "geography", "synthetic", "dispositifs", "index"):
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
    if dataset == "index":
        return [search.reindex_all()]
    if dataset == "all":
        reports = [import_geography()]
        reports += [f(None) for f in (import_finess, import_apl, import_cartosante,
                                      import_departement_stats)]  # fmt: skip
        reports.append(synthetic.generate(departements or demo_departements()))
        reports.append(demo.load_demo_directory())
        reports.append(search.reindex_all())
        return reports
    raise ValueError(f"jeu de données inconnu : {dataset}")


def initialise(force: bool = False, progress: Callable[[str], None] = print) -> None:
    """Create the database and import the shipped data, unless already done."""
    migrate()
    if not force and _initialised():
        return
    start = time.perf_counter()
    db = settings.DATABASES["default"]
    where = db["NAME"] if db["ENGINE"].endswith("sqlite3") else f"{db['ENGINE']} {db['NAME']}"
    progress(f"Initialisation de la base maillage ({where})…")
    for report in run_named_import("all"):
        progress(f"  {report}")
    progress(f"Base prête en {time.perf_counter() - start:.0f} s.")


def serve(host: str, port: int, progress: Callable[[str], None] = print) -> None:
    """Serve the web application with waitress (static files through WhiteNoise)."""
    from waitress import serve as waitress_serve

    from maillage.directory.search.service import load_index
    from maillage.wsgi import application

    load_index()  # the directory search index, in memory: the first visitor does not wait
    connection.close()  # the serving threads open their own
    progress(f"maillage est servi sur http://{host}:{port}/ (Ctrl+C pour arrêter)")
    waitress_serve(application, host=host, port=port, threads=8, ident="maillage")
