"""report.html: one self-contained page a reviewer opens in a browser.

The PRISMA 2020 flow, included records per year, the top terms per entity class, a sortable and
searchable evidence table and the run details (query, PubMed's translation, dates, versions). It is
built from the files in an output folder only (see outputs.read_outputs), so `python -m pipeline
report` can rebuild it at any time.

The page is the Jinja2 template templates/report.html.j2, rendered with autoescape: this module only
gathers plain data (numbers, strings, lists) and never writes markup itself. The styles and the
script are package files (static/report.css, static/report.js) inlined into the page, so it loads
nothing: its Content-Security-Policy forbids every network load, and allows exactly one script, the
inlined report.js, by its sha256.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import jinja2
import pandas as pd
from markupsafe import Markup

from pipeline.outputs.files import atomic_write
from pipeline.outputs.folder import Outputs, read_outputs
from pipeline.outputs.summary import entity_classes, summarise
from pipeline.screening import prisma

REPORT_NAME = "report.html"
TEMPLATE = "report.html.j2"
TOP_TERMS = 10
PAGE_SIZE = 100  # evidence-table rows per page
# The most evidence rows the page holds: past this a browser struggles (~1 kB of HTML a row), so the
# page lists the first ones and says so; the evidence table's files have every row.
MAX_ROWS = 20_000
# Evidence-table columns shown in the report (key, heading, numeric); entity classes follow.
TABLE_COLUMNS = (
    ("pmid", "PMID", True),
    ("year", "Year", True),
    ("first_author", "First author", False),
    ("title", "Title", False),
    ("journal", "Journal", False),
    ("design", "Design", False),
)
CARDS = ("identified", "duplicates", "screened", "excluded", "needs_review", "included", "mentions")


def write_report(folder: Path) -> Path:
    """Read the output folder, render the report and write it there atomically; returns its path."""
    outputs = read_outputs(folder)
    path = Path(folder) / REPORT_NAME
    atomic_write(path, render_report(outputs).encode("utf-8"))
    return path


def render_report(outputs: Outputs) -> str:
    """The report page as HTML text (pure: the same outputs give the same bytes)."""
    summary = summarise(outputs, top=TOP_TERMS, newest=0)
    labels = summary["labels"]
    static = static_files()
    return _template(TEMPLATE).render(
        # The review's title (prisma.json carries it; the review's name when the config has none).
        title=outputs.prisma.get("review") or summary["review"] or "Review",
        csp=content_security_policy(static["report.js"]),
        css=Markup(static["report.css"]),
        js=Markup(static["report.js"]),
        summary=summary,
        cards=[(key, summary["counts"][key], labels[key]) for key in CARDS],
        prisma=prisma_flow(outputs.prisma),
        years=years_chart(outputs.evidence),
        top_terms=top_terms(summary["top_mentions"]),
        # Rendered on its own: as an {% include %}, each of its ~30 pieces a row would pass through the
        # page's generator too (a tenth of the time for 10,000 records).
        evidence=Markup(_template("evidence.html.j2").render(table=evidence_table(outputs.evidence))),
        run=run_details(outputs.run),
        folder=str(outputs.folder),
    )


# --- the package files ---------------------------------------------------------------------


@cache
def _environment() -> jinja2.Environment:
    # PackageLoader reads the templates through importlib, so they are found in a wheel install too.
    return jinja2.Environment(
        loader=jinja2.PackageLoader("pipeline.outputs", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _template(name: str) -> jinja2.Template:
    return _environment().get_template(name)


@cache
def static_files() -> dict[str, str]:
    """The page's stylesheet and script (static/report.css, static/report.js), as inlined."""
    folder = resources.files("pipeline.outputs") / "static"
    return {
        name: _inline_safe(name, (folder / name).read_text(encoding="utf-8")) for name in ("report.css", "report.js")
    }


