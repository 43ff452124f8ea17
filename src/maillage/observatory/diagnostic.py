"""The territorial diagnostic: every figure of the report, computed from the database.

``compute(territory)`` returns a plain JSON-serialisable dict (the contract is documented in
``docs/report.md``); the renderers in :mod:`maillage.observatory.report` only format it, and
``maillage report --format json`` prints it as is. Computation goes through
:mod:`maillage.analytics` with DataFrames, so the same numbers can be reproduced on plain files.
"""

from __future__ import annotations

import math
from functools import lru_cache

import pandas as pd
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

import maillage
from maillage.analytics.accessibility import DEFAULT_GP_WEIGHTS, e2sfca, weighted_mean
from maillage.analytics.indicators import population_beyond
from maillage.analytics.travel import TravelModel, model_costs
from maillage.directory.models import Organization, PractitionerRole
from maillage.observatory.models import AplValue, BassinVieIndicator, DepartementStat
from maillage.opendata.cartosante import PER_10K_FACTOR
from maillage.opendata.finess import FACILITY_KINDS
from maillage.opendata.nomenclatures import PROFESSION_GROUPS
from maillage.territory.models import Commune, Region, Territory

APL_THRESHOLD = 2.5  # consultations/year/inhabitant: the "zone sous-dense" reference of DREES
BEYOND_THRESHOLDS = (20, 30, 45)
ACCESS_KINDS = ("emergency", "pharmacy")
# INSEE département statistics and CartoSanté columns giving real reference densities.
INSEE_COUNTS = {
    "medecin_generaliste": "gp_count_2024",
    "infirmier": "nurse_count_2024",
    "chirurgien_dentiste": "dentist_count_2024",
}
CARTOSANTE_DENSITIES = {
    "sage_femme": "midwife_density_2024",
    "orthophoniste": "speech_therapist_density_2024",
    "pharmacie": "pharmacy_density_2024",
}
#: FINESS category of the officines (pharmacies d'officine): real establishments, so the offer
#: counts them from FINESS, not from people.
FINESS_PHARMACY = "620"


def _num(value: float | None, digits: int = 2) -> float | None:
    if value is None:
        return None
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        return None
    return round(value, digits)


class NoCommunes(ValueError):
    """The territory has no commune in the imported COG: there is nothing to compute."""


COMMUNE_COLUMNS = [
    "code", "name", "population", "latitude", "longitude", "departement_id", "region_id",
]  # fmt: skip


def _communes_frame(qs, *, allow_empty: bool = False) -> pd.DataFrame:
    df = pd.DataFrame.from_records(qs.values(*COMMUNE_COLUMNS), columns=COMMUNE_COLUMNS)
    if df.empty and not allow_empty:
        raise NoCommunes(
            "Ce territoire ne contient aucune commune dans le Code officiel géographique "
            "importé : il n'y a rien à calculer."
        )
    df["latitude"] = df["latitude"].astype(float)
    df["longitude"] = df["longitude"].astype(float)
    return df.set_index("code", drop=False)


def _roles_frame(communes: list[str] | None = None) -> pd.DataFrame:
    qs = PractitionerRole.objects.filter(active=True, location__isnull=False)
    if communes is not None:
        qs = qs.filter(location__commune_id__in=communes)
    df = pd.DataFrame.from_records(
        qs.values(
            "practitioner_id", "profession_code", "specialty_code", "fte", "synthetic",
            "location_id", commune=F("location__commune_id"), latitude=F("location__latitude"),
            longitude=F("location__longitude"), birth_year=F("practitioner__birth_year"),
        )
    )  # fmt: skip
    if df.empty:
        df = pd.DataFrame(
            columns=["practitioner_id", "profession_code", "specialty_code", "fte", "synthetic",
                     "location_id", "commune", "latitude", "longitude", "birth_year"]
        )  # fmt: skip
    return df


def _group_mask(roles: pd.DataFrame, profession: str, specialties) -> pd.Series:
    mask = roles["profession_code"] == profession
    if specialties:
        mask &= roles["specialty_code"].isin(list(specialties))
    return mask


# --- reference values (département, région, France) ---------------------------------------


def _insee_density(column: str, departements: list[str]) -> float | None:
    count = pop = 0.0
    for stat in DepartementStat.objects.filter(departement_id__in=departements):
        c, p = stat.values.get(column), stat.values.get("population_2025")
        if c is None or p is None:
            return None
        count += c
        pop += p
    return count / pop * 10_000 if pop else None


