"""PubMed XML -> records: pure and streaming (each article is cleared once read)."""
from __future__ import annotations

import gzip
import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import BinaryIO, Iterator

from .models import AbstractSection, DeletedCitation, ParsedItem, Quarantined, Record

_WS = re.compile(r"\s+")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")


def parse(source: bytes | BinaryIO | str | Path, source_name: str = "") -> Iterator[ParsedItem]:
    """Yield a Record per article, a DeletedCitation per deleted PMID, a Quarantined per bad record.

    A document that stops being XML part-way yields what came before, then one Quarantined that
    names `source_name` and the parser's complaint.
    """
    stream = _open(source)
    article_tag = "PubmedArticle"
    try:
        for event, elem in ET.iterparse(stream, events=("start", "end")):
            if event == "start":
                # The 2016 MedlineCitationSet format has bare MedlineCitation articles.
                if elem.tag == "MedlineCitationSet":
                    article_tag = "MedlineCitation"
                continue
            if elem.tag == article_tag:
                yield _record_or_quarantine(elem, source_name)
                elem.clear()
            elif elem.tag == "DeleteCitation":
                for pmid in elem.iter("PMID"):
                    yield DeletedCitation(pmid=(pmid.text or "").strip())
                elem.clear()
    except ET.ParseError as exc:
        yield Quarantined(pmid="", reason=f"malformed XML: {exc}", source=source_name)


def _open(source) -> BinaryIO:
    if isinstance(source, (str, Path)):
        source = Path(source).read_bytes()
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    head = source.read(2)
    source.seek(0)
    return gzip.GzipFile(fileobj=source) if head == b"\x1f\x8b" else source


def _text(elem: ET.Element | None) -> str:
    return _WS.sub(" ", "".join(elem.itertext())).strip() if elem is not None else ""


def _record_or_quarantine(elem: ET.Element, source_name: str) -> ParsedItem:
    citation = elem if elem.tag == "MedlineCitation" else elem.find("MedlineCitation")
    pmid = _text(citation.find("PMID")) if citation is not None else ""
    if not pmid:
        return Quarantined(pmid="", reason="record without a PMID", source=source_name)
    article = citation.find("Article")
    if article is None:
        return Quarantined(pmid=pmid, reason="record without an Article element", source=source_name)
    pub_date = article.find("Journal/JournalIssue/PubDate")
    year_text = _text(pub_date.find("Year")) if pub_date is not None else ""
    medline_date = _text(pub_date.find("MedlineDate")) if pub_date is not None else ""
    year_match = _YEAR.search(year_text or medline_date)
    article_date = article.find("ArticleDate")
    iso_article_date = ""
    if article_date is not None and _text(article_date.find("Year")):
        iso_article_date = "-".join(
            _text(article_date.find(p)).zfill(2) for p in ("Year", "Month", "Day"))
    sections = tuple(
        AbstractSection(label=a.get("Label", ""), text=_text(a), category=a.get("NlmCategory", ""))
        for a in article.findall("Abstract/AbstractText")
    )
    doi = ""
    for loc in article.findall("ELocationID"):
        if loc.get("EIdType") == "doi":
            doi = _text(loc)
    return Record(
        pmid=pmid,
        title=_text(article.find("ArticleTitle")),
        abstract_sections=sections,
        doi=doi,
        journal=_text(article.find("Journal/Title")),
        journal_iso=_text(article.find("Journal/ISOAbbreviation")),
        pub_year=int(year_match.group(1)) if year_match else None,
        medline_date=medline_date if not year_text else "",
        article_date=iso_article_date,
        languages=tuple(_text(x).lower() for x in article.findall("Language") if _text(x)),
        publication_types=tuple(_text(x) for x in article.findall("PublicationTypeList/PublicationType")),
    )
