"""Search: esearch parsing, PubMed's messages, and date slicing past the 9,999 cap."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from pipeline.sources.pubmed import search
from pipeline.errors import IncompleteRetrieval
from pipeline.sources.pubmed.eutils import Client, Settings
from pipeline.sources.pubmed.search import DateSlice, parse_esearch, run_search, run_window_search, split_by_date
from tests.support.paths import shared_path
from tests.support.expected import EXPECTED_DECISIONS
from tests.support.eutils_server import EutilsServer, Fault, parse_eutils_date
from tests.support.synthetic import synthetic_articles

QUERY = 'ketamine AND depression AND ("mechanism of action" OR "clinical applications" OR efficacy)'
TODAY = date(2026, 11, 21)
START, END = date(1781, 1, 1), date(2028, 12, 31)


def client_for(server) -> Client:
    return Client(Settings(base_url=server.base_url, email="tests@example.org", max_rate=500.0))


# --- parsing --------------------------------------------------------------------------------------


def test_parse_esearch_reads_phrase_not_found_from_a_real_response():
    result = parse_esearch(shared_path("data", "pubmed", "biopython", "esearch8.xml").read_bytes())
    assert result == {
        "count": 0,
        "pmids": [],
        "translation": "(abcXYZ[All Fields])",
        "messages": ["Error PhraseNotFound: abcXYZ", "Warning OutputMessage: No items found."],
        "error": "",
    }


def test_parse_esearch_reads_field_not_found_and_quoted_phrase_warnings():
    body = (
        b"<eSearchResult><Count>3</Count><RetMax>3</RetMax><RetStart>0</RetStart><IdList><Id>3</Id><Id>2</Id>"
        b"<Id>1</Id></IdList><QueryTranslation>ketamine[tiab]</QueryTranslation><ErrorList>"
        b'<FieldNotFound>tiabx</FieldNotFound></ErrorList><WarningList><QuotedPhraseNotFound>"x y"'
        b"</QuotedPhraseNotFound><OutputMessage>Quoted phrase not found.</OutputMessage></WarningList>"
        b"</eSearchResult>"
    )
    result = parse_esearch(body)
    assert result["pmids"] == ["3", "2", "1"]
    assert result["messages"] == [
        "Error FieldNotFound: tiabx",
        'Warning QuotedPhraseNotFound: "x y"',
        "Warning OutputMessage: Quoted phrase not found.",
    ]


def test_parse_esearch_rejects_another_document():
    with pytest.raises(ValueError, match=r"not an esearch response \(root element <PubmedArticleSet>\)"):
        parse_esearch(b"<PubmedArticleSet/>")


# --- split_by_date, pure --------------------------------------------------------------------------


def fake_search(day_counts: dict[date, int], calls: list | None = None):
    def search_range(lo: date, hi: date) -> DateSlice:
        if calls is not None:
            calls.append((lo, hi))
        return DateSlice(lo, hi, sum(n for d, n in day_counts.items() if lo <= d <= hi))

    return search_range


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.integers(0, 400), st.integers(1, 30), max_size=40), st.integers(30, 120))
def test_slices_are_consecutive_disjoint_cover_the_range_and_each_fits(offsets, cap):
    base = date(2000, 1, 1)
    counts = {base + timedelta(days=o): n for o, n in offsets.items()}
    end = base + timedelta(days=400)
    slices = split_by_date(fake_search(counts), base, end, cap, workers=3)
    assert slices[0].start == base and slices[-1].end == end
    assert all(b.start == a.end + timedelta(days=1) for a, b in zip(slices, slices[1:]))
    assert all(s.count <= cap for s in slices)
    assert sum(s.count for s in slices) == sum(counts.values())


def test_halving_stops_as_soon_as_a_range_fits():
    counts = {date(2000, 1, 1) + timedelta(days=d): 1 for d in range(100)}
    calls: list = []
    slices = split_by_date(fake_search(counts, calls), date(2000, 1, 1), date(2000, 4, 9), 30)
    assert [s.count for s in slices] == [25, 25, 25, 25]
    assert len(calls) == 7  # the whole range, two halves, four quarters
    calls.clear()
    assert split_by_date(fake_search(counts, calls), date(2000, 1, 1), date(2000, 4, 9), 30, total=100) == slices
    assert len(calls) == 6  # the whole range's count was known


def test_a_range_that_fits_is_searched_once_even_with_a_known_total():
    counts = {date(2000, 1, 5): 3}
    assert split_by_date(fake_search(counts), date(2000, 1, 1), date(2000, 1, 9), 30, total=3) == [
        DateSlice(date(2000, 1, 1), date(2000, 1, 9), 3)
    ]


def test_a_single_day_over_the_cap_cannot_be_split():
    counts = {date(2020, 3, 4): 50}
    with pytest.raises(IncompleteRetrieval) as info:
        split_by_date(fake_search(counts), date(2020, 1, 1), date(2020, 12, 31), 40)
    assert str(info.value) == (
        "PubMed lists 50 records published on 2020/03/04 alone, more than the 40 one esearch can return, so "
        "they cannot all be retrieved by date slicing. Nothing was published; narrow the query (add a term) "
        "until that day matches fewer records."
    )


# --- slicing against the server -------------------------------------------------------------------


def leaf_ranges(server, articles, cap) -> list[tuple[date, date]]:
    """The date ranges esearch was asked for that fit under the cap, oldest first (from the request log)."""
    ranges = []
    for request in server.calls("esearch"):
        params = request["params"]
        if "mindate" not in params:
            continue
        assert params["datetype"] == "pdat"
        lo, hi = parse_eutils_date(params["mindate"]), parse_eutils_date(params["maxdate"], end=True)
        if sum(1 for a in articles if lo <= a.pdat <= hi) <= cap:
            ranges.append((lo, hi))
    return sorted(ranges)


def test_more_hits_than_the_cap_are_retrieved_by_date_slices():
    articles = synthetic_articles(500, seed=1)
    with EutilsServer(articles, cap=60) as srv:
        result = run_search(client_for(srv), QUERY, cap=60, today=TODAY)
    assert result.count == 500
    assert sorted(result.pmids) == sorted(a.pmid for a in articles)
    assert len(set(result.pmids)) == len(result.pmids)
    leaves = leaf_ranges(srv, articles, 60)
    assert leaves[0][0] == START and leaves[-1][1] == END
    assert all(b[0] == a[1] + timedelta(days=1) for a, b in zip(leaves, leaves[1:])), "gap or overlap"
    assert all(int(r["params"].get("retstart", 0)) <= 59 for r in srv.requests)
    assert all(int(r["params"]["retmax"]) <= 60 for r in srv.requests)
    # newest slice first, as PubMed lists
    years = {a.pmid: a.pdat for a in articles}
    assert years[result.pmids[0]] > years[result.pmids[-1]]


def test_a_record_outside_every_slice_is_a_shortfall_not_a_smaller_table():
    articles = synthetic_articles(130, seed=2)
    undated = articles[7]
    undated.pdat = None  # counted by the query, in no publication-date slice
    with EutilsServer(articles, cap=50) as srv:
        with pytest.raises(IncompleteRetrieval) as info:
            run_search(client_for(srv), QUERY, cap=50, today=TODAY)
    slices = len(leaf_ranges(srv, [a for a in articles if a.pdat], 50))
    assert str(info.value) == (
        f"PubMed reports 130 records for the query, but its {slices} publication-date slices from 1781/01/01 "
        "to 2028/12/31 hold only 129: 1 records have no publication date in that range, or PubMed's index "
        "changed during the search. Nothing was published; run again later, or narrow the query below "
        "9999 records."
    )


def test_a_slice_listing_fewer_pmids_than_its_count_is_an_error():
    body = (
        b"<eSearchResult><Count>2</Count><RetMax>1</RetMax><RetStart>0</RetStart><IdList><Id>7</Id>"
        b"</IdList><QueryTranslation/></eSearchResult>"
    )
    with pytest.raises(IncompleteRetrieval) as info:
        search.reconcile(QUERY, 2, [DateSlice(date(2001, 1, 1), date(2001, 6, 30), 2, ("7",))], START, END)
    assert str(info.value) == (
        "esearch reported 2 records published 2001/01/01-2001/06/30 but listed 1 PMIDs; "
        "nothing was published. Run again; if it persists, PubMed's index may be updating."
    )
    assert parse_esearch(body)["count"] == 2


def test_the_cli_slices_a_search_over_the_cap_and_loses_no_record(corpus, review_config, invoke, tmp_path, monkeypatch):
    monkeypatch.setattr(search, "ESEARCH_CAP", 4)
    with EutilsServer(corpus, cap=4) as srv:
        monkeypatch.setenv("EUTILS_BASE_URL", srv.base_url)
        result = invoke("run", "--config", review_config, "--out", tmp_path / "sliced")
    assert result.exit_code == 0, result.stderr
    records = pd.read_csv(tmp_path / "sliced" / "records.csv", dtype=str, keep_default_na=False)
    assert {row.pmid: (row.decision, row.reason) for row in records.itertuples()} == EXPECTED_DECISIONS
    main_query = [r for r in srv.calls("esearch") if r["params"]["term"] == QUERY]
    assert len(main_query) > 3
    assert all("mindate" in r["params"] for r in main_query[1:])


def test_phrase_not_found_goes_to_run_json_and_is_shown_as_a_warning(server, review_config, invoke, tmp_path):
    """An ErrorList (PhraseNotFound) is PubMed running the query without the phrase: as in the first
    release, the run goes on, shows PubMed's words as warnings and keeps them in run.json."""
    server.inject("esearch", Fault(body=shared_path("data", "pubmed", "biopython", "esearch8.xml").read_bytes()))
    out = tmp_path / "typo"
    result = invoke("run", "--config", review_config, "--out", out)
    assert result.exit_code == 0, result.stderr
    assert "WARNING PubMed: Error PhraseNotFound: abcXYZ" in result.stderr.splitlines()
    assert "WARNING PubMed: Warning OutputMessage: No items found." in result.stderr.splitlines()
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["pubmed_messages"] == ["Error PhraseNotFound: abcXYZ", "Warning OutputMessage: No items found."]
    assert manifest["query_translation"] == "(abcXYZ[All Fields])"
    assert manifest["counts"]["identified"] == 0


