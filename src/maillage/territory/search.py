"""Finding territories by name for the picker: "Langres", "haute marne", "st dizier", "52".

The names of every commune, EPCI, arrondissement, département and région of the COG, and of the
saved territories, are held in memory, folded (accents, case, punctuation, "st" → "saint") and
matched in three tiers: exact name or code, then name prefix (or a word of the name), then fuzzy
(``rapidfuzz``) for typos. Within a tier, better scores and then larger populations come
first. Reading only: a search never writes.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass

from django.db.models import Count, Sum
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

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def spec(self) -> str:
        return f"{self.kind}:{self.code}" if self.kind in _COG_ORDER else self.slug

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


_COG_ORDER = {"region": 0, "departement": 1, "arrondissement": 2, "epci": 3, "commune": 4}
_CODE_PREFERENCE = {"departement": 0, "commune": 1}


class _Index:
    def __init__(self, entries: list[Suggestion]) -> None:
        self.entries = entries
        self.folded = [fold(e.name) for e in entries]
        self.by_code: dict[str, list[int]] = {}
        for i, e in enumerate(entries):
            self.by_code.setdefault(e.code.lower(), []).append(i)


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


def _cog_index() -> _Index:
    """The COG names, built once per process and rebuilt when the COG changes size."""
    version = (Commune.objects.count(), Epci.objects.count())
    with _lock:
        if _cache.get("version") != version:
            _cache["index"] = _Index(_cog_entries())
            _cache["version"] = version
        return _cache["index"]  # type: ignore[return-value]


def _saved_entries() -> list[Suggestion]:
    rows = (
        Territory.objects.annotate(p=Sum("communes__population"), n=Count("communes"))
        .filter(n__gt=0)
        .values_list("kind", "slug", "name", "p")
    )
    return [Suggestion(kind, slug, name, int(p or 0), slug) for kind, slug, name, p in rows]


def _rank(index: _Index, q: str, raw: str) -> list[tuple[tuple, int]]:
    """(sort key, entry position) for every entry matching the folded query ``q``."""
    hits: dict[int, tuple] = {}

    def put(i: int, key: tuple) -> None:
        if i not in hits or key < hits[i]:
            hits[i] = key

    entries = index.entries
    # a bare code is most often a département ("52"), then a commune ("52121")
    for i in index.by_code.get(raw.lower(), []):
        put(i, (0, _CODE_PREFERENCE.get(entries[i].kind, 2), 0, -entries[i].population))
    for i, name in enumerate(index.folded):
        if name == q:
            put(i, (0, 3, 0, -entries[i].population))
        elif name.startswith(q):
            put(i, (1, 0, 0, -entries[i].population))
        elif f" {q}" in f" {name}":
            put(i, (1, 1, 0, -entries[i].population))
    if len(q) >= 3:
        for _, score, i in process.extract(
            q,
            index.folded,
            scorer=fuzz.ratio,
            score_cutoff=FUZZY_CUTOFF,
            limit=50,
        ):
            put(i, (2, -round(score), 0, -entries[i].population))
    return sorted((key, i) for i, key in hits.items())


def search(query: str, limit: int = 10) -> list[Suggestion]:
    """Territories whose name or code matches ``query``, best first (exact, prefix, fuzzy)."""
    raw = query.strip()[:MAX_QUERY_CHARS]
    q = fold(raw)
    if not q:
        return []
    ranked: list[tuple[tuple, Suggestion]] = []
    cog = _cog_index()
    ranked += [(key, cog.entries[i]) for key, i in _rank(cog, q, raw)]
    saved = _Index(_saved_entries())
    ranked += [(key, saved.entries[i]) for key, i in _rank(saved, q, raw)]
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
