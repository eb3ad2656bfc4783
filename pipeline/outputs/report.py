"""report.html: one self-contained page a reviewer opens in a browser.

The PRISMA 2020 flow, included records per year, the top terms per entity class, a sortable and
searchable evidence table and the run details (query, PubMed's translation, dates, versions). It is
built from the files in an output folder only (see outputs.read_outputs), so `python -m pipeline
report` can rebuild it at any time. No network assets: CSS and JS are inline, charts are inline
SVG, and a Content-Security-Policy forbids the page from loading anything.
"""
from __future__ import annotations

from html import escape
from pathlib import Path

import pandas as pd

from pipeline.screening import prisma
from pipeline.outputs.folder import Outputs, read_outputs
from pipeline.outputs.files import atomic_write
from pipeline.outputs.summary import STAGES, entity_classes, summarise

REPORT_NAME = "report.html"
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
TOP_TERMS = 10
PAGE_SIZE = 100   # evidence-table rows per page
# Evidence-table columns shown in the report (key, heading, numeric); entity classes follow.
TABLE_COLUMNS = (("pmid", "PMID", True), ("year", "Year", True), ("first_author", "First author", False),
                 ("title", "Title", False), ("journal", "Journal", False), ("design", "Design", False))


def write_report(folder: Path) -> Path:
    """Read the output folder, render the report and write it there atomically; returns its path."""
    outputs = read_outputs(folder)
    path = Path(folder) / REPORT_NAME
    atomic_write(path, render_report(outputs).encode("utf-8"))
    return path


def render_report(outputs: Outputs) -> str:
    """The report page as HTML text (pure: the same outputs give the same bytes)."""
    summary = summarise(outputs, top=TOP_TERMS, newest=0)
    title = f"{summary['review'] or 'Review'}: screening report"
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{escape(title)}</h1>{_status_line(summary)}</header>",
        _cards(summary["counts"]),
        '<section id="prisma"><h2>PRISMA 2020 flow</h2>', prisma_flow_svg(outputs.prisma), "</section>",
        '<section id="years"><h2>Included records per year</h2>', years_chart_svg(outputs.evidence),
        "</section>",
        '<section id="mentions"><h2>Top terms per entity class</h2>',
        _top_terms(summary["top_mentions"]), "</section>",
        '<section id="evidence"><h2>Evidence table</h2>', _evidence_table(outputs.evidence), "</section>",
        '<section id="run"><h2>Run details</h2>', _run_details(outputs.run), "</section>",
        f"<footer>Built from the files in this folder; rebuild with <code>python -m pipeline report "
        f"--out {escape(str(outputs.folder))}</code>.</footer>",
        f"<script>{_JS}</script></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _status_line(summary: dict) -> str:
    if summary["status"] == "completed":
        return (f'<p class="meta">Run <code>{escape(summary["run_id"])}</code>, finished '
                f'{escape(summary["finished_at"])}</p>')
    return (f'<p class="warning" role="alert">The last run did not complete '
            f'({escape(summary["error"] or summary["status"])}); the tables are from the last run that did.</p>')


def _cards(counts: dict[str, int]) -> str:
    shown = ("identified", "duplicates", "screened", "excluded", "needs_review", "included", "mentions")
    labels = dict(STAGES)
    cards = "".join(f'<div class="card" id="count-{k}"><b>{counts[k]}</b><span>{escape(labels[k])}</span></div>'
                    for k in shown)
    return f'<section class="cards" aria-label="Counts per stage">{cards}</section>'


# --- PRISMA flow ------------------------------------------------------------------------------

def prisma_flow_svg(flow: dict) -> str:
    """The PRISMA 2020 diagram of prisma.py, inline (its XML declaration has no place in HTML).

    A prisma.json from an older version of the pipeline lacks fields the diagram needs: the page
    says so instead of failing, and the counts above it still show.
    """
    try:
        svg = prisma.prisma_svg(flow)
    except (KeyError, TypeError) as exc:
        return (f'<p class="warning">This prisma.json lacks the field {escape(str(exc))} the diagram needs; '
                "run the review again to draw it.</p>")
    if svg.startswith("<?xml"):
        svg = svg.split("?>", 1)[1].lstrip()
    return f'<div class="prisma">{svg}</div>'


# --- included records per year ---------------------------------------------------------------

