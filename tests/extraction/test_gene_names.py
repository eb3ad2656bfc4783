"""gene_names: Chemical/Disease entities that are HGNC gene names become Gene/Protein, unless the
train splits annotate the name as that type; 3-letter symbols without a digit are never relabelled."""

import gzip

import pytest
from spacy.tokens import Span

from pipeline.errors import ConfigError
from pipeline.extraction.components.gene_names import (
    GENE,
    GeneNames,
    GeneVocabulary,
    default_gene_vocabulary,
    load_gene_vocabulary,
    symbol_allowed,
)
from tests.support.labelled_docs import blank_nlp, labelled
from pipeline.extraction.linking import VOCABULARY_DIR, name_key, read_tsv
from tests.support.paths import corpus_entities, needs_shared


@pytest.fixture(scope="module")
def blank():
    return blank_nlp()


@pytest.fixture(scope="module")
def shipped():
    return default_gene_vocabulary()


def relabel(nlp, vocabulary, text, entities):
    doc = GeneNames(nlp, vocabulary=vocabulary)(labelled(nlp, text, entities))
    return [(e.text, e.label_) for e in doc.ents]


def test_drug_dictionary_proteins_the_model_calls_chemicals_become_genes(blank, shipped):
    text = (
        "Ketamine increased serum BDNF and lowered IL-6 and interleukin-1 beta, while "
        "brain-derived neurotrophic factor rose in the hippocampus."
    )
    found = relabel(
        blank,
        shipped,
        text,
        [
            ("Ketamine", "Chemical"),
            ("BDNF", "Chemical"),
            ("IL-6", "Chemical"),
            ("interleukin-1 beta", "Chemical"),
            ("brain-derived neurotrophic factor", "Chemical"),
        ],
    )
    assert found == [
        ("Ketamine", "Chemical"),
        ("BDNF", GENE),
        ("IL-6", GENE),
        ("interleukin-1 beta", GENE),
        ("brain-derived neurotrophic factor", GENE),
    ]


def test_a_gene_the_model_calls_a_disease_becomes_a_gene(blank, shipped):
    text = "Carriers of APOE and PSEN1 variants developed Alzheimer's disease earlier."
    found = relabel(
        blank, shipped, text, [("APOE", "Disease"), ("PSEN1", "Disease"), ("Alzheimer's disease", "Disease")]
    )
    assert found == [("APOE", GENE), ("PSEN1", GENE), ("Alzheimer's disease", "Disease")]


def test_a_gene_name_the_train_splits_annotate_as_a_chemical_stays_a_chemical(blank, shipped):
    # "insulin" is the approved name of INS, but BC5CDR's curators annotate it as a Chemical.
    assert "insulin" in shipped.names
    assert "insulin" in shipped.annotated["Chemical"]
    text = "Insulin and leptin were measured after the glucose load."
    found = relabel(blank, shipped, text, [("Insulin", "Chemical"), ("leptin", "Chemical"), ("glucose", "Chemical")])
    assert found == [("Insulin", "Chemical"), ("leptin", GENE), ("glucose", "Chemical")]


def test_three_letter_symbols_without_a_digit_are_not_relabelled(blank, shipped):
    # ACE, TNF and CAT are approved symbols, but too often something else to relabel.
    text = "ACE inhibitors, TNF blockers and CAT activity; C3 and IL6 were raised."
    found = relabel(
        blank,
        shipped,
        text,
        [("ACE", "Chemical"), ("TNF", "Chemical"), ("CAT", "Chemical"), ("C3", "Chemical"), ("IL6", "Chemical")],
    )
    assert found == [("ACE", "Chemical"), ("TNF", "Chemical"), ("CAT", "Chemical"), ("C3", GENE), ("IL6", GENE)]


def test_symbols_are_case_sensitive_and_names_are_not(blank, shipped):
    text = "bdnf and Bdnf differ from Brain-Derived Neurotrophic Factor."
    found = relabel(
        blank,
        shipped,
        text,
        [("bdnf", "Chemical"), ("Bdnf", "Chemical"), ("Brain-Derived Neurotrophic Factor", "Chemical")],
    )
    assert found == [("bdnf", "Chemical"), ("Bdnf", "Chemical"), ("Brain-Derived Neurotrophic Factor", GENE)]


