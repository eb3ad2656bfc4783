"""Table building: pure functions from records, decisions and mentions to DataFrames.

Columns come in a fixed order and rows in a fixed sort, so two runs over the same data give
byte-identical files and diffs between runs mean something. List-valued cells stay lists here
(Parquet keeps them); the CSV writer joins them with "; ".
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Iterable

import pandas as pd

from pipeline.models import Decision, Mention, Record, ScreeningResult

RECORD_COLUMNS = [
    "pmid", "decision", "reason", "deciding_field", "deciding_value", "duplicate_of", "retracted",
    "title", "pub_year", "medline_date", "article_date", "languages", "publication_types",
    "journal", "doi", "pmcid",
]
MENTION_COLUMNS = ["pmid", "section", "sentence", "start", "end", "text", "label", "canonical", "source",
                   "identifier", "vocabulary"]
EVIDENCE_BASE_COLUMNS = [
    "pmid", "doi", "pubmed_url", "first_author", "year", "journal", "title", "publication_types",
    "design", "languages",
]
PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{}/"

# PubMed publication type -> study design, strongest evidence first: a record typed both
# "Randomized Controlled Trial" and "Clinical Trial, Phase II" is a randomized controlled trial.
# Types that say nothing about design ("Journal Article", "Research Support, ...") map to nothing.
# The `study_design` column is different: the STUDY_DESIGN mentions the extractor found in the text.
DESIGN_BY_PUBLICATION_TYPE = (
    ("Meta-Analysis", "meta-analysis"),
    ("Network Meta-Analysis", "meta-analysis"),
    ("Systematic Review", "systematic review"),
    ("Randomized Controlled Trial", "randomized controlled trial"),
    ("Equivalence Trial", "randomized controlled trial"),
    ("Clinical Trial, Phase IV", "clinical trial, phase IV"),
    ("Clinical Trial, Phase III", "clinical trial, phase III"),
    ("Clinical Trial, Phase II", "clinical trial, phase II"),
    ("Clinical Trial, Phase I", "clinical trial, phase I"),
    ("Controlled Clinical Trial", "clinical trial"),
    ("Pragmatic Clinical Trial", "clinical trial"),
    ("Adaptive Clinical Trial", "clinical trial"),
    ("Clinical Trial", "clinical trial"),
    ("Observational Study", "observational study"),
    ("Twin Study", "observational study"),
    ("Case Reports", "case report"),
    ("Practice Guideline", "guideline"),
    ("Guideline", "guideline"),
    ("Scoping Review", "scoping review"),
    ("Review", "review"),
    ("Editorial", "editorial"),
    ("Letter", "letter"),
    ("Comment", "comment"),
)
_DESIGN_RANK = {ptype.casefold(): (rank, design) for rank, (ptype, design) in enumerate(DESIGN_BY_PUBLICATION_TYPE)}


def study_design(publication_types: Iterable[str]) -> str:
    """The study design PubMed's publication types declare, or "" when they declare none.

    Matching ignores case and surrounding spaces; the strongest design wins (see
    DESIGN_BY_PUBLICATION_TYPE), so the answer does not depend on the order of the types.
    """
    ranked = [_DESIGN_RANK[t.strip().casefold()] for t in publication_types if t.strip().casefold() in _DESIGN_RANK]
    return min(ranked)[1] if ranked else ""


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
    frame = pd.DataFrame(rows, columns=RECORD_COLUMNS).astype({"pub_year": "Int64", "retracted": "bool"})
    frame.attrs["list_columns"] = ["languages", "publication_types"]
    return frame


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
    """One row per included record; per entity class the distinct concepts with counts, most
    frequent first, ties by name (["ketamine [MESH:D007649] (12)", "esketamine (3)"]; the CSV joins
    them with "; "). Mentions with an identifier group by it, under the concept's name (the
    canonical form its mentions share most often, ties by name) followed by the identifier in
    brackets; mentions without one group by canonical form. Newest first, then by PMID; a record
    without a year comes last.

    `year` is the print publication year, else the electronic one. `design` comes from PubMed's
    publication types (study_design); the `study_design` column, when STUDY_DESIGN is among the
    classes, lists what the text says.
    """
    classes = list(classes)
    included = {r.pmid for r in results if r.decision == Decision.INCLUDE}
    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    names: dict[tuple[str, str], Counter] = defaultdict(Counter)   # (label, identifier) -> canonicals
    for m in mentions:
        if m.pmid in included:
            counts[(m.pmid, m.label)][m.identifier or m.canonical] += 1
            if m.identifier:
                names[(m.label, m.identifier)][m.canonical] += 1
    display: dict[tuple[str, str], str] = {
        key: f"{min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0]} [{key[1]}]" for key, c in names.items()}
    rows = []
    seen: set[str] = set()
    for rec in records:
        if rec.pmid not in included or rec.pmid in seen:
            continue
        seen.add(rec.pmid)
        row = {
            "pmid": rec.pmid, "doi": rec.doi, "pubmed_url": PUBMED_URL.format(rec.pmid),
            "first_author": rec.authors[0].display_name if rec.authors else "",
            "year": rec.pub_year if rec.pub_year is not None else rec.article_year,
            "journal": rec.journal, "title": rec.title,
            "publication_types": list(rec.publication_types),
            "design": study_design(rec.publication_types), "languages": list(rec.languages),
        }
        for label in classes:
            shown = [(display.get((label, key), key), n) for key, n in counts[(rec.pmid, label)].items()]
            row[label.lower()] = [f"{name} ({n})" for name, n in sorted(shown, key=lambda kv: (-kv[1], kv[0]))]
        rows.append(row)
    rows.sort(key=lambda r: (r["year"] is None, -(r["year"] or 0), pmid_key(r["pmid"])))
    frame = pd.DataFrame(rows, columns=EVIDENCE_BASE_COLUMNS + [c.lower() for c in classes]).astype({"year": "Int64"})
    frame.attrs["list_columns"] = ["publication_types", "languages"] + [c.lower() for c in classes]
    return frame
