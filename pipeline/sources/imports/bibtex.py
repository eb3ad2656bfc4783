"""BibTeX exports (Web of Science, Scopus, ScienceDirect, Google Scholar, Publish or Perish) split
into raw entries. Pure.

An entry runs from `@type{key,` to its matching brace (or parenthesis); field values are braced,
quoted or bare (numbers, month macros); `@comment`, `@preamble` and `@string` are skipped. LaTeX
accents and escapes (`{\\"u}`, `\\'e`, `\\&`, `--`) become the characters they stand for, braces are
dropped. An entry whose braces never close is returned with a problem, and reading goes on after it.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterator

from pipeline.sources.imports.tagged import Entry

_START = re.compile(r"@\s*([A-Za-z]+)\s*([{(])")
_SKIP = {"comment", "preamble", "string"}
_ACCENTS = {
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    '"': "\u0308",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "c": "\u0327",
    "k": "\u0328",
}
_SYMBOLS = {
    "\\&": "&",
    "\\%": "%",
    "\\$": "$",
    "\\#": "#",
    "\\_": "_",
    "\\ss": "ß",
    "\\o": "ø",
    "\\O": "Ø",
    "\\ae": "æ",
    "\\AE": "Æ",
    "\\aa": "å",
    "\\AA": "Å",
    "\\l": "ł",
    "\\L": "Ł",
    "---": "—",
    "--": "–",
    "~": " ",
}


def latex_to_text(value: str) -> str:
    """'M{\\"u}ller \\& Co --- {RNA}' → 'Müller & Co — RNA'."""

    def accent(m: re.Match) -> str:
        return unicodedata.normalize("NFC", m.group(2) + _ACCENTS[m.group(1)])

    text = re.sub(r"\\([`'^\"~=.uvHck])\s*\{?\s*([A-Za-z])\}?", accent, value)
    for latex, char in _SYMBOLS.items():
        text = text.replace(latex, char)
    text = re.sub(r"\\(?:textit|textbf|emph|textsc|mathrm|text)\s*", "", text)
    return text.replace("{", "").replace("}", "")


def _close(text: str, start: int, opener: str) -> int:
    """Index of the character closing the entry opened at `start` (after `opener`), or -1."""
    closer = "}" if opener == "{" else ")"
    depth, i = 0, start
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            if depth == 0 and closer == "}":
                return i
            depth -= 1
        elif c == closer and depth == 0:
            return i
        elif c == "@" and depth == 0 and _START.match(text, i) and text[i - 1 : i] in ("\n", ""):
            return -1  # the next entry starts: this one never closed
        i += 1
    return -1


def _fields(body: str) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    _, _, rest = body.partition(",")  # the citation key
    i, n = 0, len(rest)
    while i < n:
        m = re.compile(r"\s*,?\s*([A-Za-z][\w\-:.]*)\s*=\s*").match(rest, i)
        if not m:
            break
        name, i = m.group(1).lower(), m.end()
        parts = []
        while i < n:
            if rest[i] == "{":
                depth, j = 0, i
                while j < n:
                    if rest[j] == "\\":
                        j += 2
                        continue
                    depth += {"{": 1, "}": -1}.get(rest[j], 0)
                    if depth == 0:
                        break
                    j += 1
                parts.append(rest[i + 1 : j])
                i = j + 1
            elif rest[i] == '"':
                j = i + 1
                while j < n and (rest[j] != '"' or rest[j - 1] == "\\"):
                    j += 1
                parts.append(rest[i + 1 : j])
                i = j + 1
            else:
                bare = re.compile(r"[^,#\s]+").match(rest, i)
                parts.append(bare.group(0) if bare else "")
                i = bare.end() if bare else i + 1
            hash_ = re.compile(r"\s*#\s*").match(rest, i)  # concatenation
            if not hash_:
                break
            i = hash_.end()
        fields.setdefault(name, []).append(re.sub(r"\s+", " ", latex_to_text("".join(parts))).strip())
    return fields


def parse_bibtex(text: str) -> Iterator[Entry]:
    """BibTeX entries in file order (see the module docstring)."""
    number, pos = 0, 0
    while True:
        m = _START.search(text, pos)
        if not m:
            return
        kind = m.group(1).lower()
        end = _close(text, m.end(), m.group(2))
        line = text.count("\n", 0, m.start()) + 1
        if kind in _SKIP:
            pos = end + 1 if end >= 0 else m.end()
            continue
        number += 1
        if end < 0:
            nxt = _START.search(text, m.end())
            yield Entry(number, line, problem="the entry's braces never close (the file may be cut short)")
            if not nxt:
                return
            pos = nxt.start()
            continue
        entry = Entry(number, line, _fields(text[m.end() : end]))
        entry.add("@type", kind)
        yield entry
        pos = end + 1
