"""Decisions in and out: import screening decisions made elsewhere (our CSV, ASReview and Rayyan
exports), export the decision log as CSV or RIS.

Imports are all or nothing: every row must name a record of the screening queue (by record_id, PMID
or DOI) and a decision; any row that does not is reported with its line number and nothing is stored.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import WorkspaceError
from pipeline.models import HumanDecision
from pipeline.screening import human
from pipeline.workspace.service import Workspace

EXPORT_COLUMNS = [
    "seq",
    "record_id",
    "pmid",
    "doi",
    "title",
    "reviewer",
    "role",
    "decision",
    "reason",
    "note",
    "decided_at",
    "content_hash",
    "undoes",
    "in_force",
]
LABEL_COLUMNS = ("decision", "asreview_label", "included", "label_included", "label")
_PUBMED_URL = re.compile(r"(?:pubmed\.ncbi\.nlm\.nih\.gov/|ncbi\.nlm\.nih\.gov/pubmed/)(\d+)")
_RAYYAN_INCLUSION = re.compile(r"RAYYAN-INCLUSION:\s*\{([^}]*)\}")
_RAYYAN_REASONS = re.compile(r"RAYYAN-EXCLUSION-REASONS:\s*([^|]*)")
_RAYYAN_VOTE = re.compile(r'"([^"]+)"\s*=>\s*"([^"]+)"')
_RAYYAN_DECISIONS = {"included": "include", "excluded": "exclude", "maybe": "maybe"}


@dataclass
class ImportReport:
    format: str
    imported: int = 0
    problems: list[str] = field(default_factory=list)


def _normalise_doi(doi: str) -> str:
    doi = doi.strip().lower()
    for prefix in ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "doi:"):
        doi = doi.removeprefix(prefix)
    return doi


def _label(value: str) -> str | None:
    v = value.strip().lower()
    return {
        "include": "include",
        "included": "include",
        "1": "include",
        "1.0": "include",
        "yes": "include",
        "exclude": "exclude",
        "excluded": "exclude",
        "0": "exclude",
        "0.0": "exclude",
        "no": "exclude",
        "maybe": "maybe",
    }.get(v)


def import_decisions(workspace: Workspace, path: Path, reviewer: str | None = None) -> ImportReport:
    """Read `path` (CSV: ours, ASReview's or Rayyan's export) and store its decisions as imports."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise WorkspaceError(f"{path}: not UTF-8 text. Save the file as UTF-8 CSV.") from None
    rows = list(csv.DictReader(io.StringIO(text)))
    columns = {c.strip().lower(): c for c in (rows[0].keys() if rows else [])}
    rayyan = "notes" in columns and "RAYYAN-INCLUSION" in text
    fmt = "rayyan" if rayyan else ("asreview" if {"asreview_label", "included"} & set(columns) else "csv")
    if not rows:
        raise WorkspaceError(f"{path}: no rows.")
    if not ({"record_id", "pmid", "doi", "url", "pubmed_id"} & set(columns)):
        raise WorkspaceError(f"{path}: no record_id, pmid or doi column; add one so each decision names its record.")
    label_column = next((columns[c] for c in LABEL_COLUMNS if c in columns), None)
    if not rayyan and label_column is None:
        raise WorkspaceError(
            f"{path}: no decision column (decision = include/exclude, or ASReview's asreview_label/included = 1/0)."
        )
    queue = workspace.queue()
    by_pmid = {q.record.pmid: rid for rid, q in queue.items() if q.record.pmid}
    by_doi = {_normalise_doi(q.record.doi): rid for rid, q in queue.items() if q.record.doi}
    report = ImportReport(fmt)
    entries: list[HumanDecision] = []
    now = workspace.clock().isoformat(timespec="seconds")
    for line, row in enumerate(rows, start=2):
        get = _getter(row, columns)
        rid = None
        ids = []
        if ":" in get("record_id"):
            ids.append(get("record_id"))
            rid = get("record_id") if get("record_id") in queue else None
        pmid = get("pmid") or get("pubmed_id")
        match = _PUBMED_URL.search(get("url"))
        pmid = pmid or (match.group(1) if match else "")
        if rid is None and pmid:
            ids.append(f"PMID {pmid}")
            rid = by_pmid.get(pmid)
        if rid is None and get("doi"):
            ids.append(f"DOI {get('doi')}")
            rid = by_doi.get(_normalise_doi(get("doi")))
        if rid is None:
            report.problems.append(
                f"line {line}: {' / '.join(ids) or 'no identifier'} is not a record of this review's screening queue"
            )
            continue
        if rayyan:
            votes = _rayyan_votes(get("notes"))
            if not votes:
                continue  # a record nobody decided in Rayyan
            reasons = _RAYYAN_REASONS.search(get("notes"))
            reason = reasons.group(1).strip() if reasons else ""
            decided = [(name, d, reason if d == "exclude" else "") for name, d in votes]
        else:
            label = get(label_column.strip().lower()) if label_column else ""
            if label == "" and fmt == "asreview":
                continue  # unlabelled in ASReview: not screened
            decision = _label(label)
            if decision is None:
                report.problems.append(f"line {line}: decision {label!r} is not include or exclude")
                continue
            name = get("reviewer") or reviewer or ""
            decided = [(name, decision, get("reason") if decision == "exclude" else "")]
        for name, decision, reason in decided:
            name = reviewer or name
            if name not in workspace.people.reviewers:
                report.problems.append(
                    f"line {line}: reviewer {name!r} is not in the config's reviewers "
                    f"({', '.join(workspace.people.reviewers)}); pass --reviewer NAME"
                )
                continue
            entries.append(
                HumanDecision(0, rid, name, decision, reason, get("note"), queue[rid].content_hash, now, "import")
            )
    if not report.problems:
        workspace.log.append_many(entries)
        report.imported = len(entries)
    return report


