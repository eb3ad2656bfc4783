"""pubmed_xml.parse on hand-written fixtures: one edge case each, exact values and messages."""

from __future__ import annotations

import gzip
import io

import pytest

from tests.support.paths import XML_FIXTURES
from pipeline.models import (
    AbstractSection,
    Author,
    CommentCorrection,
    DeletedCitation,
    MeshHeading,
    Quarantined,
    Record,
)
from pipeline.sources.pubmed_xml.parser import parse
from tests.support.xmlbuild import article, document


def only_record(data: bytes) -> Record:
    items = list(parse(data))
    assert len(items) == 1 and isinstance(items[0], Record), items
    return items[0]


@pytest.fixture(scope="module")
def markup() -> Record:
    return only_record((XML_FIXTURES / "markup.xml").read_bytes())


def test_title_markup_mathml_and_double_escaped_entities_become_clean_text(markup):
    assert markup.title == "Effect of S-ketamine on Ca2+ and CO2 & the α≥2 rule<s>."


def test_structured_abstract_keeps_labels_and_categories_and_drops_copyright(markup):
    assert markup.abstract_sections == (
        AbstractSection(
            "BACKGROUND",
            "Ketamine is an NMDA antagonist (R&D, AT&T, A&notB). An escaped <r.m.s.d.> p<0.05 <age 18>.",
            "BACKGROUND",
        ),
        AbstractSection("RESULTS", "Response rose by 20 % (p<0.05).", "RESULTS"),
    )
    assert markup.abstract == (
        "Ketamine is an NMDA antagonist (R&D, AT&T, A&notB). "
        "An escaped <r.m.s.d.> p<0.05 <age 18>. Response rose by 20 % (p<0.05)."
    )


def test_identifiers_come_from_the_articles_own_id_list_not_its_references(markup):
    assert (markup.pmid, markup.doi, markup.pmcid) == ("11111111", "10.1000/articleid", "PMC1234567")


def test_journal_fields_and_pages_from_start_page(markup):
    assert (markup.journal, markup.journal_iso, markup.volume, markup.issue, markup.pages) == (
        "Journal of Tests",
        "J Tests",
        "12",
        "3",
        "e101",
    )


def test_dates_season_article_date_and_history(markup):
    assert (markup.pub_year, markup.pub_month, markup.medline_date) == (2016, 12, "")
    assert (markup.article_date, markup.entrez_date, markup.pubmed_date) == ("2015-12-03", "2015-12-05", "2015-12-06")
    assert markup.article_year == 2015


def test_every_language_lower_case_and_vernacular_title(markup):
    assert markup.languages == ("eng", "ger")
    assert markup.vernacular_title == "Wirkung von S-Ketamin."


def test_lists(markup):
    assert markup.publication_types == ("Journal Article", "Randomized Controlled Trial")
    assert markup.chemicals == ("Ketamine", "Excitatory Amino Acid Antagonists")
    assert markup.keywords == ("esketamine", "NMDA receptor", "treatment-resistant depression")
    assert markup.mesh_headings == (
        MeshHeading("Depressive Disorder", True, ("drug therapy",), "D003866"),
        MeshHeading("Ketamine", True, (), "D007649"),
        MeshHeading("Humans", False, (), "D006801"),
    )
    assert markup.comments_corrections == (
        CommentCorrection("ErratumIn", "22222222", "J Tests. 2016;12(4):1"),
        CommentCorrection("RetractionIn", "", "J Tests. 2017;13:2"),
    )


def test_authors_with_affiliations_skip_invalid_names(markup):
    assert markup.authors == (
        Author("Müller", "Anna", "A", "", ("Dept A, Berlin.", "Dept B, Bonn.")),
        Author(collective_name="Ketamine Study Group"),
    )
    assert markup.is_book is False


def test_book_article():
    rec = only_record((XML_FIXTURES / "book.xml").read_bytes())
    assert rec.is_book and rec.pmid == "20301295"
    assert (rec.title, rec.journal, rec.pub_year, rec.pub_month) == (
        "Ataxia-Telangiectasia",
        "GeneReviews®",
        1993,
        None,
    )
    assert [a.last_name for a in rec.authors] == ["Gatti"]  # not the editor
    assert rec.authors[0].affiliations == ("University of California, Los Angeles",)
    assert [s.label for s in rec.abstract_sections] == ["CLINICAL CHARACTERISTICS", "DIAGNOSIS/TESTING"]
    assert rec.abstract_sections[1].text == "The diagnosis is established by ATM testing."
    assert (rec.languages, rec.publication_types, rec.keywords) == (("eng",), ("Review",), ("ATM",))
    assert (rec.entrez_date, rec.pubmed_date) == ("2010-03-20", "2010-03-20")


