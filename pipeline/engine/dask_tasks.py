"""What a Dask worker does for `--engine dask`: one task per input file, each writing one part.

`process_file` reads one PubMed XML file, keeps the records that match the review's query, applies
the screening rules to each (pure, per record) and extracts mentions from those the rules include,
then writes the file's *part*: a folder `<parts>/<key>/` holding

    items.parquet     every item of the file in document order: records (matching or not, so the
                      reduce can apply the files' order), DeleteCitations and quarantined records;
                      a matching record carries its canonical JSON and content hash
    mentions.parquet  the mentions of the rule-included records, in extraction order
    part.json         the file, its sha256, the fingerprints, counts and timings (written last)

The key is the file's content hash + the extractor's fingerprint + the query-and-rules
fingerprint, so a rerun finds the parts it can reuse whatever the file is called, and a changed
lexicon, model or rule makes new parts. A part is written in a temporary folder renamed into
place: it is either complete or absent, so an interrupted run leaves nothing half-written.

Only versions that can reach the tables are screened and extracted. Before the map, `scan_file`
lists each file's PMIDs (kept under `<parts>/pmids/` by the file's content hash) and
`superseded_pmids` gives each task the PMIDs of its file that a later file holds again (an
update revising a record, a DeleteCitation): their versions here are replaced whatever they say.
part.json records which PMIDs a part skipped so; a rerun reuses the part while those are still
superseded (adding files only adds to them) and makes it again otherwise.

Workers done right:
- the NER pipeline is built once per worker process, on its first use, by `ExtractorPlugin` (a
  distributed WorkerPlugin registered by the client; every worker, including one that joins or is
  restarted later, gets it);
- the nanny's MALLOC_TRIM_THRESHOLD_ is relaxed in each worker (`relax_malloc_trimming`): left
  as set, it made extraction ~60% more expensive in CPU than in a plain process;
- extraction runs in the task's thread (`n_process=1`): Dask workers are daemonic processes and
  may not fork pools, and the cluster already spreads the work over processes;
- the parser pauses the cyclic garbage collector while it parses a region (parser._gc_paused);
  each task closes its parse generator in a `finally` and reports whether the collector is on
  when it ends, so a pause can never outlive the task that made it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import io
import json
import os
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from distributed import WorkerPlugin, get_worker

from pipeline.config import Config, ExtractionConfig, ScreeningConfig, SearchConfig
from pipeline.engine.crashpoints import checkpoint
from pipeline.engine.stages import peak_rss_mb
from pipeline.models import Decision, DeletedCitation, Mention, Record, SetAside, mentions_from_rows
from pipeline.outputs.files import atomic_write, parquet_bytes
from pipeline.screening.rules import screen_record
from pipeline.sources.pubmed_xml.local import query_matches
from pipeline.sources.pubmed_xml.parser import parse, pmids
from pipeline.store.codec import encode_record

PART_VERSION = 2  # 2: every Mention field (identifier, vocabulary), set-asides in part.json
ITEM_COLUMNS = ["kind", "pmid", "record_id", "matched", "included", "content_hash", "record_json", "reason", "source"]
# Every Mention field, whatever models.Mention holds now, after the record's content hash.
MENTION_FIELDS = [f.name for f in dataclasses.fields(Mention)]
MENTION_COLUMNS = ["content_hash"] + MENTION_FIELDS
_INT_FIELDS = {f.name for f in dataclasses.fields(Mention) if f.type in (int, "int")}
_CHUNK = 1 << 20


def plugin_name(fingerprint: str) -> str:
    """One plugin per extractor: two reviews sharing a cluster each get their own pipeline."""
    return f"pipeline-ner-{fingerprint[:12]}"


class ExtractorPlugin(WorkerPlugin):
    """Holds the extraction pipeline of one worker process, built once on first use.

    Building is lazy and under a lock, in the first task's thread: it never blocks the worker's
    event loop (heartbeats keep flowing while spaCy loads), and a worker whose files all have
    finished parts never loads the model at all. The model is found where the worker's install
    has it (package data, pipeline/extraction/model) unless [extraction] model names a folder,
    which must then be readable at the same path on every worker.
    """

    # Registered again by every run on a long-lived cluster: keep the plugin (and its loaded model).
    idempotent = True

    def __init__(self, extraction: ExtractionConfig, fingerprint: str):
        self.extraction = extraction
        self.fingerprint = fingerprint
        self.name = plugin_name(fingerprint)
        self._nlp = None
        self._lock: threading.Lock | None = None
        self.loads = 0

    def __getstate__(self) -> dict:
        return {"extraction": self.extraction, "fingerprint": self.fingerprint, "name": self.name}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["extraction"], state["fingerprint"])

    def setup(self, worker=None) -> None:
        self._lock = threading.Lock()
        relax_malloc_trimming()

    def teardown(self, worker=None) -> None:
        self._nlp = None

    def nlp(self):
        if self._lock is None:
            self._lock = threading.Lock()
        with self._lock:
            if self._nlp is None:
                from pipeline.extraction import ner  # spaCy loads only where something is extracted

                self._nlp = ner.load_nlp(self.extraction)
                self.loads += 1
            return self._nlp


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters


def relax_malloc_trimming() -> bool:
    """Undo the Dask nanny's MALLOC_TRIM_THRESHOLD_=65536 for this worker process.

    The nanny sets it so that workers hand freed memory back to the OS at once. Setting it also
    freezes glibc's mmap threshold at 128 KiB, so every array spaCy/thinc allocate above that is a
    fresh mmap, zero-filled page by page and unmapped again: extraction took 7.6-8.0 CPU s instead
    of 4.6-4.9 for the same 536 abstracts (bench dask). Thresholds of 128 MiB (trim) and 32 MiB
    (mmap) restore the in-process cost; memory stays flat (freed memory is reused by the next file).
    Returns whether it applied (glibc with the variable set)."""
    if not os.environ.get("MALLOC_TRIM_THRESHOLD_"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_TRIM_THRESHOLD, 128 << 20) and libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20))
    except (OSError, AttributeError):  # not glibc: nothing to undo
        return False


_LOCAL_PLUGINS: dict[str, ExtractorPlugin] = {}


def worker_plugin(extraction: ExtractionConfig, fingerprint: str) -> ExtractorPlugin:
    """This worker's plugin for `fingerprint` (or, outside a worker, one per process)."""
    name = plugin_name(fingerprint)
    try:
        plugin = get_worker().plugins.get(name)
    except ValueError:  # not running in a worker (tests call process_file directly)
        plugin = None
    if plugin is None:
        plugin = _LOCAL_PLUGINS.setdefault(name, ExtractorPlugin(extraction, fingerprint))
    return plugin


