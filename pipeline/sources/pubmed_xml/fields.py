"""One parsed PubMed record element -> Record: the field rules, as small pure functions.

`pubmed_xml` finds and parses the records; this module only reads an ElementTree element that is
already in memory. Element paths are always relative to the record and anchored on the direct
parent, because several names recur deeper down: `ArticleIdList` also sits in every
`ReferenceList/Reference`, and `AuthorList` in a book's `Book` lists editors, not authors.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html import unescape

from pipeline.models import AbstractSection, Author, CommentCorrection, MeshHeading, Record

_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
# A season names no month; we take one inside the same year so the year never changes
# ("Winter 2016" stays in 2016 rather than guessing December 2015).
_SEASONS = {"spring": 3, "summer": 6, "fall": 9, "autumn": 9, "winter": 12}
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_WORD = re.compile(r"[A-Za-z]+")
# Only complete references with a semicolon: html.unescape alone would also turn the legacy
# forms "&not" or "&copy" inside ordinary text such as "A&notB" into symbols.
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# Markup that publishers escaped into the text itself: real abstracts carry "&lt;p&gt;" and JATS
# "&lt;italic&gt;", which parse to the text "<p>". Only these lower-case names, with at most
# quoted attributes, count as tags, so "<r.m.s.d.>", "p<0.05" or "<age 18>" stay as written.
_LEFTOVER_TAG = re.compile(
    r"<(/?)(p|br|div|li|ul|ol|list|list-item|i|b|u|em|strong|sup|sub|sc|span|italic|bold|underline)"
    r'((?:\s+[\w:\-]+="[^"<>]*")*)\s*/?>'
)
_BLOCK_TAGS = {"p", "br", "div", "li", "ul", "ol", "list", "list-item"}


def clean_text(elem: ET.Element | None) -> str:
    """All text inside `elem` (inline <i>, <sup>, MathML... dropped, their text kept), tidied.

    Character references that NCBI escaped twice (text "&amp;lt;" arrives as "&lt;") are unescaped,
    HTML/JATS tags that arrived as text ("<p>", "<italic>") are dropped (block tags leave a space),
    and every run of whitespace, newlines and tabs included, becomes one space.
    """
    if elem is None:
        return ""
    if len(elem):
        return tidy("".join(elem.itertext()))
    text = elem.text
    if not text:
        return ""
    # The common case, inlined because it runs ~40 times a record: clean text without markup.
    if (
        "&" not in text
        and "<" not in text
        and text.isprintable()
        and "  " not in text
        and text[0] != " "
        and text[-1] != " "
    ):
        return text
    return tidy(text)


def tidy(text: str) -> str:
    """Unescape leftover character references, drop escaped-in HTML/JATS tags, normalise whitespace."""
    if "&" in text:
        text = _ENTITY.sub(lambda m: unescape(m.group(0)), text)
    if "<" in text:
        text = _LEFTOVER_TAG.sub(lambda m: " " if m.group(2) in _BLOCK_TAGS else "", text)
    if _is_normalised(text):
        return text  # the common case, and a cheap test: split/join costs far more on long text
    return " ".join(text.split())


def _is_normalised(text: str) -> bool:
    """True when " ".join(text.split()) would return text unchanged.

    Every character str.split() splits on other than the plain space (tab, newline, NBSP, thin
    space, line separator...) is non-printable to str.isprintable(), a fast C scan.
    """
    return text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " "


def month_number(text: str) -> int | None:
    """'Mar', 'March', '03' or '3' -> 3; a season -> its month in the same year; else None."""
    text = text.strip()
    if text.isdigit():
        n = int(text)
        return n if 1 <= n <= 12 else None
    low = text[:3].lower()
    if low in _MONTHS:
        return _MONTHS[low]
    return _SEASONS.get(text.lower())


def year_month_of_medline_date(text: str) -> tuple[int | None, int | None]:
    """The first year and the first month or season after it: '2015 Dec-2016 Jan' -> (2015, 12)."""
    match = _YEAR.search(text)
    if not match:
        return None, None
    for word in _WORD.findall(text[match.end() :]):
        month = month_number(word)
        if month:
            return int(match.group(1)), month
    return int(match.group(1)), None


def iso_date(elem: ET.Element | None) -> str:
    """A Year/Month/Day element as 'yyyy-mm-dd', or 'yyyy-mm' / 'yyyy' when parts are missing."""
    if elem is None:
        return ""
    year = (elem.findtext("Year") or "").strip()
    if not year.isdigit():
        return ""
    month = month_number(elem.findtext("Month") or "")
    if month is None:
        return year
    day = (elem.findtext("Day") or "").strip()
    if day.isdigit() and 1 <= int(day) <= 31:
        return f"{year}-{month:02d}-{int(day):02d}"
    return f"{year}-{month:02d}"


def pub_date_fields(pub_date: ET.Element | None) -> tuple[int | None, int | None, str]:
    """PubDate -> (year, month, raw MedlineDate). Year beats MedlineDate; Month beats Season."""
    if pub_date is None:
        return None, None, ""
    year_text = (pub_date.findtext("Year") or "").strip()
    if year_text.isdigit():
        month = month_number(pub_date.findtext("Month") or pub_date.findtext("Season") or "")
        return int(year_text), month, ""
    medline = tidy(pub_date.findtext("MedlineDate") or "")
    year, month = year_month_of_medline_date(medline)
    return year, month, medline


def pub_day(pub_date: ET.Element | None) -> int | None:
    """PubDate Day (1-31) when the date also has a Year and a numeric or named Month, else None."""
    if pub_date is None or not (pub_date.findtext("Year") or "").strip().isdigit():
        return None
    if month_number(pub_date.findtext("Month") or "") is None:
        return None
    day = (pub_date.findtext("Day") or "").strip()
    return int(day) if day.isdigit() and 1 <= int(day) <= 31 else None


def abstract_sections(abstract: ET.Element | None) -> tuple[AbstractSection, ...]:
    """Each AbstractText with its Label and NlmCategory; CopyrightInformation is not abstract."""
    if abstract is None:
        return ()
    sections = []
    for part in abstract.findall("AbstractText"):
        text = clean_text(part)
        label = tidy(part.get("Label", ""))
        if text or label:
            sections.append(AbstractSection(label=label, text=text, category=part.get("NlmCategory", "")))
    return tuple(sections)


_NAME_PARTS = {"LastName": 0, "ForeName": 1, "Initials": 2, "CollectiveName": 3}


def authors(author_list: ET.Element | None) -> tuple[Author, ...]:
    """Authors in order. ValidYN="N" entries are names NCBI marked wrong (a corrected one follows)."""
    if author_list is None:
        return ()
    result = []
    # Author lists run to hundreds of names that share a few affiliations: this is the parser's
    # hottest loop, hence one pass over each author's children and a per-list affiliation cache.
    seen: dict[str | None, str] = {}
    for a in author_list.findall("Author"):
        if a.get("ValidYN") == "N":
            continue
        names = ["", "", "", ""]
        affiliations = []
        for part in a:
            i = _NAME_PARTS.get(part.tag)
            if i is not None:
                names[i] = clean_text(part)
            elif part.tag == "AffiliationInfo":
                for aff in part.findall("Affiliation"):
                    if len(aff):  # inline markup: its .text is only the start, so no caching
                        cleaned = clean_text(aff)
                    else:
                        cleaned = seen.get(aff.text)
                        if cleaned is None:
                            cleaned = seen[aff.text] = clean_text(aff)
                    if cleaned:
                        affiliations.append(cleaned)
            elif part.tag == "Affiliation":  # pre-2014 DTDs put it straight in Author
                cleaned = clean_text(part)
                if cleaned:
                    affiliations.append(cleaned)
        result.append(Author(names[0], names[1], names[2], names[3], tuple(affiliations)))
    return tuple(result)


def mesh_headings(citation: ET.Element) -> tuple[MeshHeading, ...]:
    """MeSH headings. major_topic is true when the descriptor or any of its qualifiers is starred,
    which is what PubMed's [majr] search and the asterisk in its display mean."""
    result = []
    heading_list = citation.find("MeshHeadingList")
    for heading in heading_list.findall("MeshHeading") if heading_list is not None else ():
        descriptor = heading.find("DescriptorName")
        if descriptor is None:
            continue
        qualifiers = heading.findall("QualifierName")
        major = descriptor.get("MajorTopicYN") == "Y" or any(q.get("MajorTopicYN") == "Y" for q in qualifiers)
        result.append(
            MeshHeading(
                descriptor=clean_text(descriptor),
                major_topic=major,
                qualifiers=tuple(clean_text(q) for q in qualifiers),
                ui=descriptor.get("UI", ""),
            )
        )
    return tuple(result)