def test_an_esearch_error_is_a_usage_error_with_pubmeds_message(server, review_config, invoke, tmp_path):
    server.inject(
        "esearch",
        Fault(body=b'<?xml version="1.0" ?><eSearchResult><ERROR>Invalid query syntax</ERROR></eSearchResult>'),
    )
    result = invoke("run", "--config", review_config, "--out", tmp_path / "bad")
    assert result.exit_code == 2, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"Error: esearch refused the query {QUERY!r}: Invalid query syntax. Fix the search terms in the "
        "config's [search] section (python -m pipeline query --config FILE prints the query)."
    )


def test_an_http_400_on_esearch_is_a_usage_error_with_pubmeds_message(server, review_config, invoke, tmp_path):
    server.inject("esearch", Fault(status=400, body=b'{"error":"Invalid query: unbalanced parentheses"}'))
    result = invoke("run", "--config", review_config, "--out", tmp_path / "bad")
    assert result.exit_code == 2, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"Error: E-utilities rejected esearch.fcgi (term={QUERY}, retmax=9999): HTTP 400 Bad Request. "
        'Response: {"error":"Invalid query: unbalanced parentheses"}'
    )
    assert "Internal error" not in result.stderr


def test_phrase_not_found_warnings_alone_do_not_stop_the_run(server, review_config, invoke, tmp_path):
    """A WarningList (a quoted phrase not found, a stopword ignored) is PubMed running the query: the
    run goes on and keeps the warnings in run.json."""
    body = server_esearch_with_warning(server)
    server.inject("esearch", Fault(body=body))
    out = tmp_path / "warned"
    result = invoke("run", "--config", review_config, "--out", out)
    assert result.exit_code == 0, result.stderr
    assert "WARNING PubMed: Warning PhraseIgnored: of" in result.stderr.splitlines()
    assert json.loads((out / "run.json").read_text())["pubmed_messages"] == ["Warning PhraseIgnored: of"]