def test_only_chemical_and_disease_entities_are_relabelled(blank, shipped):
    text = "BDNF and BDNF and BDNF."
    doc = blank.make_doc(text)
    doc.ents = [Span(doc, 0, 1, "Gene/Protein"), Span(doc, 2, 3, "DRUG"), Span(doc, 4, 5, "Chemical")]
    doc = GeneNames(blank, vocabulary=shipped)(doc)
    assert [e.label_ for e in doc.ents] == ["Gene/Protein", "DRUG", GENE]


def test_a_doc_without_gene_names_is_returned_unchanged(blank, shipped):
    doc = labelled(blank, "Ketamine for depression.", [("Ketamine", "Chemical"), ("depression", "Disease")])
    before = list(doc.ents)
    assert list(GeneNames(blank, vocabulary=shipped)(doc).ents) == before


def test_a_symbol_the_train_splits_call_a_disease_is_a_gene_where_the_words_after_it_say_so(blank, shipped):
    # NCBI-disease annotates MEN1 (multiple endocrine neoplasia type 1) as a disease.
    assert "men1" in shipped.annotated["Disease"] and "MEN1" in shipped.symbols
    text = "Somatic MEN1 gene alterations were rare; MEN1 patients had tumours."
    doc = labelled(blank, text, [("MEN1", "Disease")])
    second = doc.char_span(text.index("MEN1 patients"), text.index("MEN1 patients") + 4, label="Disease")
    doc.ents = [*doc.ents, second]
    found = [(e.text, e.start_char, e.label_) for e in GeneNames(blank, vocabulary=shipped)(doc).ents]
    assert found == [("MEN1", 8, GENE), ("MEN1", 41, "Disease")]


def test_the_symbols_only_a_gene_word_makes_genes_are_the_six_the_docs_name(shipped):
    annotated = shipped.annotated["Disease"] | shipped.annotated["Chemical"]
    assert {s for s in shipped.symbols if name_key(s) in annotated} == {"CAMP", "CCL4", "HCCS", "MEN1", "OCRL", "RB1"}


def test_a_name_ending_in_a_protein_head_becomes_a_gene_unless_it_names_a_deficiency(blank, shipped):
    text = (
        "The 5-HT2A receptor, histone deacetylase and liver-type fatty acid binding protein rose; "
        "deficiency of phenylalanine hydroxylase and creatine kinase did not."
    )
    entities = [
        ("5-HT2A receptor", "Chemical"),
        ("histone deacetylase", "Chemical"),
        ("liver-type fatty acid binding protein", "Disease"),
        ("deficiency of phenylalanine hydroxylase", "Disease"),
        ("creatine kinase", "Chemical"),  # BioRED's train split annotates it as a Chemical
    ]
    assert "creatine kinase" in shipped.annotated["Chemical"]
    assert relabel(blank, shipped, text, entities) == [
        ("5-HT2A receptor", GENE),
        ("histone deacetylase", GENE),
        ("liver-type fatty acid binding protein", GENE),
        ("deficiency of phenylalanine hydroxylase", "Disease"),
        ("creatine kinase", "Chemical"),
    ]


@needs_shared
def test_no_chemical_or_disease_of_bc5cdr_or_ncbi_disease_ends_in_a_protein_head():
    from pipeline.extraction.components.ligand_proteins import names_a_protein

    found = {}
    for relative, _, e in corpus_entities(
        "BC5CDR/CDR_TrainingSet.PubTator.txt",
        "BC5CDR/CDR_DevelopmentSet.PubTator.txt",
        "NCBI-disease/NCBItrainset_corpus.txt",
        "NCBI-disease/NCBIdevelopset_corpus.txt",
        "BioRED/Train.PubTator",
    ):
        if names_a_protein(e.text):
            found.setdefault(relative.split("/")[0], set()).add((e.label, e.text))
    assert set(found) == {"BioRED"}  # genes there, and a few enzymes it annotates as chemicals
    assert {label for label, _ in found["BioRED"]} == {"Gene/Protein", "Chemical"}


