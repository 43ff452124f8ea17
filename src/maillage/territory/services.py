"""Territory services: importing the COG, and naming territories.

A territory is named on the command line and in URLs as ``kind:code`` (``departement:52``,
``arrondissement:521``, ``epci:200068666``, ``commune:52121``, ``region:44``) or by the slug of a
saved territory (``centre-sud-haute-marne``). Resolving a name is pure: COG territories are read
from the COG as they are, so any French territory works without preparation and without a
write; only :func:`save_territory` (a coordinator's form, the demo import) saves one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import QuerySet

from maillage import opendata
from maillage.imports import ImportConsistencyError, ImportReport, run_import, upsert
from maillage.paths import shipped_data_dir

if TYPE_CHECKING:
    import pandas as pd

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
    import pandas as pd  # imported here: resolving a territory must not load pandas

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
    import pandas as pd

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


def _cog_communes(kind: str, code: str) -> QuerySet[Commune]:
    return Commune.objects.filter(**{_COMMUNE_FIELD[kind]: code})


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


KIND_LABELS = dict(Territory.Kind.choices)
_COMMUNE_FIELD = {
    "region": "region_id",
    "departement": "departement_id",
    "arrondissement": "arrondissement_id",
    "epci": "epci_id",
    "commune": "code",
}


@dataclass(frozen=True)
class ResolvedTerritory:
    """A COG territory as it is displayed (``departement:52``), read from the COG, never saved.

    It answers what views, reports and exports read from a :class:`Territory` (``slug``,
    ``name``, ``kind``, ``code``, ``communes``…), so resolving a name for display creates no
    row; :func:`save_territory` is the one way to turn it into a saved territory.
    """

    slug: str
    name: str
    kind: str
    code: str
    description: str = ""
    predefined: bool = False
    pk: None = None  # never saved
    updated_at: None = None

    @property
    def communes(self) -> QuerySet[Commune]:
        return _cog_communes(self.kind, self.code)

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    def get_kind_display(self) -> str:
        return self.kind_label

    def __str__(self) -> str:
        return self.name


def _cog(kind: str, code: str) -> ResolvedTerritory:
    code = code.upper()  # Corsica: 2A, 2B (slugs are lower case)
    return ResolvedTerritory(
        slug=f"{kind}-{code}".lower(), name=_cog_name(kind, code), kind=kind, code=code
    )


def resolve(spec: str) -> Territory | ResolvedTerritory:
    """Return the territory named by ``spec`` (``kind:code`` or a saved slug), for display:
    the saved :class:`Territory` for a slug, an unsaved :class:`ResolvedTerritory` read from the
    COG for ``kind:code``. Pure: nothing is written."""
    spec = spec.strip()
    if ":" in spec:
        kind, code = (part.strip() for part in spec.split(":", 1))
        kind = kind.lower()
        if kind not in COG_KINDS:
            raise UnknownTerritory(
                f"{spec!r}: type inconnu {kind!r} (attendu : {', '.join(COG_KINDS)} "
                "ou le nom court d'un territoire enregistré)"
            )
        if not code:
            raise UnknownTerritory(f"{spec!r}: code manquant après « {kind}: »")
        return _cog(kind, code)
    territory = Territory.objects.filter(slug=spec).first()
    if territory is None:
        known = ", ".join(Territory.objects.order_by("slug").values_list("slug", flat=True)[:20])
        raise UnknownTerritory(
            f"{spec!r}: aucun territoire enregistré sous ce nom. Utilisez type:code "
            f"(departement:52, arrondissement:521, epci:200068666, commune:52121, region:44) "
            f"ou l'un de : {known}"
        )
    return territory


def spec_of(territory: Territory | ResolvedTerritory) -> str:
    """The name :func:`resolve` reads back into the same territory (``kind:code`` for a COG
    territory, the slug of a saved one): what a background build keeps instead of a row id."""
    if isinstance(territory, ResolvedTerritory):
        return f"{territory.kind}:{territory.code}"
    return territory.slug


def stamp_of(territory: Territory | ResolvedTerritory) -> str:
    """When the territory last changed ("" for a COG territory: it changes with the data)."""
    return territory.updated_at.isoformat() if territory.updated_at else ""


def resolve_slug(slug: str) -> Territory | ResolvedTerritory:
    """The territory of a page address: a saved slug, or ``kind-code`` for any COG territory
    (``departement-52``, ``commune-52121``). Pure, like :func:`resolve`."""
    territory = Territory.objects.filter(slug=slug).first()
    if territory is not None:
        return territory
    kind, sep, code = slug.partition("-")
    if sep and kind in COG_KINDS and code:
        return _cog(kind, code)
    raise UnknownTerritory(f"{slug!r}: territoire inconnu")


def save_territory(
    spec: str | Territory | ResolvedTerritory,
    *,
    name: str | None = None,
    slug: str | None = None,
    description: str | None = None,
) -> Territory:
    """Save (or refresh) ``spec`` as a named territory with its communes: the only function
    that writes a territory. Called by a coordinator's form and by the demo import, never on
    a page view."""
    resolved = resolve(spec) if isinstance(spec, str) else spec
    if name is None and slug is None and description is None:
        if isinstance(resolved, Territory):
            return resolved
        existing = Territory.objects.filter(slug=resolved.slug).first()
        if existing is not None and existing.communes.exists():
            return existing  # saved before: unchanged (re-running the demo import writes nothing)
    slug = slug or resolved.slug
    with transaction.atomic():
        territory, _ = Territory.objects.update_or_create(
            slug=slug,
            defaults={
                "name": name or resolved.name,
                "kind": resolved.kind,
                "code": resolved.code,
                "description": resolved.description if description is None else description,
            },
        )
        territory.communes.set(list(resolved.communes.values_list("code", flat=True)))
    from maillage.territory import search

    search.forget_saved()
    return territory


def commune_codes(spec: str) -> list[str]:
    """The INSEE codes of the communes of ``spec`` (as :func:`resolve` reads it)."""
    return list(resolve(spec).communes.values_list("code", flat=True))


def shapes_for(territory: Territory | ResolvedTerritory) -> dict[str, dict]:
    """Commune code → GeoJSON geometry, for the maps (communes without a shape are left out).

    Here rather than beside the figures (:mod:`maillage.observatory.diagnostic`) so that a report
    built from cached figures reads its shapes without importing pandas and scipy.
    """
    return {
        code: geometry
        for code, geometry in territory.communes.exclude(geometry__isnull=True).values_list(
            "code", "geometry"
        )
    }


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
