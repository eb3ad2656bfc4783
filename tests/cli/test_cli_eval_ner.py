"""`python -m pipeline eval-ner`: thin glue over ner_eval, scored against a tiny PubTator fixture."""

import json

import pytest

from tests.support.paths import FIXTURES

TINY = FIXTURES / "tiny.pubtator"


@pytest.fixture
def shared_model(ner, monkeypatch):
    """eval-ner loads the model through extract.load_ner; hand it the session's copy."""
    from pipeline.extraction import ner as extract

    monkeypatch.setattr(extract, "load_ner", lambda path=None: ner)
    return ner


def test_table_lists_each_corpus_type_and_micro(invoke, shared_model):
    result = invoke("eval-ner", "--corpus", TINY)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{TINY}: 2 documents, strict span match"
    assert lines[1].split() == ["type", "precision", "recall", "F1", "tp", "fp", "fn"]
    assert [line.split()[0] for line in lines[2:]] == ["Chemical", "Disease", "Gene/Protein", "micro"]


def test_json_scores_match_hand_count(invoke, shared_model):
    result = invoke("eval-ner", "--corpus", TINY, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["documents"] == 2
    micro = data["scores"]["micro"]
    assert micro["tp"] + micro["fn"] == 10  # gold mentions of the three scored types
    assert set(data["scores"]) == {"Chemical", "Disease", "Gene/Protein", "micro"}
    assert 0.0 <= micro["f1"] <= 1.0


def test_missing_corpus_is_a_config_error(invoke, tmp_path):
    missing = tmp_path / "none.txt"
    result = invoke("eval-ner", "--corpus", missing)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {missing}: corpus file not found. Pass an existing PubTator file with --corpus.\n"


def test_missing_model_is_a_config_error(invoke, tmp_path):
    result = invoke("eval-ner", "--corpus", TINY, "--model", tmp_path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {tmp_path}: no trained spaCy pipeline here (config.cfg is missing). "
        "Run `make model`, or set [extraction] model to a trained pipeline folder.\n"
    )


def test_help_has_an_example(invoke):
    result = invoke("eval-ner", "--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout
    assert "python -m pipeline eval-ner --corpus" in result.stdout


def test_json_has_concept_scores_and_linking_accuracy(invoke, shared_model):
    result = invoke("eval-ner", "--corpus", TINY, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    # tiny.pubtator links two concepts in document 111: ketamine (D007649) and depression (D003866).
    concepts = data["concepts"]
    assert concepts["micro"]["tp"] + concepts["micro"]["fn"] == 2
    assert concepts["Chemical"]["tp"] == 1  # ketamine, MESH:D007649
    assert data["linking"]["Chemical"] == {"accuracy": 1.0, "correct": 1, "linked": 1, "mentions": 1}
    assert data["linking"]["micro"]["mentions"] == 2


def test_predictions_out_writes_pubtator_with_identifiers(invoke, shared_model, tmp_path):
    out = tmp_path / "predicted.PubTator"
    result = invoke("eval-ner", "--corpus", TINY, "--predictions-out", out)
    assert result.exit_code == 0, result.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "111|t|Ketamine-induced dissociation in depression."
    assert "111\t0\t8\tKetamine\tChemical\tD007649" in lines
    assert "222\t31\t38\tlithium\tChemical\tD008094" in lines
    mentions = [line.split("\t") for line in lines if "\t" in line]
    assert {m[4] for m in mentions} <= {"Chemical", "Disease", "Gene"}
    assert all(len(m) == 6 and m[5] for m in mentions)


def test_linking_table(invoke, shared_model):
    result = invoke("eval-ner", "--corpus", TINY, "--linking")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "concepts: (document, type, identifier) pairs" in lines
    assert "linking accuracy on the gold spans with one identifier" in lines
    # ketamine and depression both get their gold identifier (depression through the linker: the
    # model's span there is "dissociation in depression", so the gold span's text is linked).
    assert lines[-1].split() == ["micro", "100.00", "2/2", "(2", "linked)"]
