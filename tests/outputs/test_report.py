"""report.html: self-contained, escaped, built from the output folder alone."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from pipeline.outputs.folder import Outputs, read_outputs
from tests.support.report_outputs import PRISMA, outputs_with
from pipeline.outputs.report import prisma_flow_svg, render_report, years_chart_svg



def _svg_texts(svg: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


def test_report_is_written_by_the_run_and_self_contained(ketamine_outputs):
    html = (ketamine_outputs / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src '
            "'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">") in html
    assert not re.search(r"<(link|img|iframe|object|embed)\b", html)
    assert not re.search(r"\bsrc\s*=", html)
    assert "@import" not in html
    assert re.findall(r"url\(([^)]*)\)", html) == ["#arrow"] * html.count('marker-end="url(#arrow)"')
    # The only addresses are links a reader may follow: PubMed records and DOIs.
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs and all(h.startswith(("https://pubmed.ncbi.nlm.nih.gov/", "https://doi.org/")) for h in hrefs)


def test_report_shows_counts_flow_years_terms_table_and_run(ketamine_outputs):
    html = (ketamine_outputs / "report.html").read_text(encoding="utf-8")
    for stage, n in [("identified", 10), ("duplicates", 1), ("screened", 9), ("excluded", 3),
                     ("needs_review", 2), ("included", 4)]:
        assert f'<div class="card" id="count-{stage}"><b>{n}</b>' in html
    assert '<title id="prisma-title">PRISMA 2020 flow diagram' in html
    assert 'aria-label="Included records per year"' in html
    assert "<h3>DRUG</h3>" in html and '<span class="term">ketamine</span>' in html
    rows = re.findall(r'<tr><td><a href="https://pubmed.ncbi.nlm.nih.gov/(\d+)/">', html)
    assert rows == ["30000010", "30000009", "30000001", "30000005"]
    assert ('<code id="query">ketamine AND depression AND (&quot;mechanism of action&quot; OR '
            "&quot;clinical applications&quot; OR efficacy)</code>") in html
    assert '<code id="translation">ketamine AND depression' in html
    assert "<tr><td>spacy</td><td>3.7.5</td></tr>" in html


def test_report_command_rebuilds_the_same_page(invoke, outputs_copy, ketamine_outputs):
    (outputs_copy / "report.html").unlink()
    result = invoke("report", "--out", outputs_copy)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"Report written to {outputs_copy / 'report.html'}\n"
    rebuilt = (outputs_copy / "report.html").read_text(encoding="utf-8")
    original = (ketamine_outputs / "report.html").read_text(encoding="utf-8")
    # Only the folder named in the footer's rebuild command differs.
    assert rebuilt.replace(str(outputs_copy), "DIR") == original.replace(str(ketamine_outputs), "DIR")


def test_report_on_a_missing_folder(invoke, tmp_path):
    result = invoke("report", "--out", tmp_path / "none")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {tmp_path / 'none'}: no such output folder.")


def test_report_escapes_everything_it_shows():
    outputs = outputs_with([{"title": "<script>alert(1)</script>", "drug": ["a&b (1)"],
                         "doi": '10.1/"x"', "journal": "<i>J</i>"}],
                       run={"status": "completed", "review": "<r>", "query": "a<b", "versions": {"x": "<1>"}})
    html = render_report(outputs)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a&amp;b (1)" in html and "&lt;b&gt;ketamine&lt;/b&gt;" in html
    assert 'href="https://doi.org/10.1/&quot;x&quot;"' in html
    assert "&lt;i&gt;J&lt;/i&gt;" in html and "<title>&lt;r&gt;: screening report</title>" in html
    assert html.count("<script>") == 1


def test_report_of_a_failed_later_run_says_so():
    html = render_report(outputs_with([{}], run={"status": "failed", "error": "E-utilities did not answer"}))
    assert ('<p class="warning" role="alert">The last run did not complete (E-utilities did not answer); '
            "the tables are from the last run that did.</p>") in html


def test_report_with_no_included_records():
    html = render_report(outputs_with([]))
    assert '<table id="evidence-table" data-total="0" data-page-size="100">' in html
    assert '<span id="page" aria-live="polite"></span>' in html
    assert "No included record has a publication year." in html


def test_years_chart_fills_empty_years_and_notes_undated():
    evidence = pd.DataFrame({"year": pd.array([2017, 2021, 2021, None], dtype="Int64")})
    svg = years_chart_svg(evidence)
    assert _svg_texts(svg) == ["1", "2017", "0", "2018", "0", "2019", "0", "2020", "2", "2021"]
    assert "1 included record(s) without a year are not shown." in svg
    assert "<title>2021: 2 records</title>" in svg and "<title>2017: 1 record</title>" in svg


def test_prisma_flow_is_prisma_svg_inline():
    from pipeline.screening.prisma import prisma_json, prisma_svg
    from pipeline.models import Decision, ScreeningResult

    flow = prisma_json({"PubMed": 3}, [ScreeningResult("1", Decision.INCLUDE, "meets-criteria"),
                                       ScreeningResult("2", Decision.EXCLUDE, "published-before-range"),
                                       ScreeningResult("3", Decision.NEEDS_REVIEW, "date-missing")])
    inline = prisma_flow_svg(flow)
    assert not inline.count("<?xml")
    assert inline == '<div class="prisma">' + prisma_svg(flow).split("?>", 1)[1].lstrip() + "</div>"


def test_prisma_flow_of_an_older_prisma_json_says_what_is_missing():
    assert prisma_flow_svg(PRISMA) == ('<p class="warning">This prisma.json lacks the field '
                                       "&#x27;duplicates_by_reason&#x27; the diagram needs; run the review again "
                                       "to draw it.</p>")


def test_report_shows_the_flow_of_the_run(ketamine_outputs):
    html = (ketamine_outputs / "report.html").read_text(encoding="utf-8")
    section = html[html.index('<section id="prisma">'):html.index('<section id="years">')]
    assert "<?xml" not in section
    assert "Records screened (n = 9)" in section
    assert "Records excluded by automation tools (n = 3)" in section
    assert "Records needing human review (n = 2)" in section


def test_report_reads_back_what_read_outputs_gives(ketamine_outputs):
    outputs = read_outputs(ketamine_outputs)
    assert render_report(outputs) == (ketamine_outputs / "report.html").read_text(encoding="utf-8")


def test_rows_past_the_first_page_start_hidden_and_the_pager_counts_pages():
    html = render_report(outputs_with([{"pmid": str(i), "pubmed_url": f"https://pubmed.ncbi.nlm.nih.gov/{i}/"}
                                   for i in range(1, 251)]))
    rows = re.findall(r'<tr( hidden)?><td><a href="https://pubmed.ncbi.nlm.nih.gov/(\d+)/">', html)
    assert [pmid for hidden, pmid in rows if not hidden] == [str(i) for i in range(1, 101)]
    assert len(rows) == 250
    assert '<span id="page" aria-live="polite">rows 1–100, page 1 of 3</span>' in html
    assert '<button type="button" id="next">Next ›</button>' in html
    assert '<button type="button" id="prev" disabled>‹ Previous</button>' in html
    one_page = render_report(outputs_with([{}]))
    assert '<button type="button" id="next" disabled>Next ›</button>' in one_page
