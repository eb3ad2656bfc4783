"""Bytes of an export file to text lines: encodings and line endings as databases write them.

Databases export UTF-8 (with or without a byte-order mark), Web of Science also UTF-16, and older
tools Windows-1252. Line endings are LF, CRLF, CRLF with bare LF inside abstracts, or CR alone; all
become LF here, so every parser sees one shape. A bare LF inside a field then starts a line with no
tag, which the tagged parsers read as a continuation of the field before it.
"""

from __future__ import annotations

import codecs
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def decode(data: bytes, name: str = "") -> str:
    """The text of an export file, byte-order mark removed, line endings normalised to LF."""
    if data.startswith(codecs.BOM_UTF8):
        text = data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16", errors="replace")
    elif len(data) >= 4 and data[1] == 0 and data[3] == 0 and data[0] != 0:
        text = data.decode("utf-16-le", errors="replace")  # UTF-16 without a mark
    elif len(data) >= 4 and data[0] == 0 and data[2] == 0 and data[1] != 0:
        text = data.decode("utf-16-be", errors="replace")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            log.warning("%s is not UTF-8; reading it as Windows-1252", name or "export file")
            text = data.decode("cp1252", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")


def read_text(path: Path) -> str:
    """The decoded text of `path` (see decode)."""
    return decode(path.read_bytes(), str(path))