@lru_cache(maxsize=1)
def _bassin_assignment() -> pd.DataFrame:
    from maillage.observatory.bassins import assign_bassins as _assign_bassins

    communes = pd.DataFrame.from_records(
        Commune.objects.filter(latitude__isnull=False).values(
            "code", "population", "latitude", "longitude", "departement_id", "region_id"
        )
    )
    communes["bv"] = communes["code"].map(_assign_bassins(communes))
    return communes


def _cartosante_density(column: str, filter_field: str | None, codes: list[str]) -> float | None:
    """Population-weighted mean of bassin-de-vie densities (communes attached to the nearest
    bassin main commune: an approximation, see :mod:`maillage.observatory.bassins`)."""
    communes = _bassin_assignment()
    if filter_field:
        communes = communes[communes[filter_field].isin(codes)]
    values = {b.bv_code: b.values.get(column) for b in BassinVieIndicator.objects.all()}
    dens = communes["bv"].map(values).astype(float) * PER_10K_FACTOR.get(column, 1.0)
    return _num(weighted_mean(dens, communes["population"].astype(float)))


def _reference_densities(key: str, dep: str, region: str) -> dict[str, float | None]:
    if key in INSEE_COUNTS:
        col = INSEE_COUNTS[key]
        region_deps = list(
            DepartementStat.objects.filter(departement__region_id=region).values_list(
                "departement_id", flat=True
            )
        )
        all_deps = list(DepartementStat.objects.values_list("departement_id", flat=True))
        return {
            "density_10k_departement": _num(_insee_density(col, [dep])),
            "density_10k_region": _num(_insee_density(col, region_deps)),
            "density_10k_france": _num(_insee_density(col, all_deps)),
        }
    if key in CARTOSANTE_DENSITIES:
        col = CARTOSANTE_DENSITIES[key]
        return {
            "density_10k_departement": _cartosante_density(col, "departement_id", [dep]),
            "density_10k_region": _cartosante_density(col, "region_id", [region]),
            "density_10k_france": _cartosante_density(col, None, []),
        }
    return {
        "density_10k_departement": None,
        "density_10k_region": None,
        "density_10k_france": None,
    }


# --- sections ------------------------------------------------------------------------------


def _offer(communes: pd.DataFrame, main: str, dep: str, region: str) -> tuple[dict, bool]:
    roles = _roles_frame(list(communes.index))
    # A profession is "known" where the directory holds it for the territory's départements: the
    # demo's synthetic kinés exist in Haute-Marne only, so elsewhere their count is unknown
    # ("n.d."), never zero.
    deps = sorted({str(d) for d in communes["departement_id"]})
    known = set(
        PractitionerRole.objects.filter(
            Q(location__commune__departement_id__in=deps)
            | Q(organization__commune__departement_id__in=deps)
        )
        .values_list("profession_code", "specialty_code")
        .distinct()
    )
    population = int(communes["population"].sum())
    year = timezone.now().year
    offer: dict[str, dict] = {}
    any_synthetic = bool(roles["synthetic"].any()) if len(roles) else False
    for key, (label, profession, specialties) in PROFESSION_GROUPS.items():
        has_data = any(p == profession and (not specialties or s in specialties) for p, s in known)
        sel = roles[_group_mask(roles, profession, specialties)].drop_duplicates("practitioner_id")
        ages = year - sel["birth_year"].astype(float)
        row: dict[str, object] = {"label": label}
        if has_data:
            n = len(sel)
            row.update(
                count=n,
                count_main_commune=int((sel["commune"] == main).sum()),
                share_55_plus=_num((ages >= 55).mean(), 3) if ages.notna().any() else None,
                share_60_plus=_num((ages >= 60).mean(), 3) if ages.notna().any() else None,
                share_65_plus=_num((ages >= 65).mean(), 3) if ages.notna().any() else None,
                density_10k=_num(n / population * 10_000 if population else None),
                synthetic=bool(sel["synthetic"].any()),
            )
        else:
            row.update(
                count=None, count_main_commune=None, share_55_plus=None, share_60_plus=None,
                share_65_plus=None, density_10k=None, synthetic=False,
            )  # fmt: skip
        row.update(_reference_densities(key, dep, region))
        offer[key] = row
    # Pharmacies: the officines of FINESS (real), beside CartoSanté's density per bassin de vie.
    codes = list(communes.index)
    in_territory = Organization.objects.filter(category_code=FINESS_PHARMACY, commune_id__in=codes)
    n = in_territory.count()
    offer["pharmacie"] = {
        "label": "Pharmacies (officines)",
        "count": n,
        "count_main_commune": in_territory.filter(commune_id=main).count(),
        "share_55_plus": None,
        "share_60_plus": None,
        "share_65_plus": None,
        "density_10k": _num(n / population * 10_000 if population else None),
        "synthetic": False,
        "source": "FINESS (officines, catégorie 620)",
        **_reference_densities("pharmacie", dep, region),
    }
    return offer, any_synthetic


