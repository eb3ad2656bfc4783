"""Fetch: batches in order, parallel but paced, and a failure that stops the run instead of a smaller table."""

from __future__ import annotations

import json
import threading

import pytest

from pipeline.errors import EutilsUnavailable, IncompleteRetrieval
from pipeline.sources.pubmed.fetch import fetch_records
from pipeline.models import Record
from tests.support.eutils_server import FAULTS, EutilsServer, Fault
from tests.support.synthetic import synthetic_articles

ARTICLES = synthetic_articles(50, seed=5)
BY_PMID = {a.pmid: a for a in ARTICLES}


class MemorySource:
    """efetch answers from memory; `fail_on` makes one batch (by first PMID) fail like a dead server."""

    def __init__(self, fail_on: str = "", drop: frozenset[str] = frozenset()):
        self.calls: list[list[str]] = []
        self.fail_on, self.drop = fail_on, drop
        self.lock = threading.Lock()

    def efetch(self, pmids: list[str]) -> bytes:
        with self.lock:
            self.calls.append(list(pmids))
        if pmids[0] == self.fail_on:
            raise EutilsUnavailable(
                "E-utilities did not answer efetch.fcgi (10 ids): HTTP 503 (gave up after 5 attempts)."
            )
        body = b"".join(BY_PMID[p].xml for p in pmids if p not in self.drop)
        return b"<PubmedArticleSet>" + body + b"</PubmedArticleSet>"


@pytest.mark.parametrize("workers", [1, 3, 8])
def test_records_come_back_in_search_order_whatever_the_parallelism(workers):
    pmids = [a.pmid for a in ARTICLES]
    progress: list[int] = []
    items = list(fetch_records(MemorySource(), pmids, 7, progress.append, workers=workers))
    assert [i.pmid for i in items] == pmids
    assert all(isinstance(i, Record) for i in items)
    assert progress == [7] * 7 + [1]


def test_a_batch_that_fails_after_its_retries_names_what_is_missing():
    pmids = [a.pmid for a in ARTICLES]
    source = MemorySource(fail_on=pmids[20])
    got = []
    with pytest.raises(EutilsUnavailable) as info:
        for item in fetch_records(source, pmids, 10, workers=2):
            got.append(item.pmid)
    assert got == pmids[:20]
    assert str(info.value) == (
        f"30 of the 50 records found by the search were not retrieved: efetch batch 3 of 5 (PMIDs "
        f"{', '.join(pmids[20:30])}) failed. E-utilities did not answer efetch.fcgi (10 ids): HTTP 503 "
        "(gave up after 5 attempts)."
    )


def test_a_pmid_left_out_is_asked_for_again_then_reported():
    pmids = [a.pmid for a in ARTICLES[:10]]
    source = MemorySource(drop=frozenset({pmids[3]}))
    with pytest.raises(IncompleteRetrieval) as info:
        list(fetch_records(source, pmids, 5, workers=1))
    assert source.calls[:2] == [pmids[:5], [pmids[3]]]
    assert str(info.value) == (
        f"PubMed did not return 1 of the 10 records found by the search (PMIDs {pmids[3]}). "
        "No table was published; run again later."
    )


def test_a_pmid_left_out_once_is_recovered():
    pmids = [a.pmid for a in ARTICLES[:10]]
    with EutilsServer(ARTICLES) as srv:
        partial = b"<PubmedArticleSet>" + b"".join(BY_PMID[p].xml for p in pmids[1:5]) + b"</PubmedArticleSet>"
        srv.inject("efetch", Fault(body=partial))
        from pipeline.sources.pubmed.eutils import Client, Settings

        client = Client(Settings(base_url=srv.base_url, email="t@example.org", max_rate=500.0))
        items = list(fetch_records(client, pmids, 5, workers=1))
    assert sorted(i.pmid for i in items) == sorted(pmids)
    assert [r["params"]["id"] for r in srv.calls("efetch")][:2] == [",".join(pmids[:5]), pmids[0]]


def test_a_server_that_stays_down_fails_the_run_loudly_and_writes_no_table(server, review_config, invoke, tmp_path):
    out = tmp_path / "down"
    out.mkdir()
    (out / "records.csv").write_text("pmid,decision\nprevious,run\n")  # the last good tables stay as they were
    server.inject("efetch", FAULTS["502"], times=100)
    result = invoke("run", "--config", review_config, "--out", out)
    assert result.exit_code == 3
    pmids = ", ".join(str(p) for p in range(30000010, 30000000, -1))
    expected = (
        f"Error: 10 of the 10 records found by the search were not retrieved: efetch batch 1 of 1 (PMIDs {pmids}) "
        f"failed. E-utilities at {server.base_url} did not answer efetch.fcgi (10 ids): HTTP 502 (gave up after 5 "
        "attempts). With an NCBI API key (export NCBI_API_KEY=...) NCBI allows 10 requests/s instead of 3. Try "
        "again later; nothing was published."
    )
    assert result.stderr.splitlines()[-1] == expected
    written = {p.name for p in out.iterdir()}
    assert "run.json" in written and "raw" in written
    assert not written & {
        "evidence.csv",
        "mentions.csv",
        "records.parquet",
        "evidence.parquet",
        "mentions.parquet",
        "prisma.json",
        "records.ris",
        "report.html",
    }
    assert (out / "records.csv").read_text() == "pmid,decision\nprevious,run\n"
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["error"] == expected[len("Error: ") :]
    assert len(server.calls("efetch")) == 5


def test_random_faults_of_every_kind_lose_no_record():
    articles = synthetic_articles(1500, seed=9)
    from pipeline.sources.pubmed.eutils import Client, Settings
    from pipeline.sources.pubmed.search import run_search

    with EutilsServer(articles, cap=400, rate_limit=400) as srv:
        srv.chaos(0.3, seed=4, stall_seconds=1.5)
        client = Client(
            Settings(base_url=srv.base_url, email="t@example.org", max_rate=300.0, timeout=1.0, max_attempts=8)
        )
        found = run_search(client, "ketamine AND depression", cap=400)
        items = list(fetch_records(client, found.pmids, 25, workers=3))
    assert sorted(i.pmid for i in items) == sorted(a.pmid for a in articles)
    kinds = {r["fault"] for r in srv.requests if r["fault"]}
    assert len(srv.requests) > 70
    assert {"500", "502", "503", "maintenance", "reset", "truncated", "in-band-error", "stall", "429"} <= kinds
    # Every fault cost a retry (a busy machine may add a timeout of its own, never fewer).
    assert client.retries >= sum(1 for r in srv.requests if r["fault"])
