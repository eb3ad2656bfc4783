"""The shared HTTP client against a local scripted server: parameters, retries, Retry-After, pacing,
refusals and the masking of secrets in every encoding."""

from __future__ import annotations

import logging
import threading
import time
import urllib.parse
from email.utils import formatdate

import pytest
from hypothesis import given, strategies as st

from pipeline.errors import ExitCode, RequestRejected, SourceUnavailable
from pipeline.sources.http import (
    USER_AGENT,
    HttpClient,
    RateLimiter,
    Response,
    Secrets,
    limiter_for,
    retry_after_seconds,
)
from tests.support.http_server import Scripted

# A key with characters that URL and form encodings change: "/", "+", "=", " ", "&" and a non-ASCII one.
SECRET = "k3y/with+sp ce=&é-SECRET"
ENCODED = {urllib.parse.quote(SECRET, safe=""), urllib.parse.quote_plus(SECRET), urllib.parse.quote(SECRET)}


def client_for(server, **options) -> HttpClient:
    settings = dict(name="Test API", rate=500.0, timeout=5.0, max_attempts=3)
    return HttpClient(server.base_url, **{**settings, **options})


def retry_lines(caplog) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "pipeline.sources.http" and r.levelno == logging.WARNING
    ]


# --- what a request carries ------------------------------------------------------------------------


def test_get_sends_default_and_call_parameters_without_nones_and_returns_the_body(http_server):
    http_server.script("works", Scripted(body=b'{"results": [1, 2]}'))
    client = client_for(http_server, params={"format": "json", "email": None, "tool": "t"})
    assert (
        client.get("works", {"query": "ketamine AND depression", "page": 2, "cursor": None}) == b'{"results": [1, 2]}'
    )
    [request] = http_server.requests
    assert (request["method"], request["path"]) == ("GET", "/api/works")
    assert request["params"] == {"format": "json", "tool": "t", "query": "ketamine AND depression", "page": "2"}
    assert request["headers"]["User-Agent"] == USER_AGENT
    assert client.requests_made == 1 and client.retries == 0


def test_post_sends_a_form_body(http_server):
    client = client_for(http_server, params={"tool": "t"})
    client.post("search", {"ids": ",".join(str(i) for i in range(300))})
    [request] = http_server.requests
    assert request["method"] == "POST" and request["query"] == ""
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert request["params"]["ids"].count(",") == 299 and request["params"]["tool"] == "t"


def test_no_method_given_posts_only_long_parameter_lists(http_server):
    client = client_for(http_server)
    client.request(None, "short", {"q": "x" * 100})
    client.request(None, "long", {"q": "x" * 1000})
    assert [(r["path"], r["method"]) for r in http_server.requests] == [("/api/short", "GET"), ("/api/long", "POST")]


def test_request_returns_status_headers_and_body(http_server):
    http_server.script("r", Scripted(status=203, body=b"yes", headers={"X-Total": "7"}))
    response = client_for(http_server).request("GET", "r")
    assert isinstance(response, Response)
    assert (response.status, response.headers["X-Total"], response.body, response.text()) == (203, "7", b"yes", "yes")


def test_a_custom_user_agent_and_headers_are_sent(http_server):
    client_for(http_server, user_agent="review-bot/1 (mailto:a@b.c)", headers={"Accept": "application/json"}).get("x")
    headers = http_server.requests[0]["headers"]
    assert (headers["User-Agent"], headers["Accept"]) == ("review-bot/1 (mailto:a@b.c)", "application/json")


# --- retries ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, fault",
    [
        (Scripted(status=500), "HTTP 500"),
        (Scripted(status=503), "HTTP 503"),
        (Scripted(status=429), "HTTP 429 (rate limit exceeded)"),
        (Scripted(reset=True), "RemoteDisconnected: Remote end closed connection without response"),
        (Scripted(short=True), "the connection closed before the whole body arrived"),
    ],
)
def test_transient_faults_are_retried_and_logged(http_server, caplog, answer, fault):
    http_server.script("works", answer)
    client = client_for(http_server)
    assert client.get("works", describe="works (query=ketamine)") == b'{"ok": true}'
    assert retry_lines(caplog) == [f"works (query=ketamine) failed ({fault}); retry 1 of 2 in 0.0 s"]
    assert (client.requests_made, client.retries, len(http_server.requests)) == (2, 1, 2)


