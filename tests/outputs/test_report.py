"""report.html: self-contained, escaped, built from the output folder alone.

Every test reads the page as a browser would, through a parsed DOM (tests/support/html_dom.py):
elements, attributes and decoded text, never markup substrings.
"""

from __future__ import annotations

import base64
import hashlib
from importlib import resources

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.models import Decision, ScreeningResult
from pipeline.outputs import report
from pipeline.outputs.folder import read_outputs
from pipeline.outputs.report import prisma_flow_svg, render_report, years_chart_svg
from pipeline.screening.prisma import prisma_json, prisma_svg
from tests.support.html_dom import MalformedHTML, parse_html
from tests.support.report_outputs import PRISMA, outputs_with

STATIC = resources.files("pipeline.outputs") / "static"
# Elements that load something from elsewhere, or run or show another document.
LOADING = {
    "link",
    "img",
    "iframe",
    "frame",
    "object",
    "embed",
    "base",
    "audio",
    "video",
    "source",
    "track",
    "form",
    "image",
    "use",
    "foreignobject",
    "picture",
    "portal",
}


@pytest.fixture(scope="module")
def page(ketamine_outputs):
    """The ketamine run's report.html, parsed."""
    return parse_html((ketamine_outputs / "report.html").read_text(encoding="utf-8"))


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


# --- self-contained, with its Content-Security-Policy -------------------------------------------


def test_report_is_written_by_the_run_and_self_contained(page):
    assert page.doctype == "DOCTYPE html"
    assert [el.tag for el in page.find("html").elements] == ["head", "body"]
    assert not [el.tag for el in page.iter() if el.tag in LOADING]
    assert not [
        (el.tag, name)
        for el in page.iter()
        for name in el.attrs
        if name in ("src", "srcset", "action", "formaction", "poster", "data", "xlink:href") or name.startswith("on")
    ]
    # The only addresses are links a reader may follow: PubMed records and DOIs.
    hrefs = [a.get("href") for a in page.find_all(href=True)]
    assert hrefs and all(a.tag == "a" for a in page.find_all(href=True))
    assert all(h.startswith(("https://pubmed.ncbi.nlm.nih.gov/", "https://doi.org/")) for h in hrefs)
    # url() only points inside the page (the PRISMA diagram's arrow heads).
    ids = {el.get("id") for el in page.iter() if el.has("id")}
    urls = [value for el in page.iter() for value in el.attrs.values() if value and "url(" in value]
    assert urls and set(urls) == {"url(#arrow)"} and "arrow" in ids