@dataclass(frozen=True)
class FileTask:
    """Everything a task needs: plain, picklable values (configs are frozen dataclasses)."""

    path: str
    parts: str  # the parts folder, readable and writable by every worker
    search: SearchConfig
    screening: ScreeningConfig
    extraction: ExtractionConfig
    fingerprint: str  # extractor_fingerprint(extraction), computed once by the client
    rules: str  # rules_fingerprint(search, screening)
    superseded: frozenset[str] = frozenset()  # PMIDs of this file a later file holds (superseded_pmids)


@dataclass
class PartInfo:
    """What a task returns to the client (small: the records stay in the part)."""

    path: str
    key: str
    reused: bool
    records: int = 0  # records read (matching or not)
    matched: int = 0
    included: int = 0  # included by the rules (before deduplication): the records extracted
    superseded: int = 0  # matching versions not screened nor extracted: a later file replaces them
    deleted: int = 0
    quarantined: int = 0
    mentions: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    worker: str = ""
    pid: int = 0
    peak_rss_mb: float = 0.0
    gc_enabled: bool = True
    model_loads: int = 0


def rules_fingerprint(search: SearchConfig, screening: ScreeningConfig) -> str:
    """Changes whenever the query or a screening rule could select other records in a file."""
    text = json.dumps(
        {"all_of": search.all_of, "field": search.field, "screening": asdict(screening), "part_version": PART_VERSION},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def file_tasks(
    config: Config,
    files: list[Path],
    parts: Path,
    fingerprint: str,
    superseded: list[frozenset[str]] | None = None,
) -> list[FileTask]:
    """The task of each file, in the files' order; `fingerprint` is extractor_fingerprint(config.extraction),
    `superseded` the files' superseded_pmids (none skipped without it)."""
    rules = rules_fingerprint(config.search, config.screening)
    return [
        FileTask(
            path=str(f),
            parts=str(parts),
            search=config.search,
            screening=config.screening,
            extraction=config.extraction,
            fingerprint=fingerprint,
            rules=rules,
            superseded=superseded[i] if superseded is not None else frozenset(),
        )
        for i, f in enumerate(files)
    ]


PMID_SCANS = "pmids"  # under the parts folder: each file's PMIDs, named by the file's content hash


def scan_file(path: str, parts: str) -> np.ndarray:
    """The PMIDs of the records and DeleteCitations in `path` (the items that replace a version an
    earlier file holds), sorted int64. Read by the parser itself (parser.pmids: the PMIDs only), so
    the scan agrees with the task on what a file holds, and kept under <parts>/pmids/ by the
    file's content hash: a rerun does not read the file for it again. A PMID that is not a number
    is left out: its earlier versions are then extracted for nothing, never wrongly skipped. A
    record the parser quarantines for a field other than its PMID is listed: an earlier version of
    it is skipped, then found missing by the engine and extracted on the client (DaskEngine.extract).
    About 1% of the extraction's CPU when everything is extracted (bench dask's input)."""
    target = Path(parts) / PMID_SCANS / f"{file_sha256(path)[:24]}.npy"
    if target.is_file():
        return np.load(target)
    with contextlib.closing(pmids(path)) as listed:
        found = np.unique(np.array([int(p) for p in listed if p.isascii() and p.isdigit()], dtype=np.int64))
    buffer = io.BytesIO()
    np.save(buffer, found)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, buffer.getvalue())
    return found


