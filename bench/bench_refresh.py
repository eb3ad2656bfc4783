"""Full run vs incremental refresh on a grown corpus, side by side (local E-utilities server).

A corpus of N matching records is run in full; then 1% new records are added (entered today) and
the review is refreshed, and, for comparison, run in full again into another folder. Reported: wall
time, E-utilities requests, PMIDs fetched, records extracted. Pacing is NCBI's with an API key
(10 requests/s), as a scheduled refresh would have.
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pipeline.config import load_config
from pipeline.sources.pubmed.eutils import Settings
from pipeline.engine.run import refresh, run_pipeline
from tests.support.eutils_server import EutilsServer, load_corpus
from tests.support.refresh_corpus import clone, read_tables

REPO = Path(__file__).resolve().parent.parent
SIZES = (1000, 3000)


def corpus(n: int, entered, first_pmid: int = 31000000) -> list:
    template = next(a for a in load_corpus(REPO / "tests/fixtures/ketamine_corpus.xml") if a.pmid == "30000001")
    return [
        clone(
            template,
            str(first_pmid + i),
            entered,
            f"Ketamine efficacy in depression: randomized trial number {first_pmid + i}.",
        )
        for i in range(n)
    ]


def fetched(server, since: int) -> int:
    return sum(len(r["params"]["id"].split(",")) for r in server.requests[since:] if r["utility"] == "efetch")


def measure(server, action) -> dict:
    before = len(server.requests)
    started = time.perf_counter()
    manifest = action()
    return {
        "seconds": time.perf_counter() - started,
        "requests": len(server.requests) - before,
        "fetched": fetched(server, before),
        "extracted": manifest["fetched"]["extracted"],
    }


def main() -> None:
    config = load_config(REPO / "config" / "ketamine-depression.toml")
    today = datetime.now(timezone.utc).date()
    print(
        f"{'records':>8} {'new':>5} | {'full run: s':>11} {'req':>4} {'fetched':>7} {'extracted':>9} | "
        f"{'refresh: s':>10} {'req':>4} {'fetched':>7} {'extracted':>9} | {'time ratio':>10} {'same tables':>11}"
    )
    for n in SIZES:
        with tempfile.TemporaryDirectory() as tmp, EutilsServer(corpus(n, today - timedelta(days=400))) as server:
            settings = Settings(base_url=server.base_url, api_key="bench-key", email="bench@example.org")
            out, full_out = Path(tmp) / "refreshed", Path(tmp) / "full"
            run_pipeline(config, out, settings=settings)
            added = max(1, n // 100)
            for article in corpus(added, today, first_pmid=32000000):
                server.articles[article.pmid] = article
            inc = measure(server, lambda: refresh(config, out, settings=settings))
            full = measure(server, lambda: run_pipeline(config, full_out, settings=settings))
            same = read_tables(out) == read_tables(full_out)
            print(
                f"{n + added:>8} {added:>5} | {full['seconds']:>11.2f} {full['requests']:>4} {full['fetched']:>7} "
                f"{full['extracted']:>9} | {inc['seconds']:>10.2f} {inc['requests']:>4} {inc['fetched']:>7} "
                f"{inc['extracted']:>9} | {full['seconds'] / inc['seconds']:>9.1f}x {str(same):>11}",
                flush=True,
            )


if __name__ == "__main__":
    main()
