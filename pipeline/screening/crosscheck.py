"""Cross-check with PubMed: our date and language rules against PubMed's own [dp] and [la] filters.

The run searches without inclusion filters (so excluded records are counted) and also asks esearch
for the PMIDs matching the query with PubMed's filters. This module compares the two, purely: every
PMID on which PubMed's filters and our date/language rules disagree is listed with our reason. Only
the rules PubMed's filters mirror are compared (publication types and abstracts are ours alone).
"""

from __future__ import annotations

from typing import Iterable

from pipeline.config import ScreeningConfig
from pipeline.models import Decision, Record, ScreeningResult, SearchResult, pmid_of
from pipeline.screening.rules import FILTER_RULES, decide, pmid_order


def compare(
    records: Iterable[Record], results: Iterable[ScreeningResult], pubmed_pmids: Iterable[str], cfg: ScreeningConfig
) -> list[dict]:
    """Every PMID on which PubMed's filters and our date/language rules disagree, by PMID.

    They agree when our rules include a record PubMed's filters return, or exclude one they leave
    out; a record our rules send to needs-review is always listed, since PubMed decided it.

    Each entry: pmid; pubmed ("in" or "out" of PubMed's filtered set); ours (what our date and
    language rules alone decide: include, exclude, needs-review, or "not retrieved" when the PMID is
    absent from the unfiltered search); reason, field and value of our rule; and the record's final
    decision and reason as records.csv shows them. Duplicates are compared too: PubMed's filters do
    not deduplicate.
    """
    by_pmid = {r.pmid: r for r in records if r.pmid}
    final = {pmid_of(r.record_id): r for r in results}
    in_pubmed = set(pubmed_pmids)
    rows = []
    for pmid in sorted(set(by_pmid) | in_pubmed, key=pmid_order):
        record = by_pmid.get(pmid)
        if record is None:
            rows.append(
                {
                    "pmid": pmid,
                    "pubmed": "in",
                    "ours": "not retrieved",
                    "reason": "",
                    "field": "",
                    "value": "",
                    "decision": "",
                    "decision_reason": "",
                }
            )
            continue
        verdict = decide(record, cfg, FILTER_RULES)
        # Agreement is include/in or exclude/out; needs-review never agrees, PubMed having decided.
        if (verdict.decision == Decision.INCLUDE and pmid in in_pubmed) or (
            verdict.decision == Decision.EXCLUDE and pmid not in in_pubmed
        ):
            continue
        result = final.get(pmid)
        rows.append(
            {
                "pmid": pmid,
                "pubmed": "in" if pmid in in_pubmed else "out",
                "ours": verdict.decision.value,
                "reason": verdict.reason,
                "field": verdict.field,
                "value": verdict.value,
                "decision": result.decision.value if result else "",
                "decision_reason": result.reason if result else "",
            }
        )
    return rows


def summary(
    filtered: SearchResult,
    unfiltered_count: int,
    records: Iterable[Record],
    results: Iterable[ScreeningResult],
    cfg: ScreeningConfig,
) -> dict:
    """The run.json block: PubMed's counts without and with its filters, ours, and the disagreements."""
    distinct = {r.pmid: r for r in records if r.pmid}
    ours = sum(1 for r in distinct.values() if decide(r, cfg, FILTER_RULES).decision == Decision.INCLUDE)
    disagreements = compare(distinct.values(), results, filtered.pmids, cfg)
    return {
        "filtered_query": filtered.query,
        "pubmed_count_unfiltered": unfiltered_count,
        "pubmed_count_filtered": filtered.count,
        "our_count_passing_date_and_language": ours,
        "agree": not disagreements,
        "disagreements": disagreements,
    }
