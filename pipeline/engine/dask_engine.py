"""`--engine dask`: a review over local PubMed XML files, read and extracted file by file on a cluster.

Scan: one task per input file lists its PMIDs, so that each file's task knows which of its
records a later file replaces (those are neither screened nor extracted: at baseline scale the
update files revise many baseline records).

Map: one task per input file (engine/dask_tasks.py) parses it, keeps the records matching the
query, applies the screening rules and extracts mentions from those the rules include, and writes
the file's part (Parquet, atomically, keyed by the file's content hash and the fingerprints).
Finished parts are reused by the next run, so a rerun after a crash or Ctrl-C processes only the
files left. Dask retries a task whose worker died; a file that still fails is reported with its
reason and the run fails (exit 4) before committing anything.

Reduce: the parts are applied in the files' order exactly as the local source applies the files
(sources/pubmed_xml/local.py: a later version of a PMID replaces an earlier one, a DeleteCitation
removes it), giving the same Harvest. From there the run is the local engine's own: sync.py
deduplicates and screens the whole corpus, commits to the state store and publishes, taking the
mentions of the records it would extract from the parts instead of running spaCy. So records.csv,
evidence.csv and mentions.csv are byte for byte those of `--engine local`.

The client reads the files' parts from the same folder the workers write them to
(`<output dir>/parts`): a cluster needs a filesystem shared by the client and the workers, and the
input files at the same paths on every worker (see the README's deployment section).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.config import Config, EngineConfig
from pipeline.errors import ClusterUnavailable, FilesFailed
from pipeline.engine.dask_tasks import (
    ExtractorPlugin,
    LoadedPart,
    PartInfo,
    file_tasks,
    load_part,
    process_file,
    scan_file,
    superseded_pmids,
)
from pipeline.engine.sync import Progress, extractor_fingerprint
from pipeline.models import Mention, Quarantined, Record, SetAside, record_order
from pipeline.sources.base import Harvest, SearchRequest
from pipeline.sources.pubmed_xml.local import LocalSelection, LocalXmlSource, expand_paths
from pipeline.store.codec import record_from_json

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 30  # seconds to reach a scheduler before giving up
TASK_RETRIES = 2  # a task whose worker died (or that raised) runs again up to this often
MAX_LISTED_FAILURES = 10


# The worker's statistical profiler samples every thread's stack every 10 ms, for the dashboard's
# profile page only; on spaCy's deep stacks it cost 12% of the tasks' CPU (bench dask's input,
# dask-1, profiler on vs off alternating: 61.3 / 62.9 vs 52.9 / 56.0 task CPU s). Off in the
# clusters this engine starts; the README says how to turn it off on a cluster started by hand.
LOCAL_WORKER_CONFIG = {"distributed.worker.profile.enabled": False}


class DaskEngine:
    """The sync.Engine for a Dask cluster: a context manager that owns the client (and the local
    cluster when it started one)."""

    kind = "dask"

    def __init__(self, engine: EngineConfig):
        self.config = engine
        self.client = None
        self.cluster = None
        self.parts_infos: list[PartInfo] = []
        self.mentions: dict[tuple[str, str], list[Mention]] = {}
        self.timings: dict[str, float] = {}
        self.extracted_on_client = 0
        self._included: set[tuple[str, str]] = set()
        self.set_aside: dict[tuple[str, str], SetAside] = {}
        self.workers = 0
        self.steal_requests: int | None = None
        self.address = ""
        self.dashboard = ""
        self._closing: threading.Thread | None = None

    # -- the cluster ----------------------------------------------------------------------------
    def __enter__(self) -> "DaskEngine":
        import dask
        from distributed import Client, LocalCluster

        # Importing distributed sets its loggers to INFO (every worker's start and stop): keep them
        # under the application's level unless it asked for debugging.
        if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
            logging.getLogger("distributed").setLevel(max(logging.WARNING, logging.getLogger().getEffectiveLevel()))
        started = time.perf_counter()
        if self.config.scheduler:
            try:
                self.client = Client(self.config.scheduler, timeout=CONNECT_TIMEOUT)
            except (OSError, TimeoutError) as exc:
                raise ClusterUnavailable(
                    f"the Dask scheduler at {self.config.scheduler} did not answer within {CONNECT_TIMEOUT} s "
                    f"({type(exc).__name__}: {exc}). Start it with `dask scheduler` (and workers with "
                    "`dask worker ADDRESS`), check the address, or leave out --scheduler to start a local "
                    "cluster."
                ) from None
        else:
            n = self.config.workers or os.cpu_count() or 1
            # One thread per worker process: parsing and spaCy hold the GIL, so processes are the
            # unit of parallelism. 127.0.0.1: a local cluster listens on no other interface.
            with dask.config.set(LOCAL_WORKER_CONFIG):  # the nannies pass it to their workers
                self.cluster = LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0"
                )
            self.client = Client(self.cluster)
        self.address = self.client.scheduler.address
        self.dashboard = _dashboard(self.client)
        self.timings["cluster_start"] = time.perf_counter() - started
        log.info(
            "Dask scheduler %s, %s",
            self.address,
            f"dashboard {self.dashboard}" if self.dashboard else "no dashboard (it needs `pip install bokeh`)",
        )
        return self

    def __exit__(self, *exc) -> None:
        if self._closing is not None:
            self._closing.join()
        self._close()

    def _close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        self.client = self.cluster = None

    def release_cluster(self) -> None:
        """Once the map is done the rest of the run is the client's own (reduce, store, tables):
        close the connection, and the local cluster this engine started, in the background. Its
        workers hold the model (~0.8 GB each) and would otherwise sit beside the client's largest
        allocations, publishing's; their shutdown (~1 s) runs while the client works. A cluster
        started elsewhere is its owner's to stop."""
        if self.client is not None and self._closing is None:
            self._closing = threading.Thread(target=self._close_quietly, name="dask-engine-close", daemon=True)
            self._closing.start()

    def _close_quietly(self) -> None:
        try:
            self._close()
        except Exception as exc:  # noqa: BLE001  (the run goes on; __exit__ tries once more and reports)
            log.warning(
                "closing the Dask cluster failed (%s: %s); trying again at the end of the run", type(exc).__name__, exc
            )

    # -- sync.Engine ----------------------------------------------------------------------------
    def open_source(self, config: Config, out: Path, run_id: str) -> "DaskXmlSource":
        return DaskXmlSource(self, config, out / "parts")

    def extract(
        self, config: Config, records: list[Record], hashes: dict[str, str], progress: Progress
    ) -> tuple[dict[str, tuple[str, list[Mention]]], list[SetAside]]:
        """The mentions the local engine would extract for `records`, taken from the parts.

        Every record the engine asks for was included by the rules in its file's task, so its
        mentions are in that file's part under (record_id, content hash). One can be missing when
        the task skipped it as replaced by a later file whose version of that PMID the parser then
        quarantined (scan_file lists PMIDs only): it is extracted here rather than published
        without mentions."""
        found: dict[str, tuple[str, list[Mention]]] = {}
        set_aside: list[SetAside] = []
        missing = []
        for record in records:
            key = (record.record_id, hashes[record.record_id])
            if key in self.set_aside:
                set_aside.append(self.set_aside[key])
            elif key in self.mentions or key in self._included:
                found[record.record_id] = (key[1], list(self.mentions.get(key, ())))
            else:
                missing.append(record)
        if missing:
            log.warning("%d records had no extraction in their file's part; extracting them here", len(missing))
            from pipeline.engine.sync import _extract

            more, extra = _extract(config, missing, hashes, lambda *a: None)  # logs its own set-asides
            found.update(more)
            self.extracted_on_client += len(missing)
        for item in set_aside:
            log.warning("record %s set aside by entity extraction: %s", item.record_id, item.reason)
        if missing:
            set_aside += extra
        # Handed over: the run keeps them until the commit; a copy here would outlive it.
        self.mentions, self._included, self.set_aside = {}, set(), {}
        progress("extract", len(records), len(records))
        return found, sorted(set_aside, key=lambda item: record_order(item.record_id))

    def summary(self) -> dict:
        """run.json "engine"."""
        processed = [p for p in self.parts_infos if not p.reused]
        stages = {}
        for stage in ("hash", "parse", "screen", "model_load", "extract", "write", "cpu", "model_load_cpu"):
            stages[stage] = round(sum(p.timings.get(stage, 0.0) for p in self.parts_infos), 3)
        peaks: dict[str, float] = {}
        loads: dict[str, int] = {}
        for p in processed:
            peaks[p.worker] = max(peaks.get(p.worker, 0.0), p.peak_rss_mb)
            loads[p.worker] = max(loads.get(p.worker, 0), p.model_loads)
        return {
            "kind": "dask",
            "scheduler": self.config.scheduler or "local cluster",
            "workers": self.workers,
            "files": len(self.parts_infos),
            "files_processed": len(processed),
            "files_reused": len(self.parts_infos) - len(processed),
            "records_read": sum(p.records for p in self.parts_infos),
            # Extracted by the tasks: the version of every PMID the files' order keeps, when the
            # rules include it; the versions later files replace are skipped (records_superseded).
            "records_extracted": sum(p.included for p in processed),
            "records_superseded": sum(p.superseded for p in processed),
            "extracted_on_client": self.extracted_on_client,
            "task_seconds": stages,
            "seconds": {k: round(v, 3) for k, v in self.timings.items()},
            "peak_rss_mb_per_worker": dict(sorted(peaks.items())),
            "model_loads_per_worker": dict(sorted(loads.items())),
            "gc_enabled_after_every_task": all(p.gc_enabled for p in processed),
            "steal_requests": self.steal_requests,
            "parts": "parts",
        }

    # -- map and reduce -------------------------------------------------------------------------
    def map_files(
        self, config: Config, files: list[Path], parts: Path, progress: Progress
    ) -> tuple[list[PartInfo], list[LoadedPart]]:
        """One task per file, the largest files first; returns their PartInfo and their parts, read
        as each task completes, in the files' order, or raises FilesFailed.

        Largest first: with one task per file the run cannot end before its largest file does, so
        starting those early keeps the last wave short (the small files fill the gaps). Reading each
        part as its task completes keeps the client busy while the workers are, instead of reading
        them all after the last task."""
        from distributed import as_completed

        fingerprint = extractor_fingerprint(config.extraction)
        plugin = ExtractorPlugin(config.extraction, fingerprint)
        self.client.register_plugin(plugin, name=plugin.name)
        self.workers = len(self.client.scheduler_info(n_workers=-1)["workers"])
        _clear_unfinished(parts)
        run_token = uuid.uuid4().hex[:12]  # two reviews sharing a cluster never share a task key
        order = submission_order(files)
        started = time.perf_counter()
        superseded = superseded_pmids(self._scan(files, parts, order, run_token, progress))
        self.timings["scan"] = time.perf_counter() - started
        tasks = file_tasks(config, files, parts, fingerprint, superseded)
        started = time.perf_counter()
        steals = _steal_requests(self.client)
        # client.map gives its tasks priorities in the order of its list: the scheduler starts them so.
        futures = self.client.map(
            process_file,
            [tasks[i] for i in order],
            key=[f"pipeline-file-{run_token}-{i}" for i in order],
            retries=TASK_RETRIES,
            pure=False,
        )
        index = {f.key: i for f, i in zip(futures, order)}
        results: list[PartInfo | None] = [None] * len(tasks)
        loaded: list[LoadedPart | None] = [None] * len(tasks)
        failures: list[tuple[int, str]] = []
        done = records = 0
        loading = 0.0
        try:
            for future in as_completed(futures):
                i = index[future.key]
                if future.status == "error":
                    exc = future.exception()
                    failures.append((i, f"{type(exc).__name__}: {exc}"))
                else:
                    results[i] = future.result()
                    records += results[i].records
                    if not failures:  # a failed run reduces nothing: stop reading parts
                        t = time.perf_counter()
                        loaded[i] = load_part(parts / results[i].key, results[i].path)
                        loading += time.perf_counter() - t
                done += 1
                # Records are known file by file, as each part is done: a count without a total.
                progress("records", records, -1)
                progress("read", done, len(tasks))
        finally:
            for future in futures:
                future.release()
        self.timings["map"] = time.perf_counter() - started
        self.timings["load_parts"] = loading
        if steals is not None:
            self.steal_requests = max(0, (_steal_requests(self.client) or 0) - steals)
        if failures:
            failures.sort()
            listed = "; ".join(f"{tasks[i].path}: {why}" for i, why in failures[:MAX_LISTED_FAILURES])
            more = len(failures) - MAX_LISTED_FAILURES
            raise FilesFailed(
                f"{len(failures)} of {len(tasks)} input files failed on the cluster "
                f"(after {TASK_RETRIES} retries): {listed}{f'; and {more} more' if more > 0 else ''}. "
                f"Nothing was committed; the {len(tasks) - len(failures)} finished files are kept in "
                f"{parts} and reused when the run is started again."
            )
        return results, loaded  # type: ignore[return-value]

    def _scan(self, files: list[Path], parts: Path, order: list[int], run_token: str, progress: Progress) -> list:
        """Every file's PMIDs (scan_file), in the files' order. A file whose scan fails counts as
        holding none (its task then fails and is reported with the reason): nothing is skipped for
        it, so a failed scan costs extraction, never a record's mentions."""
        from distributed import as_completed

        futures = self.client.map(
            scan_file,
            [str(files[i]) for i in order],
            parts=str(parts),
            key=[f"pipeline-scan-{run_token}-{i}" for i in order],
            retries=TASK_RETRIES,
            pure=False,
        )
        index = {f.key: i for f, i in zip(futures, order)}
        scans = [np.empty(0, dtype=np.int64)] * len(files)
        try:
            for done, future in enumerate(as_completed(futures), 1):
                if future.status != "error":
                    scans[index[future.key]] = future.result()
                progress("scan", done, len(files))
        finally:
            for future in futures:
                future.release()
        return scans

    def reduce(self, loaded: list[LoadedPart]) -> LocalSelection:
        """The parts applied in the files' order (see apply_parts); keeps what extract() needs."""
        started = time.perf_counter()
        reduced = apply_parts(loaded)
        self._included, self.mentions, self.set_aside = reduced.included, reduced.mentions, reduced.set_aside
        self.timings["reduce"] = time.perf_counter() - started
        return reduced.selection


