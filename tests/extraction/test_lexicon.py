"""Review lexicons: loading, validation messages, variant generation and EntityRuler matching."""

import pytest
import spacy

from pipeline.errors import ConfigError
from pipeline.extraction.components.lexicon import (
    identifier_table,
    lexicon_patterns,
    load_lexicon,
    lookup_table,
    merge_lexicons,
    plural,
    variants,
)
from pipeline.extraction.components.tokenizer import customize_tokenizer
from tests.support.paths import REPO

KETAMINE_LEXICON = REPO / "config" / "lexicons" / "ketamine-review.toml"


def write(tmp_path, text, name="lex.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error(path) -> str:
    with pytest.raises(ConfigError) as exc:
        load_lexicon(path)
    return str(exc.value)


# --- loading -------------------------------------------------------------------------------------


def test_committed_ketamine_lexicon_loads_with_every_review_class():
    lexicon = load_lexicon(KETAMINE_LEXICON)
    for label in ("MECHANISM", "BRAIN_REGION", "ROUTE", "ADVERSE_EFFECT", "OUTCOME_SCALE", "STUDY_DESIGN"):
        assert lexicon[label], label
    assert "Ketalar" in lexicon["DRUG"]["ketamine"]
    assert lexicon["DRUG"]["norketamine"] == ()


def test_terms_and_synonyms_are_stripped(tmp_path):
    path = write(tmp_path, '[DRUG]\n" ketamine " = [" Ketalar "]\n')
    assert load_lexicon(path) == {"DRUG": {"ketamine": ("Ketalar",)}}


def test_string_instead_of_list(tmp_path):
    path = write(tmp_path, '[DRUG]\n"ketamine" = "Ketalar"\n', name="x.toml")
    assert error(path) == (
        f'{path}: [DRUG] "ketamine" must be a list of synonyms, not a string. Write "ketamine" = ["Ketalar"].'
    )


def test_number_instead_of_list(tmp_path):
    path = write(tmp_path, '[DRUG]\n"ketamine" = 3\n')
    assert error(path) == (
        f'{path}: [DRUG] "ketamine" must be a list of synonyms, not an integer (3). '
        'Write "ketamine" = [] when there are none.'
    )


def test_synonym_that_is_not_a_string(tmp_path):
    path = write(tmp_path, '[DRUG]\n"ketamine" = ["Ketalar", 7]\n')
    assert error(path) == f'{path}: [DRUG] "ketamine" synonym 2 must be a non-empty string, not an integer (7).'


def test_empty_synonym(tmp_path):
    path = write(tmp_path, '[DRUG]\n"ketamine" = ["  "]\n')
    assert error(path) == f"{path}: [DRUG] \"ketamine\" synonym 1 must be a non-empty string, not str ('  ')."


def test_unknown_class_suggests_the_close_one(tmp_path):
    path = write(tmp_path, '[DRUGS]\n"ketamine" = []\n')
    assert error(path) == f"{path}: [DRUGS] is not an entity class. Did you mean 'DRUG'?"


def test_unknown_class_lists_the_classes(tmp_path):
    path = write(tmp_path, '[XYZ]\n"a" = []\n')
    assert error(path) == (
        f"{path}: [XYZ] is not an entity class. Use one of: DRUG, DISEASE, GENE, TREATMENT, "
        "MECHANISM, "
        "BRAIN_REGION, ROUTE, ADVERSE_EFFECT, OUTCOME_SCALE, STUDY_DESIGN."
    )


def test_class_that_is_not_a_table(tmp_path):
    path = write(tmp_path, 'DRUG = ["ketamine"]\n')
    assert error(path) == (
        f'{path}: DRUG must be a table of terms, e.g. [DRUG] followed by "term" = ["synonym"], not list.'
    )


def test_empty_term(tmp_path):
    path = write(tmp_path, '[DRUG]\n" " = []\n')
    assert error(path) == f"{path}: [DRUG] has an empty term. Give every term a name."


def test_invalid_toml_names_the_line(tmp_path):
    path = write(tmp_path, '[DRUG]\n"ketamine" = [\n')
    message = error(path)
    assert message.startswith(f"{path}: not valid TOML: ")
    assert message.endswith(". Fix the syntax at that line.")


def test_missing_file(tmp_path):
    path = tmp_path / "missing.toml"
    assert error(path) == f"{path}: lexicon file not found. Fix the path in [extraction] lexicons."


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.toml"
    path.write_bytes('[DRUG]\n"caf\xe9" = []\n'.encode("latin-1"))
    assert error(path) == f"{path}: the lexicon file is not UTF-8 text. Save it as UTF-8."


def test_merge_later_file_wins_per_term():
    a = {"DRUG": {"ketamine": ("Ketalar",), "placebo": ()}}
    b = {"DRUG": {"ketamine": ("KET",)}, "ROUTE": {"oral": ()}}
    assert merge_lexicons([a, b]) == {"DRUG": {"ketamine": ("KET",), "placebo": ()}, "ROUTE": {"oral": ()}}


# --- variants ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "term, expected",
    [
        ("receptor", "receptors"),
        ("NMDA receptor", "NMDA receptors"),
        ("RCT", "RCTs"),
        ("therapy", "therapies"),
        ("meta-analysis", "meta-analyses"),
        ("crossover", "crossovers"),
        ("dizziness", None),
        ("GSK-3", None),
        ("(R,S)-ketamine)", None),
        ("approach", "approaches"),
        ("day", "days"),
    ],
)
def test_plural(term, expected):
    assert plural(term) == expected


