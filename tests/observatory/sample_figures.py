"""Realistic figures dicts for the report renderer, built from the data shipped in ``data/``.

The renderer is tested against the contract of ``maillage.observatory.diagnostic.compute``
without a database, so this module builds that dict itself from real open data (commune shapes
and populations, DREES APL, FINESS establishments, INSEE département counts) plus *synthetic*
general practitioners, exactly as the demo does. Two territories:

- :func:`sample_epci` — CA du Grand Saint-Dizier, Der et Vallées (EPCI 200068666, 60 communes in
  Haute-Marne and Marne), the territory of the CPTS health project in seed 003;
- :func:`sample_departement` — Haute-Marne (426 communes), the size used for timing.

It is also a script: ``python tests/observatory/sample_figures.py /tmp/out`` writes the HTML, PDF
and XLSX of both samples, to look at them.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import random
from collections import Counter, defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "data"
GRAND_EST = {"08", "10", "51", "52", "54", "55", "57", "67", "68", "88"}
DEPARTEMENT_NAMES = {
    "10": "Aube",
    "21": "Côte-d'Or",
    "51": "Marne",
    "52": "Haute-Marne",
    "55": "Meuse",
    "70": "Haute-Saône",
    "88": "Vosges",
}
GENERATED_AT = "2026-11-22T10:00:00+01:00"


# --------------------------------------------------------------------------- real data


@lru_cache(maxsize=1)
def communes() -> dict[str, dict[str, Any]]:
    """Commune code → GeoJSON feature (52 and neighbouring départements)."""
    path = DATA / "geo" / "communes-52-et-voisins.geojson.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        collection = json.load(fh)
    return {f["properties"]["code"]: f for f in collection["features"]}


@lru_cache(maxsize=1)
def epci_members(code: str = "200068666") -> tuple[str, list[str]]:
    with gzip.open(DATA / "cog" / "epci.json.gz", "rt", encoding="utf-8") as fh:
        for epci in json.load(fh):
            if epci["code"] == code:
                return epci["nom"], [m["code"] for m in epci["membres"]]
    raise KeyError(code)


@lru_cache(maxsize=1)
def apl_table() -> dict[str, dict[str, tuple[float, float, float]]]:
    """Commune → year → (APL, standardised population, total population), all of France."""
    out: dict[str, dict[str, tuple[float, float, float]]] = defaultdict(dict)
    path = DATA / "offer" / "apl_mg_communes_2022_2023_france.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            try:
                out[row["code_commune"]][row["annee_apl"]] = (
                    float(row["apl_mg"]),
                    float(row["pop_standardisee_mg"]),
                    float(row["pop_totale"]),
                )
            except ValueError:
                continue
    return dict(out)


def _apl_mean(codes: Any, year: str) -> float | None:
    table = apl_table()
    num = den = 0.0
    for code in codes:
        value = table.get(code, {}).get(year)
        if value:
            num += value[0] * value[1]
            den += value[1]
    return round(num / den, 2) if den else None


@lru_cache(maxsize=1)
def apl_references() -> dict[str, dict[str, dict[str, float | None]]]:
    table = apl_table()
    by_dep: dict[str, list[str]] = defaultdict(list)
    for code in table:
        by_dep[code[:2]].append(code)
    region = [c for d in GRAND_EST for c in by_dep[d]]
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    for year in ("2022", "2023"):
        out[year] = {
            "52": _apl_mean(by_dep["52"], year),
            "51": _apl_mean(by_dep["51"], year),
            "region": _apl_mean(region, year),
            "france": _apl_mean(table.keys(), year),
        }
    return out


@lru_cache(maxsize=1)
def finess() -> list[dict[str, str]]:
    """FINESS establishments of 52 and neighbours (category, commune, coordinates)."""
    keep = set(DEPARTEMENT_NAMES)
    path = DATA / "offer" / "finess_etablissements_geo_2021_france.csv.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [
            {
                "commune": r["code_commune_insee"],
                "category": r["categetab"],
                "label": r["libcategetab"],
                "lat": r["latitude"],
                "lon": r["longitude"],
            }
            for r in csv.DictReader(fh)
            if r["departement"] in keep
        ]


@lru_cache(maxsize=1)
def insee_departements() -> dict[str, dict[str, float]]:
    path = DATA / "offer" / "insee_statlocales_departements_offre_2024_france.csv"
    out: dict[str, dict[str, float]] = {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            pop = float(row["Estimations de population 2025"])
            out[row["Code"]] = {
                "population": pop,
                "medecin_generaliste": float(row["Médecin généraliste (en nombre) 2024"]),
                "infirmier": float(row["Infirmier (en nombre) 2024"]),
                "chirurgien_dentiste": float(row["Chirurgien dentiste (en nombre) 2024"]),
                "pharmacien": float(row["Pharmacie (en nombre) 2024"]),
            }
    return out


def _density(codes: Any, key: str) -> float | None:
    stats = insee_departements()
    count = sum(stats[c][key] for c in codes if c in stats)
    pop = sum(stats[c]["population"] for c in codes if c in stats)
    return round(count / pop * 10_000, 1) if pop else None


# --------------------------------------------------------------------------- geometry helpers


def _centroid(geometry: dict[str, Any]) -> tuple[float, float]:
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    ring = max((p[0] for p in polygons), key=len)
    return (sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring))


def _minutes(origins: np.ndarray, destinations: np.ndarray) -> np.ndarray:
    """Crow-fly distance × 1.3 at 60 km/h + 5 min, the demo travel model (origins × dests)."""
    if len(destinations) == 0:
        return np.full((len(origins), 0), np.inf)
    lat0 = math.radians(48.1)
    dx = (origins[:, None, 0] - destinations[None, :, 0]) * 111.32 * math.cos(lat0)
    dy = (origins[:, None, 1] - destinations[None, :, 1]) * 110.57
    return np.hypot(dx, dy) * 1.3 + 5.0


# --------------------------------------------------------------------------- figures


PROFESSIONS = [
    # key, label, density per 10 000 (territory target), share 55+, 60+, 65+
    ("medecin_generaliste", "Médecins généralistes", 6.1, 0.58, 0.45, 0.21),
    ("infirmier", "Infirmiers", 12.9, 0.14, 0.04, 0.01),
    ("masseur_kinesitherapeute", "Masseurs-kinésithérapeutes", 4.4, 0.22, 0.08, 0.03),
    ("chirurgien_dentiste", "Chirurgiens-dentistes", 3.6, 0.33, 0.24, 0.10),
    ("sage_femme", "Sages-femmes", 0.9, 0.33, 0.2, 0.0),
    ("pharmacien", "Pharmaciens", 4.1, 0.3, 0.18, 0.06),
    ("orthophoniste", "Orthophonistes", 0.9, 0.4, 0.4, 0.2),
    ("pedicure_podologue", "Pédicures-podologues", 1.4, None, None, None),
    ("pediatre", "Pédiatres", 0.2, 1.0, 1.0, 0.0),
    ("psychiatre", "Psychiatres", 0.2, 1.0, 1.0, 1.0),
    ("ophtalmologue", "Ophtalmologues", 0.2, 1.0, 1.0, 0.0),
    ("gynecologue", "Gynécologues", 0.2, 1.0, 1.0, 1.0),
    ("cardiologue", "Cardiologues", 0.5, 0.33, 0.33, 0.0),
]
REFERENCE_DENSITY = {  # (région, France) per 10 000, rounded published orders of magnitude
    "masseur_kinesitherapeute": (9.1, 11.5),
    "sage_femme": (1.7, 1.8),
    "orthophoniste": (2.8, 3.0),
    "pedicure_podologue": (2.0, 2.2),
}


def build_figures(
    codes: list[str], territory: dict[str, Any], seed: int = 52
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The figures dict and shapes for a set of communes, from real data + synthetic GPs."""
    features = communes()
    codes = [c for c in codes if c in features]
    rng = random.Random(seed)
    pops = {c: int(features[c]["properties"]["population"] or 0) for c in codes}
    names = {c: features[c]["properties"]["nom"] for c in codes}
    population = sum(pops.values())
    main = max(codes, key=lambda c: pops[c])
    deps = sorted({features[c]["properties"]["departement"] for c in codes})

    # Synthetic GPs: placed in the larger communes, about 6 per 10 000 inhabitants.
    gp: dict[str, int] = {c: 0 for c in codes}
    candidates = [c for c in codes if pops[c] >= 700]
    weights = [pops[c] for c in candidates]
    for _ in range(round(population * 6.1 / 10_000)):
        gp[rng.choices(candidates, weights)[0]] += 1

    centroids = np.array([_centroid(features[c]["geometry"]) for c in codes])
    pop_arr = np.array([pops[c] for c in codes], dtype=float)
    gp_arr = np.array([gp[c] for c in codes], dtype=float)
    t = _minutes(centroids, centroids)
    w = np.where(t <= 10, 1.0, np.where(t <= 15, 2 / 3, np.where(t <= 20, 1 / 3, 0.0)))
    demand = w.T @ pop_arr
    ratio = np.divide(gp_arr, demand, out=np.zeros_like(gp_arr), where=demand > 0)
    access = (w @ ratio) * 10_000
    acc_value = float((access * pop_arr).sum() / pop_arr.sum())

    # Facilities from FINESS (real) for emergency and pharmacy; synthetic GPs for the GP time.
    est = finess()
    kinds = {
        "emergency": (
            "Service d'urgences (centre hospitalier, approximation FINESS)",
            {"101", "106", "355"},
            False,
        ),
        "pharmacy": ("Pharmacie d'officine", {"620"}, False),
    }
    minutes: dict[str, np.ndarray] = {}
    for key, (_label, cats, _synthetic) in kinds.items():
        pts = np.array(
            [
                (float(e["lon"]), float(e["lat"]))
                for e in est
                if e["category"] in cats and e["lat"] and e["lon"]
            ]
        )
        minutes[key] = _minutes(centroids, pts).min(axis=1)
    gp_pts = centroids[gp_arr > 0]
    minutes["medecin_generaliste"] = _minutes(centroids, gp_pts).min(axis=1)
    access_times = []
    for key, label, synthetic in [
        ("emergency", kinds["emergency"][0], False),
        ("pharmacy", kinds["pharmacy"][0], False),
        ("medecin_generaliste", "Médecin généraliste", True),
    ]:
        m = minutes[key]
        beyond = {k: int(pop_arr[m > int(k)].sum()) for k in ("20", "30", "45")}
        access_times.append(
            {
                "key": key,
                "label": label,
                "mean_minutes": round(float((m * pop_arr).sum() / pop_arr.sum()), 1),
                "population_beyond": beyond,
                "share_beyond": {k: round(v / population, 4) for k, v in beyond.items()},
                "synthetic": synthetic,
            }
        )

    code_set = set(codes)
    categories = Counter((e["category"], e["label"]) for e in est if e["commune"] in code_set)
    establishments = [
        {"category_code": cat, "label": label, "count": n}
        for (cat, label), n in sorted(categories.items(), key=lambda kv: (-kv[1], kv[0][1]))
    ]

    apl = apl_table()
    refs = apl_references()
    dep_main = features[main]["properties"]["departement"]
    apl_drees = {y: _apl_mean(codes, y) for y in ("2022", "2023")}
    below = {}
    for y in ("2022", "2023"):
        under = [c for c in codes if c in apl and y in apl[c] and apl[c][y][0] < 2.5]
        below[y] = {
            "population": sum(pops[c] for c in under),
            "share": round(sum(pops[c] for c in under) / population, 4),
            "communes": len(under),
        }

    offer: dict[str, dict[str, Any]] = {}
    for key, label, density, s55, s60, s65 in PROFESSIONS:
        count = gp_arr.sum() if key == "medecin_generaliste" else round(density * population / 1e4)
        count = int(count)
        main_count = gp[main] if key == "medecin_generaliste" else round(count * 0.55)
        if key in ("medecin_generaliste", "infirmier", "chirurgien_dentiste", "pharmacien"):
            dep_density = _density([dep_main], key)
            reg_density = _density(GRAND_EST, key)
            fr_density = _density(insee_departements().keys(), key)
        elif key in REFERENCE_DENSITY:
            dep_density = round(REFERENCE_DENSITY[key][0] * 0.7, 1)
            reg_density, fr_density = REFERENCE_DENSITY[key]
        else:
            dep_density = reg_density = fr_density = None
        offer[key] = {
            "label": label,
            "count": count,
            "count_main_commune": main_count,
            "share_55_plus": s55,
            "share_60_plus": s60,
            "share_65_plus": s65,
            "density_10k": round(count / population * 1e4, 1) if count else None,
            "density_10k_departement": dep_density,
            "density_10k_region": reg_density,
            "density_10k_france": fr_density,
            "synthetic": True,
        }

    commune_table = [
        {
            "code": c,
            "name": names[c],
            "population": pops[c],
            "apl": {y: apl.get(c, {}).get(y, (None,))[0] for y in ("2022", "2023")},
            "accessibility": round(float(access[i]), 1),
            "gp_count": gp[c],
            "minutes": {k: round(float(minutes[k][i]), 1) for k in minutes},
        }
        for i, c in enumerate(codes)
    ]
    gp_offer = offer["medecin_generaliste"]
    from maillage.observatory.report.formatting import fr_number, fr_percent

    figures: dict[str, Any] = {
        "territory": territory,
        "generated_at": GENERATED_AT,
        "maillage_version": "0.1.0",
        "communes": len(codes),
        "population": population,
        "population_source": "INSEE, populations légales (COG 2026)",
        "main_commune": {"code": main, "name": names[main], "population": pops[main]},
        "departements": [{"code": d, "name": DEPARTEMENT_NAMES.get(d, d)} for d in deps],
        "region": {"code": "44", "name": "Grand Est"},
        "synthetic_practitioners": True,
        "offer": offer,
        "apl_drees": apl_drees,
        "apl_drees_reference": {
            "departement": {y: refs[y][dep_main] for y in refs},
            "region": {y: refs[y]["region"] for y in refs},
            "france": {y: refs[y]["france"] for y in refs},
        },
        "apl_below_2_5": below,
        "accessibility": {
            "label": "Indice d'accessibilité maillage (E2SFCA)",
            "unit": "médecins généralistes (ETP) pour 10 000 habitants standardisés",
            "value": round(acc_value, 1),
            "departement": 6.4,
            "weights": "0–10 min : 1 ; 10–15 min : 2/3 ; 15–20 min : 1/3",
            "travel_model": "distance à vol d'oiseau × 1,3 à 60 km/h + 5 min intra-communal",
            "synthetic": True,
        },
        "access_times": access_times,
        "establishments": establishments,
        "commune_table": commune_table,
        "synthesis": [
            f"Un territoire de {fr_number(len(codes))} communes et {fr_number(population)} "
            f"habitants, polarisé par {names[main]} ({fr_percent(pops[main] / population)} de la "
            "population).",
            f"Une APL aux médecins généralistes de {fr_number(apl_drees['2023'], 2)} en 2023, "
            f"contre {fr_number(refs['2023']['france'], 2)} en France ; "
            f"{fr_percent(below['2023']['share'])} de la population vit dans une commune "
            "sous-dense (APL < 2,5).",
            f"Une densité de {fr_number(gp_offer['density_10k'], 1)} médecins généralistes pour "
            f"10 000 habitants, dont {fr_percent(gp_offer['share_60_plus'])} âgés de 60 ans et "
            "plus (données synthétiques).",
            "Un temps moyen d'accès aux urgences de "
            f"{fr_number(access_times[0]['mean_minutes'], 1)} min ; "
            f"{fr_number(access_times[0]['population_beyond']['30'])} habitants à plus de 30 min.",
        ],
        "sources": [
            {
                "label": "INSEE, Code officiel géographique 2026",
                "detail": "communes, EPCI, départements ; https://www.insee.fr/fr/information/2560452",
            },
            {
                "label": "DREES, Accessibilité potentielle localisée (APL) 2022-2023",
                "detail": "médecins généralistes, par commune ; https://data.drees.solidarites-sante.gouv.fr",
            },
            {
                "label": "FINESS, extraction du 8 janvier 2021",
                "detail": "établissements géolocalisés (Licence Ouverte / Etalab)",
            },
            {
                "label": "INSEE, statistiques locales 2024",
                "detail": "nombre de professionnels par département, densités de référence",
            },
            {
                "label": "maillage, professionnels synthétiques",
                "detail": "générés et calibrés sur les densités départementales (démonstration)",
            },
        ],
        "warnings": [
            "Les professionnels de santé sont synthétiques : l'offre, l'indice maillage et le "
            "temps d'accès au médecin généraliste illustrent la méthode."
        ],
    }
    shapes = {c: features[c]["geometry"] for c in codes}
    return figures, shapes