@pytest.mark.parametrize("name", ["medline2016.xml", "medline2016.xml.gz"])
def test_2016_medline_citation_set_plain_and_gzip(name):
    items = list(parse(XML_FIXTURES / name))
    assert items[1:] == [DeletedCitation("26432306")]
    rec = items[0]
    assert (rec.pmid, rec.pub_year, rec.pub_month, rec.medline_date) == ("18621939", 2008, 7, "2008 Jul-Aug")
    assert (rec.doi, rec.pmcid, rec.pages) == ("10.1176/appi.psy.49.4.332", "PMC2745874", "332-40")
    assert rec.authors[0].affiliations == ("Pittsburgh, PA 15213, USA.",)
    assert (rec.languages, rec.vernacular_title) == (("ita",), "Grappoli di disturbi.")


def test_gzip_is_detected_by_magic_bytes_not_name(tmp_path):
    path = tmp_path / "no-suffix"
    path.write_bytes(gzip.compress(document(article("7"))))
    assert [r.pmid for r in parse(path)] == ["7"]


def test_sources_bytes_file_object_and_unseekable_stream_agree():
    data = gzip.compress(document(article("1"), article("2")))

    class Pipe(io.RawIOBase):  # no seek, no peek: like a socket or a subprocess pipe
        def __init__(self):
            self.inner = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, b):
            chunk = self.inner.read(min(len(b), 7))
            b[: len(chunk)] = chunk
            return len(chunk)

    expected = list(parse(data))
    assert [r.pmid for r in expected] == ["1", "2"]
    assert list(parse(io.BytesIO(data))) == expected
    assert list(parse(Pipe())) == expected


def test_records_across_read_buffer_boundaries(monkeypatch):
    import pipeline.sources.pubmed_xml.parser as px

    monkeypatch.setattr(px, "READ_SIZE", 5)  # every record and tag is split between reads
    data = document(*(article(str(i), "<ArticleTitle>T <!-- c --></ArticleTitle>") for i in range(1, 30)))
    assert [r.pmid for r in parse(data)] == [str(i) for i in range(1, 30)]
    assert [r.pmid for r in parse(XML_FIXTURES / "medline2016.xml.gz")] == ["18621939", "26432306"]


@pytest.mark.parametrize(
    "pub_date, year, month, medline",
    [
        ("<Year>2019</Year><Month>Mar</Month>", 2019, 3, ""),
        ("<Year>2019</Year><Month>03</Month><Day>4</Day>", 2019, 3, ""),
        ("<Year>2019</Year>", 2019, None, ""),
        ("<Year>2016</Year><Season>Spring</Season>", 2016, 3, ""),
        ("<MedlineDate>2015 Dec-2016 Jan</MedlineDate>", 2015, 12, "2015 Dec-2016 Jan"),
        ("<MedlineDate>1998-1999</MedlineDate>", 1998, None, "1998-1999"),
        ("<MedlineDate>2000 Fall</MedlineDate>", 2000, 9, "2000 Fall"),
        ("<MedlineDate>Summer 2005</MedlineDate>", 2005, None, "Summer 2005"),
        ("<MedlineDate>undated</MedlineDate>", None, None, "undated"),
        ("", None, None, ""),
    ],
)
def test_publication_year_and_month(pub_date, year, month, medline):
    rec = only_record(document(article(pub_date=pub_date)))
    assert (rec.pub_year, rec.pub_month, rec.medline_date) == (year, month, medline)


def test_doi_falls_back_to_elocation_and_ignores_invalid_ones():
    rec = only_record(
        document(
            article(
                article=(
                    '<ELocationID EIdType="doi" ValidYN="N">10.1/bad</ELocationID>'
                    '<ELocationID EIdType="doi" ValidYN="Y">10.1/good</ELocationID>'
                )
            )
        )
    )
    assert rec.doi == "10.1/good"


def test_empty_set_and_self_closing_root_yield_nothing():
    assert list(parse(document())) == []
    assert list(parse(b"<PubmedArticleSet/>")) == []


def test_lone_record_root_without_a_set():
    data = article("42").encode()
    assert [r.pmid for r in parse(data)] == ["42"]


def test_namespace_declared_on_the_root_reaches_each_record():
    data = (
        b'<PubmedArticleSet xmlns:mml="http://www.w3.org/1998/Math/MathML">'
        + article("5", "<ArticleTitle>x <mml:mi>y</mml:mi></ArticleTitle>").encode()
        + b"</PubmedArticleSet>"
    )
    assert only_record(data).title == "x y"


