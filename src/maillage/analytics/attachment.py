"""Patients without a médecin traitant: their priority, and who among the GPs takes whom.

Pure computation (no Django), used by :mod:`maillage.care.attachment`:

- :func:`score` adds the points of the criteria a request meets, with weights given as data
  (the app's ``data/priority.yaml``, which the CPTS edits through the app), and returns the
  total *and* its explanation, one ``(criterion, label, points)`` line per criterion that
  counted: a priority is never shown without why;
- :func:`match` assigns waiting people to GPs as one optimal assignment: a 0/1 linear program
  solved by HiGHS (:func:`scipy.optimize.linprog`), each GP's capacity and the communes, radius
  and age groups they accept as constraints, maximising the sum over the people placed of
  ``placement_points + priority - points_per_km × distance``. Its constraint matrix is that of a
  bipartite b-matching (totally unimodular), so the simplex's basic optimum of the relaxation is
  already 0/1 (checked on every run; :func:`scipy.optimize.milp` with integrality if ever not);
  a greedy loop ("most urgent first, nearest GP") can place
  fewer or more distant people, which the tests show on a small case.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: The criteria the CPTS weighs, in the order explanations list them. ``per`` criteria count
#: points per unit (month, teleconsultation) up to a cap; the others are yes/no.
CRITERIA: tuple[str, ...] = (
    "ald",
    "age_70",
    "pregnancy",
    "disability",
    "c2s",
    "hospital_discharge",
    "chronic_renewal",
    "months_without_gp",
    "teleconsultations",
)
COUNTED = ("months_without_gp", "teleconsultations")

#: Age groups a GP may accept: (first age, last age or None), in whole years.
AGE_GROUPS: dict[str, tuple[int, int | None]] = {
    "child": (0, 17),
    "adult": (18, 69),
    "senior": (70, None),
}
AGE_GROUP_LABELS = {"child": "moins de 18 ans", "adult": "18 à 69 ans", "senior": "70 ans et plus"}


class WeightsError(ValueError):
    """The weights' data makes no sense; the message is a French sentence."""


@dataclass(frozen=True)
class Weight:
    criterion: str
    label: str
    points: int
    cap: int | None = None  # for counted criteria: the most units that count


@dataclass(frozen=True)
class Weights:
    criteria: tuple[Weight, ...]
    placement_points: float = 100.0  # what placing someone is worth, before priority and distance
    points_per_km: float = 1.0  # how many priority points one km of distance costs

    def of(self, criterion: str) -> Weight:
        for weight in self.criteria:
            if weight.criterion == criterion:
                return weight
        raise KeyError(criterion)

    def as_mapping(self) -> dict[str, Any]:
        """The data :func:`weights_from_mapping` reads (to save an edited copy)."""
        criteria: dict[str, Any] = {}
        for w in self.criteria:
            entry: dict[str, Any] = {"label": w.label, "points": w.points}
            if w.cap is not None:
                entry["cap"] = w.cap
            criteria[w.criterion] = entry
        return {
            "criteria": criteria,
            "matching": {
                "placement_points": self.placement_points,
                "points_per_km": self.points_per_km,
            },
        }


def _number(value: Any, where: str, minimum: float = 0, maximum: float = 1000) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise WeightsError(f"{where} : un nombre est attendu, pas « {value} ».")
    if not minimum <= value <= maximum:
        raise WeightsError(f"{where} : {value} n'est pas entre {minimum:g} et {maximum:g}.")
    return value


