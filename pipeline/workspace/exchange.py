"""Decisions in and out: import screening decisions made elsewhere (our CSV, ASReview and Rayyan
exports), export the decision log as CSV or RIS.

Imports are all or nothing: every decision must name a record of the screening queue (by record_id,
PMID, DOI or, last, a title no other record shares); any that does not is reported with where it is
in the file (line, record number or ASReview's record id) and nothing is stored. The format is told
by the content, never by the file name.
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
from pipeline.workspace.ris import read_ris
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
    unit: str = "rows"  # what the problems' count counts: rows (CSV) or records (RIS, ASReview)


def _normalise_doi(doi: str) -> str:
    doi = doi.strip().lower()
    for prefix in ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/", "doi:"):
        doi = doi.removeprefix(prefix)
    return doi.strip()


def _normalise_title(title: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", title.casefold()).split())


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


class Matcher:
    """Finds the queue's record an imported row names: by our record_id, PMID (or a PubMed URL),
    DOI, and last by title (only a title no other queued record shares)."""

    def __init__(self, queue: dict):
        self.queue = queue
        self.by_pmid = {q.record.pmid: rid for rid, q in queue.items() if q.record.pmid}
        self.by_doi = {_normalise_doi(q.record.doi): rid for rid, q in queue.items() if q.record.doi}
        titles: dict[str, list[str]] = {}
        for rid, q in queue.items():
            titles.setdefault(_normalise_title(q.record.title), []).append(rid)
        self.by_title = {t: rids[0] for t, rids in titles.items() if t and len(rids) == 1}

    def find(self, record_id: str = "", pmid: str = "", doi: str = "", url: str = "", title: str = ""):
        """(record_id or None, the identifiers tried, for the message when none matched)."""
        tried = []
        if ":" in record_id:
            tried.append(record_id)
            if record_id in self.queue:
                return record_id, tried
        match = _PUBMED_URL.search(url)
        pmid = pmid.strip() or (match.group(1) if match else "")
        if pmid:
            tried.append(f"PMID {pmid}")
            if pmid in self.by_pmid:
                return self.by_pmid[pmid], tried
        if doi.strip():
            tried.append(f"DOI {doi.strip()}")
            if _normalise_doi(doi) in self.by_doi:
                return self.by_doi[_normalise_doi(doi)], tried
        if title.strip():
            shown = title.strip() if len(title.strip()) <= 60 else title.strip()[:57] + "..."
            tried.append(f"title {shown!r}")
            if _normalise_title(title) in self.by_title:
                return self.by_title[_normalise_title(title)], tried
        return None, tried


def _unknown(where: str, tried: list[str]) -> str:
    return f"{where}: {' / '.join(tried) or 'no identifier'} is not a record of this review's screening queue"


def import_decisions(workspace: Workspace, path: Path, reviewer: str | None = None) -> ImportReport:
    """Read `path` and store its decisions as imports, all or nothing. The format is told by the
    content: a zip archive is an ASReview project file (.asreview), text starting with RIS tags is a
    Rayyan RIS export, anything else a CSV (ours, ASReview LAB's or Rayyan's export)."""
    data = path.read_bytes()
    if data[:4] == b"PK\x03\x04":
        report, entries = _from_asreview_project(workspace, path, reviewer)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise WorkspaceError(f"{path}: not UTF-8 text. Save the file as UTF-8 CSV.") from None
        if _RIS_START.match(text.lstrip()):
            report, entries = _from_ris(workspace, path, text, reviewer)
        else:
            report, entries = _from_csv(workspace, path, text, reviewer)
    if not report.problems:
        workspace.log.append_many(entries)
        report.imported = len(entries)
    return report


def _entry(workspace: Workspace, rid: str, name: str, decision: str, reason: str, note: str) -> HumanDecision:
    now = workspace.clock().isoformat(timespec="seconds")
    content_hash = workspace.queue()[rid].content_hash
    return HumanDecision(0, rid, name, decision, reason, note, content_hash, now, "import")


def _check_name(workspace: Workspace, name: str, where: str, problems: list[str]) -> bool:
    if name in workspace.people.reviewers:
        return True
    problems.append(
        f"{where}: reviewer {name!r} is not in the config's reviewers "
        f"({', '.join(workspace.people.reviewers)}); pass --reviewer NAME"
    )
    return False


def _from_csv(workspace: Workspace, path: Path, text: str, reviewer: str | None):
    rows = list(csv.DictReader(io.StringIO(text)))
    columns = {c.strip().lower(): c for c in (rows[0].keys() if rows else []) if c is not None}
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
    matcher = Matcher(workspace.queue())
    report = ImportReport(fmt)
    entries: list[HumanDecision] = []
    for line, row in enumerate(rows, start=2):
        get = _getter(row, columns)
        where = f"line {line}"
        if rayyan and not _rayyan_votes(get("notes")):
            continue  # nobody decided this record in Rayyan
        rid, tried = matcher.find(
            get("record_id"),
            get("pmid") or get("pubmed_id"),
            get("doi"),
            get("url"),
            get("title") or get("primary_title"),
        )
        if rid is None:
            report.problems.append(_unknown(where, tried))
            continue
        if rayyan:
            entries += _rayyan_entries(workspace, rid, get("notes"), reviewer, where, report.problems)
            continue
        label = get(label_column.strip().lower())
        if label == "" and fmt == "asreview":
            continue  # unlabelled in ASReview: not screened
        decision = _label(label)
        if decision is None:
            report.problems.append(f"{where}: decision {label!r} is not include or exclude")
            continue
        name = reviewer or get("reviewer")
        if _check_name(workspace, name, where, report.problems):
            reason = get("reason") if decision == "exclude" else ""
            entries.append(_entry(workspace, rid, name, decision, reason, get("note")))
    return report, entries


def _getter(row: dict, columns: dict[str, str]):
    """Read a column of `row` by its lower-case name, stripped; "" when absent."""
    return lambda name: (row.get(columns.get(name, ""), "") or "").strip()


# -- Rayyan: each member's vote in the notes (CSV `notes` column, RIS `N1`)


def _rayyan_section(notes: str, name: str) -> str:
    """The text after `RAYYAN-<name>:` up to the next ` | ` section, "" when absent."""
    found = re.search(rf"RAYYAN-{name}:\s*(.*?)\s*(?:\|\s*(?:RAYYAN-[A-Z-]+|USER-NOTES):|$)", notes, re.S)
    return found.group(1).strip() if found else ""


def _rayyan_votes(notes: str) -> list[tuple[str, str]]:
    found = _RAYYAN_INCLUSION.search(notes)
    if not found:
        return []
    return [
        (name, _RAYYAN_DECISIONS[v.lower()])
        for name, v in _RAYYAN_VOTE.findall(found.group(1))
        if v.lower() in _RAYYAN_DECISIONS
    ]


def _rayyan_user_notes(notes: str) -> dict[str, str]:
    """USER-NOTES: {"Ana"=>["check later", "dose?"]} -> {"Ana": "check later; dose?"}."""
    found = re.search(r"USER-NOTES:\s*\{(.*)\}", notes, re.S)
    if not found:
        return {}
    return {
        name: "; ".join(re.findall(r'"((?:[^"\\]|\\.)*)"', items))
        for name, items in re.findall(r'"([^"]+)"\s*=>\s*\[(.*?)\]', found.group(1), re.S)
    }


def _rayyan_entries(workspace, rid, notes, reviewer, where, problems) -> list[HumanDecision]:
    """One entry per member's vote; a member is matched to the config's reviewers by name (any
    case); --reviewer stands for the only voter of a record."""
    votes = _rayyan_votes(notes)
    reasons = "; ".join(r.strip() for r in _rayyan_section(notes, "EXCLUSION-REASONS").split(",") if r.strip())
    user_notes = _rayyan_user_notes(notes)
    known = {r.casefold(): r for r in workspace.people.reviewers}
    out = []
    for member, decision in votes:
        name = known.get(member.casefold(), member)
        if reviewer and (len(votes) == 1 or name == reviewer):
            name = reviewer
        if _check_name(workspace, name, where, problems):
            out.append(
                _entry(
                    workspace, rid, name, decision, reasons if decision == "exclude" else "", user_notes.get(member, "")
                )
            )
    return out


_RIS_START = re.compile(r"^(?:\ufeff)?[A-Z][A-Z0-9]  -")


def _from_ris(workspace: Workspace, path: Path, text: str, reviewer: str | None):
    """Rayyan's RIS export: each record's votes in its N1 notes (RAYYAN-INCLUSION ...)."""
    if "RAYYAN-INCLUSION" not in text:
        raise WorkspaceError(
            f"{path}: an RIS file without screening decisions (no RAYYAN-INCLUSION note in any record). "
            "Export from Rayyan with the decisions included, or import a CSV with a decision column."
        )
    entries_in = read_ris(text)
    matcher = Matcher(workspace.queue())
    report = ImportReport("rayyan-ris", unit="records")
    entries: list[HumanDecision] = []
    for number, (line, tags) in enumerate(entries_in, start=1):
        first = lambda tag: (tags.get(tag) or [""])[0]  # noqa: E731
        where = f"record {number} (line {line})"
        notes = " | ".join(tags.get("N1", []))
        an = first("AN")
        rid, tried = matcher.find(
            record_id=an if ":" in an else "",
            pmid=an if an.isdigit() else "",
            doi=first("DO"),
            url=" ".join(tags.get("UR", []) + tags.get("L2", [])),
            title=first("TI") or first("T1"),
        )
        if not _rayyan_votes(notes):
            continue  # nobody decided this record in Rayyan
        if rid is None:
            report.problems.append(_unknown(where, tried))
            continue
        entries += _rayyan_entries(workspace, rid, notes, reviewer, where, report.problems)
    return report, entries


# -- ASReview LAB project files


def _from_asreview_project(workspace: Workspace, path: Path, reviewer: str | None):
    from pipeline.workspace.asreview_project import read_project

    if not reviewer:
        raise WorkspaceError(
            f"{path}: an ASReview project does not record who screened; pass --reviewer NAME "
            f"(one of: {', '.join(workspace.people.reviewers)})."
        )
    workspace.check_reviewer(reviewer)
    project = read_project(path)
    matcher = Matcher(workspace.queue())
    report = ImportReport(f"asreview-project (ASReview LAB {project.version})", unit="records")
    entries: list[HumanDecision] = []
    for labelled in project.labelled:
        rid, tried = matcher.find(**labelled.identifiers)
        if rid is None:
            report.problems.append(_unknown(f"ASReview record {labelled.asreview_id}", tried))
            continue
        decision = "include" if labelled.label == 1 else "exclude"
        entries.append(_entry(workspace, rid, reviewer, decision, "", labelled.note))
    return report, entries


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