def _apl_mean(qs) -> dict[str, float | None]:
    rows = (
        qs.values("year")
        .annotate(num=Sum(F("apl") * F("pop_standardised")), den=Sum("pop_standardised"))
        .order_by("year")
    )
    return {str(r["year"]): _num(r["num"] / r["den"]) if r["den"] else None for r in rows}


def _apl(communes: pd.DataFrame, dep: str, region: str) -> dict:
    codes = list(communes.index)
    qs = AplValue.objects.filter(commune_id__in=codes)
    below: dict[str, dict] = {}
    per_commune: dict[str, dict[str, float]] = {}
    for year in sorted(set(qs.values_list("year", flat=True))):
        rows = list(qs.filter(year=year).values_list("commune_id", "apl", "pop_total"))
        for code, apl, _ in rows:
            per_commune.setdefault(code, {})[str(year)] = _num(apl, 3)
        low = [(c, p) for c, a, p in rows if a < APL_THRESHOLD]
        total = sum(p for _, _, p in rows)
        below[str(year)] = {
            "population": int(sum(p for _, p in low)),
            "share": _num(sum(p for _, p in low) / total if total else None, 3),
            "communes": len(low),
        }
    return {
        "apl_drees": _apl_mean(qs),
        "apl_drees_reference": {
            "departement": _apl_mean(AplValue.objects.filter(commune__departement_id=dep)),
            "region": _apl_mean(AplValue.objects.filter(commune__region_id=region)),
            "france": _apl_mean(AplValue.objects.all()),
        },
        "apl_below_2_5": below,
        "per_commune": per_commune,
    }


def _window(communes: pd.DataFrame, margin_deg: float) -> pd.DataFrame:
    """All communes with a centroid inside the territory's bounding box plus a margin."""
    lat_min, lat_max = communes["latitude"].min(), communes["latitude"].max()
    lon_min, lon_max = communes["longitude"].min(), communes["longitude"].max()
    qs = Commune.objects.filter(
        latitude__gte=lat_min - margin_deg,
        latitude__lte=lat_max + margin_deg,
        longitude__gte=lon_min - margin_deg * 1.5,
        longitude__lte=lon_max + margin_deg * 1.5,
    )
    return _communes_frame(qs)


def _accessibility(communes: pd.DataFrame, dep: str) -> dict:
    """Our E2SFCA for GPs (FTE per 10,000 standardised inhabitants), recomputable."""
    dep_communes = _communes_frame(
        Commune.objects.filter(departement_id=dep, latitude__isnull=False), allow_empty=True
    )
    located = communes.dropna(subset=["latitude"])
    label, profession, specialties = PROFESSION_GROUPS["medecin_generaliste"]
    if located.empty:  # no centroid (overseas): no travel times, so no accessibility index
        window = located
        gps = _roles_frame([])
    else:
        scope = pd.concat([located, dep_communes]).drop_duplicates("code")
        window = _window(scope, margin_deg=0.5)
        roles = _roles_frame(list(window.index))
        gps = roles[_group_mask(roles, profession, specialties)].dropna(subset=["latitude"])
    result = {
        "label": "Indice d'accessibilité maillage (E2SFCA)",
        "unit": "médecins généralistes (ETP) pour 10 000 habitants standardisés",
        "weights": " ; ".join(
            f"≤ {upper:g} min : {weight:.3g}".replace(".", ",")
            for upper, weight in DEFAULT_GP_WEIGHTS
        ),
        "travel_model": _travel_model_text(TravelModel()),
        "synthetic": bool(gps["synthetic"].any()) if len(gps) else False,
        "value": None,
        "departement": None,
        "per_commune": {},
    }
    if gps.empty:
        return result
    supply = gps.groupby("location_id")["fte"].sum()
    sites = gps.drop_duplicates("location_id").set_index("location_id")[["latitude", "longitude"]]
    sites.index = sites.index.astype(str)
    supply.index = supply.index.astype(str)
    apl = dict(
        AplValue.objects.filter(commune_id__in=list(window.index))
        .order_by("year")
        .values_list("commune_id", "pop_standardised")
    )
    demand = window["code"].map(apl).fillna(window["population"]).astype(float)
    origins = window.dropna(subset=["latitude"])[["latitude", "longitude"]]
    max_minutes = max(upper for upper, _ in DEFAULT_GP_WEIGHTS)
    costs = model_costs(origins, sites, max_minutes=max_minutes)
    access = e2sfca(demand.loc[origins.index], supply, costs, DEFAULT_GP_WEIGHTS) * 10_000
    inside = [c for c in communes.index if c in access.index]
    result["value"] = _num(weighted_mean(access.loc[inside], demand.loc[inside]))
    in_dep = [c for c in dep_communes.index if c in access.index]
    result["departement"] = _num(weighted_mean(access.loc[in_dep], demand.loc[in_dep]))
    result["per_commune"] = {c: _num(access.loc[c]) for c in inside}
    return result


