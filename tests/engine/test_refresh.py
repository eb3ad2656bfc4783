"""Refreshes against a local E-utilities server whose corpus grows, changes and loses records.

The library's `refresh`/`run_pipeline` are called with an injected clock, so entry dates, watermarks
and windows are exact. D0 is the day of the first run.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest

from pipeline.config import load_config
from pipeline.errors import EutilsUnavailable
from pipeline.engine.run import refresh, run_pipeline
from pipeline.store.state import StateStore
from tests.support.eutils_server import EutilsServer, Fault
from tests.support.refresh_corpus import base_corpus, clone, read_changes, read_tables, with_publication_type

D0 = date(2026, 3, 2)
OLD = D0 - timedelta(days=400)


def at(day: date):
    """A clock stopped at noon UTC of `day`."""
    return lambda: datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _unpaced(monkeypatch):
    """The local server needs no pacing: these tests are about what is asked, not how fast."""
    from pipeline.sources.pubmed import eutils

    monkeypatch.setattr(eutils, "RATE_WITHOUT_KEY", 1000.0)


@pytest.fixture
def live(corpus, monkeypatch):
    """A server whose corpus the test edits between runs (server.articles)."""
    with EutilsServer(list(base_corpus(corpus, OLD).values())) as srv:
        monkeypatch.setenv("EUTILS_BASE_URL", srv.base_url)
        yield srv


@pytest.fixture
def config(review_config):
    with review_config.open("a") as handle:
        handle.write("\n[refresh]\noverlap_days = 2\n")
    return load_config(review_config)


def fetched_pmids(server, since: int) -> list[str]:
    """Every PMID efetch was asked for after request number `since`."""
    return sorted(p for r in server.requests[since:] if r["utility"] == "efetch" for p in r["params"]["id"].split(","))


def grow(server) -> None:
    """Between D0 and D0+7: two new papers, one revised paper, one withdrawn paper."""
    arts = server.articles
    arts["30000101"] = clone(
        arts["30000001"],
        "30000101",
        D0 + timedelta(days=3),
        "Ketamine efficacy in late-life depression: a randomized trial.",
    )
    arts["30000102"] = clone(
        arts["30000002"],
        "30000102",
        D0 + timedelta(days=3),
        "Ketamine efficacy for depression in 2014: a chart review.",
    )
    arts["30000005"] = with_publication_type(arts["30000005"], "Comment", revised=D0 + timedelta(days=3))
    del arts["30000010"]


def test_first_refresh_without_state_is_a_full_run(live, config, tmp_path):
    manifest = refresh(config, tmp_path / "out", now=at(D0))
    assert manifest["mode"] == "full"
    assert manifest["full_because"] == "the review has no completed run yet"
    assert fetched_pmids(live, 0) == sorted(p for p in live.articles if p != "30000011")
    assert manifest["changes"]["new"] == 10
    assert manifest["changes"]["newly_included"] == 4
    assert [c["change"] for c in read_changes(tmp_path / "out")] == ["new"] * 10


def test_refresh_fetches_only_new_and_revised_records_and_equals_a_full_run(live, config, tmp_path):
    out = tmp_path / "out"
    refresh(config, out, now=at(D0))
    grow(live)
    before = len(live.requests)
    manifest = refresh(config, out, now=at(D0 + timedelta(days=7)))

    assert manifest["mode"] == "incremental"
    assert manifest["window"] == {
        "watermark": "2026-03-02",
        "overlap_days": 2,
        "mindate": "2026/02/28",
        "maxdate": "2026/03/10",
        "since_run": "20260302T120000000000Z",
    }
    edat = [r["params"] for r in live.requests[before:] if r["params"].get("datetype") == "edat"]
    assert [(p["mindate"], p["maxdate"]) for p in edat] == [("2026/02/28", "2026/03/10")]
    assert fetched_pmids(live, before) == ["30000005", "30000101", "30000102"]
    assert manifest["fetched"] == {"requested": 3, "new": 2, "changed": 1, "unchanged": 0, "extracted": 1}

    full = run_pipeline(config, tmp_path / "full", now=at(D0 + timedelta(days=7)))
    assert read_tables(out) == read_tables(tmp_path / "full")
    for name in ("records", "evidence", "mentions"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(out / f"{name}.parquet"), pd.read_parquet(tmp_path / "full" / f"{name}.parquet")
        )
    assert manifest["counts"] == full["counts"]
    assert json.loads((out / "prisma.json").read_text()) == json.loads((tmp_path / "full" / "prisma.json").read_text())


def title_of(article) -> str:
    return article.xml.decode().split("<ArticleTitle>")[1].split("</ArticleTitle>")[0]


def test_changes_csv_lists_exactly_what_changed(live, config, tmp_path):
    out = tmp_path / "out"
    refresh(config, out, now=at(D0))
    withdrawn_title = title_of(live.articles["30000010"])
    grow(live)
    manifest = refresh(config, out, now=at(D0 + timedelta(days=7)))
    assert read_changes(out) == [
        {
            "pmid": "30000005",
            "record_id": "pmid:30000005",
            "change": "decision-changed",
            "newly_included": "False",
            "old_decision": "include",
            "new_decision": "exclude",
            "old_reason": "meets-criteria",
            "new_reason": "publication-type-excluded",
            "why": "record revised in PubMed; now exclude (publication-type-excluded: publication_types = 'Comment')",
            "title": title_of(live.articles["30000005"]),
        },
        {
            "pmid": "30000010",
            "record_id": "pmid:30000010",
            "change": "withdrawn",
            "newly_included": "False",
            "old_decision": "include",
            "new_decision": "",
            "old_reason": "meets-criteria",
            "new_reason": "",
            "why": "no longer returned by the PubMed search",
            "title": withdrawn_title,
        },
        {
            "pmid": "30000101",
            "record_id": "pmid:30000101",
            "change": "new",
            "newly_included": "True",
            "old_decision": "",
            "new_decision": "include",
            "old_reason": "",
            "new_reason": "meets-criteria",
            "why": "first returned by the search; include (meets-criteria)",
            "title": "Ketamine efficacy in late-life depression: a randomized trial.",
        },
        {
            "pmid": "30000102",
            "record_id": "pmid:30000102",
            "change": "new",
            "newly_included": "False",
            "old_decision": "",
            "new_decision": "exclude",
            "old_reason": "",
            "new_reason": "published-before-range",
            "why": "first returned by the search; exclude (published-before-range: pub_year = '2014')",
            "title": "Ketamine efficacy for depression in 2014: a chart review.",
        },
    ]
    assert manifest["changes"] == {
        "runs": [manifest["run_id"]],
        "new": 2,
        "newly_included": 1,
        "decision_changed": 1,
        "updated": 0,
        "withdrawn": 1,
        "file": "changes.csv",
    }
    assert json.loads((out / "run.json").read_text())["changes"] == manifest["changes"]


def test_a_refresh_with_nothing_new_fetches_nothing_and_reports_no_change(live, config, tmp_path):
    out = tmp_path / "out"
    refresh(config, out, now=at(D0))
    grow(live)
    refresh(config, out, now=at(D0 + timedelta(days=7)))
    tables = read_tables(out)
    before = len(live.requests)
    manifest = refresh(config, out, now=at(D0 + timedelta(days=14)))
    assert fetched_pmids(live, before) == []
    # Only searches: the full PMID list, the screening cross-check, the entry and modification windows.
    assert [(r["utility"], r["params"].get("datetype")) for r in live.requests[before:]] == [
        ("esearch", None),
        ("esearch", None),
        ("esearch", "edat"),
        ("esearch", "mdat"),
    ]
    assert read_changes(out) == []
    assert read_tables(out) == tables
    assert manifest["fetched"]["extracted"] == 0


def test_a_record_revised_within_the_overlap_is_fetched_again_but_not_counted_as_changed(live, config, tmp_path):
    out = tmp_path / "out"
    refresh(config, out, now=at(D0))
    grow(live)
    refresh(config, out, now=at(D0 + timedelta(days=4)))
    before = len(live.requests)
    # The next refresh's window (watermark D0+4 minus 2 days) still holds what changed on D0+3: the
    # revision and the two new records (a new record's modification date is its creation date).
    manifest = refresh(config, out, now=at(D0 + timedelta(days=5)))
    assert fetched_pmids(live, before) == ["30000005", "30000101", "30000102"]
    assert manifest["fetched"] == {"requested": 3, "new": 0, "changed": 0, "unchanged": 3, "extracted": 0}
    assert read_changes(out) == []


def test_an_old_record_that_newly_matches_the_query_is_caught_outside_the_window(live, config, tmp_path, corpus):
    """Gap-free whatever the dates: the full PMID list shows every record not yet stored."""
    out = tmp_path / "out"
    refresh(config, out, now=at(D0))
    live.articles["30000201"] = clone(
        live.articles["30000009"], "30000201", OLD, "Ketamine efficacy and depression: an old record, newly matching."
    )
    before = len(live.requests)
    refresh(config, out, now=at(D0 + timedelta(days=30)))
    assert fetched_pmids(live, before) == ["30000201"]
    assert [c["pmid"] for c in read_changes(out)] == ["30000201"]


def test_a_failed_refresh_leaves_state_and_tables_and_the_next_one_fills_the_gap(live, config, tmp_path):
    out = tmp_path / "out"
    refresh(config, out, now=at(D0))
    tables = read_tables(out)
    grow(live)
    live.inject("efetch", Fault(status=503), times=5)
    with pytest.raises(EutilsUnavailable):
        refresh(config, out, now=at(D0 + timedelta(days=7)))
    assert read_tables(out) == tables
    failed = json.loads((out / "run.json").read_text())
    assert failed["status"] == "failed"
    with StateStore.open(out) as state:
        assert [r["status"] for r in state.runs()] == ["completed", "failed"]
        assert state.last_good_run()["watermark"] == "2026-03-02"

    # A month later: the window still starts at the last good run's watermark, so nothing is missed.
    before = len(live.requests)
    manifest = refresh(config, out, now=at(D0 + timedelta(days=30)))
    assert manifest["window"]["mindate"] == "2026/02/28"
    assert fetched_pmids(live, before) == ["30000005", "30000101", "30000102"]
    assert [(c["pmid"], c["change"]) for c in read_changes(out)] == [
        ("30000005", "decision-changed"),
        ("30000010", "withdrawn"),
        ("30000101", "new"),
        ("30000102", "new"),
    ]
    run_pipeline(config, tmp_path / "full", now=at(D0 + timedelta(days=30)))
    assert read_tables(out) == read_tables(tmp_path / "full")


def test_a_changed_query_makes_the_refresh_a_full_run(live, config, tmp_path, review_config):
    out = tmp_path / "out"
    refresh(config, out, now=at(D0))
    text = review_config.read_text().replace('["ketamine"],', '["ketamine", "esketamine"],')
    review_config.write_text(text)
    manifest = refresh(load_config(review_config), out, now=at(D0 + timedelta(days=1)))
    assert manifest["mode"] == "full"
    assert manifest["full_because"] == "the search query changed since the last completed run"


def test_a_changed_screening_rule_is_reported_as_a_decision_change(live, config, tmp_path, review_config):
    out = tmp_path / "out"
    refresh(config, out, now=at(D0))
    review_config.write_text(review_config.read_text().replace("min_year = 2016", "min_year = 2019"))
    before = len(live.requests)
    refresh(load_config(review_config), out, now=at(D0 + timedelta(days=1)))
    assert fetched_pmids(live, before) == []
    changed = read_changes(out)
    assert {c["change"] for c in changed} == {"decision-changed"}
    assert all(
        c["why"].startswith("screening outcome changed (rules, config or other records); now exclude") for c in changed
    )
    assert all(c["old_decision"] != c["new_decision"] or c["old_reason"] != c["new_reason"] for c in changed)


def test_first_and_last_seen_are_kept_per_record(live, config, tmp_path):
    out = tmp_path / "out"
    first = refresh(config, out, now=at(D0))
    grow(live)
    second = refresh(config, out, now=at(D0 + timedelta(days=7)))
    with StateStore.open(out) as state:
        rows = {
            p: (f, last, w)
            for p, f, last, w in state.db.execute("SELECT pmid, first_seen, last_seen, withdrawn_reason FROM records")
        }
    assert rows["30000001"] == (first["run_id"], second["run_id"], None)
    assert rows["30000101"] == (second["run_id"], second["run_id"], None)
    assert rows["30000010"] == (first["run_id"], first["run_id"], "no-longer-returned")


def test_run_writes_through_the_state_store_and_reports_changes_too(live, config, tmp_path):
    out = tmp_path / "out"
    first = run_pipeline(config, out, now=at(D0))
    assert (first["command"], first["mode"]) == ("run", "full")
    grow(live)
    before = len(live.requests)
    second = run_pipeline(config, out, now=at(D0 + timedelta(days=7)))
    # A full run fetches everything again, but only what differs is stored, screened anew and extracted.
    assert len(fetched_pmids(live, before)) == 11
    assert second["fetched"] == {"requested": 11, "new": 2, "changed": 1, "unchanged": 8, "extracted": 1}
    assert [(c["pmid"], c["change"]) for c in read_changes(out)] == [
        ("30000005", "decision-changed"),
        ("30000010", "withdrawn"),
        ("30000101", "new"),
        ("30000102", "new"),
    ]
    with StateStore.open(out) as state:
        assert [(r["kind"], r["status"]) for r in state.runs()] == [("run", "completed"), ("run", "completed")]
