"""Readers of official open-data formats, each returning validated pandas DataFrames.

Every reader takes a path to a plain or gzip file, validates the whole file, and either returns
typed DataFrames (codes as strings, keeping leading zeros) or raises one
:class:`~maillage.opendata.errors.DataFormatError` naming the file, line, column and what was
expected. No Django here: the apps call these readers and store the results.

Formats (see ``docs/opendata.md``):

- INSEE COG, JSON of ``@etalab/decoupage-administratif`` — :func:`read_communes`,
  :func:`read_epci`, :func:`read_arrondissements`, :func:`read_departements`,
  :func:`read_regions`, :func:`read_commune_parents` (module :mod:`.cog`);
- commune GeoJSON polygons and centroid CSV — :func:`read_commune_shapes`,
  :func:`read_commune_centroids` (:mod:`.geo`);
- FINESS geolocated establishments — :func:`read_finess`, ``FACILITY_KINDS`` (:mod:`.finess`);
- DREES APL to general practitioners — :func:`read_apl` (:mod:`.apl`);
- CartoSanté indicators per bassin de vie — :func:`read_cartosante_bassins` (:mod:`.cartosante`);
- INSEE local statistics per département — :func:`read_departement_stats` (:mod:`.insee`);
- RPPS ``PS_LibreAcces_Personne_activite`` extract — :func:`read_rpps_activities` (:mod:`.rpps`);
- Annuaire Santé FHIR R4 Bundles — :func:`read_annuaire_bundle` (:mod:`.fhir`);
- the NOS code lists and the report's profession groups — :mod:`.nomenclatures`;
- travel-time tables — :func:`read_cost_table` (:mod:`.costs`); OpenStreetMap road networks —
  :func:`read_road_network` (:mod:`.osm`); two-column id/value tables — :func:`read_id_values`
  (:mod:`.tables`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Readers are imported on first use (PEP 562): ``from maillage.opendata.errors import …`` or a
# command that reads no file must not pay for pandas, scipy and pyosmium at start-up.
_READERS = {
    "read_apl": "apl",
    "read_cartosante_bassins": "cartosante",
    "read_arrondissements": "cog",
    "read_commune_parents": "cog",
    "read_communes": "cog",
    "read_departements": "cog",
    "read_epci": "cog",
    "read_regions": "cog",
    "read_cost_table": "costs",
    "DataFormatError": "errors",
    "AnnuaireBundle": "fhir",
    "read_annuaire_bundle": "fhir",
    "FACILITY_KINDS": "finess",
    "read_finess": "finess",
    "read_commune_centroids": "geo",
    "read_commune_shapes": "geo",
    "read_departement_stats": "insee",
    "read_road_network": "osm",
    "read_rpps_activities": "rpps",
    "read_id_values": "tables",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors
    from .apl import read_apl
    from .cartosante import read_cartosante_bassins
    from .cog import (
        read_arrondissements,
        read_commune_parents,
        read_communes,
        read_departements,
        read_epci,
        read_regions,
    )
    from .costs import read_cost_table
    from .errors import DataFormatError
    from .fhir import AnnuaireBundle, read_annuaire_bundle
    from .finess import FACILITY_KINDS, read_finess
    from .geo import read_commune_centroids, read_commune_shapes
    from .insee import read_departement_stats
    from .osm import read_road_network
    from .rpps import read_rpps_activities
    from .tables import read_id_values


def __getattr__(name: str) -> Any:
    module = _READERS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "FACILITY_KINDS",
    "AnnuaireBundle",
    "DataFormatError",
    "read_annuaire_bundle",
    "read_apl",
    "read_arrondissements",
    "read_cartosante_bassins",
    "read_commune_centroids",
    "read_commune_parents",
    "read_commune_shapes",
    "read_communes",
    "read_cost_table",
    "read_departement_stats",
    "read_departements",
    "read_epci",
    "read_finess",
    "read_id_values",
    "read_regions",
    "read_road_network",
    "read_rpps_activities",
]
