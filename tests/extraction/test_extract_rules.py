"""extract_mentions' bookkeeping (sections, offsets, sentences, order, classes) on a rule-only
pipeline, so every expected value is known exactly; plus the eval helpers with a stub model."""

import dataclasses
import json

import pytest
import spacy

from pipeline.config import ExtractionConfig
from pipeline.extraction.ner import (
    DEFAULT_MODEL,
    SECTION_SEPARATOR,
    _record_texts,
    add_review_components,
    extract_mentions,
    load_nlp,
)
from pipeline.models import AbstractSection, Mention, Record, SetAside
from spacy.language import Language
from pipeline.extraction.evaluation import Entity, PubTatorDoc, Scores, evaluate, predict
from pipeline.extraction.components.tokenizer import customize_tokenizer

LEXICON = {
    "DRUG": {"ketamine": ("Ketalar",)},
    "ROUTE": {"intravenous": ("i.v.",)},
    "DISEASE": {"treatment-resistant depression": ()},
}


@pytest.fixture(scope="module")
def rules():
    return add_review_components(customize_tokenizer(spacy.blank("en")), LEXICON)


RECORD = Record(
    pmid="7",
    title="Ketalar for treatment-resistant depression (TRD)",
    abstract_sections=(
        AbstractSection("METHODS", "We gave intravenous ketamine. Then TRD improved."),
        AbstractSection("", ""),
        AbstractSection("RESULTS", "No change. Ketamine again."),
    ),
)


def test_sections_are_joined_with_known_offsets():
    [(text, (record_id, sections, starts))] = list(_record_texts([RECORD]))
    assert record_id == "pmid:7"
    assert [name for name, _ in sections] == ["title", "METHODS", "RESULTS"]  # empty section skipped
    for (name, section_text), start in zip(sections, starts):
        assert text[start : start + len(section_text)] == section_text
    assert text.count(SECTION_SEPARATOR) == 2


def test_exact_mentions(rules):
    got = [
        (m.section, m.sentence, m.start, m.end, m.text, m.label, m.canonical, m.source)
        for m in extract_mentions(rules, [RECORD], ["DRUG", "DISEASE", "ROUTE"])
    ]
    assert got == [
        ("title", 0, 0, 7, "Ketalar", "DRUG", "ketamine", "lexicon"),
        ("title", 0, 12, 42, "treatment-resistant depression", "DISEASE", "treatment-resistant depression", "lexicon"),
        ("title", 0, 44, 47, "TRD", "DISEASE", "treatment-resistant depression", "abbreviation"),
        ("METHODS", 0, 8, 19, "intravenous", "ROUTE", "intravenous", "lexicon"),
        ("METHODS", 0, 20, 28, "ketamine", "DRUG", "ketamine", "lexicon"),
        ("METHODS", 1, 35, 38, "TRD", "DISEASE", "treatment-resistant depression", "abbreviation"),
        ("RESULTS", 1, 11, 19, "Ketamine", "DRUG", "ketamine", "lexicon"),
    ]


def test_only_wanted_classes(rules):
    assert {m.label for m in extract_mentions(rules, [RECORD], ["ROUTE"])} == {"ROUTE"}
    assert list(extract_mentions(rules, [RECORD], [])) == []


def test_generator_input_and_record_order(rules):
    records = (dataclasses.replace(RECORD, pmid=p) for p in ["9", "3", "5"])
    ids = [m.record_id for m in extract_mentions(rules, records, ["DRUG"])]
    assert ids == ["pmid:9"] * 3 + ["pmid:3"] * 3 + ["pmid:5"] * 3


def test_abstract_without_title(rules):
    record = Record(pmid="1", abstract_sections=(AbstractSection("", "Oral ketamine."),))
    [m] = extract_mentions(rules, [record], ["DRUG"])
    assert (m.section, m.start, m.end) == ("abstract", 5, 13)


def test_mentions_are_hashable_records(rules):
    mentions = list(extract_mentions(rules, [RECORD], ["DRUG"]))
    assert len(set(mentions)) == len(mentions)
    assert all(isinstance(m, Mention) for m in mentions)


def test_config_model_path_is_used(tmp_path):
    cfg = ExtractionConfig(lexicons=(), model=DEFAULT_MODEL)
    nlp = load_nlp(cfg)
    assert "ner" in nlp.pipe_names and nlp.get_pipe("lexicon_ruler").patterns == []


# --- eval helpers with a stub model ---------------------------------------------------------------


