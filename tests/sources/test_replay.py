"""Replay: `run --offline` rebuilds every table from a run's raw archive without any network."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pytest

from pipeline.sources.archive import INDEX, ArchiveSource, efetch_key, esearch_key
from tests.support.paths import REPO, subprocess_env
from tests.support.eutils_server import FAULTS

TABLES = [
    "records.csv",
    "evidence.csv",
    "mentions.csv",
    "records.parquet",
    "evidence.parquet",
    "mentions.parquet",
    "prisma.json",
]
SECRET = "feedface-SECRET-API-KEY"


@pytest.fixture
def online_run(server, review_config, invoke, tmp_path, monkeypatch):
    """A completed online run in tmp_path/online; the server is gone and E-utilities unreachable after it."""
    out = tmp_path / "online"
    result = invoke("run", "--config", review_config, "--out", out)
    assert result.exit_code == 0, result.stderr
    monkeypatch.setenv("EUTILS_BASE_URL", "http://127.0.0.1:9/entrez/eutils/")  # refused, if anything tried
    return out, json.loads((out / "run.json").read_text())


def test_offline_rebuilds_identical_tables_with_no_request(online_run, review_config, invoke, server, tmp_path):
    out, first = online_run
    originals = {name: (out / name).read_bytes() for name in TABLES}
    requests_before = len(server.requests)
    for name in TABLES:
        (out / name).unlink()
    result = invoke("run", "--config", review_config, "--out", out, "--offline")
    assert result.exit_code == 0, result.stderr
    assert {name: (out / name).read_bytes() for name in TABLES} == originals
    assert len(server.requests) == requests_before
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["offline"] is True and first["offline"] is False
    assert manifest["raw_archive"] == first["raw_archive"]
    assert manifest["requests"] == {"made": 0, "retried": 0}
    assert manifest["pubmed_messages"] == first["pubmed_messages"]
    assert manifest["query_translation"] == first["query_translation"]
    assert sorted(p.name for p in (out / "raw").iterdir()) == [first["run_id"]]  # no new archive


def test_from_run_replays_a_named_run(online_run, review_config, invoke):
    out, first = online_run
    result = invoke("run", "--config", review_config, "--out", out, "--from-run", first["run_id"])
    assert result.exit_code == 0, result.stderr
    assert json.loads((out / "run.json").read_text())["raw_archive"] == f"raw/{first['run_id']}"


def test_from_run_with_an_unknown_id_lists_the_archived_runs(online_run, review_config, invoke):
    out, first = online_run
    result = invoke("run", "--config", review_config, "--out", out, "--offline", "--from-run", "20990101T000000Z")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f"Error: --from-run 20990101T000000Z: no archived run of that id in {out / 'raw'}. "
        f"Archived runs: {first['run_id']}."
    )


def test_offline_without_an_archive_says_how_to_make_one(review_config, invoke, tmp_path):
    out = tmp_path / "empty"
    result = invoke("run", "--config", review_config, "--out", out, "--offline")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f"Error: No archived run to replay in {out / 'raw'}: run once online first (python -m pipeline run "
        "--config ...), or pass --out with the folder of a past run."
    )
    # A usage error, found before the run begins: no run.json is written (none is overwritten).
    assert not (out / "run.json").exists()


def test_replaying_a_failed_runs_archive_names_the_missing_answer(server, review_config, invoke, tmp_path):
    out = tmp_path / "failed"
    server.inject("efetch", FAULTS["500"], times=5)
    assert invoke("run", "--config", review_config, "--out", out).exit_code == 3
    archive = next((out / "raw").iterdir())
    result = invoke("run", "--config", review_config, "--out", out, "--offline")
    assert result.exit_code == 4
    assert result.stderr.splitlines()[-1] == (
        f"Error: The archive {archive} holds no answer to the efetch of 10 PMIDs (30000010 ... 30000001): that "
        "run stopped before it, or used another config. Nothing was published; replay a completed run with "
        "--from-run RUN_ID, or run online."
    )
    assert not (out / "records.csv").exists()


def test_offline_run_in_a_subprocess_opens_no_connection(online_run, review_config, tmp_path):
    """The network guard is loaded in the child and E-utilities points at NCBI: any socket would fail it."""
    out, _ = online_run
    env = subprocess_env(NCBI_EMAIL="tests@example.org")
    env.pop("EUTILS_BASE_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "--config", str(review_config), "--out", str(out), "--offline"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    assert "NetworkAccessBlocked" not in proc.stderr
    assert (out / "evidence.csv").read_text().count("\n") == 5


def test_the_archive_index_names_each_request_without_caller_details(online_run):
    out, first = online_run
    folder = out / first["raw_archive"]
    entries = [json.loads(line) for line in (folder / INDEX).read_text().splitlines()]
    assert [(e["name"], e["utility"]) for e in entries] == [
        ("esearch-00001", "esearch"),
        ("esearch-00002", "esearch"),
        ("efetch-00001", "efetch"),
    ]
    assert entries[0]["params"] == {"term": first["query"], "retmax": 9999}
    assert entries[1]["params"]["term"].startswith(f"({first['query']}) AND ")  # PubMed's own filters: the cross-check
    assert entries[2]["params"] == {"ids": 10, "first": "30000010", "last": "30000001"}
    source = ArchiveSource(folder)
    assert source.esearch(first["query"], retmax=9999) == gzip.decompress(
        (folder / "esearch-00001.xml.gz").read_bytes()
    )


def test_request_keys_ignore_who_asked_but_not_what():
    assert esearch_key("k", {"retmax": 5, "tool": "x", "api_key": SECRET}) == esearch_key("k", {"retmax": "5"})
    assert esearch_key("k", {"retmax": 5}) != esearch_key("k", {"retmax": 6})
    assert efetch_key(["1", "2"]) != efetch_key(["2", "1"])


def test_the_api_key_is_in_no_output_log_or_archive(server, review_config, invoke, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("NCBI_API_KEY", SECRET)
    server.inject("esearch", FAULTS["503"])
    out = tmp_path / "keyed"
    result = invoke("run", "--config", review_config, "--out", out)
    assert result.exit_code == 0, result.stderr
    assert all(r["params"]["api_key"] == SECRET for r in server.requests)
    assert SECRET not in result.stderr + result.stdout
    assert all(SECRET not in r.getMessage() for r in caplog.records)
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert SECRET.encode() not in (gzip.decompress(data) if path.suffix == ".gz" else data), path


def test_an_answer_that_echoes_the_api_key_is_archived_masked(server, tmp_path):
    from pipeline.sources.archive import RawArchive, RecordingSource
    from pipeline.sources.pubmed.eutils import Client, Settings
    from tests.support.eutils_server import Fault

    body = (
        b"<eSearchResult><Count>0</Count><RetMax>0</RetMax><RetStart>0</RetStart><IdList/><QueryTranslation>"
        b"api_key=" + SECRET.encode() + b"</QueryTranslation></eSearchResult>"
    )
    server.inject("esearch", Fault(body=body))
    client = Client(Settings(base_url=server.base_url, email="tests@example.org", api_key=SECRET, max_rate=500.0))
    source = RecordingSource(client, RawArchive(tmp_path / "raw"))
    assert source.esearch("ketamine") == body  # the caller gets the answer as sent
    archived = gzip.decompress((tmp_path / "raw" / "esearch-00001.xml.gz").read_bytes())
    assert archived == body.replace(SECRET.encode(), b"***")


def test_a_replay_keeps_the_watermark_of_the_run_it_replays(server, review_config, tmp_path):
    """A later refresh must still ask PubMed for everything entered since the archived run."""
    from datetime import datetime, timezone

    from pipeline.config import load_config
    from pipeline.engine.run import run_pipeline
    from pipeline.store.state import StateStore

    config, out = load_config(review_config), tmp_path / "wm"
    archived = run_pipeline(config, out, now=lambda: datetime(2026, 1, 2, 9, 30, tzinfo=timezone.utc))
    assert archived["run_id"].startswith("20260102T0930")
    replayed = run_pipeline(config, out, offline=True)
    assert replayed["raw_archive"] == f"raw/{archived['run_id']}"
    with StateStore.open(out) as state:
        last = state.last_good_run()
    assert (last["run_id"], last["watermark"]) == (replayed["run_id"], "2026-01-02")


def test_keep_raw_runs_removes_the_oldest_archives(server, review_config, invoke, tmp_path):
    review_config.write_text(review_config.read_text().replace('dir = "../out"', 'dir = "../out"\nkeep_raw_runs = 2'))
    out = review_config.parent.parent / "out"
    ids = []
    for _ in range(3):
        result = invoke("run", "--config", review_config)
        assert result.exit_code == 0, result.stderr
        ids.append(json.loads((out / "run.json").read_text())["run_id"])
    assert sorted(p.name for p in (out / "raw").iterdir()) == ids[1:]
    assert json.loads((out / "run.json").read_text())["raw_archives_removed"] == [ids[0]]
    assert invoke("run", "--config", review_config, "--offline").exit_code == 0  # the newest still replays


def test_keep_raw_runs_must_keep_at_least_one(tmp_path, review_config, invoke):
    review_config.write_text(review_config.read_text().replace('dir = "../out"', 'dir = "../out"\nkeep_raw_runs = -1'))
    result = invoke("validate", "--config", review_config)
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {review_config}: [output.keep_raw_runs] is -1; use a value from 0 to 100000.\n")
