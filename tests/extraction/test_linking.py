"""Linking: name normalisation, corpus ids, the Linker's rules on a small vocabulary, the shipped
vocabularies, and the concept scores and PubTator output of the evaluation."""

import gzip

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.extraction.evaluation import (
    Entity,
    PubTatorDoc,
    concept_score,
    linking_accuracy,
    pubtator_lines,
    read_pubtator,
)
from pipeline.extraction.linking import (
    Linker,
    coordination_readings,
    corpus_identifier,
    default_linker,
    name_key,
    species_of,
    split_identifiers,
    vocabulary_of,
)
from tests.support.paths import REPO

VOCABULARIES = REPO / "pipeline" / "extraction" / "vocabularies"


def test_name_key_unifies_case_greek_letters_and_separators():
    assert name_key("TNF-α") == name_key("TNF alpha") == name_key("tnf\u2013alpha") == "tnf alpha"
    assert name_key("Glycogen synthase kinase-3") == name_key("glycogen synthase kinase 3")
    assert name_key("Alzheimer's disease") == "alzheimers disease"


def test_name_key_writes_british_spellings_the_american_way():
    assert name_key("anaemia") == "anemia"
    assert name_key("Hypokalaemia") == "hypokalemia"
    assert name_key("haemorrhagic cystitis") == "hemorrhagic cystitis"
    assert name_key("histiocytic tumours") == "histiocytic tumors"
    assert name_key("oestrogen") == "estrogen"
    assert name_key("pregnenolone sulphate") == "pregnenolone sulfate"
    assert name_key("leucocytoclastic vasculitis") == "leukocytoclastic vasculitis"
    assert name_key("diarrhoea and oedema") == "diarrhea and edema"
    assert name_key("paediatric anaesthesia") == "pediatric anesthesia"
    # words that only look British keep their spelling
    assert name_key("four hours") == "four hours"
    assert name_key("leucine") == "leucine"


@given(st.text(alphabet="haemousrlcit ", max_size=30))
def test_name_key_is_idempotent_on_spelling_rewrites(text):
    assert name_key(name_key(text)) == name_key(text)


@given(st.text(max_size=40))
def test_name_key_is_idempotent(text):
    assert name_key(name_key(text)) == name_key(text)


def test_coordinated_names_are_read_sharing_a_head_then_a_modifier_then_as_written():
    assert list(coordination_readings("ovarian and breast carcinoma")) == [
        ["ovarian carcinoma", "breast carcinoma"],
        ["ovarian", "breast carcinoma"],
    ]
    assert list(coordination_readings("cleft lip and palate")) == [
        ["cleft lip", "cleft palate"],
        ["cleft lip", "palate"],
    ]
    assert list(coordination_readings("Myoclonic, atonic, and absence seizures"))[0] == [
        "Myoclonic seizures",
        "atonic seizures",
        "absence seizures",
    ]
    assert list(coordination_readings("hematologic/oncologic disorder"))[0] == [
        "hematologic disorder",
        "oncologic disorder",
    ]
    assert list(coordination_readings("renal and/or hepatic impairment"))[0] == [
        "renal impairment",
        "hepatic impairment",
    ]
    # no conjunction between words: nothing to read
    assert list(coordination_readings("5/10 mg")) == []
    assert list(coordination_readings("Parkinson's disease")) == []
    assert list(coordination_readings("and vomiting")) == []


def test_corpus_identifiers_get_their_vocabulary_prefix():
    assert corpus_identifier("D007649", "Chemical") == "MESH:D007649"
    assert corpus_identifier("2903", "Gene/Protein") == "NCBIGene:2903"
    assert corpus_identifier("OMIM:610102", "Disease") == "OMIM:610102"
    assert corpus_identifier("-1", "Disease") == ""
    assert vocabulary_of("NCBIGene:2903") == "NCBI Gene"
    assert vocabulary_of("MESH:D007649") == "MeSH"
    assert vocabulary_of("MESH:D010051|MESH:D001943") == "MeSH"
    assert vocabulary_of("MESH:D010051|OMIM:612446") == "MeSH|OMIM"


