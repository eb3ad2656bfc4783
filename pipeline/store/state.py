"""The review's state: one SQLite database (standard-library sqlite3, WAL mode) in the output folder.

It holds every record PubMed returned (latest version as JSON of `models.Record`, with its content
hash and the runs that first and last saw it), the current screening decisions, the extracted
mentions (with the record version and extractor they came from), the runs (status, watermark and
manifest) and, per run, what changed. `run` and `refresh` both write through it and the tables are
rebuilt from it, so the tables always show one committed state.

Crash safety: everything a run learns is written in ONE transaction (`commit_run`); a process
killed before it leaves the previous state as it was, and SQLite's journal undoes a half-written
transaction on the next open. Runs move through the statuses
    running -> committed (state written, outputs not yet published) -> completed
and failed / crashed for runs that never committed.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import sqlite3
import types
import typing
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from pipeline.models import Decision, Mention, Record, ScreeningResult

STATE_FILE = "state.sqlite"
SCHEMA_VERSION = "1"

# Run statuses. COMMITTED runs have their state in the store but their outputs may not be published.
RUNNING, COMMITTED, COMPLETED, FAILED, CRASHED = "running", "committed", "completed", "failed", "crashed"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    pmid TEXT PRIMARY KEY,
    data TEXT NOT NULL,                 -- JSON of models.Record
    content_hash TEXT NOT NULL,         -- sha256 of that JSON: "changed" means this differs
    first_seen TEXT NOT NULL,           -- run_id of the first run that stored it
    last_seen TEXT NOT NULL,            -- run_id of the last run whose search returned it
    updated TEXT NOT NULL,              -- run_id of the run that stored this version
    withdrawn TEXT,                     -- run_id of the run that found it withdrawn, else NULL
    withdrawn_reason TEXT
);
CREATE TABLE IF NOT EXISTS decisions (
    pmid TEXT PRIMARY KEY, decision TEXT NOT NULL, reason TEXT NOT NULL, field TEXT NOT NULL,
    value TEXT NOT NULL, duplicate_of TEXT NOT NULL, flags TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS extractions (
    pmid TEXT PRIMARY KEY, content_hash TEXT NOT NULL, fingerprint TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS mentions (
    pmid TEXT NOT NULL, seq INTEGER NOT NULL, section TEXT NOT NULL, sentence INTEGER NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL, label TEXT NOT NULL,
    canonical TEXT NOT NULL, source TEXT NOT NULL,
    identifier TEXT NOT NULL DEFAULT '', vocabulary TEXT NOT NULL DEFAULT '', PRIMARY KEY (pmid, seq)
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL, pid INTEGER NOT NULL,
    started_at TEXT NOT NULL, finished_at TEXT, query TEXT NOT NULL,
    watermark TEXT,                     -- UTC date the run searched up to (set when it commits)
    manifest TEXT, error TEXT
);
CREATE TABLE IF NOT EXISTS changes (
    run_id TEXT NOT NULL, pmid TEXT NOT NULL, change TEXT NOT NULL, newly_included INTEGER NOT NULL,
    old_decision TEXT NOT NULL, new_decision TEXT NOT NULL, old_reason TEXT NOT NULL,
    new_reason TEXT NOT NULL, why TEXT NOT NULL, title TEXT NOT NULL, PRIMARY KEY (run_id, pmid)
);
"""
MENTION_FIELDS = ("section", "sentence", "start", "end", "text", "label", "canonical", "source",
                  "identifier", "vocabulary")
CHANGE_FIELDS = ("run_id", "pmid", "change", "newly_included", "old_decision", "new_decision",
                 "old_reason", "new_reason", "why", "title")


# --- record serialisation (pure) -----------------------------------------------------------------

def record_to_json(record: Record) -> str:
    """Canonical JSON of a record: sorted keys, no spaces, so equal records give equal text."""
    return json.dumps(dataclasses.asdict(record), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_from_json(text: str) -> Record:
    """The Record that `record_to_json` wrote. Keys the Record no longer has are ignored and new
    fields take their defaults, so a store survives additions to models.Record."""
    return _build(Record, json.loads(text))


def content_hash(record_json: str) -> str:
    return hashlib.sha256(record_json.encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=None)
def _fields(kind: type) -> tuple[tuple[str, Any], ...]:
    # get_type_hints evaluates the string annotations: slow, so once per class.
    hints = typing.get_type_hints(kind)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(kind))


def _build(kind: Any, value: Any) -> Any:
    if dataclasses.is_dataclass(kind):
        return kind(**{name: _build(hint, value[name]) for name, hint in _fields(kind) if name in value})
    origin = typing.get_origin(kind)
    if origin is tuple:
        item = typing.get_args(kind)[0]
        return tuple(_build(item, v) for v in value)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        return _build(next(a for a in typing.get_args(kind) if a is not type(None)), value)
    return value


