"""Raw answers of the JSON APIs (Europe PMC, OpenAlex): archived as they arrive, replayed offline.

They share the run's archive folder and its `requests.jsonl` index with PubMed's answers
(archive.py): one line per request, `{"name", "utility", "key", "params"}`, the body gzip-compressed
as `<name>.json.gz`. A request's key is its parameters without who asked (api_key, mailto, email),
so a replay finds every answer a run with the same config received, in any order, and an answer the
archive lacks is an IncompleteRetrieval naming it, never a silently smaller table.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from pipeline.errors import ConfigError, IncompleteRetrieval
from pipeline.models import Quarantined, Record
from pipeline.sources.archive import RawArchive, find_archive

INDEX = "requests.jsonl"
CALLER_PARAMS = frozenset({"api_key", "mailto", "email", "tool"})


def request_key(utility: str, params: dict) -> str:
    shown = {k: str(v) for k, v in sorted(params.items()) if k not in CALLER_PARAMS and v is not None}
    return json.dumps({"utility": utility, **shown}, sort_keys=True, ensure_ascii=False)


class Calls(Protocol):
    """How a source client obtains a raw answer: `get(utility, path, params, validate)` → bytes."""

    requests_made: int
    retries: int

    def get(
        self,
        utility: str,
        path: str,
        params: dict,
        validate: Callable[[bytes], str | None] | None = None,
        describe: str = "",
    ) -> bytes: ...


class LiveCalls:
    """Answers from the API through the shared HTTP client, each archived before it is used when a
    folder is given. Safe to share between threads."""

    def __init__(self, client, folder: Path | None = None):
        self.client = client
        self.archive = RawArchive(folder, ".json.gz", CALLER_PARAMS) if folder is not None else None

    @property
    def requests_made(self) -> int:
        return self.client.requests_made

    @property
    def retries(self) -> int:
        return self.client.retries

    def get(self, utility, path, params, validate=None, describe=""):
        if len(json.dumps(params)) > 1500 and hasattr(self.client, "post_path"):
            body = self.client.request(
                "POST", self.client.post_path(path), params, validate=validate, describe=describe or path
            ).body
        else:
            body = self.client.get(path, params, validate=validate, describe=describe or path)
        if self.archive is not None:
            self.archive.add(utility, request_key(utility, params), params, body, self.client)
        return body


class ReplayedCalls:
    """Answers from a run's archive; never opens a socket."""

    requests_made = 0
    retries = 0

    def __init__(self, folder: Path):
        self.folder = folder
        self.replayed = 0
        self._names: dict[str, str] = {}
        try:
            lines = (folder / INDEX).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise ConfigError(
                f"{folder} is not a replayable archive: it has no {INDEX}. Choose another run with --from-run."
            ) from None
        for line in lines:
            if line.strip():
                entry = json.loads(line)
                if (folder / f"{entry['name']}.json.gz").is_file():
                    self._names[entry["key"]] = entry["name"]

    def get(self, utility, path, params, validate=None, describe=""):
        name = self._names.get(request_key(utility, params))
        if name is None:
            raise IncompleteRetrieval(
                f"The archive {self.folder} holds no answer to the {describe or utility} request "
                f"{request_key(utility, params)}: that run stopped before it, or used another config. "
                "Nothing was published; replay a completed run with --from-run RUN_ID, or run online."
            )
        self.replayed += 1
        return gzip.decompress((self.folder / f"{name}.json.gz").read_bytes())


def open_calls(
    out: Path, run_id: str, replay: bool, from_run: str | None, make_client: Callable[[], object]
) -> tuple[Calls, Path | None]:
    """Live calls archived under <out>/raw/<run_id>/, or with `replay` (--offline, --from-run) the
    answers of a past run's archive; returns the calls and the replayed folder (None when live)."""
    replay_from = find_archive(out, from_run) if replay else None
    if replay_from:
        return ReplayedCalls(replay_from), replay_from
    return LiveCalls(make_client(), out / "raw" / run_id), None


@dataclass
class Retrieved:
    """What one API source gave for one query: what it said it holds and what was read."""

    database: str  # how PRISMA names it ("Europe PMC", "OpenAlex")
    query: str  # as sent
    hit_count: int  # what the API said it holds
    records: list[Record] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    pages: int = 0
    notes: tuple[str, ...] = ()  # what the translation could not carry over

    @property
    def retrieved(self) -> int:
        return len(self.records) + len(self.quarantined)
