"""Store migrations: a state.sqlite of the previous release upgrades in place, in one transaction,
then gives the tables of a fresh run; a store newer than the code is refused (exit 2)."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from pipeline.config import load_config
from pipeline.engine.run import refresh, run_pipeline
from pipeline.models import RunManifest
from pipeline.store import migrations
from pipeline.store.state import STATE_FILE, StateStore
from tests.support.paths import FIXTURES

PREVIOUS = FIXTURES / "previous_release"  # state.sqlite made by commit e05de80 (see make_state.py)
TABLES = ("records.csv", "evidence.csv", "mentions.csv", "records.ris", "prisma.json")


def review(folder):
    """The previous release's review: its config, the corpus, and (optionally) its store."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PREVIOUS / "review.toml", folder / "review.toml")
    shutil.copyfile(FIXTURES / "ketamine_corpus.xml", folder / "corpus.xml")
    return load_config(folder / "review.toml")


def old_store(folder):
    (folder / "out").mkdir(parents=True)
    shutil.copyfile(PREVIOUS / STATE_FILE, folder / "out" / STATE_FILE)
    return folder / "out" / STATE_FILE


def rows(path, sql: str) -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_the_fixture_was_written_by_the_previous_release():
    path = PREVIOUS / STATE_FILE
    assert rows(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [("1",)]
    assert [r[0] for r in rows(path, "SELECT name FROM pragma_table_info('records')")][0] == "pmid"
    assert rows(path, "SELECT kind, status FROM runs ORDER BY run_id") == [
        ("run", "completed"),
        ("refresh", "completed"),
    ]


def test_a_previous_release_store_upgrades_on_the_first_refresh_and_matches_a_fresh_run(tmp_path):
    config = review(tmp_path / "old")
    path = old_store(tmp_path / "old")
    before = {
        table: rows(path, f"SELECT COUNT(*) FROM {table}")[0][0]
        for table in ("records", "decisions", "extractions", "mentions", "runs", "changes")
    }
    old_changes = rows(path, "SELECT run_id, pmid, change, why FROM changes ORDER BY run_id, pmid")
    old_mentions = rows(path, 'SELECT pmid, seq, section, start, "end", text, label FROM mentions ORDER BY pmid, seq')
    old_manifest = json.loads(rows(path, "SELECT manifest FROM runs ORDER BY run_id DESC LIMIT 1")[0][0])

    manifest = refresh(config)

    assert manifest["mode"] == "incremental"  # the old runs were read: their watermark and query
    # The 4 included records are extracted again: the extractor changed since that release (concept
    # linking, the junk filter, the vocabularies are part of its fingerprint).
    assert manifest["fetched"] == {"requested": 10, "new": 0, "changed": 0, "unchanged": 10, "extracted": 4}
    assert manifest["changes"]["new"] == manifest["changes"]["updated"] == 0
    assert set(old_manifest) <= set(manifest)  # run.json keeps every key the old release wrote
    assert rows(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [(str(migrations.LATEST),)]
    # Nothing lost: every row is still there (plus the new run), keyed on record_id.
    after = {table: rows(path, f"SELECT COUNT(*) FROM {table}")[0][0] for table in before}
    # (mentions: re-extracted by today's extractor, so their number is today's; see below)
    assert after == before | {"runs": before["runs"] + 1, "mentions": after["mentions"]}
    assert rows(path, "SELECT run_id, pmid, change, why FROM changes ORDER BY run_id, pmid") == old_changes
    assert rows(path, "SELECT COUNT(*) FROM changes WHERE record_id != 'pmid:' || pmid") == [(0,)]
    # The mentions were re-extracted (above): mentions.csv is compared with a fresh run's below.
    assert {r[0] for r in rows(path, "SELECT DISTINCT substr(record_id, 6) FROM mentions")} == {
        r[0] for r in old_mentions
    }
    assert rows(path, "SELECT record_id, duplicate_of FROM decisions WHERE duplicate_of != ''") == [
        ("pmid:30000007", "pmid:30000001")
    ]

    fresh = review(tmp_path / "fresh")
    run_pipeline(fresh)
    for name in TABLES:
        upgraded, new = (tmp_path / d / "out" / name for d in ("old", "fresh"))
        if name == "prisma.json":
            assert json.loads(upgraded.read_text()) == json.loads(new.read_text())
        else:
            assert upgraded.read_bytes() == new.read_bytes(), name


def test_an_upgrade_that_fails_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    path = old_store(tmp_path)
    original = path.read_bytes()

    def half_done(db):
        migrations._v2_record_ids(db)
        raise RuntimeError("disk full, say")

    monkeypatch.setitem(migrations.MIGRATIONS, 2, half_done)
    with pytest.raises(RuntimeError, match="disk full"):
        StateStore.open(path.parent)
    assert rows(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [("1",)]
    assert [r[0] for r in rows(path, "SELECT name FROM pragma_table_info('records')")][0] == "pmid"
    assert rows(path, "SELECT name FROM sqlite_master WHERE name LIKE '%_v2'") == []
    monkeypatch.undo()
    with StateStore.open(path.parent) as state:  # and the real upgrade still works afterwards
        assert state.schema_version() == migrations.LATEST
        assert len(state.active_records()) == 10
    assert path.read_bytes() != original


def test_a_new_store_and_an_upgraded_one_have_the_same_schema(tmp_path):
    assert sorted(migrations.MIGRATIONS) == list(range(1, migrations.LATEST + 1))
    upgraded = old_store(tmp_path / "old")
    StateStore.open(upgraded.parent).close()
    StateStore.open(tmp_path / "new").close()
    schema = (
        "SELECT m.name, p.name, p.type, p.pk FROM sqlite_master m, pragma_table_info(m.name) p "
        "WHERE m.type = 'table' ORDER BY m.name, p.cid"
    )
    assert rows(upgraded, schema) == rows(tmp_path / "new" / STATE_FILE, schema)
    assert rows(tmp_path / "new" / STATE_FILE, "SELECT value FROM meta WHERE key = 'schema_version'") == [
        (str(migrations.LATEST),)
    ]


def test_a_store_newer_than_the_code_is_refused_with_exit_2(tmp_path, invoke):
    config = review(tmp_path)
    StateStore.open(tmp_path / "out").close()
    db = sqlite3.connect(tmp_path / "out" / STATE_FILE)
    with db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(migrations.LATEST + 1),))
        db.execute("UPDATE meta SET value = '9.1.0' WHERE key = 'pipeline_version'")
    db.close()
    result = invoke("refresh", "--config", config.path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {tmp_path / 'out' / STATE_FILE} has schema version {migrations.LATEST + 1}, but this pipeline "
        f"({migrations._pipeline_version()}) knows versions up to {migrations.LATEST}. Use pipeline 9.1.0 (which "
        "brought it to that version) or newer with this output folder, or choose another [output] dir.\n"
    )
    assert rows(tmp_path / "out" / STATE_FILE, "SELECT value FROM meta WHERE key = 'schema_version'") == [
        (str(migrations.LATEST + 1),)
    ]
    assert rows(tmp_path / "out" / STATE_FILE, "SELECT COUNT(*) FROM runs") == [(0,)]


def test_an_old_manifest_reads_back_with_its_database_and_every_key(tmp_path):
    stored = json.loads(rows(PREVIOUS / STATE_FILE, "SELECT manifest FROM runs ORDER BY run_id LIMIT 1")[0][0])
    manifest = RunManifest.from_json(stored)
    assert manifest.databases == {"PubMed (local XML files)": stored["identified"]}
    written = manifest.to_json()
    assert {k: written[k] for k in stored} == stored
    assert written["manifest_version"] == 2
    assert RunManifest.from_json(written) == manifest


def with_datasets(folder, paths=("corpus.xml",)):
    """The previous release's review with [output] dataset_rows = 3 (its tables become datasets)."""
    review(folder)
    text = (folder / "review.toml").read_text()
    text = text.replace('paths = ["corpus.xml"]', f"paths = {json.dumps(list(paths))}")
    (folder / "review.toml").write_text(text.replace('dir = "out"', 'dir = "out"\ndataset_rows = 3'))
    return load_config(folder / "review.toml")


def parts_of(out) -> dict[str, bytes]:
    return {f"{t}/{p.name}": p.read_bytes() for t in ("records", "evidence", "mentions") for p in (out / t).iterdir()}


def test_an_upgraded_store_learns_the_records_files_and_gives_a_fresh_runs_dataset_parts(tmp_path):
    config = with_datasets(tmp_path / "old")
    path = old_store(tmp_path / "old")
    with StateStore.open(path.parent) as state:  # upgraded: no record knows its file yet
        assert state.source_files() == ([], {})
    refresh(config)
    corpus = str((tmp_path / "old" / "corpus.xml").resolve())
    assert rows(path, "SELECT DISTINCT source_file FROM records") == [(corpus,)]
    assert rows(path, "SELECT value FROM meta WHERE key = 'source_files'") == [(json.dumps([corpus]),)]
    run_pipeline(with_datasets(tmp_path / "fresh"))
    upgraded, fresh = parts_of(tmp_path / "old" / "out"), parts_of(tmp_path / "fresh" / "out")
    assert sorted(upgraded) == [f"{t}/part-00000-corpus.parquet" for t in ("evidence", "mentions", "records")]
    assert upgraded == fresh


def test_a_record_read_again_from_a_later_file_moves_to_that_files_part(tmp_path):
    config = with_datasets(tmp_path / "review")
    out = tmp_path / "review" / "out"
    run_pipeline(config)
    assert sorted(parts_of(out)) == [f"{t}/part-00000-corpus.parquet" for t in ("evidence", "mentions", "records")]
    # The same records again in a later file: unchanged (nothing to store again), but their current
    # version now comes from that file, as in a fresh run over both files.
    shutil.copyfile(FIXTURES / "ketamine_corpus.xml", tmp_path / "review" / "later.xml")
    manifest = refresh(with_datasets(tmp_path / "review", ["corpus.xml", "later.xml"]))
    assert manifest["fetched"]["new"] == manifest["fetched"]["changed"] == 0
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copyfile(FIXTURES / "ketamine_corpus.xml", fresh / "later.xml")
    run_pipeline(with_datasets(fresh, ["corpus.xml", "later.xml"]))
    moved = parts_of(out)
    assert sorted(moved) == [f"{t}/part-00001-later.parquet" for t in ("evidence", "mentions", "records")]
    assert moved == parts_of(fresh / "out")
