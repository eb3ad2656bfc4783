"""PRISMA 2020 counts and flow diagram, computed from the run's screening results (pure).

`prisma_json` fills the boxes of the PRISMA 2020 flow diagram for new systematic reviews which
included searches of databases and registers, up to screening. The pipeline's rules are PRISMA's
"automation tools": the records they exclude are "Records marked as ineligible by automation tools",
one of the three kinds of "Records removed before screening" (with duplicates and records removed
for other reasons), each with a count per reason as the template's footnote asks. "Records
screened" counts what goes on to people: the records meeting every criterion and those in doubt.
"Records excluded" are people's exclusions (0 until a person has decided); the records nobody has
decided yet are shown beside them. `prisma_svg` draws the diagram from that dict alone, so the
picture can never disagree with the numbers.
"""

from __future__ import annotations

import logging
import re
import textwrap
from collections import Counter
from typing import Iterable, Mapping
from xml.sax.saxutils import escape

from pipeline.models import Decision, Record, RunSummary, ScreeningResult
from pipeline.screening.dedup import duplicate_id_count

log = logging.getLogger(__name__)

DUPLICATE_REASONS = ("duplicate-pmid", "duplicate-doi", "duplicate-title-year")
# Reasons only deduplication across several databases gives (screening/merge.py); counted when they occur.
CROSS_SOURCE_REASONS = ("duplicate-id", "duplicate-title-similar", "duplicate-preprint")
TEMPLATE = "PRISMA 2020 flow diagram for new systematic reviews which included searches of databases and registers"
SCOPE = (
    "Identification, removal before screening (duplicates, records marked as ineligible by the "
    "pipeline's screening rules as automation tools, unreadable records) and the records that go on "
    "to screening by people; retrieval of reports and eligibility assessment are not part of the run."
)
# Short phrases for the diagram; a reason without one is shown as its code.
LABELS = {
    "duplicate-pmid": "Same PMID returned again",
    "duplicate-doi": "Same DOI",
    "duplicate-title-year": "Same title and year",
    "duplicate-id": "Same identifier (PMCID, OpenAlex, WoS, Scopus, ...)",
    "duplicate-title-similar": "Near-identical title, year and author",
    "duplicate-preprint": "Preprint of a journal article",
    "publication-type-excluded": "Publication type excluded",
    "published-before-range": "Published before the date range",
    "published-after-range": "Published after the date range",
    "date-span-ambiguous": "Date spans the range boundary",
    "date-missing": "No usable publication date",
    "language-not-included": "Language not included",
    "language-undetermined": "Language undetermined (und)",
    "language-missing": "No language given",
    "abstract-missing": "No abstract",
    "unreadable-record": "Unreadable record (quarantined)",
}


def summarise(identified: int, records: list[Record], results: Iterable[ScreeningResult], mentions: int) -> RunSummary:
    """The run's counts per stage (run.json "counts"); duplicates include repeated PMIDs."""
    summary = RunSummary(identified=identified, retrieved=len(records), mentions=mentions)
    excluded: Counter = Counter()
    for r in results:
        if r.decision == Decision.DUPLICATE:
            summary.duplicates += 1
            continue
        summary.screened += 1
        if r.decision == Decision.INCLUDE:
            summary.included += 1
        elif r.decision == Decision.NEEDS_REVIEW:
            summary.needs_review += 1
        else:
            summary.excluded += 1
            excluded[r.reason] += 1
    summary.duplicates += duplicate_id_count(r.record_id for r in records)
    summary.excluded_by_reason = dict(sorted(excluded.items()))
    return summary