def server_esearch_with_warning(server) -> bytes:
    """The server's own answer to the review's query, with a WarningList added."""
    import urllib.parse
    import urllib.request

    url = server.base_url + "esearch.fcgi?" + urllib.parse.urlencode({"db": "pubmed", "term": QUERY, "retmax": 9999})
    with urllib.request.urlopen(url, timeout=5) as answer:
        body = answer.read()
    server.requests.clear()
    return body.replace(
        b"</eSearchResult>", b"<WarningList><PhraseIgnored>of</PhraseIgnored></WarningList></eSearchResult>"
    )


def test_an_entry_window_over_the_cap_is_sliced_not_refused():
    """A refresh's entry-date window holding more than the cap is split like a full search."""
    articles = synthetic_articles(300, seed=3)
    start, end = date(2010, 1, 1), date(2026, 12, 31)
    expected = {a.pmid for a in articles if a.edat is not None and start <= a.edat <= end}
    with EutilsServer(articles, cap=40) as srv:
        pmids = run_window_search(client_for(srv), QUERY, "edat", start, end, cap=40)
    assert len(expected) > 40
    assert sorted(pmids) == sorted(expected) and len(set(pmids)) == len(pmids)
    windows = [r["params"] for r in srv.calls("esearch")]
    assert {w["datetype"] for w in windows} == {"edat"}
    assert all(int(w["retmax"]) <= 40 for w in windows)
