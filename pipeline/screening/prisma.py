"""PRISMA 2020 counts and flow diagram, computed from the run's screening results (pure).

`prisma_json` gives the identification and screening fields of the PRISMA 2020 flow diagram; the
pipeline's rules are the "automation tools" of PRISMA 2020, so their exclusions appear in the
"records excluded" box with a count per reason, as the template's footnote asks. Human screening,
retrieval and eligibility assessment come after the run and are not counted here. `prisma_svg`
draws the diagram from that dict alone, so the picture can never disagree with the numbers.
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
SCOPE = ("PRISMA 2020 identification and screening by the pipeline's automation tools (its screening "
         "rules); human screening, retrieval and eligibility assessment are not part of the run.")
# Short phrases for the diagram; a reason without one is shown as its code.
LABELS = {
    "duplicate-pmid": "Same PMID returned again",
    "duplicate-doi": "Same DOI",
    "duplicate-title-year": "Same title and year",
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


def summarise(identified: int, records: list[Record], results: Iterable[ScreeningResult],
              mentions: int) -> RunSummary:
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


def prisma_json(identified: Mapping[str, int], results: Iterable[ScreeningResult], pmid_repeats: int = 0,
                unreadable: int = 0, review: str = "") -> dict:
    """PRISMA 2020 identification and screening fields.

    identified: records identified per database, e.g. {"PubMed": 812}. results: one per distinct
    record (records.csv). pmid_repeats: PMIDs returned again after their first appearance (they have
    no row of their own). unreadable: records quarantined because they could not be parsed.
    """
    results = list(results)
    duplicates = Counter({code: 0 for code in DUPLICATE_REASONS})
    duplicates["duplicate-pmid"] += pmid_repeats
    excluded: Counter = Counter()
    review_reasons: Counter = Counter()
    included = 0
    for r in results:
        if r.decision == Decision.DUPLICATE:
            duplicates[r.reason] += 1
        elif r.decision == Decision.EXCLUDE:
            excluded[r.reason] += 1
        elif r.decision == Decision.NEEDS_REVIEW:
            review_reasons[r.reason] += 1
        else:
            included += 1
    screened = included + sum(excluded.values()) + sum(review_reasons.values())
    total = sum(identified.values())
    removed = sum(duplicates.values()) + unreadable
    if total != removed + screened:
        log.warning("PRISMA counts do not balance: %d identified, %d removed before screening, %d screened",
                    total, removed, screened)
    return {
        "prisma_version": "PRISMA 2020",
        "review": review,
        "scope": SCOPE,
        "identification": {
            "records_identified": dict(identified),
            "records_identified_total": total,
            "duplicate_records_removed": sum(duplicates.values()),
            "duplicates_by_reason": dict(duplicates),
            "records_removed_for_other_reasons": unreadable,
            "removed_for_other_reasons": {"unreadable-record": unreadable},
            "records_quarantined_unreadable": unreadable,
        },
        "screening": {
            "records_screened": screened,
            "records_excluded_by_automation": sum(excluded.values()),
            "excluded_by_reason": dict(sorted(excluded.items())),
            "records_needing_human_review": sum(review_reasons.values()),
            "needs_review_by_reason": dict(sorted(review_reasons.items())),
        },
        "included": {"records_included": included},
        "balanced": total == removed + screened,
    }


# --- the diagram ---------------------------------------------------------------------------------

WIDTH = 860
PHASE_W, GAP, BOX_W = 34, 24, 360
LEFT_X = PHASE_W + GAP
RIGHT_X = LEFT_X + BOX_W + 56
LINE_H, PAD, FONT = 18, 12, 13
WRAP = 46           # characters per line at FONT px in a BOX_W box (sans-serif, ~7 px a character)


def prisma_svg(prisma: Mapping) -> str:
    """A standalone SVG PRISMA 2020 flow diagram (identification and screening) drawn from `prisma`.

    Plain SVG with no external fonts, styles or scripts, every text escaped, so it can be opened on
    its own or embedded in an HTML report.
    """
    ident, scr = prisma["identification"], prisma["screening"]
    n = _n
    identified = ["Records identified from:"] + [
        f"{db} (n = {n(count)})" for db, count in ident["records_identified"].items()]
    removed = ["Records removed before screening:", f"Duplicate records (n = {n(ident['duplicate_records_removed'])})"]
    removed += _reason_lines({k: v for k, v in ident["duplicates_by_reason"].items() if v})
    removed.append(f"Records removed for other reasons (n = {n(ident['records_removed_for_other_reasons'])})")
    removed += _reason_lines({k: v for k, v in ident.get("removed_for_other_reasons", {}).items() if v})
    screened = [f"Records screened (n = {n(scr['records_screened'])})"]
    excluded = [f"Records excluded by automation tools (n = {n(scr['records_excluded_by_automation'])})"]
    excluded += _reason_lines(scr["excluded_by_reason"])
    included = ["Records meeting every criterion", f"(n = {n(prisma['included']['records_included'])})"]
    review = [f"Records needing human review (n = {n(scr['records_needing_human_review'])})"]
    review += _reason_lines(scr.get("needs_review_by_reason", {}))

    parts: list[str] = []
    title = "PRISMA 2020 flow diagram" + (f": {prisma['review']}" if prisma.get("review") else "")
    y = 20
    for line in textwrap.wrap(title, 100):
        y += 20
        parts.append(_text(WIDTH / 2, y, line, size=15, weight="bold", anchor="middle"))
    y += 20
    rows = [(identified, removed), (screened, excluded), (included, review)]
    boxes = []
    for left, right in rows:
        h = max(_height(left), _height(right))
        boxes.append((y, h))
        parts.append(_box(LEFT_X, y, h, left))
        parts.append(_box(RIGHT_X, y, h, right))
        y += h + 40
    # Arrows: across from each left box, and down the left column.
    for i, (top, h) in enumerate(boxes):
        mid = top + h / 2
        if i < 2:
            parts.append(_arrow(LEFT_X + BOX_W, mid, RIGHT_X, mid))
            parts.append(_arrow(LEFT_X + BOX_W / 2, top + h, LEFT_X + BOX_W / 2, boxes[i + 1][0]))
    # Records needing review leave the screened box too: an elbow down to the right-hand box.
    s_top, s_h = boxes[1]
    r_top, _ = boxes[2]
    elbow_y = s_top + s_h + 20
    parts.append(f'<polyline points="{LEFT_X + BOX_W / 2},{elbow_y} {RIGHT_X + BOX_W / 2},{elbow_y} '
                 f'{RIGHT_X + BOX_W / 2},{r_top - 2}" fill="none" stroke="#333" stroke-width="1.5" '
                 f'marker-end="url(#arrow)"/>')
    phases = [("Identification", boxes[0][0], boxes[0][0] + boxes[0][1]),
              ("Screening", boxes[1][0], boxes[2][0] + boxes[2][1])]
    for name, top, bottom in phases:
        parts.append(f'<rect x="4" y="{top}" width="{PHASE_W - 8 + 4}" height="{bottom - top}" rx="4" '
                     f'fill="#cfe2f3" stroke="#5b8db8"/>')
        cx, cy = 4 + (PHASE_W - 4) / 2, (top + bottom) / 2
        parts.append(f'<text x="{cx}" y="{cy}" transform="rotate(-90 {cx} {cy})" text-anchor="middle" '
                     f'dominant-baseline="middle" font-size="{FONT}" font-weight="bold">{_esc(name)}</text>')
    height = y - 20
    return "\n".join([
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
    ])


# Characters XML 1.0 forbids even when escaped (control characters, lone surrogates, U+FFFE/F).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _esc(text: str) -> str:
    """Text safe inside an SVG element: markup escaped, characters XML cannot carry dropped."""
    return escape(_NOT_XML.sub("", text), {'"': "&quot;"})


def _n(value) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _reason_lines(counts: Mapping[str, int]) -> list[str]:
    return [f"    {LABELS.get(code, code)} (n = {_n(count)})" for code, count in counts.items()]


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
    return (f'<text x="{x}" y="{y}" font-size="{size}" font-weight="{weight}" text-anchor="{anchor}" '
            f'xml:space="preserve">{_esc(text)}</text>')


def _arrow(x1: float, y1: float, x2: float, y2: float) -> str:
    # Stop 2 px short so the arrow head touches the box edge instead of covering it.
    x2 -= 2 if x2 > x1 else 0
    y2 -= 2 if y2 > y1 else 0
    return (f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#333" stroke-width="1.5" '
            'marker-end="url(#arrow)"/>')