def test_a_stall_past_the_timeout_is_retried(http_server, caplog):
    http_server.script("slow", Scripted(stall=1.5))
    assert client_for(http_server, timeout=0.5).get("slow") == b'{"ok": true}'
    assert retry_lines(caplog) == ["slow failed (timed out); retry 1 of 2 in 0.0 s"]


def test_a_body_the_source_calls_transient_is_retried(http_server, caplog):
    http_server.script("works", Scripted(body=b"<html>maintenance</html>"))

    def json_only(body: bytes) -> str | None:
        return None if body.startswith(b"{") else "an HTML page instead of JSON"

    assert client_for(http_server).get("works", validate=json_only) == b'{"ok": true}'
    assert retry_lines(caplog) == ["works failed (an HTML page instead of JSON); retry 1 of 2 in 0.0 s"]


def test_get_json_retries_what_is_not_json_and_what_check_calls_transient(http_server, caplog):
    http_server.script(
        "works",
        Scripted(body=b"<!DOCTYPE html><html>proxy error</html>"),
        Scripted(body=b'{"results": [1, 2'),
        Scripted(body=b'{"status": "busy"}'),
        Scripted(body=b'{"status": "ok", "results": [1, 2]}'),
    )

    def check(value) -> str | None:
        return "the API said it is busy" if value.get("status") == "busy" else None

    client = client_for(http_server, max_attempts=4)
    assert client.get_json("works", {"q": "x"}, check=check) == {"status": "ok", "results": [1, 2]}
    assert retry_lines(caplog) == [
        "works failed (an HTML page instead of JSON); retry 1 of 3 in 0.0 s",
        "works failed (a body that is not JSON (17 bytes: Expecting ',' delimiter)); retry 2 of 3 in 0.0 s",
        "works failed (the API said it is busy); retry 3 of 3 in 0.0 s",
    ]


def test_a_source_can_retry_another_status():
    class Flaky(HttpClient):
        def retryable_status(self, status: int) -> bool:
            return status == 403 or super().retryable_status(status)

    from tests.support.http_server import ScriptedServer

    with ScriptedServer() as srv:
        srv.script("x", Scripted(status=403))
        assert Flaky(srv.base_url, rate=500.0).get("x") == b'{"ok": true}'
        assert len(srv.requests) == 2


def test_retries_are_bounded_and_the_error_names_the_request(http_server, caplog):
    http_server.script("works", *[Scripted(status=502)] * 5)
    with pytest.raises(SourceUnavailable) as info:
        client_for(http_server).get("works", {"q": "x"}, describe="works (q=x)")
    assert str(info.value) == (
        f"Test API at {http_server.base_url} did not answer works (q=x): HTTP 502 (gave up "
        "after 3 attempts). Try again later; nothing was published."
    )
    assert info.value.exit_code == ExitCode.UNAVAILABLE
    assert len(http_server.requests) == 3 and len(retry_lines(caplog)) == 2


@pytest.mark.parametrize("header", ["seconds", "HTTP-date"])
def test_retry_after_is_honoured_in_seconds_and_as_a_date(http_server, caplog, header):
    value = "7" if header == "seconds" else formatdate(time.time() + 7.4, usegmt=True)
    http_server.script("works", Scripted(status=429, headers={"Retry-After": value}))
    slept: list[float] = []
    client_for(http_server, sleep=slept.append).get("works")
    assert len(slept) == 1 and 6.0 <= slept[0] <= 7.5
    assert retry_lines(caplog) == [f"works failed (HTTP 429 (rate limit exceeded)); retry 1 of 2 in {slept[0]:.1f} s"]


def test_retry_after_seconds_reads_numbers_and_dates_and_caps_them():
    now = 1_800_000_000.0
    assert retry_after_seconds({"Retry-After": "3"}) == 3.0
    assert retry_after_seconds({"Retry-After": " 2.5 "}) == 2.5
    assert retry_after_seconds({"Retry-After": "-4"}) == 0.0
    assert retry_after_seconds({"Retry-After": "86400"}) == 120.0
    assert retry_after_seconds({"Retry-After": formatdate(now + 30, usegmt=True)}, now=lambda: now) == 30.0
    assert retry_after_seconds({"Retry-After": formatdate(now - 30, usegmt=True)}, now=lambda: now) == 0.0
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None and retry_after_seconds(None) is None