@dataclass
class Reduced:
    """What the files' parts, applied in order, give: the local source's selection, and the
    extraction of the record versions it kept."""

    selection: LocalSelection
    included: set[tuple[str, str]]  # (record_id, content hash) of kept versions the rules included
    mentions: dict[tuple[str, str], list[Mention]]  # of those versions (none: no key)
    set_aside: dict[tuple[str, str], SetAside]  # of those versions


def apply_parts(parts: Sequence[LoadedPart]) -> Reduced:
    """The parts applied in the files' order, as select_local applies the files' items: a later
    version of a PMID replaces an earlier one, a later version that no longer matches the query
    removes it, a DeleteCitation removes it (until a later version comes back). Only the versions
    kept are read from their parts' files and decoded, part by part."""
    latest: dict[str, tuple[int, int, str, str, bool]] = {}  # pmid -> (part, row, content hash, record_id, included)
    selection = LocalSelection()
    mentions: dict[tuple[str, str], list[Mention]] = {}
    set_aside: dict[tuple[str, str], SetAside] = {}
    for index, part in enumerate(parts):
        for row, (kind, pmid, record_id, matched, included, digest, _, reason, source) in enumerate(part.items):
            if kind == "record":
                selection.read += 1
                if matched:
                    latest[pmid] = (index, row, digest, record_id, bool(included))
                    selection.files[pmid] = part.path
                    selection.deleted.discard(pmid)
                else:
                    latest.pop(pmid, None)
            elif kind == "deleted":
                latest.pop(pmid, None)
                selection.deleted.add(pmid)
            else:
                selection.quarantined.append(Quarantined(pmid=pmid, reason=reason, source=source))
        # The same version of a record in two files has the same mentions: one copy is kept.
        mentions.update(part.mentions)
        for digest, item in part.set_aside:
            set_aside[(item.record_id, digest)] = item
    # What the tasks extracted, mentions or none, for the versions the files' order kept.
    included = {(record_id, digest) for _, _, digest, record_id, ok in latest.values() if ok}
    kept: dict[int, list[tuple[int, str]]] = {}
    for pmid, (index, row, *_) in latest.items():
        kept.setdefault(index, []).append((row, pmid))
    decoded = {}
    for index, wanted in kept.items():
        texts = parts[index].record_texts([row for row, _ in wanted])
        decoded.update((pmid, record_from_json(text)) for (_, pmid), text in zip(wanted, texts))
    selection.records = {pmid: decoded[pmid] for pmid in latest}
    return Reduced(
        selection=selection,
        included=included,
        mentions={key: found for key, found in mentions.items() if key in included},
        set_aside={key: item for key, item in set_aside.items() if key in included},
    )


