"""The reviewers' decision log: an append-only table in the review's state database.

Every decision a person makes (in the workspace, by import, or resolving a dual-mode conflict) is
one row, never updated or deleted (triggers refuse it): who, when, what, why, the note and the
content hash of the record version they read. Undo appends a row that withdraws an earlier one.
Each write is its own IMMEDIATE transaction committed with synchronous=FULL before the call
returns, so a decision acknowledged to the page survives kill -9 and power loss, and writers in
other threads or processes (two browsers, a `refresh` committing a run) queue on SQLite's lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.models import HumanDecision

# The store's migration number 3 (store/migrations.py); each statement is idempotent on its own.
MIGRATION = (
    """CREATE TABLE IF NOT EXISTS human_decisions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        record_id TEXT NOT NULL,
        reviewer TEXT NOT NULL,
        decision TEXT NOT NULL CHECK (decision IN ('include', 'exclude', 'maybe', 'undo')),
        reason TEXT NOT NULL DEFAULT '',
        note TEXT NOT NULL DEFAULT '',
        content_hash TEXT NOT NULL DEFAULT '',
        decided_at TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('screen', 'resolve', 'import')),
        undoes INTEGER REFERENCES human_decisions (seq))""",
    "CREATE INDEX IF NOT EXISTS human_decisions_by_record ON human_decisions (record_id)",
    """CREATE TRIGGER IF NOT EXISTS human_decisions_no_update BEFORE UPDATE ON human_decisions
       BEGIN SELECT RAISE(ABORT, 'human decisions are append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS human_decisions_no_delete BEFORE DELETE ON human_decisions
       BEGIN SELECT RAISE(ABORT, 'human decisions are append-only'); END""",
)
FIELDS = ("seq", "record_id", "reviewer", "decision", "reason", "note", "content_hash", "decided_at", "role", "undoes")
DECISIONS = ("include", "exclude", "maybe")


def migrate(db: sqlite3.Connection) -> None:
    """Create the decision log's table, index and append-only triggers (migration 3, inside the
    migration's transaction)."""
    for statement in MIGRATION:
        db.execute(statement)


def has_log(db: sqlite3.Connection) -> bool:
    return (
        db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'human_decisions'").fetchone()
        is not None
    )


def read_log(db: sqlite3.Connection) -> list[HumanDecision]:
    """Every entry, oldest first; [] for a store that never had people screening."""
    if not has_log(db):
        return []
    return [HumanDecision(*row) for row in db.execute(f"SELECT {', '.join(FIELDS)} FROM human_decisions ORDER BY seq")]


class DecisionLog:
    """The decision log of the review in `folder` (its state.sqlite), safe to share between threads."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        self._lock = threading.Lock()

    @classmethod
    def open(cls, folder: Path) -> DecisionLog:
        from pipeline.store.state import STATE_FILE, StateStore

        StateStore.open(Path(folder)).close()  # the store's migrations create the table (number 3)
        db = sqlite3.connect(Path(folder) / STATE_FILE, isolation_level=None, timeout=60, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        return cls(db)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> DecisionLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def version(self) -> int:
        """The latest entry's seq (0 for an empty log): changes with every entry appended, by any
        process."""
        with self._lock:
            return self.db.execute("SELECT coalesce(max(seq), 0) FROM human_decisions").fetchone()[0]

    def rows(self) -> list[HumanDecision]:
        with self._lock:
            return read_log(self.db)

    def append(self, entry: HumanDecision) -> HumanDecision:
        """Store one entry (its seq is ignored); returns it with the seq it was given, after commit."""
        return self.append_many([entry])[0]

    def append_many(self, entries: Iterable[HumanDecision]) -> list[HumanDecision]:
        """Store entries in one transaction: all or none."""
        out = []
        with self._transaction():
            for e in entries:
                cursor = self.db.execute(
                    f"INSERT INTO human_decisions ({', '.join(FIELDS[1:])}) VALUES ({', '.join('?' * 9)})",
                    (
                        e.record_id,
                        e.reviewer,
                        e.decision,
                        e.reason,
                        e.note,
                        e.content_hash,
                        e.decided_at,
                        e.role,
                        e.undoes,
                    ),
                )
                out.append(HumanDecision(cursor.lastrowid, *(getattr(e, f) for f in FIELDS[1:])))
        return out

    def undo_last(self, reviewer: str, decided_at: str) -> HumanDecision | None:
        """Withdraw `reviewer`'s latest decision still in force; returns that decision (None when
        there is none). Repeated undos walk further back."""
        with self._transaction():
            row = self.db.execute(
                f"SELECT {', '.join(FIELDS)} FROM human_decisions d WHERE reviewer = ? AND decision != 'undo' "
                "AND role != 'import' AND NOT EXISTS (SELECT 1 FROM human_decisions u WHERE u.undoes = d.seq) "
                "ORDER BY seq DESC LIMIT 1",
                (reviewer,),
            ).fetchone()
            if row is None:
                return None
            undone = HumanDecision(*row)
            self.db.execute(
                "INSERT INTO human_decisions (record_id, reviewer, decision, reason, note, content_hash, "
                "decided_at, role, undoes) VALUES (?, ?, 'undo', '', '', ?, ?, ?, ?)",
                (undone.record_id, reviewer, undone.content_hash, decided_at, undone.role, undone.seq),
            )
        return undone
