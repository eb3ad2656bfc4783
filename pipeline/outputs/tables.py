"""Table building: pure functions from records, decisions and mentions to DataFrames.

Columns come in a fixed order and rows in a fixed sort, so two runs over the same data give
byte-identical files and diffs between runs mean something. List-valued cells stay lists here
(Parquet keeps them); the CSV writer joins them with "; ".

Rows key on `record_id` (models.make_record_id), the last column of every table but records (where `ids`
and `found_in` follow it); `pmid` stays the
first ("" for a record without one). Rows come in models.record_order: PMIDs numerically first.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Iterable, Mapping

import pandas as pd

from pipeline.models import Decision, Mention, Record, ScreeningResult, pmid_of, record_order

RECORD_COLUMNS = [
    "pmid",
    "decision",
    "reason",
    "deciding_field",
    "deciding_value",
    "duplicate_of",
    "retracted",
    "title",
    "pub_year",
    "medline_date",
    "article_date",
    "languages",
    "publication_types",
    "journal",
    "doi",
    "pmcid",
    "record_id",
    "ids",
    "found_in",
]
MENTION_COLUMNS = [
    "pmid",
    "section",
    "sentence",
    "start",
    "end",
    "text",
    "label",
    "canonical",
    "source",
    "identifier",
    "vocabulary",
    "record_id",
]
EVIDENCE_BASE_COLUMNS = [
    "pmid",
    "doi",
    "pubmed_url",
    "first_author",
    "year",
    "journal",
    "title",
    "publication_types",
    "design",
    "languages",
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


def ids_cell(record: Record) -> str:
    """Every identifier of a record as 'scheme:value' joined by '; ': pmid, doi, pmcid, then the rest
    by scheme ('pmid:29768149; doi:10.1000/x; europepmc:PPR1; openalex:W27')."""
    first = [s for s in ("pmid", "doi", "pmcid") if record.ids.get(s)]
    rest = sorted(s for s in record.ids if s not in first)
    return "; ".join(f"{s}:{record.ids[s]}" for s in first + rest)


def records_table(
    records: Iterable[Record],
    results: Iterable[ScreeningResult],
    found_in: Mapping[str, Iterable[str]] | None = None,
    database: str = "PubMed",
) -> pd.DataFrame:
    """One row per distinct record with its decision, reason, deciding field and value;
    a duplicate's duplicate_of is the kept record's record_id."""
    by_id = {r.record_id: r for r in records}
    ordered = sorted(results, key=lambda r: record_order(r.record_id))
    recs = [by_id[res.record_id] for res in ordered]
    # Built column by column: pandas makes a frame from lists far faster than from row dicts.
    columns = {
        "pmid": [rec.pmid for rec in recs],
        "decision": [res.decision.value for res in ordered],
        "reason": [res.reason for res in ordered],
        "deciding_field": [res.field for res in ordered],
        "deciding_value": [res.value for res in ordered],
        "duplicate_of": [res.duplicate_of for res in ordered],
        "retracted": ["retracted" in res.flags for res in ordered],
        "title": [rec.title for rec in recs],
        "pub_year": [rec.pub_year for rec in recs],
        "medline_date": [rec.medline_date for rec in recs],
        "article_date": [rec.article_date for rec in recs],
        "languages": [list(rec.languages) for rec in recs],
        "publication_types": [list(rec.publication_types) for rec in recs],
        "journal": [rec.journal for rec in recs],
        "doi": [rec.doi for rec in recs],
        "pmcid": [rec.pmcid for rec in recs],
        "record_id": [res.record_id for res in ordered],
        "ids": [ids_cell(rec) for rec in recs],
        "found_in": [list(found_in.get(rec.record_id, ())) if found_in is not None else [database] for rec in recs],
    }
    frame = pd.DataFrame(columns if ordered else [], columns=RECORD_COLUMNS).astype(
        {"pub_year": "Int64", "retracted": "bool"}
    )
    frame.attrs["list_columns"] = ["languages", "publication_types", "found_in"]
    return frame


def mentions_table(mentions: Iterable[Mention]) -> pd.DataFrame:
    """One row per mention; rows in record_order, keeping each record's extraction order."""
    mentions = list(mentions)
    if not mentions:
        return pd.DataFrame([], columns=MENTION_COLUMNS).astype({"sentence": "int64", "start": "int64", "end": "int64"})
    keys = {m.record_id: record_order(m.record_id) for m in mentions}  # once per record, not per mention
    ordered = sorted(mentions, key=lambda m: keys[m.record_id])  # stable: extraction order kept
    columns = {c: [getattr(m, c) for m in ordered] for c in MENTION_COLUMNS if c != "pmid"}
    pmids = {record_id: pmid_of(record_id) for record_id in keys}
    columns["pmid"] = [pmids[r] for r in columns["record_id"]]
    return pd.DataFrame(columns, columns=MENTION_COLUMNS)


