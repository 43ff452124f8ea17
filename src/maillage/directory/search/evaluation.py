"""Relevance measured: the labelled queries of ``tests/directory/data/relevance.yaml`` run
through the search page's own parser, scored by recall@10 and mean reciprocal rank.

Used by ``tests/directory/test_relevance.py`` (the floor: recall@10 >= 0.95) and by
``benchmarks/bench_relevance.py`` (the same set against SQLite FTS5 and PostgreSQL full text).
The file format is described at the top of the YAML file.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

_KEYS = {"kind", "profession", "specialty", "commune", "dep", "category", "schemekind", "name"}


@dataclass
class Labelled:
    """One labelled query: what is typed and which entries must come within ``within``."""

    q: str
    ou: str
    expect: str
    within: int
    absent_ok: bool
    line: int
    targets: frozenset[int] = frozenset()  # SearchEntry ids, filled by :func:`resolve`


@dataclass
class Outcome:
    query: Labelled
    rank: int | None  # 1-based rank of the first expected entry, None beyond the page
    seconds: float
    shown: list[str] = field(default_factory=list)  # the first titles, for failure messages

    @property
    def passed(self) -> bool:
        return self.rank is not None and self.rank <= self.query.within


def load(path: Path) -> list[Labelled]:
    """The labelled queries of ``path``; a malformed one raises ValueError naming its line."""
    text = path.read_text(encoding="utf-8")
    nodes = yaml.compose(text)
    data = yaml.safe_load(text) or []
    out = []
    for node, item in zip(nodes.value if nodes else [], data, strict=True):
        line = node.start_mark.line + 1
        if not isinstance(item, dict) or not item.get("q", "").strip() and not item.get("ou"):
            raise ValueError(f"{path.name}, ligne {line} : requête sans q ni ou")
        if not str(item.get("expect", "")).strip():
            raise ValueError(f"{path.name}, ligne {line} : « expect » manque")
        within = int(item.get("within", 10))
        if within not in (1, 10):
            raise ValueError(f"{path.name}, ligne {line} : within vaut 1 ou 10, pas {within}")
        out.append(
            Labelled(
                q=str(item.get("q", "")),
                ou=str(item.get("ou", "") or ""),
                expect=str(item["expect"]),
                within=within,
                absent_ok=bool(item.get("absent_ok", False)),
                line=line,
            )
        )
    return out


def _alternative_ids(text: str, where: str) -> set[int]:
    from maillage.directory.models import Organization, Scheme
    from maillage.directory.search.index import SearchEntry
    from maillage.directory.search.service import normalise

    text = text.strip()
    if text.startswith("finess:"):
        ids = Organization.objects.filter(finess_et=text[7:]).values_list("id", flat=True)
        return set(
            SearchEntry.objects.filter(kind="organization", object_id__in=list(ids)).values_list(
                "id", flat=True
            )
        )
    if text.startswith("service:"):
        from maillage.directory.models import HealthcareService

        ids = HealthcareService.objects.filter(slug=text[8:]).values_list("id", flat=True)
        return set(
            SearchEntry.objects.filter(kind="service", object_id__in=list(ids)).values_list(
                "id", flat=True
            )
        )
    if text.startswith("scheme:"):
        ids = Scheme.objects.filter(slug=text[7:]).values_list("id", flat=True)
        return set(
            SearchEntry.objects.filter(kind="scheme", object_id__in=list(ids)).values_list(
                "id", flat=True
            )
        )
    conditions: dict[str, str] = {}
    for part in text.replace(" = ", "=").split():
        if "=" in part:
            key, _, value = part.partition("=")
            conditions[key] = value
        elif conditions:  # a value of several words: "category=maladies mentales"
            last = list(conditions)[-1]
            conditions[last] += " " + part
        else:
            raise ValueError(f"{where} : condition illisible {part!r}")
    unknown = set(conditions) - _KEYS
    if unknown:
        raise ValueError(f"{where} : clés inconnues {sorted(unknown)} (connues : {sorted(_KEYS)})")
    qs = SearchEntry.objects.all()
    if "kind" in conditions:
        qs = qs.filter(kind=conditions["kind"])
    if "profession" in conditions:
        qs = qs.filter(profession_code=conditions["profession"])
    if "specialty" in conditions:
        qs = qs.filter(specialty_code=conditions["specialty"])
    if "commune" in conditions:
        qs = qs.filter(commune_id__in=conditions["commune"].split(","))
    if "dep" in conditions:
        qs = qs.filter(commune__code__startswith=conditions["dep"])
    if "schemekind" in conditions:
        qs = qs.filter(kind="scheme", structure_kind=conditions["schemekind"])
    rows = qs.values_list("id", "kind", "object_id", "title_norm")
    if "name" in conditions:
        wanted = normalise(conditions["name"]).split()
        rows = [r for r in rows if all(w in r[3].split() for w in wanted)]
    if "category" in conditions:
        words = normalise(conditions["category"])
        ids = {r[2] for r in rows if r[1] == "organization"}
        orgs = {
            oid
            for oid, label in Organization.objects.filter(id__in=list(ids)).values_list(
                "id", "category_label"
            )
            if words in normalise(label or "")
        }
        rows = [r for r in rows if r[1] == "organization" and r[2] in orgs]
    return {r[0] for r in rows}


def resolve(queries: Iterable[Labelled], path: Path) -> list[Labelled]:
    """Fill each query's target entries from the database. An alternative naming no entry is a
    labelling error (ValueError naming the line), unless the query says ``absent_ok``."""
    out = []
    for query in queries:
        where = f"{path.name}, ligne {query.line}"
        ids: set[int] = set()
        for alternative in query.expect.split("|"):
            found = _alternative_ids(alternative, where)
            if not found and not query.absent_ok:
                raise ValueError(f"{where} : « {alternative.strip()} » ne désigne aucune entrée")
            ids |= found
        query.targets = frozenset(ids)
        out.append(query)
    return out


def page_search(q: str, ou: str, size: int = 10) -> list[int]:
    """The entry ids of the first page, as the public search page computes it (its own parser
    of ``q`` and ``ou``), for an anonymous visitor."""
    from django.contrib.auth.models import AnonymousUser
    from django.test import RequestFactory

    from maillage.directory.search.service import search
    from maillage.directory.views.public import _search_params, _search_query

    request = RequestFactory().get("/annuaire/", {"q": q, "ou": ou}, HTTP_HOST="127.0.0.1")
    request.user = AnonymousUser()
    result = search(_search_query(_search_params(request), request, 1, size))
    return [item.id for item in result.items]


def evaluate(
    queries: Iterable[Labelled], run: Callable[[str, str], list[int]] = page_search
) -> list[Outcome]:
    """Run every query (those with targets) and rank its first expected entry."""
    from maillage.directory.search.index import SearchEntry

    outcomes = []
    for query in queries:
        if not query.targets:
            continue
        start = time.perf_counter()
        ids = run(query.q, query.ou)
        seconds = time.perf_counter() - start
        rank = next((i + 1 for i, e in enumerate(ids[:10]) if e in query.targets), None)
        shown = []
        if rank is None or rank > query.within:
            titles = dict(SearchEntry.objects.filter(id__in=ids[:3]).values_list("id", "title"))
            shown = [titles.get(i, "?") for i in ids[:3]]
        outcomes.append(Outcome(query, rank, seconds, shown))
    return outcomes


def recall_at_10(outcomes: list[Outcome]) -> float:
    """Share of queries whose expected entry comes where it must (first, or within 10)."""
    return sum(o.passed for o in outcomes) / len(outcomes) if outcomes else 0.0


def mean_reciprocal_rank(outcomes: list[Outcome]) -> float:
    return sum(1 / o.rank for o in outcomes if o.rank) / len(outcomes) if outcomes else 0.0


def failures(outcomes: list[Outcome]) -> str:
    """One line per failed query: line, query, where its target came, what came first."""
    lines = []
    for o in outcomes:
        if not o.passed:
            q = o.query
            place = f" | où={q.ou!r}" if q.ou else ""
            got = "absent des 10 premiers" if o.rank is None else f"rang {o.rank}"
            lines.append(
                f"ligne {q.line}: {q.q!r}{place} -> {got} (attendu ≤ {q.within} : {q.expect}); "
                f"en tête : {o.shown}"
            )
    return "\n".join(lines)
