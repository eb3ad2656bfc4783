"""PubMed XML -> records: pure, streaming, safe with hostile input. No network, no store.

How it reads a document, and why:

1. The prolog (XML declaration, comments, DOCTYPE) is read by this module, never by expat. A DOCTYPE
   with an internal subset (`<!DOCTYPE x [ ... ]>`) is refused: PubMed never sends one, and it is the
   only place entities can be declared, so refusing it rules out entity expansion ("billion laughs")
   and external entities (XXE). The DTD a DOCTYPE names is never fetched or opened: expat never
   sees the DOCTYPE at all.
2. The body is read in regions: the run of whole records (`<PubmedArticle>...</PubmedArticle>`,
   likewise PubmedBookArticle, DeleteCitation, and MedlineCitation in the 2016 MedlineCitationSet
   format) in the next REGION_SIZE bytes is parsed at once by the C ElementTree parser and
   extracted. A region with anything wrong in it (malformed XML, an unreadable record, stray
   content between records) is read again record by record, each cut out at the byte level and
   parsed on its own, which quarantines just the bad record and carries on; a single iterparse
   over the whole file would stop at its first malformed byte. Both paths give the same items
   (tests/test_pubmed_regions.py). Memory stays flat: one read buffer and one region.
3. Everything the caller gets is a ParsedItem in document order: Record, DeletedCitation, or
   Quarantined with a reason. A whole-document problem (not XML, not PubMed XML, a refused DOCTYPE,
   a file that stops mid-document) never raises: it yields what was parsed before it, then one
   Quarantined with pmid "" (or the PMID of the cut record) and `source_name`.

Quarantines are logged at DEBUG only: the caller receives each one as an item and reports it once
(run.py warns and lists them in run.json).

The one exception that does propagate is OSError from reading the source (e.g. a missing file or a
corrupt gzip stream): that is the caller's I/O problem, not a property of the XML.
"""

from __future__ import annotations

import gc
import gzip
import io
import logging
import re
import threading
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, NamedTuple

from pipeline.models import DeletedCitation, ParsedItem, Quarantined
from pipeline.sources.pubmed_xml.fields import MissingPMID, article_record, book_record, record_pmid

log = logging.getLogger(__name__)

Source = bytes | bytearray | memoryview | BinaryIO | str | Path

# What a record element becomes: its items (parse: a Record or DeletedCitations; pmids: less).
Extractor = Callable[[ET.Element, str], Iterator]

READ_SIZE = 1 << 20
REGION_SIZE = 1 << 17  # bytes of whole records parsed at once (64 KiB to 512 KiB measure alike)
PROLOG_LIMIT = 1 << 20  # a prolog longer than this is not PubMed output
_GZIP_MAGIC = b"\x1f\x8b"

# Root element -> the direct children that are records.
_SET_ROOTS = {
    "PubmedArticleSet": ("PubmedArticle", "PubmedBookArticle", "DeleteCitation"),
    "PubmedBookArticleSet": ("PubmedBookArticle", "DeleteCitation"),
    "MedlineCitationSet": ("MedlineCitation", "DeleteCitation"),
}
_RECORD_ROOTS = ("PubmedArticle", "PubmedBookArticle", "MedlineCitation")
# Encodings expat decodes itself; anything else (UTF-7, EBCDIC...) would hide markup from the
# byte-level checks above, and PubMed only ever sends UTF-8.
_ENCODINGS = {"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1"}

