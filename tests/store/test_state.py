"""The state store: record serialisation, transactions, run statuses."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.sources.pubmed_xml import parser as pubmed_xml
from pipeline.models import (
    AbstractSection,
    Author,
    CommentCorrection,
    CommitPlan,
    Decision,
    MeshHeading,
    Mention,
    Record,
    ScreeningResult,
)
from pipeline.store.state import (
    COMMITTED,
    COMPLETED,
    CRASHED,
    FAILED,
    RUNNING,
    StateStore,
    content_hash,
    record_from_json,
    record_to_json,
)
from pipeline.store.codec import encode_record
from tests.support.paths import FIXTURES

texts = st.text(max_size=30)
words = st.tuples(texts) | st.tuples(texts, texts) | st.just(())
records = st.builds(
    Record,
    pmid=st.from_regex(r"[0-9]{1,9}", fullmatch=True),
    title=texts,
    abstract_sections=st.lists(st.builds(AbstractSection, label=texts, text=texts, category=texts), max_size=3).map(
        tuple
    ),
    doi=texts,
    pub_year=st.none() | st.integers(1800, 2100),
    pub_month=st.none() | st.integers(1, 12),
    medline_date=texts,
    languages=words,
    publication_types=words,
    mesh_headings=st.lists(
        st.builds(MeshHeading, descriptor=texts, major_topic=st.booleans(), qualifiers=words, ui=texts), max_size=2
    ).map(tuple),
    authors=st.lists(st.builds(Author, last_name=texts, fore_name=texts, affiliations=words), max_size=2).map(tuple),
    comments_corrections=st.lists(st.builds(CommentCorrection, ref_type=texts, pmid=texts), max_size=2).map(tuple),
    is_book=st.booleans(),
)


@given(records)
@settings(max_examples=100, deadline=None)  # a shared machine: timings vary
def test_record_json_round_trip(record):
    text = record_to_json(record)
    assert record_from_json(text) == record
    assert record_to_json(record_from_json(text)) == text


@given(records)
@settings(max_examples=100, deadline=None)
def test_the_canonical_json_is_what_dataclasses_asdict_gives_and_encode_record_hashes_it(record):
    # Stored texts and hashes were made with asdict: a different text would make every stored record
    # look revised on the next refresh.
    text = json.dumps(dataclasses.asdict(record), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert record_to_json(record) == text
    assert encode_record(record) == (text, content_hash(text))


def test_parsed_fixture_records_round_trip():
    parsed = [r for r in pubmed_xml.parse(FIXTURES / "ketamine_corpus.xml") if isinstance(r, Record)]
    assert len(parsed) == 11
    for record in parsed:
        assert record_from_json(record_to_json(record)) == record


def test_stored_json_survives_changes_to_the_record_type():
    """A key the Record lost is ignored; a field it gained takes its default."""
    data = json.loads(record_to_json(Record(pmid="1", title="T")))
    data["field_from_an_old_version"] = 1
    del data["keywords"]
    assert record_from_json(json.dumps(data)) == Record(pmid="1", title="T")


def test_content_hash_changes_with_the_content():
    a, b = Record(pmid="1", title="A"), Record(pmid="1", title="B")
    assert content_hash(record_to_json(a)) == content_hash(record_to_json(Record(pmid="1", title="A")))
    assert content_hash(record_to_json(a)) != content_hash(record_to_json(b))


def commit(state: StateStore, run_id: str, upserts=(), decisions=(), hook=None, **extra) -> None:
    plan = dict(
        seen=[],
        upserts={r.record_id: r for r in upserts},
        withdrawn={},
        decisions=list(decisions),
        extracted={},
        fingerprint="fp",
        changes=[],
    )
    plan.update(extra)
    state.commit_run(run_id, CommitPlan(**plan), watermark="2026-01-01", finished_at="F", manifest={"m": 1}, hook=hook)


def test_the_store_is_in_wal_mode_and_creates_its_tables(tmp_path):
    with StateStore.open(tmp_path) as state:
        assert state.db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        names = {r[0] for r in state.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    # human_decisions: the reviewers' decision log (migration 3; its AUTOINCREMENT adds sqlite_sequence).
    assert names == {
        "meta",
        "records",
        "decisions",
        "extractions",
        "mentions",
        "runs",
        "changes",
        "human_decisions",
        "sqlite_sequence",
    }


def test_a_committed_run_is_read_back(tmp_path):
    rec = Record(pmid="7", title="Ketamine")
    decision = ScreeningResult("pmid:7", Decision.INCLUDE, "meets-criteria", flags=("retracted",))
    mention = Mention("pmid:7", "title", 0, 0, 8, "Ketamine", "DRUG", "ketamine", "lexicon", "MESH:D007649", "MeSH")
    with StateStore.open(tmp_path) as state:
        state.begin_run("r1", "run", "S", "q", 1)
        commit(
            state,
            "r1",
            [rec],
            [decision],
            extracted={"pmid:7": ("h", [mention])},
            changes=[
                {
                    "run_id": "r1",
                    "record_id": "pmid:7",
                    "change": "new",
                    "newly_included": True,
                    "old_decision": "",
                    "new_decision": "include",
                    "old_reason": "",
                    "new_reason": "meets-criteria",
                    "why": "w",
                    "title": "Ketamine",
                }
            ],
        )
    with StateStore.open(tmp_path) as state:
        assert state.active_records() == {"pmid:7": (rec, content_hash(record_to_json(rec)))}
        assert state.decisions() == {"pmid:7": decision}
        assert state.mentions(["pmid:7"]) == [mention]
        assert state.mentions(["pmid:8"]) == []
        assert state.extraction_keys() == {"pmid:7": ("h", "fp")}
        assert state.changes(["r1"])[0]["newly_included"] is True
        assert state.changes(["r1"])[0]["pmid"] == "7"  # derived from the record_id
        assert state.last_good_run() == {
            "run_id": "r1",
            "kind": "run",
            "watermark": "2026-01-01",
            "query": "q",
            "manifest": {"m": 1},
        }
        assert state.unpublished_runs() == ["r1"]
        state.mark_published(["r1"])
        assert [r["status"] for r in state.runs()] == [COMPLETED]


def test_a_store_from_before_linking_gains_empty_identifier_columns(tmp_path):
    import sqlite3

    from pipeline.store import migrations

    db = sqlite3.connect(tmp_path / "state.sqlite")
    migrations.MIGRATIONS[1](db)
    migrations.MIGRATIONS[2](db)
    db.execute("INSERT INTO meta VALUES ('schema_version', '2')")
    db.execute("INSERT INTO mentions VALUES ('pmid:7', 0, 'title', 0, 0, 8, 'Ketamine', 'DRUG', 'ketamine', 'lexicon')")
    db.commit()
    db.close()
    with StateStore.open(tmp_path) as state:
        assert state.schema_version() == migrations.LATEST
        assert state.mentions(["pmid:7"]) == [
            Mention("pmid:7", "title", 0, 0, 8, "Ketamine", "DRUG", "ketamine", "lexicon", "", "")
        ]


def test_a_store_of_schema_4_gains_empty_source_files_and_a_run_fills_them(tmp_path):
    import sqlite3

    from pipeline.store import migrations

    db = sqlite3.connect(tmp_path / "state.sqlite")
    for number in range(1, 5):
        migrations.MIGRATIONS[number](db)
    db.execute("INSERT INTO meta VALUES ('schema_version', '4')")
    rec = Record(pmid="7", title="Ketamine")
    text = record_to_json(rec)
    db.execute(
        "INSERT INTO records VALUES ('pmid:7', '7', ?, ?, 'r0', 'r0', 'r0', NULL, NULL)", (text, content_hash(text))
    )
    db.commit()
    db.close()
    with StateStore.open(tmp_path) as state:
        assert state.schema_version() == migrations.LATEST == 5
        assert state.source_files() == ([], {})  # stored before: from no known file
        assert state.active_records() == {"pmid:7": (rec, content_hash(text))}
        state.begin_run("r1", "run", "S", "q", 1)
        # The record is unchanged (no upsert) but now read from b.xml: its file moves there.
        commit(
            state, "r1", seen=["pmid:7"], source_files={"pmid:7": "/in/b.xml"}, file_order=["/in/a.xml", "/in/b.xml"]
        )
        assert state.source_files() == (["/in/a.xml", "/in/b.xml"], {"pmid:7": "/in/b.xml"})


def test_a_records_source_file_follows_the_run_that_read_it_and_withdrawn_ones_drop_out(tmp_path):
    a, b = Record(pmid="1", title="A"), Record(pmid="2", title="B")
    with StateStore.open(tmp_path) as state:
        state.begin_run("r1", "run", "S", "q", 1)
        commit(state, "r1", [a, b], source_files={"pmid:1": "x.xml", "pmid:2": "y.xml"}, file_order=["x.xml", "y.xml"])
        assert state.source_files() == (["x.xml", "y.xml"], {"pmid:1": "x.xml", "pmid:2": "y.xml"})
        state.begin_run("r2", "refresh", "S", "q", 1)
        # pmid:2 now comes from an API (""); pmid:1 is withdrawn.
        commit(state, "r2", withdrawn={"pmid:1": "no-longer-returned"}, source_files={"pmid:2": ""}, file_order=[])
        assert state.source_files() == ([], {})
        state.begin_run("r3", "refresh", "S", "q", 1)
        commit(state, "r3")  # a plan without source files leaves them as they were
        assert state.source_files() == ([], {})
        assert state.db.execute("SELECT record_id, source_file FROM records ORDER BY 1").fetchall() == [
            ("pmid:1", "x.xml"),
            ("pmid:2", ""),
        ]


def test_a_transaction_that_fails_half_way_leaves_nothing(tmp_path):
    def explode(point: str) -> None:
        raise RuntimeError(point)

    with StateStore.open(tmp_path) as state:
        state.begin_run("r1", "run", "S", "q", 1)
        with pytest.raises(RuntimeError, match="mid-commit"):
            commit(state, "r1", [Record(pmid="1")], hook=explode)
        assert state.active_records() == {}
        assert [r["status"] for r in state.runs()] == [RUNNING]
        assert state.last_good_run() is None


def test_withdrawn_records_leave_the_active_set_and_come_back_when_stored_again(tmp_path):
    with StateStore.open(tmp_path) as state:
        for run in ("r1", "r2", "r3"):
            state.begin_run(run, "refresh", "S", "q", 1)
        commit(state, "r1", [Record(pmid="1"), Record(pmid="2")])
        commit(state, "r2", withdrawn={"pmid:2": "deleted-citation"})
        assert set(state.active_records()) == {"pmid:1"}
        commit(state, "r3", [Record(pmid="2", title="back")])
        assert state.active_records()["pmid:2"][0].title == "back"
        row = state.db.execute("SELECT first_seen, updated, withdrawn FROM records WHERE pmid = '2'").fetchone()
    assert row == ("r1", "r3", None)


def test_run_statuses_failed_crashed_and_last_good_run(tmp_path):
    with StateStore.open(tmp_path) as state:
        state.begin_run("r1", "run", "S", "q", 1)
        commit(state, "r1")
        state.begin_run("r2", "refresh", "S", "q", 2)
        state.fail_run("r2", "F", "PubMed down", {"status": "failed"})
        state.begin_run("r3", "refresh", "S", "q", 3)
        assert state.mark_crashed() == ["r3"]
        assert [(r["run_id"], r["status"]) for r in state.runs()] == [
            ("r1", COMMITTED),
            ("r2", FAILED),
            ("r3", CRASHED),
        ]
        assert state.last_good_run()["run_id"] == "r1"
        assert state.run_manifest("r2") == {"status": "failed"}


def test_a_store_opened_twice_sees_only_committed_data(tmp_path):
    """WAL: a reader never sees a writer's open transaction."""
    with StateStore.open(tmp_path) as writer, StateStore.open(tmp_path) as reader:
        writer.begin_run("r1", "run", "S", "q", 1)
        writer.db.execute("BEGIN IMMEDIATE")
        writer.db.execute("INSERT INTO meta VALUES ('x', 'y')")
        assert reader.db.execute("SELECT value FROM meta WHERE key = 'x'").fetchone() is None
        writer.db.execute("ROLLBACK")


def test_stored_mentions_read_back_share_each_distinct_value(tmp_path):
    mentions = [
        Mention(
            "pmid:7", "abstract", i, 10 * i, 10 * i + 8, "ketamine", "DRUG", "ketamine", "model", "MESH:D007649", "MeSH"
        )
        for i in range(3)
    ]
    with StateStore.open(tmp_path) as state:
        state.begin_run("r1", "run", "S", "q", 1)
        commit(state, "r1", [Record(pmid="7", title="T")], [], extracted={"pmid:7": ("h", mentions)})
        back = state.mentions(["pmid:7"])
    assert back == mentions
    for name in ("record_id", "section", "text", "label", "canonical", "source", "identifier", "vocabulary"):
        assert len({id(getattr(m, name)) for m in back}) == 1, name