def prisma_json(
    identified: Mapping[str, int],
    results: Iterable[ScreeningResult],
    pmid_repeats: int = 0,
    unreadable: int = 0,
    review: str = "",
    removed_other: Mapping[str, int] | None = None,
    human: Iterable[ScreeningResult] = (),
    repeats_by_reason: Mapping[str, int] | None = None,
) -> dict:
    """The PRISMA 2020 boxes from identification to inclusion, each with its counts per reason.

    identified: records identified per database, e.g. {"PubMed": 812}; a source adds its own.
    results: the rules' decision for each distinct record (records.csv, keyed by record_id).
    pmid_repeats: PMIDs returned again after their first appearance (no row of their own). unreadable:
    records quarantined because they could not be parsed; removed_other: any further reason a
    record was removed before screening (reason -> count). human: people's decisions on records
    that reached screening (the latest per record; EXCLUDE counts in "records excluded").
    """
    results = list(results)
    duplicates = Counter({code: 0 for code in DUPLICATE_REASONS})
    if repeats_by_reason:
        # Several databases: the copies of one record_id, by the identifier they share (pmid_repeats
        # is then their total).
        duplicates.update(repeats_by_reason)
    else:
        duplicates["duplicate-pmid"] += pmid_repeats
    other = Counter(removed_other or {})
    if unreadable:
        other["unreadable-record"] += unreadable
    automation: Counter = Counter()
    awaiting: dict[str, str] = {}
    included: set[str] = set()
    for r in results:
        if r.decision == Decision.DUPLICATE:
            duplicates[r.reason] += 1
        elif r.decision == Decision.EXCLUDE:
            automation[r.reason] += 1
        elif r.decision == Decision.NEEDS_REVIEW:
            awaiting[_key(r)] = r.reason
        else:
            included.add(_key(r))
    screened = len(awaiting) + len(included)
    excluded: Counter = Counter()
    for h in human:
        key = _key(h)
        if key not in awaiting and key not in included:
            continue  # a decision on a record that did not reach screening this run
        awaiting.pop(key, None)
        if h.decision == Decision.EXCLUDE:
            included.discard(key)
            excluded[h.reason] += 1
        else:
            included.add(key)
    total = sum(identified.values())
    removed = sum(duplicates.values()) + sum(automation.values()) + sum(other.values())
    if total != removed + screened:
        log.warning(
            "PRISMA counts do not balance: %d identified, %d removed before screening, %d screened",
            total,
            removed,
            screened,
        )
    return {
        "prisma_version": "PRISMA 2020",
        "template": TEMPLATE,
        "review": review,
        "scope": SCOPE,
        "identification": {
            "records_identified": dict(identified),
            "records_identified_total": total,
            "registers": {},
            "records_removed_before_screening": {
                "total": removed,
                "duplicates": _reasons(duplicates, sort=False),
                "marked_ineligible_by_automation": _reasons(automation),
                "other_reasons": _reasons(other),
            },
        },
        "screening": {
            "records_screened": screened,
            "records_excluded": sum(excluded.values()),
            "records_excluded_by_reason": dict(sorted(excluded.items())),
            "records_awaiting_decision": len(awaiting),
            "awaiting_decision_by_reason": dict(sorted(Counter(awaiting.values()).items())),
        },
        "included": {"records_included": len(included)},
        "balanced": total == removed + screened,
    }


def _key(result: ScreeningResult) -> str:
    """The record a decision is about."""
    return result.record_id


def _reasons(counts: Mapping[str, int], sort: bool = True) -> dict:
    items = sorted(counts.items()) if sort else counts.items()
    return {"total": sum(counts.values()), "by_reason": dict(items)}


# --- the diagram ---------------------------------------------------------------------------------

WIDTH = 860
PHASE_W, GAP, BOX_W = 34, 24, 360
LEFT_X = PHASE_W + GAP
RIGHT_X = LEFT_X + BOX_W + 56
LINE_H, PAD, FONT = 18, 12, 13
ROW_GAP, STACK_GAP = 40, 16
WRAP = 46  # characters per line at FONT px in a BOX_W box (sans-serif, ~7 px a character)


