"""ligand_proteins: a receptor, enzyme or transporter named after the chemical the model found
("NMDA receptor", "inducible NO synthase") becomes a nested Gene/Protein mention beside that chemical."""

import pytest

from pipeline.extraction.components.ligand_proteins import (
    NESTED,
    SOURCE,
    LigandProteins,
    entities_and_nested,
    names_a_protein,
    protein_tail,
)
from tests.support.labelled_docs import blank_nlp, labelled
from pipeline.extraction.evaluation import Entity, PubTatorDoc, evaluate_all
from pipeline.extraction.ner import add_review_components, extract_mentions
from pipeline.models import AbstractSection, Record


@pytest.fixture(scope="module")
def blank():
    return blank_nlp()


@pytest.fixture(scope="module")
def component(blank):
    return LigandProteins(blank)


def nested(component, nlp, text, entities):
    doc = component(labelled(nlp, text, entities))
    return [(s.text, s.label_) for s in doc.spans[NESTED]]


@pytest.mark.parametrize(
    "text, chemical, protein",
    [
        ("the NMDA receptor", "NMDA", "NMDA receptor"),
        ("bradykinin receptors were", "bradykinin", "bradykinin receptors"),
        ("the N-methyl-D-aspartate (NMDA) receptor", "N-methyl-D-aspartate", "N-methyl-D-aspartate (NMDA) receptor"),
        ("the adenosine A2A receptor", "adenosine", "adenosine A2A receptor"),
        ("histamine H(3)-receptors in", "histamine", "histamine H(3)-receptors"),
        ("the dopamine transporter", "dopamine", "dopamine transporter"),
        ("serum lactate dehydrogenase", "lactate", "lactate dehydrogenase"),
        ("angiotensin-converting enzyme", "angiotensin", "angiotensin-converting enzyme"),
        ("glycogen synthase kinase-3 activity", "glycogen", "glycogen synthase kinase-3"),
        ("fatty acid binding protein", "fatty acid", "fatty acid binding protein"),
        ("the calcium-sensing receptor", "calcium", "calcium-sensing receptor"),
        ("the sodium/iodide symporter", "sodium", "sodium/iodide symporter"),
        ("superoxide dismutase and", "superoxide", "superoxide dismutase"),
        ("creatine phosphokinase rose", "creatine", "creatine phosphokinase"),
        ("choline acetyltransferase", "choline", "choline acetyltransferase"),
        ("dopamine D(2) receptors", "dopamine", "dopamine D(2) receptors"),
    ],
)
def test_the_protein_name_ends_after_its_head(text, chemical, protein):
    start = text.index(chemical)
    assert text[start : protein_tail(text, start + len(chemical)).end()] == protein


@pytest.mark.parametrize(
    "text, chemical",
    [
        ("NO donors such as", "NO"),
        ("calcium channel blockers", "calcium"),  # BioRED annotates the ion of a channel alone
        ("sodium channels", "sodium"),
        ("glutamate receptors1", "glutamate"),  # no word boundary after the head
        ("ketamine and receptor density", "ketamine"),
        ("dopamine release", "dopamine"),  # ends in "-ase", but no enzyme
        ("glucose increase", "glucose"),
        ("the dopamine receptorsome", "dopamine"),
    ],
)
def test_no_protein_without_a_head_right_after_the_chemical(text, chemical):
    start = text.index(chemical)
    assert protein_tail(text, start + len(chemical)) is None


@pytest.mark.parametrize(
    "text, protein",
    [
        ("5-HT2A receptor", True),
        ("alpha-adrenergic receptors", True),
        ("type II MET kinase", True),
        ("fatty acid binding protein", True),
        ("deficiency of phenylalanine hydroxylase", False),
        ("G6PD deficient glucose-6-phosphate dehydrogenase", False),
        ("receptor antagonists", False),
        ("dopamine release", False),
        ("kinases inhibitor", False),
    ],
)
def test_names_a_protein(text, protein):
    assert names_a_protein(text) is protein


def test_the_chemical_stays_and_the_protein_is_nested_beside_it(component, blank):
    doc = component(
        labelled(blank, "Ketamine blocks the NMDA receptor.", [("Ketamine", "Chemical"), ("NMDA", "Chemical")])
    )
    assert [(e.text, e.label_) for e in doc.ents] == [("Ketamine", "Chemical"), ("NMDA", "Chemical")]
    [protein] = doc.spans[NESTED]
    assert (protein.text, protein.label_, protein._.source) == ("NMDA receptor", "Gene/Protein", SOURCE)
    assert [(s.text, s.label_) for s in entities_and_nested(doc)] == [
        ("Ketamine", "Chemical"),
        ("NMDA", "Chemical"),
        ("NMDA receptor", "Gene/Protein"),
    ]


