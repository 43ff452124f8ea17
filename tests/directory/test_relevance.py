"""Relevance you can measure: the labelled queries of ``data/relevance.yaml`` (typed as people
type them) run through the search page's own parser against the demo database.

Floor: recall@10 >= 0.95 (a query passes when its expected entry comes first, or within the
first 10, as labelled). Removing the synonym table (``search/synonyms.yaml``) or the plural
folding drops it far below (0.69 before this work), so the test can fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from maillage.directory.search import evaluation

pytestmark = pytest.mark.django_db

FLOOR = 0.95

#: The labelled set, beside this file (the installed package does not carry the tests).
LABELLED_SET = Path(__file__).resolve().parent / "data" / "relevance.yaml"


def test_labelled_set_is_large_and_well_formed():
    queries = evaluation.load(LABELLED_SET)
    assert len(queries) >= 150
    kinds = {"ou": sum(bool(q.ou) for q in queries), "first": sum(q.within == 1 for q in queries)}
    assert kinds["ou"] >= 20 and kinds["first"] >= 50, kinds


def test_recall_at_10_on_the_labelled_set(demo_db, capsys):
    queries = evaluation.resolve(evaluation.load(LABELLED_SET), LABELLED_SET)
    outcomes = evaluation.evaluate(queries)
    absent = [q for q in queries if not q.targets]
    recall = evaluation.recall_at_10(outcomes)
    mrr = evaluation.mean_reciprocal_rank(outcomes)
    with capsys.disabled():
        print(
            f"\nrelevance: {len(outcomes)} queries, recall@10 {recall:.3f}, MRR {mrr:.3f}"
            f" ({len(absent)} left out: no such entry in the demo yet: "
            + ", ".join(repr(q.q) for q in absent)
            + ")"
        )
    assert len(outcomes) >= 150
    assert recall >= FLOOR, (
        f"recall@10 {recall:.3f} < {FLOOR} (MRR {mrr:.3f}); failed queries:\n"
        + evaluation.failures(outcomes)
    )


def test_a_bad_labelled_file_names_its_line(tmp_path: Path, demo_db):
    bad = tmp_path / "relevance.yaml"
    bad.write_text('- {q: "pharmacie", expect: "kind=organization"}\n- {q: "x"}\n', "utf-8")
    with pytest.raises(ValueError, match="ligne 2 : « expect » manque"):
        evaluation.load(bad)
    bad.write_text('- {q: "pharmacie", expect: "finess:000000000"}\n', "utf-8")
    with pytest.raises(ValueError, match="ligne 1 : « finess:000000000 » ne désigne aucune"):
        evaluation.resolve(evaluation.load(bad), bad)
    bad.write_text('- {q: "pharmacie", expect: "colour=blue"}\n', "utf-8")
    with pytest.raises(ValueError, match="ligne 1 : clés inconnues"):
        evaluation.resolve(evaluation.load(bad), bad)