def weights_from_mapping(data: Mapping[str, Any]) -> Weights:
    """Weights from their data (the parsed YAML): every criterion of :data:`CRITERIA` with a
    label and whole points from 0 to 1000, a cap (1 to 120) for the counted ones; the matching's
    ``placement_points`` and ``points_per_km``. WeightsError in French otherwise."""
    if not isinstance(data, Mapping) or not isinstance(data.get("criteria"), Mapping):
        raise WeightsError("Les pondérations doivent avoir une section « criteria ».")
    given = data["criteria"]
    unknown = set(given) - set(CRITERIA)
    if unknown:
        raise WeightsError(f"Critère inconnu : {', '.join(sorted(map(str, unknown)))}.")
    weights = []
    for criterion in CRITERIA:
        entry = given.get(criterion)
        if not isinstance(entry, Mapping):
            raise WeightsError(f"Le critère « {criterion} » manque.")
        label = str(entry.get("label") or "").strip()
        if not label:
            raise WeightsError(f"Le critère « {criterion} » n'a pas de libellé.")
        points = _number(entry.get("points"), f"Points de « {label} »")
        if points != int(points):
            raise WeightsError(f"Points de « {label} » : un nombre entier est attendu.")
        cap = None
        if criterion in COUNTED:
            cap = int(_number(entry.get("cap"), f"Plafond de « {label} »", 1, 120))
        weights.append(Weight(criterion, label, int(points), cap))
    matching = data.get("matching") or {}
    if not isinstance(matching, Mapping):
        raise WeightsError("La section « matching » doit associer des noms à des nombres.")
    return Weights(
        criteria=tuple(weights),
        placement_points=float(
            _number(matching.get("placement_points", 100), "Points d'une mise en relation", 1)
        ),
        points_per_km=float(
            _number(matching.get("points_per_km", 1), "Points par kilomètre", 0, 100)
        ),
    )


# --- priority ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answers:
    """What a request says, as simple answers (None: not answered, counts as no)."""

    ald: bool = False
    age: int | None = None
    pregnancy: bool = False
    disability: bool = False
    c2s: bool = False
    hospital_discharge: bool = False
    chronic_renewal: bool = False
    months_without_gp: int = 0
    teleconsultations: int = 0

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Answers:
        def count(name: str) -> int:
            value = data.get(name) or 0
            return max(0, int(value))

        age = data.get("age")
        return cls(
            ald=bool(data.get("ald")),
            age=None if age is None else int(age),
            pregnancy=bool(data.get("pregnancy")),
            disability=bool(data.get("disability")),
            c2s=bool(data.get("c2s")),
            hospital_discharge=bool(data.get("hospital_discharge")),
            chronic_renewal=bool(data.get("chronic_renewal")),
            months_without_gp=count("months_without_gp"),
            teleconsultations=count("teleconsultations"),
        )


@dataclass(frozen=True)
class Score:
    total: int
    explanation: tuple[tuple[str, str, int], ...]  # (criterion, label, points), those that count

    def lines(self) -> list[str]:
        return [f"{label} : +{points}" for _, label, points in self.explanation]


def _units(answers: Answers, criterion: str) -> int:
    if criterion == "age_70":
        return int(answers.age is not None and answers.age >= 70)
    value = getattr(answers, criterion)
    return int(value) if criterion in COUNTED else int(bool(value))


def score(answers: Answers, weights: Weights) -> Score:
    """The priority of ``answers``: the sum of each criterion's points (counted criteria: points
    per unit, up to their cap), and the lines of its explanation (criteria worth 0 left out)."""
    lines = []
    for weight in weights.criteria:
        units = _units(answers, weight.criterion)
        if weight.cap is not None:
            units = min(units, weight.cap)
        points = units * weight.points
        if points:
            label = weight.label
            if weight.criterion in COUNTED:
                label = f"{label} ({units})"
            lines.append((weight.criterion, label, points))
    return Score(sum(p for _, _, p in lines), tuple(lines))


