"""PRISMA 2020 counts and diagram (pure), and their agreement with records.csv after a real run."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.screening import prisma
from pipeline.screening import rules as screen
from pipeline.models import Decision, Record, ScreeningResult

SVG = "{http://www.w3.org/2000/svg}"


def result(pmid: str, decision: Decision, reason: str, duplicate_of: str = "") -> ScreeningResult:
    return ScreeningResult(pmid, decision, reason, duplicate_of=duplicate_of)


RESULTS = [
    result("1", Decision.INCLUDE, "meets-criteria"),
    result("2", Decision.EXCLUDE, "published-before-range"),
    result("3", Decision.EXCLUDE, "published-before-range"),
    result("4", Decision.EXCLUDE, "language-not-included"),
    result("5", Decision.NEEDS_REVIEW, "date-span-ambiguous"),
    result("6", Decision.DUPLICATE, "duplicate-doi", "1"),
    result("7", Decision.INCLUDE, "meets-criteria"),
]


def test_prisma_json_follows_the_prisma_2020_template():
    got = prisma.prisma_json({"PubMed": 9}, RESULTS, pmid_repeats=1, unreadable=1, review="Ketamine")
    assert got == {
        "prisma_version": "PRISMA 2020",
        "template": prisma.TEMPLATE,
        "review": "Ketamine",
        "scope": prisma.SCOPE,
        "identification": {
            "records_identified": {"PubMed": 9},
            "records_identified_total": 9,
            "registers": {},
            "records_removed_before_screening": {
                "total": 6,
                "duplicates": {
                    "total": 2,
                    "by_reason": {"duplicate-pmid": 1, "duplicate-doi": 1, "duplicate-title-year": 0},
                },
                # The pipeline's rules are PRISMA's "automation tools": their exclusions come off
                # before screening, so nobody is said to have screened them.
                "marked_ineligible_by_automation": {
                    "total": 3,
                    "by_reason": {"language-not-included": 1, "published-before-range": 2},
                },
                "other_reasons": {"total": 1, "by_reason": {"unreadable-record": 1}},
            },
        },
        "screening": {
            "records_screened": 3,  # what reaches people: 2 meeting every criterion, 1 in doubt
            "records_excluded": 0,  # by people: no human stage has decided anything
            "records_excluded_by_reason": {},
            "records_awaiting_decision": 1,
            "awaiting_decision_by_reason": {"date-span-ambiguous": 1},
        },
        "included": {"records_included": 2},
        "balanced": True,
    }


def test_human_decisions_fill_records_excluded():
    human = [result("1", Decision.EXCLUDE, "wrong-population"), result("5", Decision.INCLUDE, "eligible")]
    got = prisma.prisma_json({"PubMed": 9}, RESULTS, pmid_repeats=1, unreadable=1, human=human)
    assert got["screening"] == {
        "records_screened": 3,
        "records_excluded": 1,
        "records_excluded_by_reason": {"wrong-population": 1},
        "records_awaiting_decision": 0,
        "awaiting_decision_by_reason": {},
    }
    assert got["included"] == {"records_included": 2}
    assert got["balanced"] is True


def test_more_databases_and_other_removal_reasons_add_up():
    got = prisma.prisma_json(
        {"PubMed": 6, "Europe PMC": 2}, RESULTS[:5] + RESULTS[6:], unreadable=1, removed_other={"import-unreadable": 1}
    )
    ident = got["identification"]
    assert ident["records_identified"] == {"PubMed": 6, "Europe PMC": 2}
    assert ident["records_identified_total"] == 8
    assert ident["records_removed_before_screening"]["other_reasons"] == {
        "total": 2,
        "by_reason": {"import-unreadable": 1, "unreadable-record": 1},
    }
    assert got["balanced"] is True


def test_unbalanced_counts_are_reported(caplog):
    got = prisma.prisma_json({"PubMed": 10}, RESULTS)
    assert got["balanced"] is False
    assert caplog.messages == ["PRISMA counts do not balance: 10 identified, 4 removed before screening, 3 screened"]


def test_summarise_counts_repeated_pmids_as_duplicates():
    records = [Record("1"), Record("1"), Record("2")]
    results = [result("1", Decision.INCLUDE, "meets-criteria"), result("2", Decision.EXCLUDE, "date-missing")]
    summary = prisma.summarise(2, records, results, mentions=5)
    assert (summary.identified, summary.retrieved, summary.duplicates, summary.screened) == (2, 3, 1, 2)
    assert (summary.included, summary.excluded, summary.needs_review, summary.mentions) == (1, 1, 0, 5)
    assert summary.excluded_by_reason == {"date-missing": 1}


# --- the diagram ---------------------------------------------------------------------------------


def texts(svg: str) -> list[str]:
    root = ET.fromstring(svg.encode())
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_svg_shows_every_count_from_the_json_in_the_template_boxes():
    flow = prisma.prisma_json({"PubMed": 9}, RESULTS, pmid_repeats=1, unreadable=1, review="Ketamine")
    lines = [t.strip() for t in texts(prisma.prisma_svg(flow))]
    expected = [
        "PRISMA 2020 flow diagram: Ketamine",
        "Records identified from:",
        "Databases (n = 9)",
        "PubMed (n = 9)",
        "Registers (n = 0)",
        "Records removed before screening:",
        "Duplicate records removed (n = 2)",
        "Same PMID returned again (n = 1)",
        "Same DOI (n = 1)",
        "Records marked as ineligible by automation tools (n = 3)",
        "Language not included (n = 1)",
        "Published before the date range (n = 2)",
        "Records removed for other reasons (n = 1)",
        "Unreadable record (quarantined) (n = 1)",
        "Records screened (n = 3)",
        "Records excluded (n = 0)",
        "Records awaiting a person's decision (n = 1)",
        "Date spans the range boundary (n = 1)",
        "Records included (n = 2)",
        "Identification",
        "Screening",
        "Included",
    ]
    flat = " ".join(lines)  # wrapped lines joined: each phrase, in the template's order
    at = 0
    for phrase in expected:
        assert phrase in flat[at:], phrase
        at = flat.index(phrase, at) + len(phrase)
    assert "Same title and year" not in flat
    assert "excluded by automation" not in flat


def test_svg_side_labels_fit_their_bars():
    """Each phase label (written sideways) is shorter than the bar it is written in."""
    flow = prisma.prisma_json({"PubMed": 1}, [result("1", Decision.INCLUDE, "meets-criteria")])
    root = ET.fromstring(prisma.prisma_svg(flow).encode())
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("fill") == "#cfe2f3"]
    labels = [t for t in root.iter(f"{SVG}text") if t.get("transform")]
    assert [t.text for t in labels] == ["Identification", "Screening", "Included"]
    for bar, label in zip(bars, labels):
        # bold 13 px Helvetica: at most ~8.5 px a character, plus a margin at each end
        assert 8.5 * len(label.text) + 8 <= float(bar.get("height")), label.text


def test_svg_escapes_text_and_is_standalone():
    flow = prisma.prisma_json(
        {"Pub<Med> & co": 3},
        [result("1", Decision.INCLUDE, "meets-criteria")] * 3,
        review='Ketamine <script>alert("x")</script> & "friends"',
    )
    svg = prisma.prisma_svg(flow)
    assert "<script>" not in svg
    assert "Pub&lt;Med&gt; &amp; co (n = 3)" in svg
    root = ET.fromstring(svg.encode())  # well-formed XML
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title").text.startswith("PRISMA 2020 flow diagram: Ketamine <script>")
    assert not re.search(r"(href|src)=|@import|url\((?!#arrow\))", svg)  # nothing external


def test_svg_reason_codes_without_a_label_are_shown_as_codes():
    flow = prisma.prisma_json({"PubMed": 1}, [result("1", Decision.EXCLUDE, "some-new-reason")])
    assert "some-new-reason (n = 1)" in [t.strip() for t in texts(prisma.prisma_svg(flow))]


def boxes(svg: str) -> list[tuple[float, float, float, float]]:
    root = ET.fromstring(svg.encode())
    return [
        tuple(float(r.get(k)) for k in ("x", "y", "width", "height"))
        for r in root.iter(f"{SVG}rect")
        if r.get("stroke") == "#333"
    ]


reasons = st.sampled_from(sorted(set(screen.REASONS) - {"meets-criteria"}))


@given(
    st.lists(st.tuples(st.sampled_from(list(Decision)), reasons), max_size=60), st.integers(0, 3), st.text(max_size=150)
)
def test_svg_boxes_never_overlap_and_hold_their_text(decisions, repeats, title):
    results = [
        result(str(i), d, "meets-criteria" if d == Decision.INCLUDE else r) for i, (d, r) in enumerate(decisions)
    ]
    flow = prisma.prisma_json({"PubMed": len(results) + repeats}, results, pmid_repeats=repeats, review=title)
    svg = prisma.prisma_svg(flow)
    root = ET.fromstring(svg.encode())
    width, height = float(root.get("width")), float(root.get("height"))
    rects = boxes(svg)
    assert len(rects) == 6
    for i, (x, y, w, h) in enumerate(rects):
        assert x + w <= width and y + h <= height
        for x2, y2, w2, h2 in rects[i + 1 :]:
            assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y
    for t in root.iter(f"{SVG}text"):
        if t.get("transform") or t.get("text-anchor") == "middle":
            continue
        x, y = float(t.get("x")), float(t.get("y"))
        inside = [r for r in rects if r[0] <= x <= r[0] + r[2] and r[1] <= y <= r[1] + r[3]]
        assert inside, t.text
        # ~7 px a character at 13 px: the text must fit the box it is in.
        assert x + 7 * len(t.text or "") <= inside[0][0] + inside[0][2] + 7


# --- agreement with records.csv after a run ------------------------------------------------------


@pytest.fixture
def run_outputs(server, review_config, invoke, tmp_path):
    out = tmp_path / "out"
    outcome = invoke("run", "--config", review_config, "--out", out)
    assert outcome.exit_code == 0, outcome.stderr
    return out


def test_prisma_json_and_svg_agree_with_records_csv(run_outputs):
    out = run_outputs
    records = pd.read_csv(out / "records.csv", dtype=str, keep_default_na=False)
    manifest = json.loads((out / "run.json").read_text())
    flow = json.loads((out / "prisma.json").read_text())
    decisions = records.groupby("decision").size().to_dict()
    by_reason = records.groupby(["decision", "reason"]).size().to_dict()
    ident, scr = flow["identification"], flow["screening"]
    removed = ident["records_removed_before_screening"]
    rows_duplicate = decisions.get("duplicate", 0)
    dup = removed["duplicates"]
    assert dup["total"] == rows_duplicate + dup["by_reason"]["duplicate-pmid"]
    for code in ("duplicate-doi", "duplicate-title-year"):
        assert dup["by_reason"][code] == by_reason.get(("duplicate", code), 0)
    auto = removed["marked_ineligible_by_automation"]
    assert auto["total"] == decisions.get("exclude", 0) == 3
    assert auto["by_reason"] == {r: n for (d, r), n in by_reason.items() if d == "exclude"}
    assert scr["records_screened"] == decisions.get("include", 0) + decisions.get("needs-review", 0) == 6
    assert scr["records_excluded"] == 0
    assert scr["records_awaiting_decision"] == decisions.get("needs-review", 0)
    assert scr["awaiting_decision_by_reason"] == {r: n for (d, r), n in by_reason.items() if d == "needs-review"}
    assert flow["included"]["records_included"] == decisions.get("include", 0)
    assert removed["other_reasons"]["total"] == len(manifest["quarantined"])
    assert ident["records_identified"] == {"PubMed": manifest["counts"]["identified"]}
    assert flow["balanced"] is True
    # The diagram is drawn from prisma.json: regenerating it gives the same bytes.
    assert (out / "prisma.svg").read_text(encoding="utf-8") == prisma.prisma_svg(flow)
    shown = [t.strip() for t in texts((out / "prisma.svg").read_text(encoding="utf-8"))]
    assert f"Records screened (n = {scr['records_screened']})" in shown
    assert f"Records included (n = {flow['included']['records_included']})" in shown


def test_run_json_cross_checks_pubmeds_own_filters(run_outputs):
    check = json.loads((run_outputs / "run.json").read_text())["pubmed_cross_check"]
    assert check == {
        "filtered_query": '(ketamine AND depression AND ("mechanism of action" OR "clinical applications" '
        "OR efficacy)) AND 2016:3000[dp] AND english[la]",
        "pubmed_count_unfiltered": 10,
        "pubmed_count_filtered": 7,
        "our_count_passing_date_and_language": 6,
        "agree": False,
        "disagreements": [
            {
                "pmid": "30000004",
                "pubmed": "in",
                "ours": "needs-review",
                "reason": "date-span-ambiguous",
                "field": "medline_date",
                "value": "2015 Dec-2016 Jan",
                "decision": "needs-review",
                "decision_reason": "date-span-ambiguous",
            },
            {
                "pmid": "30000008",
                "pubmed": "out",
                "ours": "needs-review",
                "reason": "language-undetermined",
                "field": "languages",
                "value": "und",
                "decision": "needs-review",
                "decision_reason": "language-undetermined",
            },
        ],
    }