def _travel_model_text(model: TravelModel) -> str:
    return (
        f"distance à vol d'oiseau × {model.detour_factor:g} à {model.speed_kmh:g} km/h "
        f"+ {model.intra_commune_minutes:g} min intra-communal"
    ).replace(".", ",")


def _access_times(communes: pd.DataFrame) -> tuple[list[dict], dict[str, dict[str, float]]]:
    origins = communes.dropna(subset=["latitude"])[["latitude", "longitude"]]
    population = communes["population"].astype(float)
    out: list[dict] = []
    per_commune: dict[str, dict[str, float]] = {c: {} for c in communes.index}
    if origins.empty:  # no centroid: no travel time can be estimated
        return out, per_commune
    lat_min, lat_max = origins["latitude"].min() - 1.0, origins["latitude"].max() + 1.0
    lon_min, lon_max = origins["longitude"].min() - 1.5, origins["longitude"].max() + 1.5
    targets: list[tuple[str, str, pd.DataFrame, bool]] = []
    for kind in ACCESS_KINDS:
        spec = FACILITY_KINDS[kind]
        orgs = Organization.objects.filter(
            category_code__in=list(spec["categories"]),
            latitude__gte=lat_min, latitude__lte=lat_max,
            longitude__gte=lon_min, longitude__lte=lon_max,
        )  # fmt: skip
        df = pd.DataFrame.from_records(orgs.values("id", "latitude", "longitude"))
        label = spec["label"] + (" (approximation)" if spec.get("approximate") else "")
        targets.append((kind, label, df, False))
    label, profession, specialties = PROFESSION_GROUPS["medecin_generaliste"]
    roles = _roles_frame(list(_window(communes.dropna(subset=["latitude"]), 1.0).index))
    gps = roles[_group_mask(roles, profession, specialties)].dropna(subset=["latitude"])
    gp_sites = gps.drop_duplicates("location_id").rename(columns={"location_id": "id"})
    if len(gp_sites):
        targets.append(("medecin_generaliste", label, gp_sites, bool(gps["synthetic"].any())))
    for key, label, df, synthetic in targets:
        if df.empty:
            continue
        dest = df.set_index(df["id"].astype(str))[["latitude", "longitude"]].dropna()
        costs = model_costs(origins, dest, max_minutes=120)
        minutes = costs.nearest().reindex(communes.index)
        beyond = population_beyond(minutes, population, BEYOND_THRESHOLDS)
        total = population.sum()
        reach = minutes.notna()
        mean = (
            float((minutes[reach] * population[reach]).sum() / population[reach].sum())
            if population[reach].sum()
            else None
        )
        out.append(
            {
                "key": key,
                "label": label,
                "mean_minutes": _num(mean, 1),
                "population_beyond": {str(t): int(round(beyond[t])) for t in BEYOND_THRESHOLDS},
                "share_beyond": {
                    str(t): _num(beyond[t] / total if total else None, 3) for t in BEYOND_THRESHOLDS
                },
                "synthetic": synthetic,
            }
        )
        for code, value in minutes.items():
            per_commune[code][key] = _num(value, 1)
    return out, per_commune


def _establishments(codes: list[str]) -> list[dict]:
    rows = (
        Organization.objects.filter(commune_id__in=codes, synthetic=False)
        .exclude(category_code="")
        .values("category_code", "category_label")
        .annotate(count=Count("id"))
        .order_by("-count", "category_label")
    )
    return [
        {"category_code": r["category_code"], "label": r["category_label"], "count": r["count"]}
        for r in rows
    ]


