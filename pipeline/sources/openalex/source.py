"""OpenAlex as a `Source`: the review's query translated, every work read, raw answers archived."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import Config
from pipeline.sources.archive import replayed_date
from pipeline.sources.base import Harvest, SearchRequest
from pipeline.sources.openalex import client as oa
from pipeline.sources.openalex.query import translate
from pipeline.sources.recorded import open_calls


class OpenAlexSource:
    """Every run reads every work the query returns (see the README for OpenAlex's date filters)."""

    name = oa.DATABASE

    def __init__(self, config: Config, out: Path, run_id: str, replay: bool = False, from_run: str | None = None):
        self.config, self.out, self.run_id, self.replay, self.from_run = config, out, run_id, replay, from_run
        self.page_size = config.sources["openalex"].page_size if "openalex" in config.sources else oa.PER_PAGE
        self.run_info = {"openalex_base_url": oa.base_url()}

    def search(self, request: SearchRequest) -> Harvest:
        t = translate(self.config.search.all_of, self.config.search.field)
        calls, replay_from = open_calls(
            self.out,
            self.run_id,
            self.replay,
            self.from_run,
            lambda: oa.http_client(self.config.retrieval.timeout, self.config.retrieval.max_attempts),
        )
        request.progress("search", 0, 1)
        got = oa.search(calls, t.params, t.shown, self.page_size, t.notes)
        request.progress("search", 1, 1)
        return Harvest(
            query=t.shown,
            count=got.hit_count,
            current=[r.record_id for r in got.records],
            records=got.records,
            quarantined=got.quarantined,
            requested=got.retrieved,
            searched={"openalex": got.hit_count},
            as_of=replayed_date(replay_from) if replay_from else None,
            manifest={
                "query": t.shown,
                "notes": list(t.notes),
                "hit_count": got.hit_count,
                "retrieved": got.retrieved,
                "pages": got.pages,
                "requests": {"made": calls.requests_made, "retried": calls.retries},
            },
        )
