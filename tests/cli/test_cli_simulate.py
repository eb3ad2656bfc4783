"""`python -m pipeline simulate`: a labelled dataset screened by the ranker, with clear errors."""

import json

import pytest

from tests.support.paths import shared_path
from tests.support.screening_sets import labelled_rows, write_csv

KEYS = [
    "records",
    "includes",
    "wss@95",
    "wss@100",
    "recall@10%",
    "n95",
    "n100",
    "stop_position",
    "recall_at_stop",
    "seconds",
]


def test_json_result_has_every_metric(invoke, labelled_csv):
    result = invoke("simulate", "--dataset", labelled_csv, "--seed", "2", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert list(data) == KEYS
    assert data["records"] == 48 and data["includes"] == 12
    assert 1 <= data["n95"] <= data["n100"] <= 48


def test_stopping_rule_can_be_chosen(invoke, labelled_csv):
    runs = {}
    for rule in ("decay", "buscar"):
        result = invoke("simulate", "--dataset", labelled_csv, "--stopping-rule", rule, "--json")
        assert result.exit_code == 0, result.stderr
        runs[rule] = json.loads(result.stdout)
    assert {k: v for k, v in runs["decay"].items() if k.startswith(("wss", "n"))} == {
        k: v for k, v in runs["buscar"].items() if k.startswith(("wss", "n"))
    }  # the same order: the rule only says where to stop
    assert 1 <= runs["decay"]["stop_position"] <= 48 and 1 <= runs["buscar"]["stop_position"] <= 48
    bad = invoke("simulate", "--dataset", labelled_csv, "--stopping-rule", "knee")
    assert bad.exit_code == 2 and "'knee' is not one of 'decay', 'buscar'" in bad.stderr


def test_same_seed_same_order_file(invoke, labelled_csv, tmp_path):
    for name in ("a.csv", "b.csv"):
        assert (
            invoke("simulate", "--dataset", labelled_csv, "--seed", "7", "--order-out", tmp_path / name).exit_code == 0
        )
    first = (tmp_path / "a.csv").read_text()
    assert first == (tmp_path / "b.csv").read_text()
    lines = first.splitlines()
    assert lines[0] == "position,row,label" and len(lines) == 49
    rows = [int(line.split(",")[1]) for line in lines[1:]]
    assert sorted(rows) == list(range(48))
    assert [line.split(",")[0] for line in lines[1:4]] == ["1", "2", "3"]


def test_text_summary_and_plot(invoke, labelled_csv, tmp_path):
    result = invoke("simulate", "--data", labelled_csv, "--plot", tmp_path / "recall.svg", "--prior-included", "2")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{labelled_csv}: 48 records, 12 includes; seed 0, 2 + 1 random priors"
    assert lines[1].startswith("WSS@95 ") and "recall@10% " in lines[1]
    assert lines[2].startswith("Stopping rule (95% recall with 95% confidence): stop after ")
    svg = (tmp_path / "recall.svg").read_text()
    assert svg.startswith("<svg") and "random screening" in svg and "stop at " in svg


def test_label_column_may_be_called_included_and_use_semicolons(invoke, tmp_path):
    rows = [{"title": r["title"], "abstract": r["abstract"], "included": r["label_included"]} for r in labelled_rows(1)]
    path = tmp_path / "semi.csv"
    path.write_text(
        "title;abstract;included\n" + "".join(f"{r['title']};{r['abstract']};{r['included']}\n" for r in rows)
    )
    result = invoke("simulate", "--dataset", path, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["includes"] == 4


def test_ris_with_asreview_labels(invoke, tmp_path):
    records = []
    for r in labelled_rows(1):
        note = "ASReview_relevant" if r["label_included"] == "1" else "ASReview_irrelevant"
        records.append(f"TY  - JOUR\nTI  - {r['title']}\nAB  - {r['abstract']}\nN1  - {note}\nER  - \n")
    path = tmp_path / "labelled.ris"
    path.write_text("\n".join(records))
    result = invoke("simulate", "--dataset", path, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["records"] == 16


@pytest.mark.parametrize(
    "fields, rows, message",
    [
        (
            ["title", "label_included"],
            [{"title": "a", "label_included": "1"}],
            "{path}: missing column(s) abstract. A labelled CSV needs title, abstract and a label column "
            "(label_included, included or label) holding 1 or 0; the header has: title, label_included.",
        ),
        (
            ["title", "abstract"],
            [{"title": "a", "abstract": "b"}],
            "{path}: missing column(s) label_included. A labelled CSV needs title, abstract and a label column "
            "(label_included, included or label) holding 1 or 0; the header has: title, abstract.",
        ),
        (
            ["title", "abstract", "label_included"],
            [{"title": "a", "abstract": "", "label_included": "0"}] * 3,
            "{path}: no record is labelled 1 (included); a simulation needs at least one include.",
        ),
        (
            ["title", "abstract", "label_included"],
            [{"title": "a", "abstract": "", "label_included": "1"}] * 2,
            "{path}: every record is labelled 1 (included); a simulation needs at least one exclude.",
        ),
        (
            ["record_id", "title", "abstract", "label_included"],
            [
                {"record_id": "W1", "title": "a", "abstract": "", "label_included": "1"},
                {"record_id": "W2", "title": "b", "abstract": "", "label_included": ""},
            ],
            "{path}: line 3 (record W2): label '(empty)' is not 1 or 0. Label every record 1 (include) or 0 "
            "(exclude); unlabelled records cannot be simulated.",
        ),
        (
            ["title", "abstract", "label_included"],
            [],
            "{path}: no records. The file needs a header row and one row per record.",
        ),
    ],
)
def test_bad_files_are_config_errors_naming_the_fix(invoke, tmp_path, fields, rows, message):
    path = write_csv(tmp_path / "bad.csv", rows, fields)
    result = invoke("simulate", "--dataset", path)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {message.format(path=path)}\n"


def test_missing_file_and_too_many_priors(invoke, tmp_path, labelled_csv):
    missing = tmp_path / "none.csv"
    result = invoke("simulate", "--dataset", missing)
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: {missing}: no such file. Pass a labelled CSV (or RIS) file with --dataset.\n",
    )
    result = invoke("simulate", "--dataset", labelled_csv, "--prior-excluded", "40")
    assert (result.exit_code, result.stderr) == (
        2,
        "Error: 40 prior excludes asked for, but the dataset has 36 excludes\n",
    )


def test_not_utf8_is_named(invoke, tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("title,abstract,label\nCaf\xe9,x,1\n".encode("latin-1"))
    result = invoke("simulate", "--dataset", path)
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: {path}: not UTF-8 text (byte 24); save it as UTF-8 and try again.\n",
    )


def test_real_dataset_sorted_includes_first(invoke):
    path = shared_path("data", "screening", "Donners_2021.csv")
    result = invoke("simulate", "--dataset", path, "--seed", "1", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["records"], data["includes"]) == (258, 15)
    assert data["wss@95"] > 0.3 and data["recall_at_stop"] >= 0.95
