"""Bring a review's state up to date with PubMed, then publish the tables from that state.

`sync` is what `run` (full) and `refresh` (incremental) both do, under the review's lock:

1. Recover: runs left "running" by a dead process are marked crashed; a run that committed its state
   but died before publishing has its outputs published now.
2. Search. Always the full query for PMIDs only (one esearch, IDs only: the current set, which tells
   which records PubMed no longer returns). An incremental refresh adds two date-window searches,
   from the last good run's watermark minus `[refresh] overlap_days` to tomorrow: entry date
   (datetype=edat, so old papers newly indexed are caught) and modification date (datetype=mdat,
   records revised since).
3. Fetch only what is needed: PMIDs of the current set not stored yet (the new entries, and any
   record that newly matches the query whatever its entry date, so nothing falls in a gap), plus
   stored PMIDs the mdat window lists. A re-fetched record counts as changed only when the content
   hash of its parsed form differs from the stored one. A full run fetches everything.
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
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from importlib import metadata
from pathlib import Path
from typing import Callable

from pipeline.screening import crosscheck
from pipeline.sources.pubmed_xml import local as local_source
from pipeline.screening import rules as screen
from pipeline.outputs import tables
from pipeline.config import Config, ExtractionConfig
from pipeline.engine.crashpoints import checkpoint
from pipeline.sources.pubmed.eutils import Client, Settings
from pipeline.sources.pubmed.fetch import fetch_records
from pipeline.store.lock import ReviewLock
from pipeline.models import Decision, DeletedCitation, Mention, Quarantined, Record, ScreeningResult
from pipeline.engine.publish import publish, republish
from pipeline.sources.archive import ArchiveSource, RawArchive, RecordingSource, find_archive, replayed_date
from pipeline.sources.pubmed.search import build_query, run_filtered_search, run_search, run_window_search
from pipeline.store.state import StateStore, content_hash, record_to_json
from pipeline.outputs.files import write_json
from pipeline.screening.screen import screen_records
from pipeline.screening import dedup

log = logging.getLogger(__name__)

# progress(stage, done, total): called as work advances; the CLI decides how to show it.
Progress = Callable[[str, int, int], None]
VERSIONED_PACKAGES = ("pipeline", "biopython", "spacy", "pandas", "pyarrow", "numpy", "click")

FULL, INCREMENTAL = "full", "incremental"
WITHDRAWN_REASONS = {
    "no-longer-returned": "no longer returned by the PubMed search",
    "deleted-citation": "deleted from PubMed (DeleteCitation)",
}

def sync(config: Config, out_dir: Path | None = None, settings: Settings | None = None,
         progress: Progress | None = None, now: Callable[[], datetime] | None = None,
         incremental: bool = True, wait: float | None = None, offline: bool = False,
         from_run: str | None = None) -> dict:
    """Update the review's state from PubMed and publish its outputs; returns the run manifest.

    incremental=False is `run` (search and fetch everything); True is `refresh`, which is a full run
    when there is no good run yet or the query changed. Raises RunLocked when another run holds the
    review for longer than `wait` seconds (default `[refresh] lock_wait`), and any other
    PipelineError after recording the failed run (previous state and tables stay as they were).
    `offline`/`from_run`: answer E-utilities from a past run's raw archive (see replay.py).
    """
    now = now or (lambda: datetime.now(timezone.utc))
    out = Path(out_dir) if out_dir is not None else config.output.dir
    settings = settings or Settings.from_env(timeout=config.retrieval.timeout,
                                             max_attempts=config.retrieval.max_attempts)
    progress = progress or _no_progress
    command = "refresh" if incremental else "run"
    started = now()
    started_iso = started.isoformat(timespec="seconds")
    run_id = started.strftime("%Y%m%dT%H%M%S%fZ")
    wait = config.refresh.lock_wait if wait is None else wait
    with ReviewLock(out, config.review.name, command, wait, started_at=started_iso) as lock, \
            StateStore.open(out) as state:
        crashed = state.mark_crashed()
        if crashed:
            log.warning("runs %s stopped before committing; their work is redone now", ", ".join(crashed))
        carried = republish(state, out, config)
        query = build_query(config.search)
        previous = state.last_good_run()
        mode, why_full = _mode(incremental, previous, query)
        manifest = {
            "run_id": run_id,
            "status": "running",
            "command": command,
            "mode": mode,
            "review": config.review.name,
            "config": {"path": str(config.path), "sha256": config.sha256},
            **({"eutils_base_url": settings.base_url} if config.search.source == "pubmed" else {}),
            "query": query,
            "offline": bool(offline or from_run),
            "started_at": started_iso,
            "versions": package_versions(),
            "recovered": {"crashed_runs": crashed, "republished_runs": carried,
                          "stale_lock": lock.cleared},
        }
        if why_full:
            manifest["full_because"] = why_full
            log.info("refresh: a full run, because %s", why_full)
        window = None
        if mode == INCREMENTAL:
            window = _window(previous["watermark"], config.refresh.overlap_days, started.date())
            window["since_run"] = previous["run_id"]
            manifest["window"] = window
        state.begin_run(run_id, command, started_iso, query, os.getpid())
        checkpoint("after-begin")
        try:
            # Local PubMed XML files are their own raw data: nothing to replay, nothing to reach.
            replay = (offline or from_run) and config.search.source == "pubmed"
            replay_from = find_archive(out, from_run) if replay else None
            manifest.update(_execute(config, state, out, settings, run_id, query, window, progress, replay_from))
            manifest["status"] = "completed"
            manifest["finished_at"] = now().isoformat(timespec="seconds")
            commit = manifest.pop("_commit")
            # A replay holds PubMed as of the replayed run: its date is the watermark, so a later
            # refresh still asks for everything entered since then.
            watermark = replayed_date(replay_from) if replay_from else started.date()
            state.commit_run(run_id, watermark=watermark.isoformat(), finished_at=manifest["finished_at"],
                             manifest=manifest, hook=checkpoint, **commit)
            checkpoint("after-commit")
        except BaseException as exc:
            manifest.pop("_commit", None)
            manifest["status"] = "failed"
            manifest["error"] = str(exc) or type(exc).__name__
            manifest["finished_at"] = now().isoformat(timespec="seconds")
            state.fail_run(run_id, manifest["finished_at"], manifest["error"], manifest)
            write_json(out / "run.json", manifest)
            raise
        published = carried + [run_id]
        manifest = publish(state, out, config, manifest, published)
        checkpoint("after-publish")
        state.mark_published([run_id])
    return manifest


def _mode(incremental: bool, previous: dict | None, query: str) -> tuple[str, str]:
    if not incremental:
        return FULL, ""
    if previous is None:
        return FULL, "the review has no completed run yet"
    if previous["query"] != query:
        return FULL, "the search query changed since the last completed run"
    return INCREMENTAL, ""


def _window(watermark: str, overlap_days: int, today: date) -> dict:
    """The entry/modification date window of an incremental search, as PubMed wants the dates."""
    start = date.fromisoformat(watermark) - timedelta(days=overlap_days)
    # Tomorrow: NCBI dates records in US Eastern time, which can be a day behind or ahead of UTC.
    end = today + timedelta(days=1)
    return {"watermark": watermark, "overlap_days": overlap_days,
            "mindate": start.strftime("%Y/%m/%d"), "maxdate": end.strftime("%Y/%m/%d")}


@dataclass
class _Gathered:
    """What a source contributes to a run, before the state is updated: the PMIDs that answer the
    query now, the records read or fetched, and the bookkeeping for run.json."""

    current: list[str]                  # every PMID the query selects now
    identified: int                     # PRISMA's records identified
    copies: list[Record]                # records fetched or read (a PMID may repeat)
    deleted: set[str]                   # PMIDs withdrawn with DeleteCitation
    quarantined: list[Quarantined]
    requested: int                      # records asked for
    searched: dict
    manifest: dict                      # source-specific run.json entries
    filtered: object = None             # the filtered PubMed search for the cross-check


def _execute(config: Config, state: StateStore, out: Path, settings: Settings, run_id: str, query: str,
             window: dict | None, progress: Progress, replay_from: Path | None = None) -> dict:
    stored = state.active_hashes()
    if config.search.source == "pubmed-xml":
        got = _from_local_files(config, query, progress)
    else:
        got = _from_eutils(config, stored, out, settings, run_id, query, window, progress, replay_from)
    for item in got.quarantined:
        log.warning("quarantined record %s from %s: %s", item.pmid or "?", item.source, item.reason)
    checkpoint("after-fetch")
    copies, deleted, current_set = got.copies, got.deleted, set(got.current)
    fetched = dedup.distinct_by_pmid(copies)

    plan = plan_update(stored, current_set, fetched, deleted)
    before = {pmid: rec for pmid, (rec, _) in state.active_records().items()}
    records = {pmid: rec for pmid, rec in before.items() if pmid not in plan["withdrawn"]}
    records.update(plan["upserts"])
    hashes = {pmid: h for pmid, h in stored.items() if pmid not in plan["withdrawn"]}
    hashes.update(plan["hashes"])
    results = screen_records(records.values(), config.screening)
    new_decisions = {r.pmid: r for r in results}

    fingerprint = extractor_fingerprint(config.extraction)
    keys = state.extraction_keys()
    to_extract = [records[r.pmid] for r in results
                  if r.decision == Decision.INCLUDE and keys.get(r.pmid) != (hashes[r.pmid], fingerprint)]
    extracted = _extract(config, to_extract, hashes, progress)
    checkpoint("after-extract")

    titles = {pmid: rec.title for pmid, rec in before.items()} | {p: r.title for p, r in records.items()}
    changes = compute_changes(run_id, stored, state.decisions(), hashes, new_decisions,
                              plan["withdrawn"], set(plan["upserts"]), titles)
    if config.search.source == "pubmed-xml":
        cross_check = {"skipped": "the records come from local PubMed XML files, not a PubMed search"}
    elif got.filtered:
        cross_check = crosscheck.summary(got.filtered, got.identified, records.values(), results, config.screening)
    else:
        cross_check = {"skipped": "the config has no date or language criteria"}
    return {
        **got.manifest,
        "identified": got.identified,
        # PMIDs efetch returned more than once in this run (PRISMA counts them as duplicates).
        "pmid_repeats": dedup.duplicate_pmid_count(r.pmid for r in copies),
        "pubmed_cross_check": cross_check,
        "searched": got.searched,
        "fetched": {"requested": got.requested, "new": len([p for p in plan["upserts"] if p not in stored]),
                    "changed": len([p for p in plan["upserts"] if p in stored]),
                    "unchanged": len(fetched) - len(plan["upserts"]) - len(deleted & set(fetched)),
                    "extracted": len(extracted)},
        "quarantined": [asdict(q) for q in got.quarantined],
        "_commit": {"seen": sorted(current_set & (set(stored) | set(plan["upserts"]))),
                    "upserts": plan["upserts"], "withdrawn": plan["withdrawn"], "decisions": results,
                    "extracted": extracted, "fingerprint": fingerprint, "changes": changes},
    }


def _from_eutils(config: Config, stored: dict[str, str], out: Path, settings: Settings, run_id: str,
                 query: str, window: dict | None, progress: Progress, replay_from: Path | None = None) -> _Gathered:
    """Search PubMed (plus the date windows of an incremental run) and fetch what is needed."""
    # Every raw answer is archived by the recording source, or comes from a past run's archive.
    archive_dir = replay_from or out / "raw" / run_id
    client = ArchiveSource(replay_from) if replay_from else RecordingSource(Client(settings), RawArchive(archive_dir))
    progress("search", 0, 1)
    found = run_search(client, query)
    filtered = run_filtered_search(client, query, config.screening)
    current = list(found.pmids)
    current_set = set(current)
    searched = {"current": found.count}
    if window is None:
        to_fetch = current
    else:
        start, end = (datetime.strptime(window[k], "%Y/%m/%d").date() for k in ("mindate", "maxdate"))
        entered = run_window_search(client, query, "edat", start, end)
        modified = run_window_search(client, query, "mdat", start, end)
        searched.update(entered=len(entered), modified=len(modified))
        outside = sorted(set(entered) - current_set, key=tables.pmid_key)
        if outside:
            log.warning("%d PMIDs entered since %s are not in the full search (PubMed updating?): %s",
                        len(outside), window["mindate"], ", ".join(outside[:10]))
        revised = set(modified) & current_set & set(stored)
        to_fetch = [p for p in current if p not in stored or p in revised]
    progress("search", 1, 1)
    checkpoint("after-search")
    log.info("PubMed: %d records for the query; fetching %d", found.count, len(to_fetch))

    copies: list[Record] = []
    deleted: set[str] = set()
    quarantined: list[Quarantined] = []
    done = 0

    def on_batch(n: int) -> None:
        nonlocal done
        done += n
        progress("fetch", done, len(to_fetch))
        checkpoint("mid-fetch")

    for item in fetch_records(client, to_fetch, config.retrieval.batch_size, on_batch):
        if isinstance(item, Record):
            copies.append(item)
        elif isinstance(item, Quarantined):
            quarantined.append(item)
        elif isinstance(item, DeletedCitation):
            deleted.add(item.pmid)
    return _Gathered(
        current=current, identified=found.count, copies=copies, deleted=deleted, quarantined=quarantined,
        requested=len(to_fetch), searched=searched, filtered=filtered,
        manifest={
            "source": "pubmed",
            "query_translation": found.query_translation,
            "pubmed_messages": list(found.warnings),
            "requests": {"made": client.requests_made, "retried": client.retries},
            "raw_archive": str(archive_dir.relative_to(out)),
        },
    )


def _from_local_files(config: Config, query: str, progress: Progress) -> _Gathered:
    """Read the PubMed XML files of search.paths (every run reads them all) and keep the records
    the query matches. Files apply in order, as NCBI means baseline and update files to: a later
    version of a PMID replaces an earlier one, a DeleteCitation removes it."""
    files = local_source.expand_paths(config.search.paths)
    selection = local_source.LocalSelection()
    for number, path in enumerate(files, start=1):
        local_source.select_local(local_source.iter_local_records([path]), config.search, into=selection)
        progress("read", number, len(files))
    checkpoint("after-search")
    current = sorted(selection.records, key=tables.pmid_key)
    log.info("local PubMed XML: %d of %d records match %s", len(current), selection.read, query)
    return _Gathered(
        current=current, identified=len(current), copies=[selection.records[p] for p in current],
        deleted=selection.deleted, quarantined=selection.quarantined, requested=len(current),
        searched={"current": len(current), "records_read": selection.read, "files": len(files)},
        manifest={
            "source": "pubmed-xml",
            "query_translation": query,
            "pubmed_messages": [],
            "local_files": [{"path": str(f), "bytes": f.stat().st_size} for f in files],
            "deleted_citations": len(selection.deleted),
        },
    )


def plan_update(stored: dict[str, str], current: set[str], fetched: dict[str, Record],
                deleted: set[str]) -> dict:
    """What a run changes in the stored records (pure).

    stored: pmid -> content hash of the active stored records; current: the PMIDs the search returns
    now; fetched: what was fetched; deleted: PMIDs PubMed marked with DeleteCitation.
    Returns upserts (new or changed records), their hashes, and withdrawn (pmid -> reason).
    """
    upserts, hashes = {}, {}
    for pmid, record in fetched.items():
        if pmid in deleted:
            continue
        digest = content_hash(record_to_json(record))
        if stored.get(pmid) != digest:
            upserts[pmid], hashes[pmid] = record, digest
    withdrawn = {p: "no-longer-returned" for p in stored if p not in current}
    withdrawn.update({p: "deleted-citation" for p in deleted if p in stored})
    return {"upserts": upserts, "hashes": hashes, "withdrawn": withdrawn}


def compute_changes(run_id: str, old_hashes: dict[str, str], old_decisions: dict[str, ScreeningResult],
                    new_hashes: dict[str, str], new_decisions: dict[str, ScreeningResult],
                    withdrawn: dict[str, str], updated: set[str], titles: dict[str, str]) -> list[dict]:
    """One row per record whose presence, content or decision changed in this run (pure).

    change: new, withdrawn, decision-changed (decision, reason or kept duplicate differ) or updated
    (revised in PubMed, same decision). newly_included: included now and not before.
    """
    rows = []
    for pmid in sorted(set(old_hashes) | set(new_hashes), key=tables.pmid_key):
        old = old_decisions.get(pmid) if pmid in old_hashes else None
        new = new_decisions.get(pmid) if pmid in new_hashes else None
        revised = pmid in updated and pmid in old_hashes
        if pmid not in old_hashes:
            change, why = "new", "first returned by the search; " + _describe(new)
        elif pmid not in new_hashes:
            change, why = "withdrawn", WITHDRAWN_REASONS[withdrawn.get(pmid, "no-longer-returned")]
        elif _key(old) != _key(new):
            cause = ("record revised in PubMed" if revised
                     else "screening outcome changed (rules, config or other records)")
            change, why = "decision-changed", f"{cause}; now {_describe(new)}"
        elif revised:
            change, why = "updated", "record revised in PubMed; decision unchanged"
        else:
            continue
        rows.append({
            "run_id": run_id, "pmid": pmid, "change": change,
            "newly_included": new is not None and new.decision == Decision.INCLUDE and (
                old is None or old.decision != Decision.INCLUDE),
            "old_decision": old.decision.value if old else "", "new_decision": new.decision.value if new else "",
            "old_reason": old.reason if old else "", "new_reason": new.reason if new else "",
            "why": why, "title": titles.get(pmid, ""),
        })
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
        text += f", duplicate of {result.duplicate_of}"
    return text + ")"


def extractor_fingerprint(cfg: ExtractionConfig) -> str:
    """Changes whenever extraction could give other mentions: classes, lexicon contents, model, spaCy,
    linking vocabularies and the extraction code's version."""
    from importlib import metadata
    digest = hashlib.sha256()
    digest.update(json.dumps({"classes": list(cfg.classes), "model": str(cfg.model or ""),
                              "spacy": metadata.version("spacy")}).encode())
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


def _extract(config: Config, records: list[Record], hashes: dict[str, str],
             progress: Progress) -> dict[str, tuple[str, list[Mention]]]:
    if not records:
        progress("extract", 0, 0)
        return {}
    from pipeline.extraction import ner as extract  # spaCy loads only when something needs extracting
    nlp = extract.load_nlp(config.extraction)
    found: dict[str, tuple[str, list[Mention]]] = {r.pmid: (hashes[r.pmid], []) for r in records}
    # A second process pays for its fork only on a few hundred abstracts (bench_ner: 101 -> 150/s).
    processes = min(2, os.cpu_count() or 1) if len(records) >= PARALLEL_EXTRACTION_FROM else 1
    for mention in extract.extract_mentions(nlp, records, config.extraction.classes, n_process=processes):
        found[mention.pmid][1].append(mention)
    progress("extract", len(records), len(records))
    return found


def package_versions() -> dict:
    """Python's and the key packages' versions, for run.json."""
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _no_progress(stage: str, done: int, total: int) -> None:
    pass
