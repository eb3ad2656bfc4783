"""Raw entries of each export format mapped to Records (pure).

Every format ends in `record(...)`, so the conventions of sources/normalise.py (DOI, languages,
publication types, markup) apply to all of them, and every identifier an export carries lands in
`Record.ids`: pmid, pmcid, doi, and the database's own accession number (wos, scopus, embase,
central, ebscohost, ovid).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from pipeline.models import CommentCorrection, MeshHeading, Record
from pipeline.sources import normalise as norm
from pipeline.sources.imports.tagged import Entry

_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}


def record(
    *,
    title: str,
    ids: dict[str, str],
    abstract: str = "",
    year: int | None = None,
    article_date: str = "",
    journal: str = "",
    journal_iso: str = "",
    volume: str = "",
    issue: str = "",
    pages: str = "",
    languages=(),
    types=(),
    keywords=(),
    authors=(),
    mesh=(),
    corrections=(),
    month: int | None = None,
) -> Record:
    """The one place an imported record is built: text cleaned, codes mapped, ids normalised."""
    clean_ids = {}
    for scheme, value in ids.items():
        value = (value or "").strip()
        if scheme == "doi":
            value = norm.normalise_doi(value)
        elif scheme == "pmid":
            value = norm.normalise_pmid(value)
        elif scheme == "pmcid":
            value = norm.normalise_pmcid(value)
        if value:
            clean_ids[scheme] = value
    return Record(
        title=norm.clean_text(title),
        abstract_sections=norm.abstract(abstract),
        pub_year=year,
        pub_month=month,
        article_date=article_date,
        journal=norm.clean_text(journal),
        journal_iso=journal_iso,
        volume=volume,
        issue=issue,
        pages=pages,
        languages=norm.languages(list(languages)),
        publication_types=norm.publication_types(types),
        keywords=tuple(dict.fromkeys(k.strip() for k in keywords if k.strip())),
        authors=norm.authors(authors),
        mesh_headings=tuple(mesh),
        comments_corrections=tuple(corrections),
        ids=clean_ids,
    )


def _pages(start: str, end: str) -> str:
    return f"{start}-{end}" if start and end and end != start else start


# --- RIS --------------------------------------------------------------------------------------------

_EID = re.compile(r"eid=(2-s2\.0-\d+)")


def from_ris(entry: Entry) -> Record:
    """A RIS record of any dialect (Web of Science, Scopus, Embase, EBSCOhost, Ovid, Google Scholar,
    ScienceDirect, PubMed). DOIs are taken from DO, else DI, L3, M3/N1 'doi: ...' or a doi.org URL."""
    e = entry
    ids = {"doi": _ris_doi(e)}
    database = " ".join(e.all("DB", "DP")).lower()
    for accession in e.all("AN"):
        if accession.upper().startswith("WOS:"):
            ids["wos"] = accession[4:]
        elif "pubmed" in database or "medline" in database:
            ids["pmid"] = accession
        elif "embase" in database:
            ids["embase"] = accession
        elif "ebsco" in database or re.fullmatch(r"[a-z0-9]{2,5}", " ".join(e.all("DB"))):
            ids["ebscohost"] = accession
        elif "ovid" in database:
            ids["ovid"] = accession
    for url in e.all("UR", "L1", "L2"):
        if match := _EID.search(url):
            ids["scopus"] = match.group(1)
    for note in e.all("N1", "M1", "C2"):
        if match := re.match(r"(?:PubMed ID|PMID):?\s*(\d+)", note, re.I):
            ids["pmid"] = match.group(1)
        elif match := re.match(r"(PMC\d+)", note):
            ids["pmcid"] = match.group(1)
    year_text = e.first("PY", "Y1", "DA")
    types = e.all("TY") + [t for t in e.all("M3") if not norm.normalise_doi(t)]
    return record(
        title=e.first("TI", "T1", "CT", "BT") or (e.first("T2") if e.first("TY") == "BOOK" else ""),
        ids=ids,
        abstract=e.first("AB", "N2"),
        year=norm.first_year(year_text),
        journal=e.first("JF", "JO", "T2", "JA", "J2", "T3"),
        journal_iso=e.first("JI", "J2"),
        volume=e.first("VL"),
        issue=e.first("IS"),
        pages=_pages(e.first("SP"), e.first("EP")),
        languages=e.all("LA"),
        types=types,
        keywords=e.all("KW"),
        authors=e.all("AU", "A1") or e.all("A2"),
    )


def _ris_doi(e: Entry) -> str:
    for value in e.all("DO", "DI", "L3"):
        if doi := norm.normalise_doi(value):
            return doi
    for value in e.all("M3", "N1", "M1"):
        if value.lower().startswith("doi") and (doi := norm.normalise_doi(value)):
            return doi
    for value in e.all("UR", "L2"):
        if "doi.org/" in value.lower() and (doi := norm.normalise_doi(value.split("doi.org/", 1)[1])):
            return doi
    return ""


# --- PubMed MEDLINE ---------------------------------------------------------------------------------


def _iso_date(yyyymmdd: str) -> str:
    digits = re.sub(r"\D", "", yyyymmdd)
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}" if len(digits) >= 8 else ""


def from_medline(entry: Entry) -> Record:
    """A record of PubMed's MEDLINE text format (.nbib, 'Send to: Citation manager')."""
    e = entry
    doi = ""
    for value in e.all("LID", "AID"):
        if value.endswith("[doi]"):
            doi = value[:-5].strip()
            break
    mesh = []
    for heading in e.all("MH"):
        descriptor, *qualifiers = heading.split("/")
        major = descriptor.startswith("*") or any(q.startswith("*") for q in qualifiers)
        mesh.append(MeshHeading(descriptor.strip("* "), major, tuple(q.strip("* ") for q in qualifiers)))
    corrections = []
    for tag, kind in (("RIN", "RetractionIn"), ("EIN", "ErratumIn"), ("ROF", "RetractionOf")):
        for value in e.all(tag):
            pmid = re.search(r"PMID:\s*(\d+)", value)
            corrections.append(CommentCorrection(kind, pmid.group(1) if pmid else "", value))
    date = e.first("DP")
    month = _MONTHS.get(date[5:8].lower()) if len(date) >= 8 else None
    return record(
        title=e.first("TI", "BTI"),
        ids={"pmid": e.first("PMID"), "pmcid": e.first("PMC"), "doi": doi},
        abstract=e.first("AB"),
        year=norm.first_year(date),
        month=month,
        article_date=_iso_date(e.first("DEP")),
        journal=e.first("JT"),
        journal_iso=e.first("TA"),
        volume=e.first("VI"),
        issue=e.first("IP"),
        pages=e.first("PG"),
        languages=e.all("LA"),
        types=e.all("PT"),
        keywords=e.all("OT"),
        authors=e.all("FAU") or e.all("AU"),
        mesh=mesh,
        corrections=corrections,
    )


