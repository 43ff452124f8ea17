"""The one directory search: public pages, JSON API and benchmark all call :func:`search`.

Why it is built this way (details in ``docs/search.md``):

* It reads only the index tables of :mod:`maillage.directory.index`, rebuilt by
  :func:`reindex_all` and refreshed by :func:`reindex_objects`; joins happen at index time.
* Free text is normalised (case, accents, punctuation), split into words, and every word must
  match (AND) as a *prefix* of a name word of the entry, a word of its commune (name, postal code,
  INSEE code) or a profession/specialty word. Prefixes are B-tree range scans
  (``token >= 'chaumon' AND token < 'chaumoo'``) on SQLite and PostgreSQL alike: no ``LIKE
  '%…%'``, no database-specific full-text engine.
* A word that matches nothing is corrected against the index vocabulary (rapidfuzz, optimal string
  alignment distance ≤ 1 or 2), loaded once per process and cached; ``corrected_text`` tells the
  user what was actually searched.
* The query is planned in Python: the vocabulary carries entry counts, so the most selective
  word (or structured filter) drives the SQL and the other words are index probes per candidate.
* Geography needs no GIS: a bounding box on indexed latitude/longitude, then a distance written
  in plain arithmetic (equirectangular at the mid-latitude, with a second-order cosine), which
  equals the great-circle distance within 0.02 % below 100 km, so SQLite and PostgreSQL agree.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
import threading
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Count, Min, Q

from maillage.directory.index import SearchCommuneToken, SearchEntry, SearchTerm, SearchToken
from maillage.imports import ImportReport
from maillage.opendata.nomenclatures import PROFESSION_GROUPS, PROFESSIONS, SPECIALTIES
from maillage.territory.models import Commune

PARIS = ZoneInfo("Europe/Paris")
EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180.0
MAX_PAGE_SIZE = 100
MAX_RADIUS_KM = 500.0
#: Candidate sets up to this size are ranked in Python (title matches, distance, population);
#: larger ones are ordered by the database (distance, else index order) and counted up to
#: COUNT_CAP (the API then says "more than").
RANK_LIMIT = 500
COUNT_CAP = 1000
#: Vocabulary cache lifetime in a process; reindexing in the same process invalidates it at once.
VOCABULARY_TTL_S = 900
#: Words never indexed nor searched: they would match half of France.
STOPWORDS = frozenset(
    "a au aux d de des du en et l la le les un une sur sous dr docteur pr mme m mr".split()
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


_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string above every string starting with ``prefix`` (an [0-9a-z] word).

    Staying inside the alphabet keeps the bound correct under any collation that orders digits
    and ASCII letters the usual way (PostgreSQL "C" and ICU/glibc alike), unlike ``prefix +
    '\\uffff'`` or ``'{'``. None when the prefix is all "z" (no upper bound needed)."""
    chars = list(prefix)
    while chars:
        last = chars.pop()
        position = _ALPHABET.find(last)
        if 0 <= position < len(_ALPHABET) - 1:
            return "".join(chars) + _ALPHABET[position + 1]
    return None


# --------------------------------------------------------------------------------------------
# Profession words