def test_space_and_hyphen_variants_with_plurals():
    assert variants("NMDA receptor") == {
        "NMDA receptor",
        "NMDA-receptor",
        "NMDA receptors",
        "NMDA-receptors",
        "NMDA\u2013receptor",
        "NMDA\u2013receptors",
    }


def test_hyphenated_term_gets_space_and_joined_forms():
    assert variants("meta-analysis") == {
        "meta-analysis",
        "meta analysis",
        "metaanalysis",
        "meta\u2013analysis",
        "meta-analyses",
        "meta analyses",
        "metaanalyses",
        "meta\u2013analyses",
    }


def test_each_hyphen_or_space_may_be_either_and_greek_letters_are_spelled_out():
    forms = variants("glycogen synthase kinase-3")
    assert {"glycogen synthase kinase 3", "glycogen-synthase kinase-3", "glycogen synthase-kinase 3"} <= forms
    assert "TNF-alpha" in variants("TNF-α") and "TNF alpha" in variants("TNF-α")


def test_term_with_an_identifier(tmp_path):
    path = write(tmp_path, '[DRUG]\n"ketamine" = { id = "MESH:D007649", synonyms = ["Ketalar"] }\n"placebo" = []\n')
    lexicon = load_lexicon(path)
    assert lexicon == {"DRUG": {"ketamine": ("Ketalar",), "placebo": ()}}
    assert identifier_table(lexicon) == {("DRUG", "ketamine"): "MESH:D007649"}


def test_identifier_must_have_a_prefix(tmp_path):
    path = write(tmp_path, '[DRUG]\n"ketamine" = { id = "D007649" }\n')
    assert error(path) == (
        f'{path}: [DRUG] "ketamine" id must be PREFIX:VALUE such as "MESH:D007649" or '
        "\"NCBIGene:627\", not str ('D007649')."
    )


def test_term_table_with_an_unknown_key(tmp_path):
    path = write(tmp_path, '[DRUG]\n"ketamine" = { ids = "MESH:D007649" }\n')
    assert error(path) == (
        f"{path}: [DRUG] \"ketamine\" has unknown key 'ids'. A term's table may hold only id and synonyms."
    )


def test_symbol_with_digit_gets_joined_form_but_no_plural():
    assert variants("GSK-3") == {"GSK-3", "GSK 3", "GSK3", "GSK\u20133"}


def test_patterns_carry_canonical_as_id_and_skip_duplicates():
    lexicon = {"DRUG": {"ketamine": ("Ketamine", "Ketalar")}}
    patterns = lexicon_patterns(lexicon)
    assert {p["id"] for p in patterns} == {"ketamine"}
    assert sorted(p["pattern"] for p in patterns) == ["Ketalar", "Ketalars", "ketamine", "ketamines"]


def test_lookup_table_is_case_insensitive_by_class():
    table = lookup_table({"DISEASE": {"treatment-resistant depression": ("TRD",)}})
    assert table[("DISEASE", "trd")] == "treatment-resistant depression"
    assert table[("DISEASE", "treatment resistant depression")] == "treatment-resistant depression"
    assert ("DRUG", "trd") not in table


# --- matching with spaCy's EntityRuler -----------------------------------------------------------


@pytest.fixture(scope="module")
def ruler_nlp():
    nlp = customize_tokenizer(spacy.blank("en"))
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    ruler.add_patterns(lexicon_patterns(load_lexicon(KETAMINE_LEXICON)))
    return nlp


@pytest.mark.parametrize(
    "text, span, label, canonical",
    [
        ("Blockade of nmda-receptors by ketamine.", "nmda-receptors", "GENE", "NMDA receptor"),
        ("NMDA Receptor density", "NMDA Receptor", "GENE", "NMDA receptor"),
        ("Two META ANALYSES were found.", "META ANALYSES", "STUDY_DESIGN", "meta-analysis"),
        ("Three RCTs compared doses.", "RCTs", "STUDY_DESIGN", "randomized controlled trial"),
        ("Given as Ketalar.", "Ketalar", "DRUG", "ketamine"),
        ("Esketamine nasal spray", "nasal spray", "ROUTE", "intranasal"),
        ("the prefrontal cortices", None, None, None),  # irregular plural: not generated
    ],
)
def test_ruler_matches_case_plural_and_hyphen_variants(ruler_nlp, text, span, label, canonical):
    doc = ruler_nlp(text)
    hits = [(e.text, e.label_, e.ent_id_) for e in doc.ents]
    if span is None:
        assert all(h[1] != "BRAIN_REGION" for h in hits)
    else:
        assert (span, label, canonical) in hits


def test_every_committed_pattern_matches_alone_with_its_canonical(ruler_nlp):
    """Each generated surface form, as a text of its own, is found whole with its term and class."""
    problems = []
    for p in lexicon_patterns(load_lexicon(KETAMINE_LEXICON)):
        doc = ruler_nlp(p["pattern"])
        got = [(e.text, e.label_, e.ent_id_) for e in doc.ents]
        if got != [(p["pattern"], p["label"], p["id"])]:
            problems.append((p["pattern"], got))
    assert problems == []


def test_matches_inside_a_sentence_keep_offsets(ruler_nlp):
    text = "Intranasal esketamine (Spravato) vs. placebo in an RCT."
    doc = ruler_nlp(text)
    for e in doc.ents:
        assert text[e.start_char : e.end_char] == e.text
    assert [(e.text, e.ent_id_) for e in doc.ents] == [
        ("Intranasal", "intranasal"),
        ("esketamine", "esketamine"),
        ("Spravato", "esketamine"),
        ("placebo", "placebo"),
        ("RCT", "randomized controlled trial"),
    ]
