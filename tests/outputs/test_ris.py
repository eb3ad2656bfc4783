"""records.ris: included records in RIS, read back with rispy (the reader screening tools' users use)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.models import AbstractSection, Author, MeshHeading, Record
from pipeline.outputs.ris import ris_chunks, ris_entry


def ris_text(records) -> str:
    """What publish writes to records.ris for `records`, as text."""
    return b"".join(ris_chunks(records)).decode("utf-8")


rispy = pytest.importorskip("rispy", reason="rispy is a test dependency: run `make install`")

FULL = Record(
    pmid="30000001",
    title="Efficacy of intravenous ketamine: a randomized controlled trial.",
    abstract_sections=(
        AbstractSection("BACKGROUND", "Ketamine is fast."),
        AbstractSection("RESULTS", "MADRS fell.\nNausea in 12%."),
    ),
    doi="10.1176/appi.ajp.2017.17040472",
    pmcid="PMC1234567",
    journal="The American journal of psychiatry",
    journal_iso="Am J Psychiatry",
    volume="175",
    issue="2",
    pages="150-8",
    pub_year=2018,
    pub_month=2,
    languages=("eng", "spa"),
    publication_types=("Randomized Controlled Trial", "Journal Article"),
    mesh_headings=(MeshHeading("Ketamine", True), MeshHeading("Depressive Disorder, Treatment-Resistant")),
    keywords=("NMDA", "Ketamine"),
    authors=(
        Author(last_name="Rivera", fore_name="Ana M", initials="AM"),
        Author(last_name="Okafor", initials="C"),
        Author(collective_name="Ketamine Study Group"),
    ),
)


def test_entry_exact():
    assert ris_entry(FULL) == "\r\n".join(
        [
            "TY  - JOUR",
            "TI  - Efficacy of intravenous ketamine: a randomized controlled trial.",
            "AU  - Rivera, Ana M",
            "AU  - Okafor, C",
            "AU  - Ketamine Study Group",
            "PY  - 2018",
            "DA  - 2018/02//",
            "JO  - The American journal of psychiatry",
            "JA  - Am J Psychiatry",
            "VL  - 175",
            "IS  - 2",
            "SP  - 150",
            "EP  - 158",
            "AB  - Ketamine is fast. MADRS fell. Nausea in 12%.",
            "DO  - 10.1176/appi.ajp.2017.17040472",
            "AN  - 30000001",
            "UR  - https://pubmed.ncbi.nlm.nih.gov/30000001/",
            "DB  - PubMed",
            "LA  - eng; spa",
            "KW  - NMDA",
            "KW  - Ketamine",
            "KW  - Depressive Disorder, Treatment-Resistant",
            "M3  - Randomized Controlled Trial; Journal Article",
            "N1  - PMCID: PMC1234567",
            "ER  - ",
            "",
            "",
        ]
    )


def test_round_trip_with_rispy():
    entries = rispy.loads(ris_text([FULL, Record(pmid="2", title="Minimal", is_book=True)]))
    assert len(entries) == 2
    full, minimal = entries
    assert full["type_of_reference"] == "JOUR"
    assert full["title"] == FULL.title
    assert full["authors"] == ["Rivera, Ana M", "Okafor, C", "Ketamine Study Group"]
    assert full["year"] == "2018"
    assert full["doi"] == FULL.doi
    assert full["accession_number"] == "30000001"
    assert full["abstract"] == "Ketamine is fast. MADRS fell. Nausea in 12%."
    assert full["keywords"] == ["NMDA", "Ketamine", "Depressive Disorder, Treatment-Resistant"]
    assert (full["start_page"], full["end_page"]) == ("150", "158")
    assert full["urls"] == ["https://pubmed.ncbi.nlm.nih.gov/30000001/"]
    assert minimal == {
        "type_of_reference": "BOOK",
        "title": "Minimal",
        "accession_number": "2",
        "urls": ["https://pubmed.ncbi.nlm.nih.gov/2/"],
        "name_of_database": "PubMed",
    }


@pytest.mark.parametrize(
    "pages, start, end",
    [
        ("150-158", "150", "158"),
        ("1234-9", "1234", "1239"),
        ("e12", "e12", ""),
        ("", "", ""),
        ("S1-S9", "S1", "S9"),
    ],
)
def test_pages(pages, start, end):
    entry = rispy.loads(ris_entry(Record(pmid="1", title="t", pages=pages)))[0]
    assert (entry.get("start_page", ""), entry.get("end_page", "")) == (start, end)


def test_no_records_give_an_empty_file():
    assert ris_text([]) == ""


line_text = st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), max_size=60)


@given(
    st.text(alphabet="0123456789", min_size=1, max_size=9),
    line_text,
    st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=80), max_size=3),
    st.lists(st.tuples(line_text, line_text), max_size=3),
)
def test_round_trip_property(pmid, title, abstract_texts, names):
    record = Record(
        pmid=pmid,
        title=title,
        abstract_sections=tuple(AbstractSection("", t) for t in abstract_texts),
        authors=tuple(Author(last_name=last, fore_name=first) for last, first in names),
    )
    entry = rispy.loads(ris_text([record]))[0]
    assert entry["accession_number"] == pmid
    assert entry.get("title", "") == " ".join(title.split())
    assert entry.get("abstract", "") == " ".join(record.abstract.split())
    expected_authors = [
        a
        for a in (", ".join(p for p in (" ".join(last.split()), " ".join(first.split())) if p) for last, first in names)
        if a
    ]
    assert entry.get("authors", []) == expected_authors


def test_run_writes_the_included_records(ketamine_outputs):
    with open(ketamine_outputs / "records.ris", encoding="utf-8", newline="") as handle:
        text = handle.read()
    entries = rispy.loads(text)
    evidence = pd.read_parquet(ketamine_outputs / "evidence.parquet")
    assert [e["accession_number"] for e in entries] == [str(p) for p in evidence.pmid]
    assert [e["title"] for e in entries] == list(evidence.title)
    assert entries[0]["type_of_work"] == "Meta-Analysis; Systematic Review"
    assert all(e["abstract"] for e in entries)
    assert text.count("\r\nER  - \r\n") == len(evidence)


def test_da_keeps_the_day_of_the_publication_date():
    import dataclasses

    dated = dataclasses.replace(FULL, pub_day=7)
    assert "\r\nDA  - 2018/02/07/\r\n" in ris_entry(dated)


def test_the_parser_reads_the_day_of_pubdate():
    from pipeline.sources.pubmed_xml.parser import parse
    from tests.support.xmlbuild import article, document

    [record] = parse(document(article("1", pub_date="<Year>2018</Year><Month>Feb</Month><Day>07</Day>")))
    assert (record.pub_year, record.pub_month, record.pub_day) == (2018, 2, 7)
    [undated] = parse(document(article("2", pub_date="<Year>2018</Year><Day>07</Day>")))
    assert undated.pub_day is None  # a day without a month means nothing
