"""OpenAlex as a `Source`: the review's query translated, every work read, raw answers archived.

A refresh (a `Window`) asks only for works OpenAlex created (`from_created_date`) or updated
(`from_updated_date`) since the window's start, two searches whose works are pooled, and carries
forward what it returned before (sources/window.py). OpenAlex has documented both filters as
Premium-only; when it refuses them (HTTP 401/403, or 400) the refresh asks for works published
since the window's start instead (`from_publication_date`: new papers only, no revisions, no old
paper newly added) and says so in run.json. Without a record of what it returned before, a refresh
searches in full.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pipeline.config import Config
from pipeline.errors import RequestRejected
from pipeline.sources import window as windows
from pipeline.sources.archive import replayed_date
from pipeline.sources.base import Harvest, SearchRequest
from pipeline.sources.openalex import client as oa
from pipeline.sources.openalex.query import translate, with_filter
from pipeline.sources.recorded import Retrieved, open_calls

log = logging.getLogger(__name__)
WINDOW_FILTERS = ("from_created_date", "from_updated_date")
FALLBACK_FILTER = "from_publication_date"


class OpenAlexSource:
    """OpenAlex's /works (see the module docstring)."""

    name = oa.DATABASE
    searches_windows = True  # a refresh carries forward what it returned (sources/window.py)

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
        before = windows.previous(request, self.name)
        request.progress("search", 0, 1)
        extra: dict = {}
        if before is None:
            got = oa.search(calls, t.params, t.shown, self.page_size, t.notes)
            searches = [got]
            if request.window is not None:
                extra = {"full_search_because": "no record of what OpenAlex returned at the last run"}
        else:
            searches, filters = self._window(calls, t, request.window.start.isoformat())
            got = _pooled(searches, t.shown)
        request.progress("search", 1, 1)
        current = [r.record_id for r in got.records]
        searched = {"openalex": got.hit_count}
        if before is not None:
            current, n_carried = windows.carried(current, before, request.stored)
            searched = {f: s.hit_count for f, s in zip(filters, searches)} | {"carried": n_carried}
            extra = {
                "date_window": {
                    "filters": [f"{f}:{request.window.start.isoformat()}" for f in filters],
                    "hit_count": {f: s.hit_count for f, s in zip(filters, searches)},
                    "carried": n_carried,
                }
            }
            if filters == [FALLBACK_FILTER]:
                extra["date_window"]["note"] = (
                    "OpenAlex refused from_created_date/from_updated_date for this key: works published "
                    "since the window's start were asked for instead (no revisions, no older works newly added)"
                )
        return Harvest(
            query=t.shown,
            count=got.hit_count if before is None else len(current) + len(got.quarantined),
            current=current,
            records=got.records,
            quarantined=got.quarantined,
            requested=got.retrieved,
            searched=searched,
            as_of=replayed_date(replay_from) if replay_from else None,
            manifest={
                "query": t.shown,
                "notes": list(t.notes),
                "hit_count": got.hit_count,
                "retrieved": got.retrieved,
                "pages": sum(s.pages for s in searches),
                "requests": {"made": calls.requests_made, "retried": calls.retries},
                **extra,
            },
        )

    def _window(self, calls, t, start: str) -> tuple[list[Retrieved], list[str]]:
        """The window's searches: created and updated since `start`, or published since it when
        OpenAlex refuses those filters."""
        try:
            return [
                oa.search(calls, with_filter(t.params, f"{f}:{start}"), t.shown, self.page_size, t.notes)
                for f in WINDOW_FILTERS
            ], list(WINDOW_FILTERS)
        except RequestRejected as exc:
            log.warning(
                "OpenAlex refused the refresh's date filters (%s); asking for works published since %s", exc, start
            )
            params = with_filter(t.params, f"{FALLBACK_FILTER}:{start}")
            return [oa.search(calls, params, t.shown, self.page_size, t.notes)], [FALLBACK_FILTER]


def _pooled(searches: list[Retrieved], shown: str) -> Retrieved:
    """One Retrieved of several searches' works, each work once (first copy kept)."""
    pooled = Retrieved(oa.DATABASE, shown, 0)
    seen: set[str] = set()
    for s in searches:
        for record in s.records:
            if record.record_id not in seen:
                seen.add(record.record_id)
                pooled.records.append(record)
        pooled.quarantined.extend(s.quarantined)
        pooled.pages += s.pages
    pooled.hit_count = len(pooled.records) + len(pooled.quarantined)
    return pooled