def _missing(communes: pd.DataFrame, f: dict, territory: Territory) -> list[str]:
    """What the data does not cover for this territory, said plainly (overseas communes have
    no shipped centroid or shape, collectivities no INSEE population, etc.)."""
    missing: list[str] = []
    total = len(communes)
    unlocated = int(communes["latitude"].isna().sum())
    if unlocated == total:
        missing.append(
            "Pas de coordonnées pour les communes de ce territoire : l'accessibilité "
            "(indice maillage E2SFCA) et les temps d'accès ne sont pas calculés."
        )
    elif unlocated:
        missing.append(
            f"{unlocated} communes sur {total} n'ont pas de coordonnées : elles sont exclues "
            "de l'accessibilité et des temps d'accès."
        )
    if not territory.communes.exclude(geometry__isnull=True).exists():
        missing.append(
            "Pas de contours communaux pour ce territoire : la carte des communes n'est pas "
            "disponible."
        )
    if not f["population"]:
        missing.append("Pas de population municipale INSEE pour les communes de ce territoire.")
    if not f["apl_drees"]:
        missing.append(
            "Pas d'APL DREES publiée pour les communes de ce territoire : l'accessibilité "
            "potentielle localisée n'est pas disponible."
        )
    if all(o["count"] is None or o["count"] == 0 for o in f["offer"].values()):
        missing.append(
            "Aucun professionnel de santé de l'annuaire n'exerce dans ce territoire : l'offre "
            "n'est pas décrite."
        )
    return missing


