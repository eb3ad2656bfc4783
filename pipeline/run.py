"""run_pipeline: the one entry point the CLI and schedulers use.

search -> fetch (archived) -> parse -> screen -> extract -> tables -> manifest. Tables are written only
after every stage succeeded; a failed run records its failure in run.json and leaves the previous
tables as they were.
"""
from __future__ import annotations

import logging
import platform
from dataclasses import asdict
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Callable

from . import crosscheck, extract, prisma, ris, screen, tables
from .config import Config
from .errors import PipelineError
from .eutils import Client, Settings
from .fetch import fetch_records
from .models import Decision, DeletedCitation, Quarantined, Record
from .report import write_report
from .search import build_query, run_filtered_search, run_search
from .store import RawArchive, atomic_write, write_json, write_table

log = logging.getLogger(__name__)

TABLE_NAMES = ("records", "evidence", "mentions")
VERSIONED_PACKAGES = ("pipeline", "biopython", "spacy", "pandas", "pyarrow", "numpy", "click")

# progress(stage, done, total): called as work advances; the CLI decides how to show it.
Progress = Callable[[str, int, int], None]


def run_pipeline(config: Config, out_dir: Path | None = None, settings: Settings | None = None,
                 progress: Progress | None = None, now: Callable[[], datetime] | None = None) -> dict:
    """Run the review in `config` and write its outputs; returns the run manifest (run.json).

    Raises a PipelineError subclass on failure, after writing a run.json whose status is "failed".
    """
    now = now or (lambda: datetime.now(timezone.utc))
    out = Path(out_dir) if out_dir is not None else config.output.dir
    settings = settings or Settings.from_env(timeout=config.retrieval.timeout,
                                             max_attempts=config.retrieval.max_attempts)
    started = now()
    run_id = started.strftime("%Y%m%dT%H%M%S%fZ")
    manifest = {
        "run_id": run_id,
        "status": "running",
        "review": config.review.name,
        "config": {"path": str(config.path), "sha256": config.sha256},
        "eutils_base_url": settings.base_url,
        "query": build_query(config.search),
        "started_at": started.isoformat(timespec="seconds"),
        "versions": _versions(),
    }
    try:
        manifest.update(_execute(config, out, settings, run_id, manifest["query"], progress or _no_progress))
        manifest["status"] = "completed"
    except PipelineError as exc:
        manifest["status"] = "failed"
        manifest["error"] = str(exc)
        raise
    finally:
        manifest["finished_at"] = now().isoformat(timespec="seconds")
        write_json(out / "run.json", manifest)
    # Built from the files just written, so `python -m pipeline report` rebuilds the same page.
    write_report(out)
    return manifest


def _execute(config: Config, out: Path, settings: Settings, run_id: str, query: str,
             progress: Progress) -> dict:
    client = Client(settings)
    archive = RawArchive(out / "raw" / run_id)
    progress("search", 0, 1)
    found = run_search(client, query, archive=archive)
    progress("search", 1, 1)
    log.info("PubMed: %d records for %s", found.count, query)
    filtered = run_filtered_search(client, query, config.screening, archive=archive)

    records: list[Record] = []
    quarantined: list[Quarantined] = []
    deleted: list[str] = []
    fetched = 0

    def on_batch(n: int) -> None:
        nonlocal fetched
        fetched += n
        progress("fetch", fetched, found.count)

    for item in fetch_records(client, found.pmids, config.retrieval.batch_size, archive, on_batch):
        if isinstance(item, Record):
            records.append(item)
        elif isinstance(item, Quarantined):
            log.warning("quarantined record %s from %s: %s", item.pmid or "?", item.source, item.reason)
            quarantined.append(item)
        elif isinstance(item, DeletedCitation):
            deleted.append(item.pmid)

    results = screen.screen(records, config.screening)
    included = [r for r in results if r.decision == Decision.INCLUDE]
    included_pmids = {r.pmid for r in included}
    unique_records = screen.distinct_by_pmid(records)

    nlp = extract.load_nlp(config.extraction)
    to_extract = [unique_records[p] for p in sorted(included_pmids, key=tables.pmid_key)]
    mentions = list(extract.extract_mentions(nlp, to_extract, config.extraction.classes))
    progress("extract", len(to_extract), len(to_extract))

    records_frame = tables.records_table(unique_records.values(), results)
    frames = {
        "records": records_frame,
        "evidence": tables.evidence_table(unique_records.values(), results, mentions, config.extraction.classes),
        "mentions": tables.mentions_table(mentions),
    }
    summary = prisma.summarise(found.count, records, results, len(mentions))
    for name in TABLE_NAMES:
        write_table(out, name, frames[name])
    flow = prisma.prisma_json({"PubMed": found.count}, results, screen.duplicate_pmid_count(r.pmid for r in records),
                              len(quarantined), review=config.review.title or config.review.name)
    write_json(out / "prisma.json", flow)
    atomic_write(out / "prisma.svg", prisma.prisma_svg(flow).encode("utf-8"))
    included_records = [unique_records[pmid] for pmid in frames["evidence"]["pmid"]]
    atomic_write(out / "records.ris", ris.ris_text(included_records).encode("utf-8"))
    return {
        "query_translation": found.query_translation,
        "pubmed_messages": list(found.warnings),
        "counts": asdict(summary),
        "pubmed_cross_check": (crosscheck.summary(filtered, found.count, records, results, config.screening)
                               if filtered else {"skipped": "the config has no date or language criteria"}),
        "quarantined": [asdict(q) for q in quarantined],
        "requests": {"made": client.requests_made, "retried": client.retries},
        "raw_archive": str((out / "raw" / run_id).relative_to(out)),
    }


def _versions() -> dict:
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _no_progress(stage: str, done: int, total: int) -> None:
    pass
