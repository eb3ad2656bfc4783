"""Europe PMC as a `Source`: the review's query translated, every record read, raw answers archived."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import Config
from pipeline.sources.archive import replayed_date
from pipeline.sources.base import Harvest, SearchRequest
from pipeline.sources.europepmc import client as epmc
from pipeline.sources.europepmc.query import build_query
from pipeline.sources.recorded import open_calls


class EuropePmcSource:
    """Every run reads every record the query returns (Europe PMC's date fields are documented in
    the README; the engine's content hashes tell new and revised records from unchanged ones)."""

    name = epmc.DATABASE

    def __init__(self, config: Config, out: Path, run_id: str, replay: bool = False, from_run: str | None = None):
        self.config, self.out, self.run_id, self.replay, self.from_run = config, out, run_id, replay, from_run
        self.page_size = config.sources["europepmc"].page_size if "europepmc" in config.sources else epmc.PAGE_SIZE
        self.run_info = {"europepmc_base_url": epmc.base_url()}

    def search(self, request: SearchRequest) -> Harvest:
        query = build_query(self.config.search.all_of, self.config.search.field)
        calls, replay_from = open_calls(
            self.out,
            self.run_id,
            self.replay,
            self.from_run,
            lambda: epmc.http_client(self.config.retrieval.timeout, self.config.retrieval.max_attempts),
        )
        request.progress("search", 0, 1)
        got = epmc.search(calls, query, self.page_size)
        request.progress("search", 1, 1)
        return Harvest(
            query=query,
            count=got.hit_count,
            current=[r.record_id for r in got.records],
            records=got.records,
            quarantined=got.quarantined,
            requested=got.retrieved,
            searched={"europepmc": got.hit_count},
            as_of=replayed_date(replay_from) if replay_from else None,
            manifest={
                "query": query,
                "hit_count": got.hit_count,
                "retrieved": got.retrieved,
                "pages": got.pages,
                "requests": {"made": calls.requests_made, "retried": calls.retries},
            },
        )
