"""Pure parts of the refresh: what to update, what changed, the search window; config; CLI codes."""
from __future__ import annotations

import os
import signal
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import load_config
from pipeline.models import Decision, Record, ScreeningResult
from pipeline.engine import crashpoints
from pipeline.engine.crashpoints import CRASH_ENV, CRASH_POINTS, checkpoint
from pipeline.engine.publish import change_summary
from pipeline.engine.sync import _window, compute_changes, plan_update
from pipeline.store.state import content_hash, record_to_json



@pytest.fixture(autouse=True)
def _unpaced(monkeypatch):
    """Runs against the local server need no pacing."""
    from pipeline.sources.pubmed import eutils
    monkeypatch.setattr(eutils, "RATE_WITHOUT_KEY", 1000.0)

def digest(record: Record) -> str:
    return content_hash(record_to_json(record))


def result(pmid: str, decision: Decision, reason: str, **kw) -> ScreeningResult:
    return ScreeningResult(pmid, decision, reason, **kw)


def test_plan_update_keeps_only_new_and_changed_records():
    same, changed, new = Record(pmid="1", title="A"), Record(pmid="2", title="B2"), Record(pmid="3")
    stored = {"1": digest(same), "2": digest(Record(pmid="2", title="B")), "4": "h4", "5": "h5"}
    plan = plan_update(stored, {"1", "2", "3", "5"}, {"1": same, "2": changed, "3": new, "5": Record(pmid="5")},
                       deleted={"5"})
    assert plan["upserts"] == {"2": changed, "3": new}
    assert plan["hashes"] == {"2": digest(changed), "3": digest(new)}
    assert plan["withdrawn"] == {"4": "no-longer-returned", "5": "deleted-citation"}


def test_a_deleted_citation_never_stored_is_not_reported():
    plan = plan_update({}, {"9"}, {}, deleted={"9"})
    assert plan == {"upserts": {}, "hashes": {}, "withdrawn": {}}


def test_compute_changes_names_each_kind_of_change():
    old_decisions = {
        "1": result("1", Decision.INCLUDE, "meets-criteria"),
        "2": result("2", Decision.INCLUDE, "meets-criteria"),
        "3": result("3", Decision.EXCLUDE, "language-not-included", field="languages", value="ger"),
        "4": result("4", Decision.INCLUDE, "meets-criteria"),
        "6": result("6", Decision.INCLUDE, "meets-criteria"),
    }
    new_decisions = {
        "1": result("1", Decision.INCLUDE, "meets-criteria"),
        "2": result("2", Decision.DUPLICATE, "duplicate-doi", field="doi", value="10.1/x", duplicate_of="5"),
        "3": result("3", Decision.INCLUDE, "meets-criteria"),
        "5": result("5", Decision.INCLUDE, "meets-criteria"),
        "6": result("6", Decision.INCLUDE, "meets-criteria"),
    }
    old = {p: "h" for p in ("1", "2", "3", "4", "6")}
    new = {p: "h" for p in ("1", "2", "3", "5", "6")}
    rows = compute_changes("r", old, old_decisions, new, new_decisions, {"4": "deleted-citation"},
                           updated={"3", "5", "6"}, titles={"3": "T3"})
    assert [(r["pmid"], r["change"], r["newly_included"], r["why"]) for r in rows] == [
        ("2", "decision-changed", False, "screening outcome changed (rules, config or other records); "
                                         "now duplicate (duplicate-doi: doi = '10.1/x', duplicate of 5)"),
        ("3", "decision-changed", True, "record revised in PubMed; now include (meets-criteria)"),
        ("4", "withdrawn", False, "deleted from PubMed (DeleteCitation)"),
        ("5", "new", True, "first returned by the search; include (meets-criteria)"),
        ("6", "updated", False, "record revised in PubMed; decision unchanged"),
    ]
    assert rows[1]["title"] == "T3" and rows[0]["title"] == ""
    assert change_summary(rows, ["r"]) == {"runs": ["r"], "new": 1, "newly_included": 2, "decision_changed": 2,
                                           "updated": 1, "withdrawn": 1, "file": "changes.csv"}


pmids = st.sets(st.sampled_from([str(i) for i in range(1, 13)]))


@given(pmids, pmids)
@settings(deadline=None)
def test_compute_changes_reports_every_arrival_and_departure_once(before, after):
    include = lambda p: result(p, Decision.INCLUDE, "meets-criteria")  # noqa: E731
    rows = compute_changes("r", {p: "h" for p in before}, {p: include(p) for p in before},
                           {p: "h" for p in after}, {p: include(p) for p in after}, {}, set(), {})
    assert {r["pmid"] for r in rows if r["change"] == "new"} == after - before
    assert {r["pmid"] for r in rows if r["change"] == "withdrawn"} == before - after
    assert len(rows) == len({r["pmid"] for r in rows}) == len(before ^ after)


