"""The one directory search: public pages, JSON API and benchmark all call :func:`search`.

Why it is built this way (details in ``docs/search.md``):

* The index is the ``SearchEntry`` table (:mod:`.index`): one denormalised row
  per practitioner role, structure, dispositif and service, rebuilt by :func:`reindex_all` and
  refreshed by :func:`reindex_objects`; joins happen at index time.
* Each process holds that table in memory as numpy columns (:mod:`.engine`)
  and queries them there: latency no longer depends on which plan SQLite or PostgreSQL picks.
  Every write to the index appends a :class:`~.index.SearchChange`; before each
  search one indexed read of that table tells whether entries must be added, dropped, or the
  whole index reloaded, so every process sees a published change at its next query.
* Free text is normalised (case, accents, punctuation), split into words, and every word must
  match (AND) as a *prefix* of a name word of the entry, a word of its commune (name, postal code,
  INSEE code) or a profession/specialty word.
* A word that matches nothing is corrected against the vocabulary (rapidfuzz, optimal string
  alignment distance ≤ 1 or 2); ``corrected_text`` tells the user what was actually searched.
* Geography needs no GIS: great-circle distances computed on the candidates, which a 0.1-degree
  grid of cells narrows first.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
import unicodedata
import uuid
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Min

from maillage.directory.search.engine import (
    COLUMNS,
    KINDS,
    RANK_LIMIT,
    Criteria,
    Engine,
    Selection,
    Word,
    haversine_km,
    isin,
    prefix_span,
    prefix_upper_bound,
)
from maillage.directory.search.index import SearchChange, SearchEntry, SearchSnapshot
from maillage.imports import ImportReport
from maillage.opendata.nomenclatures import PROFESSION_GROUPS, PROFESSIONS, SPECIALTIES
from maillage.territory.models import Commune

__all__ = [
    "MAX_PAGE",
    "MAX_PAGE_SIZE",
    "MAX_QUERY_CHARS",
    "MAX_QUERY_WORDS",
    "QueryTooLarge",
    "SearchQuery",
    "SearchResult",
    "normalise",
    "prefix_upper_bound",
    "profession_label",
    "reindex_all",
    "reindex_ids",
    "reindex_objects",
    "resolve_place",
    "search",
    "query_text",
    "tokens",
]

log = logging.getLogger(__name__)

PARIS = ZoneInfo("Europe/Paris")
MAX_PAGE_SIZE = 100
#: Deepest page served: 100 pages of 100 results; nobody reads further, a bot must not ask.
MAX_PAGE = 1000
MAX_RADIUS_KM = 500.0
#: Bounds of the free text (``q``) and of a place (``near``/``ou``), the same for the pages and
#: the API: every word costs prefix scans and maybe a fuzzy correction, so a 3,000-word query
#: is refused before any of that work (it cost 8 s of CPU). A real query is under 15 words.
MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 20
#: Words never indexed nor searched: they would match half of France.
STOPWORDS = frozenset(
    "a au aux d de des du en et l la le les un une sur sous dr docteur pr mme m mr".split()
    # the words of "près de Langres", "autour de", "pour enfants", "avec rendez-vous"…
    + "pres proche proches autour dans pour avec chez".split()
)
TOKEN_MAX = 40

# --------------------------------------------------------------------------------------------
# Normalisation


_PUNCT = re.compile(r"[^0-9a-z]+")


def normalise(text: str) -> str:
    """Lowercase, accents removed (NFKD decomposition, then every non-ASCII code point dropped,
    which removes the combining marks), punctuation turned into spaces, spaces collapsed: the one
    form both the index and the queries use."""
    if not text:
        return ""
    lowered = str(text).lower().replace("œ", "oe").replace("æ", "ae").replace("ß", "ss")
    ascii_text = unicodedata.normalize("NFKD", lowered).encode("ascii", "ignore").decode()
    return " ".join(_PUNCT.sub(" ", ascii_text).split())


@lru_cache(maxsize=200_000)
def _norm(text: str) -> str:
    """:func:`normalise`, cached for the strings that repeat (names, places, labels)."""
    return normalise(text)


@lru_cache(maxsize=500_000)
def _words(text: str) -> tuple[str, ...]:
    """The indexable words of ``text`` (cached: names and places repeat a lot at national scale)."""
    return tuple(
        w[:TOKEN_MAX] for w in normalise(text).split() if len(w) > 1 and w not in STOPWORDS
    )


def tokens(text: str) -> list[str]:
    """The query words of ``text``, in order, without duplicates or stopwords."""
    seen: dict[str, None] = {}
    for w in _words(text or ""):
        seen.setdefault(w, None)
    return list(seen)


# --------------------------------------------------------------------------------------------
# Profession words

#: What people type and what it stands for (professions, services): data, read at query time.
SYNONYMS_FILE = Path(__file__).with_name("synonyms.yaml")


def fold(word: str) -> str:
    """The singular of a normalised French word, roughly: "pharmacies" → "pharmacie",
    "hopitaux" → "hopital", "bureaux" → "bureau". Words of fewer than 4 letters are kept."""
    if len(word) < 4 or word.isdigit():
        return word
    if word.endswith("aux") and not word.endswith("eaux"):
        return word[:-3] + "al"
    if word[-1] in "sx" and not word.endswith("ss"):
        return word[:-1]
    return word


def stem(word: str) -> str:
    """A prefix matching the singular and plural, masculine and feminine forms of ``word``:
    "infirmieres" → "infirmier", "psychiatre" → "psychiatr", "dieteticienne" → "dieteticien"."""
    word = fold(word)
    if len(word) >= 6:
        for suffix, replacement in (("ienne", "ien"), ("euse", "eu"), ("e", "")):
            if word.endswith(suffix):
                return word[: -len(suffix)] + replacement
    return word


@dataclass(frozen=True)
class _Concept:
    """One entry of the synonym table: what its words stand for."""

    professions: tuple[tuple[str, frozenset[str] | None], ...]
    names: tuple[tuple[str, ...], ...]
    #: A HealthcareService category whose services come first, nearest first ("urgences").
    nearest: str | None = None


def _phrase_key(words: Iterable[str]) -> str:
    return " ".join(fold(w) for w in words)


@lru_cache(maxsize=1)
def _synonyms() -> dict[str, _Concept]:
    """The synonym table (:data:`SYNONYMS_FILE`): folded phrase → concept. A phrase in two
    entries stands for both."""
    import yaml

    merged: dict[str, tuple[set, set]] = {}
    nearest: dict[str, str] = {}
    entries = yaml.safe_load(SYNONYMS_FILE.read_text(encoding="utf-8")) or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ValueError(f"{SYNONYMS_FILE.name} : une liste d'entrées (words, professions, names)")
    for number, entry in enumerate(entries, 1):
        conditions = set()
        for key in entry.get("professions", []):
            key = str(key)
            if key in SPECIALTIES:
                conditions.add((_specialty_profession(key), frozenset({key})))
            else:
                try:
                    conditions.update(_profession_conditions(key))
                except ValueError as exc:
                    raise ValueError(f"{SYNONYMS_FILE.name}, entrée {number} : {exc}") from None
        names = {tuple(w for w in _words(n)) for n in entry.get("names", [])} - {()}
        for phrase in entry.get("words", []):
            key = _phrase_key(normalise(str(phrase)).split())
            professions, alternatives = merged.setdefault(key, (set(), set()))
            professions |= conditions
            alternatives |= names
            if entry.get("nearest"):
                nearest[key] = str(entry["nearest"])
    return {
        key: _Concept(tuple(sorted(p, key=repr)), tuple(sorted(n)), nearest.get(key))
        for key, (p, n) in merged.items()
    }


def _profession_conditions(key_or_code: str) -> list[tuple[str, frozenset[str] | None]]:
    if key_or_code in PROFESSION_GROUPS:
        _label, profession, specialties = PROFESSION_GROUPS[key_or_code]
        return [(profession, specialties)]
    if key_or_code in PROFESSIONS:
        return [(key_or_code, None)]
    raise ValueError(
        f"profession inconnue : {key_or_code!r} (attendu : une clé comme "
        f"'medecin_generaliste' ou 'infirmier', ou un code TRE_G15 comme '10' ou '60')"
    )


def _specialty_profession(code: str) -> str:
    return {"SM": "10", "SC": "40", "SI": "60"}[code[:2]]


@lru_cache(maxsize=1)
def _profession_words() -> tuple[list[str], list[frozenset[tuple[str, frozenset[str] | None]]]]:
    """Sorted profession words and, for each, the (profession, specialties) it stands for."""
    words: dict[str, set] = defaultdict(set)

    def add(text: str, condition: tuple[str, frozenset[str] | None]) -> None:
        for w in _words(text):
            words[w].add(condition)

    for code, label in PROFESSIONS.items():
        add(label, (code, None))
    add("médecin", ("10", None))
    add("infirmière infirmier", ("69", None))
    for code, label in SPECIALTIES.items():
        add(label, (_specialty_profession(code), frozenset({code})))
    for key, (label, profession, specialties) in PROFESSION_GROUPS.items():
        condition = (profession, specialties)
        add(label, condition)
        add(key.replace("_", " "), condition)
    for phrase, concept in _synonyms().items():  # "kine", "ophtalmo"... found by their prefix
        if " " not in phrase:
            for condition in concept.professions:
                add(phrase, condition)
    # Words naming half the nomenclature would only slow queries down.
    noise = {"option", "et", "medecine", "chirurgie", "maladies", "reforme", "2017"}
    ordered = sorted(w for w in words if w not in noise)
    return ordered, [frozenset(words[w]) for w in ordered]


@lru_cache(maxsize=1000)
def _profession_label(profession_code: str, specialty_code: str) -> str:
    return profession_label(profession_code, specialty_code)


def profession_label(profession_code: str, specialty_code: str = "") -> str:
    """A readable label: "Médecin — Médecine générale", "Infirmier"."""
    label = PROFESSIONS.get(profession_code, profession_code)
    if specialty_code:
        label += " — " + SPECIALTIES.get(specialty_code, specialty_code)
    return label


# --------------------------------------------------------------------------------------------
# The per-process index: an Engine over SearchEntry, kept in step through SearchChange


@dataclass
class _Places:
    commune_words: list[str]  # sorted normalised words of names, postal codes and INSEE codes
    commune_codes: list[str]  # parallel to commune_words
    commune_info: dict[str, tuple[str, int, float | None, float | None]]  # name, pop, lat, lon
    commune_by_name: dict[str, list[str]]  # normalised name -> codes, most populous first
    commune_by_postal: dict[str, list[str]]
    postal_by_code: dict[str, list[str]] = field(default_factory=dict)  # INSEE -> postal codes


@dataclass
class _State:
    engine: Engine
    places: _Places
    correction_words: dict[tuple[str, int], list[str]]  # (first letter, length) -> words
    correction_weight: dict[str, int]
    change_id: int  # the last SearchChange applied, and its stamp
    change_stamp: str
    max_id: int  # the highest SearchEntry id loaded
    home_communes: list[str]  # the platform's territory: ranked first (MAILLAGE_DEFAULT_TERRITORY)


_lock = threading.Lock()
_state: _State | None = None


def _current() -> _State:
    """This process's index, brought up to date with the database (one indexed read when
    nothing changed)."""
    global _state
    state = _state
    if state is not None and _changes_since(state) == []:
        return state
    with _lock:
        state = _state
        changes = _changes_since(state) if state is not None else None
        if state is not None and changes == []:
            return state
        if changes is None:
            _state = _load_all()
        else:
            _state = _apply(state, changes)
        return _state


def _changes_since(state: _State) -> list[tuple[int, str]] | None:
    """The changes written since ``state`` was loaded: [] if none, None when the engine must be
    reloaded whole (a full reindex, or the change it stands on was rolled back)."""
    q = connection.ops.quote_name
    table = q(SearchChange._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(  # "full" is a reserved word in PostgreSQL
            f"SELECT id, stamp, {q('full')} FROM {table} WHERE id >= %s ORDER BY id",
            [state.change_id],
        )
        rows = cursor.fetchall()
    if state.change_id:
        if not rows or (rows[0][0], rows[0][1]) != (state.change_id, state.change_stamp):
            return None
        rows = rows[1:]
    if any(full for _id, _stamp, full in rows):
        return None
    return [(change_id, stamp) for change_id, stamp, _full in rows]


def _read_entries(after_id: int) -> pd.DataFrame:
    q = connection.ops.quote_name
    columns = ", ".join(q(SearchEntry._meta.get_field(c).column) for c in COLUMNS)
    table = q(SearchEntry._meta.db_table)
    frames = []
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} WHERE id > %s ORDER BY id", [after_id])
        # In blocks, each made compact at once: the rows of a national index as Python tuples
        # would cost more than a gigabyte.
        while rows := cursor.fetchmany(_READ_BLOCK):
            frame = pd.DataFrame.from_records(rows, columns=COLUMNS, nrows=len(rows))
            for column in _TEXT_COLUMNS:
                frame[column] = frame[column].astype("string[pyarrow]")
            frames.append(frame)
            del rows
    if not frames:
        return pd.DataFrame.from_records([], columns=COLUMNS)
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


_READ_BLOCK = 100_000
_TEXT_COLUMNS = ("kind", "profession_code", "specialty_code", "structure_kind", "commune_id",
                 "languages", "words")  # fmt: skip


def _last_change() -> tuple[int, str]:
    last = SearchChange.objects.order_by("-id").values_list("id", "stamp").first()
    return last or (0, "")


def _load_all() -> _State:
    """The engine saved by the last full reindex, brought up to date with the changes since;
    else (no snapshot) built from the entries."""
    # The change cursor first: a change committed while the entries are read is applied again
    # at the next search (adding and removing entries is idempotent), never missed.
    full = SearchChange.objects.filter(full=True).order_by("-id").values_list("id", "stamp").first()
    # A full reindex restarts the log, so a change below it was written by another process while
    # that reindex ran on a shadow copy (a review published during an import, carried over by
    # maillage.shadow): the snapshot does not hold it, the entries do. Build from them then.
    stale = full is not None and SearchChange.objects.filter(id__lt=full[0]).exists()
    snapshot = SearchSnapshot.objects.filter(change_id=full[0] if full and not stale else None)
    parts = {part: bytes(data) for part, data in snapshot.values_list("part", "data")}
    if parts:
        change_id, stamp = full
        engine = Engine.load(parts)
        del parts
    else:
        change_id, stamp = _last_change()
        engine = Engine.build(_read_entries(0))
    places = _load_places()
    counts = Counter(engine.term_counts())
    commune_sizes = np.bincount(engine.commune, minlength=len(engine.codes["commune"].values))
    entries_of = dict(zip(engine.codes["commune"].values, commune_sizes.tolist(), strict=True))
    for w, code in zip(places.commune_words, places.commune_codes, strict=True):
        if not w.isdigit():
            counts[w] += entries_of.get(code, 0) + 1
    for w in _profession_words()[0]:
        counts[w] += 1000
    correction: dict[tuple[str, int], list[str]] = defaultdict(list)
    for w in counts:
        if len(w) >= 3 and not w.isdigit():
            correction[(w[0], len(w))].append(w)
    state = _State(
        engine=engine,
        places=places,
        correction_words=dict(correction),
        correction_weight=dict(counts),
        change_id=change_id,
        change_stamp=stamp,
        max_id=int(engine.ids[-1]) if engine.n else 0,
        home_communes=_home_communes(),
    )
    changes = _changes_since(state)  # partial changes since the snapshot
    return _apply(state, changes) if changes else state


def _apply(state: _State, changes: list[tuple[int, str]]) -> _State:
    removed: list[int] = []
    for text in SearchChange.objects.filter(id__in=[c for c, _ in changes]).values_list(
        "removed", flat=True
    ):
        removed += [int(x) for x in text.split(",") if x]
    frame = _read_entries(state.max_id)
    engine = state.engine.extend(frame, removed)
    change_id, stamp = changes[-1]
    return replace(
        state,
        engine=engine,
        change_id=change_id,
        change_stamp=stamp,
        max_id=int(engine.ids[-1]) if engine.n else 0,
    )


def _home_communes() -> list[str]:
    from maillage.config import DEFAULT_TERRITORY
    from maillage.territory.services import UnknownTerritory, commune_codes

    try:
        return commune_codes(DEFAULT_TERRITORY)
    except UnknownTerritory:
        return []


def _load_places() -> _Places:
    info = {}
    by_name: dict[str, list[str]] = defaultdict(list)
    by_postal: dict[str, list[str]] = defaultdict(list)
    postal_of: dict[str, list[str]] = {}
    pairs = []
    for code, name, population, postal_codes, lat, lon in Commune.objects.values_list(
        "code", "name", "population", "postal_codes", "latitude", "longitude"
    ):
        info[code] = (name, population or 0, lat, lon)
        by_name[normalise(name)].append(code)
        postal_of[code] = sorted(_postal_codes(postal_codes))
        for postal in postal_of[code]:
            by_postal[postal].append(code)
        for w in _commune_words(code, name, postal_codes):
            pairs.append((w, code))
    for codes in (*by_name.values(), *by_postal.values()):
        codes.sort(key=lambda c: -info[c][1])
    pairs.sort()
    return _Places(
        commune_words=[w for w, _ in pairs],
        commune_codes=[c for _, c in pairs],
        commune_info=info,
        commune_by_name=dict(by_name),
        commune_by_postal=dict(by_postal),
        postal_by_code=postal_of,
    )


def load_index() -> None:
    """Load (or refresh) this process's index now, e.g. when a server starts, so that the first
    visitor does not wait for it."""
    _current()


def _postal_codes(text: str) -> list[str]:
    return re.findall(r"\d{5}", text or "")


def _commune_words(code: str, name: str, postal_codes: str) -> set[str]:
    return {*_words(name), code.lower(), *_postal_codes(postal_codes)}


# --------------------------------------------------------------------------------------------
# Places


def resolve_place(text: str) -> Commune | None:
    """The commune meant by ``text``: an INSEE code, a commune name, or an address whose postal
    code and/or commune name identify it ("12 rue X 52200 Langres"); None if nothing fits.

    There is no street-level geocoder offline, so an address resolves to its commune's centroid;
    a postal code shared by several communes resolves to the one named in the text, else to the
    most populous. Names are matched without accents or case, then with typo tolerance.
    """
    state = _current()
    code = _place_code(text, state.places, state.home_communes)
    return Commune.objects.filter(code=code).first() if code else None


def _place_code(text: str, voc: _Places, home: Iterable[str] = ()) -> str | None:
    """The INSEE code of the commune :func:`resolve_place` finds."""
    return _place_choices(text, voc, home)[0]


def _place_choices(
    text: str, voc: _Places, home: Iterable[str] = ()
) -> tuple[str | None, list[str]]:
    """The commune ``text`` means and the others it may mean ("vouliez-vous dire").

    A bare 5-digit text is a postal code first (52200: Langres, then its neighbours, then
    Flagey whose INSEE code it is); an address is resolved by its postal code and the commune
    name written in it (the last one: "12 rue de la Marne, Chaumont" is in Chaumont, not in
    La Marne); communes of the platform's territory come first, then the most populous."""
    if not text or not text.strip():
        return None, []
    raw = text.strip()
    if re.fullmatch(r"\d[0-9AaBb]\d{3}", raw):
        insee = raw.upper()
        postal = _ordered(voc.commune_by_postal.get(raw, []), voc, home)
        if postal:
            others = postal[1:]
            if insee in voc.commune_info and insee not in postal:
                others.insert(0, insee)
            return postal[0], others
        return (insee, []) if insee in voc.commune_info else (None, [])
    words = _split(raw)
    candidates: list[str] = []
    for postal in _postal_codes(raw):
        candidates += voc.commune_by_postal.get(postal, [])
        if postal in voc.commune_info and not voc.commune_by_postal.get(postal):
            candidates.append(postal)  # an INSEE code inside an address
    candidates = _ordered(candidates, voc, home)
    named: list[tuple[int, int, list[str]]] = []  # (end, size, codes) of every name in the text
    for size in range(min(len(words), _LONGEST_PHRASE), 0, -1):
        for start in range(len(words) - size + 1):
            phrase = " ".join(words[start : start + size])
            if phrase in voc.commune_by_name:
                named.append((start + size, size, voc.commune_by_name[phrase]))
    named.sort(key=lambda n: (-n[0], -n[1]))
    if candidates:
        for _end, _size, codes in named:
            both = [c for c in candidates if c in codes]
            if both:  # the postal code and the name agree: no doubt left
                return both[0], []
        return candidates[0], candidates[1:]
    if named:
        codes = _ordered(named[0][2], voc, home)
        return codes[0], codes[1:]
    code = _fuzzy_commune(normalise(raw), voc)
    return code, []