def sample_epci() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """CA du Grand Saint-Dizier, Der et Vallées (EPCI 200068666), 60 communes."""
    name, members = epci_members("200068666")
    territory = {
        "slug": "epci-200068666",
        "name": "CA du Grand Saint-Dizier, Der et Vallées",
        "kind": "epci",
        "kind_label": "EPCI",
        "code": "200068666",
    }
    return build_figures(members, territory)


def sample_departement(code: str = "52") -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A whole département (Haute-Marne: 426 communes)."""
    codes = [c for c, f in communes().items() if f["properties"]["departement"] == code]
    territory = {
        "slug": f"departement-{code}",
        "name": DEPARTEMENT_NAMES.get(code, code),
        "kind": "departement",
        "kind_label": "Département",
        "code": code,
    }
    return build_figures(codes, territory)


if __name__ == "__main__":  # pragma: no cover - manual inspection helper
    import os
    import sys
    import time

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maillage.settings")
    import django

    django.setup()
    from maillage.observatory.report import render_html, render_pdf, render_xlsx

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/report")
    out.mkdir(parents=True, exist_ok=True)
    for label, build in (("epci", sample_epci), ("dep52", sample_departement)):
        figures, shapes = build()
        t0 = time.perf_counter()
        html = render_html(figures, shapes)
        t1 = time.perf_counter()
        pdf = render_pdf(figures, shapes)
        t2 = time.perf_counter()
        xlsx = render_xlsx(figures)
        t3 = time.perf_counter()
        (out / f"{label}.html").write_text(html, encoding="utf-8")
        (out / f"{label}.pdf").write_bytes(pdf)
        (out / f"{label}.xlsx").write_bytes(xlsx)
        (out / f"{label}.json").write_text(json.dumps(figures, ensure_ascii=False, indent=1))
        print(
            f"{label}: html {t1 - t0:.2f}s ({len(html) // 1024} KB), pdf {t2 - t1:.2f}s "
            f"({len(pdf) // 1024} KB), xlsx {t3 - t2:.2f}s ({len(xlsx) // 1024} KB)",
            file=sys.stderr,
        )
