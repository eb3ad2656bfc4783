"""report.html in a real browser: headless Chromium renders it, runs its script without a console
message, shows the counts, filters and sorts the evidence table, and takes a screenshot.

Skips when no Chromium is installed (Debian: `apt-get install chromium`; .ci/run installs it).
The screenshot is kept at $REPORT_SCREENSHOT when that is set, for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from pipeline.outputs.report import render_report
from tests.support.html_dom import Document, parse_html
from tests.support.paths import subprocess_env
from tests.support.report_outputs import outputs_with

CHROMIUM = next(
    (
        p
        for p in (
            os.environ.get("CHROMIUM"),
            shutil.which("chromium"),
            shutil.which("chromium-browser"),
            shutil.which("google-chrome"),
        )
        if p
    ),
    None,
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium is not installed (Debian: apt-get install chromium; or set $CHROMIUM)",
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--enable-logging=stderr",
    "--v=0",
]


def chromium(tmp_path: Path, url: str, *extra: str) -> tuple[str, str]:
    """Run headless Chromium on `url`; returns (stdout, console lines from stderr)."""
    profile = tmp_path / "profile"
    proc = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, url],
        capture_output=True,
        text=True,
        timeout=90,
        env=subprocess_env(),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    # Chromium logs every console message and uncaught error of the page as ":CONSOLE(".
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return proc.stdout, "\n".join(console)


def dom_of(tmp_path: Path, url: str) -> Document:
    """The page's DOM after its script ran, parsed; fails on any console message."""
    dom, console = chromium(tmp_path, url, "--dump-dom")
    assert console == ""
    page = parse_html(dom)
    assert page.find("body").get("data-ready") == "1"  # the script ran to its last line
    return page


def visible_pmids(page: Document) -> list[str]:
    rows = page.by_id("evidence-table").find("tbody").find_all("tr")
    return [row.find_all("td")[0].text for row in rows if not row.has("hidden")]


def test_report_renders_without_errors_and_shows_the_counts(ketamine_outputs, tmp_path):
    page = dom_of(tmp_path, (ketamine_outputs / "report.html").as_uri())
    counts = {card.get("id"): card.find("b").text for card in page.find_all("div", class_="card")}
    assert {k: counts[k] for k in ("count-identified", "count-screened", "count-included", "count-needs_review")} == {
        "count-identified": "10",
        "count-screened": "9",
        "count-included": "4",
        "count-needs_review": "2",
    }
    assert page.by_id("shown").text == "4 of 4 records"
    assert page.by_id("page").text == "rows 1–4, page 1 of 1"


def test_search_and_sort_from_the_address(ketamine_outputs, tmp_path):
    page = dom_of(tmp_path, (ketamine_outputs / "report.html").as_uri() + "#q=ketamine%20depression&sort=year&dir=asc")
    rows = page.by_id("evidence-table").find("tbody").find_all("tr")
    assert [row.find_all("td")[0].text for row in rows] == ["30000005", "30000001", "30000009", "30000010"]
    assert [th.get("aria-sort") for th in page.by_id("evidence-table").find_all("th")][:3] == [
        "none",
        "ascending",
        "none",
    ]
    page = dom_of(tmp_path, (ketamine_outputs / "report.html").as_uri() + "#q=spravato")
    assert visible_pmids(page) == ["30000009"]
    assert page.by_id("shown").text == "1 of 4 records"


def test_the_page_runs_no_script_but_its_own(ketamine_outputs, tmp_path):
    """The Content-Security-Policy allows report.js by its hash: a script slipped into the page
    (were an escape ever missed) is refused, and the page's own still runs."""
    html = (ketamine_outputs / "report.html").read_text(encoding="utf-8")
    injected = tmp_path / "report.html"
    injected.write_text(
        html.replace(
            "</footer>",
            '</footer><script>document.body.setAttribute("data-injected", '
            '"1")</script><img src="x" onerror="document.title=1">',
        ),
        encoding="utf-8",
    )
    dom, console = chromium(tmp_path, injected.as_uri(), "--dump-dom")
    page = parse_html(dom)
    assert page.find("body").get("data-ready") == "1" and not page.find("body").has("data-injected")
    assert (
        page.find("head").find("title").text
        == "Ketamine for depression: mechanism of action, clinical applications and efficacy: screening report"
    )
    assert "violates the following Content Security Policy directive" in console