def _inline_safe(name: str, text: str) -> str:
    """`text`, checked that it cannot end its inline <style> or <script> element early."""
    tag = "</script" if name.endswith(".js") else "</style"
    if tag in text.lower():
        raise ValueError(
            f"pipeline/outputs/static/{name} contains {tag}>, which would end the inline block "
            f'early; split the text, e.g. "<\\{tag[1:]}>"'
        )
    return text


def content_security_policy(script: str) -> str:
    """Nothing may load from anywhere; the one script allowed is `script`, by its hash.

    Styles stay 'unsafe-inline' (the term bars set their width in a style attribute): with every load
    forbidden, a style has no way to send anything out of the page.
    """
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'; img-src data:"


# --- PRISMA flow ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PrismaFlow:
    svg: Markup | None  # the diagram of prisma.prisma_svg, without its XML declaration
    missing: str = ""  # the field an older prisma.json lacks, when there is no diagram


def prisma_flow(flow: dict) -> PrismaFlow:
    """The PRISMA 2020 diagram of prisma.py, to inline (its XML declaration has no place in HTML).

    A prisma.json from an older version of the pipeline lacks fields the diagram needs: the page
    says so instead of failing, and the counts above it still show.
    """
    try:
        svg = prisma.prisma_svg(flow)
    except (KeyError, TypeError) as exc:
        return PrismaFlow(svg=None, missing=str(exc))
    if svg.startswith("<?xml"):
        svg = svg.split("?>", 1)[1].lstrip()
    # prisma_svg escapes every text it writes (it is also saved as prisma.svg on its own).
    return PrismaFlow(svg=Markup(svg))


def prisma_flow_svg(flow: dict) -> str:
    """The PRISMA section's content as HTML: the diagram, or why there is none."""
    return _template("prisma.html.j2").render(prisma=prisma_flow(flow))


# --- included records per year -------------------------------------------------------------


class Bar(NamedTuple):
    year: int
    n: int
    x: int
    y: str  # top of the bar
    height: str
    centre: str  # x of the labels
    n_y: str  # y of the count above the bar


@dataclass(frozen=True)
class YearsChart:
    bars: list[Bar]
    width: int
    undated: int  # included records without a year, not shown
    axis: tuple[int, int, int, int]
    label_y: int


def years_chart(evidence: pd.DataFrame) -> YearsChart | None:
    """A bar per year from the first to the last year with included records (empty years shown);
    None when no included record has a year."""
    years = [int(y) for y in evidence["year"] if not pd.isna(y)]
    if not years:
        return None
    counts = {y: 0 for y in range(min(years), max(years) + 1)}
    for y in years:
        counts[y] += 1
    top = max(counts.values())
    bar_w, gap, plot_h, left, base = 36, 12, 180, 40, 210
    width = left + len(counts) * (bar_w + gap) + 20
    bars = []
    for i, (year, n) in enumerate(counts.items()):
        x = left + i * (bar_w + gap)
        h = plot_h * n / top
        bars.append(Bar(year, n, x, f"{base - h:.1f}", f"{h:.1f}", f"{x + bar_w / 2}", f"{base - h - 6:.1f}"))
    return YearsChart(
        bars=bars,
        width=width,
        undated=len(evidence) - len(years),
        axis=(left - 6, base, width - 10, base),
        label_y=base + 18,
    )


def years_chart_svg(evidence: pd.DataFrame) -> str:
    """The years section's content as HTML: the chart (inline SVG), or why there is none."""
    return _template("years.html.j2").render(years=years_chart(evidence))


# --- top terms, evidence table, run details ------------------------------------------------


def top_terms(top: dict[str, list[dict]]) -> list[tuple[str, list[dict]]]:
    """Per class, its terms with the bar width (percent of the class's most mentioned term)."""
    blocks = []
    for label, terms in top.items():
        most = terms[0]["mentions"] if terms else 1
        blocks.append((label, [{**t, "width": f"{100 * t['mentions'] / most:.0f}"} for t in terms]))
    return blocks


