"""How long the inspection outputs take for a large review: evidence table, CSV + Parquet, RIS,
report.html and the `show` summary, for N included records with 15 mentions each (synthetic).

When Chromium is installed, it also times headless Chromium loading report.html until its script
has run (wall clock, `--dump-dom`), beside the same for a 10-record report: the browser's own
start-up, for scale."""

from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from pipeline.outputs import report
from pipeline.outputs import ris
from pipeline.outputs import files as store
from pipeline.outputs import summary
from pipeline.outputs import tables
from pipeline.config import ENTITY_CLASSES
from pipeline.models import AbstractSection, Author, Decision, Mention, Record, ScreeningResult
from pipeline.outputs.folder import read_outputs

SIZES = (1_000, 10_000)
TERMS = {label: [f"{label.lower()} term {i}" for i in range(40)] for label in ENTITY_CLASSES}
TYPES = ["Journal Article", "Randomized Controlled Trial", "Review", "Meta-Analysis", "Case Reports"]


def _corpus(n: int, rnd: random.Random):
    records, results, mentions = [], [], []
    for i in range(n):
        pmid = str(30_000_000 + i)
        records.append(
            Record(
                pmid=pmid,
                title=f"Ketamine study {i}: efficacy in depression",
                pub_year=rnd.randint(2016, 2025),
                abstract_sections=(AbstractSection("", "Ketamine reduced depressive symptoms. " * 8),),
                journal="Journal of affective disorders",
                doi=f"10.1000/{i}",
                languages=("eng",),
                publication_types=(rnd.choice(TYPES), "Journal Article"),
                authors=(Author(last_name="Rivera", fore_name="Ana"), Author(last_name="Okafor", initials="C")),
            )
        )
        results.append(ScreeningResult(record_id=f"pmid:{pmid}", decision=Decision.INCLUDE, reason="meets-criteria"))
        for _ in range(15):
            label = rnd.choice(ENTITY_CLASSES)
            term = rnd.choice(TERMS[label])
            mentions.append(
                Mention(
                    record_id=f"pmid:{pmid}",
                    section="abstract",
                    sentence=0,
                    start=0,
                    end=len(term),
                    text=term,
                    label=label,
                    canonical=term,
                )
            )
    return records, results, mentions


def _timed(name: str, func):
    started = time.perf_counter()
    value = func()
    print(f"  {name:<34} {time.perf_counter() - started:7.3f} s", flush=True)
    return value


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def browser_load_seconds(page: Path, profile: Path) -> float:
    """Wall-clock seconds for headless Chromium to load `page` and run its script."""
    started = time.perf_counter()
    dom = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            f"--user-data-dir={profile}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    assert 'data-ready="1"' in dom, "the report's script did not run to its end"
    return time.perf_counter() - started


def main() -> None:
    rnd = random.Random(6)
    for n in (10, *SIZES) if CHROMIUM else SIZES:
        records, results, mentions = _corpus(n, rnd)
        print(f"{n} included records, {len(mentions)} mentions")
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            frames = {
                "records": _timed("records_table", lambda: tables.records_table(records, results)),
                "evidence": _timed(
                    "evidence_table", lambda: tables.evidence_table(records, results, mentions, ENTITY_CLASSES)
                ),
                "mentions": _timed("mentions_table", lambda: tables.mentions_table(mentions)),
            }
            for name, frame in frames.items():
                _timed(f"write {name}.csv + .parquet", lambda: store.write_table(out, name, frame))
            store.write_json(out / "run.json", {"status": "completed", "review": "bench", "counts": {"included": n}})
            store.write_json(out / "prisma.json", {})
            _timed("records.ris", lambda: ris.ris_text(records))
            loaded = _timed("read_outputs", lambda: read_outputs(out))
            _timed("show summary (table)", lambda: summary.render(summary.summarise(loaded), "table"))
            html = _timed("render report.html", lambda: report.render_report(loaded))
            print(f"  report.html size                   {len(html.encode()) / 1e6:7.2f} MB")
            if CHROMIUM:
                page = out / "report.html"
                page.write_text(html, encoding="utf-8")
                seconds = browser_load_seconds(page, out / "chromium-profile")
                print(f"  Chromium loads report.html         {seconds:7.3f} s")
