"""PubTator reading and strict-span scoring (pure functions, no model)."""

import pytest
from hypothesis import given, strategies as st

from pipeline.errors import ConfigError
from tests.support.paths import FIXTURES
from pipeline.extraction.evaluation import Entity, Scores, read_pubtator, score

FIXTURE = FIXTURES / "tiny.pubtator"


@pytest.fixture(scope="module")
def docs():
    return read_pubtator(FIXTURE)


def test_reads_documents_in_file_order(docs):
    assert [d.pmid for d in docs] == ["111", "222"]
    assert docs[1].title == "Lithium toxicity."
    assert docs[1].text == "Lithium toxicity. Two cases of lithium-associated nephrogenic diabetes insipidus."


def test_maps_corpus_types_and_drops_unknown_ones(docs):
    labels = [(e.text, e.label) for e in docs[0].entities]
    assert labels == [
        ("Ketamine", "Chemical"),
        ("dissociation", "Disease"),
        ("depression", "Disease"),
        ("Esketamine", "Chemical"),
        ("treatment-resistant depression", "Disease"),
        ("BDNF", "Gene/Protein"),
    ]  # "mice" (OrganismTaxon) is dropped; the duplicate "depression" line counts once


def test_ncbi_disease_subtypes_become_disease(docs):
    assert {e.label for e in docs[1].entities} == {"Chemical", "Disease"}
    assert [e.text for e in docs[1].entities if e.label == "Disease"] == ["toxicity", "nephrogenic diabetes insipidus"]


def test_offsets_point_at_the_mention_text(docs):
    for doc in docs:
        for e in doc.entities:
            assert doc.text[e.start : e.end] == e.text


def test_relation_lines_are_skipped(docs):
    assert len(docs[0].entities) == 6


def test_missing_file_names_the_fix(tmp_path):
    path = tmp_path / "nope.txt"
    with pytest.raises(ConfigError) as exc:
        read_pubtator(path)
    assert str(exc.value) == f"{path}: corpus file not found. Pass an existing PubTator file with --corpus."


