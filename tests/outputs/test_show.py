"""`python -m pipeline show`: the terminal summary of an output folder, in three formats."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest

from pipeline.outputs.summary import top_mentions


def expected_top(outputs_dir, label: str) -> list[dict]:
    """The top terms of a class computed independently from mentions.parquet (so the test holds
    whatever the extractor finds)."""
    m = pd.read_parquet(outputs_dir / "mentions.parquet")
    m = m[m.label == label]
    rows = [
        {"term": t, "mentions": int((g.pmid.size)), "records": int(g.pmid.nunique())} for t, g in m.groupby("canonical")
    ]
    return sorted(rows, key=lambda r: (-r["mentions"], -r["records"], r["term"]))


COUNTS = {
    "identified": 10,
    "retrieved": 10,
    "quarantined": 0,
    "duplicates": 1,
    "screened": 9,
    "excluded": 3,
    "needs_review": 2,
    "included": 4,
}


def test_show_table(invoke, ketamine_outputs):
    result = invoke("show", "--out", ketamine_outputs)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Review ketamine-depression: run ")
    assert " completed (" in lines[0]
    start = lines.index("Counts per stage")
    assert lines[start + 1 : start + 12] == [
        "  Records identified in PubMed              10",
        "  Records retrieved                         10",
        "  Records unreadable (quarantined)           0",
        "  Duplicates removed                         1",
        "  Checked against the criteria               9",
        "  Excluded by the criteria                   3",
        "    language-not-included                    1",
        "    publication-type-excluded                1",
        "    published-before-range                   1",
        "  Needing human review                       2",
        "  Included                                   4",
    ]
    top_start = lines.index("Top mentions per class (mentions / records)")
    shown: dict[str, str] = {}
    label = ""
    for line in lines[top_start + 1 : lines.index("", top_start)]:
        if line.startswith(" " * 18):  # a wrapped continuation
            shown[label] += " " + line.strip()
        else:
            label, text = line.split(maxsplit=1)
            shown[label] = text
    assert list(shown) == [
        "DRUG",
        "DISEASE",
        "GENE",
        "TREATMENT",
        "MECHANISM",
        "BRAIN_REGION",
        "ROUTE",
        "ADVERSE_EFFECT",
        "OUTCOME_SCALE",
        "STUDY_DESIGN",
    ]
    for label, text in shown.items():
        expected = ", ".join(
            f"{t['term']} {t['mentions']}/{t['records']}" for t in expected_top(ketamine_outputs, label)[:5]
        )
        assert text == (expected or "-"), label
    newest = lines.index("Newest included records (4 of 4)")
    assert [line.split()[0] for line in lines[newest + 1 :]] == ["30000010", "30000009", "30000001", "30000005"]
    assert lines[newest + 1].startswith("  30000010  2021  meta-analysis ")


def test_show_json(invoke, ketamine_outputs):
    result = invoke("show", "--out", ketamine_outputs, "--format", "json", "--top", "2", "--newest", "1")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert {k: summary["counts"][k] for k in COUNTS} == COUNTS
    assert summary["counts"]["mentions"] == len(pd.read_parquet(ketamine_outputs / "mentions.parquet"))
    assert summary["top_mentions"]["DRUG"] == expected_top(ketamine_outputs, "DRUG")[:2]
    assert summary["top_mentions"]["DRUG"][0]["term"] == "ketamine"
    assert all(len(terms) <= 2 for terms in summary["top_mentions"].values())
    assert list(summary["top_mentions"]) == [
        "DRUG",
        "DISEASE",
        "GENE",
        "TREATMENT",
        "MECHANISM",
        "BRAIN_REGION",
        "ROUTE",
        "ADVERSE_EFFECT",
        "OUTCOME_SCALE",
        "STUDY_DESIGN",
    ]
    assert summary["newest_included"] == [
        {
            "pmid": "30000010",
            "year": 2021,
            "first_author": summary["newest_included"][0]["first_author"],
            "design": "meta-analysis",
            "journal": "Journal of affective disorders",
            "title": "Ketamine versus electroconvulsive therapy for depression: a systematic review and "
            "meta-analysis of efficacy.",
        }
    ]
    assert summary["excluded_by_reason"] == {
        "language-not-included": 1,
        "publication-type-excluded": 1,
        "published-before-range": 1,
    }


def test_show_csv(invoke, ketamine_outputs):
    result = invoke("show", "--out", ketamine_outputs, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["section", "key", "name", "value"]
    assert [r for r in rows if r[0] == "counts"][:8] == [["counts", k, "", str(v)] for k, v in COUNTS.items()]
    top = expected_top(ketamine_outputs, "DRUG")[0]
    assert ["mentions", "DRUG", top["term"], str(top["mentions"])] in rows
    assert [r[1] for r in rows if r[0] == "newest"] == ["30000010", "30000009", "30000001", "30000005"]


def test_show_reads_the_config_output_folder(invoke, review_config, ketamine_outputs):
    import shutil

    shutil.copytree(ketamine_outputs, review_config.parent.parent / "out")
    result = invoke("show", "--config", review_config)
    assert result.exit_code == 0, result.stderr
    assert "Newest included records (4 of 4)" in result.stdout


def test_show_never_uses_the_network(invoke, ketamine_outputs, monkeypatch):
    monkeypatch.setenv("EUTILS_BASE_URL", "http://192.0.2.1/entrez/eutils/")
    assert invoke("show", "--out", ketamine_outputs).exit_code == 0


def test_show_without_folder_or_config(invoke):
    result = invoke("show")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == "Error: Pass --config FILE (its [output] dir is read) or --out DIR."


def test_show_on_a_missing_folder(invoke, tmp_path):
    result = invoke("show", "--out", tmp_path / "nothing")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {tmp_path / 'nothing'}: no such output folder. Run `python -m pipeline run "
        "--config FILE` first, or pass the folder a run wrote with --out DIR.\n"
    )


def test_show_on_a_folder_without_run(invoke, tmp_path):
    result = invoke("show", "--out", tmp_path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {tmp_path}: no run.json here, so no run has written to this folder. Run "
        "`python -m pipeline run --config FILE` first, or pass the folder a run wrote with "
        "--out DIR.\n"
    )


def test_show_after_a_first_run_that_failed(invoke, tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"status": "failed", "error": "E-utilities did not answer"}))
    result = invoke("show", "--out", tmp_path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {tmp_path}: records.parquet, evidence.parquet, mentions.parquet, prisma.json missing: the last "
        "run failed (E-utilities did not answer) and no earlier run left tables here. Run `python -m pipeline "
        "run` again once the problem is fixed.\n"
    )


def test_show_after_a_later_run_failed(invoke, outputs_copy):
    run = json.loads((outputs_copy / "run.json").read_text())
    run.update(status="failed", error="E-utilities did not answer")
    (outputs_copy / "run.json").write_text(json.dumps(run))
    result = invoke("show", "--out", outputs_copy)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1] == (
        "  The last run did not complete (E-utilities did not answer); the tables below are from the last run that did."
    )


def test_show_on_a_damaged_run_json(invoke, outputs_copy):
    (outputs_copy / "run.json").write_text("{not json")
    result = invoke("show", "--out", outputs_copy)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {outputs_copy / 'run.json'}: not a JSON file the pipeline wrote (")
    assert result.stderr.endswith("Run the review again to rewrite it.\n")


def test_top_mentions_ranking():
    mentions = pd.DataFrame(
        {
            "pmid": ["1", "1", "2", "3", "3", "1"],
            "label": ["DRUG"] * 5 + ["GENE"],
            "canonical": ["b", "b", "a", "a", "c", "BDNF"],
        }
    )
    # b and a both have 2 mentions; a is in 2 records so it ranks first.
    assert top_mentions(mentions, ["DRUG", "GENE", "ROUTE"], 2) == {
        "DRUG": [{"term": "a", "mentions": 2, "records": 2}, {"term": "b", "mentions": 2, "records": 1}],
        "GENE": [{"term": "BDNF", "mentions": 1, "records": 1}],
        "ROUTE": [],
    }


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_show_with_no_mentions(invoke, outputs_copy, fmt):
    empty = pd.read_parquet(outputs_copy / "mentions.parquet").iloc[0:0]
    empty.to_parquet(outputs_copy / "mentions.parquet")
    result = invoke("show", "--out", outputs_copy, "--format", fmt)
    assert result.exit_code == 0, result.stderr


HOSTILE = "Ketamine\x1b[2J\x1b]0;owned\x07 \u202edesserpeD\u202c \u2066iso\u2069\x9b31m end"


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_show_strips_control_and_bidi_characters(invoke, outputs_copy, fmt):
    """A title can carry terminal escapes or bidi overrides; `show` never prints them raw."""
    evidence = pd.read_parquet(outputs_copy / "evidence.parquet")
    evidence["title"] = HOSTILE
    evidence.to_parquet(outputs_copy / "evidence.parquet")
    result = invoke("show", "--out", outputs_copy, "--format", fmt)
    assert result.exit_code == 0, result.stderr
    for bad in ("\x1b", "\x07", "\x9b", "\u202e", "\u202c", "\u2066", "\u2069"):
        assert bad not in result.stdout
    if fmt == "json":  # escaped, so nothing is lost
        assert json.loads(result.stdout)["newest_included"][0]["title"] == HOSTILE
    else:
        assert "Ketamine[2J]0;owned desserpeD iso31m end" in result.stdout
