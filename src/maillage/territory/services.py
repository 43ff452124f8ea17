"""Territory services: importing the COG, and naming territories.

A territory is named on the command line and in URLs as ``kind:code`` (``departement:52``,
``arrondissement:521``, ``epci:200068666``, ``commune:52121``, ``region:44``) or by the slug of a
saved territory (``centre-sud-haute-marne``). COG territories are materialised on first use, so
any French territory works without preparation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from django.db import transaction

from maillage import opendata
from maillage.imports import ImportConsistencyError, ImportReport, run_import, upsert
from maillage.paths import shipped_data_dir
from maillage.territory.models import (
    Arrondissement,
    Commune,
    Departement,
    Epci,
    Region,
    Territory,
)


@dataclass
class GeographyFiles:
    regions: Path
    departements: Path
    arrondissements: Path
    epci: Path
    communes: Path
    centroids: Path
    shapes: list[Path]

    @classmethod
    def shipped(cls) -> GeographyFiles:
        d = shipped_data_dir()
        return cls(
            regions=d / "cog" / "regions.json",
            departements=d / "cog" / "departements.json",
            arrondissements=d / "cog" / "arrondissements.json",
            epci=d / "cog" / "epci.json.gz",
            communes=d / "cog" / "communes.json.gz",
            centroids=d / "geo" / "communes-france-centroids.csv.gz",
            shapes=[d / "geo" / "communes-52-et-voisins.geojson.gz"],
        )


def _nullable(value: object) -> object:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def _check_refs(what: str, codes: pd.Series, known: set[str], path: Path) -> None:
    unknown = sorted(set(codes.dropna()) - known)
    if unknown:
        raise ImportConsistencyError(
            f"{path.name}: {len(unknown)} {what} unknown to the other COG files "
            f"(first: {', '.join(unknown[:5])})"
        )


def import_geography(files: GeographyFiles | None = None) -> ImportReport:
    """Import régions, départements, arrondissements, EPCI and communes (COG), with centroids
    and shapes. Validated completely before writing; one transaction; idempotent."""
    files = files or GeographyFiles.shipped()

    def read() -> dict[str, pd.DataFrame]:
        data = {
            "regions": opendata.read_regions(files.regions),
            "departements": opendata.read_departements(files.departements),
            "arrondissements": opendata.read_arrondissements(files.arrondissements),
            "communes": opendata.read_communes(files.communes),
            "centroids": opendata.read_commune_centroids(files.centroids),
            "shapes": pd.concat([opendata.read_commune_shapes(p) for p in files.shapes]),
        }
        data["epci"], data["members"] = opendata.read_epci(files.epci)
        regions = set(data["regions"]["code"])
        deps = set(data["departements"]["code"])
        _check_refs("régions", data["departements"]["region"], regions, files.departements)
        _check_refs(
            "départements", data["arrondissements"]["departement"], deps, files.arrondissements
        )
        _check_refs("départements", data["communes"]["departement"], deps, files.communes)
        _check_refs(
            "arrondissements",
            data["communes"]["arrondissement"],
            set(data["arrondissements"]["code"]),
            files.communes,
        )
        communes = set(data["communes"]["code"])
        _check_refs("communes", data["members"]["commune_code"], communes, files.epci)
        return data

    def write(data: dict[str, pd.DataFrame]) -> ImportReport:
        report = ImportReport("geography")
        report.counts["régions"] = upsert(
            Region,
            ({"code": r.code, "name": r.name} for r in data["regions"].itertuples()),
            ["code"],
        )
        report.counts["départements"] = upsert(
            Departement,
            (
                {"code": r.code, "name": r.name, "region_id": r.region}
                for r in data["departements"].itertuples()
            ),
            ["code"],
        )
        report.counts["arrondissements"] = upsert(
            Arrondissement,
            (
                {"code": r.code, "name": r.name, "departement_id": r.departement}
                for r in data["arrondissements"].itertuples()
            ),
            ["code"],
        )
        report.counts["EPCI"] = upsert(
            Epci,
            (
                {"code": r.code, "name": r.name, "kind": r.kind or ""}
                for r in data["epci"].itertuples()
            ),
            ["code"],
        )
        epci_of = dict(
            zip(data["members"]["commune_code"], data["members"]["epci_code"], strict=True)
        )
        # plain dicts: a pandas .loc per commune cost ~1 ms each, 35,000 times
        cen = data["centroids"].drop_duplicates("code", keep="last")
        centroids = {
            code: {"latitude": lat, "longitude": lon}
            for code, lat, lon in zip(cen["code"], cen["latitude"], cen["longitude"], strict=True)
        }
        shapes = data["shapes"].drop_duplicates("code").set_index("code")["geometry"].to_dict()
        rows = []
        for r in data["communes"].itertuples():
            c = centroids.get(r.code)
            rows.append(
                {
                    "code": r.code,
                    "name": r.name,
                    "departement_id": r.departement,
                    "region_id": r.region,
                    "arrondissement_id": _nullable(r.arrondissement),
                    "epci_id": epci_of.get(r.code),
                    "population": int(r.population) if not pd.isna(r.population) else 0,
                    "postal_codes": r.postal_codes or "",
                    "latitude": float(c["latitude"]) if c is not None else None,
                    "longitude": float(c["longitude"]) if c is not None else None,
                    "geometry": shapes.get(r.code),
                }
            )
        report.counts["communes"] = upsert(Commune, rows, ["code"])
        report.counts["contours"] = sum(1 for row in rows if row["geometry"] is not None)
        report.skipped["communes sans centroïde"] = sum(
            1 for row in rows if row["latitude"] is None
        )
        return report

    report = run_import("geography", read, write)
    ensure_predefined_territories()
    return report


# --- naming territories -------------------------------------------------------------------

COG_KINDS = {
    "region": Territory.Kind.REGION,
    "departement": Territory.Kind.DEPARTEMENT,
    "arrondissement": Territory.Kind.ARRONDISSEMENT,
    "epci": Territory.Kind.EPCI,
    "commune": Territory.Kind.COMMUNE,
}

PREDEFINED = [
    {
        "slug": "centre-sud-haute-marne",
        "name": "Centre et Sud Haute-Marne",
        "kind": Territory.Kind.CUSTOM,
        "members": ["arrondissement:521", "arrondissement:522"],
        "description": "Arrondissements de Chaumont et de Langres : territoire de la démarche "
        "de concertation de la délégation territoriale ARS (2020–2021).",
    },
    {
        "slug": "cpts-saint-dizier-der-blaise",
        "name": "CPTS Saint-Dizier Der & Blaise",
        "kind": Territory.Kind.CPTS,
        "members": ["epci:200068666"],
        "description": "Périmètre de la CPTS, calqué sur la communauté d'agglomération "
        "(projet de santé, novembre 2019).",
    },
]


class UnknownTerritory(LookupError):
    """The territory name matches nothing; the message says what is accepted."""


def _cog_communes(kind: str, code: str):
    qs = Commune.objects.all()
    field = {
        "region": "region_id",
        "departement": "departement_id",
        "arrondissement": "arrondissement_id",
        "epci": "epci_id",
        "commune": "code",
    }[kind]
    return qs.filter(**{field: code})


def _cog_name(kind: str, code: str) -> str:
    model = {
        "region": Region,
        "departement": Departement,
        "arrondissement": Arrondissement,
        "epci": Epci,
        "commune": Commune,
    }[kind]
    obj = model.objects.filter(code=code).first()
    if obj is None:
        raise UnknownTerritory(
            f"{kind}:{code} — aucun(e) {kind} de code {code!r} dans le COG importé"
        )
    if kind == "arrondissement":
        return f"Arrondissement de {obj.name}"
    return obj.name


@transaction.atomic
def resolve(spec: str) -> Territory:
    """Return the territory named by ``spec`` (``kind:code`` or a saved slug), creating COG
    territories on first use."""
    spec = spec.strip()
    if ":" in spec:
        kind, code = (part.strip() for part in spec.split(":", 1))
        kind = kind.lower()
        if kind not in COG_KINDS:
            raise UnknownTerritory(
                f"{spec!r}: type inconnu {kind!r} (attendu : {', '.join(COG_KINDS)} "
                "ou le nom court d'un territoire enregistré)"
            )
        slug = f"{kind}-{code}".lower()
        territory = Territory.objects.filter(slug=slug).first()
        if territory is None:
            name = _cog_name(kind, code)
            territory = Territory.objects.create(
                slug=slug, name=name, kind=COG_KINDS[kind], code=code
            )
            territory.communes.set(_cog_communes(kind, code))
        return territory
    territory = Territory.objects.filter(slug=spec).first()
    if territory is None:
        known = ", ".join(Territory.objects.order_by("slug").values_list("slug", flat=True)[:20])
        raise UnknownTerritory(
            f"{spec!r}: aucun territoire enregistré sous ce nom. Utilisez type:code "
            f"(departement:52, arrondissement:521, epci:200068666, commune:52121, region:44) "
            f"ou l'un de : {known}"
        )
    return territory


def commune_codes(spec: str) -> list[str]:
    """The INSEE codes of the communes of ``spec`` (as :func:`resolve` reads it), without
    creating anything: for read paths such as the search ranking."""
    if ":" in spec:
        kind, code = (part.strip() for part in spec.strip().split(":", 1))
        if kind.lower() in COG_KINDS:
            return list(_cog_communes(kind.lower(), code).values_list("code", flat=True))
    territory = Territory.objects.filter(slug=spec.strip()).first()
    if territory is None:
        raise UnknownTerritory(f"{spec!r}: territoire inconnu")
    return list(territory.communes.values_list("code", flat=True))


def ensure_predefined_territories() -> None:
    """Create (or refresh) the predefined named territories once the COG is present."""
    for spec in PREDEFINED:
        codes: set[str] = set()
        for member in spec["members"]:
            kind, code = member.split(":")
            codes.update(_cog_communes(kind, code).values_list("code", flat=True))
        if not codes:
            continue
        territory, _ = Territory.objects.update_or_create(
            slug=spec["slug"],
            defaults={
                "name": spec["name"],
                "kind": spec["kind"],
                "description": spec["description"],
                "predefined": True,
                "code": ",".join(spec["members"]),
            },
        )
        territory.communes.set(codes)