def submission_order(files: list[Path]) -> list[int]:
    """The files' indexes, largest file first (ties, and files that cannot be read, in the files' order)."""

    def size(i: int) -> int:
        try:
            return files[i].stat().st_size
        except OSError:  # the task reports it with its reason
            return 0

    return sorted(range(len(files)), key=lambda i: (-size(i), i))


def _steal_requests(client) -> int | None:
    """The scheduler's count of work-stealing requests so far (None when it keeps none)."""

    def count(dask_scheduler=None) -> int | None:
        stealing = dask_scheduler.extensions.get("stealing")
        metrics = getattr(stealing, "metrics", None)
        return None if metrics is None else int(sum(metrics.get("request_count_total", {}).values()))

    try:
        return client.run_on_scheduler(count)
    except Exception:  # noqa: BLE001  (a count for the benchmark, never a reason to fail a run)
        return None


class DaskXmlSource(LocalXmlSource):
    """The local XML source whose reading is the cluster's map and the parts' reduce."""

    def __init__(self, engine: DaskEngine, config: Config, parts: Path):
        super().__init__(config.search)
        self.engine = engine
        self.config = config
        self.parts = parts
        self.run_info = {}

    def search(self, request: SearchRequest) -> Harvest:
        files = expand_paths(self.search_config.paths)
        infos, loaded = self.engine.map_files(self.config, files, self.parts, request.progress)
        self.engine.release_cluster()
        self.engine.parts_infos = infos
        selection = self.engine.reduce(loaded)
        return self.harvest(request, files, selection)


def _clear_unfinished(parts: Path) -> None:
    """Remove the temporary folders of parts whose task died before renaming them into place
    (the review's lock means no other run of it is writing parts now)."""
    if parts.is_dir():
        for tmp in parts.iterdir():
            if tmp.name.startswith(".") and tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)


def _dashboard(client) -> str:
    """The dashboard's address, when the scheduler serves one (it needs bokeh, not a dependency)."""
    import importlib.util

    if importlib.util.find_spec("bokeh") is None or "dashboard" not in client.scheduler_info().get("services", {}):
        return ""
    return client.dashboard_link or ""