@needs_shared
def test_in_the_train_splits_a_symbol_followed_by_a_gene_word_is_always_a_gene(shipped):
    from pipeline.extraction.components.gene_names import GENE_CONTEXT

    labels = {}
    for _, doc, e in corpus_entities(
        "BC5CDR/CDR_TrainingSet.PubTator.txt", "NCBI-disease/NCBItrainset_corpus.txt", "BioRED/Train.PubTator"
    ):
        symbol = e.text in shipped.symbols or e.text.replace("-", "") in shipped.symbols
        if symbol and GENE_CONTEXT.match(doc.text[e.end : e.end + 20]):
            labels[e.label] = labels.get(e.label, 0) + 1
    assert labels == {"Gene/Protein": 246}


@pytest.mark.parametrize(
    "symbol, allowed",
    [("BDNF", True), ("IL6", True), ("C3", True), ("HLA-A", True), ("ACE", False), ("TNF", False), ("CAT", False)],
)
def test_symbol_allowed(symbol, allowed):
    assert symbol_allowed(symbol) is allowed


def test_relabels_by_rule():
    vocabulary = GeneVocabulary(
        symbols=frozenset({"GENE1", "ABCD"}),
        names=frozenset({"made up factor"}),
        annotated={"Chemical": frozenset({"abcd"}), "Disease": frozenset(), GENE: frozenset()},
    )
    assert vocabulary.relabels("GENE1", "Chemical")
    assert vocabulary.relabels("GENE-1", "Disease")  # hyphens left out
    assert vocabulary.relabels("Made-up factor", "Chemical")
    assert vocabulary.relabels("ABCD", "Disease")
    assert not vocabulary.relabels("ABCD", "Chemical")  # the train splits call "abcd" a Chemical
    assert vocabulary.relabels("ABCD", "Chemical", " gene mutations")  # ... but not followed by "gene"
    assert vocabulary.relabels("ABCD", "Chemical", "-deficient mice")
    assert not vocabulary.relabels("ABCD", "Chemical", " carriers")
    assert not vocabulary.relabels("ABCD", "Chemical", " genetics")
    assert not vocabulary.relabels("gene1", "Chemical")  # symbols are case-sensitive
    assert not vocabulary.relabels("GENE1", "Gene/Protein")
    assert not vocabulary.relabels("", "Chemical")


def test_is_chemical_by_rule():
    vocabulary = GeneVocabulary(
        symbols=frozenset(),
        names=frozenset(),
        annotated={
            "Chemical": frozenset({"n methyl d aspartate", "angiotensin ii"}),
            "Disease": frozenset(),
            GENE: frozenset({"angiotensin ii"}),
        },
    )
    assert vocabulary.is_chemical("N-methyl-D-aspartate", GENE)  # compared in name_key form
    assert not vocabulary.is_chemical("angiotensin II", GENE)  # the train splits call it a gene too
    assert not vocabulary.is_chemical("N-methyl-D-aspartate", "Chemical")
    assert not vocabulary.is_chemical("N-methyl-D-aspartate", "Disease")
    assert not vocabulary.is_chemical("", GENE)


def test_a_gene_the_train_splits_only_ever_call_a_chemical_becomes_a_chemical(blank, shipped):
    text = "Seizures induced by N-methyl-D-aspartate, 5-HIAA levels, BDNF and angiotensin II were measured."
    found = relabel(
        blank,
        shipped,
        text,
        [("N-methyl-D-aspartate", GENE), ("5-HIAA", GENE), ("BDNF", GENE), ("angiotensin II", GENE)],
    )
    assert found == [
        ("N-methyl-D-aspartate", "Chemical"),
        ("5-HIAA", "Chemical"),
        ("BDNF", GENE),
        ("angiotensin II", GENE),  # BioRED's curators annotate it as a gene once
    ]


