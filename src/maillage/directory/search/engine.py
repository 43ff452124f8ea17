"""The directory's search engine: the search index held in memory as numpy arrays (no Django).

Why in memory (details in ``docs/search.md``): a query combines free-text prefixes, a commune
or a radius, a profession, flags and a ranking. Written as SQL over 1.3 million entries, its
cost depended on which plan SQLite or PostgreSQL picked, and the slow tail of dense places
(Paris, its suburbs) missed the latency goals on both. Held as columns, every condition is a
vectorised test over the candidates of the most selective part of the query, whatever the
database: a few milliseconds at national scale, about 60 MB of memory per process.

The arrays are built from the ``SearchEntry`` table (:mod:`.service` loads and
refreshes them) and never written back: the database stays the only source of truth.

* Positions ``0 … n-1`` follow entry ids in increasing order; new entries (a published change)
  are appended by :meth:`Engine.extend`, removed ones are marked dead.
* Categorical columns (profession, specialty, structure kind, commune, languages) are small
  integer codes (:class:`Codes`).
* Name words are a sorted vocabulary with postings (:class:`Terms`): a query word matches every
  vocabulary word it prefixes, i.e. one contiguous run of postings.
* Commune, grid cell and (profession, specialty) have a sorted order (:class:`Groups`) so that a
  selective one enumerates its entries without scanning the others.
"""

from __future__ import annotations

import bisect
import io
import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