def superseded_pmids(scans: list[np.ndarray]) -> list[frozenset[str]]:
    """For each file (scans in the files' order, as scan_file gives them), the PMIDs it shares with
    a later file: that file's item replaces (or deletes) every version this one holds."""
    if not scans:
        return []
    lengths = [len(scan) for scan in scans]
    pmids = np.concatenate(scans).astype(np.int64, copy=False)
    files = np.repeat(np.arange(len(scans)), lengths)
    unique, inverse = np.unique(pmids, return_inverse=True)
    last = np.full(len(unique), -1)
    np.maximum.at(last, inverse, files)
    later = files < last[inverse]
    bounds = np.cumsum(lengths)[:-1]
    return [
        frozenset(map(str, own[mask].tolist())) for own, mask in zip(np.split(pmids, bounds), np.split(later, bounds))
    ]


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def part_key(file_hash: str, fingerprint: str, rules: str) -> str:
    return f"{file_hash[:24]}-{fingerprint[:12]}-{rules[:12]}"


def process_file(task: FileTask) -> PartInfo:
    """Parse -> query -> screening rules -> extraction for one file; write (or reuse) its part."""
    clock = time.perf_counter
    cpu0 = time.process_time()  # this worker's CPU (one thread per worker): honest on a busy machine
    t0 = clock()
    file_hash = file_sha256(task.path)
    key = part_key(file_hash, task.fingerprint, task.rules)
    folder = Path(task.parts) / key
    timings = {"hash": clock() - t0}
    if _reusable(folder, task):
        info = PartInfo(**{k: v for k, v in json.loads((folder / "part.json").read_text())["info"].items()})
        timings["cpu"] = time.process_time() - cpu0
        info.reused, info.path, info.timings = True, task.path, timings
        return _stamp(info, None)

    items: list[list] = []
    matched: list[tuple[Record, str, list]] = []
    t = clock()
    with contextlib.closing(parse(task.path, source_name=task.path)) as parsed:
        for item in parsed:
            if isinstance(item, Record):
                if query_matches(item, task.search):
                    text, digest = encode_record(item)
                    row = ["record", item.pmid, item.record_id, True, False, digest, text, "", ""]
                    matched.append((item, row[5], row))
                else:
                    row = ["record", item.pmid, item.record_id, False, False, "", "", "", ""]
            elif isinstance(item, DeletedCitation):
                row = ["deleted", item.pmid, f"pmid:{item.pmid}", False, False, "", "", "", ""]
            else:
                row = ["quarantined", item.pmid, "", False, False, "", "", item.reason, item.source]
            items.append(row)
    timings["parse"] = clock() - t
    checkpoint("mid-task")  # crash tests: the worker dies with its file half done

    t = clock()
    # Only a PMID's last item in the file can reach the tables (a later version, a non-matching
    # version or a DeleteCitation in the same file replaces it): only that version is extracted.
    # Nor is a version a later file replaces (task.superseded): neither screened nor extracted.
    last = {row[1]: row for row in items if row[0] in ("record", "deleted")}
    included = []
    superseded = set()
    for record, digest, row in matched:
        if last[record.pmid] is not row:
            continue
        if record.pmid in task.superseded:
            superseded.add(record.pmid)
        elif screen_record(record, task.screening).decision == Decision.INCLUDE:
            row[4] = True
            included.append((record, digest))
    timings["screen"] = clock() - t

    plugin = worker_plugin(task.extraction, task.fingerprint)
    mentions: list[tuple] = []
    set_aside: list[SetAside] = []
    set_aside_rows: list[dict] = []
    if included:
        from pipeline.extraction import ner

        t, cpu = clock(), time.process_time()
        nlp = plugin.nlp()  # built on this worker's first file only
        timings["model_load"] = clock() - t
        timings["model_load_cpu"] = time.process_time() - cpu
        t = clock()
        hashes = {r.record_id: h for r, h in included}
        # n_process=1: a Dask worker is a daemonic process and must not fork a pool of its own.
        for m in ner.extract_mentions(
            nlp, [r for r, _ in included], task.extraction.classes, n_process=1, set_aside=set_aside.append
        ):
            mentions.append((hashes[m.record_id], *(getattr(m, name) for name in MENTION_FIELDS)))
        # As the local engine does: a record extraction set aside keeps no mentions, only its reason.
        dropped = {item.record_id for item in set_aside}
        mentions = [m for m in mentions if m[1 + MENTION_FIELDS.index("record_id")] not in dropped]
        set_aside_rows = [
            {"record_id": s.record_id, "content_hash": hashes[s.record_id], "reason": s.reason, "stage": s.stage}
            for s in set_aside
        ]
        timings["extract"] = clock() - t

    info = PartInfo(
        path=task.path,
        key=key,
        reused=False,
        records=sum(1 for i in items if i[0] == "record"),
        matched=len(matched),
        included=len(included),
        superseded=len(superseded),
        deleted=sum(1 for i in items if i[0] == "deleted"),
        quarantined=sum(1 for i in items if i[0] == "quarantined"),
        mentions=len(mentions),
    )
    t = clock()
    _write_part(folder, items, mentions, set_aside_rows, sorted(superseded), info, file_hash, task)
    timings["write"] = clock() - t
    timings["cpu"] = time.process_time() - cpu0
    info.timings = timings
    return _stamp(info, plugin)