def test_an_isoform_adjective_belongs_to_the_protein(component, blank):
    text = "Inducible NO synthase and neuronal NO synthase differ; endothelial cells do not."
    assert nested(component, blank, text, [("NO", "Chemical")]) == [("Inducible NO synthase", "Gene/Protein")]


def test_a_slash_joins_the_partner_chemical(component, blank):
    text = "the sodium/iodide symporter"
    found = nested(component, blank, text, [("sodium", "Chemical"), ("iodide", "Chemical")])
    assert found == [("sodium/iodide symporter", "Gene/Protein")]


def test_a_short_form_in_brackets_may_be_an_entity_of_its_own(component, blank):
    text = "the N-methyl-D-aspartate (NMDA) receptor"
    found = nested(component, blank, text, [("N-methyl-D-aspartate", "Chemical"), ("NMDA", "Chemical")])
    assert found == [("N-methyl-D-aspartate (NMDA) receptor", "Gene/Protein")]  # one protein, not one per chemical


def test_review_classes_give_a_gene(component, blank):
    assert nested(component, blank, "the glutamate receptor", [("glutamate", "DRUG")]) == [
        ("glutamate receptor", "GENE")
    ]


def test_nothing_is_nested_where_another_entity_follows_or_the_chemical_is_no_chemical(component, blank):
    text = "the GABA receptor and the NMDA receptor"
    assert nested(component, blank, text, [("GABA", "Chemical"), ("receptor", "Gene/Protein")]) == []
    assert nested(component, blank, "the NMDA receptor", [("NMDA", "Disease")]) == []
    assert nested(component, blank, "the NMDA receptor", [("NMDA receptor", "Gene/Protein")]) == []


def test_the_nested_protein_is_linked_as_a_gene_of_the_documents_species(component, blank):
    text = "Patients' serotonin transporter and tyrosine hydroxylase; the dopamine transporter."
    chemicals = [("serotonin", "Chemical"), ("tyrosine", "Chemical"), ("dopamine", "Chemical")]
    doc = component(labelled(blank, text, chemicals))
    linked = [(s.text, s._.identifier, s._.vocabulary, s._.canonical) for s in doc.spans[NESTED]]
    assert linked == [
        ("serotonin transporter", "NCBIGene:6532", "NCBI Gene", "SLC6A4"),
        ("tyrosine hydroxylase", "NCBIGene:7054", "NCBI Gene", "TH"),
        ("dopamine transporter", "", "", "dopamine transporter"),  # no vocabulary names it: unlinked
    ]
    mouse = component(labelled(blank, "In mice the serotonin transporter of mice.", [("serotonin", "Chemical")]))
    assert [s._.identifier for s in mouse.spans[NESTED]] == ["NCBIGene:15567"]


def test_a_lexicon_term_covering_the_protein_leaves_nothing_to_nest(blank):
    lexicon = {"DRUG": {"NMDA": ()}, "GENE": {"NMDA receptor": ()}}
    nlp = add_review_components(blank_nlp(), lexicon)
    doc = nlp("NMDA receptor blockade; NMDA itself.")
    assert [(e.text, e.label_) for e in entities_and_nested(doc)] == [("NMDA receptor", "GENE"), ("NMDA", "DRUG")]


def test_extract_mentions_writes_the_nested_protein_in_order():
    nlp = add_review_components(blank_nlp(), {"DRUG": {"dopamine": ()}})
    record = Record(
        pmid="1", title="Dopamine transporter binding", abstract_sections=(AbstractSection("", "Dopamine rose."),)
    )
    found = [
        (m.section, m.start, m.end, m.text, m.label, m.source)
        for m in extract_mentions(nlp, [record], ["DRUG", "GENE"])
    ]
    assert found == [
        ("title", 0, 8, "Dopamine", "DRUG", "lexicon"),
        ("title", 0, 20, "Dopamine transporter", "GENE", SOURCE),
        ("abstract", 0, 8, "Dopamine", "DRUG", "lexicon"),
    ]


def test_eval_ner_scores_the_nested_protein():
    nlp = blank_nlp()
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "Chemical", "pattern": "NMDA"}])
    nlp.add_pipe("ligand_proteins")
    text = "NMDA receptor antagonists"
    doc = PubTatorDoc("1", text, "", [Entity(0, 13, "Gene/Protein", "NMDA receptor", ())])
    spans = evaluate_all(nlp, [doc])["spans"]
    assert (spans["Gene/Protein"].tp, spans["Gene/Protein"].fp, spans["Gene/Protein"].fn) == (1, 0, 0)
