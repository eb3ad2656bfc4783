"""PubMed through the E-utilities as a `Source`: search, date windows, fetch, raw archive, replay.

A full run fetches every PMID the query returns. An incremental run (a `Window`) still lists the
whole current set (one esearch, IDs only: it tells which records PubMed no longer returns) and adds
two date-window searches, entry date (datetype=edat, so old papers newly indexed are caught) and
modification date (datetype=mdat, records revised since); it fetches the PMIDs not stored yet (the
new entries, and any record that newly matches the query whatever its entry date, so nothing falls
in a gap) plus stored ones the mdat window lists.

Every raw answer is archived under <out>/raw/<run_id>/, or comes from a past run's archive when
replaying (`replay_from`). The cross-check capability: the search PubMed runs with its own [dp]
and [la] filters (see screening/crosscheck.py).
"""

from __future__ import annotations

import logging
from pathlib import Path

from pipeline.config import Config
from pipeline.models import DeletedCitation, Quarantined, Record, SearchResult, pmid_of, record_order
from pipeline.sources.archive import ArchiveSource, RawArchive, RecordingSource, find_archive, replayed_date
from pipeline.sources.base import Harvest, SearchRequest
from pipeline.sources.pubmed.eutils import Client, Settings
from pipeline.sources.pubmed.fetch import fetch_records
from pipeline.sources.pubmed.search import run_filtered_search, run_search, run_window_search

log = logging.getLogger(__name__)


def pmid_record_id(pmid: str) -> str:
    """The record_id of a PubMed record (models.make_record_id: a PMID comes first)."""
    return f"pmid:{pmid}"


class PubMedSource:
    """The E-utilities as a Source (and CrossCheckable)."""

    name = "PubMed"

    def __init__(
        self,
        config: Config,
        settings: Settings,
        out: Path,
        run_id: str,
        replay: bool = False,
        from_run: str | None = None,
    ):
        """replay: answer from the raw archive of run `from_run` in `out` (default: the newest)."""
        self.config = config
        self.settings = settings
        self.out = out
        self.run_id = run_id
        self.replay = replay
        self.from_run = from_run
        self.run_info = {"eutils_base_url": settings.base_url}
        self._filtered: SearchResult | None = None

    def filtered_search(self) -> SearchResult | None:
        return self._filtered

    def search(self, request: SearchRequest) -> Harvest:
        replay_from = find_archive(self.out, self.from_run) if self.replay else None
        # A replay holds PubMed as of the replayed run: its date is what the run searched up to.
        as_of = replayed_date(replay_from) if replay_from else None
        archive_dir = replay_from or self.out / "raw" / self.run_id
        client = (
            ArchiveSource(replay_from)
            if replay_from
            else RecordingSource(Client(self.settings), RawArchive(archive_dir))
        )
        progress, query, window = request.progress, request.query, request.window
        stored = {pmid_of(r) for r in request.stored} - {""}  # the stored PubMed records' PMIDs
        progress("search", 0, 1)
        found = run_search(client, query)
        self._filtered = run_filtered_search(client, query, self.config.screening)
        current = list(found.pmids)
        current_set = set(current)
        searched = {"current": found.count}
        if window is None:
            to_fetch = current
        else:
            entered = run_window_search(client, query, "edat", window.start, window.end)
            modified = run_window_search(client, query, "mdat", window.start, window.end)
            searched.update(entered=len(entered), modified=len(modified))
            outside = sorted(set(entered) - current_set, key=lambda p: record_order(pmid_record_id(p)))
            if outside:
                log.warning(
                    "%d PMIDs entered since %s are not in the full search (PubMed updating?): %s",
                    len(outside),
                    window.start.strftime("%Y/%m/%d"),
                    ", ".join(outside[:10]),
                )
            revised = set(modified) & current_set & stored
            to_fetch = [p for p in current if p not in stored or p in revised]
        progress("search", 1, 1)
        log.info("PubMed: %d records for the query; fetching %d", found.count, len(to_fetch))

        records: list[Record] = []
        deleted: set[str] = set()
        quarantined: list[Quarantined] = []
        done = 0

        def on_batch(n: int) -> None:
            nonlocal done
            done += n
            progress("fetch", done, len(to_fetch))

        for item in fetch_records(client, to_fetch, self.config.retrieval.batch_size, on_batch):
            if isinstance(item, Record):
                records.append(item)
            elif isinstance(item, Quarantined):
                quarantined.append(item)
            elif isinstance(item, DeletedCitation):
                deleted.add(pmid_record_id(item.pmid))
        return Harvest(
            query=query,
            count=found.count,
            current=[pmid_record_id(p) for p in current],
            records=records,
            deleted=deleted,
            quarantined=quarantined,
            requested=len(to_fetch),
            searched=searched,
            as_of=as_of,
            manifest={
                "source": "pubmed",
                "query_translation": found.query_translation,
                "pubmed_messages": list(found.warnings),
                "requests": {"made": client.requests_made, "retried": client.retries},
                "raw_archive": str(archive_dir.relative_to(self.out)),
            },
        )
