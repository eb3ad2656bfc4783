"""Fetch stage: efetch PMIDs in batches, archive each raw response, and check nothing is missing."""
from __future__ import annotations

import logging
from typing import Callable, Iterable, Iterator

from . import pubmed_xml
from .errors import IncompleteRetrieval
from .eutils import Client
from .models import ParsedItem, Quarantined, Record

log = logging.getLogger(__name__)

# Archive callback: (name, raw body) -> None. The store keeps every response of a run.
Archive = Callable[[str, bytes], None]


def batches(pmids: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(pmids), size):
        yield pmids[start:start + size]


def fetch_records(client: Client, pmids: Iterable[str], batch_size: int,
                  archive: Archive, progress: Callable[[int], None] | None = None) -> Iterator[ParsedItem]:
    """Yield the parsed items of every PMID, batch by batch.

    A PMID that a response leaves out is asked for once more on its own batch; if it is still missing
    the run stops with IncompleteRetrieval naming it, so no table is ever written without it.
    """
    pmids = list(pmids)
    for number, batch in enumerate(batches(pmids, batch_size), start=1):
        items = _fetch_batch(client, batch, f"efetch-{number:05d}", archive)
        missing = _missing(batch, items)
        if missing:
            log.warning("efetch batch %d left out %d PMIDs; asking for them again", number, len(missing))
            items += _fetch_batch(client, missing, f"efetch-{number:05d}-retry", archive)
            missing = _missing(batch, items)
        if missing:
            shown = ", ".join(missing[:20]) + (" ..." if len(missing) > 20 else "")
            raise IncompleteRetrieval(
                f"PubMed did not return {len(missing)} of the {len(pmids)} records found by the search "
                f"(PMIDs {shown}). No table was published; run again later."
            )
        yield from items
        if progress:
            progress(len(batch))


def _fetch_batch(client: Client, batch: list[str], name: str, archive: Archive) -> list[ParsedItem]:
    body = client.efetch(batch)
    archive(name, body)
    return list(pubmed_xml.parse(body, source_name=name))


def _missing(batch: list[str], items: list[ParsedItem]) -> list[str]:
    seen = {item.pmid for item in items if isinstance(item, (Record, Quarantined))}
    return [pmid for pmid in batch if pmid not in seen]