_WS = b" \t\r\n"
_XML_DECL = re.compile(rb"<\?xml\s[^>]*?\?>")
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")
_QUOTED = rb"""(?:"[^"]*"|'[^']*')"""
_DOCTYPE = re.compile(
    rb"<!DOCTYPE\s+([^\s>\[]+)(?:\s+(?:SYSTEM\s+"
    + _QUOTED
    + rb"|PUBLIC\s+"
    + _QUOTED
    + rb"(?:\s+"
    + _QUOTED
    + rb")?))?\s*([\[>])"
)
_START_TAG = re.compile(rb"<([A-Za-z_][\w.\-]*(?::[\w.\-]+)?)((?:\s+[^\s=>/]+\s*=\s*" + _QUOTED + rb")*)\s*(/?)>")
_XMLNS = re.compile(rb"""\sxmlns(?::[\w.\-]+)?\s*=\s*(?:"[^"]*"|'[^']*')""")
_PMID = re.compile(rb"<PMID[^>]*>\s*([0-9]+)\s*</PMID>")


class DocumentProblem(Exception):
    """Internal: the document as a whole cannot be read further; the message is the reason."""


def parse(source: Source, source_name: str = "") -> Iterator[ParsedItem]:
    """Yield a Record per article or book, a DeletedCitation per deleted PMID, a Quarantined per
    record that cannot be read, in document order, reading the source as a stream.

    `source` is bytes, a binary file object, or a path; gzip is recognised by its magic bytes, not
    the file name. `source_name` (default: the path, if one is given) labels quarantined items.
    Whole-document problems end the stream with one Quarantined; see the module docstring.
    """
    if isinstance(source, (str, Path)) and not source_name:
        source_name = str(source)
    stream, owned = _open(source)
    try:
        yield from _Reader(stream, source_name).items()
    finally:
        if owned:
            stream.close()


def pmids(source: Source) -> Iterator[str]:
    """The PMID of every Record and DeletedCitation `parse` gives, in document order, reading only
    the PMIDs: ~45% of parse's CPU, for finding which records a later file replaces. The reading is
    parse's own (regions, quarantines, whole-document problems); only a record that parse would
    quarantine for a field other than its PMID is listed here."""
    stream, owned = _open(source)
    try:
        for item in _Reader(stream, "", extract=_extract_pmid).items():
            if not isinstance(item, Quarantined):
                yield item.pmid
    finally:
        if owned:
            stream.close()


