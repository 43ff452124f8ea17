"""Observatory services used by the web views: cached figures and the dashboard's map layer."""

from __future__ import annotations

from django.core.cache import cache

from maillage.observatory.diagnostic import compute
from maillage.territory.models import Territory
from maillage.territory.services import ResolvedTerritory

CACHE_SECONDS = 3600


def figures_for(territory: ResolvedTerritory | Territory) -> dict:
    """The diagnostic figures of ``territory``, computed once per hour at most. Raises
    :class:`~maillage.observatory.diagnostic.NoCommunes` for a territory without communes."""
    stamp = territory.updated_at.timestamp() if territory.updated_at else "cog"
    key = f"figures:{territory.slug}:{stamp}"
    figures = cache.get(key)
    if figures is None:
        figures = compute(territory)
        cache.set(key, figures, CACHE_SECONDS)
    return figures


def communes_feature_collection(
    territory: ResolvedTerritory | Territory, figures: dict | None
) -> dict:
    """GeoJSON of the territory's communes with the indicators the dashboard map shows (no
    feature for communes without a shape; none at all for a territory without communes)."""
    if figures is None:
        return {"type": "FeatureCollection", "apl_year": None, "features": []}
    by_code = {row["code"]: row for row in figures["commune_table"]}
    years = sorted(figures["apl_drees"])
    last = years[-1] if years else None
    features = []
    for code, name, geometry in territory.communes.exclude(geometry__isnull=True).values_list(
        "code", "name", "geometry"
    ):
        row = by_code.get(code, {})
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "code": code,
                    "name": name,
                    "population": row.get("population"),
                    "apl": row.get("apl", {}).get(last) if last else None,
                    "accessibility": row.get("accessibility"),
                    "minutes_emergency": row.get("minutes", {}).get("emergency"),
                },
            }
        )
    return {"type": "FeatureCollection", "apl_year": last, "features": features}