def prisma_svg(prisma: Mapping) -> str:
    """A standalone SVG PRISMA 2020 flow diagram (identification, screening, included) drawn from `prisma`.

    The boxes and their names are the template's, up to what the run does. Plain SVG with no
    external fonts, styles or scripts, every text escaped, so it can be opened on its own or
    embedded in an HTML report.
    """
    ident, scr = prisma["identification"], prisma["screening"]
    removed_box = ident["records_removed_before_screening"]
    n = _n
    identified = ["Records identified from:", f"Databases (n = {n(ident['records_identified_total'])})"]
    identified += _reason_lines(ident["records_identified"], labels=False)
    registers = ident.get("registers", {})
    identified.append(f"Registers (n = {n(sum(registers.values()))})")
    identified += _reason_lines(registers, labels=False)
    removed = ["Records removed before screening:"]
    for key, name in (
        ("duplicates", "Duplicate records removed"),
        ("marked_ineligible_by_automation", "Records marked as ineligible by automation tools"),
        ("other_reasons", "Records removed for other reasons"),
    ):
        removed.append(f"{name} (n = {n(removed_box[key]['total'])})")
        removed += _reason_lines({k: v for k, v in removed_box[key]["by_reason"].items() if v})
    screened = [
        f"Records screened (n = {n(scr['records_screened'])})",
        "(meeting every criterion, or in doubt: for people to screen)",
    ]
    excluded = [f"Records excluded (n = {n(scr['records_excluded'])})"]
    excluded += _reason_lines(scr["records_excluded_by_reason"])
    awaiting = [f"Records awaiting a person's decision (n = {n(scr['records_awaiting_decision'])})"]
    awaiting += _reason_lines(scr["awaiting_decision_by_reason"])
    included = [
        f"Records included (n = {n(prisma['included']['records_included'])})",
        "(reports not yet retrieved or assessed for eligibility)",
    ]

    parts: list[str] = []
    title = "PRISMA 2020 flow diagram" + (f": {prisma['review']}" if prisma.get("review") else "")
    y = 20
    for line in textwrap.wrap(title, 100):
        y += 20
        parts.append(_text(WIDTH / 2, y, line, size=15, weight="bold", anchor="middle"))
    y += 20
    # Identification: identified -> removed before screening.
    top1 = y
    h1 = max(_height(identified), _height(removed), _label_height("Identification"))
    parts += [
        _box(LEFT_X, top1, h1, identified),
        _box(RIGHT_X, top1, h1, removed),
        _arrow(LEFT_X + BOX_W, top1 + h1 / 2, RIGHT_X, top1 + h1 / 2),
    ]
    # Screening: screened -> excluded by people, and -> awaiting a decision (stacked on the right).
    top2 = top1 + h1 + ROW_GAP
    h_ex, h_aw = _height(excluded), _height(awaiting)
    h2 = max(_height(screened), h_ex + STACK_GAP + h_aw, _label_height("Screening"))
    aw_top = top2 + h2 - h_aw
    parts += [
        _box(LEFT_X, top2, h2, screened),
        _box(RIGHT_X, top2, h_ex, excluded),
        _box(RIGHT_X, aw_top, h_aw, awaiting),
        _arrow(LEFT_X + BOX_W / 2, top1 + h1, LEFT_X + BOX_W / 2, top2),
        _arrow(LEFT_X + BOX_W, top2 + h_ex / 2, RIGHT_X, top2 + h_ex / 2),
        _arrow(LEFT_X + BOX_W, aw_top + h_aw / 2, RIGHT_X, aw_top + h_aw / 2),
    ]
    # Included.
    top3 = top2 + h2 + ROW_GAP
    h3 = max(_height(included), _label_height("Included"))
    parts += [_box(LEFT_X, top3, h3, included), _arrow(LEFT_X + BOX_W / 2, top2 + h2, LEFT_X + BOX_W / 2, top3)]
    for name, top, h in (("Identification", top1, h1), ("Screening", top2, h2), ("Included", top3, h3)):
        parts.append(
            f'<rect x="4" y="{top}" width="{PHASE_W - 8 + 4}" height="{h}" rx="4" fill="#cfe2f3" stroke="#5b8db8"/>'
        )
        cx, cy = 4 + (PHASE_W - 4) / 2, top + h / 2
        parts.append(
            f'<text x="{cx}" y="{cy}" transform="rotate(-90 {cx} {cy})" text-anchor="middle" '
            f'dominant-baseline="middle" font-size="{FONT}" font-weight="bold">{_esc(name)}</text>'
        )
    height = top3 + h3 + 20
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="prisma-title" '
            'font-family="Helvetica, Arial, sans-serif">',
            f'<title id="prisma-title">{_esc(title)}</title>',
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>',
            f'<rect width="{WIDTH}" height="{height}" fill="#fff"/>',
            *parts,
            "</svg>",
            "",
        ]
    )


def _label_height(label: str) -> int:
    """The height a phase bar needs for its sideways label: ~8.5 px a bold character, and a margin."""
    return int(8.5 * len(label)) + 2 * PAD


# Characters XML 1.0 forbids even when escaped (control characters, lone surrogates, U+FFFE/F).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _esc(text: str) -> str:
    """Text safe inside an SVG element: markup escaped, characters XML cannot carry dropped."""
    return escape(_NOT_XML.sub("", text), {'"': "&quot;"})


def _n(value) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _reason_lines(counts: Mapping[str, int], labels: bool = True) -> list[str]:
    return [f"    {LABELS.get(code, code) if labels else code} (n = {_n(count)})" for code, count in counts.items()]


def _wrapped(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        indent = line[: len(line) - len(line.lstrip())]
        out += textwrap.wrap(line, WRAP, initial_indent="", subsequent_indent=indent + "  ") or [""]
    return out


def _height(lines: list[str]) -> int:
    return len(_wrapped(lines)) * LINE_H + 2 * PAD


def _box(x: float, y: float, h: float, lines: list[str]) -> str:
    out = [f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{h}" rx="3" fill="#fff" stroke="#333" stroke-width="1.2"/>']
    for i, line in enumerate(_wrapped(lines)):
        stripped = line.lstrip()
        indent = (len(line) - len(stripped)) * 3.5
        out.append(_text(x + PAD + indent, y + PAD + (i + 1) * LINE_H - 5, stripped))
    return "\n".join(out)


def _text(x: float, y: float, text: str, size: int = FONT, weight: str = "normal", anchor: str = "start") -> str:
    return (
        f'<text x="{x}" y="{y}" font-size="{size}" font-weight="{weight}" text-anchor="{anchor}" '
        f'xml:space="preserve">{_esc(text)}</text>'
    )


def _arrow(x1: float, y1: float, x2: float, y2: float) -> str:
    # Stop 2 px short so the arrow head touches the box edge instead of covering it.
    x2 -= 2 if x2 > x1 else 0
    y2 -= 2 if y2 > y1 else 0
    return f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#333" stroke-width="1.5" marker-end="url(#arrow)"/>'