def test_composite_ids_split_on_each_corpus_separator():
    assert split_identifiers("D014786|D006311") == ["D014786", "D006311"]
    assert split_identifiers("3172,3651,6927") == ["3172", "3651", "6927"]
    assert split_identifiers("-1") == []


def write_vocabulary(folder, name, rows):
    with gzip.open(folder / f"{name}.tsv.gz", "wt", encoding="utf-8") as handle:
        handle.write("# type\tname\tidentifier\tweight\n")
        for row in rows:
            handle.write("\t".join(map(str, row)) + "\n")


@pytest.fixture
def small(tmp_path):
    write_vocabulary(
        tmp_path,
        "corpus_train",
        [
            ("Chemical", "ketamine", "MESH:D007649", 40),
            ("Chemical", "da", "MESH:D004298", 3),
            ("Chemical", "da", "MESH:D003000", 3),  # ambiguous: 50/50
            ("Gene/Protein", "bdnf", "NCBIGene:12064", 5),  # mouse Bdnf
            ("Gene/Protein", "hif 1a", "NCBIGene:15251", 7),  # mouse Hif1a, as "HIF-1a"
            ("Gene/Protein", "cb", "NCBIGene:12307", 2),  # mouse Calb1, a name HGNC lacks
            ("Disease", "depression", "MESH:D003866", 30),
            ("Disease", "depression", "MESH:D003863", 2),
            ("Disease", "hypothermia", "MESH:D007036", 5),
            ("Disease", "hypothermia", "MESH:D007035", 3),
            ("Disease", "hemorrhagic cystitis", "MESH:D006470|MESH:D003556", 2),
        ],
    )
    write_vocabulary(
        tmp_path,
        "drugs",
        [
            ("Chemical", "ketalar", "DrugBank:DB01221", 1),
            ("Chemical", "myalgia", "DrugBank:DB00000", 1),
            ("Chemical", "bromide", "DrugBank:DB11111", 1),
            ("Chemical", "da", "MESH:D000001", 1),
        ],
    )
    write_vocabulary(
        tmp_path,
        "mesh_descriptors",
        [
            ("Disease", "myalgia", "MESH:D063806", 1),
            ("Chemical", "myalgia", "MESH:D063806", 1),
            ("Chemical", "nitrites", "MESH:D009573", 1),
            ("Chemical", "hemostatics", "MESH:D006490", 1),
            ("Chemical", "vitamin b12", "MESH:D014805", 1),
            ("Disease", "hemostatics", "MESH:D006490", 1),
            ("Chemical", "bromides", "MESH:D001965", 1),
            ("Disease", "hypothermia", "MESH:D007035", 1),
            ("Disease", "liver", "MESH:D008099", 1),
            ("Disease", "palate", "MESH:D010159", 1),
            ("Disease", "seizures", "MESH:D012640", 1),
        ],
    )
    write_vocabulary(
        tmp_path,
        "mesh_diseases",
        [
            ("Disease", "migraine", "MESH:D008881", 1),
            ("Disease", "myalgia", "MESH:D000001", 1),
            ("Disease", "developmental anomalies", "MESH:D000013", 1),
            ("Disease", "cardiac anomaly", "MESH:D000014", 1),
            ("Disease", "metastasis", "MESH:D009362", 1),
            ("Disease", "ovarian carcinoma", "MESH:D010051", 1),
            ("Disease", "breast carcinoma", "MESH:D001943", 1),
            ("Disease", "cleft lip", "MESH:D002971", 1),
            ("Disease", "cleft palate", "MESH:D002972", 1),
            ("Disease", "nausea", "MESH:D009325", 1),
            ("Disease", "vomiting", "MESH:D014839", 1),
            ("Disease", "diabetic", "MESH:D003920", 1),
            ("Disease", "diabetic neuropathy", "MESH:D003929", 1),
            ("Disease", "toxic neuropathy", "MESH:D010523", 1),
            ("Disease", "glomerular injury", "MESH:D007674", 1),
            ("Disease", "tubular injury", "MESH:D007674", 1),
            ("Disease", "skin", "MESH:D012871", 1),
            ("Disease", "muscle pain", "MESH:D063806", 1),
            ("Disease", "convulsions", "MESH:D012640", 1),
        ],
    )
    write_vocabulary(
        tmp_path,
        "hgnc_genes",
        [
            ("Gene/Protein", "bdnf", "NCBIGene:627", 3),
            ("Gene/Protein", "cat", "NCBIGene:847", 3),
            ("Gene/Protein", "cat", "NCBIGene:999", 1),
            ("Gene/Protein", "p40", "NCBIGene:1", 1),
            ("Gene/Protein", "p40", "NCBIGene:2", 1),
            ("Gene/Protein", "cas", "NCBIGene:3", 1),
            ("Gene/Protein", "adam10", "NCBIGene:102", 3),
            ("Gene/Protein", "hif1a", "NCBIGene:3091", 3),
        ],
    )
    with gzip.open(tmp_path / "names.tsv.gz", "wt", encoding="utf-8") as handle:
        handle.write(
            "MESH:D007649\tketamine\nNCBIGene:627\tBDNF\nMESH:D002971\tCleft Lip\nMESH:D002972\tCleft Palate\n"
        )
    return Linker(tmp_path)


