"""Pure parts of the refresh: what to update, what changed, the search window; config; CLI codes."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import load_config
from pipeline.models import Decision, Record, ScreeningResult, UpdatePlan
from pipeline.engine.crashpoints import CRASH_ENV
from pipeline.engine.publish import change_summary
from pipeline.engine.sync import _window, compute_changes, plan_update
from pipeline.store.state import content_hash, record_to_json
from tests.support.paths import REPO, subprocess_env


@pytest.fixture(autouse=True)
def _unpaced(monkeypatch):
    """Runs against the local server need no pacing."""
    from pipeline.sources.pubmed import eutils

    monkeypatch.setattr(eutils, "RATE_WITHOUT_KEY", 1000.0)


def digest(record: Record) -> str:
    return content_hash(record_to_json(record))


def result(pmid: str, decision: Decision, reason: str, duplicate_of: str = "", **kw) -> ScreeningResult:
    return ScreeningResult(f"pmid:{pmid}", decision, reason, duplicate_of=duplicate_of and f"pmid:{duplicate_of}", **kw)


def ids(*pmids: str) -> set[str]:
    return {f"pmid:{p}" for p in pmids}


def test_plan_update_keeps_only_new_and_changed_records():
    same, changed, new = Record(pmid="1", title="A"), Record(pmid="2", title="B2"), Record(pmid="3")
    stored = {"pmid:1": digest(same), "pmid:2": digest(Record(pmid="2", title="B")), "pmid:4": "h4", "pmid:5": "h5"}
    fetched = {r.record_id: r for r in (same, changed, new, Record(pmid="5"))}
    plan = plan_update(stored, ids("1", "2", "3", "5"), fetched, deleted=ids("5"))
    assert plan.upserts == {"pmid:2": changed, "pmid:3": new}
    assert plan.hashes == {"pmid:2": digest(changed), "pmid:3": digest(new)}
    assert plan.withdrawn == {"pmid:4": "no-longer-returned", "pmid:5": "deleted-citation"}


def test_plan_update_keys_records_without_a_pmid_on_their_record_id():
    preprint = Record(title="A preprint", ids={"europepmc": "PPR1"})
    book = Record(title="No identifier at all", pub_year=2020)
    stored = {"doi:10.1/gone": "h"}
    plan = plan_update(
        stored, {preprint.record_id, book.record_id}, {r.record_id: r for r in (preprint, book)}, deleted=set()
    )
    assert sorted(plan.upserts) == sorted(["europepmc:PPR1", book.record_id])
    assert book.record_id.startswith("import:") and len(book.record_id) == len("import:") + 12
    assert plan.withdrawn == {"doi:10.1/gone": "no-longer-returned"}


def test_a_deleted_citation_never_stored_is_not_reported():
    plan = plan_update({}, ids("9"), {}, deleted=ids("9"))
    assert plan == UpdatePlan(upserts={}, hashes={}, withdrawn={})


def test_compute_changes_names_each_kind_of_change():
    old_decisions = {
        r.record_id: r
        for r in [
            result("1", Decision.INCLUDE, "meets-criteria"),
            result("2", Decision.INCLUDE, "meets-criteria"),
            result("3", Decision.EXCLUDE, "language-not-included", field="languages", value="ger"),
            result("4", Decision.INCLUDE, "meets-criteria"),
            result("6", Decision.INCLUDE, "meets-criteria"),
        ]
    }
    new_decisions = {
        r.record_id: r
        for r in [
            result("1", Decision.INCLUDE, "meets-criteria"),
            result("2", Decision.DUPLICATE, "duplicate-doi", field="doi", value="10.1/x", duplicate_of="5"),
            result("3", Decision.INCLUDE, "meets-criteria"),
            result("5", Decision.INCLUDE, "meets-criteria"),
            result("6", Decision.INCLUDE, "meets-criteria"),
        ]
    }
    old = {p: "h" for p in ids("1", "2", "3", "4", "6")}
    new = {p: "h" for p in ids("1", "2", "3", "5", "6")}
    rows = compute_changes(
        "r",
        old,
        old_decisions,
        new,
        new_decisions,
        {"pmid:4": "deleted-citation"},
        updated=ids("3", "5", "6"),
        titles={"pmid:3": "T3"},
    )
    assert [r["record_id"] for r in rows] == ["pmid:2", "pmid:3", "pmid:4", "pmid:5", "pmid:6"]
    assert [(r["pmid"], r["change"], r["newly_included"], r["why"]) for r in rows] == [
        (
            "2",
            "decision-changed",
            False,
            "screening outcome changed (rules, config or other records); "
            "now duplicate (duplicate-doi: doi = '10.1/x', duplicate of 5)",
        ),
        ("3", "decision-changed", True, "record revised in PubMed; now include (meets-criteria)"),
        ("4", "withdrawn", False, "deleted from PubMed (DeleteCitation)"),
        ("5", "new", True, "first returned by the search; include (meets-criteria)"),
        ("6", "updated", False, "record revised in PubMed; decision unchanged"),
    ]
    assert rows[1]["title"] == "T3" and rows[0]["title"] == ""
    assert change_summary(rows, ["r"]) == {
        "runs": ["r"],
        "new": 1,
        "newly_included": 2,
        "decision_changed": 2,
        "updated": 1,
        "withdrawn": 1,
        "file": "changes.csv",
    }


pmids = st.sets(st.sampled_from([str(i) for i in range(1, 13)]))


@given(pmids, pmids)
@settings(deadline=None)
def test_compute_changes_reports_every_arrival_and_departure_once(before, after):
    include = lambda p: result(p, Decision.INCLUDE, "meets-criteria")  # noqa: E731
    rows = compute_changes(
        "r",
        {f"pmid:{p}": "h" for p in before},
        {f"pmid:{p}": include(p) for p in before},
        {f"pmid:{p}": "h" for p in after},
        {f"pmid:{p}": include(p) for p in after},
        {},
        set(),
        {},
    )
    assert {r["pmid"] for r in rows if r["change"] == "new"} == after - before
    assert {r["pmid"] for r in rows if r["change"] == "withdrawn"} == before - after
    assert len(rows) == len({r["pmid"] for r in rows}) == len(before ^ after)


def test_the_window_starts_overlap_days_before_the_watermark_and_ends_tomorrow():
    assert _window("2026-03-02", 7, date(2026, 3, 31)) == {
        "watermark": "2026-03-02",
        "overlap_days": 7,
        "mindate": "2026/02/23",
        "maxdate": "2026/04/01",
    }
    assert _window("2026-01-01", 0, date(2026, 1, 1))["mindate"] == "2026/01/01"


CRASH_SCRIPT = (
    "import sys; from pipeline.engine.crashpoints import checkpoint\n"
    "for point in sys.argv[1:]:\n    checkpoint(point)\n    print('passed', point, flush=True)\n"
)


@pytest.mark.parametrize(
    "named, points, passed, killed",
    [
        (None, ["after-search", "mid-fetch"], ["after-search", "mid-fetch"], False),
        ("mid-fetch", ["after-search", "mid-commit"], ["after-search", "mid-commit"], False),
        ("mid-fetch", ["after-search", "mid-fetch", "after-fetch"], ["after-search"], True),
    ],
)
def test_the_crash_hook_kills_only_at_the_point_named(named, points, passed, killed):
    """In a child process, since the hook kills the process it runs in."""
    env = subprocess_env()
    env.pop(CRASH_ENV, None)
    if named:
        env[CRASH_ENV] = named
    proc = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, *points], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert [line.split()[1] for line in proc.stdout.splitlines()] == passed
    assert proc.returncode == (-9 if killed else 0), proc.stderr


# --- config -------------------------------------------------------------------------------------


def test_refresh_config_defaults_and_values(review_config):
    assert load_config(review_config).refresh.overlap_days == 7
    assert load_config(review_config).refresh.lock_wait == 0.0
    review_config.write_text(review_config.read_text() + "\n[refresh]\noverlap_days = 0\nlock_wait = 600\n")
    cfg = load_config(review_config)
    assert (cfg.refresh.overlap_days, cfg.refresh.lock_wait) == (0, 600.0)


@pytest.mark.parametrize(
    "lines, message",
    [
        ("overlap_days = -1", "[refresh.overlap_days] is -1; use a value from 0 to 365."),
        ("overlap_days = 400", "[refresh.overlap_days] is 400; use a value from 0 to 365."),
        ('overlap_days = "7"', "[refresh.overlap_days] must be an integer, not a string ('7')."),
        ("overlap_days = 1.5", "[refresh.overlap_days] must be an integer, not a number (1.5)."),
        ("lock_wait = -5", "[refresh.lock_wait] is -5.0; use a value from 0 to 86400."),
        ("lock_wait = true", "[refresh.lock_wait] must be a number, not a boolean (True)."),
        ("overlap = 7", "[refresh.overlap] is not a known key. Did you mean 'overlap_days'?"),
    ],
)
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
        "0 withdrawn (see changes.csv)."
    )
    again = invoke("refresh", "--config", review_config)
    assert again.exit_code == 0, again.stderr
    assert again.stdout.splitlines()[0] == (
        "Incremental refresh: 0 records fetched; 0 new, 0 newly included, 0 decisions changed, 0 revised, "
        "0 withdrawn (see changes.csv)."
    )
    assert again.stdout.splitlines()[1].startswith("10 identified, 1 duplicates, 9 screened by the rules: 4 included")


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
