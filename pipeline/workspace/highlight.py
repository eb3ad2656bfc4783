"""Marking the terms that matter in a record's text (pure): the configured include/exclude terms and
our entity mentions. The result is a list of (text, kind) pieces; the template escapes each piece and
wraps marked ones in <mark>, so no markup in a title or abstract can ever become HTML."""

from __future__ import annotations

import re
from collections.abc import Iterable

from pipeline.models import Mention

Span = tuple[int, int, str]  # start, end, kind ("include", "exclude" or an entity label)


def term_spans(text: str, terms: Iterable[str], kind: str) -> list[Span]:
    """Whole-word, case-insensitive occurrences of each term ("rat" does not mark "ratio")."""
    spans = []
    for term in terms:
        if not term:
            continue
        pattern = re.compile(r"(?<!\w)" + re.escape(term) + r"(?!\w)", re.IGNORECASE)
        spans += [(m.start(), m.end(), kind) for m in pattern.finditer(text)]
    return spans


def mention_spans(text: str, section: str, mentions: Iterable[Mention]) -> list[Span]:
    """The mentions of `section` whose offsets still match its text (a revised record may not)."""
    return [
        (m.start, m.end, m.label)
        for m in mentions
        if m.section == section and 0 <= m.start < m.end <= len(text) and text[m.start : m.end] == m.text
    ]


def pieces(text: str, spans: Iterable[Span]) -> list[tuple[str, str]]:
    """Split `text` into (piece, kind) with kind "" for unmarked text. Overlaps: the span starting
    first wins, the longer on a tie; configured terms win over mentions at the same place."""
    ordered = sorted(spans, key=lambda s: (s[0], -(s[1] - s[0]), s[2] not in ("include", "exclude")))
    out: list[tuple[str, str]] = []
    at = 0
    for start, end, kind in ordered:
        if start < at:
            continue
        if start > at:
            out.append((text[at:start], ""))
        out.append((text[start:end], kind))
        at = end
    if at < len(text):
        out.append((text[at:], ""))
    return out
