"""An in-memory output folder for report tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.outputs.folder import Outputs

PRISMA = {
    "identification": {
        "records_identified": {"PubMed": 10},
        "duplicate_records_removed": 1,
        "records_quarantined_unreadable": 0,
    },
    "screening": {
        "records_screened": 9,
        "records_excluded_by_automation": 3,
        "excluded_by_reason": {"language-not-included": 1, "published-before-range": 2},
        "records_needing_human_review": 2,
    },
    "included": {"records_included": 4},
}


def outputs_with(evidence_rows: list[dict], run: dict | None = None) -> Outputs:
    base = {
        "pmid": "1",
        "doi": "",
        "pubmed_url": "https://pubmed.ncbi.nlm.nih.gov/1/",
        "first_author": "",
        "year": 2020,
        "journal": "J",
        "title": "T",
        "publication_types": [],
        "design": "",
        "languages": [],
        "drug": [],
    }
    rows = [{**base, **row} for row in evidence_rows]
    for row in rows:  # record_id as tables.evidence_table writes it, unless the test gives one
        row.setdefault("record_id", f"pmid:{row['pmid']}" if row["pmid"] else "")
    evidence = pd.DataFrame(rows, columns=[*base, "record_id"]).astype({"year": "Int64"})
    mentions = pd.DataFrame({"pmid": ["1"], "label": ["DRUG"], "canonical": ["<b>ketamine</b>"]})
    return Outputs(
        folder=Path("/out"),
        run=run or {"status": "completed", "review": "r", "query": "q"},
        prisma=PRISMA,
        records=pd.DataFrame(),
        evidence=evidence,
        mentions=mentions,
    )
