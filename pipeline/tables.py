"""Table building: pure functions from records, decisions and mentions to DataFrames.

Columns come in a fixed order and rows in a fixed sort, so two runs over the same data give
byte-identical files and diffs between runs mean something. List-valued cells stay lists here
(Parquet keeps them); the CSV writer joins them with "; ".
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Iterable

import pandas as pd

from .models import Decision, Mention, Record, ScreeningResult

RECORD_COLUMNS = [
    "pmid", "decision", "reason", "deciding_field", "deciding_value", "duplicate_of", "retracted",
    "title", "pub_year", "medline_date", "article_date", "languages", "publication_types",
    "journal", "doi", "pmcid",
]
MENTION_COLUMNS = ["pmid", "section", "sentence", "start", "end", "text", "label", "canonical", "source"]
EVIDENCE_BASE_COLUMNS = [
    "pmid", "doi", "pubmed_url", "first_author", "year", "journal", "title", "publication_types",
    "languages",
]
PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{}/"


def pmid_key(pmid: str) -> tuple[int, str]:
    """Sort PMIDs numerically (PMIDs are digits; anything else sorts last, by text)."""
    return (int(pmid), pmid) if pmid.isdigit() else (10**12, pmid)


def records_table(records: Iterable[Record], results: Iterable[ScreeningResult]) -> pd.DataFrame:
    """One row per distinct PMID with its decision, reason, deciding field and value."""
    by_pmid = {r.pmid: r for r in records}
    rows = []
    for res in sorted(results, key=lambda r: pmid_key(r.pmid)):
        rec = by_pmid[res.pmid]
        rows.append({
            "pmid": rec.pmid, "decision": res.decision.value, "reason": res.reason,
            "deciding_field": res.field, "deciding_value": res.value, "duplicate_of": res.duplicate_of,
            "retracted": "retracted" in res.flags, "title": rec.title, "pub_year": rec.pub_year,
            "medline_date": rec.medline_date, "article_date": rec.article_date,
            "languages": list(rec.languages), "publication_types": list(rec.publication_types),
            "journal": rec.journal, "doi": rec.doi, "pmcid": rec.pmcid,
        })
    frame = pd.DataFrame(rows, columns=RECORD_COLUMNS)
    return frame.astype({"pub_year": "Int64", "retracted": "bool"})


def mentions_table(mentions: Iterable[Mention]) -> pd.DataFrame:
    """One row per mention; rows by PMID, keeping each record's extraction order."""
    rows = [{c: getattr(m, c) for c in MENTION_COLUMNS} for m in mentions]
    frame = pd.DataFrame(rows, columns=MENTION_COLUMNS)
    if frame.empty:
        return frame.astype({"sentence": "int64", "start": "int64", "end": "int64"})
    order = sorted(range(len(rows)), key=lambda i: (pmid_key(rows[i]["pmid"]), i))
    return frame.iloc[order].reset_index(drop=True)


def evidence_table(records: Iterable[Record], results: Iterable[ScreeningResult],
                   mentions: Iterable[Mention], classes: Iterable[str]) -> pd.DataFrame:
    """One row per included record; per entity class the distinct canonical mentions with counts,
    most frequent first ("ketamine (12); esketamine (3)"). Newest first, then by PMID."""
    classes = list(classes)
    included = {r.pmid for r in results if r.decision == Decision.INCLUDE}
    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for m in mentions:
        if m.pmid in included:
            counts[(m.pmid, m.label)][m.canonical] += 1
    rows = []
    for rec in records:
        if rec.pmid not in included:
            continue
        row = {
            "pmid": rec.pmid, "doi": rec.doi, "pubmed_url": PUBMED_URL.format(rec.pmid),
            "first_author": rec.authors[0].display_name if rec.authors else "",
            "year": rec.pub_year if rec.pub_year is not None else rec.article_year,
            "journal": rec.journal, "title": rec.title,
            "publication_types": list(rec.publication_types), "languages": list(rec.languages),
        }
        for label in classes:
            ranked = sorted(counts[(rec.pmid, label)].items(), key=lambda kv: (-kv[1], kv[0]))
            row[label.lower()] = [f"{name} ({n})" for name, n in ranked]
        rows.append(row)
    rows.sort(key=lambda r: (-(r["year"] or 0), pmid_key(r["pmid"])))
    frame = pd.DataFrame(rows, columns=EVIDENCE_BASE_COLUMNS + [c.lower() for c in classes])
    return frame.astype({"year": "Int64"})