def comments_corrections(citation: ET.Element) -> tuple[CommentCorrection, ...]:
    """CommentsCorrections links: RetractionIn, ErratumFor, CommentOn..., with the PMID when given."""
    return tuple(
        CommentCorrection(
            ref_type=c.get("RefType", ""),
            pmid=(c.findtext("PMID") or "").strip(),
            source=clean_text(c.find("RefSource")),
        )
        for c in _children(citation, "CommentsCorrectionsList", "CommentsCorrections")
    )


def texts(parent: ET.Element | None, *path: str) -> tuple[str, ...]:
    """The cleaned, non-empty text of every element at `path` ("List", "Item"), in order.

    Walks one level at a time with the C findall: a multi-step path string would go through the
    much slower pure-Python ElementPath.
    """
    if parent is None:
        return ()
    found = parent.findall(path[0])
    for step in path[1:]:
        found = [x for node in found for x in node.findall(step)]
    return tuple(filter(None, map(clean_text, found)))


def publication_types(parent: ET.Element | None) -> dict[str, tuple[str, ...]]:
    """Record fields publication_types and publication_type_uis: each named PublicationType under
    `parent` and its MeSH unique identifier (the UI attribute, "" when absent), in order.

    The UI outlives renamings ("Retraction of Publication" became "Retraction Notice", D016440).
    """
    names, uis = [], []
    if parent is not None:
        for elem in parent.findall("PublicationType"):
            name = clean_text(elem)
            if name:
                names.append(name)
                uis.append((elem.get("UI") or "").strip())
    return {"publication_types": tuple(names), "publication_type_uis": tuple(uis)}


