"""Two to four territories side by side: the indicators of the diagnostic that a CPTS or an ARS
délégation compares first (population, APL, offer densities, access times), as Rézone and
CartoSanté put them. Every value comes from :func:`maillage.observatory.services.figures_for`;
values computed on synthetic practitioners are flagged as such, row by row."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from maillage.observatory.services import figures_for
from maillage.territory import search
from maillage.territory.models import Territory
from maillage.territory.services import ResolvedTerritory, UnknownTerritory, resolve, resolve_slug

MIN_TERRITORIES, MAX_TERRITORIES = 2, 4


class CompareError(ValueError):
    """A request the comparison cannot answer, in French."""


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    unit: str
    values: list[float | int | None]
    synthetic: bool = False
    section: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def find_territory(text: str) -> Territory | ResolvedTerritory:
    """A territory from what a person types: a page slug (``departement-52``), ``kind:code``,
    or a name ("Langres", "haute marne": the best match of the territory picker)."""
    text = text.strip()[: search.MAX_QUERY_CHARS]
    if not text:
        raise CompareError("territoire vide")
    try:
        return resolve(text) if ":" in text else resolve_slug(text)
    except UnknownTerritory:
        found = search.search(text, limit=1)
        if not found:
            raise CompareError(f"aucun territoire ne correspond à « {text} »") from None
        return resolve_slug(found[0].slug)


def territories_from(texts: list[str]) -> list[Territory | ResolvedTerritory]:
    texts = [t for t in texts if t.strip()]
    if not MIN_TERRITORIES <= len(texts) <= MAX_TERRITORIES:
        raise CompareError(
            f"choisissez de {MIN_TERRITORIES} à {MAX_TERRITORIES} territoires "
            f"({len(texts)} donné{'s' if len(texts) > 1 else ''})"
        )
    chosen = [find_territory(t) for t in texts]
    slugs = [t.slug for t in chosen]
    if len(set(slugs)) != len(slugs):
        raise CompareError("le même territoire est demandé deux fois")
    return chosen


def _latest(mapping: dict) -> Any:
    return mapping[max(mapping)] if mapping else None


def rows(figures: list[dict]) -> list[Row]:
    """The comparison table, one row per indicator, one value per territory (None: unknown)."""

    def row(key: str, label: str, unit: str, get, synthetic=False, section="") -> Row:
        values = []
        for f in figures:
            try:
                values.append(get(f))
            except (KeyError, TypeError):
                values.append(None)
        return Row(key, label, unit, values, synthetic, section)

    out = [
        row(
            "population",
            "Population municipale",
            "habitants",
            lambda f: f["population"],
            section="Population",
        ),
        row("communes", "Communes", "", lambda f: f["communes"], section="Population"),
        row(
            "apl",
            "APL médecins généralistes (DREES)",
            "consultations par an et par habitant",
            lambda f: _latest(f["apl_drees"]),
            section="Accès aux médecins généralistes",
        ),
        row(
            "apl_below",
            "Population en commune sous-dense (APL < 2,5)",
            "part",
            lambda f: _latest(f["apl_below_2_5"])["share"],
            section="Accès aux médecins généralistes",
        ),
        row(
            "e2sfca",
            "Indice d'accessibilité maillage (E2SFCA)",
            "ETP de généralistes pour 10 000 habitants standardisés",
            lambda f: f["accessibility"]["value"],
            synthetic=any(f["accessibility"].get("synthetic") for f in figures),
            section="Accès aux médecins généralistes",
        ),
    ]
    groups = list(figures[0]["offer"]) if figures else []
    for group in groups:
        label = figures[0]["offer"][group]["label"]
        synthetic = any(f["offer"].get(group, {}).get("synthetic") for f in figures)
        out.append(
            row(
                f"{group}_density",
                f"{label} pour 10 000 habitants",
                "pour 10 000",
                lambda f, g=group: f["offer"][g]["density_10k"],
                synthetic,
                "Offre de soins",
            )
        )
        out.append(
            row(
                f"{group}_60",
                f"{label} : part des 60 ans ou plus",
                "part",
                lambda f, g=group: f["offer"][g]["share_60_plus"],
                synthetic,
                "Offre de soins",
            )
        )
    for access in figures[0]["access_times"] if figures else []:
        key = access["key"]

        def mean(f: dict, k: str = key) -> float | None:
            return next(a["mean_minutes"] for a in f["access_times"] if a["key"] == k)

        def beyond(f: dict, k: str = key) -> float | None:
            return next(a["share_beyond"]["30"] for a in f["access_times"] if a["key"] == k)

        synthetic = any(
            a.get("synthetic") for f in figures for a in f["access_times"] if a["key"] == key
        )
        out.append(
            row(
                f"{key}_minutes",
                f"{access['label']} : temps d'accès moyen",
                "minutes",
                mean,
                synthetic,
                "Temps d'accès",
            )
        )
        out.append(
            row(
                f"{key}_beyond_30",
                f"{access['label']} : population à plus de 30 min",
                "part",
                beyond,
                synthetic,
                "Temps d'accès",
            )
        )
    return out


def compare(texts: list[str]) -> dict[str, Any]:
    """The comparison of the territories named by ``texts`` (2 to 4), as JSON-ready data.
    Raises :class:`CompareError` (French) for a request it cannot answer."""
    from maillage.observatory.diagnostic import NoCommunes

    chosen = territories_from(texts)
    figures = []
    for territory in chosen:
        try:
            figures.append(figures_for(territory))
        except NoCommunes:
            raise CompareError(
                f"{territory.name} : ce territoire ne contient aucune commune"
            ) from None
    table = rows(figures)
    return {
        "territories": [
            {
                "slug": t.slug,
                "name": t.name,
                "kind": t.kind,
                "kind_label": t.get_kind_display(),
                "synthetic_practitioners": f["synthetic_practitioners"],
            }
            for t, f in zip(chosen, figures, strict=True)
        ],
        "rows": [r.as_dict() for r in table if any(v is not None for v in r.values)],
        # professions with no value anywhere: said once instead of rows of dashes
        "no_open_data": [
            figures[0]["offer"][g]["label"]
            for g in figures[0]["offer"]
            if all(f["offer"][g]["density_10k"] is None for f in figures)
        ],
        "synthetic_note": (
            "Les valeurs marquées « démo » sont calculées sur des professionnels synthétiques "
            "(données de démonstration), pas sur des données réelles."
        )
        if any(f["synthetic_practitioners"] for f in figures)
        else "",
    }