def _place_alternative(code: str, voc: _Places, typed: str = "") -> tuple[str, str]:
    """(label, text of "Où" that resolves to ``code``) for a "vouliez-vous dire" link."""
    name = voc.commune_info[code][0]
    postal = voc.postal_by_code.get(code, [])
    if code == typed.strip().upper():
        label = f"{name} (code INSEE {code})"
    else:
        label = f"{name} ({', '.join(postal) or code})"
    return label, f"{name} {min(postal)}" if postal else name


def _fuzzy_commune(norm: str, voc: _Places) -> str | None:
    from rapidfuzz import fuzz, process

    if len(norm) < 4:
        return None
    names = [n for n in voc.commune_by_name if n[:1] == norm[:1]]
    best = process.extractOne(norm, names, scorer=fuzz.ratio, score_cutoff=85)
    return voc.commune_by_name[best[0]][0] if best else None


# --------------------------------------------------------------------------------------------
# Query and result


@dataclass
class SearchQuery:
    text: str = ""
    profession: str | None = None
    specialty: str | None = None
    commune: str | None = None
    near: str | None = None
    radius_km: float | None = None
    kind: str | None = None
    structure_kind: str | None = None
    accepts_new_patients: bool | None = None
    teleconsultation: bool | None = None
    language: str | None = None
    open_now: bool = False
    include_private: bool = False
    page: int = 1
    page_size: int = 20