#: Everyday words and abbreviations people type, beyond the words of the official labels.
_SYNONYMS: dict[str, list[str]] = {
    "medecin_generaliste": ["generaliste", "generalistes", "mg", "medecin traitant", "traitant"],
    "infirmier": ["infirmiere", "infirmieres", "infirmiers", "ide", "idel", "soins infirmiers"],
    "masseur_kinesitherapeute": ["kine", "kines", "kinesitherapeute", "kinesitherapie", "masseur"],
    "chirurgien_dentiste": ["dentiste", "dentistes", "dentaire", "orthodontiste"],
    "pediatre": ["pediatre", "pediatres", "pediatrie"],
    "sage_femme": ["sage femme", "sages femmes", "sagefemme", "maieuticien"],
    "orthophoniste": ["orthophonie"],
    "pedicure_podologue": ["podologue", "pedicure", "podologie"],
    "dieteticien": ["dieteticienne", "dietetique", "nutritionniste"],
    "psychomotricien": ["psychomotricienne", "psychomotricite"],
    "orthoptiste": ["orthoptie"],
    "gynecologue": ["gyneco", "gynecologie", "gynecologue"],
    "ophtalmologue": ["ophtalmo", "ophtalmologiste", "ophtalmologie", "oculiste"],
    "pneumologue": ["pneumo", "pneumologie"],
    "dermatologue": ["dermato", "dermatologie"],
    "cardiologue": ["cardio", "cardiologie"],
    "psychiatre": ["psy", "psychiatrie", "pedopsychiatre"],
    "pharmacien": ["pharmacie", "pharmacienne", "officine"],
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
        for synonym in _SYNONYMS.get(key, []):
            add(synonym, condition)
    # Words naming half the nomenclature would only slow queries down.
    noise = {"option", "et", "medecine", "chirurgie", "maladies", "reforme", "2017"}
    ordered = sorted(w for w in words if w not in noise)
    return ordered, [frozenset(words[w]) for w in ordered]


def _prefix_range(sorted_words: list[str], prefix: str) -> tuple[int, int]:
    lo = bisect.bisect_left(sorted_words, prefix)
    upper = prefix_upper_bound(prefix)
    hi = len(sorted_words) if upper is None else bisect.bisect_left(sorted_words, upper)
    return lo, hi


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
# The per-process vocabulary cache


@dataclass
class _Vocabulary:
    built: float
    name_words: list[str]
    name_cum: list[int]  # cumulative entry counts, len(name_words) + 1
    commune_words: list[str]
    commune_codes: list[str]  # parallel to commune_words
    commune_count: dict[str, int]  # entries per commune
    commune_info: dict[str, tuple[str, int, float | None, float | None]]  # name, pop, lat, lon
    commune_by_name: dict[str, list[str]]  # normalised name -> codes, most populous first
    commune_by_postal: dict[str, list[str]]
    profession_count: dict[tuple[str, str], int]  # (profession, specialty) -> entries
    kind_count: dict[str, int]
    total: int
    correction_words: dict[tuple[str, int], list[str]]  # (first letter, length) -> words
    correction_weight: dict[str, int]
    commune_arrays: tuple  # numpy arrays: latitude, longitude, entries


_cache_lock = threading.Lock()
_vocabulary: _Vocabulary | None = None


def invalidate_cache() -> None:
    """Forget the vocabulary (after a reindex; other processes pick it up within the TTL)."""
    global _vocabulary
    with _cache_lock:
        _vocabulary = None


def _load_vocabulary() -> _Vocabulary:
    global _vocabulary
    current = _vocabulary
    if current is not None and time.monotonic() - current.built < VOCABULARY_TTL_S:
        return current
    with _cache_lock:
        if _vocabulary is not None and time.monotonic() - _vocabulary.built < VOCABULARY_TTL_S:
            return _vocabulary
        terms = sorted(SearchTerm.objects.values_list("token", "entries"))
        name_words = [t for t, _ in terms]
        name_cum = [0]
        for _, n in terms:
            name_cum.append(name_cum[-1] + n)
        commune_count = dict(
            SearchEntry.objects.filter(commune__isnull=False)
            .values_list("commune_id")
            .annotate(n=Count("id"))
            .values_list("commune_id", "n")
        )
        info = {}
        by_name: dict[str, list[str]] = defaultdict(list)
        by_postal: dict[str, list[str]] = defaultdict(list)
        pairs = []
        for code, name, population, postal_codes, lat, lon in Commune.objects.values_list(
            "code", "name", "population", "postal_codes", "latitude", "longitude"
        ):
            info[code] = (name, population or 0, lat, lon)
            by_name[normalise(name)].append(code)
            for postal in _postal_codes(postal_codes):
                by_postal[postal].append(code)
            for w in _commune_words(code, name, postal_codes):
                pairs.append((w, code))
        for codes in (*by_name.values(), *by_postal.values()):
            codes.sort(key=lambda c: -info[c][1])
        pairs.sort()
        profession_count = {
            (p, s): n
            for p, s, n in SearchEntry.objects.exclude(profession_code="")
            .values_list("profession_code", "specialty_code")
            .annotate(n=Count("id"))
            .values_list("profession_code", "specialty_code", "n")
        }
        kind_count = dict(
            SearchEntry.objects.values_list("kind").annotate(n=Count("id")).values_list("kind", "n")
        )
        weights: Counter[str] = Counter(dict(terms))
        for w, code in pairs:
            if not w.isdigit():
                weights[w] += commune_count.get(code, 0) + 1
        for w in _profession_words()[0]:
            weights[w] += 1000
        correction: dict[tuple[str, int], list[str]] = defaultdict(list)
        for w in weights:
            if len(w) >= 3 and not w.isdigit():
                correction[(w[0], len(w))].append(w)
        located = [(c, i[2], i[3]) for c, i in info.items() if i[2] is not None]
        arrays = (
            np.array([x[1] for x in located], dtype=float),
            np.array([x[2] for x in located], dtype=float),
            np.array([commune_count.get(x[0], 0) for x in located], dtype=np.int64),
        )
        _vocabulary = _Vocabulary(
            built=time.monotonic(),
            name_words=name_words,
            name_cum=name_cum,
            commune_words=[w for w, _ in pairs],
            commune_codes=[c for _, c in pairs],
            commune_count=commune_count,
            commune_info=info,
            commune_by_name=dict(by_name),
            commune_by_postal=dict(by_postal),
            profession_count=profession_count,
            kind_count=kind_count,
            total=sum(kind_count.values()),
            correction_words=dict(correction),
            correction_weight=dict(weights),
            commune_arrays=arrays,
        )
        return _vocabulary


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
    if not text or not text.strip():
        return None
    voc = _load_vocabulary()
    raw = text.strip()
    if re.fullmatch(r"\d[0-9AaBb]\d{3}", raw) and raw.upper() in voc.commune_info:
        return Commune.objects.filter(code=raw.upper()).first()
    norm = normalise(raw)
    words = norm.split()
    candidates: list[str] = []
    for postal in _postal_codes(raw):
        candidates += voc.commune_by_postal.get(postal, [])
        if postal in voc.commune_info:  # an INSEE code inside an address
            candidates.append(postal)
    named: list[str] = []
    # Longest run of trailing words that is a commune name ("... 52200 langres", "saint dizier").
    for size in range(min(len(words), 6), 0, -1):
        for start in range(len(words) - size, -1, -1):
            phrase = " ".join(words[start : start + size])
            if phrase in voc.commune_by_name:
                named = voc.commune_by_name[phrase]
                break
        if named:
            break
    if candidates and named:
        both = [c for c in candidates if c in named]
        code = both[0] if both else candidates[0]
    elif candidates:
        code = candidates[0]
    elif named:
        code = named[0]
    else:
        code = _fuzzy_commune(norm, voc)
    return Commune.objects.filter(code=code).first() if code else None


def _fuzzy_commune(norm: str, voc: _Vocabulary) -> str | None:
    from rapidfuzz import fuzz, process

    if len(norm) < 4:
        return None
    names = [n for n in voc.commune_by_name if n[:1] == norm[:1]]
    best = process.extractOne(norm, names, scorer=fuzz.ratio, score_cutoff=85)
    return voc.commune_by_name[best[0]][0] if best else None


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


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
    #: True when there are more than ``total`` results (counting stops at COUNT_CAP).
    total_is_lower_bound: bool = False
    #: The normalised words searched, after correction.
    words: list[str] = field(default_factory=list)


def _validate(query: SearchQuery) -> None:
    from maillage.directory.models import SchemeKind, StructureKind

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
    if not isinstance(query.page, int) or query.page < 1:
        raise ValueError("page doit être un entier supérieur ou égal à 1")
    if not isinstance(query.page_size, int) or not 1 <= query.page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size doit être compris entre 1 et {MAX_PAGE_SIZE}")


# --------------------------------------------------------------------------------------------
# Planning a query


@dataclass
class _Word:
    word: str
    lo: str
    hi: str | None
    name_count: int
    commune_count: int
    professions: frozenset
    profession_count: int

    @property
    def estimate(self) -> int:
        return self.name_count + self.commune_count + self.profession_count


def _plan_word(word: str, voc: _Vocabulary) -> _Word:
    hi = prefix_upper_bound(word)
    a, b = _prefix_range(voc.name_words, word)
    name_count = voc.name_cum[b] - voc.name_cum[a]
    a2, b2 = _prefix_range(voc.commune_words, word)
    communes = set(voc.commune_codes[a2:b2])
    commune_count = sum(voc.commune_count.get(c, 0) for c in communes)
    if communes and not commune_count:
        commune_count = 1  # known commune word, no entry there (yet): still a word, not a typo
    words, conditions = _profession_words()
    a3, b3 = _prefix_range(words, word)
    professions: frozenset = frozenset().union(*conditions[a3:b3]) if b3 > a3 else frozenset()
    profession_count = _profession_estimate(professions, voc)
    if professions and not profession_count:
        profession_count = 1
    return _Word(word, word, hi, name_count, commune_count, professions, profession_count)


def _indexed_since_cache(w: _Word) -> bool:
    """Whether ``w`` is a name word added after this process loaded its vocabulary (by another
    process: a published change); one index probe, only for words the cache does not know."""
    rng, params = _range("t.token", w)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {_tables()[1]} t WHERE {rng} LIMIT 1", params)
        return cursor.fetchone() is not None


def _profession_estimate(conditions: Iterable, voc: _Vocabulary) -> int:
    total = 0
    for profession, specialties in conditions:
        for (p, s), n in voc.profession_count.items():
            if p == profession and (specialties is None or s in specialties):
                total += n
    return total


def _correct(word: str, voc: _Vocabulary) -> str | None:
    """The closest vocabulary word to an unknown ``word`` (same first letter, else any)."""
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    if len(word) < 3 or word.isdigit():
        return None
    limit = 1 if len(word) <= 5 else 2
    lengths = range(len(word) - limit, len(word) + limit + 1)
    same_letter = [w for n in lengths for w in voc.correction_words.get((word[0], n), [])]
    for pool in (same_letter, None):
        if pool is None:  # a typo on the first letter: every word of a close length
            pool = [w for (_c, n), ws in voc.correction_words.items() if n in lengths for w in ws]
        found = process.extract(word, pool, scorer=OSA.distance, score_cutoff=limit, limit=20)
        if found:
            found.sort(key=lambda f: (f[1], -voc.correction_weight.get(f[0], 0), f[0]))
            return found[0][0]
    return None


class _Sql:
    """A WHERE clause under construction: SQL fragments and their parameters, in order."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.params: list = []

    def add(self, sql: str, *params) -> None:
        self.parts.append(sql)
        self.params.extend(params)

    def where(self) -> str:
        return " AND ".join(self.parts) if self.parts else "1=1"


def _tables() -> tuple[str, str, str]:
    q = connection.ops.quote_name
    return (
        q(SearchEntry._meta.db_table),
        q(SearchToken._meta.db_table),
        q(SearchCommuneToken._meta.db_table),
    )


def _range(column: str, w: _Word) -> tuple[str, list]:
    if w.hi is None:
        return f"{column} >= %s", [w.lo]
    return f"{column} >= %s AND {column} < %s", [w.lo, w.hi]


def _profession_sql(conditions: Iterable, alias: str = "e") -> tuple[str, list]:
    """One condition for (profession, specialties) pairs, merged per profession (a profession
    with any specialty absorbs its specialty-specific pairs) so the planners see
    ``profession_code IN (…)`` and use the (profession, commune) and (profession, cell) indexes."""
    merged: dict[str, set[str] | None] = {}
    for profession, specialties in conditions:
        if specialties is None or merged.get(profession, set()) is None:
            merged[profession] = None
        else:
            merged.setdefault(profession, set()).update(specialties)
    parts, params = [], []
    plain = sorted(p for p, specs in merged.items() if specs is None)
    if plain:
        parts.append(f"{alias}.profession_code IN ({', '.join(['%s'] * len(plain))})")
        params += plain
    for profession in sorted(p for p, specs in merged.items() if specs is not None):
        specialties = sorted(merged[profession])
        marks = ", ".join(["%s"] * len(specialties))
        parts.append(f"({alias}.profession_code = %s AND {alias}.specialty_code IN ({marks}))")
        params += [profession, *specialties]
    return "(" + " OR ".join(parts) + ")", params


def _word_condition(w: _Word) -> tuple[str, list]:
    """``e`` matches ``w`` on any of its three sides (checked per candidate row)."""
    entry, token, commune_token = _tables()
    parts, params = [], []
    if w.name_count:
        rng, p = _range("t.token", w)
        parts.append(f"EXISTS (SELECT 1 FROM {token} t WHERE t.entry_id = e.id AND {rng})")
        params += p
    if w.commune_count:
        rng, p = _range("c.token", w)
        parts.append(f"e.commune_id IN (SELECT c.commune_id FROM {commune_token} c WHERE {rng})")
        params += p
    if w.professions:
        sql, p = _profession_sql(w.professions)
        parts.append(sql)
        params += p
    return "(" + " OR ".join(parts) + ")", params


#: A side of a word (its name, commune or profession matches) larger than this is narrowed by
#: the next word when it drives a query ("kine" × "langres" via the (profession, commune) index).
SMALL_SIDE = 3000


def _sides(w: _Word) -> list[tuple[str, int, object, str]]:
    """The sides of ``w``: (form, count, builder, dimension). Form "token" (a range on the token
    table) or "entry" (a condition on the entry table); a builder takes a table alias and returns
    (sql, params); the dimension (name, commune, profession, place) tells which sides can narrow
    each other (two commune sides, "saint" and "etienne", do not)."""
    entry, token, commune_token = _tables()
    sides: list[tuple[str, int, object, str]] = []
    if w.name_count:
        sides.append(("token", w.name_count, lambda a: _range(f"{a}.token", w), "name"))
    if w.commune_count:

        def commune(a: str) -> tuple[str, list]:
            rng, p = _range("c.token", w)
            return (
                f"{a}.commune_id IN (SELECT c.commune_id FROM {commune_token} c WHERE {rng})",
                p,
            )

        sides.append(("entry", w.commune_count, commune, "commune"))
    if w.professions:
        sides.append(
            (
                "entry",
                w.profession_count,
                lambda a: _profession_sql(w.professions, a),
                "profession",
            )
        )
    return sides


def _pair_sql(first: tuple, second: tuple | None) -> tuple[str, list]:
    """Ids matching side ``first`` (and side ``second`` when given), as one indexed SELECT."""
    entry, token, _commune_token = _tables()
    kind1, _n1, build1, _d1 = first
    if second is None:
        if kind1 == "token":
            sql, p = build1("t1")
            return f"SELECT t1.entry_id FROM {token} t1 WHERE {sql}", p
        sql, p = build1("e1")
        return f"SELECT e1.id FROM {entry} e1 WHERE {sql}", p
    kind2, _n2, build2, _d2 = second
    if kind1 == kind2 == "token":
        (s1, p1), (s2, p2) = build1("t1"), build2("t2")
        return (
            f"SELECT t1.entry_id FROM {token} t1 CROSS JOIN {token} t2 "
            f"WHERE t2.entry_id = t1.entry_id AND {s1} AND {s2}",
            p1 + p2,
        )
    if kind1 == kind2 == "entry":
        (s1, p1), (s2, p2) = build1("e1"), build2("e1")
        return f"SELECT e1.id FROM {entry} e1 WHERE {s1} AND {s2}", p1 + p2
    # Mixed: the smaller side (``first``) drives; CROSS JOIN keeps SQLite to that order.
    if kind1 == "token":
        (s1, p1), (s2, p2) = build1("t1"), build2("e1")
        return (
            f"SELECT t1.entry_id FROM {token} t1 CROSS JOIN {entry} e1 "
            f"WHERE e1.id = t1.entry_id AND {s1} AND {s2}",
            p1 + p2,
        )
    (s1, p1), (s2, p2) = build1("e1"), build2("t1")
    return (
        f"SELECT e1.id FROM {entry} e1 CROSS JOIN {token} t1 "
        f"WHERE t1.entry_id = e1.id AND {s1} AND {s2}",
        p1 + p2,
    )


def _driver_parts(groups: list[list[tuple]], total: int) -> list[tuple[tuple, tuple | None, int]]:
    """The union making the driver, from ``groups`` (the sides of each word, and of the place
    when searching within a radius): each side of the most selective group, a large side
    narrowed by the sides of the group that narrows it best (another dimension: "kiné" by
    "langres", a commune by a profession or the place). Returns (side, narrowing, rows)."""
    groups = sorted(groups, key=lambda g: sum(side[1] for side in g))
    first, others = groups[0], groups[1:]
    total = max(total, 1)

    def pair_cost(side: tuple, other: tuple) -> int:
        """Rows read to intersect two sides: the token range drives a join; two indexed entry
        conditions ((profession, commune), (profession, cell)) read about their intersection."""
        if other[3] == side[3]:
            return side[1]
        if side[0] == "token" or other[0] == "token":
            return min(side[1], other[1])  # the smaller side drives, the other is probed
        if "profession" in (side[3], other[3]):
            return side[1] * other[1] // total + 1
        return min(side[1], other[1])

    parts = []
    for side in first:
        if side[1] <= SMALL_SIDE or not others:
            parts.append((side, None, side[1]))
            continue
        best = min(others, key=lambda g: sum(pair_cost(side, o) for o in g))
        if sum(pair_cost(side, o) for o in best) >= side[1]:
            parts.append((side, None, side[1]))
            continue
        for other in best:
            if other[3] == side[3]:
                parts.append((side, None, side[1]))
            else:
                small, big = sorted((side, other), key=lambda x: x[1])
                parts.append((small, big, pair_cost(side, other)))
    return parts


def _driver_estimate(groups: list[list[tuple]], total: int) -> int:
    return sum(n for _a, _b, n in _driver_parts(groups, total))


def _word_driver(groups: list[list[tuple]], total: int) -> tuple[str, list]:
    """``e.id IN (...)``: a superset of the matching ids, as a union of index scans."""
    selects, params = [], []
    seen = set()
    for first, second, _n in _driver_parts(groups, total):
        sql, p = _pair_sql(first, second)
        if (sql, tuple(p)) in seen:
            continue
        seen.add((sql, tuple(p)))
        selects.append(sql)
        params += p
    return "e.id IN (" + " UNION ".join(selects) + ")", params


def _open_now_sql(now: datetime) -> tuple[str, list]:
    """Entries whose place (or own service hours) is open at ``now``, with the rules of
    :mod:`maillage.directory.hours` written as SQL: the weekly pattern of the day unless an
    exception covers the date; a closed exception closes all day; exception hours replace the
    weekly ones."""
    from maillage.directory.models import HealthcareService, Location, OpeningException
    from maillage.directory.models import OpeningHours as Hours

    local = now.astimezone(PARIS) if now.tzinfo else now.replace(tzinfo=PARIS)
    day, moment, weekday = local.date(), local.time().replace(tzinfo=None), local.weekday()

    def open_ids(model, fk: str):
        weekly = Hours.objects.filter(
            **{f"{fk}__isnull": False}, weekday=weekday, opens__lte=moment, closes__gt=moment
        ).values(fk)
        excepted = OpeningException.objects.filter(
            **{f"{fk}__isnull": False}, start_date__lte=day, end_date__gte=day
        ).values(fk)
        special = OpeningException.objects.filter(
            **{f"{fk}__isnull": False},
            start_date__lte=day,
            end_date__gte=day,
            closed=False,
            opens__lte=moment,
            closes__gt=moment,
        ).values(fk)
        closed = OpeningException.objects.filter(
            **{f"{fk}__isnull": False}, start_date__lte=day, end_date__gte=day, closed=True
        ).values(fk)
        return model.objects.filter(
            (Q(id__in=weekly) & ~Q(id__in=excepted)) | (Q(id__in=special) & ~Q(id__in=closed))
        ).values("id")

    def sql_of(qs) -> tuple[str, list]:
        sql, params = qs.query.sql_with_params()
        return sql, list(params)

    locations, p1 = sql_of(open_ids(Location, "location"))
    services, p2 = sql_of(open_ids(HealthcareService, "service"))
    with_hours, p3 = sql_of(
        HealthcareService.objects.filter(Q(opening_hours__isnull=False)).values("id")
    )
    sql = (
        f"((e.kind <> 'service' AND e.location_id IN ({locations})) OR (e.kind = 'service' AND "
        f"(e.object_id IN ({services}) OR (e.object_id NOT IN ({with_hours}) AND "
        f"e.location_id IN ({locations})))))"
    )
    return sql, p1 + p2 + p3 + p1


def _distance_sql(lat0: float, lon0: float) -> tuple[str, list]:
    """Squared distance in degrees of latitude, plain arithmetic (portable, no GIS, no UDF).

    Equirectangular projection at the mid-latitude of the two points, cos(mid-latitude)
    expanded to second order around ``lat0``: within 0.02 % of the great circle below 100 km.
    """
    c0, s0 = math.cos(math.radians(lat0)), math.sin(math.radians(lat0))
    k = math.pi / 360.0  # half the latitude difference, in radians per degree
    dy = "(e.latitude - %s)"
    kx = f"(%s - %s * {dy} - %s * {dy} * {dy})"
    dx = f"((e.longitude - %s) * {kx})"
    sql = f"({dy} * {dy} + {dx} * {dx})"
    kx_params = [c0, s0 * k, lat0, 0.5 * c0 * k * k, lat0, lat0]
    params = [lat0, lat0, lon0, *kx_params, lon0, *kx_params]
    return sql, params


# --------------------------------------------------------------------------------------------
# The search


def _plan(
    query: SearchQuery,
    words: list[_Word],
    voc: _Vocabulary,
    center: tuple[float, float] | None,
    radius_km: float | None,
    now: datetime | None,
) -> tuple[str, list]:
    """The ``FROM … WHERE …`` of a query and its parameters, planned for ``radius_km``."""
    where = _Sql()
    estimates: list[int] = []
    # Structured filters, with an estimate of their selectivity for choosing the driver.
    if not query.include_private:
        where.add("e.public = %s", True)
    if query.kind:
        where.add("e.kind = %s", query.kind)
        estimates.append(voc.kind_count.get(query.kind, 0))
    if query.profession:
        conditions = _profession_conditions(query.profession)
        sql, params = _profession_sql(conditions)
        where.add(sql, *params)
        estimates.append(_profession_estimate(conditions, voc))
    if query.specialty:
        where.add("e.specialty_code = %s", query.specialty)
        estimates.append(
            sum(n for (_p, s), n in voc.profession_count.items() if s == query.specialty)
        )
    if query.commune:
        where.add("e.commune_id = %s", query.commune)
        estimates.append(voc.commune_count.get(query.commune, 0))
    if query.structure_kind:
        where.add("e.structure_kind = %s", query.structure_kind)
    if query.accepts_new_patients is not None:
        where.add("e.accepts_new_patients = %s", bool(query.accepts_new_patients))
    if query.teleconsultation is not None:
        where.add("e.teleconsultation = %s", bool(query.teleconsultation))
    if query.language:
        where.add("e.languages LIKE %s", f"%,{query.language},%")
    if query.open_now:
        sql, params = _open_now_sql(now or datetime.now(PARIS))
        where.add(sql, *params)
    box_sql = None
    box_estimate = 0
    if center:
        dist_sql, dist_params = _distance_sql(*center)
        if radius_km:
            r_deg = float(radius_km) / KM_PER_DEGREE
            lat0, lon0 = center
            dlon = r_deg / max(math.cos(math.radians(min(abs(lat0) + r_deg, 89.0))), 1e-6)
            cells = ", ".join(str(c) for c in cells_around(lat0, lon0, float(radius_km)))
            box_sql = "{a}.cell IN (" + cells + ")"
            where.add(box_sql.format(a="e"))
            where.add(f"{dist_sql} <= %s", *dist_params, r_deg * r_deg)
            box_estimate = _area_estimate(voc, lat0, lon0, r_deg, dlon)

    # The driver: when words are the most selective, an ``e.id IN (…)`` subquery both planners
    # run first (narrowed pairwise when one side is large); otherwise the indexed conditions
    # (grid cells, (profession, cell), (profession, commune)) lead. Every word is checked per row.
    groups = [_sides(w) for w in words]
    if groups and box_sql:
        groups.append([("entry", box_estimate, lambda a: (box_sql.format(a=a), []), "place")])
    filter_cost = min(estimates) if estimates else math.inf
    # Driving pays when the candidate set D is sparse in what would be scanned otherwise (S:
    # the best indexed filter, the radius's cells, or everything): a scan stops after about
    # COUNT_CAP matches, i.e. COUNT_CAP × S / D rows, while the driver reads D rows. So a very
    # common word ("infirmier": half the directory) drives nothing.
    driver_cost = _driver_estimate(groups, voc.total) if words else math.inf
    scan = min(filter_cost, box_estimate if box_sql else math.inf, voc.total)
    if words and driver_cost <= scan and driver_cost * driver_cost <= COUNT_CAP * scan:
        sql, params = _word_driver(groups, voc.total)
        where.add(sql, *params)
    for w in words:
        sql, params = _word_condition(w)
        where.add(sql, *params)

    entry = _tables()[0]
    return f"FROM {entry} e WHERE {where.where()}", where.params


def search(query: SearchQuery, *, now: datetime | None = None) -> SearchResult:
    """Run ``query`` over the index: the one search of pages, API and benchmark.

    Raises ValueError with a French message naming the parameter for any invalid input.
    """
    _validate(query)
    voc = _load_vocabulary()

    # Places first: an unknown place gives an empty result, not an error (it is user text).
    center = near_label = None
    if query.near:
        place = resolve_place(query.near)
        if place is None or place.latitude is None:
            return SearchResult(0, query.page, 0, [], place_not_found=True)
        center = (place.latitude, place.longitude)
        near_label = place.name

    # Words, corrected when they match nothing.
    words: list[_Word] = []
    corrected = False
    for raw in tokens(query.text):
        w = _plan_word(raw, voc)
        if not w.estimate and _indexed_since_cache(w):
            w.name_count = 1
        if not w.estimate:
            fixed = _correct(raw, voc)
            if fixed:
                w = _plan_word(fixed, voc)
                corrected = True
        words.append(w)
    searched = [w.word for w in words]
    corrected_text = " ".join(searched) if corrected else None
    if any(not w.estimate for w in words):
        return SearchResult(
            0, query.page, 0, [], corrected_text, center, near_label, words=searched
        )

    base, params = _plan(query, words, voc, center, query.radius_km, now)
    offset = (query.page - 1) * query.page_size
    capped = False
    with connection.cursor() as cursor:
        # Most queries have few results: fetch them once, rank them in Python, no COUNT.
        cursor.execute(
            f"SELECT e.id, e.title_norm, e.weight, e.latitude, e.longitude {base} "
            f"LIMIT {RANK_LIMIT + 1}",
            params,
        )
        rows = cursor.fetchall()
        if len(rows) <= RANK_LIMIT:
            total = len(rows)
            ids = _rank(rows, searched, center)[offset : offset + query.page_size]
        else:
            cursor.execute(
                f"SELECT COUNT(*) FROM (SELECT e.id {base} LIMIT {COUNT_CAP + 1}) sub", params
            )
            total = cursor.fetchone()[0]
            capped = total > COUNT_CAP
            total = min(total, COUNT_CAP)
            if center:
                ring = functools.partial(_plan, query, words, voc, center, now=now)
                ids = _nearest_page(cursor, ring, center, offset, query.page_size, query.radius_km)
            else:
                cursor.execute(
                    f"SELECT e.id {base} ORDER BY e.id LIMIT %s OFFSET %s",
                    [*params, query.page_size, offset],
                )
                ids = [r[0] for r in cursor.fetchall()]
    found = SearchEntry.objects.select_related("commune").in_bulk(ids)
    items = [found[i] for i in ids if i in found]
    for item in items:
        item.distance_km = (
            round(haversine_km(center[0], center[1], item.latitude, item.longitude), 2)
            if center and item.latitude is not None
            else None
        )
    pages = max(1, math.ceil(total / query.page_size)) if total else 0
    return SearchResult(
        total=total,
        page=query.page,
        pages=pages,
        items=items,
        corrected_text=corrected_text,
        center=center,
        near_label=near_label,
        total_is_lower_bound=capped,
        words=searched,
    )


def _area_estimate(voc: _Vocabulary, lat0: float, lon0: float, r_deg: float, dlon: float) -> int:
    """Entries of the communes whose centroid lies in the bounding box (for planning only)."""
    lat, lon, count = voc.commune_arrays
    inside = (np.abs(lat - lat0) <= r_deg) & (np.abs(lon - lon0) <= dlon)
    return int(count[inside].sum())


def _rank(rows: list[tuple], words: list[str], center: tuple[float, float] | None) -> list[int]:
    """Order candidates: by distance when searching near a place, else title matches first
    (the whole query starting the title, every word starting a title word, the first word
    starting a title word), then entries of bigger communes, then alphabetically."""
    phrase = " ".join(words)

    def text_rank(title: str) -> int:
        if not words:
            return 0
        if title.startswith(phrase):
            return 0
        title_words = title.split()
        if all(any(t.startswith(w) for t in title_words) for w in words):
            return 1
        if any(t.startswith(words[0]) for t in title_words):
            return 2
        return 3

    def key(row: tuple):
        _id, title, weight, lat, lon = row
        title = title or ""
        if center:
            distance = haversine_km(center[0], center[1], lat, lon) if lat is not None else math.inf
            return (round(distance, 3), text_rank(title), -weight, title, _id)
        return (text_rank(title), -weight, title, _id)

    return [row[0] for row in sorted(rows, key=key)]


def _nearest_page(cursor, plan, center, offset, size, radius_km=None) -> list[int]:
    """Nearest-first page among many candidates: grow a ring, re-planning the query for it (so
    its grid cells, not the whole radius, drive), until the ring holds the page."""
    dist_sql, dist_params = _distance_sql(*center)
    limit = radius_km or math.inf
    for radius in (2, 5, 15, 40, 100, 250):
        if radius >= limit:
            break
        base, params = plan(radius)
        cursor.execute(
            f"SELECT COUNT(*) FROM (SELECT e.id {base} LIMIT {offset + size}) sub", params
        )
        if cursor.fetchone()[0] >= offset + size:
            cursor.execute(
                f"SELECT e.id {base} ORDER BY {dist_sql}, e.id LIMIT %s OFFSET %s",
                [*params, *dist_params, size, offset],
            )
            return [r[0] for r in cursor.fetchall()]
    base, params = plan(radius_km)
    cursor.execute(
        f"SELECT e.id {base} ORDER BY CASE WHEN e.latitude IS NULL THEN 1 ELSE 0 END, "
        f"{dist_sql}, e.id LIMIT %s OFFSET %s",
        [*params, *dist_params, size, offset],
    )
    return [r[0] for r in cursor.fetchall()]


#: Grid cells of 0.1 degree (11 km north-south, about 7.5 km east-west in France): an integer
#: column with plain B-tree indexes, (cell) and (profession, cell), turns "within N km" into a
#: few index seeks on both databases, where a latitude range would read a whole band of France.
CELL_DEGREES = 0.1


def cell_of(latitude: float | None, longitude: float | None) -> int | None:
    """The grid cell of a point."""
    if latitude is None or longitude is None:
        return None
    row = math.floor((latitude + 90.0) / CELL_DEGREES)
    col = math.floor((longitude + 180.0) / CELL_DEGREES)
    return row * 4000 + col


def cells_around(latitude: float, longitude: float, radius_km: float) -> list[int]:
    """Every cell meeting the bounding box of the circle (a superset of the circle's cells)."""
    r_deg = radius_km / KM_PER_DEGREE
    dlon = r_deg / max(math.cos(math.radians(min(abs(latitude) + r_deg, 89.0))), 1e-6)
    rows = range(
        math.floor((latitude - r_deg + 90.0) / CELL_DEGREES),
        math.floor((latitude + r_deg + 90.0) / CELL_DEGREES) + 1,
    )
    first = math.floor((longitude - dlon + 180.0) / CELL_DEGREES)
    last = math.floor((longitude + dlon + 180.0) / CELL_DEGREES)
    return [row * 4000 + col % 3600 for row in rows for col in range(first, last + 1)]


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
    "cell",
)


@dataclass
class _Doc:
    """One entry to write, with its name words (the SearchToken rows)."""

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
            cell_of(latitude, longitude),
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


def _index_sql(model) -> list[tuple[str, str]]:
    q = connection.ops.quote_name
    out = []
    for index in model._meta.indexes:
        cols = ", ".join(q(model._meta.get_field(f).column) for f in index.fields)
        out.append(
            (
                f"DROP INDEX IF EXISTS {q(index.name)}",
                f"CREATE INDEX IF NOT EXISTS {q(index.name)} ON {q(model._meta.db_table)} ({cols})",
            )
        )
    return out


def reindex_all() -> ImportReport:
    """Rebuild the whole index from the directory, in one transaction.

    Entries: active practitioner roles that have a place, FINESS (and other) organizations,
    schemes and healthcare services. Written without model instances (COPY / executemany), with
    the secondary indexes dropped during the load and rebuilt after (much faster than
    maintaining them row by row), then statistics refreshed so both planners see the new sizes.
    """
    start = time.perf_counter()
    report = ImportReport("index")
    models = (SearchEntry, SearchToken, SearchCommuneToken, SearchTerm)
    communes = _commune_table()
    with transaction.atomic():
        q = connection.ops.quote_name
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":  # a bigger page cache for building big indexes
                cursor.execute("PRAGMA cache_size = -262144")
            if connection.vendor == "postgresql":
                tables = ", ".join(q(m._meta.db_table) for m in models)
                cursor.execute(f"TRUNCATE {tables}")
            else:
                for m in (SearchToken, SearchCommuneToken, SearchTerm, SearchEntry):
                    cursor.execute(f"DELETE FROM {q(m._meta.db_table)}")
            indexes = [sql for m in models for sql in _index_sql(m)]
            for drop, _create in indexes:
                cursor.execute(drop)

        entry_rows: list[tuple] = []
        token_rows: list[tuple] = []
        terms: Counter[str] = Counter()
        counts: Counter[str] = Counter()
        next_id = 1
        for docs in (_scheme_docs(), _organization_docs(), _service_docs(), _role_docs()):
            for doc in docs:
                entry_rows.append(doc.row(next_id, communes))
                for w in doc.name_words:
                    token_rows.append((next_id, w))
                terms.update(doc.name_words)
                counts[doc.kind] += 1
                next_id += 1
            _insert(SearchEntry, _ENTRY_COLUMNS, entry_rows)
            entry_rows.clear()
        _insert(SearchToken, ("entry_id", "token"), token_rows)
        token_count = len(token_rows)
        del token_rows
        _insert(SearchTerm, ("token", "entries"), list(terms.items()))
        commune_rows = []
        for code, name, postal in Commune.objects.values_list("code", "name", "postal_codes"):
            commune_rows += [(w, code) for w in _commune_words(code, name, postal)]
        _insert(SearchCommuneToken, ("token", "commune_id"), commune_rows)

        with connection.cursor() as cursor:
            for _drop, create in indexes:
                cursor.execute(create)
            for sql in connection.ops.sequence_reset_sql(no_style(), [SearchEntry, SearchToken]):
                cursor.execute(sql)
            _analyze(cursor, models)
    invalidate_cache()
    labels = {"role": "activités", "organization": "structures", "scheme": "dispositifs",
              "service": "services"}  # fmt: skip
    for kind, label in labels.items():
        report.counts[label] = counts[kind]
    report.counts["mots indexés"] = token_count
    report.seconds = time.perf_counter() - start
    return report


def _analyze(cursor, models) -> None:
    q = connection.ops.quote_name
    if connection.vendor == "sqlite":
        cursor.execute("PRAGMA analysis_limit = 2000")
    for m in models:
        cursor.execute(f"ANALYZE {q(m._meta.db_table)}")


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
    communes = _commune_table() if ids else {}
    with transaction.atomic():
        for start in range(0, len(ids), 900):
            batch = ids[start : start + 900]
            SearchEntry.objects.filter(kind=kind, object_id__in=batch).delete()
            docs = list(_BUILDERS[kind](batch))
            if not docs:
                continue
            created = SearchEntry.objects.bulk_create(
                [
                    SearchEntry(
                        **dict(zip(_ENTRY_COLUMNS[1:], doc.row(0, communes)[1:], strict=True))
                    )
                    for doc in docs
                ]
            )
            if created and created[0].pk is None:  # backends without RETURNING
                by_key = dict(
                    SearchEntry.objects.filter(kind=kind, object_id__in=batch).values_list(
                        "object_id", "id"
                    )
                )
                for entry in created:
                    entry.pk = by_key[entry.object_id]
            SearchToken.objects.bulk_create(
                [
                    SearchToken(entry_id=entry.pk, token=w)
                    for entry, doc in zip(created, docs, strict=True)
                    for w in doc.name_words
                ]
            )
            new_terms = {w for doc in docs for w in doc.name_words}
            SearchTerm.objects.bulk_create(
                [SearchTerm(token=w, entries=1) for w in new_terms], ignore_conflicts=True
            )
    # The process vocabulary is not reloaded (a second or more at national scale): a word it does
    # not know is checked against the token index before being treated as a typo.
