"""OpenAlex /works, paged to the end with cursors and reconciled with meta.count.

`cursor=*` starts; each answer's `meta.next_cursor` asks for the next page; the end is a page with
`results: []` and `next_cursor: null`. Pages of `per_page` = 100 (OpenAlex allows 200; 100 is what it
documents as safe). Since 2026 OpenAlex requires a free API key (`api_key`, from OPENALEX_API_KEY),
which is masked in every log line, message and archive; `mailto` sends the contact address.
A 401/403 (no key, or a wrong one) fails at once with how to fix it; a 429 that says the key's daily
budget is spent fails at once too (retrying cannot help before the budget resets), while a 429 for
going too fast is retried like any other.
"""

from __future__ import annotations

import logging
import os
import urllib.error

from pipeline.errors import (
    ConfigError,
    ExitCode,
    IncompleteRetrieval,
    PipelineError,
    RequestRejected,
    SourceUnavailable,
)
from pipeline.sources.http import HttpClient, Response
from pipeline.sources.openalex.parse import DATABASE, MalformedAnswer, check_body, parse_page
from pipeline.sources.recorded import Calls, Retrieved

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openalex.org/"
RATE = 10.0
PER_PAGE = 100
MAX_PAGES = 100_000
KEY_HELP = (
    "OpenAlex requires a free API key since 2026: create one at https://openalex.org/settings/api "
    "and set OPENALEX_API_KEY."
)


class BudgetExhausted(SourceUnavailable):
    """OpenAlex's daily budget for this API key is used up: retrying before it resets cannot help."""

    exit_code = ExitCode.UNAVAILABLE


class OpenAlexHttp(HttpClient):
    """The shared HTTP client with OpenAlex's key and budget answers turned into clear errors."""

    def _open(self, request) -> Response:
        try:
            return super()._open(request)
        except urllib.error.HTTPError as exc:
            if exc.code == 429:
                text = exc.read(2000).decode("utf-8", "replace")
                if "budget" in text.lower() or "daily" in text.lower():
                    raise BudgetExhausted(
                        "OpenAlex refused the request: the daily budget of this API key is used up "
                        f"({self.redact(text.strip()[:200])}). Try again after it resets (midnight UTC), "
                        "or use another key; nothing was published."
                    ) from None
            raise

    def rejected(self, described: str, status: int, reason: str, excerpt: str) -> PipelineError:
        if status in (401, 403):
            return RequestRejected(
                f"OpenAlex refused {described}: HTTP {status} {reason}. {KEY_HELP} "
                "If it is set, check that the key is valid."
            )
        return super().rejected(described, status, reason, excerpt)


def base_url() -> str:
    """OPENALEX_BASE_URL, or the API's own address; always ending in '/'."""
    base = os.environ.get("OPENALEX_BASE_URL") or DEFAULT_BASE_URL
    return base if base.endswith("/") else base + "/"


def http_client(
    timeout: float = 30.0, max_attempts: int = 5, api_key: str | None = None, email: str | None = None
) -> OpenAlexHttp:
    """A client for OPENALEX_BASE_URL (default api.openalex.org) with OPENALEX_API_KEY.

    Raises ConfigError when no key is set: every request would be refused."""
    base = base_url()
    key = api_key if api_key is not None else os.environ.get("OPENALEX_API_KEY", "")
    if not key:
        raise ConfigError(f'OPENALEX_API_KEY is not set and [search] sources includes "openalex". {KEY_HELP}')
    email = email if email is not None else os.environ.get("NCBI_EMAIL", "")
    return OpenAlexHttp(
        base,
        rate=RATE,
        timeout=timeout,
        max_attempts=max_attempts,
        name=DATABASE,
        secrets=[key],
        params={"api_key": key, "mailto": email or None},
        log=log,
    )


def search(calls: Calls, params: dict, shown: str, per_page: int = PER_PAGE, notes=()) -> Retrieved:
    """Every work OpenAlex holds for the search `params` (search= or filter=)."""
    cursor = "*"
    outcome: Retrieved | None = None
    seen: set[str] = set()
    while True:
        page_params = {**params, "per_page": per_page, "cursor": cursor}
        body = calls.get(
            "openalex-works",
            "works",
            page_params,
            validate=check_body,
            describe=f"OpenAlex works page {outcome.pages + 1 if outcome else 1}",
        )
        try:
            page = parse_page(body, where=f"OpenAlex works, cursor {cursor}")
        except MalformedAnswer as exc:
            raise SourceUnavailable(
                f"OpenAlex sent an unreadable answer: {exc}. Try again later; nothing was published."
            ) from None
        if outcome is None:
            outcome = Retrieved(DATABASE, shown, page.count, notes=tuple(notes))
        outcome.pages += 1
        for record in page.records:
            if record.record_id not in seen:
                seen.add(record.record_id)
                outcome.records.append(record)
        outcome.quarantined.extend(page.quarantined)
        log.info("OpenAlex: page %d, %d of %d works", outcome.pages, outcome.retrieved, outcome.hit_count)
        if not page.next_cursor or not page.result_count:
            break
        if outcome.pages >= MAX_PAGES:
            raise SourceUnavailable(f"OpenAlex kept sending cursors after {MAX_PAGES} pages; stopped.")
        cursor = page.next_cursor
    if outcome.retrieved < outcome.hit_count:
        raise IncompleteRetrieval(
            f"OpenAlex reported {outcome.hit_count} works for the search but its pages held "
            f"{outcome.retrieved} ({outcome.hit_count - outcome.retrieved} missing) after "
            f"{outcome.pages} pages. Nothing was published; run again later."
        )
    return outcome
