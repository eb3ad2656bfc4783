"""Delimited exports (CSV, and Web of Science's tab-delimited text) split into raw entries.

Columns are recognised by name, in the spellings databases use: Scopus ('Authors', 'Source title',
'PubMed ID', 'EID', three column generations), Embase ('Author Names', 'Source' holding journal,
year, volume and pages), Cochrane CENTRAL ('CENTRAL ID', 'Author(s)', 'PubMed ID' as 'PUBMED n'),
Web of Science's tags ('TI', 'AU', 'PY', 'DI', 'UT') and any CSV whose header names a title and
optionally authors, year, DOI, abstract, journal and PMID. Every entry's fields are keyed by the
canonical names below, whatever the file called them.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Iterator

from pipeline.sources.imports.tagged import Entry

# Canonical field → header spellings (compared lower-case with spaces, dots and underscores removed).
COLUMNS: dict[str, tuple[str, ...]] = {
    "title": ("title", "articletitle", "documenttitle", "ti", "primarytitle"),
    "authors": ("authors", "author", "author(s)", "authornames", "au", "authorsfullnames", "creators"),
    "full_authors": ("authorfullnames", "af"),
    "year": ("year", "publicationyear", "py", "pubyear", "yearpublished", "pubdate", "date"),
    "doi": ("doi", "di", "digitalobjectidentifier"),
    "abstract": ("abstract", "ab", "originalabstract"),
    "journal": (
        "sourcetitle",
        "journal",
        "journaltitle",
        "so",
        "publicationtitle",
        "secondarytitle",
        "journal/book",
        "publication",
        "source",
    ),
    "pmid": ("pubmedid", "pmid", "pm", "pubmed"),
    "pmcid": ("pmcid", "pmc"),
    "volume": ("volume", "vl"),
    "issue": ("issue", "is", "number"),
    "pages": ("pages", "pg", "pagerange"),
    "page_start": ("pagestart", "bp", "startpage"),
    "page_end": ("pageend", "ep", "endpage"),
    "language": ("languageoforiginaldocument", "language", "la"),
    "type": ("documenttype", "publicationtype", "dt", "type", "itemtype"),
    "keywords": ("authorkeywords", "keywords", "de"),
    "scopus": ("eid",),
    "central": ("centralid",),
    "embase": ("embaseid", "embaseaccessionid", "embaseaccessionnumber"),
    "wos": ("ut", "ut(uniquewosid)", "accessionnumber", "unique-id", "wosid"),
    "url": ("openurllink", "url", "link"),
    "database": ("databasename",),
}
_LOOKUP = {spelling: name for name, spellings in COLUMNS.items() for spelling in spellings}


def _key(header: str) -> str:
    return re.sub(r"[\s._]+", "", header.strip().lower())


def header_fields(header: list[str]) -> dict[int, str]:
    """Column index → canonical field, for the columns this module knows (first spelling wins;
    'Source' is the journal only when no better column names it, since Scopus uses it for itself)."""
    mapped: dict[int, str] = {}
    taken: set[str] = set()
    for index, name in sorted(enumerate(header), key=lambda item: _key(item[1]) == "source"):
        canonical = _LOOKUP.get(_key(name))
        if canonical and canonical not in taken:
            mapped[index] = canonical
            taken.add(canonical)
    return mapped


def delimiter(first_line: str) -> str:
    """Tab for Web of Science's tab-delimited files, ';' for European spreadsheet CSV, else ','."""
    counts = {d: first_line.count(d) for d in ("\t", ",", ";")}
    return max(counts, key=lambda d: (counts[d], d == ","))


def parse_table(text: str, raw: bool = False) -> tuple[list[str], Iterator[Entry]]:
    """The header and the entries of a delimited file. A row whose field count differs from the
    header's, or a quote left open to the end of the file, is an entry with a problem. Fields are
    keyed by canonical name, or with `raw` by the header as written (Web of Science's tags)."""
    first_line = text.split("\n", 1)[0]
    sep = delimiter(first_line)
    quoting = csv.QUOTE_NONE if sep == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, quoting=quoting, strict=True)
    header = next(reader, [])
    if sep == "\t":
        while header and not header[-1].strip():  # WoS ends every line with a tab
            header = header[:-1]
    columns = {i: h.strip() for i, h in enumerate(header)} if raw else header_fields(header)
    return header, _rows(reader, header, sep, columns)


def _rows(reader, header: list[str], sep: str, columns: dict[int, str]) -> Iterator[Entry]:
    number = 0
    line = reader.line_num + 1
    while True:
        start = line
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            number += 1
            yield Entry(number, start, problem=f"unreadable row ({exc}): the rest of the file cannot be read")
            return
        line = reader.line_num + 1
        if sep == "\t":
            while len(row) > len(header) and not row[-1].strip():
                row = row[:-1]
        if not any(cell.strip() for cell in row):
            continue
        number += 1
        entry = Entry(number, start)
        if len(row) != len(header):
            entry.problem = f"row has {len(row)} fields, the header has {len(header)}"
        for index, name in columns.items():
            if index < len(row) and row[index].strip():
                entry.add(name, row[index].strip())
        yield entry