# --- Web of Science plain text and tab-delimited ----------------------------------------------------


def from_wos(entry: Entry) -> Record:
    """A Web of Science record (plain-text tags; the tab-delimited export uses the same tags)."""
    e = entry
    ut = e.first("UT")
    month = _MONTHS.get(e.first("PD")[:3].lower())
    authors = e.all("AF") or e.all("AU")
    if len(authors) == 1 and ";" in authors[0]:  # tab-delimited: one cell, '; ' between
        authors = authors[0].split(";")
    return record(
        title=e.first("TI"),
        ids={"doi": e.first("DI"), "pmid": e.first("PM"), "wos": ut[4:] if ut.upper().startswith("WOS:") else ut},
        abstract=e.first("AB"),
        year=norm.first_year(e.first("PY") or e.first("PD") or e.first("EA")),
        month=month,
        journal=e.first("SO"),
        journal_iso=e.first("JI"),
        volume=e.first("VL"),
        issue=e.first("IS"),
        pages=_pages(e.first("BP"), e.first("EP")) or e.first("AR"),
        languages=e.all("LA"),
        types=e.all("DT"),
        keywords=[k for v in e.all("DE") for k in v.split(";")],
        authors=authors,
    )


# --- Ovid display format ----------------------------------------------------------------------------