def _add_mention_link_columns(db: sqlite3.Connection) -> None:
    """Stores written before linking lack the identifier and vocabulary columns: add them empty.
    The extractor fingerprint changed with them, so the next run recomputes those mentions."""
    have = {row[1] for row in db.execute("PRAGMA table_info(mentions)")}
    for column in ("identifier", "vocabulary"):
        if column not in have:
            db.execute(f"ALTER TABLE mentions ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")


# --- the store -----------------------------------------------------------------------------------

class StateStore:
    """One review's state database. Open with `StateStore.open(folder)`; close when done."""

    def __init__(self, connection: sqlite3.Connection, path: Path):
        self.db = connection
        self.path = path
        # pmid -> (content hash, Record): a record is decoded again only when its stored hash changed.
        self._decoded: dict[str, tuple[str, Record]] = {}

    @classmethod
    def open(cls, folder: Path) -> "StateStore":
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / STATE_FILE
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction is exactly what
        # `transaction()` encloses and nothing is committed implicitly.
        db = sqlite3.connect(path, isolation_level=None, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # a committed run survives power loss, not just kill -9
        with _transaction(db):
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            _add_mention_link_columns(db)
        return cls(db, path)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "StateStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- runs

    def begin_run(self, run_id: str, kind: str, started_at: str, query: str, pid: int) -> None:
        with _transaction(self.db):
            self.db.execute("INSERT INTO runs (run_id, kind, status, pid, started_at, query) "
                            "VALUES (?, ?, ?, ?, ?, ?)", (run_id, kind, RUNNING, pid, started_at, query))

    def fail_run(self, run_id: str, finished_at: str, error: str, manifest: dict) -> None:
        with _transaction(self.db):
            self.db.execute("UPDATE runs SET status = ?, finished_at = ?, error = ?, manifest = ? "
                            "WHERE run_id = ? AND status = ?",
                            (FAILED, finished_at, error, json.dumps(manifest), run_id, RUNNING))

    def mark_crashed(self) -> list[str]:
        """Runs left 'running' by a process that died (call only while holding the review's lock)."""
        with _transaction(self.db):
            ids = [r[0] for r in self.db.execute("SELECT run_id FROM runs WHERE status = ? ORDER BY run_id",
                                                 (RUNNING,))]
            self.db.execute("UPDATE runs SET status = ?, error = 'the process stopped before the run "
                            "committed (killed or crashed)' WHERE status = ?", (CRASHED, RUNNING))
        return ids

    def unpublished_runs(self) -> list[str]:
        """Runs whose state was committed but whose outputs were not all written."""
        return [r[0] for r in self.db.execute("SELECT run_id FROM runs WHERE status = ? ORDER BY run_id",
                                              (COMMITTED,))]

    def mark_published(self, run_ids: Iterable[str]) -> None:
        with _transaction(self.db):
            self.db.executemany("UPDATE runs SET status = ? WHERE run_id = ? AND status = ?",
                                [(COMPLETED, r, COMMITTED) for r in run_ids])

    def last_good_run(self) -> dict | None:
        """The latest run whose state was committed (its watermark is where a refresh starts)."""
        row = self.db.execute("SELECT run_id, kind, watermark, query, manifest FROM runs "
                              "WHERE status IN (?, ?) ORDER BY run_id DESC LIMIT 1",
                              (COMMITTED, COMPLETED)).fetchone()
        if row is None:
            return None
        return {"run_id": row[0], "kind": row[1], "watermark": row[2], "query": row[3],
                "manifest": json.loads(row[4]) if row[4] else None}

    def run_manifest(self, run_id: str) -> dict | None:
        row = self.db.execute("SELECT manifest FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    def runs(self) -> list[dict]:
        cols = ("run_id", "kind", "status", "pid", "started_at", "finished_at", "watermark", "error")
        return [dict(zip(cols, row)) for row in
                self.db.execute(f"SELECT {', '.join(cols)} FROM runs ORDER BY run_id")]

    # -- reading the state

    def active_records(self) -> dict[str, tuple[Record, str]]:
        """Every record not withdrawn: pmid -> (record, content hash)."""
        out = {}
        for pmid, data, digest in self.db.execute(
                "SELECT pmid, data, content_hash FROM records WHERE withdrawn IS NULL"):
            cached = self._decoded.get(pmid)
            if cached is None or cached[0] != digest:
                cached = self._decoded[pmid] = (digest, record_from_json(data))
            out[pmid] = (cached[1], digest)
        return out

    def active_hashes(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT pmid, content_hash FROM records WHERE withdrawn IS NULL"))

    def decisions(self) -> dict[str, ScreeningResult]:
        out = {}
        for pmid, decision, reason, field, value, duplicate_of, flags in self.db.execute(
                "SELECT pmid, decision, reason, field, value, duplicate_of, flags FROM decisions"):
            out[pmid] = ScreeningResult(pmid, Decision(decision), reason, field, value, duplicate_of,
                                        tuple(json.loads(flags)))
        return out

    def extraction_keys(self) -> dict[str, tuple[str, str]]:
        """pmid -> (content hash, extractor fingerprint) the stored mentions were computed from."""
        return {p: (h, f) for p, h, f in self.db.execute("SELECT pmid, content_hash, fingerprint FROM extractions")}

    def mentions(self, pmids: Iterable[str]) -> list[Mention]:
        """Stored mentions of `pmids`, each record's in extraction order."""
        # The wanted PMIDs go to a temporary table so SQLite does the filtering, not Python.
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (pmid TEXT PRIMARY KEY)")
        self.db.execute("DELETE FROM wanted")
        self.db.executemany("INSERT OR IGNORE INTO wanted VALUES (?)", ((p,) for p in pmids))
        cols = ", ".join(f'm."{c}"' for c in MENTION_FIELDS)
        rows = self.db.execute(f"SELECT m.pmid, {cols} FROM mentions m JOIN wanted w ON w.pmid = m.pmid "
                               "ORDER BY m.pmid, m.seq").fetchall()
        return [Mention(*row) for row in rows]

    def changes(self, run_ids: Iterable[str]) -> list[dict]:
        ids = list(run_ids)
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        rows = self.db.execute(f"SELECT {', '.join(CHANGE_FIELDS)} FROM changes WHERE run_id IN ({marks})", ids)
        return [dict(zip(CHANGE_FIELDS, row)) | {"newly_included": bool(row[3])} for row in rows]

    # -- writing one run's results

    def commit_run(self, run_id: str, *, seen: Iterable[str], upserts: dict[str, Record],
                   withdrawn: dict[str, str], decisions: Iterable[ScreeningResult],
                   extracted: dict[str, tuple[str, list[Mention]]], fingerprint: str,
                   changes: Iterable[dict], watermark: str, finished_at: str, manifest: dict,
                   hook: Callable[[str], None] | None = None) -> None:
        """Write everything run `run_id` learned, in one transaction, and mark it committed.

        seen: PMIDs the run's search returned (their last_seen moves to this run).
        upserts: new or changed records. withdrawn: pmid -> reason.
        decisions: the complete new set of decisions (replaces the old one).
        extracted: pmid -> (content hash, mentions) for records extracted in this run.
        hook: called with "mid-commit" inside the open transaction (the crash tests' hook).
        """
        db = self.db
        with _transaction(db):
            db.executemany("UPDATE records SET last_seen = ? WHERE pmid = ?", [(run_id, p) for p in seen])
            for pmid, record in upserts.items():
                text = record_to_json(record)
                db.execute(
                    "INSERT INTO records (pmid, data, content_hash, first_seen, last_seen, updated) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (pmid) DO UPDATE SET data = excluded.data, "
                    "content_hash = excluded.content_hash, last_seen = excluded.last_seen, "
                    "updated = excluded.updated, withdrawn = NULL, withdrawn_reason = NULL",
                    (pmid, text, content_hash(text), run_id, run_id, run_id))
            db.executemany("UPDATE records SET withdrawn = ?, withdrawn_reason = ? WHERE pmid = ?",
                           [(run_id, reason, pmid) for pmid, reason in withdrawn.items()])
            if hook:
                hook("mid-commit")
            db.execute("DELETE FROM decisions")
            db.executemany("INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?)", [
                (r.pmid, r.decision.value, r.reason, r.field, r.value, r.duplicate_of, json.dumps(list(r.flags)))
                for r in decisions])
            for pmid, (digest, found) in extracted.items():
                db.execute("DELETE FROM mentions WHERE pmid = ?", (pmid,))
                db.executemany(f"INSERT INTO mentions (pmid, seq, {', '.join(repr(c) for c in MENTION_FIELDS)}) "
                               f"VALUES (?, ?, {', '.join('?' * len(MENTION_FIELDS))})",
                               [(pmid, i, *(getattr(m, c) for c in MENTION_FIELDS)) for i, m in enumerate(found)])
                db.execute("INSERT OR REPLACE INTO extractions VALUES (?, ?, ?)", (pmid, digest, fingerprint))
            db.executemany(f"INSERT INTO changes ({', '.join(CHANGE_FIELDS)}) VALUES "
                           f"({', '.join('?' * len(CHANGE_FIELDS))})",
                           [tuple(int(c[k]) if k == "newly_included" else c[k] for k in CHANGE_FIELDS)
                            for c in changes])
            db.execute("UPDATE runs SET status = ?, finished_at = ?, watermark = ?, manifest = ? "
                       "WHERE run_id = ?", (COMMITTED, finished_at, watermark, json.dumps(manifest), run_id))


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    # IMMEDIATE takes the write lock up front, so a transaction never fails half-way for a lock.
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
