"""No junk, and the review's concepts win: one realistic ketamine sentence per class of mistake
that issue 18 lists, run through the shipped pipeline, with exact expectations; the pure junk
rules; and a count of junk mentions over the shared PubMed records (goal: zero)."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.config import ENTITY_CLASSES
from pipeline.extraction.components.junk import STOP_WORDS, balanced_span, junk_reason
from pipeline.extraction.ner import extract_mentions
from pipeline.models import AbstractSection, Record
from pipeline.sources.pubmed_xml.local import iter_local_records
from tests.support.paths import SHARED_PUBMED


def extract(nlp, text: str) -> list[tuple[str, str, str, str]]:
    """(text, label, canonical, identifier) of every mention in a one-section record."""
    record = Record(pmid="1", title="", abstract_sections=(AbstractSection("", text),))
    return [(m.text, m.label, m.canonical, m.identifier) for m in extract_mentions(nlp, [record], ENTITY_CLASSES)]


# --- abbreviation scope: NMDA, AMPA ----------------------------------------------------------------


def test_nmda_defined_inside_a_lexicon_term_does_not_make_every_nmda_a_drug(nlp):
    found = extract(
        nlp,
        "Ketamine, an N-methyl-D-aspartate (NMDA) receptor antagonist, blocks NMDA receptors "
        "on GABA interneurons; NMDA receptor antagonism is thought to drive its effect.",
    )
    assert found == [
        ("Ketamine", "DRUG", "ketamine", "MESH:D007649"),
        ("N-methyl-D-aspartate (NMDA) receptor antagonist", "MECHANISM", "NMDA receptor antagonism", ""),
        ("NMDA receptors", "GENE", "NMDA receptor", "NCBIGene:2902"),
        ("GABA", "DRUG", "gamma-aminobutyric acid", "MESH:D005680"),  # MeSH's name for the concept
        ("NMDA receptor antagonism", "MECHANISM", "NMDA receptor antagonism", ""),
    ]


def test_ampa_receptors_stay_a_gene_after_ampa_is_defined(nlp):
    found = extract(
        nlp,
        "Ketamine increases α-amino-3-hydroxy-5-methyl-4-isoxazolepropionic acid (AMPA) "
        "throughput; AMPA receptors then drive synaptogenesis.",
    )
    # AMPA itself is a chemical (its definition says so); the receptors are the lexicon's gene.
    assert [f[:2] for f in found if "AMPA" in f[0]] == [("AMPA", "DRUG"), ("AMPA receptors", "GENE")]
    assert ("AMPA receptors", "GENE", "AMPA receptor", "NCBIGene:2890") in found


# --- punctuation-only, registry numbers, brackets --------------------------------------------------


def test_the_lancet_decimal_point_and_trial_registry_numbers_are_not_entities(nlp):
    found = extract(
        nlp,
        "Ketamine reduced MADRS scores by 12·4 points (95% CI 8·1–16·7) versus midazolam "
        "(NCT03667690; ISRCTN14688109; EudraCT 2015-001234-12).",
    )
    assert found == [
        ("Ketamine", "DRUG", "ketamine", "MESH:D007649"),
        ("MADRS", "OUTCOME_SCALE", "MADRS", ""),
        ("midazolam", "DRUG", "midazolam", "MESH:D008874"),
    ]


def test_spans_crossing_a_bracket_are_cut_at_it():
    assert balanced_span("ketamine (KET") == (0, 8)
    assert balanced_span("depression)") == (0, 10)
    assert balanced_span("KET) and ketamine") == (5, 17)
    assert balanced_span("(R,S)-ketamine") == (0, 14)
    assert balanced_span("(") == (0, 0)
    assert balanced_span("(]") == (0, 0)


@given(st.text(alphabet="ab ()[]", max_size=20))
def test_what_balanced_span_keeps_has_balanced_brackets(text):
    start, end = balanced_span(text)
    kept = text[start:end]
    for opening, closing in ("()", "[]"):
        depth = 0
        for c in kept:
            depth += (c == opening) - (c == closing)
            assert depth >= 0
    assert (start, end) == (0, len(text)) or kept == kept.strip()


# --- scale names ---------------------------------------------------------------------------------


def test_scale_names_are_outcome_scales_not_fragments(nlp):
    found = extract(
        nlp,
        "Response was defined on the HAM-D17, suicidality on the Columbia-Suicide Severity "
        "Rating Scale, and cognition on the Montreal Cognitive Assessment (MoCA).",
    )
    assert found == [
        ("HAM-D17", "OUTCOME_SCALE", "HAM-D", ""),
        ("suicidality", "DISEASE", "suicidal ideation", "MESH:D059020"),
        ("Columbia-Suicide Severity Rating Scale", "OUTCOME_SCALE", "C-SSRS", ""),
        ("Montreal Cognitive Assessment", "OUTCOME_SCALE", "MoCA", ""),
        ("MoCA", "OUTCOME_SCALE", "MoCA", ""),
    ]


def test_the_panss_is_an_outcome_scale_defined_or_not(nlp):
    # Psychotomimetic effects of ketamine are rated on the BPRS and the PANSS; the model took PANSS
    # for a disease 176 times over the screening abstracts.
    found = extract(nlp, "Symptoms were rated on the BPRS and the PANSS.")
    assert [(text, label) for text, label, _, _ in found] == [("BPRS", "OUTCOME_SCALE"), ("PANSS", "OUTCOME_SCALE")]
    found = extract(nlp, "The Positive and Negative Syndrome Scale (PANSS) total fell.")
    assert {label for _, label, _, _ in found} == {"OUTCOME_SCALE"}


# --- common words, lexicon errors -----------------------------------------------------------------


def test_hippocampal_fields_are_brain_regions_not_the_gene_ca1(nlp):
    found = extract(nlp, "Ketamine enhanced LTP in hippocampal CA1 and CA3 pyramidal neurons and the dentate gyrus.")
    assert [(text, label) for text, label, _, _ in found if label in ("GENE", "BRAIN_REGION")] == [
        ("hippocampal CA1", "BRAIN_REGION"),
        ("CA3", "BRAIN_REGION"),
        ("dentate gyrus", "BRAIN_REGION"),
    ]


def test_common_words_the_dictionaries_carry_are_dropped(nlp):
    found = extract(
        nlp,
        "Following the marine guideline, the risk of bias of ketamine trials was assessed "
        "and attitudes towards ketamine were surveyed.",
    )
    assert [f[0] for f in found] == ["ketamine", "ketamine"]


def test_ect_is_a_treatment_neuroinflammation_and_bipolar_disorder_are_their_own_concepts(nlp):
    found = extract(
        nlp,
        "Compared with electroconvulsive therapy (ECT), ketamine reduced neuroinflammation "
        "in bipolar disorder; ECT did not.",
    )
    assert found == [
        ("electroconvulsive therapy", "TREATMENT", "electroconvulsive therapy", ""),
        ("ECT", "TREATMENT", "electroconvulsive therapy", ""),
        ("ketamine", "DRUG", "ketamine", "MESH:D007649"),
        ("neuroinflammation", "MECHANISM", "neuroinflammation", ""),
        ("bipolar disorder", "DISEASE", "bipolar disorder", "MESH:D001714"),
        ("ECT", "TREATMENT", "electroconvulsive therapy", ""),
    ]


def test_hyphen_and_space_variants_match_at_every_position(nlp):
    found = extract(
        nlp,
        "Glycogen synthase kinase 3 and glycogen synthase-kinase-3 inhibition follow "
        "ketamine; so does BDNF–TrkB signalling.",
    )
    assert [f for f in found if f[1] == "GENE"][:2] == [
        ("Glycogen synthase kinase 3", "GENE", "GSK-3", "NCBIGene:2932"),
        ("glycogen synthase-kinase-3", "GENE", "GSK-3", "NCBIGene:2932"),
    ]


# --- the pure rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, after, reason",
    [
        ("·", "", "no-letters"),
        ("12.4", "", "no-letters"),
        ("NCT03667690", "", "registry-id"),
        ("ISRCTN14688109", "", "registry-id"),
        ("ACTRN12618001234567", "", "registry-id"),
        ("CRD42020123456", "", "registry-id"),
        ("DSM-IV", "", "classification"),
        ("DSM-IV-TR", "", "classification"),
        ("DSM-5", "", "classification"),
        ("DSM-III-R", "", "classification"),
        ("ICD-10", "", "classification"),
        ("ICD-9-CM", "", "classification"),
        ("DSM-IV bipolar I", "", ""),
        ("Fig", " 1. Considerable", "figure-reference"),
        ("Figure 1", "", "figure-reference"),
        ("Figure B", "", "figure-reference"),
        ("Fig. 2A", "", "figure-reference"),
        ("FIG", "", ""),
        ("fig tree", "", ""),
        ("ICDs", "", ""),
        ("10.1016/S0140-6736(20)30001-1", "", "registry-id"),
        ("HAM", "-D17 score", "scale-fragment"),
        ("Marine", "", "stop-word"),
        ("ketamine", "-induced", ""),
        ("FOXP3", "-positive", ""),
        ("MMP", "-2 and", ""),
        ("BDNF", " levels", ""),
    ],
)
def test_junk_reasons(text, after, reason):
    assert junk_reason(text, "DRUG", "model", after) == reason


def test_a_linked_mention_is_not_a_scale_fragment():
    assert junk_reason("GABA", "DRUG", "model", "-A receptor", "MESH:D005680") == ""


def test_lexicon_entities_are_never_stop_words():
    assert junk_reason("guideline", "STUDY_DESIGN", "lexicon") == ""


# --- the shared PubMed records --------------------------------------------------------------------

JUNK_KINDS = {
    "no letters": lambda m: not re.search(r"[^\W\d_]", m.text),
    "registry id": lambda m: bool(re.search(r"\b(NCT\d{8}|ISRCTN\d+|ACTRN\d+|CRD\d{8,})\b|\b10\.\d{4,}/", m.text)),
    "unbalanced bracket": lambda m: any(m.text.count(a) != m.text.count(b) for a, b in ("()", "[]")),
    "stop word": lambda m: m.source != "lexicon" and m.text.lower() in STOP_WORDS,
    "scale fragment": lambda m: m.source != "lexicon" and m.text in {"HAM", "Columbia-Suicide"},
    "classification": lambda m: bool(re.fullmatch(r"(DSM|ICD)-[\w-]+", m.text)),
    "figure reference": lambda m: m.text.rstrip(".") in {"Fig", "Figs", "Figure", "Figures"},
}


# "(Cohen-Mansfield Agitation) Inventory (CMAI)", "(deep brain) stimulation (DBS)": the letters a
# record defines for a measuring instrument or a procedure
INSTRUMENT_DEFINED = re.compile(
    r"(?:Scale|Inventory|Questionnaire|Test|Task|Index|Score|Checklist|Interview|Battery|Assessment"
    r"|Examination|Survey|Rating|Tomography|Imaging|Resonance|Spectroscopy|Stimulation|Therapy)s?\s*"
    r"\(([A-Za-z][\w-]{1,9})\)",
    re.IGNORECASE,
)


@pytest.mark.slow
def test_no_junk_mentions_in_the_shared_pubmed_records(nlp):
    if not SHARED_PUBMED.is_dir():
        pytest.skip(f"{SHARED_PUBMED} is absent: the junk count needs the shared PubMed records")
    records = {}
    for item in iter_local_records([SHARED_PUBMED / "pmparser"]):
        if isinstance(item, Record) and item.abstract_sections and item.pmid not in records:
            records[item.pmid] = item
        if len(records) == 400:
            break
    assert len(records) == 400
    mentions = list(extract_mentions(nlp, records.values(), ENTITY_CLASSES))
    assert len(mentions) > 2000
    junk = {kind: [m.text for m in mentions if test(m)] for kind, test in JUNK_KINDS.items()}
    instruments = {
        r.record_id: set(INSTRUMENT_DEFINED.findall(" ".join(t for _, t in r.sections()))) for r in records.values()
    }
    assert sum(map(len, instruments.values())) > 0  # the records do define instruments
    junk["instrument abbreviation"] = [
        m.text
        for m in mentions
        if m.label in {"DRUG", "DISEASE", "GENE"} and m.source != "lexicon" and m.text in instruments[m.record_id]
    ]
    assert junk == {kind: [] for kind in [*JUNK_KINDS, "instrument abbreviation"]}


def test_the_junk_rules_flag_no_gold_mention_of_the_dev_corpora():
    from pipeline.extraction.linking import default_linker
    from tests.support.paths import SHARED_NER, corpus_entities

    if not SHARED_NER.is_dir():
        pytest.skip(f"{SHARED_NER} is absent: the check reads the shared NER corpora")
    linker = default_linker()
    flagged = []
    for _, doc, e in corpus_entities(
        "BC5CDR/CDR_DevelopmentSet.PubTator.txt", "BioRED/Dev.PubTator", "NCBI-disease/NCBIdevelopset_corpus.txt"
    ):
        link = linker.link(e.label, e.text, doc.text)
        if junk_reason(e.text, e.label, "model", doc.text[e.end : e.end + 8], link.identifier if link else ""):
            flagged.append(e.text)
    assert flagged == []


def test_no_gold_mention_of_the_corpora_is_a_short_form_defined_for_an_instrument_or_a_procedure():
    import spacy

    from pipeline.extraction.components.abbreviations import INSTRUMENT_OR_PROCEDURE, definitions
    from pipeline.extraction.components.tokenizer import customize_tokenizer
    from pipeline.extraction.evaluation import read_pubtator
    from tests.support.paths import SHARED_NER

    if not SHARED_NER.is_dir():
        pytest.skip(f"{SHARED_NER} is absent: the check reads the shared NER corpora")
    nlp = customize_tokenizer(spacy.blank("en"))
    nlp.add_pipe("sentencizer")
    dropped, defined = [], 0
    for relative in (
        "BC5CDR/CDR_TrainingSet.PubTator.txt",
        "BC5CDR/CDR_DevelopmentSet.PubTator.txt",
        "BioRED/Train.PubTator",
        "BioRED/Dev.PubTator",
        "NCBI-disease/NCBItrainset_corpus.txt",
        "NCBI-disease/NCBIdevelopset_corpus.txt",
    ):
        for doc in read_pubtator(SHARED_NER / relative):
            instruments = {
                short.text for short, long in definitions(nlp(doc.text)) if INSTRUMENT_OR_PROCEDURE.search(long.text)
            }
            defined += len(instruments)
            dropped += [e.text for e in doc.entities if e.text in instruments]
    assert defined > 10  # the rule has instruments to act on
    assert dropped == []