@dataclass
class SearchResult:
    total: int
    page: int
    pages: int
    items: list[SearchEntry]
    corrected_text: str | None = None
    center: tuple[float, float] | None = None
    near_label: str | None = None
    #: True when ``near`` named no known place (the result is then empty).
    place_not_found: bool = False
    #: The normalised words searched, after correction.
    words: list[str] = field(default_factory=list)
    #: Other communes the place (``near``) may have meant, "vouliez-vous dire" (a postal code
    #: shared by several communes, or also an INSEE code): (label, text resolving to it).
    place_alternatives: list[tuple[str, str]] = field(default_factory=list)
    #: The radius searched around ``center`` (km): ``radius_km`` or the one of "près de X".
    radius_km: float | None = None
    #: The service category put first, nearest first ("urgences"), and how many such services
    #: lead the results (their items have ``nearest = True`` and a ``distance_km``).
    nearest: str | None = None
    nearest_count: int = 0


class QueryTooLarge(ValueError):
    """A free text beyond :data:`MAX_QUERY_CHARS` characters or :data:`MAX_QUERY_WORDS` words."""


def query_text(text: str | None, name: str = "q") -> str:
    """The one parser of user search text (pages and API): stripped, bounded, or refused.

    Raises :class:`QueryTooLarge` (a ValueError with a French message naming ``name``) when the
    text is longer than :data:`MAX_QUERY_CHARS` characters or has more than
    :data:`MAX_QUERY_WORDS` words, before any normalisation work on it.
    """
    text = (text or "").strip()
    if len(text) > MAX_QUERY_CHARS:
        raise QueryTooLarge(
            f"{name} est trop long : {len(text)} caractères (au plus {MAX_QUERY_CHARS})"
        )
    n_words = len(normalise(text).split())
    if n_words > MAX_QUERY_WORDS:
        raise QueryTooLarge(f"{name} compte trop de mots : {n_words} (au plus {MAX_QUERY_WORDS})")
    return text


