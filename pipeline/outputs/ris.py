"""records.ris: the included records as RIS, for Rayyan, ASReview, Covidence, EndNote or Zotero.

Pure: Records in, text out. One reference per record, in the order given (the run passes the
evidence table's order: newest first, then by PMID). Tags follow the RIS specification
(https://en.wikipedia.org/wiki/RIS_(file_format)): "XX  - value", a TY line first, an ER line
last, CRLF line ends. Values are single lines (newlines become spaces) so no reader can mistake a
line of an abstract for a tag.
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator

from pipeline.models import Record, display_id

PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{}/"
EOL = "\r\n"
_SPACE = re.compile(r"\s+")


def ris_chunks(records: Iterable[Record]) -> Iterator[bytes]:
    """RIS for `records` as UTF-8, one reference at a time (for atomic_write: a large file is
    never whole in memory)."""
    return (ris_entry(r).encode("utf-8") for r in records)


def ris_entry(record: Record, notes: Iterable[str] = ()) -> str:
    """One RIS reference: TY, TI, AU..., PY, DA, JO/JA, VL, IS, SP/EP, AB, DO, AN (the PMID, else the
    record_id), UR and DB (records with a PMID), LA, KW..., M3 (publication types), N1 (PMCID, then
    each of `notes`), ER."""
    tags: list[tuple[str, str]] = [("TY", "BOOK" if record.is_book else "JOUR")]
    tags.append(("TI", record.title))
    for author in record.authors:
        tags.append(("AU", _author(author)))
    if record.pub_year is not None:
        tags.append(("PY", str(record.pub_year)))
        month = f"{record.pub_month:02d}" if record.pub_month else ""
        day = f"{record.pub_day:02d}" if month and record.pub_day else ""
        tags.append(("DA", f"{record.pub_year}/{month}/{day}/" if month else f"{record.pub_year}///"))
    elif record.article_year is not None:
        tags.append(("PY", str(record.article_year)))
    tags += [("JO", record.journal), ("JA", record.journal_iso), ("VL", record.volume), ("IS", record.issue)]
    start, end = _pages(record.pages)
    tags += [
        ("SP", start),
        ("EP", end),
        ("AB", record.abstract),
        ("DO", record.doi),
        ("AN", display_id(record.record_id)),
    ]
    if record.pmid:
        tags += [("UR", PUBMED_URL.format(record.pmid)), ("DB", "PubMed")]
    tags.append(("LA", "; ".join(record.languages)))  # one LA line: readers keep only the last
    keywords = list(dict.fromkeys([*record.keywords, *(m.descriptor for m in record.mesh_headings)]))
    tags += [("KW", k) for k in keywords]
    tags.append(("M3", "; ".join(record.publication_types)))
    if record.pmcid:
        tags.append(("N1", f"PMCID: {record.pmcid}"))
    tags += [("N1", note) for note in notes]
    lines = [f"{tag}  - {_one_line(value)}" for tag, value in tags if _one_line(value)]
    return EOL.join(lines + ["ER  - "]) + EOL + EOL


def _author(author) -> str:
    """ "Last, First" as RIS wants; a collective name as it is."""
    if author.collective_name:
        return author.collective_name
    parts = (_one_line(author.last_name), _one_line(author.fore_name or author.initials))
    return ", ".join(p for p in parts if p)


def _pages(pages: str) -> tuple[str, str]:
    """ "150-158" -> ("150", "158"); "e12" -> ("e12", ""). MEDLINE abbreviates end pages
    ("1234-9" means 1234-1239); the end is written out in full."""
    if "-" not in pages:
        return pages.strip(), ""
    start, end = (p.strip() for p in pages.split("-", 1))
    if start.isdigit() and end.isdigit() and len(end) < len(start):
        end = start[: len(start) - len(end)] + end
    return start, end


def _one_line(value: str) -> str:
    return _SPACE.sub(" ", value or "").strip()