def years_chart_svg(evidence: pd.DataFrame) -> str:
    """A bar per year from the first to the last year with included records (empty years shown)."""
    years = [int(y) for y in evidence["year"] if not pd.isna(y)]
    undated = len(evidence) - len(years)
    if not years:
        return '<p class="empty">No included record has a publication year.</p>'
    counts = {y: 0 for y in range(min(years), max(years) + 1)}
    for y in years:
        counts[y] += 1
    top = max(counts.values())
    bar_w, gap, plot_h, left, base = 36, 12, 180, 40, 210
    width = left + len(counts) * (bar_w + gap) + 20
    out = [f'<line x1="{left - 6}" y1="{base}" x2="{width - 10}" y2="{base}" class="axis"/>']
    for i, (year, n) in enumerate(counts.items()):
        x = left + i * (bar_w + gap)
        h = plot_h * n / top
        out.append(f'<rect x="{x}" y="{base - h:.1f}" width="{bar_w}" height="{h:.1f}" class="bar">'
                   f"<title>{year}: {n} record{'s' if n != 1 else ''}</title></rect>")
        out.append(f'<text x="{x + bar_w / 2}" y="{base - h - 6:.1f}" text-anchor="middle" class="bar-n">{n}</text>')
        out.append(f'<text x="{x + bar_w / 2}" y="{base + 18}" text-anchor="middle" class="bar-year">{year}</text>')
    note = f'<p class="meta">{undated} included record(s) without a year are not shown.</p>' if undated else ""
    return (f'<svg class="years" role="img" aria-label="Included records per year" viewBox="0 0 {width} 235" '
            f'width="{width}" height="235" xmlns="http://www.w3.org/2000/svg">{"".join(out)}</svg>{note}')


# --- top terms, evidence table, run details --------------------------------------------------

def _top_terms(top: dict[str, list[dict]]) -> str:
    blocks = []
    for label, terms in top.items():
        if not terms:
            blocks.append(f'<div class="terms"><h3>{escape(label)}</h3><p class="empty">No mentions.</p></div>')
            continue
        most = terms[0]["mentions"]
        rows = "".join(
            f'<li><span class="term">{escape(t["term"])}</span>'
            f'<span class="bar-bg"><span class="bar-fg" style="width:{100 * t["mentions"] / most:.0f}%"></span></span>'
            f'<span class="n" title="{t["mentions"]} mentions in {t["records"]} records">'
            f'{t["mentions"]} / {t["records"]}</span></li>' for t in terms)
        blocks.append(f'<div class="terms"><h3>{escape(label)}</h3><ol>{rows}</ol></div>')
    return ('<p class="meta">Mentions / included records mentioning the term.</p>'
            f'<div class="term-grid">{"".join(blocks)}</div>')


