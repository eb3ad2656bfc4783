"""Numbered schema migrations of the state store (state.sqlite).

The store's schema version is `meta.schema_version` (none: an empty file, version 0). Opening a
store applies, in order and in ONE transaction, every migration numbered above its version, so an
older store is brought up to date in place and a failure leaves it exactly as it was. A new store
goes through the same steps from 0. A store whose version is above `LATEST` was written by a newer
release: it is refused (ConfigError, exit 2) with the release that wrote it, never used with a
shape this code does not know.

Migrations are append-only: once released, a migration is never edited; a change is a new number.
  1  the first release's schema: records, decisions, extractions and mentions keyed on PMID; runs;
     changes
  2  record identity beyond PubMed: every table keys on `record_id` ("pmid:<PMID>" for the stored
     PubMed records) and keeps `pmid`; stored records rewritten in the current `models.Record` JSON
     (which gained `ids`), their content hashes and the extraction keys recomputed to match, so the
     next refresh sees no spurious change and re-extracts nothing
  3  the reviewers' decision log (store/human.py): `human_decisions`, append-only (triggers refuse
     UPDATE and DELETE), one row per decision people make in the screening workspace or import
  4  concept linking: mentions gain `identifier` and `vocabulary` (empty for mentions stored before;
     the extractor fingerprint changed with linking, so the next run re-extracts them)
  5  dataset parts by input file: records gain `source_file`, the local input file that gave the
     record's current version ("" for records from an API, and for records stored before: the next
     run of a local source fills it in for every record it reads); the files' order of the last
     run is kept in `meta` as "source_files"
"""

from __future__ import annotations

import sqlite3
from importlib import metadata
from typing import Callable

from pipeline.errors import ConfigError
from pipeline.store import human
from pipeline.store.codec import content_hash, record_from_json, record_to_json

Migration = Callable[[sqlite3.Connection], None]


def _v1_initial(db: sqlite3.Connection) -> None:
    for statement in """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE records (
    pmid TEXT PRIMARY KEY, data TEXT NOT NULL, content_hash TEXT NOT NULL, first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL, updated TEXT NOT NULL, withdrawn TEXT, withdrawn_reason TEXT
);
CREATE TABLE decisions (
    pmid TEXT PRIMARY KEY, decision TEXT NOT NULL, reason TEXT NOT NULL, field TEXT NOT NULL,
    value TEXT NOT NULL, duplicate_of TEXT NOT NULL, flags TEXT NOT NULL
);
CREATE TABLE extractions (pmid TEXT PRIMARY KEY, content_hash TEXT NOT NULL, fingerprint TEXT NOT NULL);
CREATE TABLE mentions (
    pmid TEXT NOT NULL, seq INTEGER NOT NULL, section TEXT NOT NULL, sentence INTEGER NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL, label TEXT NOT NULL,
    canonical TEXT NOT NULL, source TEXT NOT NULL, PRIMARY KEY (pmid, seq)
);
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL, pid INTEGER NOT NULL,
    started_at TEXT NOT NULL, finished_at TEXT, query TEXT NOT NULL, watermark TEXT, manifest TEXT, error TEXT
);
CREATE TABLE changes (
    run_id TEXT NOT NULL, pmid TEXT NOT NULL, change TEXT NOT NULL, newly_included INTEGER NOT NULL,
    old_decision TEXT NOT NULL, new_decision TEXT NOT NULL, old_reason TEXT NOT NULL,
    new_reason TEXT NOT NULL, why TEXT NOT NULL, title TEXT NOT NULL, PRIMARY KEY (run_id, pmid)
)""".split(";"):
        db.execute(statement)