def article_ids(*id_lists: ET.Element | None) -> dict[str, str]:
    """{IdType: value} from ArticleIdList elements; the first list to give a type wins."""
    ids: dict[str, str] = {}
    for id_list in id_lists:
        if id_list is None:
            continue
        for x in id_list.findall("ArticleId"):
            kind, value = x.get("IdType", ""), (x.text or "").strip()
            if value and kind not in ids:
                ids[kind] = value
    return ids


def elocation_doi(parent: ET.Element | None) -> str:
    """The first valid ELocationID of type doi: the DOI source when there is no ArticleIdList."""
    if parent is None:
        return ""
    for loc in parent.findall("ELocationID"):
        if loc.get("EIdType") == "doi" and loc.get("ValidYN", "Y") == "Y" and (loc.text or "").strip():
            return loc.text.strip()
    return ""


def history_dates(history: ET.Element | None, wanted: tuple[str, ...] = ("entrez", "pubmed")) -> dict[str, str]:
    """{PubStatus: ISO date} from History for the `wanted` statuses; the first date of each wins."""
    dates: dict[str, str] = {}
    if history is not None:
        for d in history.findall("PubMedPubDate"):
            status = d.get("PubStatus", "")
            if status in wanted and status not in dates:
                dates[status] = iso_date(d)
    return dates


def pmcid_of_other_ids(citation: ET.Element) -> str:
    """The 2016 format has no ArticleIdList: a PMC id may sit in OtherID ("PMC123 [Available on ...]")."""
    for other in citation.findall("OtherID"):
        words = (other.text or "").split()
        if words and words[0].startswith("PMC"):
            return words[0]
    return ""


def _children(parent: ET.Element, list_tag: str, item_tag: str):
    found = parent.find(list_tag)
    return found.findall(item_tag) if found is not None else ()


class MissingPMID(ValueError):
    """A record element without a PMID: it cannot be tracked, so it is quarantined."""


def _pmid(parent: ET.Element) -> str:
    pmid = (parent.findtext("PMID") or "").strip()
    if not pmid:
        raise MissingPMID("record has no PMID")
    return pmid


def _pmid_holder(elem: ET.Element) -> ET.Element:
    """The element holding a record's PMID: a book's BookDocument, else the MedlineCitation (of a
    PubmedArticle, or the record itself in the 2016 format)."""
    if elem.tag == "PubmedBookArticle":
        doc = elem.find("BookDocument")
        if doc is None:
            raise MissingPMID("book record has no BookDocument element")
        return doc
    citation = elem if elem.tag == "MedlineCitation" else elem.find("MedlineCitation")
    if citation is None:
        raise MissingPMID("record has no MedlineCitation element")
    return citation


def record_pmid(elem: ET.Element) -> str:
    """The PMID article_record or book_record gives the record `elem`, reading nothing else."""
    return _pmid(_pmid_holder(elem))


