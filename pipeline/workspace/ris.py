"""Reading RIS (Rayyan's export, a dataset inside an ASReview project): tagged lines `XX  - value`,
an `ER` line ending each entry."""

from __future__ import annotations

import re

_RIS_LINE = re.compile(r"^([A-Z][A-Z0-9])  -(?: (.*))?$")


def read_ris(text: str) -> list[tuple[int, dict[str, list[str]]]]:
    """RIS entries as (line where the entry starts, tag -> values); a line without a tag continues
    the previous value."""
    entries: list[tuple[int, dict[str, list[str]]]] = []
    current: dict[str, list[str]] | None = None
    start = 0
    last = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        tagged = _RIS_LINE.match(line)
        if tagged:
            tag, value = tagged.group(1), (tagged.group(2) or "").strip()
            if current is None:
                current, start = {}, number
            if tag == "ER":
                entries.append((start, current))
                current = None
                continue
            current.setdefault(tag, []).append(value)
            last = tag
        elif line.strip() and current is not None and last:
            current[last][-1] = (current[last][-1] + " " + line.strip()).strip()
    if current:
        entries.append((start, current))
    return entries
