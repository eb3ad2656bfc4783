"""report.html in a real browser: headless Chromium renders it, runs its script without a console
message, shows the counts, filters and sorts the evidence table, and takes a screenshot.

Skips when no Chromium is installed (Debian: `apt-get install chromium`; .ci/run installs it).
The screenshot is kept at $REPORT_SCREENSHOT when that is set, for a person to look at.
"""
from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from pipeline.outputs.report import render_report
from tests.support.paths import subprocess_env
from tests.support.report_outputs import outputs_with

CHROMIUM = next((p for p in (os.environ.get("CHROMIUM"), shutil.which("chromium"),
                             shutil.which("chromium-browser"), shutil.which("google-chrome")) if p), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (Debian: apt-get install chromium; or set $CHROMIUM)",
)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
         "--enable-logging=stderr", "--v=0"]


def chromium(tmp_path: Path, url: str, *extra: str) -> tuple[str, str]:
    """Run headless Chromium on `url`; returns (stdout, console lines from stderr)."""
    profile = tmp_path / "profile"
    proc = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, url],
                          capture_output=True, text=True, timeout=90, env=subprocess_env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    # Chromium logs every console message and uncaught error of the page as ":CONSOLE(".
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return proc.stdout, "\n".join(console)


def test_report_renders_without_errors_and_shows_the_counts(ketamine_outputs, tmp_path):
    dom, console = chromium(tmp_path, (ketamine_outputs / "report.html").as_uri(), "--dump-dom")
    assert console == ""
    assert '<body data-ready="1">' in dom  # the script ran to its last line
    for stage, n in [("identified", 10), ("screened", 9), ("included", 4), ("needs_review", 2)]:
        assert f'<div class="card" id="count-{stage}"><b>{n}</b>' in dom
    assert '<span id="shown" aria-live="polite">4 of 4 records</span>' in dom


def test_search_and_sort_from_the_address(ketamine_outputs, tmp_path):
    url = (ketamine_outputs / "report.html").as_uri() + "#q=ketamine%20depression&sort=year&dir=asc"
    dom, console = chromium(tmp_path, url, "--dump-dom")
    assert console == ""
    order = re.findall(r'<tr( hidden="")?><td><a href="https://pubmed.ncbi.nlm.nih.gov/(\d+)/">', dom)
    assert [pmid for _, pmid in order] == ["30000005", "30000001", "30000009", "30000010"]
    assert '<th scope="col" data-key="year" data-numeric="true" aria-sort="ascending">' in dom
    dom, _ = chromium(tmp_path, (ketamine_outputs / "report.html").as_uri() + "#q=spravato", "--dump-dom")
    visible = re.findall(r'<tr><td><a href="https://pubmed.ncbi.nlm.nih.gov/(\d+)/">', dom)
    assert visible == ["30000009"]
    assert '<span id="shown" aria-live="polite">1 of 4 records</span>' in dom


@pytest.fixture(scope="module")
def long_report(tmp_path_factory) -> Path:
    """250 included records, PMIDs 1-250; titles say whether the PMID is even."""
    rows = [{"pmid": str(i), "pubmed_url": f"https://pubmed.ncbi.nlm.nih.gov/{i}/", "year": 2000 + i % 20,
             "title": f"{'even' if i % 2 == 0 else 'odd'} trial {i}"} for i in range(1, 251)]
    path = tmp_path_factory.mktemp("long") / "report.html"
    path.write_text(render_report(outputs_with(rows)), encoding="utf-8")
    return path


def visible_pmids(dom: str) -> list[str]:
    return re.findall(r'<tr><td><a href="https://pubmed.ncbi.nlm.nih.gov/(\d+)/">', dom)


def test_pages_of_100_rows_from_the_address(long_report, tmp_path):
    dom, console = chromium(tmp_path, long_report.as_uri(), "--dump-dom")
    assert console == ""
    assert visible_pmids(dom) == [str(i) for i in range(1, 101)]
    assert '<span id="page" aria-live="polite">rows 1–100, page 1 of 3</span>' in dom
    dom, console = chromium(tmp_path, long_report.as_uri() + "#page=3", "--dump-dom")
    assert console == ""
    assert visible_pmids(dom) == [str(i) for i in range(201, 251)]
    assert '<span id="page" aria-live="polite">rows 201–250, page 3 of 3</span>' in dom
    assert '<button type="button" id="next" disabled="">' in dom


def test_search_and_sort_page_through_the_matching_rows_only(long_report, tmp_path):
    dom, console = chromium(tmp_path, long_report.as_uri() + "#q=even&sort=pmid&dir=desc&page=2", "--dump-dom")
    assert console == ""
    assert visible_pmids(dom) == [str(i) for i in range(50, 0, -2)]
    assert '<span id="shown" aria-live="polite">125 of 250 records</span>' in dom
    assert '<span id="page" aria-live="polite">rows 101–125, page 2 of 2</span>' in dom
    dom, _ = chromium(tmp_path, long_report.as_uri() + "#q=nothing-matches", "--dump-dom")
    assert visible_pmids(dom) == []
    assert '<span id="shown" aria-live="polite">0 of 250 records</span>' in dom


def test_screenshot(ketamine_outputs, tmp_path):
    shot = Path(os.environ.get("REPORT_SCREENSHOT") or tmp_path / "report.png")
    _, console = chromium(tmp_path, (ketamine_outputs / "report.html").as_uri(),
                          f"--screenshot={shot}", "--window-size=1280,2000", "--hide-scrollbars")
    assert console == ""
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (1280, 2000)
    assert shot.stat().st_size > 50_000  # a blank page is ~10 kB; the report's charts and text are far more