def _validate(query: SearchQuery) -> None:
    from maillage.directory.models import SchemeKind, StructureKind

    query_text(query.text, "q")
    if query.near:
        query_text(query.near, "near")

    if query.radius_km is not None:
        if not query.near:
            raise ValueError(
                "radius_km (rayon) demande aussi near : une commune ou une adresse autour de "
                "laquelle chercher"
            )
        if not (0 < float(query.radius_km) <= MAX_RADIUS_KM):
            raise ValueError(f"radius_km doit être compris entre 0 et {MAX_RADIUS_KM:g} km")
    if query.specialty and query.specialty not in SPECIALTIES:
        raise ValueError(
            f"spécialité inconnue : {query.specialty!r} (attendu : un code TRE_R38 comme 'SM54')"
        )
    if query.profession:
        _profession_conditions(query.profession)
    if query.kind and query.kind not in SearchEntry.Kind.values:
        raise ValueError(
            f"type d'entrée inconnu : {query.kind!r} (attendu : "
            + ", ".join(SearchEntry.Kind.values)
            + ")"
        )
    if query.structure_kind and query.structure_kind not in {
        *StructureKind.values,
        *SchemeKind.values,
    }:
        raise ValueError(
            f"type de structure inconnu : {query.structure_kind!r} (attendu : "
            + ", ".join(sorted({*StructureKind.values, *SchemeKind.values}))
            + ")"
        )
    if query.language and not re.fullmatch(r"[a-z]{2}", query.language):
        raise ValueError(
            f"langue invalide : {query.language!r} (attendu : un code ISO 639-1 comme 'en')"
        )
    if query.commune and not re.fullmatch(r"\d[0-9AB]\d{3}", query.commune):
        raise ValueError(f"commune invalide : {query.commune!r} (attendu : un code INSEE)")
    if not isinstance(query.page, int) or not 1 <= query.page <= MAX_PAGE:
        raise ValueError(f"page doit être un entier compris entre 1 et {MAX_PAGE}")
    if not isinstance(query.page_size, int) or not 1 <= query.page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size doit être compris entre 1 et {MAX_PAGE_SIZE}")


# --------------------------------------------------------------------------------------------
# The search


def _word(word: str, state: _State) -> Word:
    """What ``word`` may match: name words it prefixes (or its singular, its feminine: "stem"),
    communes (as typed) and professions (either form), and the synonyms of its singular."""
    places = state.places
    a, b = prefix_span(places.commune_words, word)
    words, conditions = _profession_words()
    professions: set = set()
    prefixes = _minimal({word, stem(word)})
    for prefix in prefixes:
        a3, b3 = prefix_span(words, prefix)
        professions.update(*conditions[a3:b3])
    names = {(p,) for p in prefixes}
    concept = _synonyms().get(fold(word))
    if concept is not None:
        professions.update(concept.professions)
        if len(word) < 4:  # "ch", "ide", "mg": the synonyms only, not every "ch…" name
            names = set()
        names |= set(concept.names)
        if not names:
            names = {(word,)}
    return Word(
        word,
        sorted(set(places.commune_codes[a:b])),
        sorted(professions, key=repr),
        names=tuple(sorted(names)) if names != {(word,)} else (),
    )


def _minimal(prefixes: Iterable[str]) -> list[str]:
    """The prefixes not covered by a shorter one of the set ("pharmaci" covers "pharmacie")."""
    out: list[str] = []
    for p in sorted(set(prefixes), key=len):
        if not any(p.startswith(q) for q in out):
            out.append(p)
    return out


def _known(w: Word, engine: Engine) -> bool:
    """Whether ``w`` is a word of the index (a commune or profession word with no entry yet is
    still a word, not a typo)."""
    return bool(w.communes or w.professions or engine.names_count(w))


#: The words that introduce a place in free text: "pharmacies autour de Chaumont" searches
#: around Chaumont (within :data:`NEAR_WORDS_RADIUS_KM`), as if it had been typed in "Où".
NEAR_MARKERS = tuple(
    tuple(m.split())
    for m in (
        "a proximite de", "a proximite d", "aux alentours de", "aux alentours d", "alentours de",
        "autour de", "autour d", "pres de", "pres d", "proche de", "proche d", "vers", "autour",
        "pres", "proche",
    )
)  # fmt: skip
NEAR_WORDS_RADIUS_KM = 15.0
#: Abbreviations of place names: "st dizier" is Saint-Dizier.
_PLACE_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
_LONGEST_PHRASE = 6


@dataclass
class _Parsed:
    words: list[Word]
    #: Communes the text names as a whole ("chaumont", "saint dizier", "52200"): ranked first.
    place: list[str]
    #: The place of "près de X" / "autour de X", searched around.
    near: str | None = None
    #: Positions in ``words`` of the place words ("joinville" in "urgences joinville").
    place_words: tuple[int, ...] = ()
    #: The service category of a "nearest" word of the query ("urgences"), if any.
    nearest: str | None = None


def _split(text: str) -> list[str]:
    return [_PLACE_ABBREVIATIONS.get(w, w)[:TOKEN_MAX] for w in normalise(text or "").split()]


def _ordered(codes: Iterable[str], voc: _Places, home: Iterable[str] = ()) -> list[str]:
    """``codes`` with the platform's territory first, then the most populous."""
    home = set(home)
    return sorted(set(codes), key=lambda c: (c not in home, -voc.commune_info[c][1], c))


