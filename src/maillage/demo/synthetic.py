"""Deterministic synthetic practitioners for demonstrations, calibrated on real aggregates.

No open list of individual practitioners could be obtained (the RPPS and ameli extracts are not
reachable offline), so the demo generates one. Every record is flagged ``synthetic=True`` and every
page and report built on them says so. What is real and what is invented:

* **Real, used as calibration**: INSEE 2024 counts per département (médecins généralistes,
  infirmiers, chirurgiens-dentistes), CartoSanté 2024 densities per bassin de vie (généralistes,
  infirmiers, sages-femmes, orthophonistes), COG populations, FINESS 2021 places (maisons de santé,
  centres de santé, pharmacies) and the age structure reported in the seeds (CPTS Saint-Dizier
  project, 2019: 45 % of GPs aged 60+; Centre-Sud Haute-Marne diagnostic, 2021: 58 % aged 55+).
* **Invented**: the people, their names, ages, exact places, working time, whether they accept
  new patients, and what a caller needs (:func:`_contact_details`): each practice place gets
  * an address: a street that really exists in its commune, taken from the FINESS addresses of
    that commune (shipped open data; no national address base is shipped), without a house
    number, so that no real door is designated; the commune and postal code only where FINESS
    has no street there. A place inside a real MSP or centre de santé keeps that structure's
    FINESS address;
  * a phone number that cannot reach anyone: ARCEP reserves six blocks of 10,000 numbers for
    works of fiction (plan national de numérotation, annexe 1 of ARCEP decision n° 2018-0881 as
    amended, « Numéros pour œuvres audiovisuelles »: 01 99 00 xx xx, 02 61 91 xx xx,
    03 53 01 xx xx, 04 65 71 xx xx, 05 36 49 xx xx, 06 39 98 xx xx; :data:`FICTION_BLOCKS`).
    Practices get the north-east block 03 53 01 (a geographic number: the ``phonenumbers``
    checks of the professional's form accept it, where they refuse 06 39 98);
  * weekly opening hours of the usual shape for the profession (:data:`WEEKLY_HOURS`; no open
    data gives practices' hours, so these are plausible, not calibrated);
  * teleconsultation for general practitioners in the proportion DREES reports: half of GPs
    intend to keep teleconsulting after the epidemic (DREES, Études et résultats n° 1249,
    December 2022; 77 % had done at least one by early 2022). No open figure exists for the
    other professions, so none of them is flagged.

Method, per département and profession: the target count is the INSEE count when there is one,
else the sum over bassins de vie of density × population / 10,000. Communes are attached to the
nearest bassin-de-vie main commune (an approximation: the official commune → bassin de vie table
is not shipped). Practitioners are spread over bassins de vie in proportion to CartoSanté density ×
population, then over the communes of a bassin that have a practice anchor (MSP, centre de santé,
pharmacy or the main commune) in proportion to population. Masseurs-kinésithérapeutes, with no
open aggregate here, follow the density the CPTS Saint-Dizier project reports (seed 003), in
Haute-Marne only; specialists are not generated: reports show "n.d." rather than made-up figures.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import time

import numpy as np
import pandas as pd
from django.db import transaction
from simple_history.utils import bulk_create_with_history

from maillage.directory.models import (
    Location,
    OpeningHours,
    Organization,
    Practitioner,
    PractitionerRole,
    Source,
)
from maillage.imports import ImportReport
from maillage.observatory.bassins import assign_bassins as _assign_bassins
from maillage.observatory.models import BassinVieIndicator, DepartementStat
from maillage.opendata.cartosante import PER_10K_FACTOR
from maillage.territory.models import Commune

REFERENCE_YEAR = 2026
DEFAULT_SEED = 20261122

FINESS_MSP = "603"
FINESS_CENTRE_SANTE = "124"
FINESS_PHARMACY = "620"

#: The blocks of numbers ARCEP reserves for works of fiction ("Numéros pour œuvres
#: audiovisuelles", plan national de numérotation, annexe 1 of decision n° 2018-0881 as amended):
#: never assigned to a subscriber, they can neither call nor be called. Each holds 10,000
#: numbers, ``<block> xx xx``.
FICTION_BLOCKS = ("019900", "026191", "035301", "046571", "053649", "063998")
LANDLINE_BLOCK = "035301"  # the north-east (03) block: Grand Est, Bourgogne-Franche-Comté
#: Share of general practitioners offering teleconsultation: DREES, Études et résultats n° 1249
#: (December 2022): 77 % had done at least one by early 2022, half intend to go on.
GP_TELECONSULTATION_SHARE = 0.5

#: The usual week of a practice, per profession: (days, opens, closes) slots, days 0 = lundi;
#: ``optional`` slots are kept for part of the places (a Saturday morning, a late evening),
#: ``day_off`` closes one weekday afternoon for part of them. Invented: no open data gives the
#: hours of practices.
WEEKLY_HOURS: dict[str, dict] = {
    "medecin_generaliste": {
        "slots": [((0, 1, 2, 3, 4), "08:30", "12:30"), ((0, 1, 2, 3, 4), "14:00", "19:00")],
        "optional": [((5,), "09:00", "12:00")],
        "day_off": (2, 3),
    },
    "infirmier": {  # permanences at the cabinet; the rest of the day is spent at patients' homes
        "slots": [((0, 1, 2, 3, 4, 5), "07:30", "09:00"), ((0, 1, 2, 3, 4), "17:30", "18:30")],
        "optional": [((6,), "08:00", "09:00")],
        "day_off": (),
    },
    "chirurgien_dentiste": {
        "slots": [((0, 1, 2, 3, 4), "09:00", "12:00"), ((0, 1, 2, 3, 4), "14:00", "18:30")],
        "optional": [((5,), "09:00", "12:00")],
        "day_off": (2, 3),
    },
    "sage_femme": {
        "slots": [((0, 1, 2, 3, 4), "09:00", "12:00"), ((0, 1, 2, 3, 4), "14:00", "18:00")],
        "optional": [],
        "day_off": (2, 4),
    },
    "orthophoniste": {
        "slots": [((0, 1, 2, 3, 4), "09:00", "12:00"), ((0, 1, 2, 3, 4), "13:30", "19:00")],
        "optional": [((5,), "09:00", "12:00")],
        "day_off": (2,),
    },
    "masseur_kinesitherapeute": {
        "slots": [((0, 1, 2, 3, 4), "08:00", "12:00"), ((0, 1, 2, 3, 4), "14:00", "19:30")],
        "optional": [((5,), "08:30", "12:00")],
        "day_off": (),
    },
}


@dataclass(frozen=True)
class ProfessionSpec:
    key: str
    profession_code: str
    specialty_code: str
    insee_count: str | None  # column of the INSEE département statistics
    bv_density: str | None  # CartoSanté column (per 10,000 inhabitants)
    share_55: float
    share_60: float
    share_65: float
    msp_share: float  # share of those in a commune with an MSP/centre de santé who work there
    # when no open aggregate exists: a density per 10,000 inhabitants reported by a seed, and
    # the départements it may stand for (it is not extrapolated beyond them)
    seed_density: float | None = None
    departements: tuple[str, ...] | None = None


# Age shares: GPs from the seeds (58 % 55+, 45 % 60+; 65+ assumed 20 %); other professions from
# the CPTS Saint-Dizier offer table (seed 003, 2019: IDEL < 1 % 60+ and 14 % 55+, dentists 24 %
# 60+ and 33 % 55+, sages-femmes 33 %, orthophonistes 40 % 60+).
PROFESSIONS = (
    ProfessionSpec("medecin_generaliste", "10", "SM54", "gp_count_2024", "gp_density_2024",
                   0.58, 0.45, 0.20, 0.6),
    ProfessionSpec("infirmier", "60", "", "nurse_count_2024", "nurse_density_2024",
                   0.14, 0.03, 0.005, 0.2),
    ProfessionSpec("chirurgien_dentiste", "40", "", "dentist_count_2024", None,
                   0.33, 0.24, 0.08, 0.3),
    ProfessionSpec("sage_femme", "50", "", None, "midwife_density_2024",
                   0.34, 0.33, 0.10, 0.5),
    ProfessionSpec("orthophoniste", "91", "", None, "speech_therapist_density_2024",
                   0.45, 0.40, 0.15, 0.3),
    # No open count of masseurs-kinésithérapeutes here: the CPTS Saint-Dizier project (seed 003,
    # offer table of July 2019) reports 28 in the CA Saint-Dizier Der & Blaise, 18 of them in
    # Saint-Dizier, 4.4 per 10,000 inhabitants (Grand Est: 9.1), 8 % aged 60+ and 21.9 % 55+.
    # That local density is applied to Haute-Marne only; the kinés are synthetic like the rest.
    ProfessionSpec("masseur_kinesitherapeute", "70", "", None, None,
                   0.22, 0.08, 0.02, 0.3, seed_density=4.4, departements=("52",)),
)  # fmt: skip

SURNAMES = (
    "Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel "
    "Lefebvre Leroy Roux David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine "
    "Rousseau Vincent Muller Lefevre Faure Andre Mercier Blanc Guerin Boyer Garnier Chevalier "
    "Francois Legrand Gauthier Garcia Perrin Robin Clement Morin Nicolas Henry Roussel Mathieu "
    "Gautier Masson Marchand Duval Denis Dumont Marie Lemaire Noel Meyer Dufour Meunier Brun "
    "Blanchard Giraud Joly Riviere Lucas Brunet Gaillard Barbier Arnaud Martinez Gerard Roche "
    "Renard Schmitt Roy Leroux Colin Vidal Caron Picard Roger Fabre Aubert Lemoine Renaud Dumas"
).split()
GIVEN_F = (
    "Marie Nathalie Isabelle Sylvie Catherine Sandrine Valérie Christine Céline Stéphanie Sophie "
    "Aurélie Julie Camille Émilie Claire Anne Hélène Laure Pauline Léa Manon Chloé Sarah Lucie"
).split()
GIVEN_M = (
    "Jean Philippe Michel Alain Patrick Nicolas Christophe Pierre Laurent Frédéric Éric Olivier "
    "David Julien Thomas Sébastien Vincent Antoine Mathieu Guillaume Hugo Louis Paul Lucas Marc"
).split()


def _rng(seed: int, departement: str, key: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(f"{departement}/{key}".encode())])


def _ages(rng: np.random.Generator, spec: ProfessionSpec, n: int) -> np.ndarray:
    bands = [(28, 55), (55, 60), (60, 65), (65, 72)]
    p = np.array(
        [1 - spec.share_55, spec.share_55 - spec.share_60, spec.share_60 - spec.share_65,
         spec.share_65]
    )  # fmt: skip
    band = rng.choice(len(bands), size=n, p=p / p.sum())
    low = np.array([bands[b][0] for b in band])
    high = np.array([bands[b][1] for b in band])
    return np.floor(low + rng.random(n) * (high - low)).astype(int)


def _communes_frame(departements: list[str]) -> pd.DataFrame:
    rows = Commune.objects.filter(latitude__isnull=False).values(
        "code", "departement_id", "population", "latitude", "longitude", "postal_codes"
    )
    df = pd.DataFrame.from_records(rows)
    return df


def generate(departements: list[str], seed: int = DEFAULT_SEED) -> ImportReport:
    """(Re)generate the synthetic practitioners of ``departements``; same seed, same result."""
    import time

    start = time.perf_counter()
    report = ImportReport("synthetic")
    communes = _communes_frame(departements)
    bassin = _assign_bassins(communes)
    communes["bv"] = communes["code"].map(bassin)
    bv_values = {b.bv_code: b.values for b in BassinVieIndicator.objects.all()}
    stats = {s.departement_id: s.values for s in DepartementStat.objects.all()}
    anchors = pd.DataFrame.from_records(
        Organization.objects.filter(
            category_code__in=[FINESS_MSP, FINESS_CENTRE_SANTE, FINESS_PHARMACY],
            commune__departement_id__in=departements,
            latitude__isnull=False,
        ).values(
            "id",
            "name",
            "category_code",
            "commune_id",
            "latitude",
            "longitude",
            "address",
            "postal_code",
        )
    )
    with transaction.atomic():
        PractitionerRole.objects.filter(
            synthetic=True, location__commune__departement_id__in=departements
        ).delete()
        # The generated weekly hours go first, without a history row each: they are rebuilt
        # below, and a deletion record for each of ~17,000 slots cost 35 s (the places' own
        # deletion is still recorded).
        hours = OpeningHours.objects.filter(
            location__synthetic=True, location__commune__departement_id__in=departements
        )
        hours._raw_delete(hours.db)
        Location.objects.filter(synthetic=True, commune__departement_id__in=departements).delete()
        Practitioner.objects.filter(synthetic=True, roles__isnull=True).delete()
        streets = _streets(departements)
        # numbers already given to the places of other départements (generated earlier)
        phones = set(
            Location.objects.filter(synthetic=True)
            .exclude(phone="")
            .values_list("phone", flat=True)
        )
        total = 0
        for dep in departements:
            local = communes[communes["departement_id"] == dep].copy()
            if local.empty:
                continue
            dep_anchors = (
                anchors[anchors["commune_id"].isin(set(local["code"]))] if len(anchors) else anchors
            )
            places = _Places(local, dep_anchors, streets, phones)
            for spec in PROFESSIONS:
                if spec.departements is not None and dep not in spec.departements:
                    continue
                total += _generate_profession(
                    spec, dep, local, bv_values, stats.get(dep, {}), dep_anchors, seed, places
                )
        Practitioner.objects.filter(synthetic=True, roles__isnull=True).delete()
    report.counts["professionnels synthétiques"] = total
    report.seconds = time.perf_counter() - start
    return report


def _target_count(spec, local, bv_values, dep_stats) -> tuple[int, np.ndarray]:
    pop = local["population"].to_numpy(float)
    if spec.bv_density:
        dens = np.array(
            [(bv_values.get(b) or {}).get(spec.bv_density) for b in local["bv"]], dtype=float
        ) * PER_10K_FACTOR.get(spec.bv_density, 1.0)
        fallback = np.nanmean(dens) if np.isfinite(dens).any() else 1.0
        dens = np.where(np.isfinite(dens), dens, fallback)
    elif spec.seed_density is not None:
        dens = np.full(len(local), spec.seed_density)
    else:
        dens = np.ones(len(local))
    weights = dens * pop / 10_000
    if spec.insee_count and dep_stats.get(spec.insee_count) is not None:
        target = int(dep_stats[spec.insee_count])
    else:
        target = int(round(weights.sum()))
    return target, weights


class _Places:
    """The practice anchors of each commune of a département and the communes' centroids, as
    plain lists and dicts: placing a practitioner is a lookup, not a DataFrame filter (the
    filters cost ~20 ms each, 7,000 times)."""

    def __init__(
        self,
        local: pd.DataFrame,
        anchors: pd.DataFrame,
        streets: dict[str, list[str]] | None = None,
        phones: set[str] | None = None,
    ) -> None:
        self.streets = streets or {}
        self.phones = phones if phones is not None else set()
        self.postal = {
            code: (re.findall(r"\d{5}", text or "") or [""])[0]
            for code, text in zip(local["code"], local["postal_codes"], strict=True)
        }
        self.centroid = {
            code: (lat, lon)
            for code, lat, lon in zip(
                local["code"], local["latitude"], local["longitude"], strict=True
            )
        }
        self.groups: dict[str, list[dict]] = {}  # MSP and centres de santé, in anchors order
        self.pharmacies: dict[str, list[dict]] = {}
        for org in anchors.to_dict("records") if len(anchors) else []:
            if org["category_code"] in (FINESS_MSP, FINESS_CENTRE_SANTE):
                self.groups.setdefault(org["commune_id"], []).append(org)
            elif org["category_code"] == FINESS_PHARMACY:
                self.pharmacies.setdefault(org["commune_id"], []).append(org)
        self.new_locations: list[Location] = []


def _generate_profession(spec, dep, local, bv_values, dep_stats, anchors, seed, places) -> int:
    rng = _rng(seed, dep, spec.key)
    target, weights = _target_count(spec, local, bv_values, dep_stats)
    if target <= 0 or weights.sum() <= 0:
        return 0
    # bassin-level allocation, then communes with a practice anchor inside each bassin
    local = local.assign(w=weights)
    bv_weight = local.groupby("bv")["w"].sum()
    per_bv = rng.multinomial(target, (bv_weight / bv_weight.sum()).to_numpy())
    anchor_communes = set(anchors["commune_id"]) if len(anchors) else set()
    codes: list[str] = []
    for bv, n in zip(bv_weight.index, per_bv, strict=True):
        if n == 0:
            continue
        members = local[local["bv"] == bv]
        eligible = members[members["code"].isin(anchor_communes) | (members["code"] == bv)]
        if eligible.empty:
            eligible = members.nlargest(1, "population")
        p = eligible["population"].to_numpy(float) + 1
        picks = rng.choice(eligible["code"].to_numpy(), size=n, p=p / p.sum())
        codes.extend(picks.tolist())
    ages = _ages(rng, spec, len(codes))
    people = []
    roles = []
    for i in range(len(codes)):
        female = rng.random() < 0.55
        given = (GIVEN_F if female else GIVEN_M)[rng.integers(len(GIVEN_F))]
        people.append(
            Practitioner(
                family_name=SURNAMES[rng.integers(len(SURNAMES))].upper(),
                given_name=given,
                gender="female" if female else "male",
                birth_year=REFERENCE_YEAR - int(ages[i]),
                source=Source.SYNTHETIC,
                synthetic=True,
            )
        )
    Practitioner.objects.bulk_create(people)
    cache: dict[tuple[str, str], Location] = {}
    for person, code, age in zip(people, codes, ages, strict=True):
        location, org_id = _place(spec, code, places, rng, cache)
        fte = 0.7 if age >= 65 else float(rng.choice([1.0, 1.0, 1.0, 0.8]))
        roles.append(
            PractitionerRole(
                practitioner=person,
                organization_id=org_id,
                location=location,
                profession_code=spec.profession_code,
                specialty_code=spec.specialty_code,
                mode_code="L",
                fte=fte,
                accepts_new_patients=bool(rng.random() < 0.2),
                source=Source.SYNTHETIC,
                synthetic=True,
            )
        )
    # What a caller needs, from a stream of its own: the people and places above stay the ones
    # the seed always gave.
    contact = _rng(seed, dep, f"{spec.key}/contact")
    slots = _contact_details(spec, dep, places, contact)
    if spec.key == "medecin_generaliste":
        for role in roles:
            role.teleconsultation = bool(contact.random() < GP_TELECONSULTATION_SHARE)
    # the new places in the order they were first used (the ids they always had), with history
    bulk_create_with_history(places.new_locations, Location, batch_size=500)
    # Generated slots get no history row each (their place has its own): 17,000 rows of
    # history cost 1.3 s of the first start for nothing a reader of a history page needs.
    OpeningHours.objects.bulk_create(
        [
            OpeningHours(location=location, weekday=day, opens=opens, closes=closes)
            for location, day, opens, closes in slots
        ],
        batch_size=2000,
    )
    places.new_locations.clear()
    PractitionerRole.objects.bulk_create(roles)
    return len(people)


#: FINESS abbreviations of street types, and the word a page shows.
STREET_TYPES = {
    "R": "rue", "RUE": "rue", "AV": "avenue", "AVE": "avenue", "AVENUE": "avenue",
    "BD": "boulevard", "PL": "place", "PLACE": "place", "RTE": "route", "ROUTE": "route",
    "CHE": "chemin", "CHEM": "chemin", "ALL": "allée", "IMP": "impasse", "QU": "quai",
    "QUAI": "quai", "CRS": "cours", "FG": "faubourg", "SQ": "square", "PROM": "promenade",
    "PASS": "passage", "ESP": "esplanade", "SENT": "sentier",
}  # fmt: skip
_LOWER_WORDS = {"de", "du", "des", "la", "le", "les", "et", "sur", "sous", "en", "aux", "au"}


def street_name(finess_address: str) -> str:
    """The street of a FINESS address, without its number and in ordinary case:
    "34 R DE LA PITIE | BP 12" → "Rue de la Pitie"; "" when it names no street (a lieu-dit,
    a "BP", a building)."""
    first = (finess_address or "").split("|")[0].strip().upper()
    words = first.replace(",", " ").split()
    while words and (words[0].isdigit() or words[0] in ("BIS", "TER", "B")):
        words = words[1:]
    if len(words) < 2 or words[0] not in STREET_TYPES:
        return ""
    out = [STREET_TYPES[words[0]].capitalize()]
    for word in words[1:]:
        lower = word.lower()
        if lower in _LOWER_WORDS:
            out.append(lower)
        elif "'" in lower:  # D'ARC → d'Arc, L'EGLISE → l'Eglise
            head, _, tail = lower.partition("'")
            out.append(f"{head}'{tail.capitalize()}" if len(head) == 1 else lower.capitalize())
        else:
            out.append("-".join(part.capitalize() for part in lower.split("-")))
    return " ".join(out)


def _streets(departements: list[str]) -> dict[str, list[str]]:
    """The streets of each commune that FINESS addresses name (sorted, for determinism)."""
    found: dict[str, set[str]] = {}
    rows = Organization.objects.filter(
        commune__departement_id__in=departements, source=Source.FINESS
    ).values_list("commune_id", "address")
    for commune, address in rows:
        street = street_name(address)
        if street:
            found.setdefault(commune, set()).add(street)
    return {commune: sorted(names) for commune, names in found.items()}


def fiction_number(block: str, key: str, used: set[str]) -> str:
    """A number of ``block`` (one of :data:`FICTION_BLOCKS`) picked from ``key`` and not in
    ``used`` (it is added): "03 53 01 47 12". The next block takes over when one is full."""
    start = zlib.crc32(key.encode()) % 10_000
    blocks = (block, *(b for b in FICTION_BLOCKS if b != block))
    for candidate_block in blocks:
        for step in range(10_000):
            digits = f"{candidate_block}{(start + step) % 10_000:04d}"
            number = " ".join(digits[i : i + 2] for i in range(0, 10, 2))
            if number not in used:
                used.add(number)
                return number
    raise RuntimeError("plus aucun numéro de fiction libre")  # 60,000 places: never here


def _week(spec: ProfessionSpec, rng: np.random.Generator) -> list[tuple[int, time, time]]:
    pattern = WEEKLY_HOURS[spec.key]
    slots = list(pattern["slots"])
    slots += [s for s in pattern["optional"] if rng.random() < 0.4]
    day_off = int(rng.choice(pattern["day_off"])) if pattern["day_off"] else None
    off = day_off is not None and rng.random() < 0.5
    week = []
    for days, opens, closes in slots:
        a, b = time.fromisoformat(opens), time.fromisoformat(closes)
        for day in days:
            if off and day == day_off and a >= time(12):
                continue  # the weekly afternoon off
            week.append((day, a, b))
    return week


def _contact_details(
    spec: ProfessionSpec, dep: str, places: _Places, rng: np.random.Generator
) -> list[tuple[Location, int, time, time]]:
    """Give the new places of one profession an address, a fiction phone number and weekly
    hours (the slots are returned: they are written once the places have ids)."""
    slots = []
    block = LANDLINE_BLOCK
    for location in places.new_locations:
        if location.organization_id is None:  # an own practice: a real street, no number
            streets = places.streets.get(location.commune_id, [])
            location.address = streets[int(rng.integers(len(streets)))] if streets else ""
        location.postal_code = location.postal_code or places.postal.get(location.commune_id, "")
        location.phone = fiction_number(
            block, f"{dep}/{spec.key}/{location.commune_id}/{location.name}", places.phones
        )
        slots += [(location, day, a, b) for day, a, b in _week(spec, rng)]
    return slots


def _place(spec, code, places: _Places, rng, cache) -> tuple[Location, int | None]:
    groups = places.groups.get(code, [])
    if groups:
        # Dental centres (centres de santé dentaires) host dentists only, and dentists work there
        # or in their own practice, not in an MSP's medical team.
        dentist = spec.key == "chirurgien_dentiste"
        groups = [g for g in groups if ("DENTAIRE" in g["name"].upper()) == dentist]
    if groups and rng.random() < spec.msp_share:
        org = groups[int(rng.integers(len(groups)))]
        key = ("org", str(org["id"]))
        if key not in cache:
            cache[key] = _new_location(
                places,
                name=f"{org['name']}".title(),
                organization_id=int(org["id"]),
                address=org["address"] or "",
                postal_code=org["postal_code"] or "",
                commune_id=code,
                latitude=float(org["latitude"]),
                longitude=float(org["longitude"]),
            )
        return cache[key], int(org["id"])
    key = ("cabinet", f"{code}/{spec.key}")
    if key not in cache:
        pharmacies = places.pharmacies.get(code, [])
        if pharmacies:
            ph = pharmacies[int(rng.integers(len(pharmacies)))]
            lat, lon = float(ph["latitude"]), float(ph["longitude"])
        else:
            lat, lon = (float(v) for v in places.centroid[code])
        lat += float(rng.normal(0, 0.001))  # ~100 m: near, not on, the real place
        lon += float(rng.normal(0, 0.0015))
        label = {
            "medecin_generaliste": "Cabinet médical",
            "infirmier": "Cabinet infirmier",
            "chirurgien_dentiste": "Cabinet dentaire",
            "sage_femme": "Cabinet de sage-femme",
            "orthophoniste": "Cabinet d'orthophonie",
            "masseur_kinesitherapeute": "Cabinet de kinésithérapie",
        }[spec.key]
        cache[key] = _new_location(
            places,
            name=f"{label} (synthétique)",
            commune_id=code,
            latitude=lat,
            longitude=lon,
        )
    return cache[key], None


def _new_location(places: _Places, **fields) -> Location:
    location = Location(source=Source.SYNTHETIC, synthetic=True, **fields)
    places.new_locations.append(location)
    return location
