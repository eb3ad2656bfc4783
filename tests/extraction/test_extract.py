"""The shipped pipeline end to end: loading, mentions, offsets, normalisation, abbreviations."""

import dataclasses

import pytest

from pipeline.config import ENTITY_CLASSES, ExtractionConfig
from pipeline.errors import ConfigError
from pipeline.extraction.ner import DEFAULT_MODEL, extract_mentions, load_model, load_nlp
from pipeline.models import AbstractSection, Mention, Record
from pipeline.extraction.evaluation import read_pubtator

from tests.support.paths import BC5CDR_DEV, REPO, needs_shared

KETAMINE = Record(
    pmid="900001",
    title="Ketamine and esketamine for treatment-resistant depression: a meta-analysis",
    abstract_sections=(
        AbstractSection(
            "BACKGROUND",
            "Treatment-resistant depression (TRD) affects a third of patients with "
            "major depressive disorder (MDD). Ketamine is an NMDA receptor antagonist.",
        ),
        AbstractSection(
            "METHODS",
            "We pooled randomized controlled trials of intravenous ketamine (Ketalar) "
            "and intranasal esketamine (Spravato) that used the MADRS.",
        ),
        AbstractSection(
            "RESULTS",
            "In TRD, ketamine reduced MADRS scores within 24 hours. Dissociation, "
            "nausea and increased blood pressure were transient. BDNF levels in the "
            "prefrontal cortex rose in rodents.",
        ),
    ),
)


@pytest.fixture(scope="module")
def mentions(nlp):
    return list(extract_mentions(nlp, [KETAMINE], ENTITY_CLASSES))


def found(mentions, **where):
    return [m for m in mentions if all(getattr(m, k) == v for k, v in where.items())]


def test_shipped_model_is_in_the_repo():
    assert DEFAULT_MODEL == REPO / "pipeline" / "extraction" / "model" / "ner-biomed"
    assert (DEFAULT_MODEL / "config.cfg").is_file()
    size = sum(p.stat().st_size for p in DEFAULT_MODEL.rglob("*") if p.is_file())
    assert size < 30 * 1024 * 1024


def test_model_alone_finds_ketamine_and_depression(model):
    doc = model("Ketamine rapidly improved depression in patients with bipolar disorder.")
    assert ("Ketamine", "Chemical") in [(e.text, e.label_) for e in doc.ents]
    assert ("depression", "Disease") in [(e.text, e.label_) for e in doc.ents]


def test_model_reads_gene_dictionary_features_and_finds_genes(model):
    # The shipped gazetteer carries the HGNC genes next to the drugs and diseases; symbols are cased.
    gazetteer = model.get_pipe("gazetteer_features")
    assert gazetteer.terms[("catalase",)] == ("GENE", "CAT")
    assert gazetteer.terms[("glun2b",)] == ("GENE", "GRIN2B")
    assert {("sgk1",), ("cat",)} <= gazetteer.cased
    # Drug-dictionary names HGNC gives a gene carry the gene feature; other drugs keep theirs.
    assert gazetteer.terms[("bdnf",)] == ("GENE", "BDNF")
    assert gazetteer.terms[("il", "-", "6")] == ("GENE", "IL6")
    assert gazetteer.terms[("interleukin", "-", "6")] == ("GENE", "IL6")
    assert gazetteer.terms[("ketamine",)][0] == "CHEM"
    doc = model("Ketamine raised BDNF and lowered IL-6.")
    assert [t.tag_ for t in doc if t.text in ("Ketamine", "BDNF", "IL")] == ["B-CHEM", "B-GENE", "B-GENE"]
    doc = model("Serum SGK1 and catalase were measured; the cat was fed. GluN2B and mTOR in rats.")
    assert [t.tag_ for t in doc if t.text in ("SGK1", "catalase", "cat", "GluN2B")] == [
        "B-GENE",
        "B-GENE",
        "",
        "B-GENE",
    ]
    doc = model("Serum SGK1 and catalase were measured in patients. GluN2B and mTOR were studied in rats.")
    assert [e.text for e in doc.ents if e.label_ == "Gene/Protein"] == ["SGK1", "catalase", "GluN2B", "mTOR"]


def test_pipeline_components_in_order(nlp):
    assert nlp.pipe_names == [
        "gazetteer_features",
        "tok2vec",
        "ner",
        "gene_names",
        "sentencizer",
        "lexicon_ruler",
        "normaliser",
        "linker",
        "abbreviations",
        "junk_filter",
        "ligand_proteins",
        "doc_cleaner",
    ]


