"""Europe PMC: query translation, result parsing and the cursor-paged client against the local fake."""

from __future__ import annotations

import json

import pytest

from pipeline.errors import ConfigError, ExitCode, IncompleteRetrieval, SourceUnavailable
from pipeline.sources.europepmc import client as epmc
from pipeline.sources.europepmc.parse import parse_page, parse_result
from pipeline.sources.europepmc.query import build_query, date_window
from pipeline.sources.recorded import LiveCalls, ReplayedCalls
from tests.support.eutils_server import FAULTS, rate_limited
from tests.support.literature_apis import EuropePmcServer, Work

GROUPS = (("ketamine", "esketamine"), ("depression", "depressive disorder"), ("depress*",))


def test_query_translation():
    assert build_query(GROUPS) == ('(ketamine OR esketamine) AND (depression OR "depressive disorder") AND (depress*)')
    assert build_query((("ketamine",), ("treatment-resistant depression",)), "tiab") == (
        '(TITLE_ABS:ketamine) AND (TITLE_ABS:"treatment-resistant depression")'
    )
    assert date_window("(a)", "2026-01-01", "2026-02-01") == (
        "((a)) AND (FIRST_IDATE:[2026-01-01 TO 2026-02-01] OR UPDATE_DATE:[2026-01-01 TO 2026-02-01])"
    )
    with pytest.raises(ConfigError) as err:
        build_query(GROUPS, "pt")
    assert str(err.value) == (
        "[search] field = 'pt' has no Europe PMC equivalent; use one of: \"tiab\", "
        '"ti", "ab", "mh", "majr", "au", "kw", "ot", or "".'
    )


# A core result as Europe PMC documents it (trimmed), with the quirks: HTML in the abstract.
CORE_RESULT = {
    "id": "29768149",
    "source": "MED",
    "pmid": "29768149",
    "pmcid": "PMC6014215",
    "doi": "10.1016/J.NEURON.2018.04.024",
    "title": "Ketamine: <i>NMDA</i> receptors and beyond.",
    "authorList": {
        "author": [
            {"fullName": "Zanos P", "firstName": "Panos", "lastName": "Zanos", "initials": "P"},
            {"collectiveName": "Ketamine Study Group"},
        ]
    },
    "journalInfo": {
        "volume": "98",
        "issue": "5",
        "monthOfPublication": 6,
        "yearOfPublication": 2018,
        "journal": {"title": "Neuron", "isoabbreviation": "Neuron"},
    },
    "pubYear": "2018",
    "pageInfo": "1011-1021",
    "abstractText": "<h4>Background</h4>Ketamine &amp; depression<sup>1</sup>.",
    "language": "eng",
    "pubTypeList": {"pubType": ["review-article", "Journal Article"]},
    "meshHeadingList": {
        "meshHeading": [
            {
                "majorTopic_YN": "Y",
                "descriptorName": "Ketamine",
                "meshQualifierList": {"meshQualifier": [{"qualifierName": "pharmacology"}]},
            }
        ]
    },
    "keywordList": {"keyword": ["NMDA"]},
    "firstPublicationDate": "2018-05-15",
    "electronicPublicationDate": "2018-05-15",
}


def test_a_core_result_maps_onto_the_record_model():
    rec = parse_result(CORE_RESULT)
    assert rec.record_id == "pmid:29768149"
    assert dict(rec.ids) == {"doi": "10.1016/j.neuron.2018.04.024", "pmcid": "PMC6014215", "pmid": "29768149"}
    assert rec.title == "Ketamine: NMDA receptors and beyond."
    assert rec.abstract == "BackgroundKetamine & depression1."
    assert (rec.pub_year, rec.pub_month, rec.article_date, rec.languages) == (2018, 6, "2018-05-15", ("eng",))
    assert rec.publication_types == ("Review", "Journal Article")
    assert [a.display_name for a in rec.authors] == ["Zanos P", "Ketamine Study Group"]
    assert rec.mesh_headings[0].descriptor == "Ketamine" and rec.mesh_headings[0].major_topic


def test_a_preprint_without_pubyear_takes_the_year_of_first_publication():
    rec = parse_result(
        {
            "id": "PPR123456",
            "source": "PPR",
            "title": "A preprint",
            "doi": "10.1101/2020.01.01.1",
            "firstPublicationDate": "2020-01-03",
            "pubTypeList": {"pubType": ["Preprint"]},
        }
    )
    assert (rec.record_id, rec.pub_year, rec.publication_types) == ("doi:10.1101/2020.01.01.1", 2020, ("Preprint",))
    assert dict(rec.ids) == {"doi": "10.1101/2020.01.01.1", "europepmc": "PPR123456"}
    bare = parse_result({"id": "PPR9", "source": "PPR", "title": "No DOI", "firstPublicationDate": "2021-02-01"})
    assert bare.record_id == "europepmc:PPR9"