def test_the_page_inlines_the_package_css_and_js_and_allows_only_that_script(page):
    css = (STATIC / "report.css").read_text(encoding="utf-8")
    js = (STATIC / "report.js").read_text(encoding="utf-8")
    [style] = page.find_all("style")
    [script] = page.find_all("script")
    assert style.text == css and script.text == js and not script.attrs
    assert "@import" not in css and "url(" not in css
    csp = page.find("meta", http_equiv="Content-Security-Policy").get("content")
    assert csp == (f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{_sha256(js)}'; img-src data:")
    assert page.find("head").elements[:2] == [
        page.find("meta", charset="utf-8"),
        page.find("meta", http_equiv="Content-Security-Policy"),
    ]


def test_inline_css_and_js_must_not_close_their_element():
    with pytest.raises(ValueError) as error:
        report._inline_safe("report.js", 'var end = "</SCRIPT>";')
    assert str(error.value) == (
        "pipeline/outputs/static/report.js contains </script>, which would end "
        'the inline block early; split the text, e.g. "<\\/script>"'
    )
    assert report._inline_safe("report.css", "a::after{content:'<'}") == "a::after{content:'<'}"


# --- what the page shows --------------------------------------------------------------------


def test_report_has_its_sections_in_order(page):
    sections = page.find("body").find_all("section")
    assert [(s.get("id"), s.find_all("h2")[0].text if s.find_all("h2") else None) for s in sections] == [
        (None, None),
        ("prisma", "PRISMA 2020 flow"),
        ("years", "Included records per year"),
        ("mentions", "Top terms per entity class"),
        ("evidence", "Evidence table"),
        ("run", "Run details"),
    ]
    # The header shows the review's title (from prisma.json), the browser tab adds what the page is.
    assert page.find("h1").text == "Ketamine for depression: mechanism of action, clinical applications and efficacy"
    assert (
        page.find("head").find("title").text
        == "Ketamine for depression: mechanism of action, clinical applications and efficacy: screening report"
    )
    assert page.find("footer").find("code").text.startswith("python -m pipeline report --out ")


def test_report_shows_counts_flow_years_terms_table_and_run(page):
    cards = {
        card.get("id"): (card.find("b").text, card.find("span").text) for card in page.find_all("div", class_="card")
    }
    assert cards == {
        "count-identified": ("10", "Records identified in PubMed"),
        "count-duplicates": ("1", "Duplicates removed"),
        "count-screened": ("9", "Checked against the criteria"),
        "count-excluded": ("3", "Excluded by the criteria"),
        "count-needs_review": ("2", "Needing human review"),
        "count-included": ("4", "Included"),
        "count-mentions": (cards["count-mentions"][0], "Entity mentions in included records"),
    }
    assert int(cards["count-mentions"][0]) > 0
    assert page.find("title", id="prisma-title").text.startswith("PRISMA 2020 flow diagram")
    assert page.by_id("years").find("svg").get("aria-label") == "Included records per year"
    drug = next(t for t in page.find_all("div", class_="terms") if t.find("h3").text == "DRUG")
    assert "ketamine" in [span.text for span in drug.find_all("span", class_="term")]
    assert page.by_id("query").text == (
        'ketamine AND depression AND ("mechanism of action" OR "clinical applications" OR efficacy)'
    )
    assert page.by_id("translation").text.startswith("ketamine AND depression")
    versions = {tr.elements[0].text: tr.elements[1].text for tr in page.find("table", class_="versions").find_all("tr")}
    assert versions["spacy"] == "3.7.5"


def test_the_evidence_table_lists_the_included_records(page):
    table = page.by_id("evidence-table")
    heads = [(th.get("data-key"), th.get("data-numeric"), th.text) for th in table.find("thead").find_all("th")]
    assert heads[:6] == [
        ("pmid", "true", "PMID"),
        ("year", "true", "Year"),
        ("first_author", "false", "First author"),
        ("title", "false", "Title"),
        ("journal", "false", "Journal"),
        ("design", "false", "Design"),
    ]
    assert heads[6:] == [
        (c.lower(), "false", c.replace("_", " ").capitalize())
        for c in (
            "DRUG",
            "DISEASE",
            "GENE",
            "TREATMENT",
            "MECHANISM",
            "BRAIN_REGION",
            "ROUTE",
            "ADVERSE_EFFECT",
            "OUTCOME_SCALE",
            "STUDY_DESIGN",
        )
    ]
    rows = table.find("tbody").find_all("tr")
    assert [r.find_all("td")[0].text for r in rows] == ["30000010", "30000009", "30000001", "30000005"]
    assert all(len(r.find_all("td")) == len(heads) and not r.has("hidden") for r in rows)
    first = rows[0].find_all("td")
    assert first[0].find("a").get("href") == "https://pubmed.ncbi.nlm.nih.gov/30000010/"
    assert first[1].text == "2021" and first[2].text == "García L"
    assert "ketamine [MESH:D007649] (3)" in first[6].text.split("; ")  # grouped by its MeSH identifier
    assert table.get("data-total") == "4" and page.by_id("shown").text == "4 of 4 records"
    assert page.find("noscript").text == (
        "Scripts are off: only the first 100 rows show. evidence.csv in this folder has every row."
    )


def test_report_shows_the_flow_of_the_run(page, ketamine_outputs):
    assert "<?xml" not in (ketamine_outputs / "report.html").read_text(encoding="utf-8")
    texts = [t.text for t in page.by_id("prisma").find_all("text")]
    shown = " ".join(t.strip() for t in texts)
    for box in (
        "Records marked as ineligible by automation tools (n = 3)",
        "Records screened (n = 6)",
        "Records excluded (n = 0)",
        "Records awaiting a person's decision (n = 2)",
        "Records included (n = 4)",
    ):
        assert box in shown


def test_report_command_rebuilds_the_same_page(invoke, outputs_copy, ketamine_outputs):
    (outputs_copy / "report.html").unlink()
    result = invoke("report", "--out", outputs_copy)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"Report written to {outputs_copy / 'report.html'}\n"
    rebuilt = (outputs_copy / "report.html").read_text(encoding="utf-8")
    original = (ketamine_outputs / "report.html").read_text(encoding="utf-8")
    # Only the folder named in the footer's rebuild command differs.
    assert rebuilt.replace(str(outputs_copy), "DIR") == original.replace(str(ketamine_outputs), "DIR")


def test_report_reads_back_what_read_outputs_gives(ketamine_outputs):
    assert render_report(read_outputs(ketamine_outputs)) == (ketamine_outputs / "report.html").read_text(
        encoding="utf-8"
    )


def test_report_on_a_missing_folder(invoke, tmp_path):
    result = invoke("report", "--out", tmp_path / "none")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {tmp_path / 'none'}: no such output folder.")


# --- escaping -----------------------------------------------------------------------------


def test_report_escapes_everything_it_shows():
    outputs = outputs_with(
        [
            {
                "title": "<script>alert(1)</script>",
                "drug": ["a&b (1)"],
                "doi": '10.1/"x"',
                "journal": "<i>J</i>",
                "first_author": "O'Brien <b>",
            }
        ],
        run={
            "status": "completed",
            "review": "<r>",
            "query": "a<b",
            "versions": {"x": "<1>"},
            "pubmed_messages": ["<em>Phrase</em> not found", "&amp;"],
            "quarantined": [{"pmid": "9", "reason": "bad <Year>"}],
        },
    )
    page = parse_html(render_report(outputs))
    assert len(page.find_all("script")) == 1 and not page.find_all("i") and not page.find_all("em")
    assert page.find("head").find("title").text == "<r>: screening report" and page.find("h1").text == "<r>"
    cells = page.by_id("evidence-table").find("tbody").find("tr").find_all("td")
    assert cells[2].text == "O'Brien <b>" and not cells[2].elements
    assert cells[3].text == '<script>alert(1)</script> doi:10.1/"x"'
    assert cells[3].find("a", class_="doi").get("href") == 'https://doi.org/10.1/"x"'
    assert cells[4].text == "<i>J</i>" and cells[6].text == "a&b (1)"
    assert [span.text for span in page.find_all("span", class_="term")] == ["<b>ketamine</b>"]
    assert page.by_id("query").text == "a<b"
    details = {dt.text: dd for dt, dd in zip(page.find_all("dt"), page.find_all("dd"))}
    assert [c for c in details["PubMed's messages"].children if isinstance(c, str)] == [
        "<em>Phrase</em> not found",
        "&amp;",
    ]
    assert details["Quarantined"].text == "9: bad <Year>"
    assert [td.text for td in page.find("table", class_="versions").find_all("td")] == ["x", "<1>"]


# Any printable text, with pieces of markup drawn often.
PRINTABLE = st.lists(
    st.one_of(
        st.sampled_from(["<", ">", "&", "&amp;", "&lt;", '"', "'", "<b>", "</td>", "<script>", "-->", "<!--", "]]>"]),
        st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=4),
    ),
    max_size=8,
).map("".join)


