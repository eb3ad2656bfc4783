"""The summary of a run that `show` prints and `report.html` shows: pure functions over Outputs.

counts per stage (from run.json and prisma.json), the most mentioned terms per entity class (from
the mentions table), the newest included records (from the evidence table), and renderers for the
terminal (table), machines (json) and spreadsheets (csv).
"""

from __future__ import annotations

import csv
import io
import json
import re
import textwrap
from collections import Counter

import pandas as pd

from pipeline.config import ENTITY_CLASSES
from pipeline.outputs.folder import Outputs

# (key in summary["counts"], label people read), in the order a PRISMA flow goes.
STAGES = (
    ("identified", "Records identified (PubMed)"),
    ("retrieved", "Records retrieved"),
    ("quarantined", "Records unreadable (quarantined)"),
    ("duplicates", "Duplicates removed"),
    # Not PRISMA's "Records screened" (what reaches people, prisma.json): every record the rules judged.
    ("screened", "Checked against the criteria"),
    ("excluded", "Excluded by the criteria"),
    ("needs_review", "Needing human review"),
    ("included", "Included"),
    ("mentions", "Entity mentions in included records"),
)
FORMATS = ("table", "json", "csv")


def entity_classes(evidence: pd.DataFrame) -> list[str]:
    """The entity classes the run extracted, in the config's order (the evidence table's columns)."""
    return [c for c in ENTITY_CLASSES if c.lower() in evidence.columns]


def stage_labels(run: dict, prisma: dict) -> dict[str, str]:
    """STAGES' labels, "identified" naming the databases the run searched (never "PubMed" for a
    review of local files)."""
    databases = run.get("databases") or prisma.get("identification", {}).get("records_identified") or {}
    labels = dict(STAGES)
    if databases:
        labels["identified"] = "Records identified in " + ", ".join(databases)
    return labels


def stage_counts(run: dict, prisma: dict) -> dict[str, int]:
    """Counts per stage, keyed as in STAGES."""
    counts = run.get("counts", {})
    got = {key: int(counts.get(key, 0)) for key, _ in STAGES if key != "quarantined"}
    ident = prisma.get("identification", {})
    other = ident.get("records_removed_before_screening", {}).get("other_reasons", {}).get("by_reason", {})
    # prisma.json before the PRISMA 2020 template layout kept the count in its own key.
    got["quarantined"] = int(other.get("unreadable-record", ident.get("records_quarantined_unreadable", 0)))
    return {key: got[key] for key, _ in STAGES}


def excluded_by_reason(prisma: dict) -> dict[str, int]:
    """The screening rules' exclusions per reason ("marked as ineligible by automation tools")."""
    removed = prisma.get("identification", {}).get("records_removed_before_screening")
    if removed is None:  # prisma.json before the PRISMA 2020 template layout
        return dict(prisma.get("screening", {}).get("excluded_by_reason", {}))
    return dict(removed.get("marked_ineligible_by_automation", {}).get("by_reason", {}))


def top_mentions(mentions: pd.DataFrame, classes: list[str], top: int) -> dict[str, list[dict]]:
    """Per class, the `top` canonical terms by number of mentions (ties: more records, then name),
    with how many included records mention each. Classes without mentions get an empty list."""
    result: dict[str, list[dict]] = {label: [] for label in classes}
    times: dict[str, Counter] = {label: Counter() for label in classes}
    records: dict[str, Counter] = {label: Counter() for label in classes}
    for label, canonical, pmid_count, n in _grouped(mentions):
        if label in times:
            times[label][canonical] += n
            records[label][canonical] += pmid_count
    for label in classes:
        ranked = sorted(times[label], key=lambda t: (-times[label][t], -records[label][t], t))
        result[label] = [{"term": t, "mentions": times[label][t], "records": records[label][t]} for t in ranked[:top]]
    return result


def _grouped(mentions: pd.DataFrame):
    if mentions.empty:
        return []
    # record_id since tables have it; an output folder of an older release has pmid only.
    key = "record_id" if "record_id" in mentions.columns else "pmid"
    grouped = mentions.groupby(["label", "canonical"], sort=True).agg(records=(key, "nunique"), mentions=(key, "size"))
    return [(label, canonical, int(row.records), int(row.mentions)) for (label, canonical), row in grouped.iterrows()]


def newest_included(evidence: pd.DataFrame, limit: int) -> list[dict]:
    """The first `limit` rows of the evidence table (it is sorted newest first, then by PMID)."""
    rows = []
    for row in evidence.head(limit).itertuples(index=False):
        rows.append(
            {
                "pmid": row.pmid,
                "year": None if pd.isna(row.year) else int(row.year),
                "first_author": row.first_author,
                "design": row.design,
                "journal": row.journal,
                "title": row.title,
            }
        )
    return rows


