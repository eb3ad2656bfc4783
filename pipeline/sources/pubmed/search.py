"""Search stage: build the PubMed query from the config and collect every PMID PubMed holds for it.

One esearch lists at most 9,999 PMIDs (and `retstart` may not pass 9,998), so a larger result is split
into publication-date slices, halved until each fits; the union is reconciled with the total Count.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable, Protocol

from pipeline.config import ScreeningConfig, SearchConfig
from pipeline.errors import EutilsUnavailable, IncompleteRetrieval, QueryRejected
from pipeline.models import SearchResult
from pipeline.sources.pubmed import filters

log = logging.getLogger(__name__)

# PubMed's esearch never returns more than this many PMIDs for one query.
ESEARCH_CAP = 9999
# Date slices are publication dates (datetype=pdat, PubMed's [dp]), from PubMed's oldest records to two
# years ahead (electronic-ahead-of-print dates can run ahead of today).
SLICE_DATETYPE = "pdat"
EARLIEST_DATE = date(1781, 1, 1)
# Date slices searched at once: enough to cover esearch's latency at NCBI's pace.
SEARCH_WORKERS = 3
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
        "error": " ".join((error or "").split()),
    }


class Source(Protocol):
    """Where esearch answers come from: the live client (recorded) or a run's archive (replay)."""

    def esearch(self, term: str, **params) -> bytes: ...


@dataclass(frozen=True)
class DateSlice:
    """One publication-date range ([dp], datetype=pdat) of a search, with what esearch listed in it."""

    start: date
    end: date
    count: int
    pmids: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{_eutils_date(self.start)}-{_eutils_date(self.end)}"


def run_search(
    source: Source, query: str, cap: int | None = None, today: date | None = None, warn: bool = True
) -> SearchResult:
    """All PMIDs PubMed holds for `query`; raises rather than returning fewer than Count.

    PubMed's messages are logged as warnings unless `warn` is False (they are in the result either
    way). Up to `cap` (9,999) records come from one esearch. Beyond that the search is split by publication
    date (`split_by_date`) and the slices' PMIDs are united and reconciled with the query's Count:
    any record the slices miss stops the run with IncompleteRetrieval naming the gap.
    """
    cap = cap or ESEARCH_CAP
    first = _esearch(source, query, retmax=cap)
    count = first["count"]
    for message in first["messages"] if warn else ():
        log.warning("PubMed: %s", message)
    if count <= cap:
        pmids = list(dict.fromkeys(first["pmids"]))  # PubMed order, duplicates dropped
        if len(pmids) != count:
            raise IncompleteRetrieval(
                f"esearch reported {count} records but listed {len(pmids)} PMIDs; nothing was published. "
                "Run again; if it persists, PubMed's index may be updating."
            )
    else:
        start, end = EARLIEST_DATE, date((today or date.today()).year + 2, 12, 31)
        log.info(
            "PubMed: %d records, more than the %d one esearch lists: splitting %s-%s by publication date",
            count,
            cap,
            _eutils_date(start),
            _eutils_date(end),
        )
        slices = split_by_date(
            lambda lo, hi: _slice(source, query, cap, lo, hi), start, end, cap, workers=SEARCH_WORKERS, total=count
        )
        pmids = reconcile(query, count, slices, start, end)
    return SearchResult(
        query=query,
        count=count,
        pmids=tuple(pmids),
        query_translation=first["translation"],
        warnings=tuple(first["messages"]),
    )


def split_by_date(
    search: Callable[[date, date], DateSlice],
    start: date,
    end: date,
    cap: int,
    workers: int = 1,
    total: int | None = None,
) -> list[DateSlice]:
    """Search `start`..`end` (inclusive), halving every range that holds more than `cap` records.

    Returns the slices that fit, oldest first: consecutive, disjoint and covering the whole range.
    The ranges of one round of halving are searched `workers` at a time (the client's rate limiter
    still paces them), so esearch's latency does not hold the pace below NCBI's limit. `total`, the
    whole range's count when already known to exceed `cap`, saves searching it again.
    A single day holding more than `cap` records cannot be split further: IncompleteRetrieval.
    """
    fitting: list[DateSlice] = []
    if total is not None and total > cap and start < end:
        frontier = _halves(DateSlice(start, end, total))
    else:
        frontier = [(start, end)]
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="esearch") as pool:
        while frontier:
            found = list(pool.map(lambda bounds: search(*bounds), frontier))
            frontier = []
            for piece in found:
                if piece.count <= cap:
                    fitting.append(piece)
                elif piece.start == piece.end:
                    raise IncompleteRetrieval(
                        f"PubMed lists {piece.count} records published on {_eutils_date(piece.start)} alone, more "
                        f"than the {cap} one esearch can return, so they cannot all be retrieved by date slicing. "
                        "Nothing was published; narrow the query (add a term) until that day matches fewer records."
                    )
                else:
                    frontier += _halves(piece)
    return sorted(fitting, key=lambda piece: piece.start)