def test_corpus_choice_wins_and_names_come_from_names_file(small):
    link = small.link("Chemical", "Ketamine")
    assert (link.identifier, link.name, link.vocabulary) == ("MESH:D007649", "ketamine", "MeSH")


def test_dictionary_is_the_fallback_and_plural_s_is_tried(small):
    assert small.link("Chemical", "Ketalar").identifier == "DrugBank:DB01221"
    assert small.link("Disease", "migraines").identifier == "MESH:D008881"


def test_mesh_descriptor_names_come_before_the_dictionaries(small):
    assert small.link("Disease", "Myalgia").identifier == "MESH:D063806"
    assert small.link("Chemical", "myalgia").identifier == "MESH:D063806"


def test_singular_mentions_find_plural_headings_but_never_before_an_exact_name(small):
    assert small.link("Chemical", "nitrite").identifier == "MESH:D009573"  # MeSH "Nitrites"
    assert small.link("Disease", "developmental anomaly").identifier == "MESH:D000013"
    assert small.link("Disease", "cardiac anomalies").identifier == "MESH:D000014"
    assert small.link("Disease", "metastases").identifier == "MESH:D009362"
    # "bromide" as written in the drug dictionary beats MeSH's "Bromides", a source before it
    assert small.link("Chemical", "bromide").identifier == "DrugBank:DB11111"
    assert small.link("Gene/Protein", "bdnfs").identifier == "NCBIGene:627"
    assert small.link("Gene/Protein", "ca") is None  # gene symbols are not pluralised ("CAs")
    # MeSH's descriptor names hold drug classes too: a disease finds a heading only as written
    assert small.link("Disease", "seizures").identifier == "MESH:D012640"
    assert small.link("Disease", "seizure") is None
    assert small.link("Chemical", "hemostatic").identifier == "MESH:D006490"


def test_a_disease_links_only_to_a_heading_a_disease_vocabulary_knows(small):
    # "Hemostatics" (a drug class) and "Liver" (an organ) are MeSH headings no disease source names
    assert small.link("Disease", "hemostatics") is None
    assert small.link("Disease", "liver") is None
    assert small.link("Chemical", "hemostatics").identifier == "MESH:D006490"
    assert small.link("Disease", "myalgia").identifier == "MESH:D063806"  # mesh_diseases knows it


def test_a_letter_and_a_number_are_tried_joined_and_a_human_text_takes_a_human_gene(small):
    assert small.link("Gene/Protein", "ADAM-10", "in patients").identifier == "NCBIGene:102"
    # the train split knows "HIF-1a" only as the mouse gene: a human text takes HGNC's HIF1A
    assert small.link("Gene/Protein", "HIF-1a", "in patients").identifier == "NCBIGene:3091"
    assert small.link("Gene/Protein", "HIF-1a", "in mice and mice").identifier == "NCBIGene:15251"
    assert small.link("Gene/Protein", "CB", "in patients") is None  # no human gene of that name
    assert small.link("Chemical", "vitamin B-12") is None  # only genes are joined
    assert small.link("Chemical", "vitamin B12").identifier == "MESH:D014805"