_OVID_TYPE_SUFFIX = re.compile(r"\.?\s*\[([^\]]+)\]\s*$")


def from_ovid(entry: Entry) -> Record:
    """A record of Ovid's plain-text display format (Medline, Embase, PsycINFO, Journals@Ovid).
    A title's trailing '[Review]' is Ovid's publication type, moved to publication_types."""
    e = entry
    title = e.first("Title", "Original Title")
    types = [t for v in e.all("Publication Type", "Document Type") for t in re.split(r"[:;]", v)]
    if match := _OVID_TYPE_SUFFIX.search(title):
        title = title[: match.start()]
        types.append(match.group(1))
    source = e.first("Source")
    year = norm.first_year(e.first("Year of Publication", "Publication Year", "Date of Publication") or source)
    article_date = ""
    status = e.first("Status")
    if match := re.search(r"(\d{1,2}) ([A-Z][a-z]+) (\d{4})", status):
        month = _MONTHS.get(match.group(2)[:3].lower())
        if month:
            article_date = f"{match.group(3)}-{month:02d}-{int(match.group(1)):02d}"
    database = " ".join(e.all("Database")).lower()
    ids = {
        "doi": e.first("DOI Number", "Digital Object Identifier", "DOI"),
        "pmid": e.first("PubMed Unique Identifier", "PMID", "PubMed ID"),
    }
    accession = e.first("Unique Identifier", "Accession Number", "Embase Accession Number")
    if accession and "medline" in database and accession.isdigit():
        ids["pmid"] = ids["pmid"] or accession
    elif accession and ("embase" in database or e.fields.get("Embase Accession Number")):
        ids["embase"] = accession
    elif accession:
        ids["ovid"] = accession.rstrip(".")
    return record(
        title=title,
        ids=ids,
        abstract=e.first("Abstract"),
        year=year,
        article_date=article_date,
        journal=re.split(r"\.\s|\. *$", source)[0] if source else "",
        languages=e.all("Language"),
        types=types,
        keywords=[k for v in e.all("Author Keywords", "Keyword Heading", "Keywords") for k in v.split(";")],
        authors=[a for v in e.all("Author", "Authors") for a in v.split(";")],
    )


# --- CSV: Scopus, Embase, Cochrane CENTRAL and any CSV with the usual columns -----------------------

_EMBASE_SOURCE = re.compile(
    r"^(?P<journal>.+?) \((?P<year>\d{4})\)(?: (?P<volume>[^\s:(]+))?(?::(?P<issue>[^\s(]+))?"
    r"(?: \((?P<pages>[^)]*)\))?\.?(?: Date of Publication: (?P<date>.*))?$"
)


def split_authors(cell: str) -> list[str]:
    """'A, B; C, D' (Cochrane, new Scopus) or 'Liu R., Adler D.G.' (Embase, old Scopus) or one name."""
    if ";" in cell:
        return [a.strip() for a in cell.split(";") if a.strip()]
    parts = [p.strip() for p in cell.split(",") if p.strip()]
    if len(parts) > 1 and all(re.fullmatch(r"\S.*\s(?:[A-Z]\.?-?){1,4}", p) for p in parts):
        return parts
    return [cell.strip()] if cell.strip() else []


