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

from . import extract, screen, tables
from .config import Config
from .errors import PipelineError
from .eutils import Client, Settings
from .fetch import fetch_records
from .models import Decision, DeletedCitation, Quarantined, Record, RunSummary
from .search import build_query, run_search
from .store import RawArchive, write_json, write_table

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
    return manifest


def _execute(config: Config, out: Path, settings: Settings, run_id: str, query: str,
             progress: Progress) -> dict:
    client = Client(settings)
    archive = RawArchive(out / "raw" / run_id)
    progress("search", 0, 1)
    found = run_search(client, query, archive=archive)
    progress("search", 1, 1)
    log.info("PubMed: %d records for %s", found.count, query)

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
    unique_records = {r.pmid: r for r in records}

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
    summary = _summary(found.count, records, results, mentions)
    for name in TABLE_NAMES:
        write_table(out, name, frames[name])
    prisma = _prisma(summary, len(quarantined))
    write_json(out / "prisma.json", prisma)
    return {
        "query_translation": found.query_translation,
        "pubmed_messages": list(found.warnings),
        "counts": asdict(summary),
        "quarantined": [asdict(q) for q in quarantined],
        "requests": {"made": client.requests_made, "retried": client.retries},
        "raw_archive": str((out / "raw" / run_id).relative_to(out)),
    }


def _summary(identified: int, records: list[Record], results, mentions) -> RunSummary:
    summary = RunSummary(identified=identified, retrieved=len(records), mentions=len(mentions))
    for r in results:
        if r.decision == Decision.DUPLICATE:
            summary.duplicates += 1
            continue
        summary.screened += 1
        if r.decision == Decision.INCLUDE:
            summary.included += 1
        elif r.decision == Decision.NEEDS_REVIEW:
            summary.needs_review += 1
        else:
            summary.excluded += 1
            summary.excluded_by_reason[r.reason] = summary.excluded_by_reason.get(r.reason, 0) + 1
    summary.duplicates += screen.duplicate_pmid_count(r.pmid for r in records)
    summary.excluded_by_reason = dict(sorted(summary.excluded_by_reason.items()))
    return summary


def _prisma(summary: RunSummary, quarantined: int) -> dict:
    return {
        "identification": {
            "records_identified": {"PubMed": summary.identified},
            "duplicate_records_removed": summary.duplicates,
            "records_quarantined_unreadable": quarantined,
        },
        "screening": {
            "records_screened": summary.screened,
            "records_excluded_by_automation": summary.excluded,
            "excluded_by_reason": summary.excluded_by_reason,
            "records_needing_human_review": summary.needs_review,
        },
        "included": {"records_included": summary.included},
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