def _parse(text: str, state: _State, find_near: bool = True) -> _Parsed:
    """The one reading of the search box: "près de / autour de X" (a place to search around),
    phrases of the synonym table ("prise de sang"), commune names typed whole ("saint dizier"),
    postal codes, then every other word (stopwords dropped), each a :class:`Word`."""
    voc = state.places
    raw = _split(text)
    near = None
    if find_near:
        for i in range(len(raw)):
            marker = next((m for m in NEAR_MARKERS if tuple(raw[i : i + len(m)]) == m), None)
            if marker and i + len(marker) < len(raw):
                rest = raw[i + len(marker) :]
                phrase = " ".join(rest)
                if phrase in voc.commune_by_name or (
                    len(rest) == 1 and rest[0].isdigit() and _digits_communes(rest[0], voc)
                ):
                    near, raw = phrase, raw[:i]
                    break
        if near is None:
            near, raw = _address(raw, voc)
    synonyms = _synonyms()
    claimed = [False] * len(raw)
    spans: list[tuple[int, int, str]] = []  # (start, end, what)
    for kind in ("synonym", "place"):
        for size in range(_LONGEST_PHRASE, 0, -1):
            for i in range(len(raw) - size + 1):
                if any(claimed[i : i + size]):
                    continue
                window = raw[i : i + size]
                if window[0] in STOPWORDS or window[-1] in STOPWORDS:
                    continue
                phrase = " ".join(window)
                if kind == "synonym":
                    hit = size > 1 and _phrase_key(window) in synonyms
                else:
                    hit = phrase in voc.commune_by_name and (
                        size > 1 or len(phrase) >= 3 and phrase not in synonyms
                    )  # a word of the synonym table is that ("sos"), not the commune Sos
                    hit = hit or (
                        size == 1 and phrase.isdigit() and bool(_digits_communes(phrase, voc))
                    )
                if hit:
                    spans.append((i, i + size, kind))
                    claimed[i : i + size] = [True] * size
    words: list[Word] = []
    place: list[str] = []
    at_place: list[int] = []
    nearest: str | None = None
    starts = {start: (end, kind) for start, end, kind in spans}
    i = 0
    seen: set[str] = set()
    place_words = 0
    while i < len(raw):
        if i in starts:
            end, kind = starts[i]
            window = raw[i:end]
            phrase = " ".join(window)
            if kind == "synonym":
                concept = synonyms[_phrase_key(window)]
                nearest = nearest or concept.nearest
                typed = tuple(w for w in window if w not in STOPWORDS and len(w) > 1)
                words.append(
                    Word(phrase, [], list(concept.professions), names=(*concept.names, typed))
                )
            elif phrase.isdigit():
                place_words += 1
                at_place.append(len(words))
                codes = _digits_communes(phrase, voc)
                place += codes
                words.append(replace(_word(phrase, state), names=()))
            else:
                place_words += 1
                at_place.append(len(words))
                codes = voc.commune_by_name[phrase]
                place += codes
                if end - i == 1:
                    words.append(_word(phrase, state))
                else:
                    typed = tuple(w for w in window if w not in STOPWORDS and len(w) > 1)
                    words.append(Word(phrase, list(codes), names=(typed,)))
            seen.add(phrase)
            i = end
            continue
        w = raw[i]
        i += 1
        if len(w) > 1 and w not in STOPWORDS and w not in seen:
            seen.add(w)
            words.append(_word(w, state))
            concept = synonyms.get(fold(w))
            nearest = nearest or (concept.nearest if concept else None)
    if place_words == len(words):
        place = []  # a place alone ("langres"): a Dr Langresson is not put after its people
    return _Parsed(words, _ordered(place, voc, state.home_communes), near, tuple(at_place), nearest)


#: The words of a street in an address ("12 rue de la Marne", "4 av. de la République").
STREET_WORDS = frozenset(
    "rue rues avenue av bd boulevard place pl chemin che route rte allee allees impasse imp quai "
    "cours faubourg fg square esplanade sentier passage chaussee promenade".split()
)


def _address(raw: list[str], voc: _Places) -> tuple[str | None, list[str]]:
    """An address at the end of the free text ("pharmacie 12 rue de la Marne 52000 Chaumont"):
    the address (searched around its commune) and the words before it; else (None, raw). The
    address must name its commune by postal code or name."""
    for i, w in enumerate(raw):
        number = w.isdigit() and len(w) <= 4
        at = i + 1 if number else i
        if number and at < len(raw) and raw[at] in ("bis", "ter"):
            at += 1
        if at < len(raw) and raw[at] in STREET_WORDS:
            rest = raw[at + 1 :]
            named = any(
                " ".join(rest[a:b]) in voc.commune_by_name
                for a in range(len(rest))
                for b in range(a + 1, min(len(rest), a + _LONGEST_PHRASE) + 1)
            )
            postal = any(len(x) == 5 and x in voc.commune_by_postal for x in rest)
            if named or postal:
                return " ".join(raw[i:]), raw[:i]
    return None, raw


def _digits_communes(digits: str, voc: _Places) -> list[str]:
    """The communes of a postal code, else of an INSEE code (a postal code first: "52200" is
    Langres and its neighbours, not Flagey)."""
    postal = voc.commune_by_postal.get(digits)
    if postal:
        return list(postal)
    return [digits] if digits in voc.commune_info else []


#: Spellings of one sound, tried before any fuzzy match: "farmacie" is "pharmacie".
_SOUNDS = (("ph", "f"), ("f", "ph"), ("k", "qu"), ("qu", "k"), ("y", "i"), ("i", "y"))


def _correct(word: str, state: _State, other: bool = False) -> str | None:
    """The closest vocabulary word to an unknown ``word`` (same sound, same first letter, else
    any); with ``other``, the closest word that is not ``word`` itself (a known word that found
    nothing with the rest of the query: "pharmacei" is a rare FINESS word)."""
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    if len(word) < 3 or word.isdigit():
        return None
    for spelt, sound in _SOUNDS:
        if spelt in word:
            respelt = word.replace(spelt, sound)
            if state.correction_weight.get(respelt, 0) > state.correction_weight.get(word, 0):
                return respelt
    limit = 1 if len(word) <= 5 else 2
    lengths = range(len(word) - limit, len(word) + limit + 1)
    vocabulary = state.correction_words
    same_letter = [w for n in lengths for w in vocabulary.get((word[0], n), [])]
    for pool in (same_letter, None):
        if pool is None:  # a typo on the first letter: every word of a close length
            pool = [w for (_c, n), ws in vocabulary.items() if n in lengths for w in ws]
        found = process.extract(word, pool, scorer=OSA.distance, score_cutoff=limit, limit=20)
        if other:
            found = [f for f in found if f[0] != word]
        if found:
            found.sort(key=lambda f: (f[1], -state.correction_weight.get(f[0], 0), f[0]))
            return found[0][0]
    return None


def _retry_word(w: Word, state: _State) -> Word:
    """``w`` replaced by the closest other vocabulary word when it is rare (a single word)."""
    if " " in w.prefix or len(w.prefix) < 5 or w.communes or w.professions:
        return w
    if state.engine.names_count(w) > 20:
        return w
    fixed = _correct(w.prefix, state, other=True)
    return _word(fixed, state) if fixed else w