def test_the_real_backoff_doubles_with_jitter_up_to_the_cap(monkeypatch):
    monkeypatch.undo()  # the real _backoff, not the conftest's fast one
    client = HttpClient("http://127.0.0.1:9/", rate=1.0, backoff_base=0.5, backoff_cap=3.0)
    for attempt, (low, high) in {1: (0.25, 0.5), 2: (0.5, 1.0), 3: (1.0, 2.0), 4: (1.5, 3.0), 9: (1.5, 3.0)}.items():
        delays = {client._backoff(attempt) for _ in range(50)}
        assert all(low <= d <= high for d in delays) and len(delays) > 1


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize("status, reason", [(400, "Bad Request"), (401, "Unauthorized"), (404, "Not Found")])
def test_a_4xx_is_refused_at_once_with_the_apis_words(http_server, status, reason):
    http_server.script("works", Scripted(status=status, body=b'{"error": "query syntax: unbalanced ("}'))
    with pytest.raises(RequestRejected) as info:
        client_for(http_server).get("works", describe="works (q=()")
    assert (
        str(info.value)
        == f'Test API rejected works (q=(): HTTP {status} {reason}. Response: {{"error": "query syntax: unbalanced ("}}'
    )
    assert info.value.exit_code == ExitCode.CONFIG
    assert len(http_server.requests) == 1


# --- secrets --------------------------------------------------------------------------------------


def test_a_secret_is_masked_in_logs_and_errors_in_every_encoding(http_server, caplog):
    """The server echoes the query string (where the key is percent-encoded) in its error bodies."""
    http_server.script("works", Scripted(status=500, echo=True), Scripted(status=400, echo=True))
    client = client_for(http_server, params={"api_key": SECRET}, secrets=[SECRET])
    with pytest.raises(RequestRejected) as info:
        client.get("works", {"q": "x"}, describe=f"works (key {SECRET})")
    shown = [str(info.value)] + [r.getMessage() for r in caplog.records]
    assert "api_key=***" in str(info.value) and "works (key ***)" in str(info.value)
    for text in shown:
        assert SECRET not in text and not any(form in text for form in ENCODED), text
    assert all(r["params"]["api_key"] == SECRET for r in http_server.requests)


def test_the_unavailable_message_masks_a_secret_in_the_base_url(http_server):
    http_server.script(urllib.parse.quote(SECRET, safe="") + "/x", Scripted(status=503), Scripted(status=503))
    client = HttpClient(
        http_server.base_url + urllib.parse.quote(SECRET, safe="") + "/", rate=500.0, max_attempts=2, secrets=[SECRET]
    )
    with pytest.raises(SourceUnavailable) as info:
        client.get("x")
    assert "/api/***/ did not answer x: HTTP 503" in str(info.value)


@given(
    st.text(st.characters(blacklist_characters="*", blacklist_categories=("Cs",)), min_size=4, max_size=20),
    st.text(max_size=10),
)
def test_redact_leaves_no_encoding_of_the_secret(secret, around):
    secrets = Secrets([secret])
    forms = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret), urllib.parse.quote(secret)}
    for form in forms:
        text = secrets.redact(f"{around}{form}{around}")
        assert secret not in text and form not in text
        assert secrets.redact_bytes(f"x{form}y".encode()) == b"x***y"


def test_redact_lowercase_percent_escapes_and_leaves_other_text():
    secrets = Secrets(["a/b"])
    assert secrets.redact("k=a%2Fb&l=a%2fb&m=a/b") == "k=***&l=***&m=***"
    assert Secrets([""]).redact("nothing to hide") == "nothing to hide" and not Secrets([""])


# --- pacing ---------------------------------------------------------------------------------------


def test_clients_of_one_host_and_rate_share_a_limiter_across_threads(http_server):
    a, b = client_for(http_server, rate=20.0), client_for(http_server, rate=20.0)
    assert a.limiter is b.limiter is limiter_for(a.limiter_key, 20.0)
    assert client_for(http_server, rate=19.0).limiter is not a.limiter
    threads = [threading.Thread(target=c.get, args=("x",)) for c in (a, b) * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    times = sorted(r["time"] for r in http_server.requests)
    assert len(times) == 6 and times[-1] - times[0] >= 5 * a.limiter.interval - 0.03


def test_an_explicit_limiter_is_used_as_given(http_server):
    limiter = RateLimiter(1000.0)
    assert client_for(http_server, limiter=limiter).limiter is limiter


def test_a_rate_must_be_positive():
    with pytest.raises(ValueError, match="rate must be positive, not 0"):
        RateLimiter(0)