@settings(max_examples=60, deadline=None)
@given(title=PRINTABLE, author=PRINTABLE, query=PRINTABLE, term=PRINTABLE)
def test_any_text_reads_back_as_the_same_text(title, author, query, term):
    """Whatever a record or run.json holds, the page shows exactly that text and no markup of it."""
    outputs = outputs_with(
        [{"title": title, "first_author": author, "drug": [term]}],
        run={"status": "completed", "review": "r", "query": query},
    )
    page = parse_html(render_report(outputs))
    cells = page.by_id("evidence-table").find("tbody").find("tr").find_all("td")
    assert (cells[3].text, cells[2].text, cells[6].text) == (title, author, term)
    assert not cells[3].elements and not cells[2].elements and not cells[6].elements
    assert page.by_id("query").text == query and not page.by_id("query").elements
    assert len(page.find_all("script")) == 1


def test_a_page_whose_tags_do_not_nest_is_refused():
    with pytest.raises(MalformedHTML) as error:
        parse_html("<html><body><div><span></div></body></html>")
    assert str(error.value) == "line 1: </div> closes <span> (opened on line 1)"


# --- the states a page can be in -------------------------------------------------------------


def test_report_of_a_failed_later_run_says_so():
    page = parse_html(
        render_report(outputs_with([{}], run={"status": "failed", "error": "E-utilities did not answer"}))
    )
    alert = page.find("header").find("p", role="alert")
    assert alert.classes == ["warning"]
    assert alert.text == (
        "The last run did not complete (E-utilities did not answer); the tables are from the last run that did."
    )