def _reusable(folder: Path, task: FileTask) -> bool:
    """Whether the finished part in `folder` serves `task`: every version it skipped is still
    superseded (a file removed from the input can bring one back into the tables)."""
    try:
        meta = json.loads((folder / "part.json").read_text())
    except FileNotFoundError:
        return False
    return set(meta.get("superseded", ())) <= task.superseded


def _stamp(info: PartInfo, plugin: ExtractorPlugin | None) -> PartInfo:
    """Where the task ran and what it left behind: worker, peak memory, the collector's state."""
    try:
        info.worker = get_worker().address
    except ValueError:
        info.worker = "client"
    info.pid = os.getpid()
    info.peak_rss_mb = peak_rss_mb()
    # The parser pauses the collector only inside a region's parse and always restores it; a task
    # that ended with it off would slow every later task of this worker (and leak cycles).
    info.gc_enabled = gc.isenabled()
    if not info.gc_enabled:
        gc.enable()
    info.model_loads = plugin.loads if plugin is not None else 0
    return info


def _write_part(
    folder: Path,
    items: list[list],
    mentions: list[tuple],
    set_aside: list[dict],
    superseded: list[str],
    info: PartInfo,
    file_hash: str,
    task: FileTask,
) -> None:
    """The part's files in a temporary folder beside it, renamed into place when complete; a part
    already there is kept if it serves the task (another attempt of it finished first), else
    replaced (moved aside under a name _clear_unfinished removes, should the run die meanwhile)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        frame = pd.DataFrame(items, columns=ITEM_COLUMNS).astype({"matched": "bool", "included": "bool"})
        atomic_write(tmp / "items.parquet", parquet_bytes(frame))
        frame = pd.DataFrame(mentions, columns=MENTION_COLUMNS).astype({name: "int64" for name in _INT_FIELDS})
        atomic_write(tmp / "mentions.parquet", parquet_bytes(frame))
        meta = {
            "part_version": PART_VERSION,
            "file": task.path,
            "sha256": file_hash,
            "extractor_fingerprint": task.fingerprint,
            "rules_fingerprint": task.rules,
            "set_aside": set_aside,
            "superseded": superseded,
            "info": {k: v for k, v in asdict(info).items() if k not in ("timings",)},
        }
        atomic_write(tmp / "part.json", json.dumps(meta, indent=2, sort_keys=True).encode())
        try:
            os.rename(tmp, folder)
        except OSError:
            if not (folder / "part.json").is_file():  # not a complete part in the way: a real error
                raise
            if _reusable(folder, task):
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                stale = Path(tempfile.mkdtemp(prefix=f".{folder.name}.stale.", dir=folder.parent))
                os.rename(folder, stale / "part")
                os.rename(tmp, folder)
                shutil.rmtree(stale, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


ITEMS_READ = [name for name in ITEM_COLUMNS if name != "record_json"]  # what load_part reads
_JSON_AT = ITEM_COLUMNS.index("record_json")


@dataclass
class LoadedPart:
    """A finished part as the reduce applies it: read by the client as soon as its task completes,
    so reading overlaps the tasks still running and the reduce only applies the files' order.

    The records' JSON stays in the part's file until the reduce knows which versions the files'
    order keeps (`record_texts`): the client never holds the versions a later file replaces, nor
    every part's text at once (client memory at scale)."""

    path: str  # the input file
    # Every item of the file in document order: ITEM_COLUMNS as plain Python values, record_json
    # "" when the part was read from its folder.
    items: list[tuple] = field(default_factory=list)
    # (record_id, content hash) -> the mentions extracted from that version, in extraction order
    mentions: dict[tuple[str, str], list[Mention]] = field(default_factory=dict)
    set_aside: list[tuple[str, SetAside]] = field(default_factory=list)  # (content hash, SetAside)
    folder: Path | None = None  # the part's folder; None: the items hold their JSON

    def record_texts(self, rows: list[int]) -> list[str]:
        """The canonical JSON of the items at `rows` (indexes into `items`)."""
        if self.folder is None:
            return [self.items[row][_JSON_AT] for row in rows]
        column = pq.read_table(self.folder / "items.parquet", columns=["record_json"]).column(0)
        return column.take(pa.array(rows, type=pa.int64())).to_pylist()


