"""Publishing: every output file of a review, rebuilt from its committed state.

Tables, prisma.json/svg, records.ris, changes.csv, run.json and the report are each written to a
temporary file and renamed into place. A run that committed but died before publishing is
published by the next run (`republish`), so outputs always catch up with the state.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Iterable

import pandas as pd

from pipeline.screening import prisma
from pipeline.outputs import ris
from pipeline.outputs import tables
from pipeline.config import Config
from pipeline.engine.crashpoints import checkpoint
from pipeline.models import Decision, RunManifest, record_order
from pipeline.outputs.report import write_report
from pipeline.errors import OutputsNotFound
from pipeline.store.lock import ReviewLock
from pipeline.store.state import StateStore
from pipeline.engine.people import people_stage
from pipeline.engine.stages import StageClock
from pipeline.outputs.datasets import FileParts, write_sized_table
from pipeline.outputs.files import atomic_write, csv_bytes, write_json

log = logging.getLogger(__name__)

TABLE_NAMES = ("records", "evidence", "mentions")
CHANGE_COLUMNS = [
    "run_id",
    "pmid",
    "change",
    "newly_included",
    "old_decision",
    "new_decision",
    "old_reason",
    "new_reason",
    "why",
    "title",
    "record_id",
]


def republish(state: StateStore, out: Path, config: Config) -> list[str]:
    """Publish the outputs of runs that committed but died before publishing; returns their ids."""
    pending = state.unpublished_runs()
    if not pending:
        return []
    log.warning("runs %s committed but their outputs were not all written; publishing them now", ", ".join(pending))
    manifest = RunManifest.from_json(state.run_manifest(pending[-1]) or {})
    publish(state, out, config, manifest, pending)
    state.mark_published(pending)
    return pending


def publish(state: StateStore, out: Path, config: Config, manifest: RunManifest, run_ids: list[str]) -> RunManifest:
    """Write the tables, PRISMA, records.ris, changes.csv, run.json and the report from the
    committed state; returns the manifest as written (with its counts and changes).

    A table past [output] dataset_rows rows is written as a Parquet dataset with a CSV of its first
    rows (outputs/datasets.py), and records.ris holds at most that many references; run.json
    "tables" and "ris" say which, "stage_seconds" where the time went."""
    manifest = _write_outputs(state, out, config, manifest, run_ids)
    write_json(out / "run.json", manifest.to_json())
    # Built from the files just written, so `python -m pipeline report` rebuilds the same page;
    # after _write_outputs has returned, so the records and tables it held are freed first.
    write_report(out)
    return manifest


def _write_outputs(
    state: StateStore, out: Path, config: Config, manifest: RunManifest, run_ids: list[str]
) -> RunManifest:
    """Every output but run.json and the report; returns the manifest to write to run.json."""
    clock = StageClock(manifest.stage_seconds)
    by_id = {record_id: rec for record_id, (rec, _) in state.active_records().items()}
    records = list(by_id.values())
    decisions = list(state.decisions().values())
    people = people_stage(state, config)
    # With people screening, the evidence table holds what they included, not what the rules let through.
    evidence_results = people.evidence_results(decisions) if people else decisions
    included = {r.record_id for r in evidence_results if r.decision == Decision.INCLUDE}
    mentions = state.mentions(included)
    clock.lap("publish_read_state")
    frames = {
        "records": tables.records_table(
            records, decisions, manifest.found_in, next(iter(manifest.databases or {"PubMed": 0}))
        ),
        "evidence": tables.evidence_table(records, evidence_results, mentions, config.extraction.classes),
        "mentions": tables.mentions_table(mentions),
    }
    if people:
        frames["records"] = people.records_columns(frames["records"])
    clock.lap("publish_build_tables")
    written = {}
    order, file_of = state.source_files()  # past dataset_rows, the parts follow the input files
    files = FileParts(order, file_of)
    for name in TABLE_NAMES:
        written[name] = write_sized_table(out, name, frames[name], config.output.dataset_rows, files)
        checkpoint("mid-publish")
    clock.lap("publish_write_tables")
    identified = len(records) if manifest.identified is None else manifest.identified
    repeats = manifest.pmid_repeats or 0
    summary = prisma.summarise(identified, records, decisions, len(mentions))
    summary.duplicates += repeats
    summary.extraction_set_aside = len(manifest.extraction_set_aside or [])
    databases = manifest.databases or {"PubMed": identified}
    rule_results, people_results = people.prisma_inputs(decisions) if people else (decisions, [])
    flow = prisma.prisma_json(
        databases,
        rule_results,
        repeats,
        len(manifest.quarantined or []),
        repeats_by_reason=manifest.repeats_by_reason,
        review=config.review.title or config.review.name,
        human=people_results,
    )
    if people:
        flow = people.prisma(flow, decisions)
    write_json(out / "prisma.json", flow)
    atomic_write(out / "prisma.svg", prisma.prisma_svg(flow).encode("utf-8"))
    # At most dataset_rows references, like the CSVs: screening tools import a file a person can
    # work through; every included record is in the tables.
    included_ids = frames["evidence"]["record_id"].tolist()
    shown = included_ids[: config.output.dataset_rows]
    atomic_write(out / "records.ris", ris.ris_chunks(by_id[record_id] for record_id in shown))
    ris_written = {"file": "records.ris", "references": len(shown), "included": len(included_ids)}
    changes = state.changes(run_ids)
    if people and run_ids:
        changes += people.change_rows(decisions, run_ids[-1], {i: r.title for i, r in by_id.items()})
    atomic_write(out / "changes.csv", csv_bytes(changes_table(changes)))
    clock.lap("publish_other")  # PRISMA, RIS, changes.csv
    return dataclasses.replace(
        manifest,
        counts=asdict(summary),
        changes=change_summary(changes, run_ids),
        human_screening=people.summary(decisions) if people else None,
        tables=written,
        ris=ris_written,
        stage_seconds=clock.to_json(),
    )


def changes_table(rows: Iterable[dict]) -> pd.DataFrame:
    """changes.csv: by run, then in record_order (PMIDs numerically first)."""
    ordered = sorted(rows, key=lambda r: (r["run_id"], record_order(r["record_id"])))
    return pd.DataFrame(ordered, columns=CHANGE_COLUMNS).astype({"newly_included": "bool"})


def change_summary(rows: list[dict], run_ids: list[str]) -> dict:
    """The counts run.json reports about changes.csv."""
    count = lambda kind: sum(r["change"] == kind for r in rows)  # noqa: E731
    return {
        "runs": list(run_ids),
        "new": count("new"),
        "newly_included": sum(bool(r["newly_included"]) for r in rows),
        "decision_changed": count("decision-changed"),
        "updated": count("updated"),
        "withdrawn": count("withdrawn"),
        "file": "changes.csv",
    }


def publish_review(config: Config, out_dir: Path | None = None, wait: float | None = None) -> RunManifest:
    """`publish`: rebuild every output of the review from its state store (no network), under the
    review's lock; people's latest decisions are included. Returns the manifest written to run.json."""
    out = Path(out_dir) if out_dir is not None else config.output.dir
    wait = config.refresh.lock_wait if wait is None else wait
    if not (out / "state.sqlite").is_file():
        raise OutputsNotFound(
            f"{out} holds no review state (state.sqlite): nothing to publish. Run the review "
            f"first: python -m pipeline run --config {config.path}"
        )
    with ReviewLock(out, config.review.name, "publish", wait), StateStore.open(out) as state:
        republish(state, out, config)
        previous = state.last_good_run()
        if previous is None:
            raise OutputsNotFound(
                f"{out} has no completed run to publish. Run the review first: "
                f"python -m pipeline run --config {config.path}"
            )
        return publish(state, out, config, RunManifest.from_json(previous["manifest"] or {}), [previous["run_id"]])


def published_message(manifest: RunManifest) -> str:
    """One line on what a publish wrote, for the workspace and the command line."""
    people = manifest.human_screening
    if people:
        return (
            f"outputs rebuilt: {people['records_included']} records included by people in the evidence "
            f"table, {people['records_awaiting_screening']} awaiting screening"
        )
    return f"outputs rebuilt: {(manifest.counts or {}).get('included', 0)} records in the evidence table"


def publish_in_child(config: Config, out_dir: Path | None = None, timeout: float = 600.0):
    """A callable that runs `python -m pipeline publish` for this review in a child process (no
    lock wait, at a lower CPU priority) and returns its one-line message: the workspace's background
    publisher uses it, so rebuilding the tables never competes with page requests for this process's
    interpreter. A refused lock raises RunLocked; any other failure WorkspaceError with the
    command's own error."""
    import shutil
    import subprocess
    import sys

    from pipeline.errors import ExitCode, RunLocked, WorkspaceError

    command = [sys.executable, "-m", "pipeline", "-q", "publish", "--config", str(config.path), "--wait", "0"]
    if shutil.which("nice"):  # background work: page requests keep priority over the rebuild
        command = [shutil.which("nice"), "-n", "10", *command]
    if out_dir is not None:
        command += ["--out", str(out_dir)]

    def publish() -> str:
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise WorkspaceError(f"publish took longer than {timeout:.0f} s and was stopped.") from None
        if done.returncode == 0:
            line = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
            return line.partition(": ")[2].rstrip(".") or line
        errors = [x.removeprefix("Error: ") for x in done.stderr.strip().splitlines() if x.strip()]
        reason = errors[-1] if errors else f"exit code {done.returncode}"
        if done.returncode == ExitCode.LOCKED:
            raise RunLocked(reason)
        raise WorkspaceError(f"publish failed (exit code {done.returncode}): {reason}")

    return publish