KINDS = ("role", "organization", "scheme", "service")
_ORGANIZATION = KINDS.index("organization")
_KIND_RANK = (0, 3, 2, 1)  # same title: person, service, dispositif, structure (by KINDS)
#: The SearchEntry columns an engine is built from, in this order.
COLUMNS = (
    "id",
    "kind",
    "object_id",
    "public",
    "profession_code",
    "specialty_code",
    "structure_kind",
    "commune_id",
    "latitude",
    "longitude",
    "accepts_new_patients",
    "teleconsultation",
    "languages",
    "location_id",
    "weight",
    "words",
)
EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180.0
#: Grid cells of 0.1 degree (11 km north-south, about 7.5 km east-west in France).
CELL_DEGREES = 0.1
#: Candidate sets up to this size are ranked on titles (Python); larger ones by distance, else
#: by the population of the entry's commune.
RANK_LIMIT = 1000
_SPEC = 4096  # (profession, specialty) pair key = profession * _SPEC + specialty
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string above every string starting with ``prefix`` (an [0-9a-z] word), or
    None when the prefix is all "z"."""
    chars = list(prefix)
    while chars:
        last = chars.pop()
        position = _ALPHABET.find(last)
        if 0 <= position < len(_ALPHABET) - 1:
            return "".join(chars) + _ALPHABET[position + 1]
    return None


def prefix_span(sorted_words: Sequence[str], prefix: str) -> tuple[int, int]:
    """The run ``[lo, hi)`` of ``sorted_words`` starting with ``prefix``."""
    lo = bisect.bisect_left(sorted_words, prefix)
    upper = prefix_upper_bound(prefix)
    hi = len(sorted_words) if upper is None else bisect.bisect_left(sorted_words, upper)
    return lo, hi


def cell_of(latitude: np.ndarray, longitude: np.ndarray) -> np.ndarray:
    """The grid cell of each point (-1 without coordinates)."""
    with np.errstate(invalid="ignore"):
        row = np.floor((latitude + 90.0) / CELL_DEGREES)
        col = np.floor((longitude + 180.0) / CELL_DEGREES)
        cells = row * 4000 + col
    return np.where(np.isnan(cells), -1, cells).astype(np.int64)


def cells_around(latitude: float, longitude: float, radius_km: float) -> np.ndarray:
    """Every cell meeting the bounding box of the circle (a superset of the circle's cells)."""
    r_deg = radius_km / KM_PER_DEGREE
    dlon = r_deg / max(math.cos(math.radians(min(abs(latitude) + r_deg, 89.0))), 1e-6)
    rows = np.arange(
        math.floor((latitude - r_deg + 90.0) / CELL_DEGREES),
        math.floor((latitude + r_deg + 90.0) / CELL_DEGREES) + 1,
    )
    cols = np.arange(
        math.floor((longitude - dlon + 180.0) / CELL_DEGREES),
        math.floor((longitude + dlon + 180.0) / CELL_DEGREES) + 1,
    )
    cols = cols[:3600] % 3600
    return (rows[:, None] * 4000 + cols[None, :]).ravel()


def haversine_km(lat0: float, lon0: float, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Great-circle distances (km) from one point to many (nan without coordinates)."""
    p0, p = math.radians(lat0), np.radians(lat)
    h = (
        np.sin((p - p0) / 2) ** 2
        + math.cos(p0) * np.cos(p) * np.sin(np.radians(lon - lon0) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def isin(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """``np.isin`` for integer ids, by a lookup table: linear in ``values``, where the default
    sorts both arrays (tens of milliseconds for the 400,000 entries around Paris)."""
    keys = np.asarray(keys)
    if not len(keys) or not len(values):
        return np.zeros(len(values), dtype=bool)
    return np.isin(values, keys, kind="table")


class Codes:
    """A dictionary from the values of a categorical column to small integers."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self.values: list[str] = []
        self.index: dict[str, int] = {}
        for v in values:
            self.add(v)

    def add(self, value: str) -> int:
        code = self.index.get(value)
        if code is None:
            code = self.index[value] = len(self.values)
            self.values.append(value)
        return code

    def encode(self, column: pd.Series) -> np.ndarray:
        local, uniques = pd.factorize(column)
        lookup = np.array([self.add(u) for u in uniques] or [0], dtype=np.int32)
        return lookup[local]

    def copy(self) -> Codes:
        other = Codes()
        other.values, other.index = list(self.values), dict(self.index)
        return other


class Terms:
    """Name words: a sorted vocabulary and, for each word, the positions of its entries."""

    def __init__(self, words: pd.Series, first_position: int = 0) -> None:
        # Each text: words between single spaces, or "". Split in Arrow memory: a national
        # index has millions of words, which as Python strings cost hundreds of megabytes.
        texts = pa.array(words, type=pa.string(), from_pandas=True)
        if isinstance(texts, pa.ChunkedArray):
            texts = texts.combine_chunks()
        lists = pc.split_pattern(texts, " ")
        flat = pc.list_flatten(lists)
        kept = pc.not_equal(flat, "")
        flat = flat.filter(kept)
        parents = pc.list_parent_indices(lists).filter(kept)
        del lists, texts, kept
        uniques = pc.unique(flat)
        uniques = uniques.take(pc.sort_indices(uniques))  # code point order, as sorted()
        codes = pc.index_in(flat, value_set=uniques).to_numpy()  # int32: postings are int32
        del flat
        order = np.argsort(codes, kind="stable")
        self.words: list[str] = uniques.to_pylist()
        self.postings = parents.to_numpy().astype(np.int32)[order] + np.int32(first_position)
        del parents, order
        counts = np.bincount(codes, minlength=len(uniques)) if len(codes) else np.zeros(0, int)
        self.start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def span(self, prefix: str) -> tuple[int, int]:
        a, b = prefix_span(self.words, prefix)
        return int(self.start[a]), int(self.start[b])

    def count(self, prefix: str) -> int:
        a, b = self.span(prefix)
        return b - a

    def positions(self, prefix: str) -> np.ndarray:
        a, b = self.span(prefix)
        return self.postings[a:b]

    def counts(self) -> dict[str, int]:
        return dict(zip(self.words, np.diff(self.start).tolist(), strict=True))


class Groups:
    """Positions ordered by an integer key, so the entries of a few keys are read as slices.
    Positions from ``size`` on (appended since the order was built) are scanned instead."""

    def __init__(self, keys: np.ndarray) -> None:
        self.size = len(keys)
        self.order = np.argsort(keys, kind="stable").astype(np.int32)
        self.sorted = keys[self.order]

    def _spans(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.searchsorted(self.sorted, wanted, "left"),
            np.searchsorted(self.sorted, wanted, "right"),
        )

    def count(self, wanted: np.ndarray, keys: np.ndarray) -> int:
        lo, hi = self._spans(wanted)
        return int((hi - lo).sum()) + int(isin(keys[self.size :], wanted).sum())

    def positions(self, wanted: np.ndarray, keys: np.ndarray) -> np.ndarray:
        lo, hi = self._spans(wanted)
        parts = [self.order[a:b] for a, b in zip(lo.tolist(), hi.tolist(), strict=True) if b > a]
        tail = keys[self.size :]
        if len(tail):
            parts.append((self.size + np.flatnonzero(isin(tail, wanted))).astype(np.int32))
        return np.concatenate(parts) if parts else np.zeros(0, np.int32)


@dataclass
class Word:
    """One query word and what it may match: name words, communes (INSEE codes whose name
    words, postal codes or code it prefixes), professions ((profession, specialties) pairs,
    specialties None for all).

    ``names`` are the name-word alternatives, any of which matches (OR); each is a tuple of
    prefixes that must all start a name word of the entry (AND: "maison de santé" is
    ("maison", "sante")). Empty means ``((prefix,),)``: the word as typed. The service fills it
    with the word's singular ("pharmacies" → "pharmaci") and its synonyms ("prise de sang" →
    "laboratoire"...)."""

    prefix: str
    communes: list[str] = field(default_factory=list)
    professions: list[tuple[str, frozenset[str] | None]] = field(default_factory=list)
    names: tuple[tuple[str, ...], ...] = ()

    def alternatives(self) -> tuple[tuple[str, ...], ...]:
        return self.names or ((self.prefix,),)


@dataclass
class Criteria:
    """Everything a search asks, in engine terms. Every word must match (AND); each filter set
    (not None) must hold."""

    words: list[Word] = field(default_factory=list)
    public_only: bool = True
    kind: str | None = None
    professions: list[tuple[str, frozenset[str] | None]] | None = None
    specialty: str | None = None
    commune: str | None = None
    structure_kind: str | None = None
    accepts_new_patients: bool | None = None
    teleconsultation: bool | None = None
    language: str | None = None
    center: tuple[float, float] | None = None
    radius_km: float | None = None
    #: "Open now": ids of open locations, of open services and of services with own hours.
    open_locations: np.ndarray | None = None
    open_services: np.ndarray | None = None
    services_with_hours: np.ndarray | None = None


@dataclass
class Selection:
    positions: np.ndarray  # matching entries (sorted positions)
    distances: np.ndarray | None  # km from the centre, parallel to positions (near only)


class Engine:
    """The index of one snapshot of ``SearchEntry`` rows. Immutable once built: refreshing
    makes a new engine (:meth:`extend`), so concurrent searches never see a half-made one."""

    def __init__(self) -> None:  # use build() or extend()
        self.n = 0

    # -- building ------------------------------------------------------------------------------

    @classmethod
    def build(cls, frame: pd.DataFrame) -> Engine:
        """An engine over ``frame`` (columns :data:`COLUMNS`, rows in increasing id order)."""
        e = cls()
        e.codes = {name: Codes([""]) for name in ("prof", "spec", "struct", "commune", "langs")}
        e._set_columns(e._encode(frame))
        e.terms = Terms(frame["words"].fillna(""))
        e.extra: Terms | None = None
        e.extra_words = pd.Series([], dtype=object)
        e._group()
        return e

    def extend(self, frame: pd.DataFrame, removed_ids: Iterable[int]) -> Engine:
        """A new engine with ``frame``'s entries (ids above every current one) appended and the
        entries ``removed_ids`` dropped."""
        e = Engine()
        e.codes = {name: codes.copy() for name, codes in self.codes.items()}
        new = e._encode(frame)
        e._set_columns({k: np.concatenate([getattr(self, k), v]) for k, v in new.items()})
        removed = np.fromiter(removed_ids, dtype=np.int64)
        if len(removed):
            at = np.searchsorted(e.ids, removed)
            at = at[(at < e.n) & (e.ids[np.minimum(at, e.n - 1)] == removed)]
            e.alive[at] = False
        e.terms = self.terms
        e.extra_words = pd.concat([self.extra_words, frame["words"].fillna("")], ignore_index=True)
        e.extra = (
            Terms(e.extra_words, first_position=self.terms_end) if len(e.extra_words) else None
        )
        if e.n - self.by_commune.size > max(50_000, self.by_commune.size // 20):
            e._group()
        else:
            e.by_commune, e.by_cell, e.by_pair = self.by_commune, self.by_cell, self.by_pair
        return e

    @property
    def terms_end(self) -> int:
        """Positions below this have their name words in ``terms``; the rest in ``extra``."""
        return self.n - len(self.extra_words)

    @property
    def appended(self) -> int:
        """Entries appended since the engine was built from scratch."""
        return len(self.extra_words)

    def _encode(self, f: pd.DataFrame) -> dict[str, np.ndarray]:
        unknown = set(pd.unique(f["kind"])) - set(KINDS)
        if unknown:
            raise ValueError(f"type d'entrée inconnu dans l'index : {sorted(unknown)}")
        accepts = f["accepts_new_patients"]
        return {
            "ids": f["id"].to_numpy(dtype=np.int64),
            "object_ids": f["object_id"].to_numpy(dtype=np.int64),
            "kind": f["kind"].map({k: i for i, k in enumerate(KINDS)}).to_numpy(dtype=np.int8),
            "public": f["public"].astype(bool).to_numpy(),
            "prof": self.codes["prof"].encode(f["profession_code"].fillna("")),
            "spec": self.codes["spec"].encode(f["specialty_code"].fillna("")),
            "struct": self.codes["struct"].encode(f["structure_kind"].fillna("")),
            "commune": self.codes["commune"].encode(f["commune_id"].fillna("")),
            "lat": f["latitude"].to_numpy(dtype=np.float64, na_value=np.nan),
            "lon": f["longitude"].to_numpy(dtype=np.float64, na_value=np.nan),
            "accepts": np.where(accepts.isna(), -1, accepts.fillna(False).astype(int)).astype(
                np.int8
            ),
            "tele": f["teleconsultation"].astype(bool).to_numpy(),
            "langs": self.codes["langs"].encode(f["languages"].fillna("")),
            "location": f["location_id"].fillna(-1).to_numpy(dtype=np.int64),
            "weight": f["weight"].fillna(0).to_numpy(dtype=np.int64),
            "alive": np.ones(len(f["id"]), dtype=bool),
        }

    # -- snapshots: what a full reindex stores so that processes load in about a second --------

    _STORED = ("ids", "object_ids", "kind", "public", "prof", "spec", "struct", "commune", "lat",
               "lon", "accepts", "tele", "langs", "location", "weight", "alive")  # fmt: skip

    def dump(self) -> dict[str, bytes]:
        """The engine as named byte strings (numpy ``.npy`` arrays, JSON word lists); only for
        an engine built whole (nothing appended)."""
        return dict(self.dump_parts())

    def dump_parts(self) -> Iterator[tuple[str, bytes]]:
        """:meth:`dump`, one part at a time (a national index is hundreds of megabytes whole)."""
        if self.appended:
            raise ValueError("only an engine built whole can be saved")
        arrays = {name: getattr(self, name) for name in self._STORED}
        arrays["terms.postings"], arrays["terms.start"] = self.terms.postings, self.terms.start
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=False)
            yield name, buffer.getvalue()
        for name, codes in self.codes.items():
            yield f"codes.{name}", json.dumps(codes.values).encode()
        yield "terms.words", json.dumps(self.terms.words).encode()

    @classmethod
    def load(cls, parts: dict[str, bytes]) -> Engine:
        """The engine :meth:`dump` saved."""
        missing = {*cls._STORED, "terms.postings", "terms.start", "terms.words"} - set(parts)
        if missing:
            raise ValueError(f"instantané d'index incomplet : {sorted(missing)} manquent")
        e = cls()
        e.codes = {}
        for name in ("prof", "spec", "struct", "commune", "langs"):
            e.codes[name] = Codes(json.loads(parts[f"codes.{name}"]))
        read = {
            name: np.load(io.BytesIO(data), allow_pickle=False)
            for name, data in parts.items()
            if not name.startswith("codes.") and name != "terms.words"
        }
        e._set_columns({name: read[name] for name in cls._STORED})
        e.terms = Terms.__new__(Terms)
        e.terms.words = json.loads(parts["terms.words"])
        e.terms.postings, e.terms.start = read["terms.postings"], read["terms.start"]
        e.extra = None
        e.extra_words = pd.Series([], dtype=object)
        e._group()
        return e

    def _set_columns(self, columns: dict[str, np.ndarray]) -> None:
        for name, values in columns.items():
            setattr(self, name, values)
        self.n = len(self.ids)
        self.cell = cell_of(self.lat, self.lon)
        self.pair = self.prof.astype(np.int64) * _SPEC + self.spec

    def _group(self) -> None:
        self.by_commune = Groups(self.commune)
        self.by_cell = Groups(self.cell)
        self.by_pair = Groups(self.pair)

    # -- statistics for planning and typo correction -----------------------------------------

    def name_count(self, prefix: str) -> int:
        n = self.terms.count(prefix)
        return n + (self.extra.count(prefix) if self.extra is not None else 0)

    def name_positions(self, prefix: str) -> np.ndarray:
        base = self.terms.positions(prefix)
        if self.extra is None:
            return base
        return np.concatenate([base, self.extra.positions(prefix)])

    def names_count(self, w: Word) -> int:
        """How many entries the name alternatives of ``w`` may match (an upper bound)."""
        return sum(min(self.name_count(p) for p in alt) for alt in w.alternatives())

    def names_positions(self, w: Word) -> np.ndarray:
        """The positions whose name words match an alternative of ``w`` (maybe repeated)."""
        parts = []
        for alt in w.alternatives():
            first = self.name_positions(alt[0])
            for p in alt[1:]:
                if not len(first):
                    break
                hit = np.zeros(self.n, dtype=bool)
                hit[self.name_positions(p)] = True
                first = first[hit[first]]
            parts.append(first)
        return np.concatenate(parts) if parts else np.zeros(0, np.int32)

    def _commune_keys(self, communes: Iterable[str]) -> np.ndarray:
        index = self.codes["commune"].index
        return np.array(sorted({index[c] for c in communes if c in index}), dtype=np.int32)

    def _pair_keys(self, conditions: Iterable[tuple[str, frozenset[str] | None]]) -> np.ndarray:
        prof_index, spec_index = self.codes["prof"].index, self.codes["spec"].index
        keys: set[int] = set()
        for profession, specialties in conditions:
            p = prof_index.get(profession)
            if p is None:
                continue
            if specialties is None:
                keys.update(range(p * _SPEC, p * _SPEC + len(self.codes["spec"].values)))
            else:
                keys.update(p * _SPEC + spec_index[s] for s in specialties if s in spec_index)
        return np.array(sorted(keys), dtype=np.int64)

    def commune_count(self, communes: Iterable[str]) -> int:
        return self.by_commune.count(self._commune_keys(communes), self.commune)

    def profession_count(self, conditions: Iterable[tuple[str, frozenset[str] | None]]) -> int:
        return self.by_pair.count(self._pair_keys(conditions), self.pair)

    def word_count(self, w: Word) -> int:
        """How many entries ``w`` may match (an upper bound: the sides may overlap)."""
        return (
            self.names_count(w)
            + (self.commune_count(w.communes) if w.communes else 0)
            + (self.profession_count(w.professions) if w.professions else 0)
        )

    def term_counts(self) -> dict[str, int]:
        counts = self.terms.counts()
        if self.extra is not None:
            for word, n in self.extra.counts().items():
                counts[word] = counts.get(word, 0) + n
        return counts

    # -- searching -------------------------------------------------------------------------------

    def _word_positions(self, w: Word) -> np.ndarray:
        parts = [self.names_positions(w)]
        if w.communes:
            parts.append(self.by_commune.positions(self._commune_keys(w.communes), self.commune))
        if w.professions:
            parts.append(self.by_pair.positions(self._pair_keys(w.professions), self.pair))
        return np.concatenate(parts)

    def _word_matches(self, w: Word, at: np.ndarray) -> np.ndarray:
        """Which of the positions ``at`` match ``w``."""
        found = np.zeros(len(at), dtype=bool)
        names = self.names_positions(w)
        if len(names):
            hit = np.zeros(self.n, dtype=bool)
            hit[names] = True
            found |= hit[at]
        if w.communes:
            table = np.zeros(len(self.codes["commune"].values), dtype=bool)
            table[self._commune_keys(w.communes)] = True
            found |= table[self.commune[at]]
        if w.professions:
            found |= isin(self.pair[at], self._pair_keys(w.professions))
        return found

    def select(self, c: Criteria) -> Selection:
        """The positions matching ``c``, and their distances from ``c.center``."""
        # The most selective part of the query enumerates the candidates; the rest is tested on
        # them with vectorised lookups.
        counts = [self.word_count(w) for w in c.words]
        sources: list[tuple[int, object]] = []
        for w, n in zip(c.words, counts, strict=True):
            sources.append((n, lambda w=w: self._word_positions(w)))
        if c.commune is not None:
            keys = self._commune_keys([c.commune])
            sources.append(
                (self.by_commune.count(keys, self.commune),
                 lambda: self.by_commune.positions(keys, self.commune))
            )  # fmt: skip
        if c.professions is not None:
            pairs = self._pair_keys(c.professions)
            sources.append(
                (self.by_pair.count(pairs, self.pair),
                 lambda: self.by_pair.positions(pairs, self.pair))
            )  # fmt: skip
        if c.center is not None and c.radius_km:
            cells = cells_around(*c.center, c.radius_km)
            sources.append(
                (self.by_cell.count(cells, self.cell),
                 lambda: self.by_cell.positions(cells, self.cell))
            )  # fmt: skip
        best = min(sources, key=lambda s: s[0]) if sources else None
        if best is not None and best[0] <= self.n // 3:
            at = self._distinct(best[1]())
        else:
            at = np.arange(self.n, dtype=np.int32)

        at = at[self.alive[at]]
        if c.public_only:
            at = at[self.public[at]]
        if c.kind is not None:
            at = at[self.kind[at] == KINDS.index(c.kind)]
        if c.commune is not None:
            at = at[isin(self.commune[at], self._commune_keys([c.commune]))]
        if c.professions is not None:
            at = at[isin(self.pair[at], self._pair_keys(c.professions))]
        if c.specialty is not None:
            at = at[self.spec[at] == self.codes["spec"].index.get(c.specialty, -2)]
        if c.structure_kind is not None:
            at = at[self.struct[at] == self.codes["struct"].index.get(c.structure_kind, -2)]
        if c.accepts_new_patients is not None:
            at = at[self.accepts[at] == int(c.accepts_new_patients)]
        if c.teleconsultation is not None:
            at = at[self.tele[at] == bool(c.teleconsultation)]
        if c.language is not None:
            needle = f",{c.language},"
            table = np.array([needle in v for v in self.codes["langs"].values], dtype=bool)
            at = at[table[self.langs[at]]]
        for _n, i in sorted(zip(counts, range(len(c.words)), strict=True)):
            at = at[self._word_matches(c.words[i], at)]
        if c.open_locations is not None:
            at = at[self._open(at, c)]
        distances = None
        if c.center is not None:
            if c.radius_km:
                distances = haversine_km(*c.center, self.lat[at], self.lon[at])
                inside = distances <= c.radius_km
                at, distances = at[inside], distances[inside]
            elif len(at) <= RANK_LIMIT:
                distances = haversine_km(*c.center, self.lat[at], self.lon[at])
        return Selection(at, distances)

    def _distinct(self, positions: np.ndarray) -> np.ndarray:
        """Sorted distinct positions (a mask: linear, where sorting 400,000 would not be)."""
        mask = np.zeros(self.n, dtype=bool)
        mask[positions] = True
        return np.flatnonzero(mask).astype(np.int32)

    def _open(self, at: np.ndarray, c: Criteria) -> np.ndarray:
        service = self.kind[at] == KINDS.index("service")
        at_place = isin(self.location[at], c.open_locations)
        own = isin(self.object_ids[at], c.open_services)
        has_own = isin(self.object_ids[at], c.services_with_hours)
        return np.where(service, own | (~has_own & at_place), at_place)

    # -- ranking ----------------------------------------------------------------------------------

    def page(
        self,
        selection: Selection,
        words: Sequence[str | Word],
        center: tuple[float, float] | None,
        offset: int,
        size: int,
        titles: Callable[[list[int]], dict[int, str]],
        home: Iterable[str] = (),
        place: Iterable[str] = (),
    ) -> list[int]:
        """The entry ids of one page of ``selection``, best first.

        Entries of the ``place`` communes (a commune named in the query as a whole, "pharmacie
        chaumont": Chaumont, not the Buttes-Chaumont of Paris) come first, then those of the
        ``home`` communes (the platform's territory, and its dispositifs without a commune).
        Then entries matching more of the query's words in their title, their profession or
        their commune (the whole query starting the title first, then a title starting with the
        first word); near a place, the nearest of those first; then entries of bigger communes
        (Chaumont, Haute-Marne, before Chaumont-le-Bois), then alphabetically. Beyond
        :data:`RANK_LIMIT` candidates titles are not compared: place first, then by distance,
        else home first, then dispositifs, then commune population, then id. ``titles``
        gives the normalised titles of entry ids (they are not held in memory)."""
        at, distances = selection.positions, selection.distances
        words = [w if isinstance(w, Word) else Word(w) for w in words]
        want = offset + size
        table = np.zeros(len(self.codes["commune"].values), dtype=bool)
        table[self._commune_keys(home)] = True
        if table.any():  # the platform's own dispositifs without a commune (a DAC, a PTA)
            table[self.codes["commune"].index.get("", 0)] = True
        at_home = table[self.commune[at]] & (
            (self.commune[at] != self.codes["commune"].index.get("", -1))
            | (self.kind[at] == KINDS.index("scheme"))
        )
        table = np.zeros(len(self.codes["commune"].values), dtype=bool)
        table[self._commune_keys(place)] = True
        at_place = table[self.commune[at]]
        if len(at) <= RANK_LIMIT:
            if center is not None and distances is None:
                distances = haversine_km(*center, self.lat[at], self.lon[at])
            titled = titles([int(i) for i in self.ids[at]])
            key = self._title_key(at, distances, words, titled, at_home, at_place)
            chosen = sorted(range(len(at)), key=key)
            return [int(self.ids[at[i]]) for i in chosen[offset:want]]
        if center is not None:
            if distances is None:
                at, distances = self._nearest(at, center, want)
                table_place = np.zeros(len(self.codes["commune"].values), dtype=bool)
                table_place[self._commune_keys(place)] = True
                at_place = table_place[self.commune[at]]
            key = np.nan_to_num(distances, nan=np.inf) - at_place * 1e9
        else:  # place, then home first: populations are shifted above any commune's
            # within a tier, dispositifs first: a few dozen, named by what people type ("MSP",
            # "maisons de santé"), they would otherwise sink under thousands of members' roles
            scheme = self.kind[at] == KINDS.index("scheme")
            key = (
                -self.weight[at].astype(np.float64) - scheme * 5e8 - at_home * 1e9 - at_place * 2e9
            )
        if want < len(at):
            top = np.argpartition(key, want - 1)[:want]
        else:
            top = np.arange(len(at))
        top = top[np.lexsort((self.ids[at[top]], key[top]))]
        return [int(i) for i in self.ids[at[top[offset:want]]]]

    def _nearest(
        self, at: np.ndarray, center: tuple[float, float], want: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Candidates enough to hold the ``want`` nearest of ``at`` (growing rings of cells),
        with their distances."""
        member = np.zeros(self.n, dtype=bool)
        member[at] = True
        for radius in (2.0, 5.0, 15.0, 40.0, 100.0, 250.0):
            ring = self.by_cell.positions(cells_around(*center, radius), self.cell)
            ring = self._distinct(ring[member[ring]])
            d = haversine_km(*center, self.lat[ring], self.lon[ring])
            if int((d <= radius).sum()) >= want:
                return ring, d
        return at, haversine_km(*center, self.lat[at], self.lon[at])

    def _title_key(
        self,
        at: np.ndarray,
        distances: np.ndarray | None,
        words: Sequence[Word],
        titles: dict[int, str],
        at_home: np.ndarray,
        at_place: np.ndarray,
    ):
        phrase = " ".join(w.prefix for w in words)
        # Words matched by profession or commune (vectorised), the rest by title (below).
        seen = []
        for w in words:
            hit = np.zeros(len(at), dtype=bool)
            if w.professions:
                hit |= isin(self.pair[at], self._pair_keys(w.professions))
            if w.communes:
                table = np.zeros(len(self.codes["commune"].values), dtype=bool)
                table[self._commune_keys(w.communes)] = True
                hit |= table[self.commune[at]]
            seen.append(hit)
        alternatives = [w.alternatives() for w in words]

        def in_title(alts: tuple[tuple[str, ...], ...], title_words: list[str]) -> bool:
            return any(all(any(t.startswith(p) for t in title_words) for p in a) for a in alts)

        def starts(alts: tuple[tuple[str, ...], ...], title_words: list[str]) -> bool:
            return any(
                title_words[0].startswith(a[0]) and in_title((a,), title_words) for a in alts
            )

        def key(i: int):
            p = at[i]
            entry = int(self.ids[p])
            title = titles.get(entry) or ""
            title_words = title.split()
            matched = [
                bool(seen[j][i]) or in_title(alternatives[j], title_words)
                for j in range(len(words))
            ]
            strength = (
                -sum(matched),
                not (words and title.startswith(phrase)),
                not (title_words and starts(alternatives[0], title_words)),
                # the word as typed before its synonyms: "urgences" before "SAMU", "SMUR"
                not (title_words and title_words[0].startswith(words[0].prefix)),
            ) if words else ()  # fmt: skip
            # in one place, a structure after the people, services and dispositifs that match
            # as well, and a service before a dispositif of the same name: "la noue" opens on
            # the teleconsultation room, not on the residence of the same name
            kind = int(self.kind[p])
            tail = (-int(self.weight[p]), kind == _ORGANIZATION, title, _KIND_RANK[kind], entry)
            if distances is None:
                return (not at_place[i], not at_home[i], *strength, *tail)
            d = float(distances[i])
            return (not at_place[i], *strength, round(d, 3) if not math.isnan(d) else math.inf,
                    *tail)  # fmt: skip

        return key