def _evidence_table(evidence: pd.DataFrame) -> str:
    classes = entity_classes(evidence)
    columns = list(TABLE_COLUMNS) + [(c.lower(), c.replace("_", " ").capitalize(), False) for c in classes]
    head = "".join(f'<th scope="col" data-key="{key}" data-numeric="{str(num).lower()}" aria-sort="none">'
                   f'<button type="button">{escape(label)}</button></th>' for key, label, num in columns)
    body = []
    for i, row in enumerate(evidence.to_dict("records")):
        cells = "".join(f"<td>{_cell(key, row)}</td>" for key, _, _ in columns)
        # Rows past the first page start hidden: a browser then lays out one page, not thousands.
        body.append(f"<tr hidden>{cells}</tr>" if i >= PAGE_SIZE else f"<tr>{cells}</tr>")
    total = len(evidence)
    pages = max(1, -(-total // PAGE_SIZE))
    first_page = f"rows 1–{min(total, PAGE_SIZE)}, page 1 of {pages}" if total else ""
    return (f'<div class="controls"><label>Search <input type="search" id="filter" '
            f'placeholder="any word, e.g. esketamine" autocomplete="off"></label> '
            f'<span id="shown" aria-live="polite">{total} of {total} records</span>'
            f'<span class="pager"><button type="button" id="prev" disabled>‹ Previous</button> '
            f'<span id="page" aria-live="polite">{first_page}</span> '
            f'<button type="button" id="next"{" disabled" if pages == 1 else ""}>Next ›</button></span></div>'
            f'<noscript><p class="warning">Scripts are off: only the first {PAGE_SIZE} rows show. '
            f'evidence.csv in this folder has every row.</p></noscript>'
            f'<div class="table-wrap"><table id="evidence-table" data-total="{total}" data-page-size="{PAGE_SIZE}">'
            f'<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


def _cell(key: str, row: dict) -> str:
    value = row.get(key)
    if key == "pmid":
        return f'<a href="{escape(row["pubmed_url"])}">{escape(value)}</a>'
    if key == "year":
        return "" if pd.isna(value) else str(int(value))
    if key == "title" and row.get("doi"):
        doi = escape(row["doi"])
        return f'{escape(value)} <a class="doi" href="https://doi.org/{doi}">doi:{doi}</a>'
    if isinstance(value, list):
        return "; ".join(escape(str(v)) for v in value)
    return "" if value is None else escape(str(value))


def _run_details(run: dict) -> str:
    items = [
        ("Review", run.get("review", "")), ("Run", run.get("run_id", "")), ("Status", run.get("status", "")),
        ("Started", run.get("started_at", "")), ("Finished", run.get("finished_at", "")),
        ("Config", f'{run.get("config", {}).get("path", "")} (sha256 {run.get("config", {}).get("sha256", "")})'),
        ("E-utilities", run.get("eutils_base_url", "")),
    ]
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(v))}</dd>" for k, v in items)
    rows += f'<dt>Query</dt><dd><code id="query">{escape(run.get("query", ""))}</code></dd>'
    rows += (f'<dt>PubMed\'s translation</dt><dd><code id="translation">'
             f'{escape(run.get("query_translation", "") or "(none given)")}</code></dd>')
    messages = run.get("pubmed_messages") or []
    rows += "<dt>PubMed's messages</dt><dd>" + ("<br>".join(escape(m) for m in messages) or "none") + "</dd>"
    requests = run.get("requests", {})
    if requests:
        rows += f"<dt>Requests</dt><dd>{requests.get('made', 0)} made, {requests.get('retried', 0)} retried</dd>"
    if run.get("quarantined"):
        quarantined = "<br>".join(escape(f"{q.get('pmid') or '?'}: {q.get('reason', '')}") for q in run["quarantined"])
        rows += f"<dt>Quarantined</dt><dd>{quarantined}</dd>"
    versions = "".join(f"<tr><td>{escape(k)}</td><td>{escape(str(v))}</td></tr>"
                       for k, v in run.get("versions", {}).items())
    return f'<dl class="details">{rows}</dl><h3>Versions</h3><table class="versions">{versions}</table>'


_CSS = """
:root{--ink:#1d2330;--muted:#5b6475;--line:#d6dae2;--accent:#2f6db5;--accent-soft:#dce8f7;--warn:#b3261e}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);margin:0 auto;
 max-width:1240px;padding:24px 28px 48px;background:#fafbfc}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:0 0 12px;border-bottom:1px solid var(--line);
 padding-bottom:6px}h3{font-size:14px;margin:0 0 6px;letter-spacing:.02em}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:18px 0}
.meta,.empty,footer{color:var(--muted);font-size:13px}.warning{color:var(--warn);font-weight:600}
.cards{display:flex;flex-wrap:wrap;gap:10px;background:none;border:0;padding:0}
.card{flex:1 1 120px;background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.card b{display:block;font-size:26px}.card span{color:var(--muted);font-size:12.5px}
#count-included{border-color:var(--accent);background:var(--accent-soft)}
svg text{font-family:inherit}.prisma{overflow-x:auto}.axis{stroke:#888}.bar{fill:var(--accent)}
.bar-n{font-size:12px;fill:var(--ink)}.bar-year{font-size:12px;fill:var(--muted)}
.term-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:14px 26px}
.terms ol{list-style:none;margin:0;padding:0}.terms{min-width:0}.terms li{display:grid;grid-template-columns:minmax(6em,11em) minmax(0,1fr) auto;
 gap:6px;align-items:center;font-size:13px;padding:1px 0;line-height:1.25}.term{overflow-wrap:anywhere}.bar-bg{background:#edf0f4;border-radius:3px;height:9px}.bar-fg{display:block;height:9px;
 border-radius:3px;background:var(--accent)}.n{text-align:right;color:var(--muted);font-variant-numeric:tabular-nums}
.controls{display:flex;flex-wrap:wrap;gap:16px;align-items:center;margin-bottom:10px}
.pager{display:flex;gap:8px;align-items:center;margin-left:auto}.pager button{font:inherit;padding:3px 10px;
 border:1px solid var(--line);border-radius:6px;background:#fff;cursor:pointer}.pager button:disabled{opacity:.45;cursor:default}
.controls input{font:inherit;padding:5px 9px;border:1px solid var(--line);border-radius:6px;width:280px}
.table-wrap{overflow-x:auto}table{border-collapse:collapse;font-size:13px}
#evidence-table th,#evidence-table td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;
 vertical-align:top}#evidence-table td{min-width:150px}#evidence-table td:nth-child(-n+2){min-width:0}
#evidence-table td:nth-child(4){min-width:340px}
#evidence-table th{position:sticky;top:0;background:#f1f4f8}#evidence-table th button{font:inherit;
 font-weight:600;background:none;border:0;padding:0;cursor:pointer;color:var(--ink);text-align:left}
th[aria-sort=ascending] button::after{content:" \\25B2"}th[aria-sort=descending] button::after{content:" \\25BC"}
a{color:var(--accent)}.doi{font-size:12px;white-space:nowrap}
.details{display:grid;grid-template-columns:11em 1fr;gap:4px 14px;margin:0}.details dt{color:var(--muted)}
.details dd{margin:0;word-break:break-word}.versions td{padding:2px 14px 2px 0}
"""

# Sorting, searching and paging the evidence table. The URL fragment (#q=word&sort=year&dir=desc&page=2)
# sets all three on load, so a reviewer can share a view; data-ready tells tests the script ran to the end.
_JS = r"""
(function () {
  "use strict";
  var table = document.getElementById("evidence-table");
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var input = document.getElementById("filter");
  var shown = document.getElementById("shown");
  var pageText = document.getElementById("page");
  var prev = document.getElementById("prev");
  var next = document.getElementById("next");
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var size = Number(table.getAttribute("data-page-size"));
  var texts = rows.map(function (r) { return r.textContent.toLowerCase(); });
  var keys = {};                                      // column index -> each row's sort key, read once
  var order = rows.map(function (row, i) { return i; });  // row indices in the current sort order
  var matches = order;                                // the rows the search keeps, in that order
  var page = 0;

  function showPage() {
    var pages = Math.max(1, Math.ceil(matches.length / size));
    page = Math.min(Math.max(page, 0), pages - 1);
    var first = page * size, last = Math.min(first + size, matches.length);
    rows.forEach(function (row) { row.hidden = true; });
    for (var k = first; k < last; k += 1) { rows[matches[k]].hidden = false; }
    shown.textContent = matches.length + " of " + rows.length + " records";
    pageText.textContent = matches.length ? "rows " + (first + 1) + "\u2013" + last + ", page " + (page + 1) +
      " of " + pages : "";
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  }

  function filter() {
    var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    matches = order.filter(function (i) {
      return words.every(function (w) { return texts[i].indexOf(w) >= 0; });
    });
    page = 0;
    showPage();
  }

  function sortKeys(index) {
    if (!keys[index]) {
      keys[index] = rows.map(function (row) { return row.cells[index].textContent.trim(); });
    }
    return keys[index];
  }

  function sortBy(index, direction) {
    var numeric = heads[index].getAttribute("data-numeric") === "true";
    var sign = direction === "descending" ? -1 : 1;
    var key = sortKeys(index);
    var collator = new Intl.Collator(undefined, {sensitivity: "base"});
    order = rows.map(function (row, i) { return i; });
    order.sort(function (a, b) {
      var x = key[a], y = key[b];
      var c;
      if (numeric) {
        // Empty cells (no year) sort last whichever the direction.
        if (x === "" || y === "") { c = (x === "") - (y === ""); return c || a - b; }
        c = Number(x) - Number(y);
      } else {
        c = collator.compare(x, y);
      }
      return sign * c || a - b;
    });
    heads.forEach(function (h) { h.setAttribute("aria-sort", "none"); });
    heads[index].setAttribute("aria-sort", direction);
    order.forEach(function (i) { body.appendChild(rows[i]); });
    filter();
  }

  heads.forEach(function (head, index) {
    head.querySelector("button").addEventListener("click", function () {
      sortBy(index, head.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending");
    });
  });
  input.addEventListener("input", filter);
  prev.addEventListener("click", function () { page -= 1; showPage(); });
  next.addEventListener("click", function () { page += 1; showPage(); });

  var params = new URLSearchParams(location.hash.replace(/^#/, ""));
  if (params.get("q")) { input.value = params.get("q"); }
  var key = params.get("sort");
  var index = heads.findIndex(function (h) { return h.getAttribute("data-key") === key; });
  if (index >= 0) { sortBy(index, params.get("dir") === "desc" ? "descending" : "ascending"); } else { filter(); }
  if (params.get("page")) { page = Number(params.get("page")) - 1 || 0; showPage(); }
  document.body.setAttribute("data-ready", "1");
})();
"""