def load_part(part: Path, path: str) -> LoadedPart:
    """The part in folder `part` (written by process_file for the input file `path`), its records'
    JSON left in the file."""
    frame = pd.read_parquet(part / "items.parquet", columns=ITEMS_READ)
    frame.insert(_JSON_AT, "record_json", "")
    items = list(zip(*(frame[name].tolist() for name in ITEM_COLUMNS)))
    mentions: dict[tuple[str, str], list[Mention]] = {}
    for record_id, digest, mention in read_mentions(part):
        mentions.setdefault((record_id, digest), []).append(mention)
    return LoadedPart(path=path, items=items, mentions=mentions, set_aside=read_set_aside(part), folder=part)


def read_mentions(part: Path) -> list[tuple[str, str, Mention]]:
    """(record_id, content hash, Mention) of a part, in extraction order."""
    frame = pd.read_parquet(part / "mentions.parquet")  # tolist(): Python ints, as Mention holds
    mentions = mentions_from_rows(zip(*(frame[name].tolist() for name in MENTION_FIELDS)))
    return [(m.record_id, digest, m) for m, digest in zip(mentions, frame["content_hash"].tolist())]


def read_set_aside(part: Path) -> list[tuple[str, SetAside]]:
    """(content hash, SetAside) of the records extraction set aside in a part."""
    meta = json.loads((part / "part.json").read_text())
    return [
        (s["content_hash"], SetAside(record_id=s["record_id"], reason=s["reason"], stage=s["stage"]))
        for s in meta.get("set_aside", [])
    ]
