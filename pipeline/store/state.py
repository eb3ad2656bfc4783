"""The review's state: one SQLite database (standard-library sqlite3, WAL mode) in the output folder.

It holds every record the sources returned, keyed on `record_id` (latest version as JSON of
`models.Record`, with its PMID, its content hash and the runs that first and last saw it), the
current screening decisions, the extracted
mentions (with the record version and extractor they came from), the runs (status, watermark and
manifest) and, per run, what changed. `run` and `refresh` both write through it and the tables are
rebuilt from it, so the tables always show one committed state.

Crash safety: everything a run learns is written in ONE transaction (`commit_run`); a process
killed before it leaves the previous state as it was, and SQLite's journal undoes a half-written
transaction on the next open. Runs move through the statuses
    running -> committed (state written, outputs not yet published) -> completed
and failed / crashed for runs that never committed.

The schema is built and upgraded by the numbered migrations of `migrations.py`, applied when the
store opens (a store newer than this code is refused).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

from pipeline.models import CommitPlan, Decision, Mention, Record, ScreeningResult, mentions_from_rows, pmid_of
from pipeline.store import migrations
from pipeline.store.codec import content_hash, encode_record, record_from_json, record_to_json

__all__ = [
    "COMMITTED",
    "COMPLETED",
    "CRASHED",
    "FAILED",
    "RUNNING",
    "STATE_FILE",
    "StateStore",
    "content_hash",
    "record_from_json",
    "record_to_json",
]
log = logging.getLogger(__name__)

STATE_FILE = "state.sqlite"
SCHEMA_VERSION = str(migrations.LATEST)

# Run statuses. COMMITTED runs have their state in the store but their outputs may not be published.
RUNNING, COMMITTED, COMPLETED, FAILED, CRASHED = "running", "committed", "completed", "failed", "crashed"

MENTION_FIELDS = (
    "section",
    "sentence",
    "start",
    "end",
    "text",
    "label",
    "canonical",
    "source",
    "identifier",
    "vocabulary",
)
CHANGE_FIELDS = (
    "run_id",
    "record_id",
    "pmid",
    "change",
    "newly_included",
    "old_decision",
    "new_decision",
    "old_reason",
    "new_reason",
    "why",
    "title",
)


# --- the store -----------------------------------------------------------------------------------


def stored_review(folder: Path) -> str | None:
    """The review whose runs the state in `folder` holds (from its latest run's manifest), or None
    when it has no run yet. Opens the database read-only: never creates or changes it."""
    path = Path(folder) / STATE_FILE
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            rows = db.execute("SELECT manifest FROM runs WHERE manifest IS NOT NULL ORDER BY run_id DESC").fetchall()
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return None
    for (manifest,) in rows:
        try:
            review = json.loads(manifest).get("review")
        except (ValueError, AttributeError):
            continue
        if review:
            return str(review)
    return None


class StateStore:
    """One review's state database. Open with `StateStore.open(folder)`; close when done."""

    def __init__(self, connection: sqlite3.Connection, path: Path):
        self.db = connection
        self.path = path
        # record_id -> (content hash, Record): decoded again only when its stored hash changed.
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
        try:
            with _transaction(db):
                applied = migrations.migrate(db, str(path))
        except BaseException:
            db.close()
            raise
        if applied and applied[0] > 1:
            log.warning(
                "%s upgraded in place to schema version %s (migrations %s)",
                path,
                migrations.LATEST,
                ", ".join(map(str, applied)),
            )
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
            self.db.execute(
                "INSERT INTO runs (run_id, kind, status, pid, started_at, query) VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, kind, RUNNING, pid, started_at, query),
            )

    def fail_run(self, run_id: str, finished_at: str, error: str, manifest: dict) -> None:
        with _transaction(self.db):
            self.db.execute(
                "UPDATE runs SET status = ?, finished_at = ?, error = ?, manifest = ? WHERE run_id = ? AND status = ?",
                (FAILED, finished_at, error, json.dumps(manifest), run_id, RUNNING),
            )

    def mark_crashed(self) -> list[str]:
        """Runs left 'running' by a process that died (call only while holding the review's lock)."""
        with _transaction(self.db):
            ids = [
                r[0] for r in self.db.execute("SELECT run_id FROM runs WHERE status = ? ORDER BY run_id", (RUNNING,))
            ]
            self.db.execute(
                "UPDATE runs SET status = ?, error = 'the process stopped before the run "
                "committed (killed or crashed)' WHERE status = ?",
                (CRASHED, RUNNING),
            )
        return ids

    def unpublished_runs(self) -> list[str]:
        """Runs whose state was committed but whose outputs were not all written."""
        return [r[0] for r in self.db.execute("SELECT run_id FROM runs WHERE status = ? ORDER BY run_id", (COMMITTED,))]

    def mark_published(self, run_ids: Iterable[str]) -> None:
        with _transaction(self.db):
            self.db.executemany(
                "UPDATE runs SET status = ? WHERE run_id = ? AND status = ?",
                [(COMPLETED, r, COMMITTED) for r in run_ids],
            )

    def last_good_run(self) -> dict | None:
        """The latest run whose state was committed (its watermark is where a refresh starts)."""
        row = self.db.execute(
            "SELECT run_id, kind, watermark, query, manifest FROM runs "
            "WHERE status IN (?, ?) ORDER BY run_id DESC LIMIT 1",
            (COMMITTED, COMPLETED),
        ).fetchone()
        if row is None:
            return None
        return {
            "run_id": row[0],
            "kind": row[1],
            "watermark": row[2],
            "query": row[3],
            "manifest": json.loads(row[4]) if row[4] else None,
        }

    def run_manifest(self, run_id: str) -> dict | None:
        row = self.db.execute("SELECT manifest FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    def runs(self) -> list[dict]:
        cols = ("run_id", "kind", "status", "pid", "started_at", "finished_at", "watermark", "error")
        return [dict(zip(cols, row)) for row in self.db.execute(f"SELECT {', '.join(cols)} FROM runs ORDER BY run_id")]

    # -- reading the state

    def schema_version(self) -> int:
        return migrations.schema_version(self.db)

    def active_records(self) -> dict[str, tuple[Record, str]]:
        """Every record not withdrawn: record_id -> (record, content hash)."""
        out = {}
        for record_id, data, digest in self.db.execute(
            "SELECT record_id, data, content_hash FROM records WHERE withdrawn IS NULL"
        ):
            cached = self._decoded.get(record_id)
            if cached is None or cached[0] != digest:
                cached = self._decoded[record_id] = (digest, record_from_json(data))
            out[record_id] = (cached[1], digest)
        return out

    def returned_by(self) -> dict[str, list[str]] | None:
        """Database name -> the record ids it returned, as the last committed run left it (None when
        no run of this release committed yet). A refresh's windowed sources carry these forward."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'returned_by'").fetchone()
        return json.loads(row[0]) if row else None

    def source_files(self) -> tuple[list[str], dict[str, str]]:
        """The input files of the last committed run, in their order, and record_id -> the file
        that gave its current version, for the records not withdrawn that came from a file
        (migration 5)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'source_files'").fetchone()
        order = json.loads(row[0]) if row else []
        found = self.db.execute(
            "SELECT record_id, source_file FROM records WHERE withdrawn IS NULL AND source_file != ''"
        )
        return order, dict(found)

    def active_hashes(self) -> dict[str, str]:
        """record_id -> content hash of every record not withdrawn."""
        return dict(self.db.execute("SELECT record_id, content_hash FROM records WHERE withdrawn IS NULL"))

    def decisions(self) -> dict[str, ScreeningResult]:
        """record_id -> the current decision."""
        out = {}
        for record_id, decision, reason, field, value, duplicate_of, flags in self.db.execute(
            "SELECT record_id, decision, reason, field, value, duplicate_of, flags FROM decisions"
        ):
            out[record_id] = ScreeningResult(
                record_id, Decision(decision), reason, field, value, duplicate_of, tuple(json.loads(flags))
            )
        return out

    def extraction_keys(self) -> dict[str, tuple[str, str]]:
        """record_id -> (content hash, extractor fingerprint) the stored mentions were computed from."""
        return {
            r: (h, f) for r, h, f in self.db.execute("SELECT record_id, content_hash, fingerprint FROM extractions")
        }

    def mentions(self, record_ids: Iterable[str]) -> list[Mention]:
        """Stored mentions of `record_ids`, each record's in extraction order."""
        # The wanted ids go to a temporary table so SQLite does the filtering, not Python.
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (record_id TEXT PRIMARY KEY)")
        self.db.execute("DELETE FROM wanted")
        self.db.executemany("INSERT OR IGNORE INTO wanted VALUES (?)", ((r,) for r in record_ids))
        cols = ", ".join(f'm."{c}"' for c in MENTION_FIELDS)
        rows = self.db.execute(
            f"SELECT m.record_id, {cols} FROM mentions m JOIN wanted w "
            "ON w.record_id = m.record_id ORDER BY m.record_id, m.seq"
        )
        return mentions_from_rows(rows)  # row by row: never every row and every mention at once

    def changes(self, run_ids: Iterable[str]) -> list[dict]:
        ids = list(run_ids)
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        rows = self.db.execute(f"SELECT {', '.join(CHANGE_FIELDS)} FROM changes WHERE run_id IN ({marks})", ids)
        return [
            dict(zip(CHANGE_FIELDS, row)) | {"newly_included": bool(row[CHANGE_FIELDS.index("newly_included")])}
            for row in rows
        ]

    # -- writing one run's results

    def commit_run(
        self,
        run_id: str,
        plan: CommitPlan,
        *,
        watermark: str,
        finished_at: str,
        manifest: dict,
        hook: Callable[[str], None] | None = None,
    ) -> None:
        """Write everything run `run_id` learned (`plan`), in one transaction, and mark it committed.

        plan.seen: record ids the run's search returned (their last_seen moves to this run).
        plan.upserts: record_id -> new or changed record. plan.withdrawn: record_id -> reason.
        plan.decisions: the complete new set of decisions (replaces the old one).
        plan.extracted: record_id -> (content hash, mentions) for records extracted in this run.
        plan.changes: rows with record_id (pmid is derived from it when missing).
        plan.returned_by: database -> record ids it returned (kept in `meta` for the next refresh).
        plan.source_files: record_id -> the input file of its current version, for records read now;
        plan.file_order: the files in order (kept in `meta`). None: left as they are.
        manifest: run.json's content, kept with the run.
        hook: called with "mid-commit" inside the open transaction (the crash tests' hook).
        """
        db = self.db
        seen, upserts, withdrawn, decisions = plan.seen, plan.upserts, plan.withdrawn, plan.decisions
        extracted, fingerprint, changes = plan.extracted, plan.fingerprint, plan.changes
        with _transaction(db):
            db.executemany("UPDATE records SET last_seen = ? WHERE record_id = ?", [(run_id, r) for r in seen])
            for record_id, record in upserts.items():
                text, digest = encode_record(record)
                db.execute(
                    "INSERT INTO records (record_id, pmid, data, content_hash, first_seen, last_seen, updated) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (record_id) DO UPDATE SET pmid = excluded.pmid, "
                    "data = excluded.data, content_hash = excluded.content_hash, last_seen = excluded.last_seen, "
                    "updated = excluded.updated, withdrawn = NULL, withdrawn_reason = NULL",
                    (record_id, record.pmid, text, digest, run_id, run_id, run_id),
                )
            db.executemany(
                "UPDATE records SET withdrawn = ?, withdrawn_reason = ? WHERE record_id = ?",
                [(run_id, reason, record_id) for record_id, reason in withdrawn.items()],
            )
            if hook:
                hook("mid-commit")
            db.execute("DELETE FROM decisions")
            db.executemany(
                "INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        r.record_id,
                        r.decision.value,
                        r.reason,
                        r.field,
                        r.value,
                        r.duplicate_of,
                        json.dumps(list(r.flags)),
                    )
                    for r in decisions
                ],
            )
            for record_id, (digest, found) in extracted.items():
                db.execute("DELETE FROM mentions WHERE record_id = ?", (record_id,))
                db.executemany(
                    f"INSERT INTO mentions (record_id, seq, {', '.join(repr(c) for c in MENTION_FIELDS)}) "
                    f"VALUES (?, ?, {', '.join('?' * len(MENTION_FIELDS))})",
                    [(record_id, i, *(getattr(m, c) for c in MENTION_FIELDS)) for i, m in enumerate(found)],
                )
                db.execute("INSERT OR REPLACE INTO extractions VALUES (?, ?, ?)", (record_id, digest, fingerprint))
            db.executemany(
                f"INSERT INTO changes ({', '.join(CHANGE_FIELDS)}) VALUES ({', '.join('?' * len(CHANGE_FIELDS))})",
                [
                    tuple(
                        int(c[k])
                        if k == "newly_included"
                        else c.get("pmid", pmid_of(c["record_id"]))
                        if k == "pmid"
                        else c[k]
                        for k in CHANGE_FIELDS
                    )
                    for c in changes
                ],
            )
            if plan.source_files is not None:
                # Only the files that changed are written (reading them all back costs a quarter
                # of updating them all: 0.11 vs 0.46 CPU s per 100,000 records).
                held = dict(db.execute("SELECT record_id, source_file FROM records"))
                db.executemany(
                    "UPDATE records SET source_file = ? WHERE record_id = ?",
                    [(file, record_id) for record_id, file in plan.source_files.items() if held.get(record_id) != file],
                )
            if plan.file_order is not None:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('source_files', ?)", (json.dumps(plan.file_order),))
            if plan.returned_by is not None:
                db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('returned_by', ?)",
                    (json.dumps(plan.returned_by, sort_keys=True),),
                )
            db.execute(
                "UPDATE runs SET status = ?, finished_at = ?, watermark = ?, manifest = ? WHERE run_id = ?",
                (COMMITTED, finished_at, watermark, json.dumps(manifest), run_id),
            )


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
