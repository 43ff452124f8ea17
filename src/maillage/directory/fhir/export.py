"""The FHIR Bundle of a territory as a cached export (:mod:`maillage.exports`).

A région's Bundle is tens of megabytes and seconds of work: it is built once per territory, data
version, audience (public or pro) and base URL, then served from disk. Pro-only fields are
stripped exactly as :func:`maillage.directory.fhir.territory_bundle` does: the public and the pro
Bundle are two different files, never one filtered on the way out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from maillage.directory.fhir import resources as fhir
from maillage.exports.cache import Export, Progress
from maillage.exports.versions import data_version
from maillage.territory.models import Territory
from maillage.territory.services import ResolvedTerritory, resolve, spec_of, stamp_of

#: Up to this many communes, the Bundle is built during the request (well under a second).
SYNC_MAX_COMMUNES = 100


def territory_bundle_export(
    territory: Territory | ResolvedTerritory, *, pro: bool, base_url: str | None
) -> Export:
    return Export(
        kind="fhir-bundle",
        name=f"{territory.slug}-pro" if pro else territory.slug,
        builder="maillage.directory.fhir.export:build_territory_bundle",
        params={
            "territory": spec_of(territory),
            "territory_updated": stamp_of(territory),
            "pro": pro,
            "base_url": base_url,
        },
        version=data_version(),
        ext="json",
        content_type=f"{fhir.FHIR_CONTENT_TYPE}; charset=utf-8",
        filename=f"maillage-{territory.slug}.fhir.json",
    )


def build_territory_bundle(params: Mapping[str, Any], path: Path, progress: Progress) -> None:
    territory = resolve(params["territory"])
    progress(0.05, "Lecture de l'annuaire du territoire…")
    bundle = fhir.territory_bundle(territory, pro=bool(params["pro"]), base_url=params["base_url"])
    progress(0.8, f"Écriture de {len(bundle['entry'])} ressources FHIR…")
    with path.open("w", encoding="utf-8") as fh:
        json.dump(bundle, fh, ensure_ascii=False)
