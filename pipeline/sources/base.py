"""The `Source` protocol: what the engine asks of every database a review searches.

A source is built for one run (its settings, raw archive and replay folder are given when it is
built) and searched once. `search` runs the review's query against the database and returns a
`Harvest`: the query as sent, the hit count PRISMA reports as identified, the record ids that
answer the query now, the records it fetched or read, what it withdrew or set aside, and its part
of run.json. The engine never asks which database it talks to; everything it does next (dedup,
screening, the store, the tables) keys on `Record.record_id`.

Incremental runs: the engine passes the records the review already holds (`SearchRequest.stored`,
record_id -> content hash) and, for a refresh, the date window since the last good run. A source
that can search by date fetches only what is new or revised (PubMed); one that cannot returns
everything (local files), and the engine's content hashes tell changed records from unchanged.

Records the engine has stored but that are absent from `Harvest.current` are withdrawn as "no
longer returned"; `Harvest.deleted` lists those the database itself withdrew. A source that searches
only a date window (Europe PMC, OpenAlex) cannot tell that a record is gone: its `current` is what
the window returned plus what it returned before (`SearchRequest.returned_by`, kept in the store by
the engine for the sources whose `searches_windows` is true), so only a full search (`run`)
withdraws its records.

Progress: a source reports ("search", done, total) and, while fetching, ("fetch", done, total) or
("read", files done, files); the engine's crash-test checkpoints hang on these.

Optional capability: `CrossCheckable`, a source that can also apply the screening's date and
language criteria itself (PubMed's [dp] and [la] filters), so the run compares its rules with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Mapping, Protocol, Sequence, runtime_checkable

from pipeline.models import Quarantined, Record, SearchResult

# progress(stage, done, total): called as work advances; the CLI decides how to show it.
Progress = Callable[[str, int, int], None]


def no_progress(stage: str, done: int, total: int) -> None:
    pass


@dataclass(frozen=True)
class Window:
    """An incremental run's date window: records entered or revised from `start` to `end` (both
    inclusive, UTC dates; `end` is tomorrow since databases date records in their own time zone)."""

    start: date
    end: date


@dataclass(frozen=True)
class SearchRequest:
    """What the engine asks a source for in one run."""

    query: str  # the review's query (search.build_query of the config)
    stored: Mapping[str, str] = field(default_factory=dict)  # record_id -> content hash held now
    window: Window | None = None  # None: a full run, fetch everything the query returns
    progress: Progress = no_progress
    # database name -> the record ids it returned at the last committed run (None: not known, e.g.
    # a store of an older release): what a windowed source carries into `current`.
    returned_by: Mapping[str, Sequence[str]] | None = None
    # record_id -> the stored record (None: not given): MultiSource pools it with the other databases'
    # fresh copies of a record that a refresh did not fetch again, as a full run would pool them.
    stored_records: Mapping[str, Record] | None = None


@dataclass
class Harvest:
    """What one source yields for one run."""

    query: str  # the query as sent to the database (its translation)
    count: int  # hits the database reports: PRISMA's "identified"
    current: list[str]  # record ids that answer the query now, in the source's order
    records: list[Record]  # records fetched or read this run (an id may repeat)
    deleted: set[str] = field(default_factory=set)  # record ids the database withdrew
    quarantined: list[Quarantined] = field(default_factory=list)  # unreadable records, with reasons
    requested: int = 0  # records asked for (run.json fetched.requested)
    searched: dict[str, int] = field(default_factory=dict)  # run.json "searched": counts per search
    manifest: dict[str, Any] = field(default_factory=dict)  # the source's own run.json keys
    as_of: date | None = None  # the day the answers are from, when not today (a replay)
    files: list[str] = field(default_factory=list)  # the input files read (local sources), in their order
    file_of: dict[str, str] = field(default_factory=dict)  # record_id -> the file that gave its kept version


@runtime_checkable
class Source(Protocol):
    """A database the review searches. `name` labels it in PRISMA ("PubMed"); `run_info` holds
    the run.json keys known before searching (e.g. PubMed's eutils_base_url), written even when the
    search fails."""

    name: str
    run_info: dict[str, Any]

    def search(self, request: SearchRequest) -> Harvest:
        """Run the query, fetch what the run needs; raise a PipelineError when the database cannot
        answer completely (never return a silently smaller harvest)."""
        ...


@runtime_checkable
class CrossCheckable(Protocol):
    """A source that can filter by the screening's date and language criteria itself."""

    def filtered_search(self) -> SearchResult | None:
        """The search made with the database's own filters during `search`, or None when the
        config has no date or language criteria."""
        ...
