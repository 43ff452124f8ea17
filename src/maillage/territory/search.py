"""Finding territories by name for the picker: "Langres", "haute marne", "st dizier", "52".

The names of every commune, EPCI, arrondissement, département and région of the COG, and of the
saved territories, are held in memory, folded (accents, case, punctuation, "st" → "saint") and
matched in three tiers: exact name or code, then name prefix (or a word of the name), then fuzzy
(``rapidfuzz``) for typos. Within a tier, better scores and then larger populations come
first. Reading only: a search never writes.
"""

from __future__ import annotations

import bisect
import heapq
import re
import threading
import time
import unicodedata
from dataclasses import dataclass

from django.db.models import Count, Max, Sum
from rapidfuzz import fuzz, process

from maillage.territory.models import Arrondissement, Commune, Departement, Epci, Region, Territory

MAX_QUERY_CHARS = 100
FUZZY_CUTOFF = 80
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "s": "saint"}
_NON_WORD = re.compile(r"[^a-z0-9]+")
KIND_LABELS = dict(Territory.Kind.choices)


def fold(text: str) -> str:
    """Lower case, no accents, words separated by one space, "st"/"ste" spelt out."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    words = _NON_WORD.sub(" ", text).split()
    return " ".join(_ABBREVIATIONS.get(w, w) for w in words)


@dataclass(frozen=True)
class Suggestion:
    kind: str
    code: str
    name: str
    population: int
    slug: str
    saved: bool = False

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def spec(self) -> str:
        return self.slug if self.saved else f"{self.kind}:{self.code}"

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "kind_label": self.kind_label,
            "code": self.code,
            "name": self.name,
            "population": self.population,
            "spec": self.spec,
            "slug": self.slug,
        }


_CODE_PREFERENCE = {"departement": 0, "commune": 1}


class _Index:
    """Folded names with a dict for exact matches and a sorted list of word suffixes ("grand
    langres", "langres" for "cc du grand langres") for prefix matches, found by bisection."""

    def __init__(self, entries: list[Suggestion]) -> None:
        self.entries = entries
        self.folded = [fold(e.name) for e in entries]
        self.exact: dict[str, list[int]] = {}
        self.by_code: dict[str, list[int]] = {}
        suffixes: list[tuple[str, int, int]] = []
        for i, (e, name) in enumerate(zip(entries, self.folded, strict=True)):
            self.exact.setdefault(name, []).append(i)
            self.by_code.setdefault(e.code.lower(), []).append(i)
            words = name.split()
            for w in range(len(words)):
                suffixes.append((" ".join(words[w:]), w, i))
        suffixes.sort()
        self.suffixes = [x[0] for x in suffixes]
        self.suffix_rows = [(x[1], x[2]) for x in suffixes]

    def starting_with(self, prefix: str) -> list[tuple[int, int]]:
        """(word position, entry) of every name with a word run starting with ``prefix``."""
        lo = bisect.bisect_left(self.suffixes, prefix)
        hi = bisect.bisect_left(self.suffixes, prefix + "\uffff")
        return self.suffix_rows[lo:hi]


def _cog_entries() -> list[Suggestion]:
    pops = {
        field: dict(
            Commune.objects.exclude(**{f"{field}__isnull": True})
            .values_list(field)
            .annotate(p=Sum("population"))
            .values_list(field, "p")
        )
        for field in ("region_id", "departement_id", "arrondissement_id", "epci_id")
    }
    entries: list[Suggestion] = []

    def add(kind: str, rows, pop: dict[str, int]) -> None:
        for code, name in rows:
            entries.append(
                Suggestion(kind, code, name, int(pop.get(code) or 0), f"{kind}-{code}".lower())
            )

    add("region", Region.objects.values_list("code", "name"), pops["region_id"])
    add("departement", Departement.objects.values_list("code", "name"), pops["departement_id"])
    add(
        "arrondissement",
        Arrondissement.objects.values_list("code", "name"),
        pops["arrondissement_id"],
    )
    add("epci", Epci.objects.values_list("code", "name"), pops["epci_id"])
    for code, name, population in Commune.objects.values_list("code", "name", "population"):
        entries.append(
            Suggestion("commune", code, name, int(population or 0), f"commune-{code}".lower())
        )
    return entries


_lock = threading.Lock()
_cache: dict[str, object] = {}
RECHECK_SECONDS = 30.0


def _version(key: str, query) -> object:
    """A cheap fingerprint of a table, read again at most every RECHECK_SECONDS."""
    now = time.monotonic()
    seen = _cache.get(f"{key}:checked")
    if seen is None or now - seen[0] > RECHECK_SECONDS:  # type: ignore[index]
        seen = (now, query())
        _cache[f"{key}:checked"] = seen
    return seen[1]  # type: ignore[index]


def _cached_index(key: str, version: object, build) -> _Index:
    with _lock:
        if _cache.get(f"{key}:version") != version or f"{key}:index" not in _cache:
            _cache[f"{key}:index"] = _Index(build())
            _cache[f"{key}:version"] = version
        return _cache[f"{key}:index"]  # type: ignore[return-value]


def _cog_index() -> _Index:
    """The COG names, built once per process (about a second) and rebuilt when the COG
    changes."""
    version = _version("cog", lambda: (Commune.objects.count(), Epci.objects.count()))
    return _cached_index("cog", version, _cog_entries)


def _saved_entries() -> list[Suggestion]:
    rows = (
        Territory.objects.annotate(p=Sum("communes__population"), n=Count("communes"))
        .filter(n__gt=0)
        .values_list("kind", "slug", "name", "p")
    )
    return [
        Suggestion(kind, slug, name, int(p or 0), slug, saved=True) for kind, slug, name, p in rows
    ]


def _saved_index() -> _Index:
    """The saved territories: a handful, rebuilt whenever one is saved or changed."""
    version = _version(
        "saved",
        lambda: tuple(Territory.objects.aggregate(n=Count("pk"), t=Max("updated_at")).values()),
    )
    return _cached_index("saved", version, _saved_entries)


def forget_saved() -> None:
    """Called when a territory is saved, so that the picker finds it at once."""
    with _lock:
        _cache.pop("saved:checked", None)


def _rank(index: _Index, q: str, raw: str, limit: int) -> list[tuple[tuple, int]]:
    """(sort key, entry position) for every entry matching the folded query ``q``. Tiers:
    0 exact code or name, 1 name prefix, 2 every word of the query starts a word of the name,
    3 fuzzy (typos). Within a tier: better score, then larger population."""
    hits: dict[int, tuple] = {}
    entries = index.entries

    def put(i: int, tier: int, sub: int, score: int = 0) -> None:
        key = (tier, sub, -score, -entries[i].population)
        if i not in hits or key < hits[i]:
            hits[i] = key

    # a bare code is most often a département ("52"), then a commune ("52121")
    for i in index.by_code.get(raw.lower(), []):
        put(i, 0, _CODE_PREFERENCE.get(entries[i].kind, 2))
    for i in index.exact.get(q, []):
        put(i, 0, 3)
    for position, i in index.starting_with(q):  # the name starts with the query, or a word does
        put(i, 1 if position == 0 else 2, 0)
    words = q.split()
    if len(words) > 1:  # every word of the query starts a word of the name, in any order
        candidates = {i for _, i in index.starting_with(words[0])}
        for word in words[1:]:
            candidates &= {i for _, i in index.starting_with(word)}
        for i in candidates:
            put(i, 2, 1)
    if len(q) >= 3:
        for _, score, i in process.extract(
            q, index.folded, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=50
        ):
            put(i, 3, 0, round(score))
    return heapq.nsmallest(limit, ((key, i) for i, key in hits.items()))


def search(query: str, limit: int = 10) -> list[Suggestion]:
    """Territories whose name or code matches ``query``, best first (exact, prefix, fuzzy)."""
    raw = query.strip()[:MAX_QUERY_CHARS]
    q = fold(raw)
    if not q:
        return []
    ranked: list[tuple[tuple, Suggestion]] = []
    cog = _cog_index()
    ranked += [(key, cog.entries[i]) for key, i in _rank(cog, q, raw, limit)]
    saved = _saved_index()
    ranked += [(key, saved.entries[i]) for key, i in _rank(saved, q, raw, limit)]
    ranked.sort(key=lambda pair: pair[0])
    seen: set[str] = set()
    out: list[Suggestion] = []
    for _, suggestion in ranked:
        if suggestion.slug in seen:
            continue
        seen.add(suggestion.slug)
        out.append(suggestion)
        if len(out) == limit:
            break
    return out