def test_records_without_a_pmid_sort_after_the_pmids_either_way(tmp_path):
    rows = [
        {"pmid": "", "pubmed_url": "", "record_id": "doi:10.1/b"},
        {"pmid": "12", "pubmed_url": "https://pubmed.ncbi.nlm.nih.gov/12/"},
        {"pmid": "", "pubmed_url": "", "record_id": "openalex:W2"},
        {"pmid": "3", "pubmed_url": "https://pubmed.ncbi.nlm.nih.gov/3/"},
    ]
    page_file = tmp_path / "report.html"
    page_file.write_text(render_report(outputs_with(rows)), encoding="utf-8")
    page = dom_of(tmp_path, page_file.as_uri() + "#sort=pmid&dir=asc")
    assert visible_pmids(page) == ["3", "12", "doi:10.1/b", "openalex:W2"]
    page = dom_of(tmp_path, page_file.as_uri() + "#sort=pmid&dir=desc")
    assert visible_pmids(page) == ["12", "3", "doi:10.1/b", "openalex:W2"]


@pytest.fixture(scope="module")
def long_report(tmp_path_factory) -> Path:
    """250 included records, PMIDs 1-250; titles say whether the PMID is even."""
    rows = [
        {
            "pmid": str(i),
            "pubmed_url": f"https://pubmed.ncbi.nlm.nih.gov/{i}/",
            "year": 2000 + i % 20,
            "title": f"{'even' if i % 2 == 0 else 'odd'} trial {i}",
        }
        for i in range(1, 251)
    ]
    path = tmp_path_factory.mktemp("long") / "report.html"
    path.write_text(render_report(outputs_with(rows)), encoding="utf-8")
    return path


def test_pages_of_100_rows_from_the_address(long_report, tmp_path):
    page = dom_of(tmp_path, long_report.as_uri())
    assert visible_pmids(page) == [str(i) for i in range(1, 101)]
    assert page.by_id("page").text == "rows 1–100, page 1 of 3"
    page = dom_of(tmp_path, long_report.as_uri() + "#page=3")
    assert visible_pmids(page) == [str(i) for i in range(201, 251)]
    assert page.by_id("page").text == "rows 201–250, page 3 of 3"
    assert (page.by_id("prev").has("disabled"), page.by_id("next").has("disabled")) == (False, True)


def test_search_and_sort_page_through_the_matching_rows_only(long_report, tmp_path):
    page = dom_of(tmp_path, long_report.as_uri() + "#q=even&sort=pmid&dir=desc&page=2")
    assert visible_pmids(page) == [str(i) for i in range(50, 0, -2)]
    assert page.by_id("shown").text == "125 of 250 records"
    assert page.by_id("page").text == "rows 101–125, page 2 of 2"
    page = dom_of(tmp_path, long_report.as_uri() + "#q=nothing-matches")
    assert visible_pmids(page) == []
    assert page.by_id("shown").text == "0 of 250 records"


def test_screenshot(ketamine_outputs, tmp_path):
    shot = Path(os.environ.get("REPORT_SCREENSHOT") or tmp_path / "report.png")
    _, console = chromium(
        tmp_path,
        (ketamine_outputs / "report.html").as_uri(),
        f"--screenshot={shot}",
        "--window-size=1280,2000",
        "--hide-scrollbars",
    )
    assert console == ""
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (1280, 2000)
    assert shot.stat().st_size > 50_000  # a blank page is ~10 kB; the report's charts and text are far more


def test_the_view_is_written_back_to_the_address(ketamine_outputs, tmp_path):
    """Searching, sorting and paging write the view to the address (history.replaceState), so the
    address a reviewer copies is the view they see; data-view shows the same text."""
    url = (ketamine_outputs / "report.html").as_uri()
    page = dom_of(tmp_path, url + "#dir=desc&sort=year&q=KETAMINE")
    assert page.by_id("evidence-table").get("data-view") == "q=KETAMINE&sort=year&dir=desc"
    plain = dom_of(tmp_path, url)
    assert plain.by_id("evidence-table").get("data-view") == ""