def test_a_malformed_result_is_set_aside_and_the_page_read():
    body = json.dumps(
        {
            "hitCount": 2,
            "resultList": {
                "result": [
                    {"id": "1", "source": "MED", "pmid": "1", "title": "Fine", "authorList": {"author": "not a list"}},
                    {"id": "2", "source": "MED", "pmid": "2", "title": "Also fine"},
                ]
            },
        }
    ).encode()
    page = parse_page(body, "page 1")
    assert [r.pmid for r in page.records] == ["2"]
    assert page.quarantined[0].reason.startswith("Europe PMC result 1 (id 1) is unreadable:")
    assert page.next_cursor is None


def _works(n, **kw):
    return [
        Work(
            f"Ketamine trial number {i} in depression",
            abstract=f"Abstract {i} about ketamine.",
            pmid=str(1000 + i),
            doi=f"10.5555/k{i}",
            **kw,
        )
        for i in range(n)
    ]


@pytest.fixture
def calls(monkeypatch):
    def make(server, folder=None, attempts=3):
        monkeypatch.setenv("EUROPEPMC_BASE_URL", server.base_url)
        return LiveCalls(epmc.http_client(timeout=5, max_attempts=attempts, email="tests@example.org"), folder)

    return make


def test_cursor_chain_to_the_end_with_cursors_encoded_once(calls):
    with EuropePmcServer(_works(2345) + [Work("Unrelated paper on sleep", pmid="9")]) as server:
        got = epmc.search(calls(server), "(ketamine) AND (depression)")
    assert (got.hit_count, got.retrieved, got.pages) == (2345, 2345, 3)
    assert [r["params"]["cursorMark"] for r in server.requests] == ["*", "AoE/epmc+001000==", "AoE/epmc+002000=="]
    assert all(r["params"]["resultType"] == "core" and r["params"]["pageSize"] == "1000" for r in server.requests)
    assert server.requests[0]["params"]["email"] == "tests@example.org"
    assert got.records[0].abstract == "Abstract 0 about ketamine."


def test_exact_multiple_of_the_page_size_and_zero_hits(calls):
    with EuropePmcServer(_works(2000)) as server:
        got = epmc.search(calls(server), "ketamine")
        assert (got.retrieved, got.pages, len(server.requests)) == (2000, 2, 2)
        none = epmc.search(calls(server), "zebrafish")
    assert (none.hit_count, none.retrieved, none.pages) == (0, 0, 1)


def test_transient_faults_are_retried(calls):
    with EuropePmcServer(_works(30)) as server:
        for fault in (
            rate_limited(retry_after=0),
            FAULTS["500"],
            FAULTS["truncated"],
            FAULTS["maintenance"],
            FAULTS["reset"],
        ):
            server.inject(fault)
        got = epmc.search(calls(server, attempts=6), "ketamine")
    assert got.retrieved == 30
    assert [r["fault"] for r in server.requests] == ["429", "500", "truncated", "maintenance", "reset", ""]


def test_an_api_that_keeps_failing_fails_the_run_loudly(calls):
    with EuropePmcServer(_works(3)) as server:
        server.inject(FAULTS["503"], times=3)
        with pytest.raises(SourceUnavailable) as err:
            epmc.search(calls(server, attempts=3), "ketamine")
    assert err.value.exit_code == ExitCode.UNAVAILABLE
    assert str(err.value) == (
        f"Europe PMC at {server.base_url} did not answer Europe PMC search page 1: "
        "HTTP 503 (gave up after 3 attempts). Try again later; nothing was published."
    )


class _ShortServer(EuropePmcServer):
    """Reports one more hit than its pages hold (a record withdrawn between pages)."""

    def answer(self, path, params, raw):
        status, body, headers = super().answer(path, params, raw)
        data = json.loads(body)
        data["hitCount"] += 1
        return status, json.dumps(data).encode(), headers


def test_a_shortfall_against_hitcount_is_incomplete(calls):
    with _ShortServer(_works(1500)) as server:
        with pytest.raises(IncompleteRetrieval) as err:
            epmc.search(calls(server), "ketamine")
    assert err.value.exit_code == ExitCode.INCOMPLETE
    assert str(err.value) == (
        "Europe PMC reported 1501 records for the query but its pages held 1500 (1 missing) "
        "after 2 pages. Nothing was published; run again later."
    )


def test_a_long_query_goes_to_searchpost(calls):
    long_group = tuple(f"term{i}" for i in range(200)) + ("ketamine",)
    with EuropePmcServer(_works(5)) as server:
        got = epmc.search(calls(server), build_query((long_group,)))
    assert got.retrieved == 5
    assert [(r["method"], r["path"]) for r in server.requests] == [("POST", "/searchPOST")]


def test_archived_answers_replay_without_the_network(calls, tmp_path):
    with EuropePmcServer(_works(1200)) as server:
        live = epmc.search(calls(server, folder=tmp_path), "ketamine")
    index = [json.loads(line) for line in (tmp_path / "requests.jsonl").read_text().splitlines()]
    assert [e["name"] for e in index] == ["europepmc-search-00001", "europepmc-search-00002"]
    assert all("email" not in e["params"] for e in index)
    replayed = epmc.search(ReplayedCalls(tmp_path), "ketamine")
    assert replayed.records == live.records
    with pytest.raises(IncompleteRetrieval, match="holds no answer to the Europe PMC search page 1 request"):
        epmc.search(ReplayedCalls(tmp_path), "esketamine")
