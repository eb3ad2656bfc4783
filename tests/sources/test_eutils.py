"""The E-utilities client against the local server: pacing, retries of every fault kind, the API key."""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
from datetime import date
from email.utils import formatdate

import pytest

from pipeline.errors import EutilsUnavailable
from pipeline.sources.pubmed.eutils import Client, EutilsRequestError, RateLimiter, Settings, in_band_error
from pipeline.sources.pubmed.search import parse_esearch
from tests.support.synthetic import synthetic_articles
from tests.support.eutils_server import FAULTS, EutilsServer, Fault, in_band_error as in_band_fault, rate_limited, stall

SECRET = "0123456789abcdef-SECRET-KEY"
QUERY = "ketamine AND depression"


def client_for(server, **overrides) -> Client:
    settings = dict(base_url=server.base_url, email="tests@example.org", max_rate=200.0, timeout=5.0)
    return Client(Settings(**{**settings, **overrides}))


def retry_lines(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "pipeline.sources.pubmed.eutils" and r.levelno == logging.WARNING
    ]


# --- settings and the rate limiter ---------------------------------------------------------------


def test_settings_from_env_reads_base_url_key_and_email():
    s = Settings.from_env({"EUTILS_BASE_URL": "http://127.0.0.1:8/e", "NCBI_API_KEY": " k ", "NCBI_EMAIL": "a@b.c"})
    assert (s.base_url, s.api_key, s.email) == ("http://127.0.0.1:8/e/", "k", "a@b.c")
    assert s.rate == 10.0
    assert Settings.from_env({}).base_url == "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
    assert Settings.from_env({}).rate == 3.0


class FakeClock:
    """A clock that only moves when someone sleeps: pacing is checked without waiting."""

    def __init__(self):
        self.now = 100.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def test_rate_limiter_spaces_every_grant_across_threads():
    clock = FakeClock()
    limiter = RateLimiter(3.0, clock=clock, sleep=clock.sleep)
    grants: list[float] = []

    def worker():
        for _ in range(10):
            limiter.wait()
            grants.append(clock())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    grants.sort()
    assert len(grants) == 40
    gaps = [b - a for a, b in zip(grants, grants[1:])]
    assert min(gaps) >= limiter.interval - 1e-9
    assert limiter.interval == pytest.approx(1 / (3.0 * 0.93))
    # No window of one second ever holds more than 3 grants: what NCBI counts.
    assert all(sum(1 for g in grants if start <= g < start + 1.0) <= 3 for start in grants)


def test_rate_limiter_counts_from_the_actual_release_after_an_oversleep():
    clock = FakeClock()
    limiter = RateLimiter(2.0, clock=clock, sleep=lambda s: clock.sleep(s + 0.2), margin=1.0)
    limiter.wait()
    first = clock()
    limiter.wait()
    second = clock()
    limiter.wait()
    assert second - first == pytest.approx(0.7)
    assert clock() - second == pytest.approx(0.7)  # 0.5 + the oversleep, never less than 0.5


