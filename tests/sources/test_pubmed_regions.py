"""The parser's two paths agree: runs of whole records parsed at once (the fast path) and record by
record (what a region with any problem falls back to). Whatever the document, the items must be
the same, quarantine reasons and byte offsets included."""

from __future__ import annotations

import gc
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pipeline.sources.pubmed_xml.parser as px
from pipeline.models import DeletedCitation, Quarantined, Record
from tests.support.paths import XML_FIXTURES
from tests.support.expected import EXPECTED
from tests.support.xmlbuild import article, document


def items_both_ways(data, monkeypatch, region_size=px.REGION_SIZE):
    """(items with regions of `region_size` bytes, items record by record, regions parsed whole)."""
    parsed_whole = []
    real = px._region_items

    def counting(*args):
        items = real(*args)
        parsed_whole.append(items is not None)
        return items

    with monkeypatch.context() as m:
        m.setattr(px, "REGION_SIZE", region_size)
        m.setattr(px, "_region_items", counting)
        fast = list(px.parse(data, source_name="s"))
    with monkeypatch.context() as m:
        m.setattr(px, "REGION_SIZE", 0)  # no whole record ever fits: every record on its own
        careful = list(px.parse(data, source_name="s"))
    return fast, careful, sum(parsed_whole)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_both_paths_agree_on_every_real_file(shared_pubmed, name, monkeypatch):
    fast, careful, whole = items_both_ways((shared_pubmed / name).read_bytes(), monkeypatch)
    assert fast == careful
    assert whole >= 1 or not fast  # the fast path did the work


@pytest.mark.parametrize("path", sorted(XML_FIXTURES.rglob("*.xml*")), ids=lambda p: p.name)
def test_both_paths_agree_on_every_fixture(path, monkeypatch):
    fast, careful, _ = items_both_ways(path.read_bytes(), monkeypatch)
    assert fast == careful


GOOD = article("7", "<ArticleTitle>Ketamine &amp; <i>mood</i></ArticleTitle>")
PIECES = {
    "good": GOOD,
    "deleted": "<DeleteCitation><PMID>901</PMID><PMID>902</PMID></DeleteCitation>",
    "mismatched": article("8").replace("</Title>", "</Titel>"),
    "undefined entity": article("9", "<ArticleTitle>&bogus;</ArticleTitle>"),
    "no PMID": article("").replace('<PMID Version="1"></PMID>', ""),
    "no end tag": article("10").replace("</PubmedArticle>", ""),
    "text between": "stray text",
    "element between": "<Unexpected><PMID>11</PMID></Unexpected>",
    "references": article(
        "12",
        pubmed_data=(
            '<ArticleIdList><ArticleId IdType="doi">10.1/own</ArticleId></ArticleIdList><ReferenceList>'
            '<Reference><Citation>A &amp; B</Citation><ArticleIdList><ArticleId IdType="doi">10.1/ref'
            "</ArticleId></ArticleIdList></Reference></ReferenceList>"
        ),
    ),
    "nested references": article(
        "13",
        pubmed_data=(
            "<ReferenceList><Title>Main</Title><ReferenceList><Reference><Citation>x</Citation></Reference>"
            "</ReferenceList><Reference><Citation>y</Citation></Reference></ReferenceList>"
        ),
    ),
    "comment between": "<!-- a comment -->",
    "pi between": "<?nihms ?>",
}


@settings(max_examples=150, deadline=None)
@given(pieces=st.lists(st.sampled_from(sorted(PIECES)), max_size=12), region_size=st.integers(1, 3000))
def test_both_paths_agree_on_any_mix_of_good_and_bad_records(pieces, region_size):
    data = document(*(PIECES[p] for p in pieces))
    with pytest.MonkeyPatch.context() as mp:
        fast, careful, _ = items_both_ways(data, mp, region_size)
    assert fast == careful


def test_one_bad_record_costs_only_itself(monkeypatch):
    data = document(*[GOOD] * 30, PIECES["mismatched"], *[GOOD] * 30)
    fast, careful, whole = items_both_ways(data, monkeypatch, region_size=2000)
    assert [type(i).__name__ for i in fast] == ["Record"] * 30 + ["Quarantined"] + ["Record"] * 30
    assert fast[30].reason.startswith("malformed XML in the <PubmedArticle> record at byte ")
    assert fast == careful
    assert whole >= 4  # regions before and after the bad one were still parsed whole