@pytest.mark.parametrize(
    "text, message",
    [
        ("hello\n\n", "{path}: no PubTator documents found. Expected lines like 'PMID|t|title'."),
        (
            "1|t|Aspirin works.\n1|a|Yes.\n1\t0\t6\tAspirin\tChemical\t-\n",
            "{path}:3: offsets 0-6 give 'Aspiri', not 'Aspirin'. Offsets must index title + ' ' + abstract.",
        ),
        (
            "1\t0\t6\tAspirin\tChemical\t-\n1|t|Aspirin works.\n",
            "{path}:1: mention for PMID 1 comes before its title line. Is this a PubTator file?",
        ),
    ],
    ids=["no documents", "wrong offsets", "mention before title"],
)
def test_unreadable_pubtator_is_reported_with_the_line(tmp_path, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(ConfigError) as exc:
        read_pubtator(path)
    assert str(exc.value) == message.format(path=path)


def test_padded_mention_text_is_accepted(tmp_path):
    # NCBI-disease pads some mention texts with spaces that the offsets exclude.
    path = tmp_path / "pad.txt"
    path.write_text("1|t|Aspirin works.\n1|a|Yes.\n1\t0\t7\tAspirin  \tChemical\t-\n")
    assert read_pubtator(path)[0].entities == [Entity(0, 7, "Chemical", "Aspirin")]


# --- scoring maths, hand-computed ---------------------------------------------------------------


def E(start, end, label):
    return Entity(start, end, label)


def test_perfect_prediction():
    gold = [[E(0, 5, "Chemical"), E(10, 20, "Disease")]]
    s = score(gold, gold)
    assert s["micro"] == Scores(2, 0, 0)
    assert (s["micro"].precision, s["micro"].recall, s["micro"].f1) == (1.0, 1.0, 1.0)


def test_strict_span_boundary_error_is_one_fp_and_one_fn():
    s = score([[E(0, 5, "Chemical")]], [[E(0, 4, "Chemical")]])
    assert s["Chemical"] == Scores(tp=0, fp=1, fn=1)
    assert s["micro"].f1 == 0.0


def test_wrong_type_is_one_fp_and_one_fn():
    s = score([[E(0, 5, "Chemical")]], [[E(0, 5, "Disease")]])
    assert s["Chemical"] == Scores(0, 0, 1)
    assert s["Disease"] == Scores(0, 1, 0)


def test_hand_computed_micro_and_per_type():
    gold = [[E(0, 5, "Chemical"), E(6, 9, "Chemical"), E(10, 20, "Disease")], [E(0, 3, "Disease")]]
    pred = [
        [E(0, 5, "Chemical"), E(10, 20, "Disease"), E(30, 35, "Disease")],
        [E(0, 3, "Disease"), E(5, 8, "Chemical")],
    ]
    s = score(gold, pred)
    # Chemical: tp 1, fp 1, fn 1 -> P 0.5 R 0.5 F 0.5
    assert s["Chemical"] == Scores(1, 1, 1)
    assert s["Chemical"].f1 == 0.5
    # Disease: tp 2, fp 1, fn 0 -> P 2/3 R 1 F 0.8
    assert s["Disease"] == Scores(2, 1, 0)
    assert s["Disease"].f1 == pytest.approx(0.8)
    # micro: tp 3 fp 2 fn 1 -> P 0.6 R 0.75 F 2*.6*.75/1.35
    assert s["micro"] == Scores(3, 2, 1)
    assert s["micro"].f1 == pytest.approx(2 * 0.6 * 0.75 / 1.35)


def test_label_filter_ignores_other_types_on_both_sides():
    gold = [[E(0, 5, "Chemical")]]
    pred = [[E(0, 5, "Chemical"), E(7, 9, "Gene/Protein")]]
    s = score(gold, pred, labels=["Chemical", "Disease"])
    assert set(s) == {"Chemical", "Disease", "micro"}
    assert s["micro"] == Scores(1, 0, 0)
    assert s["Disease"] == Scores(0, 0, 0)


def test_empty_scores_are_zero_not_an_error():
    s = Scores(0, 0, 0)
    assert (s.precision, s.recall, s.f1) == (0.0, 0.0, 0.0)


def test_as_dict_rounds_and_keeps_counts():
    assert Scores(1, 2, 0).as_dict() == {"precision": 0.3333, "recall": 1.0, "f1": 0.5, "tp": 1, "fp": 2, "fn": 0}


def test_documents_must_be_parallel():
    with pytest.raises(ValueError):
        score([[E(0, 1, "Chemical")]], [])


spans = st.lists(
    st.builds(E, st.integers(0, 50), st.integers(51, 99), st.sampled_from(["Chemical", "Disease"])), max_size=8
)


@given(gold=spans, pred=spans)
def test_counts_add_up(gold, pred):
    s = score([gold], [pred])
    assert s["micro"].tp + s["micro"].fn == len({(e.start, e.end, e.label) for e in gold})
    assert s["micro"].tp + s["micro"].fp == len({(e.start, e.end, e.label) for e in pred})
    assert 0.0 <= s["micro"].f1 <= 1.0


# --- the shared corpora (skipped without ../shared) -----------------------------------------------

from tests.support.paths import SHARED_NER, needs_shared  # noqa: E402


@needs_shared
@pytest.mark.parametrize(
    "path, documents, counts",
    [
        ("BC5CDR/CDR_DevelopmentSet.PubTator.txt", 500, {"Chemical": 5347, "Disease": 4244}),
        ("BioRED/Dev.PubTator", 100, {"Chemical": 822, "Disease": 982, "Gene/Protein": 1087}),
        ("NCBI-disease/NCBIdevelopset_corpus.txt", 100, {"Disease": 787}),
    ],
)
def test_real_corpora_counts(path, documents, counts):
    docs = read_pubtator(SHARED_NER / path)
    assert len(docs) == documents
    found = {}
    for d in docs:
        for e in d.entities:
            found[e.label] = found.get(e.label, 0) + 1
    assert found == counts