def test_a_linker_without_a_human_gene_table_takes_the_corpus_choice(small, tmp_path):
    corpus_only = Linker(tmp_path, sources={"Gene/Protein": ("corpus_train",)})  # bench linking's baseline
    assert corpus_only.link("Gene/Protein", "CB", "in patients").identifier == "NCBIGene:12307"


def test_a_name_the_curators_split_on_is_settled_by_a_later_source(small):
    # the train split has hypothermia 5 times as D007036 and 3 as D007035; MeSH names D007035
    assert small.link("Disease", "hypothermia").identifier == "MESH:D007035"
    # a later source naming an identifier the curators never chose settles nothing
    assert small.link("Chemical", "DA") is None


def test_a_coordinated_name_links_to_each_conjunct_when_every_one_links(small):
    link = small.link("Disease", "ovarian and breast carcinoma")
    assert (link.identifier, link.vocabulary) == ("MESH:D010051|MESH:D001943", "MeSH")
    link = small.link("Disease", "cleft lip and palate")
    assert (link.identifier, link.name) == ("MESH:D002971|MESH:D002972", "Cleft Lip | Cleft Palate")
    assert small.link("Disease", "nausea and vomiting").identifier == "MESH:D009325|MESH:D014839"
    # the shared head is read before the conjuncts as written ("diabetic" alone is diabetes)
    assert small.link("Disease", "diabetic and toxic neuropathy").identifier == "MESH:D003929|MESH:D010523"
    # one identifier once
    assert small.link("Disease", "glomerular and tubular injury").identifier == "MESH:D007674"
    # MeSH's descriptor names (organs too) are not a disease conjunct's source: no "Liver" disease
    assert small.link("Disease", "liver and skin") is None
    # a conjunct that links to nothing leaves the whole unlinked, never linked to a part
    assert small.link("Disease", "nausea and zzzfoo") is None
    # genes are not read as coordinations
    assert small.link("Gene/Protein", "BDNF and CAT") is None


def test_a_name_the_curators_linked_to_several_concepts_links_to_all_of_them(small):
    link = small.link("Disease", "Hemorrhagic cystitis")
    assert (link.identifier, link.vocabulary) == ("MESH:D006470|MESH:D003556", "MeSH")
    assert link.name == "MESH:D006470 | MESH:D003556"  # no preferred names in this vocabulary
    link = small.link("Disease", "haemorrhagic cystitis and nausea")
    assert link.identifier == "MESH:D006470|MESH:D003556|MESH:D009325"


def test_a_dominant_choice_links_an_ambiguous_name_does_not(small):
    assert small.link("Disease", "depression").identifier == "MESH:D003866"  # 30 of 32
    assert small.link("Chemical", "DA") is None  # 3 and 3: never at random


def test_genes_are_human_first_then_the_species_the_text_names(small):
    assert small.link("Gene/Protein", "BDNF", "Serum BDNF in patients").identifier == "NCBIGene:627"
    assert small.link("Gene/Protein", "BDNF", "Hippocampal BDNF in mice and rats").identifier == "NCBIGene:12064"
    assert small.link("Gene/Protein", "CAT").identifier == "NCBIGene:847"  # approved symbol beats alias
    assert small.link("Gene/Protein", "p40") is None  # two aliases, no corpus choice


def test_species_of_counts_the_words_naming_each_organism():
    assert species_of("Serum BDNF in patients with depression") == "human"
    assert species_of("BDNF in mice and in patients, in mice again") == "mouse"
    assert species_of("Hippocampal BDNF in rats; rat neurons") == "rat"
    assert species_of("Ctr9 in yeast") == "other"
    assert species_of("BDNF in mice and rats") == "mouse"  # a tie goes to mouse
    assert species_of("") == "human"


@pytest.fixture
def by_species(small, tmp_path):
    write_vocabulary(
        tmp_path,
        "species_genes",
        [
            ("mouse", "bdnf", "NCBIGene:12064", 5),
            ("rat", "prolactin", "NCBIGene:24683", 7),
            ("other", "ctr9", "NCBIGene:9", 4),
        ],
    )
    with gzip.open(tmp_path / "gene_orthologs.tsv.gz", "wt", encoding="utf-8") as handle:
        handle.write("# species\thuman gene\tspecies gene\tcount\nmouse\tNCBIGene:847\tNCBIGene:12359\t2\n")
    return Linker(tmp_path)


