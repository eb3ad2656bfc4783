"""The ranker's API as the screening workspace uses it: records in, decisions by id, ids out."""

import numpy as np
import pytest

from pipeline.models import AbstractSection, MeshHeading, Record
from pipeline.screening.prioritisation import ASREVIEW_DEFAULT, Document, Ranker, RankerSettings, record_text
from pipeline.screening.prioritisation.features import texts_of, tfidf_matrix
from tests.support.screening_sets import OTHER, TOPIC


def _documents() -> list[Document]:
    docs = [Document(f"t{i}", title, f"{title}. Details.") for i, title in enumerate(TOPIC)]
    return docs + [Document(f"o{i}", title, "") for i, title in enumerate(OTHER)]


def test_rank_puts_the_records_like_the_includes_first():
    ranker = Ranker(_documents())
    ranking = ranker.rank({"t0": True, "o0": False})
    assert len(ranking) == len(TOPIC) + len(OTHER) - 2
    assert set(ranking[:2]) == {"t1", "t2"}  # the other depression trials
    assert "t0" not in ranking and "o0" not in ranking  # screened records are never offered again


def test_next_batch_is_the_head_of_the_ranking_and_scores_cover_every_record():
    ranker = Ranker(_documents())
    decisions = {"t0": 1, "o3": 0, "o4": 0}
    assert ranker.next_batch(decisions, 2) == ranker.rank(decisions)[:2]
    scores = ranker.fit(decisions)
    assert set(scores) == set(ranker.ids)
    ranking = ranker.rank(decisions)
    assert [scores[k] for k in ranking] == sorted((scores[k] for k in ranking), reverse=True)


def test_same_records_and_decisions_give_the_same_scores():
    settings = RankerSettings(presumed_negatives=5)
    decisions = {"t1": True, "o1": False}
    assert Ranker(_documents(), settings, seed=3).fit(decisions) == Ranker(_documents(), settings, seed=3).fit(
        decisions
    )


def test_without_decisions_the_input_order_is_kept():
    assert Ranker(_documents()).rank({}) == [d.record_id for d in _documents()]


def test_includes_only_rank_by_similarity():
    ranking = Ranker(_documents()).rank({"t2": True})
    assert set(ranking[:3]) == {"t0", "t1", "t3"}


def test_records_from_the_pipeline_are_keyed_by_record_id():
    records = [
        Record(
            pmid=str(i),
            title=title,
            abstract_sections=(AbstractSection("", f"{title}."),),
            mesh_headings=(MeshHeading("Depression"),) if i < 4 else (),
        )
        for i, title in enumerate(TOPIC + OTHER)
    ]
    assert record_text(records[0]).endswith(" Depression")
    ranker = Ranker(records)
    assert ranker.ids[:2] == ("pmid:0", "pmid:1")
    assert set(ranker.next_batch({"pmid:0": True, "pmid:5": False}, 3)) == {"pmid:1", "pmid:2", "pmid:3"}


def test_empty_texts_still_rank():
    docs = [Document(f"r{i}") for i in range(5)]  # no title, no abstract anywhere
    assert Ranker(docs).rank({"r0": True, "r1": False}) == ["r2", "r3", "r4"]


def test_unknown_record_in_decisions_is_named():
    with pytest.raises(KeyError) as error:
        Ranker(_documents()).rank({"pmid:999": True})
    assert error.value.args[0] == "decision for record 'pmid:999', which is not among the ranker's 16 records"


def test_duplicate_ids_are_refused():
    with pytest.raises(ValueError, match=r"^record id 'x' appears more than once; give every record its own id$"):
        Ranker([Document("x", "a"), Document("x", "b")])


def test_batch_size_must_be_positive():
    with pytest.raises(ValueError, match=r"^batch size must be at least 1, not 0$"):
        Ranker(_documents()).next_batch({}, 0)


def test_asreview_settings_use_the_svm():
    from pipeline.screening.prioritisation import ASREVIEW_DEFAULT

    ranker = Ranker(_documents(), ASREVIEW_DEFAULT)
    scores = ranker.scores_for_rows(np.array([0, 5]), np.array([1, 0]))
    assert scores.shape == (16,) and scores[1] > scores[6]


def test_the_title_counts_twice_by_default():
    doc = Document("d1", "Ketamine for depression", "A trial.", ("esketamine",))
    assert record_text(doc) == "Ketamine for depression A trial. esketamine"
    assert record_text(doc, title_weight=2) == "Ketamine for depression Ketamine for depression A trial. esketamine"
    assert RankerSettings().title_weight == 2
    # the weighted text is what the default ranker's TF-IDF reads; ASReview's settings read it once
    docs = [doc, Document("d2", "Other", "ketamine"), Document("d3", "Other", "depression")]
    assert (Ranker(docs).matrix != tfidf_matrix(texts_of(docs, 2))).nnz == 0
    assert (Ranker(docs, ASREVIEW_DEFAULT).matrix != tfidf_matrix(texts_of(docs, 1))).nnz == 0
    twice, once = tfidf_matrix(texts_of(docs, 2)), tfidf_matrix(texts_of(docs, 1))
    assert twice[0].nnz == once[0].nnz + 1  # one more bigram, across the repeat: "depression ketamine"
    assert max(twice[0].data) > max(once[0].data)  # the title's words weigh more
