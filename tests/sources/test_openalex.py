"""OpenAlex: query translation, work parsing (inverted abstracts), and the cursor client against the
local fake: the terminal empty page, the API key (required, masked), the daily budget."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, strategies as st

from pipeline.errors import ConfigError, ExitCode, IncompleteRetrieval, RequestRejected
from pipeline.sources.openalex import client as oa
from pipeline.sources.openalex.parse import inverted_abstract, parse_work
from pipeline.sources.openalex.query import translate, with_filter
from pipeline.sources.recorded import LiveCalls, ReplayedCalls
from tests.support.eutils_server import FAULTS, rate_limited
from tests.support.literature_apis import OpenAlexServer, Work

KEY = "oa-secret-key-123"


def test_translation_and_what_does_not_carry_over():
    t = translate((("ketamine", "esketamine"), ("depress*", "mood disorder")))
    assert t.params == {"search": '(ketamine OR esketamine) AND (depress OR "mood disorder")'}
    assert t.notes == ("OpenAlex strips wildcards: 'depress*' is searched as 'depress'",)
    tiab = translate((("ketamine",),), "tiab")
    assert tiab.params == {"filter": "title_and_abstract.search:(ketamine)"}
    assert with_filter(tiab.params, "from_created_date:2026-01-01") == {
        "filter": "title_and_abstract.search:(ketamine),from_created_date:2026-01-01"
    }
    with pytest.raises(ConfigError) as err:
        translate((("x",),), "mh")
    assert str(err.value) == (
        '[search] field = \'mh\' has no OpenAlex equivalent; use "tiab", "ti" or "" '
        "(OpenAlex searches titles, abstracts and full text only)."
    )


@given(st.lists(st.sampled_from(["ketamine", "the", "of", "NMDA", "receptor", "é", "depression."]), max_size=60))
def test_inverted_abstract_round_trip(words):
    index: dict[str, list[int]] = {}
    for i, word in enumerate(words):
        index.setdefault(word, []).append(i)
    assert inverted_abstract(index) == " ".join(words)


# A work as OpenAlex documents it (trimmed): URL ids, pmcid without PMC, null source.
WORK = {
    "id": "https://openalex.org/W2741809807",
    "doi": "https://doi.org/10.7717/PEERJ.4375",
    "title": "The state of OA: a large-scale analysis",
    "display_name": "The state of OA",
    "publication_year": 2018,
    "publication_date": "2018-02-13",
    "language": "en",
    "type": "article",
    "ids": {
        "openalex": "https://openalex.org/W2741809807",
        "doi": "https://doi.org/10.7717/peerj.4375",
        "pmid": "https://pubmed.ncbi.nlm.nih.gov/29456894",
        "pmcid": "5815332",
    },
    "primary_location": {"source": None},
    "authorships": [{"author": {"display_name": "Heather Piwowar"}, "raw_author_name": "Piwowar, H"}],
    "biblio": {"volume": "6", "issue": None, "first_page": "e4375", "last_page": "e4375"},
    "is_retracted": True,
    "abstract_inverted_index": {"Despite": [0], "growing": [1], "interest": [2]},
}


def test_a_work_maps_onto_the_record_model():
    rec = parse_work(WORK)
    assert rec.record_id == "pmid:29456894"
    assert dict(rec.ids) == {
        "doi": "10.7717/peerj.4375",
        "openalex": "W2741809807",
        "pmcid": "PMC5815332",
        "pmid": "29456894",
    }
    assert (rec.abstract, rec.pub_year, rec.languages, rec.journal, rec.pages) == (
        "Despite growing interest",
        2018,
        ("eng",),
        "",
        "e4375",
    )
    assert rec.publication_types == ("Journal Article", "Retracted Publication")
    assert [a.display_name for a in rec.authors] == ["Piwowar H"]


def _works(n):
    return [
        Work(f"Ketamine and depression study {i}", abstract=f"Ketamine abstract {i}", doi=f"10.5555/oa{i}")
        for i in range(n)
    ]


@pytest.fixture
def calls(monkeypatch):
    def make(server, folder=None, key=KEY, attempts=3):
        monkeypatch.setenv("OPENALEX_BASE_URL", server.base_url)
        return LiveCalls(
            oa.http_client(timeout=5, max_attempts=attempts, api_key=key, email="tests@example.org"), folder
        )

    return make


def test_cursor_chain_ends_at_the_empty_page(calls):
    t = translate((("ketamine",), ("depression",)))
    with OpenAlexServer(_works(250) + [Work("Sleep and memory")], keys=(KEY,)) as server:
        got = oa.search(calls(server), t.params, t.shown)
    assert (got.hit_count, got.retrieved, got.pages) == (250, 250, 4)
    assert [r["params"]["cursor"] for r in server.requests] == [
        "*",
        "AoE/oa+000100==",
        "AoE/oa+000200==",
        "AoE/oa+000250==",
    ]
    assert all(
        r["params"]["per_page"] == "100" and r["params"]["mailto"] == "tests@example.org" for r in server.requests
    )
    assert got.records[3].abstract == "Ketamine abstract 3"


def test_key_required_missing_and_wrong(calls, monkeypatch):
    with pytest.raises(ConfigError) as err:
        oa.http_client()
    assert str(err.value) == (
        'OPENALEX_API_KEY is not set and [search] sources includes "openalex". OpenAlex '
        "requires a free API key since 2026: create one at https://openalex.org/settings/api "
        "and set OPENALEX_API_KEY."
    )
    with OpenAlexServer(_works(3), keys=(KEY,)) as server:
        with pytest.raises(RequestRejected) as err:
            oa.search(calls(server, key="wrong-key-456"), {"search": "ketamine"}, "search=ketamine")
    assert err.value.exit_code == ExitCode.CONFIG
    assert str(err.value).startswith(
        "OpenAlex refused OpenAlex works page 1: HTTP 403 Forbidden. OpenAlex requires a free API key since 2026"
    )
    assert "wrong-key-456" not in str(err.value)
    assert len(server.requests) == 1


def test_the_daily_budget_fails_at_once_with_the_key_masked(calls, tmp_path):
    with OpenAlexServer(_works(350), keys=(KEY,), daily_budget=2) as server:
        with pytest.raises(oa.BudgetExhausted) as err:
            oa.search(calls(server, folder=tmp_path), {"search": "ketamine"}, "search=ketamine")
    assert err.value.exit_code == ExitCode.UNAVAILABLE
    assert str(err.value).startswith("OpenAlex refused the request: the daily budget of this API key is used up")
    assert len(server.requests) == 3  # no retries against a spent budget
    assert KEY not in (tmp_path / "requests.jsonl").read_text()


def test_rate_limit_and_faults_are_retried_then_replayed_offline(calls, tmp_path):
    with OpenAlexServer(_works(120), keys=(KEY,)) as server:
        server.inject(rate_limited(retry_after=0))
        server.inject(FAULTS["502"])
        server.inject(FAULTS["truncated"])
        live = oa.search(calls(server, folder=tmp_path, attempts=5), {"search": "ketamine"}, "search=ketamine")
    assert live.retrieved == 120
    assert [r["fault"] for r in server.requests][:4] == ["429", "502", "truncated", ""]
    replayed = oa.search(ReplayedCalls(tmp_path), {"search": "ketamine"}, "search=ketamine")
    assert replayed.records == live.records


class _Overcounting(OpenAlexServer):
    def answer(self, path, params, raw):
        status, body, headers = super().answer(path, params, raw)
        data = json.loads(body)
        if "meta" in data:
            data["meta"]["count"] += 2
        return status, json.dumps(data).encode(), headers


def test_a_shortfall_against_the_count_is_incomplete(calls):
    with _Overcounting(_works(10), keys=(KEY,)) as server:
        with pytest.raises(
            IncompleteRetrieval,
            match=r"^OpenAlex reported 12 works for the search but its pages "
            r"held 10 \(2 missing\) after 2 pages",
        ):
            oa.search(calls(server), {"search": "ketamine"}, "search=ketamine")