def test_a_mouse_or_rat_text_takes_its_own_species_gene_or_none(by_species):
    link = by_species.link
    assert link("Gene/Protein", "BDNF", species="human").identifier == "NCBIGene:627"
    assert link("Gene/Protein", "BDNF", species="mouse").identifier == "NCBIGene:12064"
    assert link("Gene/Protein", "BDNF", "Hippocampal BDNF in mice").identifier == "NCBIGene:12064"
    # The human gene's mouse ortholog, though the train split never named it "CAT" in mice.
    assert link("Gene/Protein", "CAT", species="mouse").identifier == "NCBIGene:12359"
    assert link("Gene/Protein", "CAT", species="human").identifier == "NCBIGene:847"
    # No rat gene known for BDNF or CAT: unlinked, never the human id.
    assert link("Gene/Protein", "BDNF", species="rat") is None
    assert link("Gene/Protein", "CAT", species="rat") is None
    assert link("Gene/Protein", "Ctr9", species="other").identifier == "NCBIGene:9"
    assert link("Gene/Protein", "CAT", species="other") is None


def test_the_shipped_species_tables_link_mouse_and_rat_genes():
    link = default_linker().link
    assert link("Gene/Protein", "interleukin-6", "serum interleukin-6 in patients").identifier == "NCBIGene:3569"
    # Mouse Il6 through the ortholog pair the train split shows ("IL-6" linked to 16193 in mice).
    assert link("Gene/Protein", "interleukin-6", "interleukin-6 in mice").identifier == "NCBIGene:16193"
    assert link("Gene/Protein", "BDNF", "BDNF in the rat hippocampus").identifier == "NCBIGene:24225"
    # Dll4 in mice is 54485; no mouse Dll4 is known here, so it is left unlinked, not given DLL4's 54567.
    assert link("Gene/Protein", "Dll4", "Dll4 blockade in tumour-bearing mice") is None


def test_unknown_names_and_unlinkable_types_stay_unlinked(small):
    assert small.link("Chemical", "zzzfoo") is None
    assert small.link("Species", "mice") is None


def test_shipped_vocabularies_link_the_review_concepts():
    linker = default_linker()
    assert linker.link("Chemical", "ketamine").identifier == "MESH:D007649"
    assert linker.link("Chemical", "midazolam").identifier == "MESH:D008874"
    assert linker.link("Disease", "treatment-resistant depression").identifier == "MESH:D061218"
    assert linker.link("Gene/Protein", "brain-derived neurotrophic factor").identifier == "NCBIGene:627"


def test_shipped_vocabularies_leave_organs_tagged_as_diseases_unlinked_and_link_drugs_recorded_twice():
    linker = default_linker()
    assert linker.link("Disease", "gastric mucosa") is None  # MeSH heading D005753, an organ
    assert linker.link("Disease", "optic nerve") is None
    assert linker.link("Disease", "depression").identifier == "MESH:D003866"
    # the drug dictionary holds "ethinylestradiol" as DB00977 and "ethinyl estradiol" as D004997
    assert linker.link("Chemical", "ethinylestradiol").identifier == "MESH:D004997"
    assert linker.link("Gene/Protein", "GluN2B").identifier == "NCBIGene:2904"


def test_every_vocabulary_file_has_its_provenance_recorded():
    provenance = (VOCABULARIES / "PROVENANCE.md").read_text(encoding="utf-8")
    for path in VOCABULARIES.glob("*.tsv.gz"):
        assert f"`{path.name}`" in provenance, path.name


# --- evaluation ---------------------------------------------------------------------------------------


