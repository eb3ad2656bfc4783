"""Retrieval pace: 25,000 records from a local E-utilities server that enforces NCBI's 3 requests/s.

Measures what NCBI would see (requests/s between the first and the last request the server logged,
against the 3/s ceiling), records/s end to end (search with date slicing + efetch + parse + archive),
how many 429s the pace provoked (goal: none), and that the PMID set equals the server's. Scenarios:
the default batch size (200), NCBI's example batch size (500), and the default with faults of every
kind injected at random (real backoff, so the pace drops by the time spent waiting). The server runs
in its own process, as NCBI would: its clock never waits for the client's parsing.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

from pipeline.sources.pubmed.eutils import RATE_WITHOUT_KEY, Client, Settings
from pipeline.sources.pubmed.fetch import fetch_records
from pipeline.sources.archive import RecordingSource
from pipeline.sources.pubmed.search import run_search
from pipeline.sources.archive import RawArchive
from tests.support.eutils_server import ServerProcess
from tests.support.synthetic import synthetic_articles

RECORDS = 25_000
QUERY = 'ketamine AND depression AND ("mechanism of action" OR "clinical applications" OR efficacy)'


def measure(articles, batch_size: int, chaos: float = 0.0) -> dict:
    faults = {"probability": chaos, "seed": 1, "stall_seconds": 6.0} if chaos else None
    server = ServerProcess(articles, chaos=faults, rate_limit=RATE_WITHOUT_KEY)
    with server, tempfile.TemporaryDirectory() as tmp:
        # No API key: 3 requests/s. A short timeout so injected stalls cost seconds, not minutes.
        client = Client(Settings(base_url=server.base_url, email="bench@example.org", timeout=5.0, max_attempts=6))
        source = RecordingSource(client, RawArchive(Path(tmp) / "raw"))
        started = time.perf_counter()
        found = run_search(source, QUERY)
        pmids = {item.pmid for item in fetch_records(source, found.pmids, batch_size)}
        elapsed = time.perf_counter() - started
    log = server.requests
    span = log[-1]["time"] - log[0]["time"]
    return {
        "requests": len(log),
        "esearch": sum(1 for r in log if r["utility"] == "esearch"),
        "rate": (len(log) - 1) / span,
        "elapsed": elapsed,
        "records_per_s": len(pmids) / elapsed,
        "provoked_429": sum(1 for r in log if r["status"] == 429),
        "faults": sum(1 for r in log if r["fault"] and r["status"] != 429),
        "retries": client.retries,
        "complete": pmids == {a.pmid for a in articles} and len(pmids) == RECORDS,
    }


def main() -> None:
    logging.getLogger("pipeline").setLevel(logging.ERROR)  # retries are counted below, not logged
    started = time.perf_counter()
    articles = synthetic_articles(RECORDS)
    print(
        f"synthetic corpus: {RECORDS} records in {time.perf_counter() - started:.1f} s; "
        f"limit {RATE_WITHOUT_KEY:g} requests/s (no API key); load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores"
    )
    header = (
        f"{'scenario':<28} {'requests':>8} {'esearch':>7} {'req/s':>6} {'of limit':>8} {'seconds':>7} "
        f"{'records/s':>9} {'429s':>4} {'faults':>6} {'retries':>7} {'complete':>8}"
    )
    print(header)
    for name, batch, chaos in (
        ("batch 200 (default)", 200, 0.0),
        ("batch 500 (NCBI example)", 500, 0.0),
        ("batch 200, 5% random faults", 200, 0.05),
    ):
        m = measure(articles, batch, chaos)
        print(
            f"{name:<28} {m['requests']:>8} {m['esearch']:>7} {m['rate']:>6.2f} "
            f"{m['rate'] / RATE_WITHOUT_KEY:>8.0%} {m['elapsed']:>7.1f} {m['records_per_s']:>9.0f} "
            f"{m['provoked_429']:>4} {m['faults']:>6} {m['retries']:>7} {str(m['complete']):>8}",
            flush=True,
        )
    print(
        "req/s: what the server saw between its first and last request; 429s: provoked by the pace "
        "(injected ones are counted as faults); complete: the PMID set equals the server's."
    )


if __name__ == "__main__":
    main()