def test_the_window_starts_overlap_days_before_the_watermark_and_ends_tomorrow():
    assert _window("2026-03-02", 7, date(2026, 3, 31)) == {
        "watermark": "2026-03-02", "overlap_days": 7, "mindate": "2026/02/23", "maxdate": "2026/04/01"}
    assert _window("2026-01-01", 0, date(2026, 1, 1))["mindate"] == "2026/01/01"


def test_the_crash_hook_is_inert_unless_named(monkeypatch):
    kills: list[tuple[int, int]] = []
    monkeypatch.setattr(crashpoints.os, "kill", lambda pid, sig: kills.append((pid, sig)))
    monkeypatch.delenv(CRASH_ENV, raising=False)
    for point in CRASH_POINTS:
        checkpoint(point)
    monkeypatch.setenv(CRASH_ENV, "mid-fetch")
    checkpoint("after-search")  # another point: the process lives on
    assert kills == []
    checkpoint("mid-fetch")
    assert kills == [(os.getpid(), signal.SIGKILL)]


# --- config -------------------------------------------------------------------------------------

def test_refresh_config_defaults_and_values(review_config):
    assert load_config(review_config).refresh.overlap_days == 7
    assert load_config(review_config).refresh.lock_wait == 0.0
    review_config.write_text(review_config.read_text() + "\n[refresh]\noverlap_days = 0\nlock_wait = 600\n")
    cfg = load_config(review_config)
    assert (cfg.refresh.overlap_days, cfg.refresh.lock_wait) == (0, 600.0)


@pytest.mark.parametrize("lines, message", [
    ("overlap_days = -1", "[refresh.overlap_days] is -1; use a value from 0 to 365."),
    ("overlap_days = 400", "[refresh.overlap_days] is 400; use a value from 0 to 365."),
    ('overlap_days = "7"', "[refresh.overlap_days] must be an integer, not a string ('7')."),
    ("overlap_days = 1.5", "[refresh.overlap_days] must be an integer, not a number (1.5)."),
    ("lock_wait = -5", "[refresh.lock_wait] is -5.0; use a value from 0 to 86400."),
    ("lock_wait = true", "[refresh.lock_wait] must be a number, not a boolean (True)."),
    ("overlap = 7", "[refresh.overlap] is not a known key. Did you mean 'overlap_days'?"),
])
def test_refresh_config_errors_name_the_key_and_the_fix(review_config, invoke, lines, message):
    review_config.write_text(review_config.read_text() + f"\n[refresh]\n{lines}\n")
    result = invoke("refresh", "--config", review_config)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {review_config}: {message}\n"


# --- CLI ----------------------------------------------------------------------------------------

def test_refresh_prints_what_changed(server, review_config, invoke):
    first = invoke("refresh", "--config", review_config)
    assert first.exit_code == 0, first.stderr
    assert first.stdout.splitlines()[0] == (
        "Full refresh: 10 records fetched; 10 new, 4 newly included, 0 decisions changed, 0 revised, "
        "0 withdrawn (see changes.csv).")
    again = invoke("refresh", "--config", review_config)
    assert again.exit_code == 0, again.stderr
    assert again.stdout.splitlines()[0] == (
        "Incremental refresh: 0 records fetched; 0 new, 0 newly included, 0 decisions changed, 0 revised, "
        "0 withdrawn (see changes.csv).")
    assert again.stdout.splitlines()[1].startswith("10 identified, 1 duplicates, 9 screened: 4 included")


def test_refresh_with_pubmed_unreachable_exits_3_for_retry(review_config, invoke, monkeypatch, tmp_path):
    monkeypatch.setenv("EUTILS_BASE_URL", "http://127.0.0.1:9/entrez/eutils/")
    result = invoke("refresh", "--config", review_config, "--out", tmp_path / "o")
    assert result.exit_code == 3
    assert result.stderr.splitlines()[-1].endswith("Try again later; nothing was published.")


def test_refresh_help_documents_the_exit_codes(invoke):
    result = invoke("refresh", "--help")
    assert result.exit_code == 0
    assert "3 PubMed unavailable (retry later)" in " ".join(result.stdout.split())
    assert "5 another run in progress" in " ".join(result.stdout.split())
