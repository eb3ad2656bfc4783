"""A review with people screening ([screening.human]), run once per session over local PubMed XML:
the ketamine fixture corpus plus a hostile record whose title and abstract carry markup and script.

`screening_review(mode=...)` gives a private copy (config + output folder) for a test that screens.
"""

from __future__ import annotations

import re
import shutil
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.paths import FIXTURES, REPO
from tests.support.xmlbuild import article, document

HOSTILE_PMID = "39999999"
HOSTILE_TITLE = '<script>document.body.dataset.pwned="1"</script> Ketamine efficacy in depression <b>bold</b>'
HOSTILE_ABSTRACT = (
    "<img src=x onerror=\"document.body.dataset.pwned='2'\"> Ketamine showed efficacy for "
    'treatment-resistant depression in rats. "quoted" & {{ 7*7 }}'
)
REASONS = ["wrong population", "wrong intervention", "wrong design"]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def hostile_xml() -> bytes:
    return document(
        article(
            HOSTILE_PMID,
            article=(
                f"<ArticleTitle>{_escape(HOSTILE_TITLE)}</ArticleTitle>"
                f"<Abstract><AbstractText>{_escape(HOSTILE_ABSTRACT)}</AbstractText></Abstract>"
                '<Language>eng</Language><PublicationTypeList><PublicationType UI="D016428">'
                "Journal Article</PublicationType></PublicationTypeList>"
            ),
            pub_date="<Year>2021</Year>",
        )
    )


def config_text(mode: str, reviewers: list[str], human: bool = True) -> str:
    table = ""
    if human:
        table = (
            f'\n[screening.human]\nreviewers = {reviewers!r}\nmode = "{mode}"\n'
            f"exclusion_reasons = {REASONS!r}\n"
            'highlight = { include = ["randomized", "ketamine"], exclude = ["rats"] }\n'
        ).replace("'", '"')
    return f"""[review]
name = "ketamine-screening"
title = "Ketamine for depression (screened by people)"

[search]
source = "pubmed-xml"
paths = ["ketamine_corpus.xml", "hostile.xml"]
all_of = [["ketamine"], ["depression"], ["mechanism of action", "clinical applications", "efficacy"]]

[screening]
min_year = 2016
languages = ["eng"]
exclude_publication_types = ["Retracted Publication", "Retraction of Publication", "Published Erratum", "Comment"]
{table}
[extraction]
lexicons = ["lexicons/ketamine-review.toml"]

[output]
dir = "out"
"""


@dataclass
class ScreeningReview:
    config: Path
    out: Path

    def with_mode(self, mode: str, reviewers: list[str]) -> ScreeningReview:
        self.config.write_text(config_text(mode, reviewers))
        return self


@pytest.fixture(scope="session")
def screened_run(tmp_path_factory) -> Path:
    """The folder of a completed run (config.toml + out/) with [screening.human] single mode."""
    from pipeline.config import load_config
    from pipeline.engine.run import run_pipeline

    folder = tmp_path_factory.mktemp("screening-review")
    shutil.copy(FIXTURES / "ketamine_corpus.xml", folder / "ketamine_corpus.xml")
    (folder / "hostile.xml").write_bytes(hostile_xml())
    shutil.copytree(REPO / "config" / "lexicons", folder / "lexicons")
    (folder / "config.toml").write_text(config_text("single", ["ana", "ben"]))
    run_pipeline(load_config(folder / "config.toml"))
    return folder


@pytest.fixture
def screening_review(screened_run, tmp_path) -> ScreeningReview:
    """A private copy of the screened run (single mode, reviewers ana and ben)."""
    folder = tmp_path / "review"
    shutil.copytree(screened_run, folder)
    return ScreeningReview(folder / "config.toml", folder / "out")


@contextmanager
def served(review: ScreeningReview, token: str | None = None, host: str = "127.0.0.1", with_publish: bool = True):
    """The workspace of `review` served on a free port in a thread; yields the server (its .url)."""
    from pipeline.config import load_config
    from pipeline.engine.publish import publish_in_child
    from pipeline.workspace.server import WorkspaceServer
    from pipeline.workspace.service import Workspace

    config = load_config(review.config)
    workspace = Workspace(config)
    publish = publish_in_child(config) if with_publish else None
    server = WorkspaceServer(workspace, host, 0, token, publish=publish)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        workspace.close()


def wait_for(condition, timeout: float = 90.0, what: str = "the condition"):
    """Poll `condition()` until it returns something truthy (returned); fail after `timeout` s."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


class Client:
    """A tiny HTTP client with a cookie jar that does not follow redirects (to see them)."""

    def __init__(self, base: str):
        import http.cookiejar
        import urllib.request

        self.base = base.split("?")[0].rstrip("/")
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def request(self, path: str, data: dict | None = None, headers: dict | None = None):
        """(status, headers, body text); never raises for HTTP error statuses."""
        import urllib.error
        import urllib.parse
        import urllib.request

        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body, headers=headers or {})
        try:
            with self.opener.open(req, timeout=20) as resp:
                return resp.status, resp.headers, resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.headers, err.read().decode()

    def csrf(self) -> str:
        _, _, html = self.request("/")
        return re.search(r'name="csrf" value="([^"]+)"', html).group(1)

    def login(self, name: str) -> str:
        token = self.csrf()
        status, _, _ = self.request("/login", {"csrf": token, "reviewer": name})
        assert status == 303, status
        return token