def test_report_with_no_included_records():
    page = parse_html(render_report(outputs_with([])))
    table = page.by_id("evidence-table")
    assert (table.get("data-total"), table.get("data-page-size")) == ("0", "100")
    assert table.find("tbody").elements == []
    assert page.by_id("page").text == "" and page.by_id("shown").text == "0 of 0 records"
    assert page.by_id("years").find("p", class_="empty").text == "No included record has a publication year."
    assert page.by_id("years").find_all("svg") == []


def test_rows_past_the_first_page_start_hidden_and_the_pager_counts_pages():
    page = parse_html(
        render_report(
            outputs_with(
                [{"pmid": str(i), "pubmed_url": f"https://pubmed.ncbi.nlm.nih.gov/{i}/"} for i in range(1, 251)]
            )
        )
    )
    rows = page.by_id("evidence-table").find("tbody").find_all("tr")
    assert [r.find_all("td")[0].text for r in rows] == [str(i) for i in range(1, 251)]
    assert [r.find_all("td")[0].text for r in rows if not r.has("hidden")] == [str(i) for i in range(1, 101)]
    assert page.by_id("page").text == "rows 1–100, page 1 of 3"
    assert (page.by_id("prev").has("disabled"), page.by_id("next").has("disabled")) == (True, False)
    one_page = parse_html(render_report(outputs_with([{}])))
    assert (one_page.by_id("prev").has("disabled"), one_page.by_id("next").has("disabled")) == (True, True)
    assert one_page.by_id("page").text == "rows 1–1, page 1 of 1"


def test_a_record_without_a_pmid_is_named_by_its_record_id_with_no_pubmed_link():
    page = parse_html(
        render_report(
            outputs_with(
                [
                    {"pmid": "", "pubmed_url": "", "record_id": "doi:10.1/x", "doi": "10.1/x"},
                    {"pmid": "", "pubmed_url": "", "record_id": "openalex:W27418"},
                    {"pmid": "7", "pubmed_url": "https://pubmed.ncbi.nlm.nih.gov/7/"},
                ]
            )
        )
    )
    cells = [row.find_all("td")[0] for row in page.by_id("evidence-table").find("tbody").find_all("tr")]
    assert [(td.text, [a.get("href") for a in td.find_all("a")]) for td in cells] == [
        ("doi:10.1/x", []),
        ("openalex:W27418", []),
        ("7", ["https://pubmed.ncbi.nlm.nih.gov/7/"]),
    ]
    assert not page.find_all("a", href="")


def test_years_chart_fills_empty_years_and_notes_undated():
    evidence = pd.DataFrame({"year": pd.array([2017, 2021, 2021, None], dtype="Int64")})
    chart = parse_html(years_chart_svg(evidence))
    svg = chart.find("svg")
    assert [t.text for t in svg.find_all("text")] == ["1", "2017", "0", "2018", "0", "2019", "0", "2020", "2", "2021"]
    assert [t.text for t in svg.find_all("title")] == [
        "2017: 1 record",
        "2018: 0 records",
        "2019: 0 records",
        "2020: 0 records",
        "2021: 2 records",
    ]
    heights = [float(r.get("height")) for r in svg.find_all("rect", class_="bar")]
    assert heights == [90.0, 0.0, 0.0, 0.0, 180.0]
    assert chart.find("p", class_="meta").text == "1 included record(s) without a year are not shown."


def test_prisma_flow_is_prisma_svg_inline():
    flow = prisma_json(
        {"PubMed": 3},
        [
            ScreeningResult("1", Decision.INCLUDE, "meets-criteria"),
            ScreeningResult("2", Decision.EXCLUDE, "published-before-range"),
            ScreeningResult("3", Decision.NEEDS_REVIEW, "date-missing"),
        ],
    )
    inline = prisma_flow_svg(flow)
    assert "<?xml" not in inline
    [div] = parse_html(inline).root.elements
    standalone = parse_html(prisma_svg(flow).split("?>", 1)[1])
    assert div.classes == ["prisma"] and [el.tag for el in div.elements] == ["svg"]
    assert [(el.tag, el.attrs, el.text) for el in div.find("svg").iter()] == [
        (el.tag, el.attrs, el.text) for el in standalone.find("svg").iter()
    ]


def test_prisma_flow_of_an_older_prisma_json_says_what_is_missing():
    [warning] = parse_html(prisma_flow_svg(PRISMA)).root.elements
    assert warning.tag == "p" and warning.classes == ["warning"]
    assert warning.text == (
        "This prisma.json lacks the field 'records_removed_before_screening' the diagram needs; "
        "run the review again to draw it."
    )
