"""Cross-check with PubMed's own [dp]/[la] filters: query building, comparison, the esearch call."""

from __future__ import annotations

import dataclasses
import json

import pytest

from pipeline.screening import crosscheck
from pipeline.config import ScreeningConfig
from pipeline.sources.pubmed.eutils import Client, Settings
from pipeline.models import Record, SearchResult
from pipeline.sources.pubmed.search import run_filtered_search
from pipeline.screening.screen import screen_records
from pipeline.sources.pubmed import filters

CFG = ScreeningConfig(min_year=2016, languages=("eng",), exclude_publication_types=("Comment",))


@pytest.mark.parametrize(
    "cfg, expected",
    [
        (CFG, "2016:3000[dp] AND english[la]"),
        (ScreeningConfig(max_year=2015), "1000:2015[dp]"),
        (ScreeningConfig(min_year=2016, max_year=2020), "2016:2020[dp]"),
        (ScreeningConfig(languages=("eng", "ger", "xyz")), "(english[la] OR german[la] OR xyz[la])"),
        (ScreeningConfig(exclude_publication_types=("Comment",), require_abstract=True), ""),
    ],
)
def test_pubmed_filters(cfg, expected):
    assert filters.pubmed_filters(cfg) == expected


def test_filtered_query_wraps_the_query():
    assert filters.filtered_query("a OR b", CFG) == "(a OR b) AND 2016:3000[dp] AND english[la]"
    assert filters.filtered_query("a OR b", ScreeningConfig()) == "a OR b"


RECORDS = [
    Record("1", pub_year=2018, languages=("eng",)),  # both in
    Record("2", pub_year=2014, languages=("eng",)),  # both out
    Record("3", pub_year=2015, medline_date="2015 Dec-2016 Jan", languages=("eng",)),  # we doubt
    Record("4", pub_year=2018, languages=("eng",), publication_types=("Comment",)),  # in: types not compared
    Record("5", pub_year=2014, languages=("eng",)),  # PubMed in, we out
]
PUBMED = ["1", "3", "4", "5", "6"]


def test_compare_lists_every_disagreement_with_our_reason():
    results = screen_records(RECORDS, CFG)
    assert crosscheck.compare(RECORDS, results, PUBMED, CFG) == [
        {
            "pmid": "3",
            "pubmed": "in",
            "ours": "needs-review",
            "reason": "date-span-ambiguous",
            "field": "medline_date",
            "value": "2015 Dec-2016 Jan",
            "decision": "needs-review",
            "decision_reason": "date-span-ambiguous",
        },
        {
            "pmid": "5",
            "pubmed": "in",
            "ours": "exclude",
            "reason": "published-before-range",
            "field": "pub_year",
            "value": "2014",
            "decision": "exclude",
            "decision_reason": "published-before-range",
        },
        {
            "pmid": "6",
            "pubmed": "in",
            "ours": "not retrieved",
            "reason": "",
            "field": "",
            "value": "",
            "decision": "",
            "decision_reason": "",
        },
    ]


def test_a_record_pubmed_leaves_out_but_we_include_is_listed():
    results = screen_records(RECORDS[:1], CFG)
    assert crosscheck.compare(RECORDS[:1], results, [], CFG) == [
        {
            "pmid": "1",
            "pubmed": "out",
            "ours": "include",
            "reason": "meets-criteria",
            "field": "",
            "value": "",
            "decision": "include",
            "decision_reason": "meets-criteria",
        }
    ]


def test_a_span_our_policy_includes_agrees_with_pubmed_in_and_is_listed_when_pubmed_is_out():
    cfg = dataclasses.replace(CFG, date_spans="include")
    span = RECORDS[2]
    results = screen_records([span], cfg)
    assert crosscheck.compare([span], results, ["3"], cfg) == []
    assert crosscheck.compare([span], results, [], cfg) == [
        {
            "pmid": "3",
            "pubmed": "out",
            "ours": "include",
            "reason": "date-span-included",
            "field": "medline_date",
            "value": "2015 Dec-2016 Jan",
            "decision": "include",
            "decision_reason": "date-span-included",
        }
    ]
    filtered = SearchResult(query="q", count=0, pmids=())
    assert crosscheck.summary(filtered, 1, [span], results, cfg)["our_count_passing_date_and_language"] == 1


def test_summary_gives_both_pubmed_counts_and_ours():
    results = screen_records(RECORDS, CFG)
    filtered = SearchResult(query="(q) AND 2016:3000[dp] AND english[la]", count=5, pmids=tuple(PUBMED))
    got = crosscheck.summary(filtered, 40, RECORDS, results, CFG)
    assert {k: v for k, v in got.items() if k != "disagreements"} == {
        "filtered_query": "(q) AND 2016:3000[dp] AND english[la]",
        "pubmed_count_unfiltered": 40,
        "pubmed_count_filtered": 5,
        "our_count_passing_date_and_language": 2,
        "agree": False,
    }
    assert [d["pmid"] for d in got["disagreements"]] == ["3", "5", "6"]


def test_filtered_search_asks_pubmed_with_its_filters_and_archives_the_answer(server, tmp_path):
    from pipeline.sources.archive import INDEX, RecordingSource
    from pipeline.sources.archive import RawArchive

    archive = RawArchive(tmp_path / "raw")
    client = RecordingSource(Client(Settings(base_url=server.base_url, email="tests@example.org")), archive)
    found = run_filtered_search(client, "ketamine AND depression", CFG)
    assert found.query == "(ketamine AND depression) AND 2016:3000[dp] AND english[la]"
    assert server.calls("esearch")[-1]["params"]["term"] == found.query
    # 30000004 (MedlineDate 2015 Dec-2016 Jan) matches PubMed's [dp]; 30000008 ('und') does not.
    assert "30000004" in found.pmids and "30000008" not in found.pmids
    assert "30000002" not in found.pmids and "30000003" not in found.pmids
    assert found.count == len(found.pmids) == 7
    assert sorted(p.name for p in archive.folder.glob("*.xml.gz")) == ["esearch-00001.xml.gz"]
    assert json.loads((archive.folder / INDEX).read_text())["params"]["term"] == found.query


def test_filtered_search_is_skipped_without_date_or_language_criteria(server):
    client = Client(Settings(base_url=server.base_url, email="tests@example.org"))
    assert run_filtered_search(client, "ketamine", ScreeningConfig(require_abstract=True)) is None
    assert server.requests == []