@needs_shared
def test_in_the_dev_splits_names_the_train_splits_only_call_chemicals_are_chemicals(shipped):
    from pipeline.extraction.evaluation import TYPE_MAP

    labels: dict[str, int] = {}
    for _, _, e in corpus_entities("BC5CDR/CDR_DevelopmentSet.PubTator.txt", "BioRED/Dev.PubTator"):
        if shipped.is_chemical(e.text, GENE):
            label = TYPE_MAP.get(e.label, e.label)
            labels[label] = labels.get(label, 0) + 1
    assert labels == {"Chemical": 4352, GENE: 10, "Disease": 6}


def write_table(path, header, rows):
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(header + "\n" + "".join("\t".join(row) + "\n" for row in rows))


def test_load_gene_vocabulary_reads_the_two_tables(tmp_path):
    write_table(
        tmp_path / "hgnc_approved.tsv.gz",
        "# kind\tname\tidentifier",
        [
            ("symbol", "BDNF", "NCBIGene:627"),
            ("symbol", "ACE", "NCBIGene:1636"),
            ("symbol", "IL6", "NCBIGene:3569"),
            ("name", "brain derived neurotrophic factor", "NCBIGene:627"),
        ],
    )
    write_table(
        tmp_path / "corpus_train.tsv.gz",
        "# type\tname\tidentifier\tweight",
        [
            ("Chemical", "insulin", "MESH:D007328", "2"),
            ("Disease", "angioedema", "MESH:D000799", "3"),
            ("Gene/Protein", "bdnf", "NCBIGene:627", "9"),
        ],
    )
    vocabulary = load_gene_vocabulary(tmp_path)
    assert vocabulary == GeneVocabulary(
        symbols=frozenset({"BDNF", "IL6"}),
        names=frozenset({"brain derived neurotrophic factor"}),
        annotated={
            "Chemical": frozenset({"insulin"}),
            "Disease": frozenset({"angioedema"}),
            GENE: frozenset({"bdnf"}),
        },
    )


def test_a_missing_table_names_the_file_and_the_fix(tmp_path):
    write_table(tmp_path / "hgnc_approved.tsv.gz", "# kind\tname\tidentifier", [])
    with pytest.raises(ConfigError) as exc:
        load_gene_vocabulary(tmp_path)
    assert str(exc.value) == (
        f"{tmp_path / 'corpus_train.tsv.gz'}: vocabulary table not found. "
        "Rebuild the vocabularies with `make vocabularies`."
    )


def test_no_name_the_train_splits_annotate_as_a_chemical_or_disease_is_relabelled(shipped):
    # The guard that keeps BC5CDR's chemicals and diseases: every train-split name of each type.
    rows = [(t, n) for t, n, *_ in read_tsv(VOCABULARY_DIR / "corpus_train.tsv.gz") if t in ("Chemical", "Disease")]
    assert len(rows) > 4000
    assert not [(t, n) for t, n in rows if shipped.relabels(n, t)]


def test_shipped_table_holds_approved_symbols_as_written_and_names_keyed(shipped):
    rows = list(read_tsv(VOCABULARY_DIR / "hgnc_approved.tsv.gz"))
    symbols = {name for kind, name, _ in rows if kind == "symbol"}
    names = {name for kind, name, _ in rows if kind == "name"}
    assert {"BDNF", "IL6", "HLA-A", "ACE", "TP53"} <= symbols
    assert "IL-6" not in symbols  # an alias, not the approved symbol
    assert {"brain derived neurotrophic factor", "interleukin 6", "tumor protein p53"} <= names
    assert all(name == name_key(name) for name in names)
    assert {kind for kind, _, _ in rows} == {"symbol", "name"}
    assert shipped.symbols == {s for s in symbols if symbol_allowed(s)}


def test_the_shipped_ner_reports_bdnf_as_a_gene(ner):
    doc = ner(
        "Ketamine rapidly increased BDNF and decreased interleukin-6 in patients with treatment-resistant depression."
    )
    ents = [(e.text, e.label_) for e in doc.ents]
    assert ("BDNF", GENE) in ents
    assert ("interleukin-6", GENE) in ents
    assert ("Ketamine", "Chemical") in ents
    assert [e._.identifier for e in doc.ents if e.text == "BDNF"] == ["NCBIGene:627"]
