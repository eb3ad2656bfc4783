"""Differential test: our parser against Bio.Entrez.read on every real file it can read offline.

Bio.Entrez is made to work offline by rewriting each copy's DOCTYPE (in tmp_path) to a DTD that
Biopython 1.88 bundles: baseline files name theirs with http:// (refused), 2026 files name
pubmed_260101.dtd (not bundled, so it would be downloaded). validate=False lets the older bundled
DTD accept elements added since. The socket guard in conftest fails the test if anything connects.

Bio keeps inline markup (<i>, <sup>, MathML) in its strings; we strip tags and normalise
whitespace on its side before comparing. Each mapping below is written from Bio's dict structure,
independently of pipeline.sources.pubmed_xml.fields.
"""

from __future__ import annotations

import gzip
import re

import pytest
from Bio import Entrez

from pipeline.models import DeletedCitation, Record
from pipeline.sources.pubmed_xml.fields import tidy
from pipeline.sources.pubmed_xml.parser import parse
from tests.support.expected import EXPECTED

_DOCTYPE = re.compile(rb"<!DOCTYPE[^>]*>")
_PUBMED_DTD = (
    b'<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
    b'"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">'
)
_MEDLINE_DTD = (
    b'<!DOCTYPE MedlineCitationSet PUBLIC "-//NLM//DTD Medline Citation, 1st January, 2015//EN" '
    b'"https://www.nlm.nih.gov/databases/dtd/nlmmedlinecitationset_150101.dtd">'
)
# The inline markup Bio keeps as text (MathML loses its mml: prefix), and escaped-in HTML/JATS.
_TAG = re.compile(r"</?(?:i|b|u|sup|sub|italic|math|m[a-z]+|semantics|annotation|none)(?:\s[^<>]*)?/?>")
_BLOCK = re.compile(r"</?p>")
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
FIELDS = (
    "pmid",
    "title",
    "abstract_sections",
    "doi",
    "pmcid",
    "journal",
    "journal_iso",
    "volume",
    "issue",
    "pages",
    "pub_year",
    "pub_month",
    "medline_date",
    "article_date",
    "entrez_date",
    "pubmed_date",
    "languages",
    "vernacular_title",
    "publication_types",
    "mesh_headings",
    "chemicals",
    "keywords",
    "authors",
    "comments_corrections",
)


def text(value) -> str:
    return tidy(_BLOCK.sub(" ", _TAG.sub("", str(value)))) if value is not None else ""


def month(value: str) -> int | None:
    value = str(value).strip()
    if value.isdigit():
        return int(value)
    low = value[:3].lower()
    if low in _MONTHS:
        return _MONTHS.index(low) + 1
    return {"spring": 3, "summer": 6, "fall": 9, "autumn": 9, "winter": 12}.get(value.lower())


def iso(d) -> str:
    if not d or "Year" not in d:
        return ""
    m = month(d.get("Month", ""))
    if m is None:
        return str(d["Year"])
    if "Day" not in d:
        return f"{d['Year']}-{m:02d}"
    return f"{d['Year']}-{m:02d}-{int(d['Day']):02d}"


