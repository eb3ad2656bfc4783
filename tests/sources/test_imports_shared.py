"""Every shared export file is imported completely, with its identifiers, under every line ending
databases write: LF, CRLF, CRLF with bare LFs inside abstracts, CR alone, and UTF-16 (Web of Science).
"""

from __future__ import annotations

import codecs

import pytest

from pipeline.sources.imports import parse_export, read_export
from pipeline.sources.imports.text import decode
from tests.support.paths import shared_path

# file -> (format, records, {record number: (record_id, year, first author, title start)})
EXPECTED = {
    "wos/metaknowledge_TwoPaper.isi": (
        "wos",
        2,
        {
            1: ("doi:10.1023/a:1005282128866", 2000, "Kim S", "Supervenience and causation"),
            2: ("doi:10.1023/a:1005677609556", 2001, "Kim S", "Physical process theories"),
        },
    ),
    "wos/asreview_web_of_science_ris.txt": (
        "ris",
        10,
        {
            1: ("doi:10.1016/j.jarmac.2018.03.001", 2018, "Alceste F", "Holding Yourself Captive"),
            10: ("doi:10.1080/1068316x.2013.777963", 2014, "Wetmore SA", "On the power of secondary"),
        },
    ),
    "scopus/metaknowledge_scopus_testing_first4.csv": (
        "csv",
        4,
        {
            1: ("doi:10.1109/tasc.2016.2541670", 2016, "Yagai T", "Strain Distribution"),
            3: ("scopus:2-s2.0-0021901665", 1985, "Janko Wolfgang", "APL in Business Data Processing"),
        },
    ),
    "scopus/synthesisr_scopus_first5.ris": (
        "ris",
        5,
        {
            1: ("doi:10.1016/j.foreco.2019.117694", 2020, "Tingley MW", "Black-backed woodpecker occupancy"),
            5: ("doi:10.1093/condor/duy023", 2019, "Matseur EA", "The importance of disturbance"),
        },
    ),
    "embase/asreview_embase.csv": (
        "csv",
        6,
        {
            1: ("doi:10.4103/2303-9027.138783", 2014, "Liu R", "Duplication cysts"),
            6: ("doi:10.1089/cren.2017.0016", 2017, "Faraj K", "Completely Isolated Retroperitoneal"),
        },
    ),
    "ovid_text/jabref_OvidImporterTest3.txt": (
        "ovid",
        1,
        {1: ("doi:10.1136/amiajnl-2014-002886", None, "Holstiege J", "Effects of computer-aided clinical")},
    ),
    "ebscohost/citesource_greenfile_first5.ris": (
        "ris",
        5,
        {
            1: ("doi:10.1002/ieam.4057", 2018, None, "Learned Discourses"),
            2: ("doi:10.1016/j.scitotenv.2018.06.159", 2018, "Ahad JME", "Evaluating in situ biodegradation"),
        },
    ),
    "cochrane/cff_baseline_cochrane.csv": (
        "csv",
        3,
        {
            1: ("pmid:21314913", 2011, "Bywater T", "The Incredible Years Therapeutic Dinosaur"),
            2: ("pmid:38407106", 2024, "Kim JS", "Time to transfer"),
        },
    ),
    "pubmed/rispy_example_pubmed.txt": (
        "medline",
        10,
        {
            1: ("pmid:30922926", 2020, "Griffin DK", "Time lapse: A glimpse"),
            10: ("pmid:36122246", 2022, "Han F", "Low dinosaur biodiversity"),
        },
    ),
    "google_scholar/cff_baseline_googlescholar.ris": (
        "ris",
        10,
        {
            1: (None, 2001, "Barrett PM", "Did dinosaurs invent flowers?"),
            4: (None, 2018, "Benson RBJ", "Cope's rule and the adaptive landscape"),
        },
    ),
    "sciencedirect/jabref_RisImporterTest9_elsevier_cellpress.ris": (
        "ris",
        1,
        {1: ("doi:10.1016/j.neuron.2016.10.006", 2016, "Kriegeskorte N", "Grid Cells for Conceptual Spaces?")},
    ),
}


def _file(name: str):
    return shared_path("data", "exports", *name.split("/"))


def _crlf_with_lf_in_abstracts(text: str, abstracts: list[str]) -> str:
    """CRLF line ends, and a bare LF in place of one space early in every abstract."""
    crlf = text.replace("\n", "\r\n")
    for abstract in abstracts:
        head = abstract[:40]
        if " " in head:
            cut = head.rindex(" ")
            crlf = crlf.replace(head, head[:cut] + "\n" + head[cut + 1 :], 1)
    return crlf


