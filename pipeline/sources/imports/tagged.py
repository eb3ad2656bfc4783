"""Tagged export formats split into raw entries: RIS, PubMed's MEDLINE text, Web of Science's
plain-text format and Ovid's display format.

Each parser is a pure function of the decoded text (see text.decode, which has made every line end
in LF) and yields `Entry` objects in file order: the record's position, the line it starts on and
its fields (tag → values, in order). Mapping the fields to a Record is mapping.py's job.

Tolerated quirks: record-number lines between records ('1.', '<1>'), untagged continuation lines
(a bare LF inside a CRLF file, or wrapped values) joined to the field before them, 'ER  -  ' with
trailing spaces, '  -  ' separators, blank lines anywhere. A record that never reaches its end tag
because the file stops is still returned, flagged so the caller can set it aside.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator


@dataclass
class Entry:
    """One record as the file wrote it."""

    number: int  # 1-based position of the record in its file
    line: int  # the line it starts on (1-based)
    fields: dict[str, list[str]] = field(default_factory=dict)
    problem: str = ""  # why the record cannot be used as is ("" when it can)

    def add(self, tag: str, value: str) -> None:
        self.fields.setdefault(tag, []).append(value)

    def extend_last(self, tag: str, text: str, separator: str = " ") -> None:
        values = self.fields.setdefault(tag, [""])
        values[-1] = (values[-1] + separator + text) if values[-1] else text

    def first(self, *tags: str) -> str:
        """The first non-empty value of the first tag that has one."""
        for tag in tags:
            for value in self.fields.get(tag, ()):
                if value.strip():
                    return value.strip()
        return ""

    def all(self, *tags: str) -> list[str]:
        return [v.strip() for tag in tags for v in self.fields.get(tag, ()) if v.strip()]


_RIS_LINE = re.compile(r"^([A-Z][A-Z0-9])\s{1,4}-(?:\s+(.*?))?\s*$")
_RECORD_NUMBER = re.compile(r"^\s*(?:<\d+>|\d+\.?|Record \d+ of \d+)\s*$")


def parse_ris(text: str) -> Iterator[Entry]:
    """RIS records: from a TY line to an ER line."""
    entry: Entry | None = None
    last_tag = ""
    number = 0
    for lineno, line in enumerate(text.split("\n"), 1):
        match = _RIS_LINE.match(line)
        if match:
            tag, value = match.group(1), (match.group(2) or "")
            if tag == "TY":
                if entry is not None:
                    entry.problem = entry.problem or f"record has no ER line before the next TY at line {lineno}"
                    yield entry
                number += 1
                entry = Entry(number, lineno)
            elif entry is None:
                if tag == "ER":
                    continue
                # A tag outside a record: the record's TY line is missing.
                number += 1
                entry = Entry(number, lineno, problem=f"record starts with {tag} instead of a TY line")
            if tag == "ER":
                yield entry
                entry, last_tag = None, ""
                continue
            entry.add(tag, value)
            last_tag = tag
        elif entry is not None and line.strip() and last_tag:
            entry.extend_last(last_tag, line.strip())
        # Lines outside a record (blank, record numbers, export headers) carry nothing.
    if entry is not None:
        entry.problem = entry.problem or "the file ends inside this record (no ER line): the file may be cut short"
        yield entry


_MEDLINE_LINE = re.compile(r"^([A-Z][A-Z0-9]{1,3}) *- ?(.*)$")


def parse_medline(text: str) -> Iterator[Entry]:
    """PubMed MEDLINE/.nbib records: tags padded to four characters, 'PMID- ' first, indented
    continuation lines, a blank line between records."""
    entry: Entry | None = None
    last_tag = ""
    number = 0
    for lineno, line in enumerate(text.split("\n"), 1):
        # The dash is always the fifth character: 'PMID- ', 'AB  - '.
        match = _MEDLINE_LINE.match(line) if line[4:5] == "-" else None
        if match:
            tag, value = match.group(1), match.group(2).strip()
            if tag == "PMID" or entry is None:
                if entry is not None:
                    yield entry
                number += 1
                entry = Entry(number, lineno)
            entry.add(tag, value)
            last_tag = tag
        elif not line.strip():
            continue
        elif entry is not None and last_tag:
            entry.extend_last(last_tag, line.strip())
    if entry is not None:
        yield entry


WOS_TAGS = frozenset(
    "FN VR PT AU AF BA BF CA GP BE TI SO SE BS LA DT CT CY CL SP HO DE ID AB C1 C3 RP EM RI OI FU FP "
    "FX CR NR TC Z8 Z9 ZB ZR ZA ZS U1 U2 PU PI PA SN EI BN J9 JI PD PY VL IS PN SU SI MA BP EP AR DI "
    "DL D2 EA EY PG P2 WC WE SC GA UT PM OA HC HP DA ER EF".split()
)
# Fields whose continuation lines are further values (one author per line), not wrapped text.
_WOS_LIST_TAGS = frozenset("AU AF BA BF CA GP BE CR C1 C3 RI OI EM".split())


def parse_wos(text: str) -> Iterator[Entry]:
    """Web of Science plain-text records: two-letter tags, 3-space continuation lines, PT ... ER."""
    entry: Entry | None = None
    last_tag = ""
    number = 0
    for lineno, line in enumerate(text.split("\n"), 1):
        tag = line[:2]
        if tag in WOS_TAGS and (len(line) == 2 or line[2:3] == " ") and not line.startswith("   "):
            value = line[3:].strip()
            if tag in ("FN", "VR", "EF") and entry is None:
                continue
            if tag == "PT" or entry is None:
                if entry is not None:
                    entry.problem = entry.problem or f"record has no ER line before the next PT at line {lineno}"
                    yield entry
                number += 1
                entry = Entry(
                    number, lineno, problem="" if tag == "PT" else f"record starts with {tag} instead of a PT line"
                )
            if tag == "ER":
                yield entry
                entry, last_tag = None, ""
                continue
            entry.add(tag, value)
            last_tag = tag
        elif entry is not None and line.strip() and last_tag:
            if last_tag in _WOS_LIST_TAGS and line.startswith("   "):
                entry.add(last_tag, line.strip())
            else:
                entry.extend_last(last_tag, line.strip())
    if entry is not None:
        entry.problem = entry.problem or "the file ends inside this record (no ER line): the file may be cut short"
        yield entry


_OVID_START = re.compile(r"^<(\d+)>\s*$")


def parse_ovid(text: str) -> Iterator[Entry]:
    """Ovid's display format: '<n>' starts a record; an unindented line is a field label and the
    indented lines below it its value (continuation lines joined with a space)."""
    entry: Entry | None = None
    label = ""
    number = 0
    lines = text.split("\n")
    for lineno, line in enumerate(lines, 1):
        if _OVID_START.match(line):
            if entry is not None:
                yield entry
            number += 1
            entry, label = Entry(number, lineno), ""
        elif entry is None or not line.strip():
            continue
        elif line[0] not in (" ", "\t") and _is_label(lines, lineno):
            label = line.strip()
            entry.fields.setdefault(label, [])
        elif label:
            values = entry.fields[label]
            if values:
                values[-1] = values[-1] + " " + line.strip()
            else:
                values.append(line.strip())
    if entry is not None:
        yield entry


def _is_label(lines: list[str], lineno: int) -> bool:
    """An unindented line is a label when the next non-blank line is an indented value; otherwise
    it is the rest of a value cut by a bare line feed (CRLF files with LF inside abstracts)."""
    for following in lines[lineno:]:
        if following.strip():
            return following[0] in (" ", "\t")
    return False
