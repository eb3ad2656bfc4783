"""The reviewers' decision log in state.sqlite: append-only, undo, writers in parallel, and its
table created in a store that a run wrote."""

from __future__ import annotations

import shutil
import sqlite3
import threading

import pytest

from pipeline.models import CommitPlan, HumanDecision
from pipeline.store.human import DecisionLog, read_log
from pipeline.store.state import StateStore


def decision(record="pmid:1", reviewer="ana", decision="include", reason="", at="2026-01-01T00:00:00+00:00"):
    return HumanDecision(0, record, reviewer, decision, reason, "a note", "hash1", at, "screen")


def test_append_returns_the_committed_entry_and_reads_back(tmp_path):
    with DecisionLog.open(tmp_path) as log:
        saved = log.append(decision())
        second = log.append(decision("pmid:2", "ben", "exclude", "wrong population"))
    assert saved == HumanDecision(
        1, "pmid:1", "ana", "include", "", "a note", "hash1", "2026-01-01T00:00:00+00:00", "screen", None
    )
    assert second.seq == 2
    # A fresh connection (another process, after a restart) sees both.
    db = sqlite3.connect(tmp_path / "state.sqlite")
    assert read_log(db) == [saved, second]


@pytest.mark.parametrize(
    "statement", ["UPDATE human_decisions SET decision = 'exclude'", "DELETE FROM human_decisions"]
)
def test_the_log_is_append_only(tmp_path, statement):
    with DecisionLog.open(tmp_path) as log:
        log.append(decision())
    db = sqlite3.connect(tmp_path / "state.sqlite")
    with pytest.raises(sqlite3.IntegrityError) as info:
        db.execute(statement)
    assert str(info.value) == "human decisions are append-only"


def test_a_decision_outside_the_vocabulary_is_refused_by_the_table(tmp_path):
    with DecisionLog.open(tmp_path) as log, pytest.raises(sqlite3.IntegrityError):
        log.append(decision(decision="perhaps"))
    with DecisionLog.open(tmp_path) as log:
        assert log.rows() == []


def test_undo_withdraws_the_latest_decision_in_force_and_walks_back(tmp_path):
    with DecisionLog.open(tmp_path) as log:
        first = log.append(decision("pmid:1"))
        log.append(decision("pmid:9", reviewer="ben"))
        second = log.append(decision("pmid:2"))
        assert log.undo_last("ana", "t1") == second
        assert log.undo_last("ana", "t2") == first
        assert log.undo_last("ana", "t3") is None
        undos = [e for e in log.rows() if e.decision == "undo"]
    assert [(u.undoes, u.reviewer, u.record_id, u.decided_at) for u in undos] == [
        (second.seq, "ana", "pmid:2", "t1"),
        (first.seq, "ana", "pmid:1", "t2"),
    ]


def test_two_writers_at_once_both_persist(tmp_path):
    DecisionLog.open(tmp_path).close()
    errors = []

    def write(reviewer):
        try:
            with DecisionLog.open(tmp_path) as log:
                for i in range(40):
                    log.append(decision(f"pmid:{i}", reviewer))
        except sqlite3.Error as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(name,)) for name in ("ana", "ben")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with DecisionLog.open(tmp_path) as log:
        rows = log.rows()
    assert len(rows) == 80 and {r.reviewer for r in rows} == {"ana", "ben"}
    assert [r.seq for r in rows] == list(range(1, 81))


def test_the_log_lives_beside_a_runs_state_and_survives_its_commits(tmp_path):
    with StateStore.open(tmp_path) as state, DecisionLog.open(tmp_path) as log:
        log.append(decision())
        state.begin_run("r1", "run", "2026-01-01T00:00:00", "q", 1)
        plan = CommitPlan(seen=[], upserts={}, withdrawn={}, decisions=[], extracted={}, fingerprint="f", changes=[])
        state.commit_run("r1", plan, watermark="2026-01-01", finished_at="2026-01-01T00:00:01", manifest={})
        log.append(decision("pmid:2"))
        assert [r.record_id for r in read_log(state.db)] == ["pmid:1", "pmid:2"]


def test_a_store_without_people_has_an_empty_log(tmp_path):
    with StateStore.open(tmp_path) as state:
        assert read_log(state.db) == []


def test_migration_3_adds_the_log_to_a_previous_release_store(tmp_path):
    from pipeline.store import migrations
    from tests.support.paths import FIXTURES

    shutil.copyfile(FIXTURES / "previous_release" / "state.sqlite", tmp_path / "state.sqlite")
    with StateStore.open(tmp_path) as state:
        assert 3 in migrations.MIGRATIONS
        assert state.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            str(migrations.LATEST),
        )
        assert read_log(state.db) == []
    with DecisionLog.open(tmp_path) as log:
        log.append(decision("pmid:30000001"))
    with StateStore.open(tmp_path) as state:  # opening again applies nothing and keeps the entry
        assert [e.record_id for e in read_log(state.db)] == ["pmid:30000001"]