def _open(source: Source) -> tuple[BinaryIO, bool]:
    """A binary stream of the decompressed document, and whether we must close it."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        stream, owned = io.BytesIO(bytes(source)), True
    elif isinstance(source, (str, Path)):
        stream, owned = open(source, "rb"), True
    else:
        stream, owned = source, False
    head = stream.read(2)
    if head == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=_Prepended(head, stream)), True
    return _Prepended(head, stream), owned


class _Prepended(io.RawIOBase):
    """A stream with bytes already read put back in front, so any file object works (even a pipe)."""

    def __init__(self, head: bytes, stream: BinaryIO):
        self.head, self.stream = head, stream

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self.head:
            data, self.head = self.head, b""
            return data + (self.stream.read(n - len(data)) if n < 0 or n > len(data) else b"")
        return self.stream.read(n)

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.stream.close()
        super().close()


class _Reader:
    """Walks one document: prolog checks, then region by region through a sliding byte buffer."""

    def __init__(self, stream: BinaryIO, source_name: str, extract: Extractor | None = None):
        self.stream = stream
        self.source = source_name
        self.extract = extract or _extract  # what each readable record element becomes
        self.buf = b""
        self.pos = 0  # cursor into buf
        self.base = 0  # offset in the document of buf[0], for messages
        self.eof = False
        self.encoding: str | None = None
        self.wrap = b""  # namespace declarations of the root, re-applied to each record

    # -- buffer -------------------------------------------------------------------------------
    def fill(self) -> bool:
        """Read more; drop what is behind the cursor. False at end of input."""
        if self.eof:
            return False
        data = self.stream.read(READ_SIZE)
        if not data:
            self.eof = True
            return False
        self.base += self.pos
        self.buf = self.buf[self.pos :] + data
        self.pos = 0
        return True

    def need(self, n: int) -> bool:
        """Make at least n bytes available after the cursor if the input has them."""
        while len(self.buf) - self.pos < n and self.fill():
            pass
        return len(self.buf) - self.pos >= n

    def skip_misc(self) -> None:
        """Skip whitespace, comments and processing instructions (XML's "Misc"): never content."""
        while True:
            while True:
                end = len(self.buf)
                while self.pos < end and self.buf[self.pos] in _WS:
                    self.pos += 1
                if self.pos < end or not self.fill():
                    break
            self.need(4)
            if self.buf.startswith(b"<!--", self.pos):
                self.skip_past(b"-->", "a comment")
            elif self.buf.startswith(b"<?", self.pos):
                self.skip_past(b"?>", "a processing instruction")
            else:
                return

    def find_rel(self, needle: bytes, rel: int, what: str) -> int:
        """Index, relative to the cursor, of the next `needle` at or after `rel`, reading on as
        needed. Relative because fill() moves the buffer; DocumentProblem at end of input."""
        while True:
            hit = self.buf.find(needle, self.pos + rel)
            if hit >= 0:
                return hit - self.pos
            rel = max(0, len(self.buf) - self.pos - len(needle))
            if not self.fill():
                raise DocumentProblem(f"truncated: the document ends inside {what}")

    def skip_past(self, needle: bytes, what: str) -> None:
        self.pos += self.find_rel(needle, 0, what) + len(needle)

    def match(self, pattern: re.Pattern, limit: int) -> re.Match | None:
        """Match `pattern` at the cursor, with up to `limit` bytes available."""
        self.need(limit)
        return pattern.match(self.buf, self.pos, self.pos + limit)

    # -- prolog -------------------------------------------------------------------------------
    def read_prolog(self) -> tuple[str | None, bool]:
        """Check the prolog; return (root tag, True if the root is itself a record) with the cursor
        after the root's start tag (or at it, for a record root). Root None: an empty set root."""
        if not self.need(1):
            raise DocumentProblem("not XML: the document is empty")
        if self.buf.startswith(b"\xef\xbb\xbf"):
            self.pos = 3
        self.need(4)
        head = self.buf[self.pos : self.pos + 4]
        if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head:
            raise DocumentProblem("refused: the document is not UTF-8 (PubMed XML always is)")
        m = self.match(_XML_DECL, 1024)
        if m:
            enc = _ENCODING.search(m.group(0))
            if enc and enc.group(1).decode().lower() not in _ENCODINGS:
                raise DocumentProblem(
                    f"refused: encoding {enc.group(1).decode()!r} is not supported (PubMed XML is UTF-8)"
                )
            self.encoding = enc.group(1).decode() if enc else None
            self.pos = m.end()
        while True:
            self.skip_misc()
            if self.base + self.pos > PROLOG_LIMIT:
                raise DocumentProblem("not PubMed XML: no root element in the first 1 MiB")
            if not self.need(1):
                raise DocumentProblem("not XML: the document has no root element")
            if self.buf.startswith(b"<!DOCTYPE", self.pos):
                m = self.match(_DOCTYPE, 4096)
                if not m:
                    raise DocumentProblem("refused: the DOCTYPE declaration cannot be read")
                if m.group(2) == b"[":
                    raise DocumentProblem(
                        "refused: the DOCTYPE has an internal subset, which PubMed XML never has; it "
                        "can declare entities (entity expansion, external files), so it is not read"
                    )
                self.pos = m.end()
            elif self.buf.startswith(b"<!", self.pos):
                raise DocumentProblem("refused: markup declarations are only allowed inside a DOCTYPE")
            else:
                return self.read_root()

    def read_root(self) -> tuple[str | None, bool]:
        m = self.match(_START_TAG, 65536)
        if not m:
            snippet = self.buf[self.pos : self.pos + 40].decode("utf-8", "replace")
            raise DocumentProblem(f"not XML: the document starts with {snippet!r}")
        root = m.group(1).decode()
        if root in _RECORD_ROOTS:
            return root, True  # a lone record: leave the cursor on it
        if root not in _SET_ROOTS:
            raise DocumentProblem(f"not PubMed article XML: the root element is <{root}>")
        self.wrap = b"".join(_XMLNS.findall(m.group(2)))
        self.pos = m.end()
        return (None if m.group(3) else root), False

    # -- records ------------------------------------------------------------------------------
    def items(self) -> Iterator[ParsedItem]:
        count = 0
        try:
            root, lone = self.read_prolog()
            if root is None:
                return
            tags = (root,) if lone else _SET_ROOTS[root]
            careful_until = 0  # document offset up to which records are read one by one
            while True:
                self.skip_misc()
                if not self.need(1):
                    if lone and count:
                        return
                    raise DocumentProblem(f"truncated: the document ends before </{root}>")
                if not lone and self.at_end_tag(root):
                    self.check_trailer(root)
                    return
                if not lone and self.base + self.pos >= careful_until:
                    batch, careful_until = self.region(tags)
                    if batch is not None:
                        count += len(batch)
                        yield from batch
                        continue
                m = self.match(_START_TAG, 65536)
                tag = m.group(1).decode() if m else ""
                if tag in tags and not (lone and count):
                    for item in self.record(tag, m):
                        count += 1
                        yield item
                else:
                    yield self.skip_unexpected(tags, root)
        except DocumentProblem as exc:
            reason = f"{exc} (after {count} items)" if count else str(exc)
            log.debug("%s: %s", self.source or "PubMed XML", reason)
            pmid = getattr(exc, "pmid", "")
            yield Quarantined(pmid=pmid, reason=reason, source=self.source)

    def region(self, tags: tuple[str, ...]) -> tuple[list[ParsedItem] | None, int]:
        """The fast path: every whole record in the next REGION_SIZE bytes, parsed by one parser.

        Returns (items, offset) with the cursor moved past those records, or (None, offset) when
        the region holds anything else than well-formed, readable records: the caller then reads
        it record by record up to that document offset, which finds and quarantines exactly the
        bad part. One parser for ~15 records, with the collector paused, makes parsing ~15%
        cheaper than record by record.
        """
        self.need(REGION_SIZE)
        limit = min(len(self.buf), self.pos + REGION_SIZE)
        end = self.pos
        for tag in tags:  # the usual record tag comes first: the others are looked for after it
            close = _end_tag(tag)
            hit = self.buf.rfind(close, end, limit)
            if hit >= 0:
                end = hit + len(close)
        if end == self.pos:  # not one whole record in REGION_SIZE bytes (a huge record, or a cut file)
            return None, self.base + self.pos + 1
        items = _region_items(self.buf[self.pos : end], tags, self.encoding, self.wrap, self.extract)
        if items is not None:
            self.pos = end
        return items, self.base + end

    def at_end_tag(self, root: str) -> bool:
        if not self.buf.startswith(b"</", self.pos):
            return False
        self.need(len(root) + 16)
        return (
            re.match(rb"</" + re.escape(root.encode()) + rb"\s*>", self.buf[self.pos : self.pos + len(root) + 16])
            is not None
        )

    def check_trailer(self, root: str) -> None:
        self.pos = self.buf.index(b">", self.pos) + 1
        self.skip_misc()
        if self.need(1):
            raise DocumentProblem(f"not XML: content after </{root}> at byte {self.base + self.pos}")

    def record(self, tag: str, start: re.Match) -> Iterator[ParsedItem]:
        """Cut out one record, parse it alone, and turn it into items."""
        offset = self.base + self.pos
        if start.group(3):  # <PubmedArticle/>
            end = start.end()
        else:
            close = b"</" + tag.encode()
            rel = start.end() - self.pos
            while True:
                try:
                    rel = self.find_rel(close, rel, f"a <{tag}> record")
                except DocumentProblem as exc:
                    if self.next_record_start(tag, start.end(), len(self.buf)) is None:
                        exc.pmid = _pmid_in(self.buf[self.pos :])  # type: ignore[attr-defined]
                        raise
                    rel = len(self.buf) - self.pos  # the record lost its end tag; see below
                    end = len(self.buf)
                    break
                rel += len(close)
                self.need(rel + 64)
                k = self.pos + rel
                while k < len(self.buf) and self.buf[k] in _WS:
                    k += 1
                if self.buf[k : k + 1] == b">":
                    end = k + 1
                    break
                # "</PubmedArticleX": not our end tag; look further.
            # A record whose end tag is missing would swallow the next record with it: cut it at
            # the next record's start tag, quarantine it, and carry on from there.
            nested = self.next_record_start(tag, start.end(), end)
            if nested is not None:
                chunk = self.buf[self.pos : nested]
                self.pos = nested
                reason = f"malformed XML in the <{tag}> record at byte {offset}: no </{tag}> before the next <{tag}>"
                log.debug("%s: %s", self.source or "PubMed XML", reason)
                yield Quarantined(pmid=_pmid_in(chunk), reason=reason, source=self.source)
                return
        chunk = self.buf[self.pos : end]
        self.pos = end
        yield from _items_of(chunk, tag, offset, self.encoding, self.wrap, self.source, self.extract)

    def next_record_start(self, tag: str, start: int, end: int) -> int | None:
        """Index in buf of a `<tag` start tag between start and end, if any."""
        m = _record_start(tag).search(self.buf, start, end)
        return m.start() if m else None

    def skip_unexpected(self, tags: tuple[str, ...], root: str) -> Quarantined:
        """Quarantine whatever sits between records and move to the next record or the root's end."""
        offset = self.base + self.pos
        snippet = self.buf[self.pos : self.pos + 40].decode("utf-8", "replace")
        pattern = re.compile(rb"<(?:" + b"|".join(t.encode() for t in tags) + rb")[\s>/]|</" + root.encode() + rb"\s*>")
        search_from = self.pos + 1
        while True:
            m = pattern.search(self.buf, search_from)
            if m:
                skipped = self.buf[self.pos : m.start()]
                self.pos = m.start()
                break
            search_from = max(self.pos + 1, len(self.buf) - 64)
            before = self.pos
            if not self.fill():
                skipped = self.buf[self.pos :]
                self.pos = len(self.buf)
                break
            search_from -= before
        reason = f"unexpected content at byte {offset}, skipped: {snippet!r}"
        log.debug("%s: %s", self.source or "PubMed XML", reason)
        return Quarantined(pmid=_pmid_in(skipped), reason=reason, source=self.source)


@lru_cache(maxsize=None)
def _end_tag(tag: str) -> bytes:
    return b"</" + tag.encode() + b">"


@lru_cache(maxsize=None)
def _record_start(tag: str) -> re.Pattern:
    return re.compile(rb"<" + tag.encode() + rb"[\s>/]")


def _pmid_in(data: bytes) -> str:
    m = _PMID.search(data)
    return m.group(1).decode() if m else ""


def _items_of(
    chunk: bytes, tag: str, offset: int, encoding: str | None, wrap: bytes, source: str, extract: Extractor
) -> Iterator[ParsedItem]:
    """Parse one record's bytes and extract it; any failure quarantines just this record."""
    try:
        elem = _parse_record(chunk, encoding, wrap)
    except ET.ParseError as exc:
        reason = f"malformed XML in the <{tag}> record at byte {offset}: {exc}"
        log.debug("%s: %s", source or "PubMed XML", reason)
        yield Quarantined(pmid=_pmid_in(chunk), reason=reason, source=source)
        return
    try:
        yield from extract(elem, tag)
    except _UNREADABLE as exc:
        # A well-formed record we cannot read (no PMID, or a shape we did not foresee): keep it
        # visible rather than stopping the file.
        reason = f"unreadable <{tag}> record at byte {offset}: {exc}"
        log.debug("%s: %s", source or "PubMed XML", reason)
        yield Quarantined(pmid=_pmid_in(chunk), reason=reason, source=source)


def _region_items(
    chunk: bytes, tags: tuple[str, ...], encoding: str | None, wrap: bytes, extract: Extractor
) -> list[ParsedItem] | None:
    """The items of a run of whole records, or None if any part of it is not a readable record
    (malformed XML, an unreadable record, text or another element between records)."""
    with _gc_paused():
        try:
            root = _parse_wrapped(_without_references(chunk), encoding, wrap)
        except ET.ParseError:
            return None
        if root.text and not root.text.isspace():
            return None
        items: list[ParsedItem] = []
        try:
            for elem in root:
                if elem.tag not in tags or (elem.tail and not elem.tail.isspace()):
                    return None
                items.extend(extract(elem, elem.tag))
        except _UNREADABLE:
            return None
        del root  # freed while the collector still rests
        return items


def _without_references(chunk: bytes) -> bytes:
    """`chunk` with every <ReferenceList> element cut out: a third of current PubMed XML is the
    articles' reference lists, which nothing here reads. A cut that is not a whole element (a
    ReferenceList nested in another) leaves the XML malformed, so the region falls back to the
    record-by-record path, which reads the records uncut."""
    start = chunk.find(b"<ReferenceList>")
    if start < 0:
        return chunk
    kept, pos = [], 0
    while start >= 0:
        end = chunk.find(b"</ReferenceList>", start)
        if end < 0:
            return chunk
        kept.append(chunk[pos:start])
        pos = end + len(b"</ReferenceList>")
        start = chunk.find(b"<ReferenceList>", pos)
    kept.append(chunk[pos:])
    return b"".join(kept)


def _parse_wrapped(chunk: bytes, encoding: str | None, wrap: bytes) -> ET.Element:
    """Parse `chunk` (one or more records) inside a stand-in root carrying the document root's
    namespace declarations; ParseError if it is not well-formed."""
    parser = ET.XMLParser(encoding=encoding)
    parser.feed(b"<_" + wrap + b">")
    parser.feed(chunk)
    parser.feed(b"</_>")
    return parser.close()


def _parse_record(chunk: bytes, encoding: str | None, wrap: bytes) -> ET.Element:
    """Parse one record, with no stand-in root unless namespaces need one, so that the line and
    column in a ParseError count from the record's own start."""
    if wrap:
        return _parse_wrapped(chunk, encoding, wrap)[0]
    parser = ET.XMLParser(encoding=encoding)
    parser.feed(chunk)
    return parser.close()


# What a well-formed record that cannot be read raises: no PMID, or a shape we did not foresee.
_UNREADABLE = (MissingPMID, ValueError, TypeError, AttributeError)


class _ListedPmid(NamedTuple):
    """A record that `pmids` lists: only its PMID was read."""

    pmid: str


def _extract_pmid(elem: ET.Element, tag: str) -> Iterator[_ListedPmid | DeletedCitation]:
    if tag == "DeleteCitation":
        yield from _extract(elem, tag)
    else:
        yield _ListedPmid(record_pmid(elem))


def _extract(elem: ET.Element, tag: str) -> Iterator[ParsedItem]:
    if tag == "DeleteCitation":
        for pmid in elem.iterfind("PMID"):
            if (pmid.text or "").strip():
                yield DeletedCitation(pmid=pmid.text.strip())
    elif tag == "PubmedBookArticle":
        yield book_record(elem)
    else:
        yield article_record(elem)


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while a region is parsed and extracted.

    A region's tree and records hold no reference cycles, so the collector has nothing to free
    there; left on, it traverses the young tree again and again as it grows (~15% of the parse).
    Reference counting still frees everything. Nested and concurrent pauses (fetch parses in
    threads) are counted, and the collector's previous state comes back with the last one.
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()