class StubNLP:
    """Predicts fixed character spans, like a model that found them."""

    def __init__(self, spans):
        self.blank = spacy.blank("en")
        self.spans = spans

    def pipe(self, texts, batch_size=64):
        for text in texts:
            doc = self.blank.make_doc(text)
            doc.ents = [doc.char_span(s, e, label=label) for s, e, label in self.spans.get(text, [])]
            yield doc


def test_predict_keeps_only_model_types():
    doc = PubTatorDoc("1", "Aspirin", "helps asthma")
    stub = StubNLP({doc.text: [(0, 7, "Chemical"), (14, 20, "DISEASE")]})
    assert list(predict(stub, [doc])) == [[Entity(0, 7, "Chemical", "Aspirin")]]


def test_evaluate_scores_only_annotated_types():
    doc = PubTatorDoc("1", "Aspirin", "helps asthma", [Entity(0, 7, "Chemical"), Entity(14, 20, "Disease")])
    stub = StubNLP({doc.text: [(0, 7, "Chemical"), (8, 13, "Gene/Protein")]})
    scores = evaluate(stub, [doc])
    assert scores == {"Chemical": Scores(1, 0, 0), "Disease": Scores(0, 0, 1), "micro": Scores(1, 0, 1)}


def test_install_names_the_model(tmp_path):
    from training.train import REPO, install

    source = tmp_path / "ckpt"
    source.mkdir()
    (source / "meta.json").write_text(json.dumps({"name": "pipeline", "lang": "en"}))
    (source / "config.cfg").write_text(f'[paths]\ntrain = "{REPO}/build/corpus/final.spacy"\n')
    install(source, tmp_path / "target")
    meta = json.loads((tmp_path / "target" / "meta.json").read_text())
    assert (meta["name"], meta["version"], meta["lang"]) == ("ner_biomed", "1.0.0", "en")
    # The corpus path spaCy saved is the checkout's; the installed model keeps it relative.
    assert (tmp_path / "target" / "config.cfg").read_text() == '[paths]\ntrain = "build/corpus/final.spacy"\n'


def test_bench_skips_without_shared(monkeypatch, capsys, tmp_path):
    import bench.bench_ner as bench_ner

    monkeypatch.setattr(bench_ner, "CORPUS", tmp_path / "absent.txt")
    assert bench_ner.main([]) == 0
    assert capsys.readouterr().out == (
        f"skipped: {tmp_path / 'absent.txt'} not found (the benchmark reads ../shared beside the checkout)\n"
    )


# --- one record never stops extraction ----------------------------------------------------------


def test_a_record_longer_than_max_length_is_set_aside_and_the_rest_extracted():
    nlp = add_review_components(customize_tokenizer(spacy.blank("en")), LEXICON)
    nlp.max_length = 200
    long = Record(pmid="8", title="Ketamine", abstract_sections=(AbstractSection("", "ketamine " * 40),))
    after = dataclasses.replace(RECORD, pmid="9")
    aside = []
    ids = [
        m.record_id
        for m in extract_mentions(nlp, [RECORD, long, after], ["DRUG"], batch_size=2, set_aside=aside.append)
    ]
    assert set(ids) == {"pmid:7", "pmid:9"}
    assert aside == [
        SetAside(
            "pmid:8",
            "text of 370 characters exceeds spaCy's max_length of 200; the record was not searched for entity mentions",
            "extraction",
        )
    ]


@Language.component("fails_on_nine")
def _fails_on_nine(doc):
    if "nine" in doc.text:
        raise ValueError("cannot handle nine")
    return doc


@pytest.mark.parametrize("n_process", [1, 2])
def test_a_record_a_component_fails_on_is_set_aside_with_the_error(n_process):
    nlp = add_review_components(customize_tokenizer(spacy.blank("en")), LEXICON)
    nlp.add_pipe("fails_on_nine", first=True)
    bad = Record(pmid="9", title="Ketamine nine")
    records = (
        [dataclasses.replace(RECORD, pmid=str(p)) for p in (1, 2, 3)]
        + [bad]
        + [dataclasses.replace(RECORD, pmid=str(p)) for p in (10, 11)]
    )
    aside = []
    got = list(extract_mentions(nlp, records, ["DRUG"], batch_size=2, n_process=n_process, set_aside=aside.append))
    assert sorted({m.record_id for m in got}, key=lambda i: int(i[5:])) == [
        "pmid:1",
        "pmid:2",
        "pmid:3",
        "pmid:10",
        "pmid:11",
    ]
    assert aside == [SetAside("pmid:9", "entity extraction failed: ValueError: cannot handle nine", "extraction")]
    # The same mentions as without the bad record.
    clean = list(extract_mentions(nlp, [r for r in records if r.pmid != "9"], ["DRUG"], batch_size=2))
    assert got == clean