def test_reference_lists_are_cut_before_parsing_and_nested_ones_fall_back(monkeypatch):
    cut = px._without_references(PIECES["references"].encode())
    assert b"ReferenceList" not in cut and b"10.1/own" in cut
    assert px._without_references(b"<a/>") == b"<a/>"
    data = document(PIECES["references"], PIECES["nested references"], GOOD)
    fast, careful, whole = items_both_ways(data, monkeypatch)
    assert [(i.pmid, i.doi) for i in fast] == [("12", "10.1/own"), ("13", ""), ("7", "")]
    assert fast == careful
    assert whole == 0  # the nested list made the cut malformed: the region was read record by record


def test_processing_instructions_between_records_are_skipped_like_comments():
    data = document(article("1"), "<?nihms ?>", article("2"), "<!-- c -->", article("3"))
    assert [(type(i).__name__, i.pmid) for i in px.parse(data)] == [("Record", "1"), ("Record", "2"), ("Record", "3")]


def test_the_garbage_collector_is_paused_only_inside_a_region_and_restored():
    data = document(*[GOOD] * 50)
    assert gc.isenabled()
    for item in px.parse(data):
        assert gc.isenabled(), "the pause must not reach the caller's code between items"
    assert gc.isenabled()
    gc.disable()
    try:
        assert sum(1 for _ in px.parse(data)) == 50
        assert not gc.isenabled(), "a caller's disabled collector stays disabled"
    finally:
        gc.enable()


def test_concurrent_parsers_leave_the_garbage_collector_on():
    data = document(*[GOOD] * 200)
    counts: list[int] = []

    def work():
        for _ in range(5):
            counts.append(sum(isinstance(i, Record) for i in px.parse(data)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counts == [200] * 20
    assert gc.isenabled()


def test_a_record_bigger_than_a_region_is_read_on_its_own(monkeypatch):
    big = article("5", "<AuthorList>" + "<Author><LastName>Li</LastName></Author>" * 500 + "</AuthorList>")
    fast, careful, _ = items_both_ways(document(GOOD, big, GOOD), monkeypatch, region_size=1000)
    assert [len(i.authors) for i in fast] == [0, 500, 0]
    assert fast == careful
    assert not any(isinstance(i, Quarantined) for i in fast)


def parsed_pmids(data) -> list[str]:
    return [i.pmid for i in px.parse(data) if isinstance(i, (Record, DeletedCitation))]


@pytest.mark.parametrize("path", sorted(XML_FIXTURES.rglob("*.xml*")), ids=lambda p: p.name)
def test_pmids_lists_what_parse_gives_as_records_and_deletions_on_every_fixture(path):
    assert list(px.pmids(path)) == parsed_pmids(path.read_bytes())


def test_pmids_lists_what_parse_gives_on_every_real_file(shared_pubmed):
    for name in sorted(EXPECTED):
        data = (shared_pubmed / name).read_bytes()
        assert list(px.pmids(data)) == parsed_pmids(data), name


@settings(max_examples=150, deadline=None)
@given(pieces=st.lists(st.sampled_from(sorted(PIECES)), max_size=12), region_size=st.integers(1, 3000))
def test_pmids_agree_with_parse_on_any_mix_of_good_and_bad_records(pieces, region_size):
    data = document(*(PIECES[p] for p in pieces))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(px, "REGION_SIZE", region_size)
        assert list(px.pmids(data)) == parsed_pmids(data)


def test_pmids_list_a_record_parse_quarantines_for_a_field_other_than_its_pmid(monkeypatch):
    """The one documented difference: pmids reads nothing but the PMID."""

    def unreadable(elem):
        raise ValueError("a shape not foreseen")

    monkeypatch.setattr(px, "article_record", unreadable)
    data = document(GOOD, PIECES["deleted"], PIECES["no PMID"])
    assert parsed_pmids(data) == ["901", "902"]
    assert list(px.pmids(data)) == ["7", "901", "902"]  # "no PMID" is quarantined by both
