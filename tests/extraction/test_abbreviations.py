"""Schwartz–Hearst definitions and propagation, on a rule-only pipeline (no trained model)."""

import pytest
import spacy

from pipeline.extraction.components.abbreviations import definitions, find_long_form, is_short_form
from pipeline.extraction.ner import add_review_components
from pipeline.extraction.components.tokenizer import customize_tokenizer

LEXICON = {
    "DISEASE": {"treatment-resistant depression": (), "major depressive disorder": ()},
    "DRUG": {"ketamine": ("Ketalar",)},
    "OUTCOME_SCALE": {"MADRS": ("Montgomery-Asberg Depression Rating Scale",)},
}


def build(lexicon=LEXICON):
    return add_review_components(customize_tokenizer(spacy.blank("en")), lexicon)


@pytest.fixture(scope="module")
def nlp():
    return build()


def ents(doc):
    return [(e.text, e.label_, e._.canonical, e._.source) for e in doc.ents]


@pytest.mark.parametrize(
    "short, before, expected",
    [
        ("TRD", "patients with treatment-resistant depression", "treatment-resistant depression"),
        ("MDD", "adults with major depressive disorder", "major depressive disorder"),
        ("HNK", "its metabolite hydroxynorketamine", "hydroxynorketamine"),
        ("ECT", "compared with electroconvulsive therapy", "electroconvulsive therapy"),
        ("5-HT", "release of 5-hydroxytryptamine", "5-hydroxytryptamine"),
    ],
)
def test_find_long_form(short, before, expected):
    start = find_long_form(short, before)
    assert before[start:] == expected


def test_no_long_form_when_letters_are_missing():
    assert find_long_form("XYZ", "patients with depression") is None


@pytest.mark.parametrize(
    "candidate, ok",
    [
        ("TRD", True),
        ("5-HT", True),
        ("n = 12", False),
        ("p", False),
        ("2016", False),
        ("a long phrase here", False),
        ("i.v.", True),
    ],
)
def test_is_short_form(candidate, ok):
    assert is_short_form(candidate) is ok


def test_definitions_give_token_aligned_spans(nlp):
    doc = nlp("Patients with treatment-resistant depression (TRD) improved.")
    [(short, long)] = definitions(doc)
    assert (short.text, long.text) == ("TRD", "treatment-resistant depression")


def test_short_form_takes_long_form_label_and_canonical(nlp):
    doc = nlp("Patients with treatment-resistant depression (TRD) were enrolled. Response in TRD was fast.")
    assert ents(doc) == [
        ("treatment-resistant depression", "DISEASE", "treatment-resistant depression", "lexicon"),
        ("TRD", "DISEASE", "treatment-resistant depression", "abbreviation"),
        ("TRD", "DISEASE", "treatment-resistant depression", "abbreviation"),
    ]


def test_committed_lexicon_listing_the_short_form_still_propagates():
    nlp = build({"DISEASE": {"treatment-resistant depression": ("TRD",)}})
    doc = nlp("In treatment-resistant depression (TRD), TRD remits.")
    assert [e[1:3] for e in ents(doc)] == [("DISEASE", "treatment-resistant depression")] * 3


def test_definition_whose_long_form_is_no_entity_changes_nothing(nlp):
    doc = nlp("We used the fast acting protocol (FAP). FAP was safe.")
    assert ents(doc) == []


def test_short_form_is_case_sensitive_and_whole_token(nlp):
    doc = nlp("In major depressive disorder (MDD), trd and MDDs differ from MDD.")
    assert [e.text for e in doc.ents] == ["major depressive disorder", "MDD", "MDD"]


def test_abbreviation_replaces_an_overlapping_lexicon_guess():
    # The lexicon says MADRS is a scale; this paper defines it as something else that is a drug.
    lexicon = {"DRUG": {"madrosine": ()}, "OUTCOME_SCALE": {"MADRS": ()}}
    doc = build(lexicon)("Patients received madrosine (MADRS). MADRS was well tolerated.")
    assert [e[1:] for e in ents(doc) if e[0] == "MADRS"] == [("DRUG", "madrosine", "abbreviation")] * 2


def test_normaliser_lexicon_canonical_for_brand(nlp):
    doc = nlp("Ketalar was given.")
    assert ents(doc) == [("Ketalar", "DRUG", "ketamine", "lexicon")]


def test_occurrences_before_the_definition_are_labelled_too(nlp):
    # The scope is the whole document: a title often uses the short form the abstract defines.
    doc = nlp("TRD responds. Patients with treatment-resistant depression (TRD) were enrolled.")
    assert [e.text for e in doc.ents if e._.source == "abbreviation"] == ["TRD", "TRD"]


def test_two_definitions_in_one_document(nlp):
    doc = nlp("In major depressive disorder (MDD) and treatment-resistant depression (TRD), MDD and TRD differ.")
    pairs = [(e.text, e._.canonical) for e in doc.ents if e._.source == "abbreviation"]
    assert pairs == [
        ("MDD", "major depressive disorder"),
        ("TRD", "treatment-resistant depression"),
        ("MDD", "major depressive disorder"),
        ("TRD", "treatment-resistant depression"),
    ]


def test_long_form_outside_the_sentence_window_is_not_used(nlp):
    doc = nlp("Ketalar was given. (KT) was measured.")
    assert [e.text for e in doc.ents] == ["Ketalar"]


@spacy.Language.component("test_model_guesses")
def model_guesses(doc):
    """Stands in for the trained model: CMAI and DBS genes, PANSS a disease, as it guessed on real abstracts."""
    guesses = {"CMAI": "GENE", "PANSS": "DISEASE", "DBS": "GENE"}
    doc.ents = [spacy.tokens.Span(doc, t.i, t.i + 1, label=guesses[t.text]) for t in doc if t.text in guesses]
    return doc


def with_model_guesses(lexicon=LEXICON):
    nlp = customize_tokenizer(spacy.blank("en"))
    nlp.add_pipe("test_model_guesses")
    return add_review_components(nlp, lexicon)


def test_a_short_form_defined_for_an_instrument_or_a_procedure_is_no_gene_or_disease():
    nlp = with_model_guesses()
    doc = nlp(
        "Agitation fell on the Cohen-Mansfield Agitation Inventory (CMAI). CMAI scores and the "
        "Positive and Negative Syndrome Scale (PANSS) total improved; PANSS fell by 10."
    )
    assert ents(doc) == []
    # undefined in the document, the model's guess stands (nothing says what the letters name)
    assert [e.label_ for e in nlp("CMAI scores fell.").ents] == ["GENE"]
    # nor is a procedure's
    assert ents(nlp("Deep brain stimulation (DBS) was safe; DBS helped.")) == []
    # a long form that names no instrument changes nothing
    assert [e.text for e in nlp("The CMA inhibitor (CMAI) bound. CMAI fell.").ents] == ["CMAI", "CMAI"]


def test_an_instrument_the_lexicon_lists_propagates_as_an_outcome_scale():
    nlp = with_model_guesses({"OUTCOME_SCALE": {"PANSS": ("Positive and Negative Syndrome Scale",)}})
    doc = nlp("The Positive and Negative Syndrome Scale (PANSS) was used. PANSS fell.")
    assert [(e.text, e.label_) for e in doc.ents] == [
        ("Positive and Negative Syndrome Scale", "OUTCOME_SCALE"),
        ("PANSS", "OUTCOME_SCALE"),
        ("PANSS", "OUTCOME_SCALE"),
    ]