def test_malformed_records_are_quarantined_and_the_rest_of_the_file_parses():
    items = list(parse(XML_FIXTURES / "invalid" / "malformed_middle.xml", source_name="batch-7"))
    assert [type(i).__name__ for i in items] == [
        "Record",
        "Quarantined",
        "Quarantined",
        "Quarantined",
        "Quarantined",
        "Record",
        "DeletedCitation",
        "DeletedCitation",
    ]
    q = [i for i in items if isinstance(i, Quarantined)]
    assert [x.pmid for x in q] == ["1002", "1003", "", "1005"]
    assert {x.source for x in q} == {"batch-7"}
    assert q[0].reason == (
        "malformed XML in the <PubmedArticle> record at byte 208: mismatched tag: line 1, column 100"
    )
    assert q[1].reason == (
        "malformed XML in the <PubmedArticle> record at byte 366: undefined entity: line 1, column 89"
    )
    assert q[2].reason == "unreadable <PubmedArticle> record at byte 537: record has no PMID"
    assert q[3].reason == "unexpected content at byte 660, skipped: '<Unexpected>junk <PMID>1005</PMID></Unex'"
    assert [i.pmid for i in items if not isinstance(i, Quarantined)] == ["1001", "1006", "2001", "2002"]


def test_truncated_document_yields_what_came_before_then_a_quarantine_naming_the_source():
    items = list(parse(XML_FIXTURES / "invalid" / "truncated.xml", source_name="efetch-3.xml"))
    assert [i.pmid for i in items] == ["1001", "1002"]
    assert items[-1] == Quarantined(
        "1002", "truncated: the document ends inside a <PubmedArticle> record (after 1 items)", "efetch-3.xml"
    )


def test_document_cut_between_records():
    data = document(article("1")).replace(b"</PubmedArticleSet>\n", b"")
    assert list(parse(data))[-1] == Quarantined(
        "", "truncated: the document ends before </PubmedArticleSet> (after 1 items)"
    )


def test_path_is_the_default_source_name():
    path = XML_FIXTURES / "invalid" / "truncated.xml"
    assert list(parse(path))[-1].source == str(path)


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "not XML: the document is empty"),
        (b"   \n", "not XML: the document has no root element"),
        (b"Internal Server Error", "not XML: the document starts with 'Internal Server Error'"),
        (
            b'{"error": "API rate limit exceeded"}',
            'not XML: the document starts with \'{"error": "API rate limit exceeded"}\'',
        ),
        (b"<html><body>Bad gateway</body></html>", "not PubMed article XML: the root element is <html>"),
        (
            b'<?xml version="1.0"?>\n<eFetchResult><ERROR>Empty id list</ERROR></eFetchResult>',
            "not PubMed article XML: the root element is <eFetchResult>",
        ),
        (b"<PubmedArticleSet></PubmedArticleSet> trailing", "not XML: content after </PubmedArticleSet> at byte 38"),
    ],
)
def test_whole_document_problems_become_one_quarantine(data, reason):
    assert list(parse(data, source_name="s")) == [Quarantined("", reason, "s")]


def test_affiliations_with_markup_are_not_confused_with_plain_ones():
    affs = (
        "<AffiliationInfo><Affiliation>Dept <i>X</i></Affiliation></AffiliationInfo>"
        "<AffiliationInfo><Affiliation>Dept </Affiliation></AffiliationInfo>"
    )
    rec = only_record(
        document(
            article(
                article=(
                    f"<AuthorList><Author><LastName>A</LastName>{affs}</Author>"
                    f"<Author><LastName>B</LastName>{affs}</Author></AuthorList>"
                )
            )
        )
    )
    assert [a.affiliations for a in rec.authors] == [("Dept X", "Dept"), ("Dept X", "Dept")]


def test_a_record_without_its_end_tag_does_not_swallow_the_next_one():
    broken = article("2").replace("</PubmedArticle>", "")
    items = list(parse(document(article("1"), broken, article("3"))))
    assert [type(i).__name__ for i in items] == ["Record", "Quarantined", "Record"]
    assert items[1].pmid == "2"
    assert items[1].reason.endswith("no </PubmedArticle> before the next <PubmedArticle>")
    assert items[2].pmid == "3"


def test_a_record_without_its_end_tag_before_the_end_of_the_file():
    broken = article("2").replace("</PubmedArticle>", "")
    items = list(parse(document(article("1"), broken, article("3")).replace(b"</PubmedArticle>\n</Pub", b"\n</Pub")))
    assert [(type(i).__name__, i.pmid) for i in items] == [("Record", "1"), ("Quarantined", "2"), ("Quarantined", "3")]
    assert items[2].reason == "truncated: the document ends inside a <PubmedArticle> record (after 2 items)"
