"""Importers for export files of databases without an open API (Web of Science, Scopus, Embase,
Ovid, EBSCOhost, Cochrane CENTRAL, Google Scholar, ScienceDirect, PubMed's MEDLINE text, any CSV).

`parse_export(text, name)` is pure: it detects the format from the content (never the file name),
splits the records, maps each to a Record and sets aside (as `Quarantined`, with the file, line and
reason) any record that cannot be used, reading on to the end. A file that is no recognisable export
is an `ExportFormatError` (a ConfigError, exit 2) naming the file and what it starts with.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from pipeline.errors import ConfigError, ExitCode
from pipeline.models import Quarantined, Record
from pipeline.sources.imports import bibtex, mapping, table, tagged
from pipeline.sources.imports.tagged import Entry
from pipeline.sources.imports.text import decode
from pipeline.config import IMPORT_FORMATS

log = logging.getLogger(__name__)

# The formats a config may name; defined once in config.py, which validates [[imports]] format.
FORMATS = IMPORT_FORMATS
FORMAT_NAMES = {
    "ris": "RIS",
    "medline": "PubMed MEDLINE text",
    "wos": "Web of Science plain text",
    "wos-tab": "Web of Science tab-delimited",
    "ovid": "Ovid display text",
    "csv": "CSV",
    "bibtex": "BibTeX",
}


class ExportFormatError(ConfigError):
    """An import file is not an export this pipeline can read."""

    exit_code = ExitCode.CONFIG


@dataclass(frozen=True)
class Imported:
    """A record read from an export file, with where it came from."""

    record: Record
    file: str
    number: int  # its position among the file's records (1-based)
    line: int  # the line it starts on


@dataclass
class ImportResult:
    file: str
    format: str
    records: list[Imported] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)

    @property
    def read(self) -> int:
        """Every record the file holds: imported and set aside."""
        return len(self.records) + len(self.quarantined)


_RIS = re.compile(r"^TY\s{1,4}-\s*\S", re.M)
_MEDLINE = re.compile(r"^PMID- ?\d", re.M)
_OVID = re.compile(r"^<\d+>\s*$", re.M)
_BIBTEX = re.compile(r"^\s*@\s*[A-Za-z]+\s*[{(]", re.M)
_WOS_TAB_HEADER = re.compile(r"^(?:\ufeff)?PT\t(?:[A-Z][A-Z0-9]\t)+")


def detect_format(text: str, name: str) -> str:
    """The export format of `text`, from its first records; ExportFormatError when none fits."""
    head = text[:20000]
    lines = [line for line in head.split("\n") if line.strip()]
    if not lines:
        raise ExportFormatError(
            f"{name}: the file is empty. Export the records again, or remove it from [[imports]] paths."
        )
    first = lines[0]
    if _WOS_TAB_HEADER.match(first):
        return "wos-tab"
    if first.startswith(("FN ", "VR ")) or (
        first.startswith("PT ") and any(line[:3] in ("AU ", "TI ", "UT ", "ER") for line in lines[1:40])
    ):
        return "wos"
    if _RIS.search(head):
        return "ris"
    if _MEDLINE.search(head):
        return "medline"
    if _OVID.search(head):
        return "ovid"
    if _BIBTEX.search(head) and re.search(r"^\s*[A-Za-z][\w-]*\s*=", head, re.M):
        return "bibtex"
    if "," in first or "\t" in first or ";" in first:
        header = re.split(r"[,\t;]", first)
        known = set(table.header_fields([h.strip().strip('"') for h in header]).values())
        if "title" in known:
            return "csv"
    shown = first[:60] + ("..." if len(first) > 60 else "")
    raise ExportFormatError(
        f"{name}: not a recognised export file (it starts {shown!r}). Readable formats: RIS, PubMed "
        "MEDLINE text, Web of Science plain text or tab-delimited, Ovid display text, BibTeX, and CSV "
        'with a title column. Export the records in one of them, or name the format with format = "ris" '
        "(or " + ", ".join(f'"{f}"' for f in FORMATS[1:]) + ") in the file's [[imports]] table."
    )


_PARSERS: dict[str, tuple[Callable[[str], Iterator[Entry]], Callable[[Entry], Record]]] = {
    "ris": (tagged.parse_ris, mapping.from_ris),
    "medline": (tagged.parse_medline, mapping.from_medline),
    "wos": (tagged.parse_wos, mapping.from_wos),
    "ovid": (tagged.parse_ovid, mapping.from_ovid),
    "bibtex": (bibtex.parse_bibtex, mapping.from_bibtex),
}


def _entries(text: str, fmt: str, name: str) -> Iterator[Entry]:
    if fmt in _PARSERS:
        return _PARSERS[fmt][0](text)
    header, rows = table.parse_table(text, raw=fmt == "wos-tab")
    if fmt == "wos-tab":
        return rows
    known = set(table.header_fields(header).values())
    if "title" not in known:
        raise ExportFormatError(
            f"{name}: the header has no title column (it has: "
            f"{', '.join(header[:12])}). Export with the title column, or rename "
            "it to Title."
        )
    return rows


def parse_export(text: str, name: str, fmt: str | None = None) -> ImportResult:
    """Every record of an export file's text (see the module docstring). Pure."""
    fmt = fmt or detect_format(text, name)
    if fmt not in FORMATS:
        raise ExportFormatError(
            f"{name}: format {fmt!r} is unknown; use one of: " + ", ".join(f'"{f}"' for f in FORMATS) + "."
        )
    to_record = _PARSERS[fmt][1] if fmt in _PARSERS else (mapping.from_wos if fmt == "wos-tab" else mapping.from_table)
    result = ImportResult(name, fmt)
    for entry in _entries(text, fmt, name):
        problem = entry.problem
        rec = None
        if not problem:
            try:
                rec = to_record(entry)
            except (ValueError, IndexError, KeyError) as exc:  # defensive: a field no rule expected
                problem = f"unreadable fields ({exc})"
        if rec is not None and not rec.title:
            problem = "the record has no title"
        if problem:
            where = f"{name}, line {entry.line}, record {entry.number}"
            result.quarantined.append(Quarantined(pmid="", reason=f"{where}: {problem}", source=name))
            log.warning("set aside %s: %s", where, problem)
            continue
        result.records.append(Imported(rec, name, entry.number, entry.line))
    return result


