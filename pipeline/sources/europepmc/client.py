"""Europe PMC's search, paged to the end with cursorMark and reconciled with hitCount.

`cursorMark=*` starts; each answer's `nextCursorMark` asks for the next page, passed as a parameter
so it is URL-encoded exactly once (cursors hold '+', '/' and '='); the last page and a zero-hit answer
carry none. Records are read with `resultType=core` (abstract, language, publication types, MeSH;
`lite` has neither abstract nor language) in pages of up to 1,000. A shortfall against hitCount is
an IncompleteRetrieval (exit 4), as for PubMed.
"""

from __future__ import annotations

import logging
import os

from pipeline.errors import IncompleteRetrieval, SourceUnavailable
from pipeline.sources.europepmc.parse import DATABASE, MalformedAnswer, check_body, parse_page
from pipeline.sources.http import HttpClient
from pipeline.sources.recorded import Calls, Retrieved

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://www.ebi.ac.uk/europepmc/webservices/rest/"
# Its staff state 10 requests/s and 500/minute: 500/minute is the binding one.
RATE = 500 / 60
PAGE_SIZE = 1000
MAX_PAGES = 10_000  # a cursor chain longer than this is a loop, not a result list


class EuropePmcHttp(HttpClient):
    """The shared HTTP client, named for messages; long queries go to searchPOST."""

    @staticmethod
    def post_path(path: str) -> str:
        return "searchPOST" if path == "search" else path


def base_url() -> str:
    """EUROPEPMC_BASE_URL, or the API's own address; always ending in '/'."""
    base = os.environ.get("EUROPEPMC_BASE_URL") or DEFAULT_BASE_URL
    return base if base.endswith("/") else base + "/"


def http_client(timeout: float = 30.0, max_attempts: int = 5, email: str | None = None) -> EuropePmcHttp:
    """A client for EUROPEPMC_BASE_URL (default: EBI's), sending the contact address as `email`."""
    base = base_url()
    email = email if email is not None else os.environ.get("NCBI_EMAIL", "")
    return EuropePmcHttp(
        base,
        rate=RATE,
        timeout=timeout,
        max_attempts=max_attempts,
        name=DATABASE,
        params={"email": email or None},
        log=log,
    )


def search(calls: Calls, query: str, page_size: int = PAGE_SIZE) -> Retrieved:
    """Every record Europe PMC holds for `query` (see the module docstring)."""
    cursor = "*"
    outcome: Retrieved | None = None
    seen: set[str] = set()
    while True:
        params = {"query": query, "format": "json", "resultType": "core", "pageSize": page_size, "cursorMark": cursor}
        body = calls.get(
            "europepmc-search",
            "search",
            params,
            validate=check_body,
            describe=f"Europe PMC search page {outcome.pages + 1 if outcome else 1}",
        )
        try:
            page = parse_page(body, where=f"Europe PMC search, cursorMark {cursor}")
        except MalformedAnswer as exc:
            raise SourceUnavailable(
                f"Europe PMC sent an unreadable answer: {exc}. Try again later; nothing was published."
            ) from None
        if outcome is None:
            outcome = Retrieved(DATABASE, query, page.hit_count)
        outcome.pages += 1
        for record in page.records:
            key = record.record_id
            if key not in seen:  # a record repeated across pages is one record
                seen.add(key)
                outcome.records.append(record)
        outcome.quarantined.extend(page.quarantined)
        log.info("Europe PMC: page %d, %d of %d records", outcome.pages, outcome.retrieved, outcome.hit_count)
        if not page.next_cursor or not page.result_count or page.next_cursor == cursor:
            break
        if outcome.pages >= MAX_PAGES:
            raise SourceUnavailable(
                f"Europe PMC kept sending cursors after {MAX_PAGES} pages; stopped. "
                "Try again later; nothing was published."
            )
        cursor = page.next_cursor
    if outcome.retrieved < outcome.hit_count:
        raise IncompleteRetrieval(
            f"Europe PMC reported {outcome.hit_count} records for the query but its pages held "
            f"{outcome.retrieved} ({outcome.hit_count - outcome.retrieved} missing) after "
            f"{outcome.pages} pages. Nothing was published; run again later."
        )
    return outcome