class Row(NamedTuple):
    """One record of the evidence table: the fixed columns of TABLE_COLUMNS, then the entity classes."""

    hidden: bool  # past the first page: a browser then lays out one page, not thousands
    pubmed_url: str  # "" for a record without a PMID
    pmid: str  # the PMID, else the record_id (e.g. doi:10.1/x) as people name the record
    year: str
    first_author: str
    title: str
    doi: str  # a DOI link follows the title
    journal: str
    design: str
    classes: tuple  # one text per entity class, in the columns' order


@dataclass(frozen=True)
class EvidenceTable:
    columns: list[tuple[str, str, bool]]  # (key, heading, numeric)
    rows: list[Row]
    total: int
    pages: int
    page_size: int
    first_page: str  # the pager's text before the script runs
    omitted: int = 0  # rows of the evidence table past MAX_ROWS, not in the page


def evidence_table(evidence: pd.DataFrame, max_rows: int = MAX_ROWS) -> EvidenceTable:
    """The evidence table's columns and cell texts, in the evidence table's order (its first
    `max_rows` rows; `omitted` counts the rest)."""
    omitted = max(0, len(evidence) - max_rows)
    if omitted:
        evidence = evidence.iloc[:max_rows]
    classes = [c.lower() for c in entity_classes(evidence)]
    columns = list(TABLE_COLUMNS) + [(c, c.replace("_", " ").capitalize(), False) for c in classes]
    total = len(evidence)
    # Column by column: a 10,000-record table is 150,000 cells.
    texts = {
        key: [v if type(v) is str else _text(v) for v in evidence[key].tolist()] if key in evidence else [""] * total
        for key in ("pmid", "pubmed_url", "first_author", "title", "doi", "journal", "design", *classes)
    }
    if "record_id" in evidence:
        texts["pmid"] = [pmid or str(record_id) for pmid, record_id in zip(texts["pmid"], evidence["record_id"])]
    years = ["" if pd.isna(y) else str(int(y)) for y in evidence["year"].tolist()]
    per_class = zip(*(texts[c] for c in classes)) if classes else [()] * total
    rows = [
        Row(i >= PAGE_SIZE, *cells)
        for i, cells in enumerate(
            zip(
                texts["pubmed_url"],
                texts["pmid"],
                years,
                texts["first_author"],
                texts["title"],
                texts["doi"],
                texts["journal"],
                texts["design"],
                per_class,
            )
        )
    ]
    pages = max(1, -(-total // PAGE_SIZE))
    first_page = f"rows 1–{min(total, PAGE_SIZE)}, page 1 of {pages}" if total else ""
    return EvidenceTable(
        columns=columns,
        rows=rows,
        total=total,
        pages=pages,
        page_size=PAGE_SIZE,
        first_page=first_page,
        omitted=omitted,
    )


def _text(value) -> str:
    """A cell's text: lists joined with "; ", missing values empty."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return "; ".join(map(str, value))
    return "" if value is None or pd.isna(value) else str(value)


def run_details(run: dict) -> dict:
    """What the run details section lists, from run.json."""
    config = run.get("config", {})
    return {
        "items": [
            ("Review", run.get("review", "")),
            ("Run", run.get("run_id", "")),
            ("Status", run.get("status", "")),
            ("Started", run.get("started_at", "")),
            ("Finished", run.get("finished_at", "")),
            ("Config", f"{config.get('path', '')} (sha256 {config.get('sha256', '')})"),
        ]
        + ([("E-utilities", run["eutils_base_url"])] if run.get("eutils_base_url") else []),
        # A review of local files was never searched by PubMed: say what the query was matched against.
        "translation_label": (
            "PubMed's translation" if run.get("source", "pubmed") == "pubmed" else "Query as matched in the files"
        ),
        "messages_label": "PubMed's messages" if run.get("source", "pubmed") == "pubmed" else "",
        "query": run.get("query", ""),
        "translation": run.get("query_translation", "") or "(none given)",
        "messages": run.get("pubmed_messages") or [],
        "requests": run.get("requests", {}),
        "quarantined": [f"{q.get('pmid') or '?'}: {q.get('reason', '')}" for q in run.get("quarantined") or []],
        "versions": list(run.get("versions", {}).items()),
    }