def test_every_class_of_the_review_is_found(mentions):
    labels = {m.label for m in mentions}
    assert labels >= {
        "DRUG",
        "DISEASE",
        "GENE",
        "MECHANISM",
        "BRAIN_REGION",
        "ROUTE",
        "ADVERSE_EFFECT",
        "OUTCOME_SCALE",
        "STUDY_DESIGN",
    }


def test_offsets_point_at_the_text(mentions):
    sections = dict(KETAMINE.sections())
    for m in mentions:
        assert sections[m.section][m.start : m.end] == m.text


def test_order_is_section_then_start(mentions):
    order = [name for name, _ in KETAMINE.sections()]
    keys = [(order.index(m.section), m.start) for m in mentions]
    assert keys == sorted(keys)


def test_brand_names_map_to_the_generic(mentions):
    assert {m.canonical for m in found(mentions, text="Ketalar")} == {"ketamine"}
    assert {m.canonical for m in found(mentions, text="Spravato")} == {"esketamine"}
    assert {m.canonical for m in found(mentions, text="esketamine")} == {"esketamine"}
    assert {m.canonical for m in mentions if m.text.lower() == "ketamine"} == {"ketamine"}


def test_abbreviation_defined_in_background_applies_in_results(mentions):
    trd = found(mentions, text="TRD")
    assert [(m.section, m.label, m.canonical, m.source) for m in trd] == [
        ("BACKGROUND", "DISEASE", "treatment-resistant depression", "abbreviation"),
        ("RESULTS", "DISEASE", "treatment-resistant depression", "abbreviation"),
    ]
    assert [m.canonical for m in found(mentions, text="MDD")] == ["major depressive disorder"]


def test_sentence_index_within_section(mentions):
    [nmda] = found(mentions, label="MECHANISM", section="BACKGROUND")
    assert (nmda.text, nmda.sentence) == ("NMDA receptor antagonist", 1)
    [dissociation] = found(mentions, text="Dissociation")
    assert dissociation.sentence == 1


def test_review_classes_from_the_lexicon(mentions):
    got = {(m.label, m.canonical) for m in mentions}
    assert {
        ("ROUTE", "intravenous"),
        ("ROUTE", "intranasal"),
        ("OUTCOME_SCALE", "MADRS"),
        ("STUDY_DESIGN", "randomized controlled trial"),
        ("STUDY_DESIGN", "meta-analysis"),
        ("BRAIN_REGION", "prefrontal cortex"),
        ("ADVERSE_EFFECT", "dissociation"),
        ("ADVERSE_EFFECT", "increased blood pressure"),
        ("GENE", "BDNF"),
    } <= got


def test_sources(mentions):
    assert {m.source for m in mentions} <= {"model", "lexicon", "abbreviation"}
    assert found(mentions, text="MADRS")[0].source == "lexicon"


def test_classes_filter(nlp):
    only = list(extract_mentions(nlp, [KETAMINE], ["ROUTE"]))
    assert only and {m.label for m in only} == {"ROUTE"}


def test_records_without_text_yield_nothing_and_keep_order(nlp):
    empty = Record(pmid="1")
    other = dataclasses.replace(KETAMINE, pmid="2", abstract_sections=())
    ids = [m.record_id for m in extract_mentions(nlp, [other, empty, KETAMINE], ["DRUG"])]
    assert ids == sorted(ids, key=lambda p: ["pmid:2", "pmid:900001"].index(p))
    assert ids[0] == "pmid:2" and ids[-1] == "pmid:900001"


def test_mentions_are_mention_records(mentions):
    assert all(isinstance(m, Mention) for m in mentions)


def test_normaliser_uses_the_drug_dictionary_for_brands_outside_the_lexicon(nlp):
    normaliser = nlp.get_pipe("normaliser")
    assert normaliser.canonical("Zoloft", "DRUG") == "sertraline"
    assert normaliser.canonical("Esketamine", "DRUG") == "esketamine"
    assert normaliser.canonical("BDNF", "GENE") == "BDNF"
    assert normaliser.canonical("Panic  Disorders", "DISEASE") == "panic disorders"
    assert normaliser.canonical("Bipolar Disorders", "DISEASE") == "bipolar disorder"  # lexicon term, plural