def search(query: SearchQuery, *, now: datetime | None = None) -> SearchResult:
    """Run ``query`` over the index: the one search of pages, API and benchmark.

    Raises ValueError with a French message naming the parameter for any invalid input.
    """
    _validate(query)
    state = _current()
    engine = state.engine

    # The free text read once: words, communes named whole, "près de X".
    parsed = _parse(query.text, state, find_near=not query.near)
    near_text, radius_km = query.near, float(query.radius_km) if query.radius_km else None
    if parsed.near:
        near_text, radius_km = parsed.near, NEAR_WORDS_RADIUS_KM

    # Places first: an unknown place gives an empty result, not an error (it is user text).
    center = near_label = None
    alternatives: list[tuple[str, str]] = []
    if near_text:
        code, others = _place_choices(near_text, state.places, state.home_communes)
        name, _population, latitude, longitude = state.places.commune_info.get(
            code, ("", 0, None, None)
        )
        if latitude is None or longitude is None:
            return SearchResult(0, query.page, 0, [], place_not_found=True)
        center, near_label = (latitude, longitude), name
        alternatives = (
            [_place_alternative(c, state.places, near_text) for c in others[:5]]
            if query.near
            else []
        )

    # Words, corrected when they match nothing.
    words: list[Word] = []
    corrected = False
    for w in parsed.words:
        if not _known(w, engine) and " " not in w.prefix:
            fixed = _correct(w.prefix, state)
            if fixed:
                w = _word(fixed, state)
                corrected = True
        words.append(w)
    searched = [w.prefix for w in words]
    corrected_text = " ".join(searched) if corrected else None
    if any(not _known(w, engine) for w in words):
        return SearchResult(
            0, query.page, 0, [], corrected_text, center, near_label, words=searched,
            place_alternatives=alternatives,
        )  # fmt: skip

    criteria = Criteria(
        words=words,
        public_only=not query.include_private,
        kind=query.kind or None,
        professions=_profession_conditions(query.profession) if query.profession else None,
        specialty=query.specialty or None,
        commune=query.commune or None,
        structure_kind=query.structure_kind or None,
        accepts_new_patients=query.accepts_new_patients,
        teleconsultation=query.teleconsultation,
        language=query.language or None,
        center=center,
        radius_km=radius_km,
    )
    if query.open_now:
        (criteria.open_locations, criteria.open_services, criteria.services_with_hours) = _open_now(
            now or datetime.now(PARIS)
        )
    selection = engine.select(criteria)
    if not len(selection.positions) and not corrected:
        # Nothing: a word may be a rare real word typed for a common one ("pharmacei").
        retry = [_retry_word(w, state) for w in words]
        if any(r is not w for r, w in zip(retry, words, strict=True)):
            again = engine.select(replace(criteria, words=retry))
            if len(again.positions):
                selection, words = again, retry
                searched = [w.prefix for w in words]
                corrected_text = " ".join(searched)
    pinned: list[int] = []
    if parsed.nearest and query.kind in (None, "", "service"):
        if center is None and parsed.place:  # "urgences joinville": from Joinville
            name, _population, latitude, longitude = state.places.commune_info[parsed.place[0]]
            if latitude is not None and longitude is not None:
                center, near_label = (latitude, longitude), name
        pinned, selection = _nearest_first(parsed, criteria, words, selection, center, state)
    total = len(pinned) + len(selection.positions)
    offset = (query.page - 1) * query.page_size
    ids = pinned[offset : offset + query.page_size]
    if len(ids) < query.page_size:
        ids = ids + engine.page(
            selection, words, center, max(0, offset - len(pinned)),
            query.page_size - len(ids), _titles, state.home_communes, parsed.place,
        )  # fmt: skip
    found = SearchEntry.objects.select_related("commune").in_bulk(ids)
    items = [found[i] for i in ids if i in found]
    first = set(pinned)
    for item in items:
        item.nearest = item.id in first
    distances = [None] * len(items)
    if center and items:
        latitudes = np.array([i.latitude for i in items], dtype=float)
        longitudes = np.array([i.longitude for i in items], dtype=float)
        distances = haversine_km(*center, latitudes, longitudes).round(2).tolist()
    for item, distance in zip(items, distances, strict=True):
        item.distance_km = None if distance is None or math.isnan(distance) else distance
    pages = max(1, math.ceil(total / query.page_size)) if total else 0
    return SearchResult(
        total=total,
        page=query.page,
        pages=pages,
        items=items,
        corrected_text=corrected_text,
        center=center,
        near_label=near_label,
        words=searched,
        place_alternatives=alternatives,
        radius_km=radius_km if center else None,
        nearest=parsed.nearest if pinned else None,
        nearest_count=len(pinned),
    )


def _nearest_first(
    parsed: _Parsed,
    criteria: Criteria,
    words: list[Word],
    selection: Selection,
    center: tuple[float, float] | None,
    state: _State,
) -> tuple[list[int], Selection]:
    """The services of ``parsed.nearest``'s category ("urgences") that meet the query but its
    place (nor any radius), as entry ids nearest to ``center`` first (without a centre, the
    platform's territory first), and ``selection`` without them.

    Someone who types "urgences joinville" wants the emergency department nearest Joinville,
    even with none in Joinville and none within the radius: those services lead the results,
    with their distance, before what the query matches in the place itself."""
    from maillage.directory.models import HealthcareService

    engine = state.engine
    services = np.fromiter(
        HealthcareService.objects.filter(category=parsed.nearest).values_list("id", flat=True),
        dtype=np.int64,
    )
    if not len(services):
        return [], selection
    kept = [w for i, w in enumerate(words) if i not in parsed.place_words]
    wide = engine.select(
        replace(criteria, words=kept, kind="service", commune=None, center=None, radius_km=None)
    )
    at = wide.positions[isin(engine.object_ids[wide.positions], services)]
    if not len(at):
        return [], selection
    if center is not None:
        distances = np.nan_to_num(haversine_km(*center, engine.lat[at], engine.lon[at]), nan=1e9)
        ids = [int(engine.ids[p]) for p in at[np.lexsort((engine.ids[at], distances))]]
    else:
        ids = engine.page(Selection(at, None), [], None, 0, len(at), _titles,
                          state.home_communes)  # fmt: skip
    keep = ~isin(selection.positions, at)
    distances = selection.distances[keep] if selection.distances is not None else None
    return ids, Selection(selection.positions[keep], distances)


