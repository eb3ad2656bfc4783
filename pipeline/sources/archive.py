"""Where raw E-utilities answers come from: the network (and then archived) or a run's archive.

`RecordingSource` wraps the live `eutils.Client`: every raw answer is archived, gzip-compressed, under
<out>/raw/<run_id>/ with one line per request in `requests.jsonl` (utility, parameters without the
API key, archive name). `ArchiveSource` answers the same requests from such a folder and never opens
a socket, so `run --offline` rebuilds every table of a past run without the network.

A request is found again by its key: the esearch parameters, or a digest of the efetch PMID list.
The search and fetch stages ask for the same requests when given the same config and answers, so a
replay meets every one; a request the archive lacks (a run that stopped early, another config) is an
error naming it, never a silently smaller table.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
import shutil
import threading
from datetime import date, datetime
from pathlib import Path

from pipeline.errors import ConfigError, IncompleteRetrieval
from pipeline.sources.pubmed.eutils import Client
from pipeline.outputs.files import atomic_write

log = logging.getLogger(__name__)

INDEX = "requests.jsonl"
# Parameters that say who asked, not what was asked: left out of keys and of the index.
_CALLER_PARAMS = {"tool", "email", "api_key"}


class RawArchive:
    """Every raw answer of one run, so the run can be replayed: each utility's answers numbered in
    order (`esearch-00001.xml.gz`), gzip-compressed, and one line per answer appended to the index.
    Used by every API source (`suffix` and the caller parameters kept out of the index differ).
    Safe to share between threads."""

    def __init__(self, folder: Path, suffix: str = ".xml.gz", caller_params=frozenset(_CALLER_PARAMS)):
        self.folder, self.suffix, self.caller_params = folder, suffix, caller_params
        self._lock = threading.Lock()
        self._numbers: dict[str, int] = {}

    def add(self, utility: str, key: str, params: dict, body: bytes, client) -> None:
        """Archive `body`, the answer to the request `key` made of `utility`; `client` redacts the
        API key from the body and the index line (an echoed key is never archived)."""
        with self._lock:
            number = self._numbers[utility] = self._numbers.get(utility, 0) + 1
            name = f"{utility}-{number:05d}"
            self.folder.mkdir(parents=True, exist_ok=True)
            # mtime=0: the same response archives to the same bytes.
            atomic_write(self.folder / f"{name}{self.suffix}", gzip.compress(client.redact_bytes(body), mtime=0))
            shown = {k: v for k, v in params.items() if k not in self.caller_params and v is not None}
            line = json.dumps({"name": name, "utility": utility, "key": key, "params": shown}, ensure_ascii=False)
            # Appended, not rewritten: the index of a run that fails part-way still lists what it got.
            with open(self.folder / INDEX, "a", encoding="utf-8") as index:
                index.write(client.redact(line) + "\n")


def esearch_key(term: str, params: dict) -> str:
    """The identity of an esearch request: its term and parameters, in a fixed order."""
    shown = {k: str(v) for k, v in sorted(params.items()) if k not in _CALLER_PARAMS and v is not None}
    return json.dumps({"term": term, **shown}, sort_keys=True, ensure_ascii=False)


def efetch_key(pmids: list[str]) -> str:
    """The identity of an efetch request: a digest of its PMID list, in order."""
    return "sha256:" + hashlib.sha256(",".join(pmids).encode()).hexdigest()


class RecordingSource:
    """The live client, each raw answer archived before it is used. Safe to share between threads."""

    def __init__(self, client: Client, archive: RawArchive):
        self.client, self.archive = client, archive

    @property
    def requests_made(self) -> int:
        return self.client.requests_made

    @property
    def retries(self) -> int:
        return self.client.retries

    def esearch(self, term: str, **params) -> bytes:
        body = self.client.esearch(term, **params)
        self.archive.add("esearch", esearch_key(term, params), {"term": term, **params}, body, self.client)
        return body

    def efetch(self, pmids: list[str]) -> bytes:
        body = self.client.efetch(pmids)
        shown = {"ids": len(pmids), "first": pmids[0] if pmids else "", "last": pmids[-1] if pmids else ""}
        self.archive.add("efetch", efetch_key(pmids), shown, body, self.client)
        return body


class ArchiveSource:
    """Answers esearch/efetch from a run's raw archive; never touches the network."""

    requests_made = 0
    retries = 0

    def __init__(self, folder: Path):
        self.folder = folder
        self._names: dict[tuple[str, str], str] = {}
        self.replayed = 0
        try:
            lines = (folder / INDEX).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise ConfigError(
                f"{folder} is not a replayable archive: it has no {INDEX}. Choose another run with --from-run."
            ) from None
        for line in lines:
            if line.strip():
                entry = json.loads(line)
                self._names[(entry["utility"], entry["key"])] = entry["name"]

    def esearch(self, term: str, **params) -> bytes:
        return self._body("esearch", esearch_key(term, params), f"esearch for {esearch_key(term, params)}")

    def efetch(self, pmids: list[str]) -> bytes:
        shown = f"efetch of {len(pmids)} PMIDs ({pmids[0]} ... {pmids[-1]})" if pmids else "efetch"
        return self._body("efetch", efetch_key(pmids), shown)

    def _body(self, utility: str, key: str, described: str) -> bytes:
        name = self._names.get((utility, key))
        if name is None:
            raise IncompleteRetrieval(
                f"The archive {self.folder} holds no answer to the {described}: that run stopped before "
                "it, or used another config. Nothing was published; replay a completed run with "
                "--from-run RUN_ID, or run online."
            )
        self.replayed += 1
        return gzip.decompress((self.folder / f"{name}.xml.gz").read_bytes())


def find_archive(out: Path, run_id: str | None = None) -> Path:
    """The raw archive of `run_id` under `out`/raw, or of the newest run that has one."""
    raw = out / "raw"
    runs = sorted(p.name for p in raw.iterdir() if (p / INDEX).is_file()) if raw.is_dir() else []
    if not runs:
        raise ConfigError(
            f"No archived run to replay in {raw}: run once online first "
            "(python -m pipeline run --config ...), or pass --out with the folder of a past run."
        )
    if run_id is None:
        return raw / runs[-1]
    if run_id not in runs:
        raise ConfigError(
            f"--from-run {run_id}: no archived run of that id in {raw}. Archived runs: {', '.join(runs)}."
        )
    return raw / run_id


def prune_archives(out: Path, keep: int) -> list[str]:
    """Remove all but the `keep` newest raw archives under `out`/raw (0 keeps every one); returns
    the run ids removed, oldest first. Only folders named like run ids are ever touched."""
    raw = out / "raw"
    if keep <= 0 or not raw.is_dir():
        return []
    runs = sorted(p.name for p in raw.iterdir() if p.is_dir() and _RUN_ID.match(p.name))
    removed = runs[:-keep] if len(runs) > keep else []
    for run_id in removed:
        shutil.rmtree(raw / run_id)
    return removed


_RUN_ID = re.compile(r"^\d{8}T\d{6}\d*Z$")


def replayed_date(folder: Path) -> date:
    """The day the archived run started (its folder is named by its run id, YYYYMMDDTHHMMSS...Z)."""
    try:
        return datetime.strptime(folder.name[:8], "%Y%m%d").date()
    except ValueError:
        raise ConfigError(
            f"{folder.name} is not a run id (YYYYMMDDTHHMMSS...Z): cannot tell when PubMed "
            "was searched. Choose a run with --from-run."
        ) from None