def _summary(result):
    return [(i.number, i.record) for i in result.records]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shared_export_is_imported_whole(name):
    fmt, count, facts = EXPECTED[name]
    result = read_export(_file(name))
    assert (result.format, len(result.records), result.quarantined) == (fmt, count, [])
    assert [i.number for i in result.records] == list(range(1, count + 1))
    for number, (record_id, year, first_author, title) in facts.items():
        rec = result.records[number - 1].record
        if record_id is not None:
            assert rec.record_id == record_id
        else:
            assert rec.record_id.startswith("import:")
        assert rec.pub_year == year
        assert (rec.authors[0].display_name if rec.authors else None) == first_author
        assert rec.title.startswith(title)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_line_endings_and_encodings_give_the_same_records(name):
    data = _file(name).read_bytes()
    text = decode(data)
    reference = parse_export(text, name)
    abstracts = [i.record.abstract for i in reference.records if i.record.abstract]
    variants = {
        "crlf": text.replace("\n", "\r\n").encode("utf-8"),
        "cr": text.replace("\n", "\r").encode("utf-8"),
        "crlf+lf-in-abstracts": _crlf_with_lf_in_abstracts(text, abstracts).encode("utf-8"),
        "utf-8 with BOM": codecs.BOM_UTF8 + data,
        "utf-16": text.replace("\n", "\r\n").encode("utf-16"),
    }
    if abstracts:  # the bare LFs really were placed inside the abstracts
        assert variants["crlf+lf-in-abstracts"].count(b"\r\n") < variants["crlf+lf-in-abstracts"].count(b"\n")
    for label, variant in variants.items():
        got = parse_export(decode(variant), name)
        assert _summary(got) == _summary(reference), label
        assert got.quarantined == [], label


def test_identifiers_each_database_gives_are_kept():
    def ids(name, number):
        return dict(read_export(_file(name)).records[number - 1].record.ids)

    assert ids("wos/metaknowledge_TwoPaper.isi", 1) == {"doi": "10.1023/a:1005282128866", "wos": "000086967200001"}
    assert ids("cochrane/cff_baseline_cochrane.csv", 2) == {
        "central": "CN-02677909",
        "doi": "10.1037/dev0001710",
        "embase": "643589775",
        "pmid": "38407106",
    }
    assert ids("pubmed/rispy_example_pubmed.txt", 1) == {
        "doi": "10.1016/j.ejmg.2019.03.004",
        "pmcid": "PMC7026692",
        "pmid": "30922926",
    }
    assert ids("scopus/synthesisr_scopus_first5.ris", 1) == {
        "doi": "10.1016/j.foreco.2019.117694",
        "scopus": "2-s2.0-85074800841",
    }
    assert ids("ebscohost/citesource_greenfile_first5.ris", 1) == {"doi": "10.1002/ieam.4057", "ebscohost": "130185423"}
    assert ids("ovid_text/jabref_OvidImporterTest3.txt", 1) == {
        "doi": "10.1136/amiajnl-2014-002886",
        "ovid": "00042637-900000000-99667",
    }


def test_fields_map_to_pubmeds_conventions():
    scopus = [i.record for i in read_export(_file("scopus/metaknowledge_scopus_testing_first4.csv")).records]
    assert [r.languages for r in scopus] == [("eng",), ("eng",), ("ger",), ("eng",)]
    assert scopus[1].title.startswith("A Novel Partial Melting Process for YBa2Cu3O7−z")  # <inf> tags gone
    ovid = read_export(_file("ovid_text/jabref_OvidImporterTest3.txt")).records[0].record
    assert ovid.title.endswith("primary care providers: a systematic review")  # '[Review]' moved
    assert "Review" in ovid.publication_types
    assert ovid.article_date == "2014-08-18"  # ahead of print
    medline = read_export(_file("pubmed/rispy_example_pubmed.txt")).records[0].record
    assert medline.publication_types == ("Historical Article", "Journal Article", "Review")
    assert medline.article_date == "2019-03-25" and medline.pub_month == 2
    assert medline.mesh_headings and medline.journal_iso == "Eur J Med Genet"
    embase = read_export(_file("embase/asreview_embase.csv")).records[1].record
    assert (embase.journal, embase.volume, embase.issue, embase.pages) == ("Cancer", "102", "4", "253-258")
    scholar = read_export(_file("google_scholar/cff_baseline_googlescholar.ris")).records[0].record
    assert scholar.abstract == "" and scholar.journal == "Biological Reviews"