def _fr(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "n.d."
    text = f"{value:,.{digits}f}".replace(",", "\u202f").replace(".", ",")
    return text


def _synthesis(f: dict) -> list[str]:
    """Bullets written from the figures, as in the synthesis page of a CPTS diagnostic."""
    bullets = []
    main = f["main_commune"]
    share_main = main["population"] / f["population"] if f["population"] else 0
    bullets.append(
        f"Un territoire de {f['communes']} communes et {_fr(f['population'], 0)} habitants, "
        f"dont {_fr(100 * share_main, 0)} % à {main['name']}."
    )
    years = sorted(f["apl_drees"])
    if years:
        last = years[-1]
        apl = f["apl_drees"][last]
        ref = f["apl_drees_reference"]
        dep = ref["departement"].get(last)
        fra = ref["france"].get(last)
        comparison = (
            "inférieure" if apl is not None and fra is not None and apl < fra else "supérieure"
        )
        bullets.append(
            f"APL aux médecins généralistes {last} : {_fr(apl, 2)} consultations par habitant "
            f"standardisé et par an, {comparison} à la moyenne nationale ({_fr(fra, 2)} ; "
            f"département : {_fr(dep, 2)})."
        )
        below = f["apl_below_2_5"].get(last)
        if below:
            bullets.append(
                f"{_fr(below['population'], 0)} habitants "
                f"({_fr(100 * (below['share'] or 0), 0)} %) "
                f"vivent dans {below['communes']} communes où l'APL est inférieure à 2,5, "
                "le seuil des zones sous-denses."
            )
        if len(years) > 1 and f["apl_drees"][years[0]] is not None and apl is not None:
            delta = apl - f["apl_drees"][years[0]]
            trend = "en baisse" if delta < 0 else "en hausse"
            bullets.append(f"L'APL est {trend} de {_fr(abs(delta), 2)} entre {years[0]} et {last}.")
    gp = f["offer"].get("medecin_generaliste", {})
    if gp.get("count") is not None:
        tag = " (données synthétiques)" if gp.get("synthetic") else ""
        text = (
            f"{gp['count']} médecins généralistes{tag}, soit {_fr(gp['density_10k'])} pour "
            f"10 000 habitants (région : {_fr(gp.get('density_10k_region'))})"
        )
        if gp.get("share_60_plus") is not None:
            text += f" ; {_fr(100 * gp['share_60_plus'], 0)} % ont 60 ans ou plus"
        bullets.append(text + ".")
    for item in f["access_times"]:
        if item["key"] == "emergency" and item["population_beyond"].get("30"):
            bullets.append(
                f"{_fr(item['population_beyond']['30'], 0)} habitants sont à plus de 30 minutes "
                f"du centre hospitalier le plus proche (estimation, modèle de temps par défaut)."
            )
    return bullets


SOURCES = [
    {"label": "INSEE, Code officiel géographique 2026 et populations municipales",
     "detail": "via @etalab/decoupage-administratif 6.0.0 — Licence Ouverte 2.0"},
    {"label": "IGN ADMIN EXPRESS COG 2018 (contours simplifiés)",
     "detail": "via gregoiredavid/france-geojson, réaffectés au COG 2026 — Licence Ouverte"},
    {"label": "DREES, Accessibilité potentielle localisée (APL) aux généralistes 2022–2023",
     "detail": "moyennes pondérées par la population standardisée — Licence Ouverte 2.0"},
    {"label": "FINESS, extraction du 8 janvier 2021 (établissements géolocalisés)",
     "detail": "ministère de la Santé — Licence Ouverte"},
    {"label": "INSEE, statistiques locales 2024 (BPE) par département",
     "detail": "effectifs de médecins généralistes, infirmiers, chirurgiens-dentistes"},
    {"label": "CartoSanté 2024, indicateurs par bassin de vie",
     "detail": "densités de sages-femmes et d'orthophonistes (rattachement approché des communes)"},
    {"label": "Professionnels de santé de démonstration (synthétiques)",
     "detail": "générés par maillage, calibrés sur les agrégats ci-dessus — ne sont pas réels"},
]  # fmt: skip


def compute(territory: Territory) -> dict:
    """Every figure of the diagnostic of ``territory``, as a JSON-serialisable dict."""
    communes = _communes_frame(territory.communes.all())
    population = int(communes["population"].sum())
    main_code = str(communes["population"].idxmax())
    main = communes.loc[main_code]
    dep = str(main["departement_id"])
    region_code = str(main["region_id"])
    region = Region.objects.get(code=region_code)
    deps = communes.groupby("departement_id")["population"].sum().sort_values(ascending=False).index
    from maillage.territory.models import Departement

    dep_names = dict(Departement.objects.filter(code__in=list(deps)).values_list("code", "name"))
    offer, synthetic = _offer(communes, main_code, dep, region_code)
    apl = _apl(communes, dep, region_code)
    access = _accessibility(communes, dep)
    times, minutes = _access_times(communes)
    figures: dict = {
        "territory": {
            "slug": territory.slug,
            "name": territory.name,
            "kind": territory.kind,
            "kind_label": territory.get_kind_display(),
            "code": territory.code,
        },
        "generated_at": timezone.localtime().isoformat(timespec="seconds"),
        "maillage_version": maillage.__version__,
        "communes": len(communes),
        "population": population,
        "population_source": "INSEE, populations municipales (COG 2026)",
        "main_commune": {
            "code": main_code,
            "name": main["name"],
            "population": int(main["population"]),
        },
        "departements": [{"code": d, "name": dep_names.get(d, d)} for d in deps],
        "region": {"code": region.code, "name": region.name},
        "synthetic_practitioners": synthetic or access["synthetic"],
        "offer": offer,
        "apl_drees": apl["apl_drees"],
        "apl_drees_reference": apl["apl_drees_reference"],
        "apl_below_2_5": apl["apl_below_2_5"],
        "accessibility": {k: v for k, v in access.items() if k != "per_commune"},
        "access_times": times,
        "establishments": _establishments(list(communes.index)),
    }
    gp_counts = (
        _roles_frame(list(communes.index))
        .pipe(lambda r: r[_group_mask(r, "10", PROFESSION_GROUPS["medecin_generaliste"][2])])
        .drop_duplicates("practitioner_id")
        .groupby("commune")
        .size()
    )
    figures["commune_table"] = [
        {
            "code": code,
            "name": row["name"],
            "population": int(row["population"]),
            "apl": apl["per_commune"].get(code, {}),
            "accessibility": access["per_commune"].get(code),
            "gp_count": int(gp_counts.get(code, 0)),
            "minutes": minutes.get(code, {}),
        }
        for code, row in communes.sort_values("population", ascending=False).iterrows()
    ]
    figures["missing"] = _missing(communes, figures, territory)
    figures["synthesis"] = _synthesis(figures)
    figures["sources"] = SOURCES
    figures["warnings"] = (
        [
            "Les professionnels de santé de ce rapport sont synthétiques (données de "
            "démonstration générées et calibrées sur des agrégats réels). Populations, "
            "établissements FINESS et APL DREES sont réels."
        ]
        if figures["synthetic_practitioners"]
        else []
    )
    return figures