def read_export(path: Path | str, fmt: str | None = None) -> ImportResult:
    """parse_export over a file's bytes (any encoding and line endings, see text.decode)."""
    path = Path(path)
    return parse_export(_text(path), str(path), fmt)


def check_export(path: Path | str, fmt: str | None = None) -> str:
    """The format of an export file, found as read_export finds it, without mapping its records:
    raises the ConfigError read_export would raise for a file that cannot be read, is binary or empty,
    or is no recognisable export (`validate` and the run's preflight call it)."""
    path = Path(path)
    text = _text(path)
    found = fmt or detect_format(text, str(path))
    if found not in FORMATS:
        raise ExportFormatError(
            f"{path}: format {found!r} is unknown; use one of: " + ", ".join(f'"{f}"' for f in FORMATS) + "."
        )
    if found == "csv":
        _entries(text, found, str(path))  # a CSV needs a title column
    return found


def _text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the import file ({exc.strerror}). Make it readable, or remove it "
            "from the [[imports]] paths of the config."
        ) from None
    if b"\x00" in data[:4096] and not _utf16(data):
        raise ExportFormatError(
            f"{path}: a binary file, not an export. Export the records as RIS, MEDLINE, Web of Science text or CSV."
        )
    return decode(data, str(path))


def _utf16(data: bytes) -> bool:
    head = data[:4096]
    return (
        head.startswith((b"\xff\xfe", b"\xfe\xff"))
        or head[1::2].count(0) > len(head) // 4
        or head[0::2].count(0) > len(head) // 4
    )