def _titles(ids: list[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for start in range(0, len(ids), RANK_LIMIT):  # one query (RANK_LIMIT ids at most)
        found.update(
            SearchEntry.objects.filter(id__in=ids[start : start + RANK_LIMIT]).values_list(
                "id", "title_norm"
            )
        )
    return found


def _open_now(now: datetime) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ids of the places and services open at ``now`` and of the services with hours of their
    own, with the rules of :mod:`maillage.directory.hours`: the weekly pattern of the day unless
    an exception covers the date; a closed exception closes all day; exception hours replace the
    weekly ones. Services without hours of their own follow their place's."""
    from maillage.directory.models import OpeningException
    from maillage.directory.models import OpeningHours as Hours

    local = now.astimezone(PARIS) if now.tzinfo else now.replace(tzinfo=PARIS)
    day, moment, weekday = local.date(), local.time().replace(tzinfo=None), local.weekday()

    def open_ids(fk: str) -> np.ndarray:
        def ids(model, **conditions) -> set[int]:
            return set(
                model.objects.filter(**{f"{fk}__isnull": False}, **conditions).values_list(
                    fk, flat=True
                )
            )

        covering = {"start_date__lte": day, "end_date__gte": day}
        weekly = ids(Hours, weekday=weekday, opens__lte=moment, closes__gt=moment)
        excepted = ids(OpeningException, **covering)
        special = ids(
            OpeningException, **covering, closed=False, opens__lte=moment, closes__gt=moment
        )
        closed = ids(OpeningException, **covering, closed=True)
        return np.fromiter((weekly - excepted) | (special - closed), dtype=np.int64)

    with_hours = Hours.objects.filter(service__isnull=False).values_list("service", flat=True)
    return (
        open_ids("location"),
        open_ids("service"),
        np.fromiter(set(with_hours), dtype=np.int64),
    )


# --------------------------------------------------------------------------------------------
# Indexing

_ENTRY_COLUMNS = (
    "id",
    "kind",
    "object_id",
    "title",
    "subtitle",
    "title_norm",
    "text",
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
    "synthetic",
    "public",
    "weight",
    "words",
)


@dataclass
class _Doc:
    """One entry to write, with its name words (searched by prefix)."""

    kind: str
    object_id: int
    title: str
    subtitle: str
    name_words: set[str]
    extra_text: str
    profession_code: str = ""
    specialty_code: str = ""
    structure_kind: str = ""
    commune_id: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    accepts_new_patients: bool | None = None
    teleconsultation: bool = False
    languages: str = ""
    location_id: int | None = None
    synthetic: bool = False
    public: bool = True
    title_norm: str = ""

    def row(self, entry_id: int, communes: dict) -> tuple:
        name, population, lat, lon = communes.get(self.commune_id, ("", 0, None, None))
        latitude, longitude = self.latitude, self.longitude
        if latitude is None or longitude is None:
            latitude, longitude = lat, lon
        title_norm = (self.title_norm or _norm(self.title))[:250]
        # Every word the entry answers to, for reading and for the naive benchmark peer.
        text = f"{title_norm} {_norm(self.extra_text)} {_norm(name)}".strip()
        langs = (
            [x.strip().lower() for x in self.languages.split(",") if x.strip()]
            if self.languages
            else []
        )
        return (
            entry_id,
            self.kind,
            self.object_id,
            self.title[:250],
            self.subtitle[:250],
            title_norm,
            text,
            self.profession_code[:4],
            self.specialty_code[:8],
            self.structure_kind[:24],
            self.commune_id if self.commune_id in communes else None,
            latitude,
            longitude,
            self.accepts_new_patients,
            bool(self.teleconsultation),
            ("," + ",".join(langs) + ",")[:60] if langs else "",
            self.location_id,
            bool(self.synthetic),
            bool(self.public),
            population,
            " ".join(sorted(self.name_words)),
        )


def _join(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)


def _role_docs(role_ids: Iterable[int] | None = None) -> Iterator[_Doc]:
    from maillage.directory.models import PractitionerRole

    qs = PractitionerRole.objects.filter(active=True, location__isnull=False)
    if role_ids is not None:
        qs = qs.filter(id__in=list(role_ids))
    fields = (
        "id",
        "practitioner__given_name",
        "practitioner__family_name",
        "practitioner__languages",
        "practitioner__synthetic",
        "profession_code",
        "specialty_code",
        "accepts_new_patients",
        "teleconsultation",
        "synthetic",
        "location_id",
        "location__name",
        "location__commune_id",
        "location__latitude",
        "location__longitude",
        "location__teleconsultation",
        "organization__kind",
        "location__organization__kind",
    )
    for (rid, given, family, langs, p_synth, prof, spec, accepts, tele, synth, loc, loc_name,
         commune, lat, lon, loc_tele, org_kind, loc_org_kind) in qs.values_list(*fields).iterator(
        chunk_size=20_000
    ):  # fmt: skip
        title = _join(given, family) or family or "(sans nom)"
        label = _profession_label(prof, spec)
        yield _Doc(
            kind="role",
            object_id=rid,
            title=title,
            subtitle=_join(label, "·", loc_name),
            name_words={*_words(given or ""), *_words(family or ""), *_words(loc_name or "")},
            extra_text=label,
            profession_code=prof or "",
            specialty_code=spec or "",
            structure_kind=org_kind or loc_org_kind or "cabinet",
            commune_id=commune,
            latitude=lat,
            longitude=lon,
            accepts_new_patients=accepts,
            teleconsultation=bool(tele or loc_tele),
            languages=langs or "",
            location_id=loc,
            synthetic=bool(synth or p_synth),
            title_norm=_join(_norm(given or ""), _norm(family or "")),
        )


_KIND_WORDS = {"hopital": "hôpital hospitalier", "pharmacie": "pharmacie officine"}


def _organization_docs(org_ids: Iterable[int] | None = None) -> Iterator[_Doc]:
    from maillage.directory.models import Location, Organization, StructureKind

    qs = Organization.objects.all()
    locations_qs = Location.objects.filter(organization__isnull=False)
    if org_ids is not None:
        qs = qs.filter(id__in=list(org_ids))
        locations_qs = locations_qs.filter(organization_id__in=list(org_ids))
    first_location = dict(
        locations_qs.values_list("organization_id")
        .annotate(m=Min("id"))
        .values_list("organization_id", "m")
    )
    labels = dict(StructureKind.choices)
    fields = ("id", "name", "category_label", "city", "commune_id", "latitude", "longitude",
              "kind", "synthetic")  # fmt: skip
    for oid, name, category, city, commune, lat, lon, kind, synth in qs.values_list(
        *fields
    ).iterator(chunk_size=20_000):
        kind_label = labels.get(kind, "")
        yield _Doc(
            kind="organization",
            object_id=oid,
            title=name,
            subtitle=_join(category or kind_label, "·", city),
            name_words={
                *_words(name),
                *_words(category or ""),
                *_words(kind_label),
                *_words(_KIND_WORDS.get(kind, "")),
            },  # fmt: skip
            extra_text="",
            structure_kind=kind or "",
            commune_id=commune,
            latitude=lat,
            longitude=lon,
            location_id=first_location.get(oid),
            synthetic=bool(synth),
        )


def _scheme_docs(scheme_ids: Iterable[int] | None = None) -> Iterator[_Doc]:
    from maillage.directory.models import Scheme, SchemeKind

    qs = Scheme.objects.select_related("location", "organization", "commune")
    if scheme_ids is not None:
        qs = qs.filter(id__in=list(scheme_ids))
    labels = dict(SchemeKind.choices)
    statuses = dict(Scheme.Status.choices)
    for s in qs.iterator(chunk_size=2000):
        commune = s.commune_id or (s.location.commune_id if s.location else None)
        if commune is None and s.organization:
            commune = s.organization.commune_id
        lat = s.location.latitude if s.location else None
        lon = s.location.longitude if s.location else None
        if lat is None and s.organization:
            lat, lon = s.organization.latitude, s.organization.longitude
        label = labels.get(s.kind, s.kind)
        yield _Doc(
            kind="scheme",
            object_id=s.id,
            title=s.name,
            subtitle=_join(label, "·", statuses.get(s.status, "")),
            name_words={*_words(s.name), *_words(label), *_words(_KIND_WORDS.get(s.kind, ""))},
            extra_text=s.description[:500],
            structure_kind=s.kind,
            commune_id=commune,
            latitude=lat,
            longitude=lon,
            location_id=s.location_id,
            synthetic=s.synthetic,
            public=s.public,
        )


def _service_docs(service_ids: Iterable[int] | None = None) -> Iterator[_Doc]:
    from maillage.directory.models import HealthcareService

    qs = HealthcareService.objects.select_related("location", "organization")
    if service_ids is not None:
        qs = qs.filter(id__in=list(service_ids))
    for s in qs.iterator(chunk_size=2000):
        org = s.organization
        place = s.location
        yield _Doc(
            kind="service",
            object_id=s.id,
            title=s.name,
            subtitle=_join(s.category, "·", org.name),
            name_words={*_words(s.name), *_words(s.category), *_words(org.name)},
            extra_text=s.description[:500],
            structure_kind=org.kind or "",
            commune_id=place.commune_id if place else org.commune_id,
            latitude=place.latitude if place else org.latitude,
            longitude=place.longitude if place else org.longitude,
            teleconsultation=s.teleconsultation or bool(place and place.teleconsultation),
            location_id=s.location_id,
            synthetic=s.synthetic,
            public=s.public,
        )


def _commune_table() -> dict[str, tuple[str, int, float | None, float | None]]:
    return {
        code: (name, pop or 0, lat, lon)
        for code, name, pop, lat, lon in Commune.objects.values_list(
            "code", "name", "population", "latitude", "longitude"
        )
    }


def _insert(table_model, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert many rows fast: COPY on PostgreSQL, executemany on SQLite (no model instances)."""
    if not rows:
        return
    q = connection.ops.quote_name
    table = q(table_model._meta.db_table)
    cols = ", ".join(q(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"
            for start in range(0, len(rows), 50_000):
                cursor.executemany(sql, rows[start : start + 50_000])


def reindex_all() -> ImportReport:
    """Bring the whole index in line with the directory, in one transaction.

    Entries: active practitioner roles that have a place, FINESS (and other) organizations,
    schemes and healthcare services. Every entry is rebuilt in memory and compared with the row
    of the same (kind, object_id): an identical row is left alone, a changed one is rewritten
    **under its id**, a new one gets an id above every earlier one, and the rows of objects gone
    are deleted. So a national import that adds 100,000 roles writes 100,000 entries, not the
    whole index again: the shadow import (:mod:`maillage.shadow`) carries only those rows to the
    live database, and entry ids stay stable. Rows are compared by a hash of their values (one
    64-bit number per entry kept in memory, not the rows).

    When any entry changed, the change log restarts with one "full" change and the engine built
    from the new entries is saved with it (:class:`~.index.SearchSnapshot`): every process reloads
    that engine, exactly what a fresh process builds. When nothing changed nothing is written,
    and the processes keep their engine.
    """
    start = time.perf_counter()
    report = ImportReport("index")
    communes = _commune_table()
    with transaction.atomic():
        _lock_index_writes()
        if connection.vendor == "sqlite":  # a bigger page cache for the unique index
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size = -262144")
        keys, ids, hashes = _entry_hashes()
        seen = np.zeros(len(keys), dtype=bool)
        next_id = _next_entry_id()
        counts: Counter[str] = Counter()
        written: Counter[str] = Counter()
        words = 0
        chunk: list[tuple] = []

        def flush() -> None:
            nonlocal next_id
            if not chunk:
                return
            wanted = np.fromiter((_entry_key(r[1], r[2]) for r in chunk), np.int64, len(chunk))
            digest = np.fromiter((hash(r[1:]) for r in chunk), np.int64, len(chunk))
            at = np.minimum(np.searchsorted(keys, wanted), max(len(keys) - 1, 0))
            found = (keys[at] == wanted) if len(keys) else np.zeros(len(chunk), dtype=bool)
            seen[at[found]] = True
            changed = found & (hashes[at] != digest) if len(keys) else found
            rows = []
            for i in np.flatnonzero(changed).tolist():
                rows.append((int(ids[at[i]]), *chunk[i][1:]))
            _delete_entries([r[0] for r in rows])
            written["modifiées"] += len(rows)
            for i in np.flatnonzero(~found).tolist():
                rows.append((next_id, *chunk[i][1:]))
                next_id += 1
                written["ajoutées"] += 1
            _insert(SearchEntry, _ENTRY_COLUMNS, rows)
            chunk.clear()

        for docs in (_scheme_docs(), _organization_docs(), _service_docs(), _role_docs()):
            for doc in docs:
                chunk.append(doc.row(0, communes))
                words += len(doc.name_words)
                counts[doc.kind] += 1
                if len(chunk) >= 100_000:
                    flush()
        flush()
        gone = ids[~seen].tolist()
        _delete_entries(gone)
        written["supprimées"] = len(gone)
        if written["ajoutées"]:
            with connection.cursor() as cursor:
                for sql in connection.ops.sequence_reset_sql(no_style(), [SearchEntry]):
                    cursor.execute(sql)
        if sum(written.values()):
            _save_full_change()
    log.debug(
        "search index: %s entries unchanged, %s",
        len(keys) - written["modifiées"] - written["supprimées"],
        ", ".join(f"{n} {label}" for label, n in written.items()),
    )
    labels = {"role": "activités", "organization": "structures", "scheme": "dispositifs",
              "service": "services"}  # fmt: skip
    for kind, label in labels.items():
        report.counts[label] = counts[kind]
    report.counts["mots indexés"] = words
    report.seconds = time.perf_counter() - start
    return report


def _entry_key(kind: str, object_id: int) -> int:
    """(kind, object id) as one sortable integer."""
    return KINDS.index(kind) << 48 | object_id


def _entry_hashes() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every entry's (kind, object id) key, id and hash of its values, sorted by key."""
    q = connection.ops.quote_name
    columns = ", ".join(q(c) for c in _ENTRY_COLUMNS)
    keys, ids, hashes = array("q"), array("q"), array("q")  # 24 bytes an entry
    with connection.chunked_cursor() as cursor:  # server-side on PostgreSQL: rows in batches
        cursor.execute(f"SELECT {columns} FROM {q(SearchEntry._meta.db_table)}")
        while rows := cursor.fetchmany(20_000):
            for row in rows:
                keys.append(_entry_key(row[1], row[2]))
                ids.append(row[0])
                hashes.append(hash(row[1:]))
    key_array = np.frombuffer(keys, dtype=np.int64)
    order = np.argsort(key_array, kind="stable")
    return (
        key_array[order],
        np.frombuffer(ids, dtype=np.int64)[order],
        np.frombuffer(hashes, dtype=np.int64)[order],
    )


def _delete_entries(entry_ids: list[int]) -> None:
    q = connection.ops.quote_name
    table = q(SearchEntry._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(entry_ids), 900):
            batch = entry_ids[start : start + 900]
            marks = ", ".join(["%s"] * len(batch))
            cursor.execute(f"DELETE FROM {table} WHERE id IN ({marks})", batch)


def _save_full_change() -> None:
    """Restart the change log with one "full" change and save the engine of the entries with it
    (every process reloads it at its next search)."""
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in (SearchSnapshot, SearchChange):
            cursor.execute(f"DELETE FROM {q(model._meta.db_table)}")
    change = SearchChange.objects.create(stamp=uuid.uuid4().hex, full=True)
    engine = Engine.build(_read_entries(0))
    for part, data in engine.dump_parts():  # one part at a time: bounded memory
        SearchSnapshot.objects.create(change=change, part=part, data=data)


def _next_entry_id() -> int:
    """Entry ids only grow, even across full reindexes: processes holding the index in memory
    load what lies above the highest id they hold."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = %s", [SearchEntry._meta.db_table]
            )
            row = cursor.fetchone()
        return (row[0] if row else 0) + 1
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [SearchEntry._meta.db_table]
        )
        return cursor.fetchone()[0]


def _lock_index_writes() -> None:
    """Index writers take turns (until their transaction ends), so change ids and entry ids
    are committed in increasing order and a reader applying "everything above" misses none.
    SQLite serialises writers by itself."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(7254301)")


def reindex_objects(objs: Iterable[object]) -> None:
    """Refresh the entries of ``objs`` (after a published change or an edit).

    Accepts practitioners, roles, locations, organizations, schemes and services; a change to
    a place or a person refreshes every entry that shows it. Deleted objects lose their entry.
    """
    from maillage.directory.models import (
        HealthcareService,
        Location,
        Organization,
        Practitioner,
        PractitionerRole,
        Scheme,
    )

    wanted: dict[str, set[int]] = defaultdict(set)
    for obj in objs:
        if obj is None or obj.pk is None:
            continue
        if isinstance(obj, PractitionerRole):
            wanted["role"].add(obj.pk)
        elif isinstance(obj, Practitioner):
            wanted["role"] |= set(obj.roles.values_list("id", flat=True))
        elif isinstance(obj, Location):
            wanted["role"] |= set(obj.roles.values_list("id", flat=True))
            wanted["service"] |= set(obj.services.values_list("id", flat=True))
            wanted["scheme"] |= set(obj.schemes.values_list("id", flat=True))
            if obj.organization_id:
                wanted["organization"].add(obj.organization_id)
        elif isinstance(obj, Organization):
            wanted["organization"].add(obj.pk)
            wanted["service"] |= set(obj.services.values_list("id", flat=True))
        elif isinstance(obj, Scheme):
            wanted["scheme"].add(obj.pk)
        elif isinstance(obj, HealthcareService):
            wanted["service"].add(obj.pk)
        else:
            raise TypeError(f"reindex_objects: objet non indexable : {type(obj).__name__}")
    for kind, ids in wanted.items():
        reindex_ids(kind, ids)


_BUILDERS = {"role": _role_docs, "organization": _organization_docs,
             "scheme": _scheme_docs, "service": _service_docs}  # fmt: skip


def reindex_ids(kind: str, ids: Iterable[int]) -> None:
    """Refresh the entries of ``kind`` for the object ``ids`` (batched, in one transaction)."""
    ids = sorted(set(ids))
    if not ids:
        return
    communes = _commune_table()
    removed: list[int] = []
    with transaction.atomic():
        _lock_index_writes()
        for start in range(0, len(ids), 900):
            batch = ids[start : start + 900]
            old = SearchEntry.objects.filter(kind=kind, object_id__in=batch)
            removed += old.values_list("id", flat=True)
            old.delete()
            docs = list(_BUILDERS[kind](batch))
            SearchEntry.objects.bulk_create(
                [
                    SearchEntry(
                        **dict(zip(_ENTRY_COLUMNS[1:], doc.row(0, communes)[1:], strict=True))
                    )
                    for doc in docs
                ]
            )
        SearchChange.objects.create(
            stamp=uuid.uuid4().hex, removed=",".join(str(i) for i in sorted(removed))
        )
