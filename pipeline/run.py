"""run_pipeline and refresh: the one entry point the CLI and schedulers use.

search -> fetch (archived) -> parse -> state store -> screen -> extract -> commit -> tables -> manifest,
carried out by refresh.sync. Tables are written only after every stage succeeded and the state was
committed; a failed run records its failure in run.json and leaves the previous state and tables
as they were.
"""
from __future__ import annotations

import logging
import platform
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Callable

from . import screen
from .config import Config
from .eutils import Settings
from .models import Decision, Record, RunSummary

log = logging.getLogger(__name__)

TABLE_NAMES = ("records", "evidence", "mentions")
VERSIONED_PACKAGES = ("pipeline", "biopython", "spacy", "pandas", "pyarrow", "numpy", "click")

# progress(stage, done, total): called as work advances; the CLI decides how to show it.
Progress = Callable[[str, int, int], None]


def run_pipeline(config: Config, out_dir: Path | None = None, settings: Settings | None = None,
                 progress: Progress | None = None, now: Callable[[], datetime] | None = None,
                 wait: float | None = None) -> dict:
    """Run the review in `config` in full and write its outputs; returns the run manifest (run.json).

    Everything goes through the review's state store (state.sqlite in the output folder) and the
    tables are rebuilt from it (see refresh.py). Raises a PipelineError subclass on failure, after
    writing a run.json whose status is "failed"; RunLocked when another run holds the review.
    """
    from .refresh import sync  # refresh.py builds on this module's helpers
    return sync(config, out_dir, settings, progress, now, incremental=False, wait=wait)


def refresh(config: Config, out_dir: Path | None = None, settings: Settings | None = None,
            progress: Progress | None = None, now: Callable[[], datetime] | None = None,
            wait: float | None = None) -> dict:
    """Bring the review up to date incrementally: only what PubMed entered or changed since the last
    completed run (minus [refresh] overlap_days) is fetched; the tables and changes.csv are rewritten.

    With no completed run yet it is a full run. Same failures as run_pipeline.
    """
    from .refresh import sync
    return sync(config, out_dir, settings, progress, now, incremental=True, wait=wait)


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