def test_concept_scores_count_document_type_identifier_pairs_once():
    gold = [
        [
            Entity(0, 8, "Chemical", "ketamine", ("MESH:D007649",)),
            Entity(20, 28, "Chemical", "Ketalar", ("MESH:D007649",)),
            Entity(30, 40, "Disease", "ocular and auditory toxicity", ("MESH:D014786", "MESH:D006311")),
            Entity(50, 55, "Disease", "x", ()),
        ]
    ]
    predicted = [
        [
            Entity(0, 8, "Chemical", "ketamine", ("MESH:D007649",)),
            Entity(30, 40, "Disease", "ocular", ("MESH:D014786",)),
            Entity(60, 65, "Disease", "y", ("MESH:D000001",)),
            Entity(70, 75, "Chemical", "z", ()),
        ]
    ]
    scores = concept_score(gold, predicted)
    assert (scores["Chemical"].tp, scores["Chemical"].fp, scores["Chemical"].fn) == (1, 0, 0)
    assert (scores["Disease"].tp, scores["Disease"].fp, scores["Disease"].fn) == (1, 1, 1)
    assert (scores["micro"].tp, scores["micro"].fp, scores["micro"].fn) == (2, 1, 1)


def test_read_pubtator_keeps_prefixed_identifiers_and_merges_duplicate_spans(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text(
        "1|t|Ocular and auditory toxicity of ketamine\n1|a|BDNF rose.\n"
        "1\t0\t28\tOcular and auditory toxicity\tDisease\tD014786|D006311\n"
        "1\t32\t40\tketamine\tChemical\tD007649\n"
        "1\t32\t40\tketamine\tChemical\tD000001\n"
        "1\t41\t45\tBDNF\tGeneOrGeneProduct\t627\n"
        "1\t46\t50\trose\tDisease\t-1\n",
        encoding="utf-8",
    )
    [doc] = read_pubtator(path)
    assert [(e.text, e.identifiers) for e in doc.entities] == [
        ("Ocular and auditory toxicity", ("MESH:D014786", "MESH:D006311")),
        ("ketamine", ("MESH:D007649", "MESH:D000001")),
        ("BDNF", ("NCBIGene:627",)),
        ("rose", ()),
    ]


def test_linking_accuracy_on_gold_spans_counts_single_id_mentions():
    doc = PubTatorDoc(
        "1",
        "ketamine and BDNF",
        "",
        [
            Entity(0, 8, "Chemical", "ketamine", ("MESH:D007649",)),
            Entity(13, 17, "Gene/Protein", "BDNF", ("NCBIGene:627",)),
            Entity(0, 17, "Disease", "both", ("MESH:D1", "MESH:D2")),
        ],
    )
    answers = {"ketamine": "MESH:D007649", "BDNF": None}
    result = linking_accuracy([doc], lambda d, e: answers[e.text])
    assert result["Chemical"] == {"accuracy": 1.0, "correct": 1, "linked": 1, "mentions": 1}
    assert result["Gene/Protein"] == {"accuracy": 0.0, "correct": 0, "linked": 0, "mentions": 1}
    assert result["micro"] == {"accuracy": 0.5, "correct": 1, "linked": 1, "mentions": 2}


def test_predictions_are_written_in_pubtator_format():
    doc = PubTatorDoc("9", "Ketamine and BDNF", "Abstract.")
    lines = list(
        pubtator_lines(
            [doc],
            [
                [
                    Entity(0, 8, "Chemical", "Ketamine", ("MESH:D007649",)),
                    Entity(13, 17, "Gene/Protein", "BDNF", ("NCBIGene:627",)),
                    Entity(13, 17, "Disease", "BDNF", ()),
                    Entity(0, 17, "Disease", "Ketamine and BDNF", ("MESH:D1", "OMIM:2")),
                ]
            ],
        )
    )
    assert lines == [
        "9|t|Ketamine and BDNF",
        "9|a|Abstract.",
        "9\t0\t8\tKetamine\tChemical\tD007649",
        "9\t13\t17\tBDNF\tGene\t627",
        "9\t13\t17\tBDNF\tDisease\t-1",
        "9\t0\t17\tKetamine and BDNF\tDisease\tD1|OMIM:2",
        "",
    ]


def test_the_train_splits_give_composite_chemicals_and_diseases_but_no_composite_genes(tmp_path):
    from training.build_vocabularies import corpus_entries
    from training.make_corpus import TRAIN

    rows = {
        "BC5CDR": "1\t0\t20\themorrhagic cystitis\tDisease\tD006470|D003556\n1\t0\t20\tHemorrhagic cystitis\tDisease\tD006470\n",
        "BioRED": "2\t0\t11\tcaspase-3/7\tGeneOrGeneProduct\t836,840\n2\t0\t4\tBDNF\tGeneOrGeneProduct\t627\n",
        "NCBI-disease": "3\t0\t4\tfoo\tSpecificDisease\t-1\n",
    }
    for corpus, relative in TRAIN.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(rows[corpus], encoding="utf-8")
    counts, texts = corpus_entries(tmp_path)
    assert counts == {
        ("Disease", "hemorrhagic cystitis", "MESH:D006470|MESH:D003556"): 1,
        ("Disease", "Hemorrhagic cystitis", "MESH:D006470"): 1,
        ("Gene/Protein", "BDNF", "NCBIGene:627"): 1,
    }
    # preferred names come from single-concept mentions only
    assert set(texts) == {"MESH:D006470", "NCBIGene:627"}


def test_a_drug_name_keyed_by_mesh_loses_the_drugbank_id_the_same_name_has_elsewhere():
    from training.build_vocabularies import mesh_over_drugbank

    rows = [
        ("Chemical", "Ethinyl estradiol", "MESH:D004997", 1),
        ("Chemical", "ethinylestradiol", "DrugBank:DB00977", 1),
        ("Chemical", "Ethinylestradiol", "MESH:D004997", 1),
        ("Chemical", "Ethinylestradiol Valerate", "DrugBank:DB00977", 1),
        ("Chemical", "quetiapine", "DrugBank:DB01224", 1),
    ]
    assert mesh_over_drugbank(rows) == [
        ("Chemical", "Ethinyl estradiol", "MESH:D004997", 1),
        ("Chemical", "Ethinylestradiol", "MESH:D004997", 1),
        ("Chemical", "Ethinylestradiol Valerate", "DrugBank:DB00977", 1),
        ("Chemical", "quetiapine", "DrugBank:DB01224", 1),
    ]


def test_inverted_mesh_headings_are_also_read_in_text_order():
    from training.build_vocabularies import uninverted

    assert uninverted("Diabetes Insipidus, Nephrogenic") == "Nephrogenic Diabetes Insipidus"
    assert uninverted("Stress Disorders, Post-Traumatic") == "Post-Traumatic Stress Disorders"
    assert uninverted("Ketamine") == "Ketamine"


def test_vocabulary_keeps_single_identifiers_compact_and_sums_weights():
    from pipeline.extraction.linking import Vocabulary

    vocabulary = Vocabulary("v")
    vocabulary.add("Chemical", "Ketamine", "MESH:D007649")
    vocabulary.add("Disease", "depression", "MESH:D003866", 2)
    vocabulary.add("Disease", "depression", "MESH:D003866", 3)
    vocabulary.add("Disease", "depression", "MESH:D003863")
    assert vocabulary.entries["Chemical\tketamine"] == "MESH:D007649"
    assert vocabulary.candidates("Chemical", "ketamines") == {"MESH:D007649": 1.0}
    assert vocabulary.candidates("Disease", "depression") == {"MESH:D003866": 5.0, "MESH:D003863": 1.0}
    assert vocabulary.identifiers() == {"MESH:D007649", "MESH:D003866", "MESH:D003863"}


def test_a_coordinated_disease_entity_carries_each_identifier_into_the_evaluation():
    import spacy
    from spacy.language import Language

    from pipeline.extraction.evaluation import predict

    @Language.component("test_one_disease")
    def one_disease(doc):
        doc.ents = [doc.char_span(0, 28, label="Disease")]
        return doc

    nlp = spacy.blank("en")
    nlp.add_pipe("test_one_disease")
    nlp.add_pipe("linker")
    [doc] = list(nlp.pipe(["ovarian and breast carcinoma were seen."]))
    ent = doc.ents[0]
    assert (ent._.identifier, ent._.vocabulary) == ("MESH:D010051|MESH:D001943", "MeSH")
    assert ent._.canonical == "ovarian neoplasms | breast neoplasms"
    [entities] = list(predict(nlp, [PubTatorDoc("1", "ovarian and breast carcinoma were seen.", "")]))
    assert entities[0].identifiers == ("MESH:D010051", "MESH:D001943")