def article_record(elem: ET.Element) -> Record:
    """A PubmedArticle (current format) or a bare MedlineCitation (2016 format) -> Record."""
    citation = _pmid_holder(elem)
    pmid = _pmid(citation)
    article = citation.find("Article")
    if article is None:
        article = ET.Element("Article")  # keep PMID, MeSH and dates of a citation without one
    journal = article.find("Journal")
    issue = journal.find("JournalIssue") if journal is not None else None
    journal_pub_date = issue.find("PubDate") if issue is not None else None
    year, month, medline_date = pub_date_fields(journal_pub_date)
    pubmed_data = elem.find("PubmedData")
    ids = article_ids(pubmed_data.find("ArticleIdList") if pubmed_data is not None else None)
    history = history_dates(pubmed_data.find("History") if pubmed_data is not None else None)
    return Record(
        pmid=pmid,
        title=clean_text(article.find("ArticleTitle")),
        abstract_sections=abstract_sections(article.find("Abstract")),
        doi=ids.get("doi") or elocation_doi(article),
        pmcid=ids.get("pmc") or pmcid_of_other_ids(citation),
        journal=clean_text(journal.find("Title")) if journal is not None else "",
        journal_iso=clean_text(journal.find("ISOAbbreviation")) if journal is not None else "",
        volume=clean_text(issue.find("Volume")) if issue is not None else "",
        issue=clean_text(issue.find("Issue")) if issue is not None else "",
        pages=pages(article.find("Pagination")),
        pub_year=year,
        pub_month=month,
        pub_day=pub_day(journal_pub_date),
        medline_date=medline_date,
        article_date=iso_date(article.find("ArticleDate")),
        entrez_date=history.get("entrez", ""),
        pubmed_date=history.get("pubmed", ""),
        languages=tuple(map(str.lower, texts(article, "Language"))),
        vernacular_title=clean_text(article.find("VernacularTitle")),
        **publication_types(article.find("PublicationTypeList")),
        mesh_headings=mesh_headings(citation),
        chemicals=texts(citation, "ChemicalList", "Chemical", "NameOfSubstance"),
        keywords=texts(citation, "KeywordList", "Keyword"),
        authors=authors(article.find("AuthorList")),
        comments_corrections=comments_corrections(citation),
    )


def pages(pagination: ET.Element | None) -> str:
    """MedlinePgn, or StartPage-EndPage when only those are given."""
    if pagination is None:
        return ""
    medline = clean_text(pagination.find("MedlinePgn"))
    if medline:
        return medline
    start, end = clean_text(pagination.find("StartPage")), clean_text(pagination.find("EndPage"))
    return f"{start}-{end}" if start and end else start


def book_record(elem: ET.Element) -> Record:
    """A PubmedBookArticle (a book or a chapter, e.g. GeneReviews) -> Record with is_book set.

    The book title stands in the journal column; a whole-book record has no ArticleTitle, so the
    book title is its title too. Only BookDocument/AuthorList (the authors) is read, never
    Book/AuthorList (the editors).
    """
    doc = _pmid_holder(elem)
    pmid = _pmid(doc)
    book = doc.find("Book")
    book_title = clean_text(book.find("BookTitle")) if book is not None else ""
    year, month, medline_date = pub_date_fields(book.find("PubDate") if book is not None else None)
    book_data = elem.find("PubmedBookData")
    ids = article_ids(doc.find("ArticleIdList"), book_data.find("ArticleIdList") if book_data is not None else None)
    history = history_dates(book_data.find("History") if book_data is not None else None)
    return Record(
        pmid=pmid,
        title=clean_text(doc.find("ArticleTitle")) or book_title,
        abstract_sections=abstract_sections(doc.find("Abstract")),
        doi=ids.get("doi") or elocation_doi(doc),
        pmcid=ids.get("pmc", ""),
        journal=book_title,
        volume=clean_text(book.find("Volume")) if book is not None else "",
        pages=pages(doc.find("Pagination")),
        pub_year=year,
        pub_month=month,
        medline_date=medline_date,
        entrez_date=history.get("entrez", ""),
        pubmed_date=history.get("pubmed", ""),
        languages=tuple(map(str.lower, texts(doc, "Language"))),
        vernacular_title=clean_text(doc.find("VernacularTitle")),
        **publication_types(doc),
        keywords=texts(doc, "KeywordList", "Keyword"),
        authors=authors(next((x for x in doc.findall("AuthorList") if x.get("Type") != "editors"), None)),
        is_book=True,
    )