def _getter(row: dict, columns: dict[str, str]):
    """Read a column of `row` by its lower-case name, stripped; "" when absent."""
    return lambda name: (row.get(columns.get(name, ""), "") or "").strip()


def _rayyan_votes(notes: str) -> list[tuple[str, str]]:
    found = _RAYYAN_INCLUSION.search(notes)
    if not found:
        return []
    return [
        (name, _RAYYAN_DECISIONS[v.lower()])
        for name, v in _RAYYAN_VOTE.findall(found.group(1))
        if v.lower() in _RAYYAN_DECISIONS
    ]


def export_decisions(workspace: Workspace, fmt: str, path: Path | None = None) -> tuple[Path, int]:
    """Write the whole decision log (CSV), or the records with their outcome (RIS, for reference
    managers: the decision in N1, the reason in N1 too). Returns the path and the number of rows."""
    from pipeline.outputs.files import atomic_write
    from pipeline.outputs.ris import ris_entry

    path = path or workspace.out / f"decisions.{fmt}"
    queue = workspace.queue()
    entries = workspace.entries()
    if fmt == "csv":
        live = {e.seq for e in human.in_force(entries)}
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for e in entries:
            q = queue.get(e.record_id)
            writer.writerow(
                {
                    "seq": e.seq,
                    "record_id": e.record_id,
                    "pmid": q.record.pmid if q else "",
                    "doi": q.record.doi if q else "",
                    "title": q.record.title if q else "",
                    "reviewer": e.reviewer,
                    "role": e.role,
                    "decision": e.decision,
                    "reason": e.reason,
                    "note": e.note,
                    "decided_at": e.decided_at,
                    "content_hash": e.content_hash,
                    "undoes": e.undoes or "",
                    "in_force": e.seq in live,
                }
            )
        atomic_write(path, buffer.getvalue().encode("utf-8"))
        return path, len(entries)
    outcomes = human.outcomes(entries, workspace.people.mode)
    decided = [q for rid, q in queue.items() if rid in outcomes and outcomes[rid].decision]
    parts = []
    for q in decided:
        o = outcomes[q.record_id]
        by = ", ".join(o.screened_by) + (f"; resolved by {o.resolved_by}" if o.resolved_by else "")
        note = f"screening: {o.decision}" + (f" ({o.reason})" if o.reason else "") + f" by {by}"
        parts.append(ris_entry(q.record, notes=[note]))
    atomic_write(path, "".join(parts).encode("utf-8"))
    return path, len(decided)