def bio_fields(article) -> dict:
    """Our Record's fields, read from one Bio.Entrez PubmedArticle (or 2016 MedlineCitation)."""
    mc = article.get("MedlineCitation", article)
    art = mc.get("Article", {})
    journal = art.get("Journal", {})
    issue = journal.get("JournalIssue", {})
    pub_date = issue.get("PubDate", {})
    pubmed_data = article.get("PubmedData", {})
    ids = {}
    for x in pubmed_data.get("ArticleIdList", []):
        ids.setdefault(x.attributes.get("IdType"), str(x).strip())
    history = {}
    for d in pubmed_data.get("History", []):
        history.setdefault(d.attributes.get("PubStatus"), iso(d))
    if "Year" in pub_date:
        year, mon, medline = int(pub_date["Year"]), month(pub_date.get("Month", pub_date.get("Season", ""))), ""
    else:
        medline = text(pub_date.get("MedlineDate", ""))
        found = re.search(r"\d{4}", medline)
        year = int(found.group()) if found else None
        after = re.findall(r"[A-Za-z]+", medline[found.end() :]) if found else []
        mon = next((month(w) for w in after if month(w)), None)
    elocation_doi = next(
        (
            str(e).strip()
            for e in art.get("ELocationID", [])
            if e.attributes.get("EIdType") == "doi" and e.attributes.get("ValidYN", "Y") == "Y"
        ),
        "",
    )
    pmc_other = next((str(o).split()[0] for o in mc.get("OtherID", []) if str(o).startswith("PMC")), "")
    pagination = art.get("Pagination", {})
    pages = text(pagination.get("MedlinePgn", "")) or "-".join(
        text(pagination[k]) for k in ("StartPage", "EndPage") if pagination.get(k)
    )
    abstract = art.get("Abstract", {}).get("AbstractText", [])
    authors = []
    for author_list in [art.get("AuthorList", [])]:
        for a in author_list:
            if a.attributes.get("ValidYN") == "N":
                continue
            affs = [text(x["Affiliation"]) for x in a.get("AffiliationInfo", [])]
            affs += [text(a["Affiliation"])] if "Affiliation" in a else []
            authors.append(
                (
                    text(a.get("LastName")),
                    text(a.get("ForeName")),
                    text(a.get("Initials")),
                    text(a.get("CollectiveName")),
                    tuple(x for x in affs if x),
                )
            )
    mesh = []
    for h in mc.get("MeshHeadingList", []):
        quals = h.get("QualifierName", [])
        major = h["DescriptorName"].attributes.get("MajorTopicYN") == "Y" or any(
            q.attributes.get("MajorTopicYN") == "Y" for q in quals
        )
        mesh.append(
            (
                text(h["DescriptorName"]),
                major,
                tuple(text(q) for q in quals),
                h["DescriptorName"].attributes.get("UI", ""),
            )
        )
    return {
        "pmid": str(mc["PMID"]).strip(),
        "title": text(art.get("ArticleTitle", "")),
        "abstract_sections": tuple(
            (text(a.attributes.get("Label", "")), text(a), a.attributes.get("NlmCategory", ""))
            for a in abstract
            if text(a) or a.attributes.get("Label")
        ),
        "doi": ids.get("doi") or elocation_doi,
        "pmcid": ids.get("pmc") or pmc_other,
        "journal": text(journal.get("Title", "")),
        "journal_iso": text(journal.get("ISOAbbreviation", "")),
        "volume": text(issue.get("Volume", "")),
        "issue": text(issue.get("Issue", "")),
        "pages": pages,
        "pub_year": year,
        "pub_month": mon,
        "medline_date": medline,
        "article_date": iso(art["ArticleDate"][0]) if art.get("ArticleDate") else "",
        "entrez_date": history.get("entrez", ""),
        "pubmed_date": history.get("pubmed", ""),
        "languages": tuple(text(x).lower() for x in art.get("Language", []) if text(x)),
        "vernacular_title": text(art.get("VernacularTitle", "")),
        "publication_types": tuple(text(x) for x in art.get("PublicationTypeList", [])),
        "mesh_headings": tuple(mesh),
        "chemicals": tuple(text(c["NameOfSubstance"]) for c in mc.get("ChemicalList", [])),
        "keywords": tuple(text(k) for kl in mc.get("KeywordList", []) for k in kl if text(k)),
        "authors": tuple(authors),
        "comments_corrections": tuple(
            (c.attributes.get("RefType", ""), str(c.get("PMID", "")).strip(), text(c.get("RefSource", "")))
            for c in mc.get("CommentsCorrectionsList", [])
        ),
    }


def our_fields(r: Record) -> dict:
    as_tuple = {
        "abstract_sections": tuple((s.label, s.text, s.category) for s in r.abstract_sections),
        "mesh_headings": tuple((h.descriptor, h.major_topic, h.qualifiers, h.ui) for h in r.mesh_headings),
        "authors": tuple((a.last_name, a.fore_name, a.initials, a.collective_name, a.affiliations) for a in r.authors),
        "comments_corrections": tuple((c.ref_type, c.pmid, c.source) for c in r.comments_corrections),
    }
    return {f: as_tuple.get(f, getattr(r, f)) for f in FIELDS}


def bio_read(data: bytes, tmp_path):
    is_2016 = b"<MedlineCitationSet" in data[:2000]
    copy = tmp_path / "copy.xml"
    copy.write_bytes(_DOCTYPE.sub(_MEDLINE_DTD if is_2016 else _PUBMED_DTD, data, count=1))
    with open(copy, "rb") as handle:
        result = Entrez.read(handle, validate=False)
    articles = result.get("MedlineCitation" if is_2016 else "PubmedArticle", [])
    deleted = [str(p) for p in result.get("DeleteCitation", [])]
    return articles, deleted


@pytest.mark.parametrize("name", sorted(n for n, (records, _) in EXPECTED.items() if records))
def test_fields_agree_with_bio_entrez(shared_pubmed, tmp_path, name):
    data = (shared_pubmed / name).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    bio_articles, bio_deleted = bio_read(data, tmp_path)
    ours = list(parse(data))
    our_records = [our_fields(r) for r in ours if isinstance(r, Record)]
    assert len(our_records) == len(bio_articles)
    for mine, theirs in zip(our_records, map(bio_fields, bio_articles)):
        for field in FIELDS:
            assert mine[field] == theirs[field], (mine["pmid"], field)
    assert [d.pmid for d in ours if isinstance(d, DeletedCitation)] == bio_deleted
