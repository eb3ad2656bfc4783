"""The workspace over HTTP (no browser): binding, the token, CSRF and cross-site refusals, headers,
hostile records escaped, decisions acknowledged only after commit."""

from __future__ import annotations

import pytest

from pipeline.workspace.server import CSP
from tests.support.workspace_review import HOSTILE_PMID, Client, served


def test_another_address_without_a_token_is_refused_with_exit_2(invoke, screening_review):
    result = invoke("screen", "--config", screening_review.config, "--host", "0.0.0.0")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: --host 0.0.0.0 makes the workspace reachable from other machines: pass "
        "--token SECRET as well (every request must then carry it), or keep the default "
        "--host 127.0.0.1.\n"
    )


def test_pages_carry_a_strict_content_security_policy(screening_review):
    with served(screening_review) as server:
        status, headers, html = Client(server.url).request("/")
    assert status == 200
    assert headers["Content-Security-Policy"] == CSP
    assert "script-src 'self'" in CSP and "unsafe" not in CSP
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
    assert '<script src="/static/app.js" defer></script>' in html


def test_with_a_token_every_request_must_carry_it(screening_review):
    with served(screening_review, token="s3cret") as server:
        assert server.url.endswith("/?token=s3cret")
        client = Client(server.url)
        status, _, body = client.request("/")
        assert status == 403
        assert body == (
            "Forbidden: this workspace needs its token. Open the address `python -m pipeline "
            "screen` printed (it ends in ?token=...)."
        )
        assert client.request("/?token=wrong")[0] == 403
        assert client.request("/?token=s3cret")[0] == 200
        assert client.request("/static/app.css")[0] == 200  # the cookie carries it from now on
        assert Client(server.url).request("/static/app.css")[0] == 403


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "null"},
    ],
)
def test_cross_site_posts_are_refused(screening_review, headers):
    with served(screening_review) as server:
        client = Client(server.url)
        token = client.csrf()
        status, _, body = client.request("/login", {"csrf": token, "reviewer": "ana"}, headers)
    assert status == 403
    assert body == (
        "Forbidden: the form's token is missing or wrong, or the request came from another site. Reload the page."
    )


def test_posts_without_the_forms_token_are_refused(screening_review):
    with served(screening_review) as server:
        client = Client(server.url)
        client.login("ana")
        assert client.request("/decide", {"record_id": "pmid:30000001", "choice": "include"})[0] == 403
        assert client.request("/decide", {"csrf": "guess", "record_id": "pmid:30000001", "choice": "include"})[0] == 403
        assert server.workspace.entries() == []


def test_a_foreign_host_header_is_refused(screening_review):
    with served(screening_review) as server:
        status, _, _ = Client(server.url).request("/", headers={"Host": "evil.example"})
    assert status == 403


def test_a_decision_is_acknowledged_after_it_is_committed(screening_review):
    with served(screening_review) as server:
        client = Client(server.url)
        token = client.login("ana")
        status, headers, _ = client.request(
            "/decide",
            {"csrf": token, "record_id": "pmid:30000001", "choice": "exclude:2", "note": "ketamine vs placebo"},
        )
        assert status == 303 and headers["Location"] == "/screen?saved=1"
        [saved] = server.workspace.entries()
        assert (saved.record_id, saved.decision, saved.reason, saved.note) == (
            "pmid:30000001",
            "exclude",
            "wrong intervention",
            "ketamine vs placebo",
        )
        status, _, html = client.request(
            "/decide", {"csrf": token, "record_id": "pmid:30000001", "choice": "exclude:9"}
        )
        assert status == 400 and "unknown exclusion reason number &#39;9&#39;." in html
        status, _, html = client.request("/decide", {"csrf": token, "record_id": "pmid:1", "choice": "include"})
        assert status == 400
        assert "record &#39;pmid:1&#39; is not in the screening queue of this review." in html
        assert len(server.workspace.entries()) == 1


def test_hostile_titles_and_abstracts_are_text_never_markup(screening_review):
    with served(screening_review) as server:
        client = Client(server.url)
        client.login("ana")
        status, _, html = client.request(f"/record/pmid:{HOSTILE_PMID}")
    assert status == 200
    assert "<script>document" not in html and "<img src=x" not in html
    assert "&lt;script&gt;document.body.dataset.pwned=&#34;1&#34;&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&#34;document.body.dataset.pwned=&#39;2&#39;&#34;&gt;" in html
    assert "{{ 7*7 }}" in html  # template syntax in data is not evaluated either


def test_unknown_paths_and_static_files(screening_review):
    with served(screening_review) as server:
        client = Client(server.url)
        assert client.request("/nothing")[0] == 404
        assert client.request("/static/../service.py")[0] == 404
        status, headers, _ = client.request("/static/app.js")
        assert status == 200 and headers["Content-Type"] == "text/javascript; charset=utf-8"
        assert client.request("/screen")[:2][0] == 303  # nobody signed in yet