def test_loading_the_lexicon_tokenises_its_phrases_without_running_the_model(monkeypatch, extraction_config):
    from spacy.pipeline.tok2vec import Tok2Vec

    runs = []
    original = Tok2Vec.predict
    monkeypatch.setattr(Tok2Vec, "predict", lambda self, docs: runs.append(len(docs)) or original(self, docs))
    nlp = load_nlp(extraction_config)
    assert runs == []  # ~2,500 lexicon phrases used to go through the model at every load
    assert nlp.disabled == []
    assert [m.text for m in extract_mentions(nlp, [KETAMINE], ["MECHANISM"])] == ["NMDA receptor antagonist"]
    assert runs  # the model runs on the records, as before


def test_missing_model_folder(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_model(tmp_path)
    assert str(exc.value) == (
        f"{tmp_path}: no trained spaCy pipeline here (config.cfg is missing). "
        "Run `make model`, or set [extraction] model to a trained pipeline folder."
    )


def test_malformed_lexicon_fails_at_load(tmp_path):
    bad = tmp_path / "x.toml"
    bad.write_text('[DRUG]\n"ketamine" = "Ketalar"\n')
    with pytest.raises(ConfigError) as exc:
        load_nlp(ExtractionConfig(lexicons=(bad,)))
    assert str(exc.value) == (
        f'{bad}: [DRUG] "ketamine" must be a list of synonyms, not a string. Write "ketamine" = ["Ketalar"].'
    )


@needs_shared
def test_offsets_on_real_abstracts(nlp):
    docs = read_pubtator(BC5CDR_DEV)[:60]
    records = [Record(pmid=d.pmid, title=d.title, abstract_sections=(AbstractSection("", d.abstract),)) for d in docs]
    by_id = {r.record_id: dict(r.sections()) for r in records}
    count = 0
    for m in extract_mentions(nlp, records, ENTITY_CLASSES):
        assert by_id[m.record_id][m.section][m.start : m.end] == m.text
        count += 1
    assert count > 500


def test_ner_for_eval_is_model_gene_names_sentences_linker_abbreviations_junk_filter_and_nested_proteins(ner):
    assert ner.pipe_names == [
        "gazetteer_features",
        "tok2vec",
        "ner",
        "gene_names",
        "sentencizer",
        "linker",
        "abbreviations",
        "junk_filter",
        "ligand_proteins",
    ]


def test_ner_propagates_a_chemical_abbreviation(ner):
    doc = ner("Rats were given puromycin aminonucleoside (PAN) for ten days. PAN caused proteinuria.")
    ents = [(e.text, e.label_) for e in doc.ents]
    assert ents.count(("PAN", "Chemical")) == 2
    assert ("puromycin aminonucleoside", "Chemical") in ents


def test_two_processes_give_the_same_mentions_in_the_same_order(nlp):
    records = [dataclasses.replace(KETAMINE, pmid=str(i)) for i in range(5)]
    one = list(extract_mentions(nlp, records, ENTITY_CLASSES, batch_size=2))
    two = list(extract_mentions(nlp, iter(records), ENTITY_CLASSES, batch_size=2, n_process=2))
    assert two == one
    assert [m.record_id for m in one] == sorted(m.record_id for m in one)


def test_a_receptor_named_after_a_chemical_is_a_gene_beside_the_chemical_unless_the_lexicon_names_it(nlp):
    records = [
        Record(pmid="900002", title="Antipsychotics at the dopamine D2 receptor", abstract_sections=()),
        Record(pmid="900003", title="Inducible NO synthase and the NMDA receptor rose.", abstract_sections=()),
    ]
    mentions = list(extract_mentions(nlp, records, ENTITY_CLASSES))
    assert [(m.record_id, m.start, m.end, m.text, m.label, m.source, m.identifier) for m in mentions] == [
        ("pmid:900002", 22, 30, "dopamine", "DRUG", "model", "MESH:D004298"),
        ("pmid:900002", 22, 42, "dopamine D2 receptor", "GENE", "ligand-protein", "NCBIGene:1813"),
        ("pmid:900003", 0, 21, "Inducible NO synthase", "GENE", "ligand-protein", ""),
        ("pmid:900003", 10, 12, "NO", "DRUG", "model", "MESH:D009569"),
        # the ketamine lexicon lists "NMDA receptor" as a GENE term: it replaces the chemical
        ("pmid:900003", 30, 43, "NMDA receptor", "GENE", "lexicon", "NCBIGene:2902"),
    ]


def test_eval_ner_relabels_a_model_chemical_that_ends_in_a_protein_head(ner):
    doc = ner("Clozapine binds the 5-HT2A receptor more than the D2 receptor.")
    assert [(e.text, e.label_) for e in doc.ents if "5-HT2A" in e.text] == [("5-HT2A receptor", "Gene/Protein")]
