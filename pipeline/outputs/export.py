"""export: the records a person must decide on, as RIS or CSV, to screen them in another tool.

`needs-review` is the rules' doubts; `included` the records meeting every criterion; `all` both,
every record retained for screening by people (exclusions and duplicates are never exported).
Records come from the review's committed state (state.sqlite), so abstracts and authors are
complete; each carries its screening decision and reason (a CSV column, an RIS N1 note).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping

import pandas as pd

from pipeline.errors import OutputsNotFound
from pipeline.models import Decision, Record, ScreeningResult, record_order
from pipeline.outputs import ris
from pipeline.outputs.files import atomic_write, csv_bytes
from pipeline.outputs.tables import PUBMED_URL
from pipeline.store.state import STATE_FILE, StateStore

WHAT = {
    "needs-review": (Decision.NEEDS_REVIEW,),
    "included": (Decision.INCLUDE,),
    "all": (Decision.INCLUDE, Decision.NEEDS_REVIEW),
}
FORMATS = ("ris", "csv")
CSV_COLUMNS = [
    "record_id",
    "pmid",
    "decision",
    "reason",
    "deciding_field",
    "deciding_value",
    "retracted",
    "title",
    "abstract",
    "authors",
    "year",
    "journal",
    "volume",
    "issue",
    "pages",
    "doi",
    "pmcid",
    "pubmed_url",
    "doi_url",
    "publication_types",
    "languages",
    "keywords",
]


def select(
    records: Iterable[Record], decisions: Mapping[str, ScreeningResult], what: str
) -> list[tuple[Record, ScreeningResult]]:
    """The (record, decision) pairs `what` names, in table order (PMIDs numerically, then other
    record ids), keyed by record_id (pure). Raises ValueError for an unknown `what`."""
    if what not in WHAT:
        raise ValueError(f"what must be one of {', '.join(WHAT)}, not {what!r}")
    wanted = WHAT[what]
    pairs = [
        (r, decisions[r.record_id])
        for r in records
        if r.record_id in decisions and decisions[r.record_id].decision in wanted
    ]
    return sorted(pairs, key=lambda pair: record_order(pair[0].record_id))


def csv_table(pairs: Iterable[tuple[Record, ScreeningResult]]) -> pd.DataFrame:
    """One row per record: its decision, full text fields, authors ("Last, First; ...") and links."""
    rows = []
    for rec, res in pairs:
        rows.append(
            {
                "record_id": rec.record_id,
                "pmid": rec.pmid,
                "decision": res.decision.value,
                "reason": res.reason,
                "deciding_field": res.field,
                "deciding_value": res.value,
                "retracted": "retracted" in res.flags,
                "title": rec.title,
                "abstract": rec.abstract,
                "authors": "; ".join(ris._author(a) for a in rec.authors),
                "year": rec.pub_year if rec.pub_year is not None else rec.article_year,
                "journal": rec.journal,
                "volume": rec.volume,
                "issue": rec.issue,
                "pages": rec.pages,
                "doi": rec.doi,
                "pmcid": rec.pmcid,
                "pubmed_url": PUBMED_URL.format(rec.pmid) if rec.pmid else "",
                "doi_url": f"https://doi.org/{rec.doi}" if rec.doi else "",
                "publication_types": list(rec.publication_types),
                "languages": list(rec.languages),
                "keywords": list(rec.keywords),
            }
        )
    return pd.DataFrame(rows, columns=CSV_COLUMNS).astype({"year": "Int64", "retracted": "bool"})


def ris_export(pairs: Iterable[tuple[Record, ScreeningResult]]) -> str:
    """RIS of the records, each with an N1 note giving its screening decision and reason."""
    return "".join(ris.ris_entry(rec, notes=[f"Screening: {_describe(res)}"]) for rec, res in pairs)


def export_records(folder: Path, what: str, fmt: str, target: Path | None = None) -> tuple[Path, int]:
    """Write the `what` records of the review in `folder` as `fmt` to `target` (default
    <folder>/export-<what>.<fmt>); returns the file written and the number of records."""
    folder = Path(folder)
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if not (folder / STATE_FILE).is_file():
        raise OutputsNotFound(
            f"{folder}: no {STATE_FILE} here, so no run has written to this folder. Run "
            "`python -m pipeline run --config FILE` first, or pass the folder a run "
            "wrote with --out-dir DIR."
        )
    with StateStore.open(folder) as state:
        records = [rec for rec, _ in state.active_records().values()]
        pairs = select(records, state.decisions(), what)
    target = Path(target) if target is not None else folder / f"export-{what}.{fmt}"
    data = ris_export(pairs).encode("utf-8") if fmt == "ris" else csv_bytes(csv_table(pairs))
    atomic_write(target, data)
    return target, len(pairs)


def _describe(res: ScreeningResult) -> str:
    detail = res.reason + (f": {res.field} = {res.value}" if res.field else "")
    return f"{res.decision.value} ({detail})"