def from_table(entry: Entry) -> Record:
    """A CSV row whose columns table.py recognised (Scopus, Embase, Cochrane CENTRAL, generic)."""
    e = entry
    journal, year_text = e.first("journal"), e.first("year")
    volume, issue, pages = e.first("volume"), e.first("issue"), e.first("pages")
    if match := _EMBASE_SOURCE.match(journal):  # Embase: 'Cancer (2004) 102:4 (253-258). ...'
        journal = match.group("journal")
        year_text = year_text or match.group("year")
        volume, issue = volume or (match.group("volume") or ""), issue or (match.group("issue") or "")
        pages = pages or (match.group("pages") or "")
    ids = {
        "doi": e.first("doi"),
        "pmid": e.first("pmid"),
        "pmcid": e.first("pmcid"),
        "scopus": e.first("scopus"),
        "central": e.first("central"),
        "embase": re.sub(r"^EMBASE\s*", "", e.first("embase"), flags=re.I),
    }
    wos = e.first("wos")
    if wos:
        ids["wos"] = wos[4:] if wos.upper().startswith("WOS:") else wos
    if not ids["doi"]:
        for url in e.all("url"):
            query = parse_qs(urlsplit(url).query)
            for value in query.get("id", []) + query.get("rft_id", []):
                if value.lower().startswith("doi:"):
                    ids["doi"] = value[4:]
    if ids["pmid"] and not re.search(r"\d", ids["pmid"]):
        ids["pmid"] = ""
    return record(
        title=e.first("title"),
        ids=ids,
        abstract=e.first("abstract"),
        year=norm.first_year(year_text),
        journal=journal,
        volume=volume,
        issue=issue,
        pages=pages or _pages(e.first("page_start"), e.first("page_end")),
        languages=e.all("language"),
        types=e.all("type"),
        keywords=[k for v in e.all("keywords") for k in v.split(";")],
        authors=split_authors(e.first("authors")),
    )


# --- BibTeX ------------------------------------------------------------------------------------------

_BIBTEX_TYPES = {
    "article": "Journal Article",
    "inproceedings": "Congress",
    "conference": "Congress",
    "proceedings": "Congress",
    "book": "Book",
    "incollection": "Book Chapter",
    "inbook": "Book Chapter",
    "phdthesis": "Academic Dissertation",
    "mastersthesis": "Academic Dissertation",
}


def from_bibtex(entry: Entry) -> Record:
    """A BibTeX entry (Web of Science, Scopus, ScienceDirect, Google Scholar, Publish or Perish)."""
    e = entry
    ids = {"doi": e.first("doi"), "pmid": e.first("pmid"), "pmcid": e.first("pmcid")}
    for url in e.all("url"):
        if "doi.org/" in url.lower() and not ids["doi"]:
            ids["doi"] = url.split("doi.org/", 1)[1]
        if match := _EID.search(url):
            ids["scopus"] = match.group(1)
    for note in e.all("note", "annote"):
        if match := re.search(r"PMID:?\s*(\d+)", note):
            ids["pmid"] = ids["pmid"] or match.group(1)
    unique = e.first("unique-id", "ut", "web-of-science-id")
    if unique.upper().startswith("WOS:"):
        ids["wos"] = unique[4:]
    if e.first("eid").startswith("2-s2.0-"):
        ids["scopus"] = e.first("eid")
    kind = e.first("@type")
    types = ([_BIBTEX_TYPES[kind]] if kind in _BIBTEX_TYPES else []) + e.all("type", "document_type")
    return record(
        title=e.first("title"),
        ids=ids,
        abstract=e.first("abstract"),
        year=norm.first_year(e.first("year", "date")),
        journal=e.first("journal", "journaltitle", "booktitle", "source"),
        volume=e.first("volume"),
        issue=e.first("number", "issue"),
        pages=e.first("pages").replace("–", "-"),
        languages=e.all("language", "langid"),
        types=types,
        keywords=[k for v in e.all("keywords", "author_keywords") for k in re.split(r"[;,]", v)],
        authors=[a for v in e.all("author") for a in re.split(r"\s+and\s+", v)],
    )