# --- matching ---------------------------------------------------------------------------------


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (latitude, longitude) points, in km."""
    lat1, lon1 = map(math.radians, a)
    lat2, lon2 = map(math.radians, b)
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))


def age_group(age: int) -> str:
    for name, (first, last) in AGE_GROUPS.items():
        if age >= first and (last is None or age <= last):
            return name
    raise ValueError(f"âge invalide : {age}")


@dataclass(frozen=True)
class Seeker:
    """A waiting person, as the matching sees them: no name, an id, a priority, where they
    live (commune code and its coordinates) and their age."""

    id: int
    priority: int
    commune: str
    point: tuple[float, float]
    age: int


@dataclass(frozen=True)
class Gp:
    """A GP with room: ``capacity`` new patients (this month, what is left), where they
    practise, the communes they serve and/or a radius, the age groups they accept."""

    id: int
    capacity: int
    point: tuple[float, float]
    communes: frozenset[str] = frozenset()
    radius_km: float | None = None
    age_groups: frozenset[str] = frozenset(AGE_GROUPS)


@dataclass(frozen=True)
class Assignment:
    seeker: int
    gp: int
    priority: int
    distance_km: float
    reasons: tuple[str, ...]


@dataclass
class Matching:
    assignments: list[Assignment]
    objective: float
    unplaced: list[int] = field(default_factory=list)  # seekers no GP could take
    eligible_pairs: int = 0


def eligible(seeker: Seeker, gp: Gp, distance: float | None = None) -> bool:
    """Whether ``gp`` may take ``seeker``: an age group they accept, and the seeker's commune
    among those served or the distance within the radius."""
    if age_group(seeker.age) not in gp.age_groups:
        return False
    if seeker.commune in gp.communes:
        return True
    if gp.radius_km is None:
        return False
    d = distance_km(seeker.point, gp.point) if distance is None else distance
    return d <= gp.radius_km


def gain(seeker: Seeker, distance: float, weights: Weights) -> float:
    """What placing ``seeker`` at ``distance`` km is worth in the objective."""
    return weights.placement_points + seeker.priority - weights.points_per_km * distance


def _pairs(seekers: Sequence[Seeker], gps: Sequence[Gp], weights: Weights) -> Any:
    """(seeker indices, gp indices, distances) of every eligible pair worth placing, as numpy
    arrays, computed on the whole seekers × GPs matrix at once."""
    import numpy as np

    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
    if not seekers or not gps:
        return empty
    lat = np.radians([s.point[0] for s in seekers])[:, None]
    lon = np.radians([s.point[1] for s in seekers])[:, None]
    glat = np.radians([g.point[0] for g in gps])[None, :]
    glon = np.radians([g.point[1] for g in gps])[None, :]
    h = np.sin((glat - lat) / 2) ** 2 + np.cos(lat) * np.cos(glat) * np.sin((glon - lon) / 2) ** 2
    dist = 2 * 6371.0088 * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    # communes: each seeker's index; served[c, j]: GP j serves commune c
    codes = {code: k for k, code in enumerate(dict.fromkeys(s.commune for s in seekers))}
    commune = np.fromiter((codes[s.commune] for s in seekers), dtype=np.int64, count=len(seekers))
    served = np.zeros((len(codes), len(gps)), dtype=bool)
    for j, gp in enumerate(gps):
        for code in gp.communes:
            if code in codes:
                served[codes[code], j] = True
    names = list(AGE_GROUPS)
    group = np.fromiter(
        (names.index(age_group(s.age)) for s in seekers), dtype=np.int64, count=len(seekers)
    )
    accepts = np.array([[name in gp.age_groups for gp in gps] for name in names], dtype=bool)
    radius = np.array([g.radius_km if g.radius_km is not None else -1.0 for g in gps])
    room = np.array([g.capacity > 0 for g in gps], dtype=bool)
    priority = np.array([s.priority for s in seekers], dtype=float)[:, None]
    ok = (served[commune] | (dist <= radius[None, :])) & accepts[group] & room[None, :]
    ok &= weights.placement_points + priority - weights.points_per_km * dist > 0
    rows, cols = np.nonzero(ok)
    return rows.astype(np.int64), cols.astype(np.int64), dist[rows, cols]


def _reasons(seeker: Seeker, gp: Gp, d: float, closer_full: float | None) -> tuple[str, ...]:
    reasons = [f"priorité {seeker.priority} points", f"à {d:.1f} km"]
    if seeker.commune in gp.communes:
        reasons.append("commune desservie par ce médecin")
    else:
        reasons.append(f"dans son rayon de {gp.radius_km:g} km")
    reasons.append(f"accepte les patients de {AGE_GROUP_LABELS[age_group(seeker.age)]}")
    if closer_full is not None:
        reasons.append(
            f"un médecin plus proche (à {closer_full:.1f} km) prend des personnes plus "
            "prioritaires ou sans autre solution"
        )
    return tuple(reasons)


def match(seekers: Sequence[Seeker], gps: Sequence[Gp], weights: Weights) -> Matching:
    """The optimal assignment of ``seekers`` to ``gps`` (see the module's docstring): each
    seeker to at most one GP, each GP at most ``capacity`` seekers, only eligible pairs, the
    sum of gains maximal. Ties are broken the same way on every run (HiGHS is deterministic)."""
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, linprog, milp
    from scipy.sparse import csr_array, vstack

    rows_i, rows_j, dist = _pairs(seekers, gps, weights)
    n = len(rows_i)
    if not n:
        return Matching([], 0.0, [s.id for s in seekers], 0)
    priority = np.array([s.priority for s in seekers], dtype=float)
    values = weights.placement_points + priority[rows_i] - weights.points_per_km * dist
    columns = np.arange(n)
    ones = np.ones(n)
    per_seeker = csr_array((ones, (rows_i, columns)), shape=(len(seekers), n))
    per_gp = csr_array((ones, (rows_j, columns)), shape=(len(gps), n))
    capacity = np.array([max(0, g.capacity) for g in gps], dtype=float)
    # the matrix is totally unimodular: the simplex's basic optimum is already 0/1
    result = linprog(
        -values,
        A_ub=vstack([per_seeker, per_gp]).tocsc(),
        b_ub=np.concatenate([np.ones(len(seekers)), capacity]),
        bounds=(0, 1),
        method="highs",
        options={"presolve": False},  # measured: presolve costs more than it saves here
    )
    x = result.x
    if x is None or np.abs(x - np.round(x)).max() > 1e-6:  # pragma: no cover - a safety net
        x = milp(
            c=-values,
            constraints=[
                LinearConstraint(per_seeker, -np.inf, 1),
                LinearConstraint(per_gp, -np.inf, capacity),
            ],
            integrality=np.ones(n),
            bounds=Bounds(0, 1),
        ).x
        if x is None:
            raise RuntimeError("the matching solver failed")
    chosen = np.flatnonzero(x > 0.5)
    # the nearest eligible GP of each seeker, to say when a closer one was full
    nearest = np.full(len(seekers), np.inf)
    np.minimum.at(nearest, rows_i, dist)
    assignments = []
    for k in chosen:
        i, j, d = int(rows_i[k]), int(rows_j[k]), float(dist[k])
        closer = float(nearest[i]) if nearest[i] < d - 0.05 else None
        assignments.append(
            Assignment(
                seekers[i].id,
                gps[j].id,
                seekers[i].priority,
                round(d, 2),
                _reasons(seekers[i], gps[j], d, closer),
            )  # fmt: skip
        )
    assignments.sort(key=lambda a: (-a.priority, a.seeker))
    placed = {a.seeker for a in assignments}
    unplaced = [s.id for s in seekers if s.id not in placed]
    return Matching(assignments, float(values[chosen].sum()), unplaced, n)


def objective(
    assignments: Iterable[tuple[int, int]],
    seekers: Sequence[Seeker],
    gps: Sequence[Gp],
    weights: Weights,
) -> float:
    """The objective of any assignment given as (seeker id, gp id) pairs (to compare a greedy
    loop or an exact enumeration with :func:`match`); ValueError if it breaks a constraint."""
    by_seeker = {s.id: s for s in seekers}
    by_gp = {g.id: g for g in gps}
    used: dict[int, int] = {}
    seen: set[int] = set()
    total = 0.0
    for seeker_id, gp_id in assignments:
        seeker, gp = by_seeker[seeker_id], by_gp[gp_id]
        if seeker_id in seen:
            raise ValueError(f"seeker {seeker_id} placed twice")
        seen.add(seeker_id)
        used[gp_id] = used.get(gp_id, 0) + 1
        if used[gp_id] > gp.capacity:
            raise ValueError(f"gp {gp_id} over capacity")
        d = distance_km(seeker.point, gp.point)
        if not eligible(seeker, gp, d):
            raise ValueError(f"gp {gp_id} cannot take seeker {seeker_id}")
        total += gain(seeker, d, weights)
    return total
