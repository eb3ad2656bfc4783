"""Bring a review's state up to date with its source, then publish the tables from that state.

`sync` is what `run` (full) and `refresh` (incremental) both do, under the review's lock:

1. Recover: runs left "running" by a dead process are marked crashed; a run that committed its state
   but died before publishing has its outputs published now.
2. Search the review's `Source` (sources/base.py; built by sources/registry.py from the config):
   it returns the record ids answering the query now (stored records absent from them are
   withdrawn) and the records it fetched. An incremental refresh passes the date window from the
   last good run's watermark minus `[refresh] overlap_days` to tomorrow, and the stored records'
   hashes, so a source that can search by date fetches only what is new or revised (PubMed: see
   sources/pubmed/source.py).
3. A fetched record counts as changed only when the content hash of its parsed form differs from
   the stored one. Everything keys on Record.record_id.
4. Screen every stored record again (pure and fast: deduplication is corpus-wide, and a changed
   config must apply to old records too); extract mentions only for included records whose content
   or extractor changed since their mentions were stored (spaCy is not even loaded otherwise).
5. Commit everything in one transaction: records, decisions, mentions, withdrawals, the run's
   changes and its watermark (the UTC date the run started). Nothing of a failed run is committed,
   so the watermark does not move and the next run covers the gap.
6. Publish from the store: tables, prisma.json, changes.csv, run.json, each to a temporary file
   renamed into place. A crash here is repaired by the next run (step 1).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
from dataclasses import asdict
from datetime import date, datetime, timedelta, timezone
from importlib import metadata
from pathlib import Path
from typing import Callable, Protocol

from pipeline.config import Config, ExtractionConfig
from pipeline.engine import preflight
from pipeline.engine.crashpoints import checkpoint
from pipeline.engine.publish import publish, republish
from pipeline.engine.stages import StageClock
from pipeline.models import (
    CommitPlan,
    Decision,
    Mention,
    Record,
    RunManifest,
    ScreeningResult,
    SetAside,
    UpdatePlan,
    display_id,
    pmid_of,
    record_order,
)
from pipeline.outputs.files import write_json
from pipeline.screening import crosscheck, dedup
from pipeline.screening.merge import screen_merged
from pipeline.screening.screen import screen_records
from pipeline.sources.archive import find_archive, prune_archives
from pipeline.sources.base import CrossCheckable, Progress, SearchRequest, Source, Window, no_progress
from pipeline.sources.pubmed.eutils import Settings
from pipeline.sources.pubmed.search import build_query
from pipeline.sources.registry import open_source
from pipeline.store.lock import ReviewLock
from pipeline.store.codec import encode_record
from pipeline.store.state import StateStore

log = logging.getLogger(__name__)

VERSIONED_PACKAGES = ("pipeline", "biopython", "spacy", "pandas", "pyarrow", "numpy", "click")

FULL, INCREMENTAL = "full", "incremental"
WITHDRAWN_REASONS = {
    "no-longer-returned": "no longer returned by the PubMed search",
    "deleted-citation": "deleted from PubMed (DeleteCitation)",
}

# Mentions per record_id (content hash, mentions), and the records extraction had to set aside.
Extractor = Callable[
    [Config, list[Record], dict[str, str], Progress], tuple[dict[str, tuple[str, list[Mention]]], list[SetAside]]
]


class Engine(Protocol):
    """Where a run's reading and extraction happen. None (the default) is this process; a cluster
    engine (engine/dask_engine.py) reads and extracts file by file on its workers, then hands the
    same records and mentions to the same screening, commit and publish."""

    def open_source(self, config: Config, out: Path, run_id: str) -> Source:
        """The Source the run searches (it does the cluster's map and the file-order reduce)."""
        ...

    def extract(
        self, config: Config, records: list[Record], hashes: dict[str, str], progress: Progress
    ) -> tuple[dict[str, tuple[str, list[Mention]]], list[SetAside]]:
        """Mentions for `records` (record_id -> (content hash, mentions)) and the records set aside,
        as _extract gives them."""
        ...

    def summary(self) -> dict:
        """run.json "engine": kind, workers, files processed and reused, per-stage timings."""
        ...


def sync(
    config: Config,
    out_dir: Path | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
    now: Callable[[], datetime] | None = None,
    incremental: bool = True,
    wait: float | None = None,
    offline: bool = False,
    from_run: str | None = None,
    engine: Engine | None = None,
) -> dict:
    """Update the review's state from its source and publish its outputs; returns run.json's content.

    incremental=False is `run` (search and fetch everything); True is `refresh`, which is a full run
    when there is no good run yet or the query changed. Raises RunLocked when another run holds the
    review for longer than `wait` seconds (default `[refresh] lock_wait`), and any other
    PipelineError after recording the failed run (previous state and tables stay as they were).
    `offline`/`from_run`: answer the database from a past run's raw archive (see archive.py).
    `settings`: the E-utilities settings (default: from the environment).
    `engine`: where reading and extraction run (None: here; see Engine).
    """
    now = now or (lambda: datetime.now(timezone.utc))
    out = Path(out_dir) if out_dir is not None else config.output.dir
    progress = progress or no_progress
    replay = bool(offline or from_run)
    # Everything the run would refuse, before the lock, the state or the network are touched.
    base_url = None
    if config.search.source == "pubmed" and not replay:
        base_url = (settings or Settings.from_env()).base_url
    preflight.check(config, out, base_url)
    command = "refresh" if incremental else "run"
    started = now()
    started_iso = started.isoformat(timespec="seconds")
    run_id = started.strftime("%Y%m%dT%H%M%S%fZ")
    wait = config.refresh.lock_wait if wait is None else wait
    with (
        ReviewLock(out, config.review.name, command, wait, started_at=started_iso) as lock,
        StateStore.open(out) as state,
    ):
        crashed = state.mark_crashed()
        if crashed:
            log.warning("runs %s stopped before committing; their work is redone now", ", ".join(crashed))
        carried = republish(state, out, config)
        query = build_query(config.search)
        previous = state.last_good_run()
        mode, why_full = _mode(incremental, previous, query)
        source = (
            engine.open_source(config, out, run_id)
            if engine is not None
            else open_source(config, out, run_id, settings, offline=offline, from_run=from_run)
        )
        manifest = RunManifest(
            run_id=run_id,
            command=command,
            mode=mode,
            review=config.review.name,
            config={"path": str(config.path), "sha256": config.sha256},
            source_info=dict(source.run_info),
            query=query,
            offline=bool(offline or from_run),
            started_at=started_iso,
            versions=package_versions(),
            recovered={"crashed_runs": crashed, "republished_runs": carried, "stale_lock": lock.cleared},
            full_because=why_full,
        )
        if why_full:
            log.info("refresh: a full run, because %s", why_full)
        if mode == INCREMENTAL:
            manifest.window = _window(previous["watermark"], config.refresh.overlap_days, started.date())
            manifest.window["since_run"] = previous["run_id"]
        if replay and config.search.source == "pubmed":
            # A bad --from-run (or no archive) is a usage error: found before the run begins, so
            # run.json and the store's run history stay as they were.
            find_archive(out, from_run)
        state.begin_run(run_id, command, started_iso, query, os.getpid())
        checkpoint("after-begin")
        try:
            clock = StageClock()
            plan, as_of = _execute(
                config,
                state,
                source,
                manifest,
                query,
                progress,
                engine.extract if engine is not None else _extract,
                clock,
            )
            if engine is not None:
                manifest.source["engine"] = engine.summary()
            manifest.status = "completed"
            manifest.finished_at = now().isoformat(timespec="seconds")
            # A replay holds the database as of the replayed run: its date is the watermark, so a
            # later refresh still asks for everything entered since then.
            watermark = as_of or started.date()
            clock.restart()
            state.commit_run(
                run_id,
                plan,
                watermark=watermark.isoformat(),
                finished_at=manifest.finished_at,
                manifest=manifest.to_json(),
                hook=checkpoint,
            )
            # After the commit: the stored manifest lacks its own commit's time (run.json has it).
            clock.lap("commit")
            # Publishing reads everything back from the store: holding the plan's records and
            # mentions meanwhile would double the client's memory at scale.
            plan = None
            manifest.stage_seconds = clock.to_json()
            checkpoint("after-commit")
        except BaseException as exc:
            manifest.status = "failed"
            manifest.error = str(exc) or type(exc).__name__
            manifest.finished_at = now().isoformat(timespec="seconds")
            state.fail_run(run_id, manifest.finished_at, manifest.error, manifest.to_json())
            write_json(out / "run.json", manifest.to_json())
            raise
        published = carried + [run_id]
        if config.output.keep_raw_runs and not replay:
            manifest.raw_archives_removed = prune_archives(out, config.output.keep_raw_runs)
        manifest = publish(state, out, config, manifest, published)
        checkpoint("after-publish")
        state.mark_published([run_id])
    return manifest.to_json()


def _mode(incremental: bool, previous: dict | None, query: str) -> tuple[str, str]:
    if not incremental:
        return FULL, ""
    if previous is None:
        return FULL, "the review has no completed run yet"
    if previous["query"] != query:
        return FULL, "the search query changed since the last completed run"
    return INCREMENTAL, ""


def _window(watermark: str, overlap_days: int, today: date) -> dict:
    """The entry/modification date window of an incremental search (run.json "window")."""
    start = date.fromisoformat(watermark) - timedelta(days=overlap_days)
    # Tomorrow: NCBI dates records in US Eastern time, which can be a day behind or ahead of UTC.
    end = today + timedelta(days=1)
    return {
        "watermark": watermark,
        "overlap_days": overlap_days,
        "mindate": start.strftime("%Y/%m/%d"),
        "maxdate": end.strftime("%Y/%m/%d"),
    }


def _search_window(window: dict | None) -> Window | None:
    if window is None:
        return None
    start, end = (datetime.strptime(window[k], "%Y/%m/%d").date() for k in ("mindate", "maxdate"))
    return Window(start, end)


def _with_checkpoints(progress: Progress) -> Progress:
    """The caller's progress, plus the crash tests' checkpoints at the points sources report."""

    def report(stage: str, done: int, total: int) -> None:
        progress(stage, done, total)
        if stage in ("search", "read") and done == total:
            checkpoint("after-search")
        elif stage == "fetch":
            checkpoint("mid-fetch")

    return report


def _execute(
    config: Config,
    state: StateStore,
    source: Source,
    manifest: RunManifest,
    query: str,
    progress: Progress,
    extract: Extractor,
    clock: StageClock,
) -> tuple[CommitPlan, date | None]:
    """Search, screen and extract; fills in the manifest and returns what to commit; `clock`
    times the stages."""
    stored = state.active_hashes()
    before = {record_id: rec for record_id, (rec, _) in state.active_records().items()}
    clock.lap("read_state")
    request = SearchRequest(
        query=query,
        stored=stored,
        window=_search_window(manifest.window),
        progress=_with_checkpoints(progress),
        returned_by=state.returned_by(),
        stored_records=before,
    )
    got = source.search(request)
    clock.lap("search")  # searching, fetching or reading files (the Dask map and reduce)
    for item in got.quarantined:
        log.warning("quarantined record %s from %s: %s", item.pmid or "?", item.source, item.reason)
    checkpoint("after-fetch")
    copies, deleted, current_set = got.records, got.deleted, set(got.current)
    fetched = dedup.distinct_records(copies)

    plan = plan_update(stored, current_set, fetched, deleted)
    records = {record_id: rec for record_id, rec in before.items() if record_id not in plan.withdrawn}
    records.update(plan.upserts)
    hashes = {record_id: h for record_id, h in stored.items() if record_id not in plan.withdrawn}
    hashes.update(plan.hashes)
    found_in = getattr(source, "found_in", None)  # several databases: deduplicate across them
    if found_in is not None:
        results, merged = screen_merged(records.values(), config.screening, found_in)
        manifest.found_in = merged.found_in
    else:
        results = screen_records(records.values(), config.screening)
    new_decisions = {r.record_id: r for r in results}
    clock.lap("screen")  # the update plan, deduplication, the rules

    fingerprint = extractor_fingerprint(config.extraction)
    keys = state.extraction_keys()
    clock.lap("read_state")
    # With people screening, needs-review records may be included by them: extract those too.
    extract_for = (Decision.INCLUDE, Decision.NEEDS_REVIEW) if config.screening.people else (Decision.INCLUDE,)
    to_extract = [
        records[r.record_id]
        for r in results
        if r.decision in extract_for and keys.get(r.record_id) != (hashes[r.record_id], fingerprint)
    ]
    clock.lap("screen")
    extracted, set_aside = extract(config, to_extract, hashes, progress)
    clock.lap("extract")
    checkpoint("after-extract")

    titles = {i: rec.title for i, rec in before.items()} | {i: r.title for i, r in records.items()}
    harvests = getattr(source, "harvests", None) or {source.name: got}
    # What the databases that search a date window returned, for the next refresh to carry forward.
    windowed = {s.name for s in getattr(source, "sources", [source]) if getattr(s, "searches_windows", False)}
    changes = compute_changes(
        manifest.run_id,
        stored,
        state.decisions(),
        hashes,
        new_decisions,
        plan.withdrawn,
        set(plan.upserts),
        titles,
        revised_in=_revised_in(harvests, set(plan.upserts) & set(stored)),
        returned_before=_returned_before(request.returned_by, plan.withdrawn),
    )
    manifest.source = dict(got.manifest)
    manifest.identified = got.count
    # Records the source returned more than once in this run (PRISMA counts them as duplicates).
    manifest.pmid_repeats = getattr(source, "repeats", None)
    if manifest.pmid_repeats is None:
        manifest.pmid_repeats = dedup.duplicate_id_count(r.record_id for r in copies)
    manifest.databases = dict(getattr(source, "databases", None) or {source.name: got.count})
    manifest.repeats_by_reason = getattr(source, "repeats_by_reason", None)
    if isinstance(source, CrossCheckable):
        filtered = source.filtered_search()
        manifest.pubmed_cross_check = (
            crosscheck.summary(filtered, got.count, records.values(), results, config.screening)
            if filtered
            else {"skipped": "the config has no date or language criteria"}
        )
    manifest.searched = got.searched
    manifest.fetched = {
        "requested": got.requested,
        "new": len([p for p in plan.upserts if p not in stored]),
        "changed": len([p for p in plan.upserts if p in stored]),
        "unchanged": len(fetched) - len(plan.upserts) - len(deleted & set(fetched)),
        "extracted": len(extracted),
    }
    manifest.quarantined = [asdict(q) for q in got.quarantined]
    # Records extraction could not process: still screened and published, without mentions; no
    # extraction is stored for them, so the next run tries again.
    manifest.extraction_set_aside = [asdict(q) for q in set_aside] or None  # in run.json only when any
    clock.lap("changes")
    commit = CommitPlan(
        seen=sorted(current_set & (set(stored) | set(plan.upserts))),
        upserts=plan.upserts,
        withdrawn=plan.withdrawn,
        decisions=results,
        extracted=extracted,
        fingerprint=fingerprint,
        changes=changes,
        returned_by={
            name: sorted(set(h.current), key=record_order) for name, h in harvests.items() if name in windowed
        },
        # Which input file gave each record read now (its dataset part: outputs/datasets.py).
        source_files={record_id: got.file_of.get(record_id, "") for record_id in fetched if record_id not in deleted},
        file_order=list(got.files),
    )
    return commit, got.as_of


def _returned_before(returned_by, withdrawn) -> dict[str, str]:
    """record_id -> the databases (joined by " and ") that returned a withdrawn record at the last run."""
    by: dict[str, list[str]] = {}
    for name, ids in sorted((returned_by or {}).items()):
        for record_id in set(ids) & set(withdrawn):
            by.setdefault(record_id, []).append(name)
    return {record_id: " and ".join(names) for record_id, names in by.items()}


def _revised_in(harvests: dict, revised: set[str]) -> dict[str, str]:
    """record_id -> the databases (joined by " and ") that returned a revised record's new copy."""
    by: dict[str, list[str]] = {}
    for name, harvest in harvests.items():
        for record_id in {r.record_id for r in harvest.records} & revised:
            by.setdefault(record_id, []).append(name)
    return {record_id: " and ".join(names) for record_id, names in by.items()}


def plan_update(stored: dict[str, str], current: set[str], fetched: dict[str, Record], deleted: set[str]) -> UpdatePlan:
    """What a run changes in the stored records (pure).

    stored: record_id -> content hash of the active stored records; current: the record ids the
    search returns now; fetched: record_id -> what was fetched; deleted: record ids the source
    withdrew (PubMed's DeleteCitation).
    Returns upserts (new or changed records), their hashes, and withdrawn (record_id -> reason).
    """
    upserts, hashes = {}, {}
    for record_id, record in fetched.items():
        if record_id in deleted:
            continue
        digest = encode_record(record)[1]
        if stored.get(record_id) != digest:
            upserts[record_id], hashes[record_id] = record, digest
    withdrawn = {p: "no-longer-returned" for p in stored if p not in current}
    withdrawn.update({p: "deleted-citation" for p in deleted if p in stored})
    return UpdatePlan(upserts=upserts, hashes=hashes, withdrawn=withdrawn)


def compute_changes(
    run_id: str,
    old_hashes: dict[str, str],
    old_decisions: dict[str, ScreeningResult],
    new_hashes: dict[str, str],
    new_decisions: dict[str, ScreeningResult],
    withdrawn: dict[str, str],
    updated: set[str],
    titles: dict[str, str],
    revised_in: dict[str, str] | None = None,
    returned_before: dict[str, str] | None = None,
) -> list[dict]:
    """One row per record whose presence, content or decision changed in this run (pure).

    change: new, withdrawn, decision-changed (decision, reason or kept duplicate differ) or updated
    (revised in PubMed, same decision). newly_included: included now and not before.
    revised_in: record_id -> the database whose revised copy it is ("PubMed" when not given).
    returned_before: record_id -> the databases that returned a withdrawn record before (named in
    `why` when other than PubMed).
    All inputs are keyed on record_id; rows carry record_id and pmid.
    """
    rows = []
    for record_id in sorted(set(old_hashes) | set(new_hashes), key=record_order):
        old = old_decisions.get(record_id) if record_id in old_hashes else None
        new = new_decisions.get(record_id) if record_id in new_hashes else None
        revised = record_id in updated and record_id in old_hashes
        where = (revised_in or {}).get(record_id, "PubMed")
        if record_id not in old_hashes:
            change, why = "new", "first returned by the search; " + _describe(new)
        elif record_id not in new_hashes:
            reason = withdrawn.get(record_id, "no-longer-returned")
            why = WITHDRAWN_REASONS[reason]
            databases = (returned_before or {}).get(record_id, "PubMed")
            if reason == "no-longer-returned" and databases != "PubMed":
                why = f"no longer returned by the {databases} search"
            change = "withdrawn"
        elif _key(old) != _key(new):
            cause = (
                f"record revised in {where}"
                if revised
                else "screening outcome changed (rules, config or other records)"
            )
            change, why = "decision-changed", f"{cause}; now {_describe(new)}"
        elif revised:
            change, why = "updated", f"record revised in {where}; decision unchanged"
        else:
            continue
        rows.append(
            {
                "run_id": run_id,
                "record_id": record_id,
                "pmid": pmid_of(record_id),
                "change": change,
                "newly_included": new is not None
                and new.decision == Decision.INCLUDE
                and (old is None or old.decision != Decision.INCLUDE),
                "old_decision": old.decision.value if old else "",
                "new_decision": new.decision.value if new else "",
                "old_reason": old.reason if old else "",
                "new_reason": new.reason if new else "",
                "why": why,
                "title": titles.get(record_id, ""),
            }
        )
    return rows


def _key(result: ScreeningResult | None) -> tuple:
    return (result.decision, result.reason, result.duplicate_of) if result else ()


def _describe(result: ScreeningResult | None) -> str:
    if result is None:
        return "no decision"
    text = f"{result.decision.value} ({result.reason}"
    if result.field:
        text += f": {result.field} = {result.value!r}"
    if result.duplicate_of:
        text += f", duplicate of {display_id(result.duplicate_of)}"
    return text + ")"


def extractor_fingerprint(cfg: ExtractionConfig) -> str:
    """Changes whenever extraction could give other mentions: classes, lexicon contents, model, spaCy,
    linking vocabularies and the extraction code's version."""
    from importlib import metadata

    digest = hashlib.sha256()
    digest.update(
        json.dumps(
            {"classes": list(cfg.classes), "model": str(cfg.model or ""), "spacy": metadata.version("spacy")}
        ).encode()
    )
    for path in cfg.lexicons:
        digest.update(path.read_bytes())
    from pipeline.extraction.linking import fingerprint_parts  # the vocabularies: no spaCy import

    for part in fingerprint_parts():
        digest.update(part)
    if cfg.model is not None:
        for meta in sorted(cfg.model.glob("meta.json")):
            digest.update(meta.read_bytes())
    return digest.hexdigest()


PARALLEL_EXTRACTION_FROM = 300  # included records
DEFAULT_EXTRACTION_PROCESSES = 2


def extraction_processes(records: int, workers: int = 0, cpus: int | None = None) -> int:
    """How many processes the local engine extracts `records` records with.

    One below PARALLEL_EXTRACTION_FROM: a second process pays for its fork only on a few hundred
    abstracts (bench_ner: 101 -> 150/s). From there `[engine] workers` (or `--engine local
    --workers N`) when set, else min(2, CPU cores)."""
    if records < PARALLEL_EXTRACTION_FROM:
        return 1
    if workers:
        return workers
    return min(DEFAULT_EXTRACTION_PROCESSES, cpus or os.cpu_count() or 1)


def _extract(
    config: Config, records: list[Record], hashes: dict[str, str], progress: Progress
) -> tuple[dict[str, tuple[str, list[Mention]]], list[SetAside]]:
    """Mentions of each record that extraction processed, and the records it set aside."""
    if not records:
        progress("extract", 0, 0)
        return {}, []
    from pipeline.extraction import ner as extract  # spaCy loads only when something needs extracting

    nlp = extract.load_nlp(config.extraction)
    found: dict[str, tuple[str, list[Mention]]] = {r.record_id: (hashes[r.record_id], []) for r in records}
    processes = extraction_processes(len(records), config.engine.workers if config.engine.kind == "local" else 0)
    log.info("extracting %d records in %d process%s", len(records), processes, "" if processes == 1 else "es")
    set_aside: list[SetAside] = []
    for mention in extract.extract_mentions(
        nlp, records, config.extraction.classes, n_process=processes, set_aside=set_aside.append
    ):
        found[mention.record_id][1].append(mention)
    for item in set_aside:
        log.warning("record %s set aside by entity extraction: %s", item.record_id, item.reason)
        found.pop(item.record_id, None)
    progress("extract", len(records), len(records))
    return found, sorted(set_aside, key=lambda item: record_order(item.record_id))


def package_versions() -> dict:
    """Python's and the key packages' versions, for run.json."""
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