def summarise(outputs: Outputs, top: int = 5, newest: int = 10) -> dict:
    """The whole summary as plain JSON-ready values."""
    run = outputs.run
    return {
        "review": run.get("review", ""),
        "folder": str(outputs.folder),
        "run_id": run.get("run_id", ""),
        "status": run.get("status", ""),
        "error": run.get("error", ""),
        "started_at": run.get("started_at", ""),
        "finished_at": run.get("finished_at", ""),
        "query": run.get("query", ""),
        "query_translation": run.get("query_translation", ""),
        "counts": stage_counts(run, outputs.prisma),
        "labels": stage_labels(run, outputs.prisma),
        "excluded_by_reason": excluded_by_reason(outputs.prisma),
        "top_mentions": top_mentions(outputs.mentions, entity_classes(outputs.evidence), top),
        "newest_included": newest_included(outputs.evidence, newest),
        "human_screening": run.get("human_screening"),
    }


def render(summary: dict, fmt: str) -> str:
    """The summary as text in one of FORMATS, safe to print on a terminal.

    Titles and terms come from PubMed and can carry control characters (terminal escapes) and
    bidirectional overrides that would disguise what is printed: the table and CSV drop them, the
    JSON escapes them (\\uXXXX), so it still holds the exact text.
    """
    if fmt == "json":
        text = json.dumps(summary, indent=2, ensure_ascii=False) + "\n"
        # Structural whitespace is only newlines and spaces, which _UNSAFE leaves alone.
        return _UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)
    summary = _safe(summary)
    if fmt == "csv":
        return render_csv(summary)
    return render_table(summary)


# C0 and C1 control characters (but newline and tab) and the bidirectional controls (embeddings,
# overrides, isolates and marks), which a terminal obeys instead of showing.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """`text` without control or bidirectional-control characters (newlines and tabs stay)."""
    return _UNSAFE.sub("", text)


def _safe(value):
    if isinstance(value, str):
        return terminal_safe(value)
    if isinstance(value, dict):
        return {_safe(k): _safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_safe(v) for v in value]
    return value


def render_table(summary: dict, width: int = 100) -> str:
    """Plain-text tables for a terminal: counts, exclusion reasons, top terms, newest records."""
    lines = [
        f"Review {summary['review']}: run {summary['run_id']} {summary['status']}"
        f" ({summary['started_at']} to {summary['finished_at']})"
    ]
    if summary["status"] != "completed":
        lines.append(
            f"  The last run did not complete ({summary['error'] or 'no error recorded'}); "
            "the tables below are from the last run that did."
        )
    lines += [f"Query: {summary['query']}", "", "Counts per stage"]
    labels = summary.get("labels") or dict(STAGES)
    # The column fits the standard labels; a long database name only pushes its own line's count.
    size = max(len(v) for v in dict(STAGES).values())
    for key, value in summary["counts"].items():
        lines.append(f"  {labels[key]:<{size}}  {value:>7}")
        if key == "excluded":
            for reason, n in summary["excluded_by_reason"].items():
                lines.append(f"    {reason:<{size - 2}}  {n:>7}")
    people = summary.get("human_screening")
    if people:
        lines += ["", f"Screening by people ({people['mode']}: {', '.join(people['reviewers'])})"]
        for label, key in (
            ("Records reaching people", "records_reaching_people"),
            ("Screened", "records_screened"),
            ("Included", "records_included"),
            ("Excluded", "records_excluded"),
        ):
            lines.append(f"  {label:<{size}}  {people[key]:>7}")
        for reason, n in people["excluded_by_reason"].items():
            lines.append(f"    {reason:<{size - 2}}  {n:>7}")
        waiting = ", ".join(f"{n} {why}" for why, n in people["awaiting"].items() if n)
        lines.append(
            f"  {'Still awaiting screening':<{size}}  {people['records_awaiting_screening']:>7}"
            + (f"  ({waiting})" if waiting else "")
        )
    lines += ["", "Top mentions per class (mentions / records)"]
    for label, terms in summary["top_mentions"].items():
        text = ", ".join(f"{t['term']} {t['mentions']}/{t['records']}" for t in terms) or "-"
        lines += textwrap.wrap(
            text, width, initial_indent=f"  {label:<15} ", subsequent_indent=" " * 18, break_on_hyphens=False
        )
    included = people["records_included"] if people else summary["counts"]["included"]
    lines += [
        "",
        f"Newest included records ({len(summary['newest_included'])} of {included}"
        + (", included by people)" if people else ")"),
    ]
    for r in summary["newest_included"]:
        year = r["year"] if r["year"] is not None else "----"
        lines.append(_clip(f"  {r['pmid']:<9} {year}  {r['design'] or '-':<27} {r['title']}", width))
    return "\n".join(lines) + "\n"


def render_csv(summary: dict) -> str:
    """One long table: section, key, name, value. Counts are `counts,<stage>,,<n>`; exclusion
    reasons `excluded,<reason>,,<n>`; terms `mentions,<CLASS>,<term>,<mentions>`; records
    `newest,<pmid>,<title>,<year>`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["section", "key", "name", "value"])
    for key, value in summary["counts"].items():
        writer.writerow(["counts", key, "", value])
    for reason, n in summary["excluded_by_reason"].items():
        writer.writerow(["excluded", reason, "", n])
    for label, terms in summary["top_mentions"].items():
        for t in terms:
            writer.writerow(["mentions", label, t["term"], t["mentions"]])
    for r in summary["newest_included"]:
        writer.writerow(["newest", r["pmid"], r["title"], "" if r["year"] is None else r["year"]])
    return buffer.getvalue()


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