def test_requests_are_paced_by_the_shared_limiter(server):
    client = client_for(server, max_rate=10.0)
    threads = [threading.Thread(target=client.esearch, args=(QUERY,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    times = sorted(r["time"] for r in server.requests)
    assert len(times) == 8
    interval = client.limiter.interval  # 108 ms
    # Released >= interval apart; arrival on a busy machine may shift one request, never the whole run.
    assert times[-1] - times[0] >= 7 * interval - 0.03
    assert min(b - a for a, b in zip(times, times[1:])) >= interval / 2


# --- what every request carries -------------------------------------------------------------------


def test_every_request_sends_tool_email_and_api_key_and_efetch_posts(server):
    client = client_for(server, api_key=SECRET)
    client.esearch(QUERY)
    client.efetch(["30000001", "30000002"])
    assert [(r["utility"], r["method"]) for r in server.requests] == [("esearch", "GET"), ("efetch", "POST")]
    for request in server.requests:
        assert request["params"]["tool"] == "literature-review-pipeline"
        assert request["params"]["email"] == "tests@example.org"
        assert request["params"]["api_key"] == SECRET
    assert server.requests[1]["params"]["id"] == "30000001,30000002"


def test_without_email_or_key_only_the_tool_is_sent_and_a_long_query_is_posted(server, caplog):
    client = client_for(server, email="")
    client.esearch(QUERY)
    client.esearch(" OR ".join(["ketamine"] * 150))  # over 1,000 characters encoded
    assert [r["method"] for r in server.requests] == ["GET", "POST"]
    assert {k: v for k, v in server.requests[0]["params"].items() if k in ("tool", "email", "api_key")} == {
        "tool": "literature-review-pipeline"
    }
    assert "NCBI_EMAIL is not set" in caplog.text


def test_a_long_id_list_is_posted_in_one_request(server):
    ids = [str(30000001 + i) for i in range(500)]
    body = client_for(server).efetch(ids)
    assert body.rstrip().endswith(b"</PubmedArticleSet>")
    assert [(r["method"], r["params"]["id"].count(",") + 1) for r in server.requests] == [("POST", 500)]


# --- retries --------------------------------------------------------------------------------------

FAULT_DESCRIPTIONS = {
    "500": "HTTP 500",
    "502": "HTTP 502",
    "503": "HTTP 503",
    "maintenance": "an HTML page instead of XML (NCBI maintenance?)",
    "reset": "RemoteDisconnected: Remote end closed connection without response",
    "truncated": "the connection closed before the whole body arrived",
}


@pytest.mark.parametrize("utility", ["esearch", "efetch"])
@pytest.mark.parametrize("kind", sorted(FAULT_DESCRIPTIONS))
def test_each_fault_kind_is_retried_and_logged(server, caplog, kind, utility):
    server.inject(utility, FAULTS[kind])
    client = client_for(server)
    body = client.esearch(QUERY) if utility == "esearch" else client.efetch(["30000001"])
    assert body.rstrip().endswith(b"</eSearchResult>" if utility == "esearch" else b"</PubmedArticleSet>")
    described = "esearch.fcgi (term=ketamine AND depression)" if utility == "esearch" else "efetch.fcgi (1 ids)"
    assert retry_lines(caplog) == [f"{described} failed ({FAULT_DESCRIPTIONS[kind]}); retry 1 of 4 in 0.0 s"]
    assert len(server.calls(utility)) == 2
    assert client.retries == 1 and client.requests_made == 2


def test_a_stall_times_out_and_is_retried(server, caplog):
    server.inject("esearch", stall(2.5))
    client = client_for(server, timeout=1.0)
    assert parse_esearch(client.esearch(QUERY))["count"] == 10
    assert retry_lines(caplog) == [
        "esearch.fcgi (term=ketamine AND depression) failed (timed out); retry 1 of 4 in 0.0 s"
    ]


def test_a_transient_in_band_error_is_retried(server, caplog):
    server.inject("esearch", in_band_fault("esearch"), times=2)
    assert parse_esearch(client_for(server).esearch(QUERY))["count"] == 10
    assert retry_lines(caplog) == [
        f"esearch.fcgi (term=ketamine AND depression) failed (an error inside an HTTP 200 answer: Search "
        f"Backend failed: read: connection reset by peer); retry {n} of 4 in 0.0 s"
        for n in (1, 2)
    ]


def test_a_permanent_in_band_error_is_returned_for_the_caller_at_once(server):
    client = client_for(server)
    body = client.esearch(QUERY, retstart=10000)
    assert parse_esearch(body)["error"].startswith(
        "Search Backend failed: Exception: 'retstart' cannot be larger than 9998."
    )
    assert len(server.requests) == 1


def test_an_efetch_in_band_error_is_an_error_not_an_empty_batch(server):
    server.inject("efetch", in_band_fault("efetch", "Unable to obtain query #1"))
    with pytest.raises(EutilsRequestError) as info:
        client_for(server).efetch(["30000001"])
    assert str(info.value) == "efetch.fcgi (1 ids) answered with an error: Unable to obtain query #1"
    assert len(server.requests) == 1


def test_429_is_retried_with_backoff_when_no_retry_after_is_sent(server, caplog):
    server.inject("esearch", rate_limited())
    client_for(server).esearch(QUERY)
    assert retry_lines(caplog) == [
        "esearch.fcgi (term=ketamine AND depression) failed (HTTP 429 (rate limit exceeded)); retry 1 of 4 in 0.0 s"
    ]


@pytest.mark.parametrize("header", ["7", "HTTP-date"])
def test_retry_after_is_honoured(server, caplog, header):
    value = "7" if header == "7" else formatdate(__import__("time").time() + 7.4, usegmt=True)
    server.inject(
        "esearch",
        Fault(status=429, body=b'{"error":"API rate limit exceeded","count":"4"}', headers={"Retry-After": value}),
    )
    slept: list[float] = []
    settings = Settings(base_url=server.base_url, email="t@example.org", max_rate=200.0)
    Client(settings, sleep=slept.append).esearch(QUERY)
    waits = [s for s in slept if s > 1]
    assert len(waits) == 1 and 6.0 <= waits[0] <= 7.5
    assert retry_lines(caplog)[0].endswith(f"retry 1 of 4 in {waits[0]:.1f} s")


def test_retries_are_bounded_and_the_message_names_the_request(server, caplog):
    server.inject("esearch", FAULTS["503"], times=10)
    with pytest.raises(EutilsUnavailable) as info:
        client_for(server, max_attempts=3).esearch(QUERY)
    assert str(info.value) == (
        "E-utilities at " + server.base_url + " did not answer esearch.fcgi (term=ketamine AND depression): "
        "HTTP 503 (gave up after 3 attempts). With an NCBI API key (export NCBI_API_KEY=...) NCBI allows 10 "
        "requests/s instead of 3. Try again later; nothing was published."
    )
    assert len(server.requests) == 3
    assert len(retry_lines(caplog)) == 2


def test_a_4xx_other_than_429_is_not_retried(server):
    server.inject("esearch", Fault(status=400, body=b"Bad Request: unknown parameter"))
    with pytest.raises(EutilsRequestError) as info:
        client_for(server).esearch(QUERY)
    assert str(info.value) == (
        "E-utilities rejected esearch.fcgi (term=ketamine AND depression): HTTP 400 Bad "
        "Request. Response: Bad Request: unknown parameter"
    )
    assert len(server.requests) == 1


def test_retstart_past_the_cap_answered_with_http_400_is_an_error(corpus):
    with EutilsServer(corpus, retstart_error_status=400) as srv:
        with pytest.raises(EutilsRequestError) as info:
            client_for(srv).esearch(QUERY, retstart=9999)
    assert "HTTP 400" in str(info.value) and "'retstart' cannot be larger than 9998" in str(info.value)


# --- the API key is never written -----------------------------------------------------------------


def test_the_api_key_never_appears_in_logs_or_errors(server, caplog):
    server.inject("esearch", FAULTS["500"])
    server.inject("efetch", Fault(status=400, body=f"invalid api_key {SECRET}".encode()))
    client = client_for(server, api_key=SECRET)
    client.esearch(QUERY)
    with pytest.raises(EutilsRequestError) as info:
        client.efetch(["30000001"])
    assert SECRET not in str(info.value) and "invalid api_key ***" in str(info.value)
    assert caplog.records and all(SECRET not in r.getMessage() for r in caplog.records)
    assert all(r["params"]["api_key"] == SECRET for r in server.requests)


def test_redact_masks_the_key_and_leaves_other_text():
    client = Client(Settings(api_key=SECRET, email="x@example.org"))
    assert client.redact(f"url?api_key={SECRET}&x=1") == "url?api_key=***&x=1"
    assert Client(Settings(email="x@example.org")).redact("no key here") == "no key here"


# --- the server itself behaves like NCBI ----------------------------------------------------------


def raw_get(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_server_answers_a_burst_over_the_rate_limit_with_429_json(corpus):
    with EutilsServer(corpus, rate_limit=3, retry_after=1) as srv:
        answers = [raw_get(srv.base_url + "esearch.fcgi?db=pubmed&term=ketamine") for _ in range(5)]
    assert [a[0] for a in answers] == [200, 200, 200, 429, 429]
    assert answers[3][2] == b'{"error":"API rate limit exceeded","count":"4"}'
    assert answers[3][1]["Retry-After"] == "1"
    assert [r["fault"] for r in srv.requests] == ["", "", "", "429", "429"]


def test_server_allows_ten_per_second_with_an_api_key(corpus):
    with EutilsServer(corpus, rate_limit=3) as srv:
        answers = [raw_get(srv.base_url + f"esearch.fcgi?db=pubmed&term=ketamine&api_key={SECRET}") for _ in range(11)]
    assert [a[0] for a in answers].count(429) == 1 and answers[-1][0] == 429


def test_server_clamps_retmax_to_the_cap(corpus):
    with EutilsServer(corpus, cap=3) as srv:
        _, _, body = raw_get(srv.base_url + "esearch.fcgi?db=pubmed&term=ketamine&retmax=100")
        _, _, past = raw_get(srv.base_url + "esearch.fcgi?db=pubmed&term=ketamine&retstart=3")
    result = parse_esearch(body)
    assert result["count"] == 10 and len(result["pmids"]) == 3
    assert parse_esearch(past)["error"].startswith(
        "Search Backend failed: Exception: 'retstart' cannot be larger than 2."
    )


def test_server_history_pages_a_webenv_until_it_expires(server):
    _, _, body = raw_get(server.base_url + "esearch.fcgi?db=pubmed&term=ketamine&usehistory=y")
    import xml.etree.ElementTree as ET

    root = ET.fromstring(body)
    webenv, key = root.findtext("WebEnv"), root.findtext("QueryKey")
    assert webenv.startswith("MCID_") and key == "1"
    url = server.base_url + f"efetch.fcgi?db=pubmed&WebEnv={webenv}&query_key=1&retstart=2&retmax=3"
    status, _, page = raw_get(url)
    assert status == 200 and page.count(b"<PubmedArticle>") == 3
    server.expire_history()
    status, _, expired = raw_get(url)
    assert status == 200 and in_band_error(expired) == "Unable to obtain query #1"


def test_server_filters_by_date_range_and_datetype():
    articles = synthetic_articles(300, seed=3)
    with EutilsServer(articles) as srv:
        for datetype, low, high, first, last in [
            ("pdat", "2018", "2019", date(2018, 1, 1), date(2019, 12, 31)),
            ("edat", "2015/02", "2019/02", date(2015, 2, 1), date(2019, 2, 28)),
            ("crdt", "2000/03/05", "2010/11/30", date(2000, 3, 5), date(2010, 11, 30)),
        ]:
            expected = {a.pmid for a in articles if first <= getattr(a, datetype) <= last}
            _, _, body = raw_get(
                srv.base_url + f"esearch.fcgi?db=pubmed&term=ketamine&retmax=1000"
                f"&datetype={datetype}&mindate={low}&maxdate={high}"
            )
            assert set(parse_esearch(body)["pmids"]) == expected and expected, datetype


def test_backoff_grows_exponentially_with_jitter_and_is_capped(monkeypatch):
    monkeypatch.undo()  # the real _backoff, not the conftest's fast one
    client = Client(Settings(email="x@example.org", backoff_base=1.0, backoff_cap=8.0))
    for attempt, (low, high) in {1: (0.5, 1), 2: (1, 2), 3: (2, 4), 4: (4, 8), 6: (4, 8)}.items():
        delays = {client._backoff(attempt) for _ in range(50)}
        assert all(low <= d <= high for d in delays) and len(delays) > 1
