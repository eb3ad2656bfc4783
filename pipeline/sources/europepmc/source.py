"""Europe PMC as a `Source`: the review's query translated, every record read, raw answers archived.

A refresh (a `Window`) asks only for what Europe PMC indexed for the first time or updated in the
window (query.date_window: FIRST_IDATE or UPDATE_DATE), and carries forward what it returned before
(sources/window.py); the engine's content hashes tell revised records from unchanged ones. Without
a record of what it returned before, a refresh searches in full.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.config import Config
from pipeline.sources import window as windows
from pipeline.sources.archive import replayed_date
from pipeline.sources.base import Harvest, SearchRequest
from pipeline.sources.europepmc import client as epmc
from pipeline.sources.europepmc.query import build_query, date_window
from pipeline.sources.recorded import open_calls


class EuropePmcSource:
    """Europe PMC's REST search (see the module docstring)."""

    name = epmc.DATABASE
    searches_windows = True  # a refresh carries forward what it returned (sources/window.py)

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
        before = windows.previous(request, self.name)
        sent = query
        if before is not None:
            sent = date_window(query, request.window.start.isoformat(), request.window.end.isoformat())
        request.progress("search", 0, 1)
        got = epmc.search(calls, sent, self.page_size)
        request.progress("search", 1, 1)
        current = [r.record_id for r in got.records]
        searched = {"europepmc": got.hit_count}
        extra: dict = {}
        if before is not None:
            current, n_carried = windows.carried(current, before, request.stored)
            searched = {"window": got.hit_count, "carried": n_carried}
            extra = {"date_window": {"query": sent, "hit_count": got.hit_count, "carried": n_carried}}
        elif request.window is not None:
            extra = {"full_search_because": "no record of what Europe PMC returned at the last run"}
        return Harvest(
            query=query,
            # PRISMA's identified: every record the database holds for the query as far as this run
            # knows (a window's hits plus the records carried), readable or not.
            count=got.hit_count if before is None else len(current) + len(got.quarantined),
            current=current,
            records=got.records,
            quarantined=got.quarantined,
            requested=got.retrieved,
            searched=searched,
            as_of=replayed_date(replay_from) if replay_from else None,
            manifest={
                "query": query,
                "hit_count": got.hit_count,
                "retrieved": got.retrieved,
                "pages": got.pages,
                "requests": {"made": calls.requests_made, "retried": calls.retries},
                **extra,
            },
        )
