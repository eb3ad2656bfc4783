"""The pure field rules, with property tests: text cleaning, dates, and parse round trips."""

from __future__ import annotations

import calendar
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pipeline.sources.pubmed_xml.parser as px

from pipeline.models import Record
from pipeline.sources.pubmed_xml.fields import iso_date, month_number, tidy, year_month_of_medline_date
from tests.support.xmlbuild import article, document

# Text a title can hold, minus the characters tidy() reads as escapes or tags ("&", "<"), and minus
# the controls, surrogates and non-characters XML 1.0 forbids.
plain_text = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cn"), blacklist_characters="&<"), max_size=60)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("  a \n\t b  ", "a b"),
        ("x&amp;y", "x&y"),
        ("&lt;p&gt;one&lt;/p&gt;", "one"),
        ("A&notB &copy 2020", "A&notB &copy 2020"),
        ("&#945;&#x3B2;", "αβ"),
        ("<p>one</p><p>two</p>", "one two"),
        ("<italic>E. coli</italic> p<0.05 <r.m.s.d.> <I think>", "E. coli p<0.05 <r.m.s.d.> <I think>"),
        ('<span class="x">y</span>', "y"),
    ],
)
def test_tidy(text, expected):
    assert tidy(text) == expected


@pytest.mark.parametrize(
    "text, month",
    [
        ("Jan", 1),
        ("january", 1),
        ("Sept", 9),
        ("09", 9),
        ("9", 9),
        ("13", None),
        ("0", None),
        ("Spring", 3),
        ("Summer", 6),
        ("Fall", 9),
        ("Autumn", 9),
        ("Winter", 12),
        ("", None),
        ("Xyz", None),
    ],
)
def test_month_number(text, month):
    assert month_number(text) == month


def test_iso_date_partial_dates():
    def el(xml):
        return ET.fromstring(f"<D>{xml}</D>")

    assert iso_date(el("<Year>2020</Year><Month>Feb</Month><Day>3</Day>")) == "2020-02-03"
    assert iso_date(el("<Year>2020</Year><Month>2</Month>")) == "2020-02"
    assert iso_date(el("<Year>2020</Year>")) == "2020"
    assert iso_date(el("<Month>2</Month>")) == ""
    assert iso_date(None) == ""


@given(st.integers(1800, 2098), st.integers(1, 12), st.integers(1, 12))
def test_medline_date_spans_give_the_first_year_and_month(year, m1, m2):
    text = f"{year} {calendar.month_abbr[m1]}-{year + 1} {calendar.month_abbr[m2]}"
    assert year_month_of_medline_date(text) == (year, m1)


@given(st.integers(1800, 2098))
def test_medline_year_ranges_have_no_month(year):
    assert year_month_of_medline_date(f"{year}-{year + 1}") == (year, None)


@settings(max_examples=100, deadline=None)
@given(plain_text)
def test_tidy_output_is_whitespace_normalised_and_stable(text):
    out = tidy(text)
    assert out == " ".join(out.split())
    assert tidy(out) == out


@settings(max_examples=100, deadline=None)
@given(plain_text, plain_text)
def test_title_round_trips_through_xml_escaping(title, abstract):
    """Whatever the text, escaped into XML and parsed back, it comes out whitespace-normalised."""
    data = document(
        article(
            "1",
            f"<ArticleTitle>{escape(title)}</ArticleTitle>"
            f"<Abstract><AbstractText>{escape(abstract)}</AbstractText></Abstract>",
        )
    )
    (r,) = px.parse(data)
    assert r.title == " ".join(title.split())
    assert r.abstract == " ".join(abstract.split())


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(plain_text, st.sampled_from(["", "i", "b", "sup", "sub", "u", "mml:mi"])), max_size=6))
def test_inline_markup_leaves_exactly_the_text(segments):
    xml = "".join(escape(t) if not tag else f"<{tag}>{escape(t)}</{tag}>" for t, tag in segments)
    data = (
        b'<PubmedArticleSet xmlns:mml="http://www.w3.org/1998/Math/MathML">'
        + article("1", f"<ArticleTitle>{xml}</ArticleTitle>").encode()
        + b"</PubmedArticleSet>"
    )
    (r,) = px.parse(data)
    assert r.title == " ".join("".join(t for t, _ in segments).split())


@settings(max_examples=50, deadline=None)
@given(n=st.integers(0, 12), read_size=st.integers(1, 300), deletes=st.lists(st.integers(1, 10**8), max_size=3))
def test_streaming_finds_every_record_whatever_the_read_size(n, read_size, deletes):
    deleted = "<DeleteCitation>" + "".join(f"<PMID>{d}</PMID>" for d in deletes) + "</DeleteCitation>"
    data = document(*(article(str(i + 1)) for i in range(n)), *([deleted] if deletes else []))
    original, px.READ_SIZE = px.READ_SIZE, read_size
    try:
        items = list(px.parse(data))
    finally:
        px.READ_SIZE = original
    assert [i.pmid for i in items] == [str(i + 1) for i in range(n)] + [str(d) for d in deletes]
    assert all(isinstance(i, Record) for i in items[:n])


def test_every_whitespace_character_is_caught_by_the_fast_check():
    from pipeline.sources.pubmed_xml.fields import _is_normalised

    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace() and chr(c) != " "]
    assert len(spaces) > 20
    for ch in spaces:
        assert not _is_normalised(f"a{ch}b"), hex(ord(ch))


@given(st.text(max_size=40))
def test_the_fast_check_never_accepts_text_that_needs_normalising(text):
    from pipeline.sources.pubmed_xml.fields import _is_normalised

    if _is_normalised(text):
        assert " ".join(text.split()) == text


def test_publication_types_keep_their_mesh_ui():
    xml = document(
        article(
            "1",
            article='<PublicationTypeList><PublicationType UI="D016428">Journal Article'
            "</PublicationType><PublicationType>Untyped</PublicationType>"
            '<PublicationType UI="D016440">Retraction Notice</PublicationType>'
            "</PublicationTypeList>",
        )
    )
    (record,) = list(px.parse(xml))
    assert record.publication_types == ("Journal Article", "Untyped", "Retraction Notice")
    assert record.publication_type_uis == ("D016428", "", "D016440")
