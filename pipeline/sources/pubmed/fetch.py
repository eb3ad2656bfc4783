"""Fetch stage: efetch PMIDs in batches, archive each raw response, and check nothing is missing.

Batches name their PMIDs explicitly (POSTed id lists) rather than paging a WebEnv: each answer can be
checked against the PMIDs it must contain, and a long run cannot be broken by an expired WebEnv.
A few batches are in flight at once (`workers`) so NCBI's slow answers do not hold the pace below
its rate limit; the client's rate limiter is shared, so the pace never exceeds it.
"""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, Protocol

from pipeline.sources.pubmed_xml import parser as pubmed_xml
from pipeline.errors import EutilsUnavailable, IncompleteRetrieval
from pipeline.models import DeletedCitation, ParsedItem, Quarantined, Record

log = logging.getLogger(__name__)

# Requests in flight at once: enough to cover NCBI's latency at 3-10 requests/s.
DEFAULT_WORKERS = 3


class Source(Protocol):
    """Where efetch answers come from: the live client (recorded) or a run's archive (replay)."""

    def efetch(self, pmids: list[str]) -> bytes: ...


def batches(pmids: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(pmids), size):
        yield pmids[start : start + size]


def fetch_records(
    source: Source,
    pmids: Iterable[str],
    batch_size: int,
    progress: Callable[[int], None] | None = None,
    workers: int = DEFAULT_WORKERS,
) -> Iterator[ParsedItem]:
    """Yield the parsed items of every PMID, batch by batch, in the order of `pmids`.

    A PMID that a response leaves out is asked for once more on its own batch; if it is still missing
    the run stops with IncompleteRetrieval naming it, so no table is ever written without it. A batch
    that fails after the client's retries stops the run with EutilsUnavailable naming the PMIDs not
    retrieved.
    """
    pmids = list(pmids)
    todo = list(enumerate(batches(pmids, batch_size), start=1))
    total, done = len(todo), 0
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="efetch") as pool:
        pending: deque[tuple[int, list[str], Future]] = deque()
        try:
            for number, batch in todo:
                pending.append((number, batch, pool.submit(_fetch_complete, source, number, batch, len(pmids))))
                # Twice as many batches queued as workers: a worker that finishes while the oldest
                # batch is still being read starts the next one at once instead of idling.
                if len(pending) >= 2 * max(1, workers):
                    done = yield from _take(pending, pmids, done, total, progress)
            while pending:
                done = yield from _take(pending, pmids, done, total, progress)
        finally:
            for _, _, future in pending:
                future.cancel()


def _take(pending, pmids: list[str], done: int, total: int, progress) -> Iterator[ParsedItem]:
    number, batch, future = pending.popleft()
    try:
        items = future.result()
    except EutilsUnavailable as exc:
        raise EutilsUnavailable(
            f"{len(pmids) - done} of the {len(pmids)} records found by the search were not retrieved: "
            f"efetch batch {number} of {total} (PMIDs {_shown(batch)}) failed. {exc}"
        ) from None
    yield from items
    if progress:
        progress(len(batch))
    return done + len(batch)


def _fetch_complete(source: Source, number: int, batch: list[str], total: int) -> list[ParsedItem]:
    items = _fetch_batch(source, batch, f"efetch batch {number}")
    missing = _missing(batch, items)
    if missing:
        log.warning("efetch batch %d left out %d PMIDs; asking for them again", number, len(missing))
        items += _fetch_batch(source, missing, f"efetch batch {number} (again)")
        missing = _missing(batch, items)
    if missing:
        raise IncompleteRetrieval(
            f"PubMed did not return {len(missing)} of the {total} records found by the search "
            f"(PMIDs {_shown(missing)}). No table was published; run again later."
        )
    return items


def _fetch_batch(source: Source, batch: list[str], name: str) -> list[ParsedItem]:
    """The parsed answer to one efetch: only the PMIDs asked for (others are logged and ignored).

    An answer the parser refuses as a whole (a DOCTYPE with an internal subset, not PubMed XML) is
    no transient fault: the run stops with IncompleteRetrieval saying why, not "run again later".
    """
    items = list(pubmed_xml.parse(source.efetch(batch), source_name=name))
    for item in items:
        if isinstance(item, Quarantined) and not item.pmid and item.reason.startswith("refused"):
            raise IncompleteRetrieval(
                f"{name}'s answer was {item.reason}. Running again will not help: check that EUTILS_BASE_URL "
                "points at NCBI's E-utilities. No table was published."
            )
    asked = set(batch)
    extra = [item.pmid for item in items if isinstance(item, (Record, DeletedCitation)) and item.pmid not in asked]
    if extra:
        log.warning(
            "%s returned %d PMID%s that %s not asked for, ignored: %s",
            name,
            len(extra),
            "" if len(extra) == 1 else "s",
            "was" if len(extra) == 1 else "were",
            _shown(extra),
        )
        items = [item for item in items if not (isinstance(item, (Record, DeletedCitation)) and item.pmid not in asked)]
    return items


def _missing(batch: list[str], items: list[ParsedItem]) -> list[str]:
    seen = {item.pmid for item in items if isinstance(item, (Record, Quarantined))}
    return [pmid for pmid in batch if pmid not in seen]


def _shown(pmids: list[str]) -> str:
    if len(pmids) <= 20:
        return ", ".join(pmids)
    return ", ".join(pmids[:20]) + f" ... and {len(pmids) - 20} more"
