"""`publish` rebuilds the outputs from the state store with no network; with [screening.human] the
people's decisions fill records.csv, evidence.csv, changes.csv, prisma.json and run.json."""

from __future__ import annotations

import csv
import json

from pipeline.config import load_config
from pipeline.workspace.service import Workspace


def read_csv(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_publish_puts_dual_mode_outcomes_into_every_output(invoke, screening_review):
    review = screening_review.with_mode("dual", ["ana", "ben", "cy"])
    ws = Workspace(load_config(review.config))
    try:
        # each record goes to two of the three (human.assigned_pair): 01, 04 and 10 to ben and cy,
        # 08 to ana and cy, 09 to ana and ben
        for name in ("ben", "cy"):
            ws.decide(name, "pmid:30000001", "include")
            ws.decide(name, "pmid:30000010", "exclude", "wrong design")
        ws.decide("ana", "pmid:30000009", "include")
        ws.decide("ben", "pmid:30000009", "exclude", "wrong population")
        ws.decide("ben", "pmid:30000004", "include")  # awaiting cy
        ws.decide("ana", "pmid:30000008", "include")
        ws.decide("cy", "pmid:30000008", "exclude", "wrong population")
        ws.resolve("ben", "pmid:30000008", "include", note="the case report is in scope")
    finally:
        ws.close()
    result = invoke("publish", "--config", review.config)
    assert result.exit_code == 0, result.stderr
    out = review.out
    assert result.stdout == (
        f"Published {out}: outputs rebuilt: 2 records included by people in the evidence table, 4 awaiting screening.\n"
    )
    shown = invoke("show", "--config", review.config).stdout
    # The label column is as wide as the longest stage label; compare with runs of spaces as one.
    lines = [" ".join(line.split()) for line in shown.splitlines()]
    start = lines.index("Screening by people (dual: ana, ben, cy)")
    assert lines[start : start + 7] == [
        "Screening by people (dual: ana, ben, cy)",
        "Records reaching people 7",
        "Screened 3",
        "Included 2",
        "Excluded 1",
        "wrong design 1",
        "Still awaiting screening 4 (2 not yet screened, 1 awaiting a second reviewer, 1 conflict)",
    ]
    assert "Newest included records (2 of 2, included by people)" in shown
    report = (out / "report.html").read_text(encoding="utf-8")
    assert (
        '<p>3 of 7 records screened by ana, ben, cy (dual mode): 2 included, 1 excluded; <b id="awaiting">4</b> '
        "still awaiting screening."
    ) in report
    assert sorted(r["pmid"] for r in read_csv(out / "evidence.csv")) == ["30000001", "30000008"]
    rows = {
        r["pmid"]: (r["decision"], r["human_decision"], r["human_reason"], r["screened_by"])
        for r in read_csv(out / "records.csv")
    }
    assert rows["30000001"] == ("include", "include", "", "ben; cy")
    assert rows["30000010"] == ("include", "exclude", "wrong design", "ben; cy")
    assert rows["30000009"] == ("include", "conflict", "ana: include; ben: exclude", "ana; ben")
    assert rows["30000004"] == ("needs-review", "", "", "ben")
    assert rows["30000008"] == ("needs-review", "include", "", "ana; cy; resolved by ben")
    assert rows["30000002"][1:] == ("", "", "")
    changes = [r for r in read_csv(out / "changes.csv") if r["change"] == "screened-by-people"]
    assert [(r["pmid"], r["old_decision"], r["new_decision"], r["new_reason"]) for r in changes] == [
        ("30000001", "include", "include", ""),
        ("30000008", "needs-review", "include", ""),
        ("30000009", "include", "conflict", "ana: include; ben: exclude"),
        ("30000010", "include", "exclude", "wrong design"),
    ]
    assert changes[1]["why"].startswith("screened by ana, cy; resolved by ben (last decision 20")
    flow = json.loads((out / "prisma.json").read_text())
    assert (
        flow["screening"]["records_screened"],
        flow["screening"]["records_excluded"],
        flow["screening"]["records_awaiting_decision"],
        flow["included"]["records_included"],
    ) == (7, 1, 4, 2)
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["human_screening"]["awaiting"] == {
        "not yet screened": 2,
        "awaiting a second reviewer": 1,
        "maybe": 0,
        "conflict": 1,
    }


def test_publish_without_a_run_says_what_to_do(invoke, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[review]\nname = "r"\n[search]\nall_of = [["ketamine"]]\n[output]\ndir = "out"\n')
    result = invoke("publish", "--config", config)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {tmp_path / 'out'} holds no review state (state.sqlite): nothing to publish. "
        f"Run the review first: python -m pipeline run --config {config}\n"
    )


def test_without_people_the_tables_keep_their_columns(invoke, screening_review):
    text = screening_review.config.read_text()
    screening_review.config.write_text(text.replace("[screening.human]", "[screening.human]\nenabled = false"))
    assert invoke("publish", "--config", screening_review.config).exit_code == 0
    header = (screening_review.out / "records.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert "human_decision" not in header
    assert len(read_csv(screening_review.out / "evidence.csv")) == 5  # the rules' inclusions