def evidence_table(
    records: Iterable[Record], results: Iterable[ScreeningResult], mentions: Iterable[Mention], classes: Iterable[str]
) -> pd.DataFrame:
    """One row per included record; per entity class the distinct concepts with counts, most
    frequent first, ties by name (["ketamine [MESH:D007649] (12)", "esketamine (3)"]; the CSV joins
    them with "; "). Mentions with an identifier group by it, under the concept's name (the
    canonical form its mentions share most often, ties by name) followed by the identifier in
    brackets; mentions without one group by canonical form. Newest first, then in record_order; a
    record without a year comes last. pubmed_url is "" for a record without a PMID.

    `year` is the print publication year, else the electronic one. `design` comes from PubMed's
    publication types (study_design); the `study_design` column, when STUDY_DESIGN is among the
    classes, lists what the text says.
    """
    classes = list(classes)
    included = {r.record_id for r in results if r.decision == Decision.INCLUDE}
    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    names: dict[tuple[str, str], Counter] = defaultdict(Counter)  # (label, identifier) -> canonicals
    for m in mentions:
        if m.record_id in included:
            counts[(m.record_id, m.label)][m.identifier or m.canonical] += 1
            if m.identifier:
                names[(m.label, m.identifier)][m.canonical] += 1
    display: dict[tuple[str, str], str] = {
        key: f"{min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0]} [{key[1]}]" for key, c in names.items()
    }
    rows = []
    seen: set[str] = set()
    for rec in records:
        record_id = rec.record_id
        if record_id not in included or record_id in seen:
            continue
        seen.add(record_id)
        row = {
            "pmid": rec.pmid,
            "doi": rec.doi,
            "pubmed_url": PUBMED_URL.format(rec.pmid) if rec.pmid else "",
            "first_author": rec.authors[0].display_name if rec.authors else "",
            "year": rec.pub_year if rec.pub_year is not None else rec.article_year,
            "journal": rec.journal,
            "title": rec.title,
            "publication_types": list(rec.publication_types),
            "design": study_design(rec.publication_types),
            "languages": list(rec.languages),
        }
        for label in classes:
            shown = [(display.get((label, key), key), n) for key, n in counts[(record_id, label)].items()]
            row[label.lower()] = [f"{name} ({n})" for name, n in sorted(shown, key=lambda kv: (-kv[1], kv[0]))]
        row["record_id"] = record_id
        rows.append(row)
    rows.sort(key=lambda r: (r["year"] is None, -(r["year"] or 0), record_order(r["record_id"])))
    columns = EVIDENCE_BASE_COLUMNS + [c.lower() for c in classes] + ["record_id"]
    data = {c: [row[c] for row in rows] for c in columns} if rows else []
    frame = pd.DataFrame(data, columns=columns).astype({"year": "Int64"})
    frame.attrs["list_columns"] = ["publication_types", "languages"] + [c.lower() for c in classes]
    return frame


def in_table_order(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of table `name` ("records", "evidence" or "mentions") put back in the order its
    builder above gives them, from any order that keeps a record's rows in their order (a Parquet
    dataset whose parts follow the input files: outputs/datasets.py). A frame without record_id
    (an older release's) or of another table is returned as it is."""
    if "record_id" not in frame.columns or name not in ("records", "evidence", "mentions") or frame.empty:
        return frame
    ids = frame["record_id"].astype(str)
    ranks = {record_id: i for i, record_id in enumerate(sorted(set(ids), key=record_order))}
    keys = pd.DataFrame({"rank": ids.map(ranks).to_numpy()})
    columns = ["rank"]
    if name == "evidence":  # newest first, a record without a year last
        year = pd.to_numeric(frame["year"], errors="coerce").reset_index(drop=True)
        keys["no_year"], keys["minus_year"] = year.isna(), -year.fillna(0)
        columns = ["no_year", "minus_year", "rank"]
    order = keys.sort_values(columns, kind="stable").index.to_numpy()
    ordered = frame.iloc[order].reset_index(drop=True)
    ordered.attrs = dict(frame.attrs)
    return ordered