def _v2_record_ids(db: sqlite3.Connection) -> None:
    for statement in """
CREATE TABLE records_v2 (
    record_id TEXT PRIMARY KEY, pmid TEXT NOT NULL, data TEXT NOT NULL, content_hash TEXT NOT NULL,
    first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, updated TEXT NOT NULL, withdrawn TEXT,
    withdrawn_reason TEXT
);
INSERT INTO records_v2 SELECT 'pmid:' || pmid, pmid, data, content_hash, first_seen, last_seen, updated,
    withdrawn, withdrawn_reason FROM records;
CREATE TABLE decisions_v2 (
    record_id TEXT PRIMARY KEY, decision TEXT NOT NULL, reason TEXT NOT NULL, field TEXT NOT NULL,
    value TEXT NOT NULL, duplicate_of TEXT NOT NULL, flags TEXT NOT NULL
);
INSERT INTO decisions_v2 SELECT 'pmid:' || pmid, decision, reason, field, value,
    CASE WHEN duplicate_of = '' THEN '' ELSE 'pmid:' || duplicate_of END, flags FROM decisions;
CREATE TABLE extractions_v2 (record_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, fingerprint TEXT NOT NULL);
INSERT INTO extractions_v2 SELECT 'pmid:' || pmid, content_hash, fingerprint FROM extractions;
CREATE TABLE mentions_v2 (
    record_id TEXT NOT NULL, seq INTEGER NOT NULL, section TEXT NOT NULL, sentence INTEGER NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL, label TEXT NOT NULL,
    canonical TEXT NOT NULL, source TEXT NOT NULL, PRIMARY KEY (record_id, seq)
);
INSERT INTO mentions_v2 SELECT 'pmid:' || pmid, seq, section, sentence, start, "end", text, label, canonical,
    source FROM mentions;
CREATE TABLE changes_v2 (
    run_id TEXT NOT NULL, record_id TEXT NOT NULL, pmid TEXT NOT NULL, change TEXT NOT NULL,
    newly_included INTEGER NOT NULL, old_decision TEXT NOT NULL, new_decision TEXT NOT NULL,
    old_reason TEXT NOT NULL, new_reason TEXT NOT NULL, why TEXT NOT NULL, title TEXT NOT NULL,
    PRIMARY KEY (run_id, record_id)
);
INSERT INTO changes_v2 SELECT run_id, 'pmid:' || pmid, pmid, change, newly_included, old_decision,
    new_decision, old_reason, new_reason, why, title FROM changes""".split(";"):
        db.execute(statement)
    for table in ("records", "decisions", "extractions", "mentions", "changes"):
        db.execute(f"DROP TABLE {table}")
        db.execute(f"ALTER TABLE {table}_v2 RENAME TO {table}")
    # The stored JSON in today's Record form (it gained `ids`): the hash a fresh fetch would give.
    rows = db.execute("SELECT record_id, data, content_hash FROM records").fetchall()
    for record_id, data, old_hash in rows:
        text = record_to_json(record_from_json(data))
        digest = content_hash(text)
        db.execute("UPDATE records SET data = ?, content_hash = ? WHERE record_id = ?", (text, digest, record_id))
        # Mentions computed from this very version stay valid: move their key to the new hash.
        db.execute(
            "UPDATE extractions SET content_hash = ? WHERE record_id = ? AND content_hash = ?",
            (digest, record_id, old_hash),
        )


def _v3_human_decisions(db: sqlite3.Connection) -> None:
    human.migrate(db)


def _v4_mention_identifiers(db: sqlite3.Connection) -> None:
    for column in ("identifier", "vocabulary"):
        db.execute(f"ALTER TABLE mentions ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")


def _v5_source_files(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE records ADD COLUMN source_file TEXT NOT NULL DEFAULT ''")


# Number -> migration. Append only.
MIGRATIONS: dict[int, Migration] = {
    1: _v1_initial,
    2: _v2_record_ids,
    3: _v3_human_decisions,
    4: _v4_mention_identifiers,
    5: _v5_source_files,
}
LATEST = max(MIGRATIONS)


def schema_version(db: sqlite3.Connection) -> int:
    """The store's schema version: 0 for an empty database."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone() is None:
        return 0
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(db: sqlite3.Connection, where: str = "state.sqlite") -> list[int]:
    """Bring the store up to LATEST; returns the migrations applied. Call inside a transaction.

    Raises ConfigError (exit 2) for a store newer than this code, naming the release it needs.
    """
    version = schema_version(db)
    if version > LATEST:
        row = db.execute("SELECT value FROM meta WHERE key = 'pipeline_version'").fetchone()
        needed = (
            f"pipeline {row[0]} (which brought it to that version) or newer"
            if row
            else "a newer release of the pipeline"
        )
        raise ConfigError(
            f"{where} has schema version {version}, but this pipeline ({_pipeline_version()}) knows "
            f"versions up to {LATEST}. Use {needed} with this output folder, or choose another "
            "[output] dir."
        )
    applied = []
    for number in range(version + 1, LATEST + 1):
        MIGRATIONS[number](db)
        applied.append(number)
    if applied:
        db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(LATEST),))
        db.execute("INSERT OR REPLACE INTO meta VALUES ('pipeline_version', ?)", (_pipeline_version(),))
    return applied


def _pipeline_version() -> str:
    try:
        return metadata.version("pipeline")
    except metadata.PackageNotFoundError:
        return "unknown"