def _halves(piece: DateSlice) -> list[tuple[date, date]]:
    middle = piece.start + (piece.end - piece.start) // 2
    return [(piece.start, middle), (middle + timedelta(days=1), piece.end)]


def reconcile(query: str, count: int, slices: list[DateSlice], start: date, end: date) -> list[str]:
    """The union of the slices' PMIDs (newest slice first), checked against the query's total Count."""
    for piece in slices:
        if len(set(piece.pmids)) != piece.count:
            raise IncompleteRetrieval(
                f"esearch reported {piece.count} records published {piece.label} but listed "
                f"{len(set(piece.pmids))} PMIDs; nothing was published. Run again; if it persists, "
                "PubMed's index may be updating."
            )
    pmids = list(dict.fromkeys(p for piece in reversed(slices) for p in piece.pmids))
    if len(pmids) < count:
        raise IncompleteRetrieval(
            f"PubMed reports {count} records for the query, but its {len(slices)} publication-date slices "
            f"from {_eutils_date(start)} to {_eutils_date(end)} hold only {len(pmids)}: {count - len(pmids)} "
            "records have no publication date in that range, or PubMed's index changed during the search. "
            "Nothing was published; run again later, or narrow the query below "
            f"{ESEARCH_CAP} records."
        )
    if len(pmids) > count:
        log.warning(
            "PubMed: the date slices hold %d records, %d more than the %d it reported for %s "
            "(records added during the search); keeping them all",
            len(pmids),
            len(pmids) - count,
            count,
            query,
        )
    log.info("PubMed: %d records in %d date slices", len(pmids), len(slices))
    return pmids


def run_window_search(
    source: Source, query: str, datetype: str, start: date, end: date, cap: int | None = None
) -> list[str]:
    """PMIDs matching `query` whose `datetype` date (edat: entry, mdat: modification) is in
    `start`..`end`: one esearch when they fit, date slices reconciled as in `run_search` otherwise."""
    cap = cap or ESEARCH_CAP
    slices = split_by_date(
        lambda lo, hi: _slice(source, query, cap, lo, hi, datetype), start, end, cap, workers=SEARCH_WORKERS
    )
    return reconcile(query, sum(piece.count for piece in slices), slices, start, end)


def _slice(source: Source, query: str, cap: int, start: date, end: date, datetype: str = SLICE_DATETYPE) -> DateSlice:
    result = _esearch(
        source, query, retmax=cap, datetype=datetype, mindate=_eutils_date(start), maxdate=_eutils_date(end)
    )
    log.debug("PubMed: %d records with %s %s-%s", result["count"], datetype, start, end)
    return DateSlice(start, end, result["count"], tuple(result["pmids"]) if result["count"] <= cap else ())


def _eutils_date(day: date) -> str:
    return f"{day.year:04d}/{day.month:02d}/{day.day:02d}"


_FIX_QUERY = (
    "Fix the search terms in the config's [search] section (python -m pipeline query --config FILE prints the query)."
)


def _esearch(source: Source, query: str, **params) -> dict:
    body = source.esearch(query, **params)
    try:
        result = parse_esearch(body)
    except (ET.ParseError, ValueError) as exc:
        raise EutilsUnavailable(
            f"esearch returned an unreadable response for {query!r}: {exc}. Try again later; nothing was published."
        ) from None
    if result["error"]:
        raise QueryRejected(f"esearch refused the query {query!r}: {result['error']}. {_FIX_QUERY}")
    return result


def run_filtered_search(source: Source, query: str, screening: ScreeningConfig) -> SearchResult | None:
    """The PMIDs PubMed itself returns for `query` with its [dp]/[la] filters for the config's date
    and language criteria (the cross-check); None when the config has no such criteria.

    Its raw response is archived by the source like every other (see replay.py).
    """
    query = filters.filtered_query(query, screening)
    if not filters.pubmed_filters(screening):
        return None
    # The same terms as the review's own search: its warnings were printed already (they are in
    # the result, and the filtered search's raw answer is archived).
    return run_search(source, query, warn=False)
