"""Search stage: build the PubMed query from the config and collect the PMIDs esearch returns."""
from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from typing import Callable

from . import crosscheck
from .config import ScreeningConfig, SearchConfig
from .errors import IncompleteRetrieval
from .eutils import Client, EutilsRequestError
from .models import SearchResult

log = logging.getLogger(__name__)

# PubMed's esearch never returns more than this many PMIDs for one query.
ESEARCH_CAP = 9999
_NEEDS_QUOTES = set(" ()[]:,/&")


def build_query(search: SearchConfig) -> str:
    """The PubMed query for a config: groups ANDed, the terms of a group ORed, phrases quoted.

    >>> build_query(SearchConfig(all_of=(("ketamine",), ("mood", "major depression"))))
    'ketamine AND (mood OR "major depression")'
    """
    groups = []
    for terms in search.all_of:
        parts = [_term(t, search.field) for t in terms]
        groups.append(parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")")
    return " AND ".join(groups)


def _term(term: str, field: str) -> str:
    text = f'"{term}"' if _NEEDS_QUOTES & set(term) else term
    return f"{text}[{field}]" if field else text


def parse_esearch(body: bytes) -> dict:
    """Count, PMIDs, translation and every message of an esearch XML response (pure)."""
    root = ET.fromstring(body)
    if root.tag != "eSearchResult":
        raise ValueError(f"not an esearch response (root element <{root.tag}>)")
    error = root.findtext("ERROR")
    messages = []
    for container in ("ErrorList", "WarningList"):
        for item in root.findall(f"{container}/*"):
            messages.append(f"{container[:-4]} {item.tag}: {(item.text or '').strip()}")
    for item in root.findall("WarningList/OutputMessage") or root.findall("OutputMessage"):
        text = (item.text or "").strip()
        line = f"Warning OutputMessage: {text}"
        if text and line not in messages:
            messages.append(line)
    return {
        "count": int(root.findtext("Count") or 0),
        "pmids": [e.text.strip() for e in root.findall("IdList/Id") if e.text],
        "translation": (root.findtext("QueryTranslation") or "").strip(),
        "messages": messages,
        "error": (error or "").strip(),
    }


def run_search(client: Client, query: str, archive: Callable[[str, bytes], None] | None = None) -> SearchResult:
    """All PMIDs PubMed holds for `query`; raises rather than returning fewer than Count.

    Each raw response is passed to `archive` (name, body) before it is used.
    """
    first = _esearch(client, query, archive, retmax=ESEARCH_CAP)
    count = first["count"]
    for message in first["messages"]:
        log.warning("PubMed: %s", message)
    if count > ESEARCH_CAP:
        raise IncompleteRetrieval(
            f"PubMed reports {count} records for the query, more than the {ESEARCH_CAP} esearch can list. "
            "Narrow the query (add a term or a date range) until it matches fewer records."
        )
    pmids = list(dict.fromkeys(first["pmids"]))  # PubMed order, duplicates dropped
    if len(pmids) != count:
        raise IncompleteRetrieval(
            f"esearch reported {count} records but listed {len(pmids)} PMIDs; nothing was published. "
            "Run again; if it persists, PubMed's index may be updating."
        )
    return SearchResult(query=query, count=count, pmids=tuple(pmids),
                        query_translation=first["translation"], warnings=tuple(first["messages"]))


def _esearch(client: Client, query: str, archive, **params) -> dict:
    body = client.esearch(query, **params)
    if archive:
        archive(f"esearch-{client.requests_made:05d}", body)
    try:
        result = parse_esearch(body)
    except (ET.ParseError, ValueError) as exc:
        raise EutilsRequestError(f"esearch returned an unreadable response for {query!r}: {exc}") from None
    if result["error"]:
        raise EutilsRequestError(f"esearch refused the query {query!r}: {result['error']}")
    return result


def run_filtered_search(client: Client, query: str, screening: ScreeningConfig,
                        archive: Callable[[str, bytes], None] | None = None) -> SearchResult | None:
    """The PMIDs PubMed itself returns for `query` with its [dp]/[la] filters for the config's date
    and language criteria (the cross-check); None when the config has no such criteria.

    Its raw response is archived as esearch-crosscheck-NNNNN.
    """
    query = crosscheck.filtered_query(query, screening)
    if not crosscheck.pubmed_filters(screening):
        return None
    renamed = (lambda name, body: archive(name.replace("esearch-", "esearch-crosscheck-"), body)) if archive else None
    return run_search(client, query, archive=renamed)
