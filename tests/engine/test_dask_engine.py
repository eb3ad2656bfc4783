"""`--engine dask` on real PubMed files: the same tables as the local engine, resumable, failures named.

The cluster is a scheduler with 2 worker processes over TCP on 127.0.0.1 (tests/support/dask_cluster.py),
joined with --scheduler, as a separately started `dask scheduler` would be.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds
import pytest

from pipeline.models import record_order
from pipeline.outputs.datasets import part_name
from pipeline.sources.pubmed_xml.parser import parse
from pipeline.store.state import StateStore
from tests.support.paths import REPO, shared_path, subprocess_env

# Two samples of the same baseline file (shared records, some in several versions), two samples of
# the next update file (new versions and ~260 DeleteCitations each), and an E-utilities answer that
# is not article XML (quarantined with its reason).
FILES = [
    "pmparser/4ab1502__pubmed_sample__baseline__pubmed20n1015.xml.gz",
    "pmparser/6dbb1c3__pubmed_sample__baseline__pubmed20n1015.xml.gz",
    "pmparser/59b8423__pubmed_sample__updatefiles__pubmed20n1016.xml.gz",
    "pmparser/dc9d71c__pubmed_sample__updatefiles__pubmed20n1016.xml.gz",
    "biopython/esearch1.xml",
]
TABLES = ("records.csv", "evidence.csv", "mentions.csv", "records.ris", "prisma.json")


def review_config(folder: Path, files: list[Path]) -> Path:
    """A review over `files`: a broad query, rules that exclude some records, the shipped lexicon."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "config" / "lexicons", folder / "lexicons")
    paths = ", ".join(json.dumps(str(f)) for f in files)
    path = folder / "review.toml"
    path.write_text(f"""
[review]
name = "dask-check"
[search]
source = "pubmed-xml"
paths = [{paths}]
all_of = [["patients", "cells", "study", "disease", "treatment", "effect", "results"]]
[screening]
min_year = 2000
languages = ["eng"]
exclude_publication_types = ["Comment", "Published Erratum"]
[extraction]
lexicons = ["lexicons/ketamine-review.toml"]
[output]
dir = "out"
""")
    return path


@pytest.fixture
def real_files(shared_pubmed) -> list[Path]:
    return [shared_pubmed / name for name in FILES]


def engine_of(out: Path) -> dict:
    return json.loads((out / "run.json").read_text())["engine"]


def state_of(out: Path) -> tuple:
    with StateStore.open(out) as state:
        hashes = {i: h for i, (_, h) in state.active_records().items()}
        decisions = state.decisions()
        included = set(decisions)
        return hashes, decisions, sorted(state.mentions(included), key=repr), state.extraction_keys()


def test_dask_gives_the_local_engine_tables_byte_for_byte_and_resumes(tmp_path, real_files, invoke, dask_scheduler):
    config = review_config(tmp_path / "config", real_files)
    local, cluster = tmp_path / "local", tmp_path / "dask"
    first = invoke("run", "--config", config, "--out", local)
    assert first.exit_code == 0, first.stderr
    second = invoke("run", "--config", config, "--out", cluster, "--scheduler", dask_scheduler)
    assert second.exit_code == 0, second.stderr
    assert second.stdout == first.stdout.replace(str(local), str(cluster))
    # Progress counts files and the records read so far; the scheduler is named, with its dashboard if any.
    assert "INFO read: 5/5 files, 112 records\n" in second.stderr
    dashboard = (
        "no dashboard (it needs `pip install bokeh`)" if importlib.util.find_spec("bokeh") is None else "dashboard"
    )
    assert f"INFO Dask scheduler {dask_scheduler}, {dashboard}" in second.stderr

    records = pd.read_csv(local / "records.csv", dtype=str, keep_default_na=False)
    assert set(records.decision) == {"include", "exclude"}  # the rules had work to do
    assert len(pd.read_csv(local / "mentions.csv")) > 500
    for name in TABLES:
        assert (cluster / name).read_bytes() == (local / name).read_bytes(), name
    for name in ("records", "evidence", "mentions"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(cluster / f"{name}.parquet"), pd.read_parquet(local / f"{name}.parquet")
        )
    assert state_of(cluster) == state_of(local)

    manifest = json.loads((cluster / "run.json").read_text())
    engine = manifest["engine"]
    assert (engine["kind"], engine["scheduler"], engine["workers"]) == ("dask", dask_scheduler, 2)
    assert (engine["files"], engine["files_processed"], engine["files_reused"]) == (5, 5, 0)
    assert engine["records_read"] == manifest["searched"]["records_read"] == 112
    assert engine["extracted_on_client"] == 0
    # Every record the local run extracted was extracted in a task; the versions that the later
    # files (a second copy of the baseline file, the updates) replace were not.
    assert engine["records_extracted"] >= manifest["counts"]["included"] > 0
    assert engine["records_superseded"] > 0
    assert isinstance(engine["steal_requests"], int) and engine["steal_requests"] >= 0
    assert set(engine["seconds"]) == {"cluster_start", "scan", "map", "load_parts", "reduce"}
    assert engine["gc_enabled_after_every_task"] is True
    # Both workers took files, and each built the NER pipeline once whatever number of files it read.
    assert len(engine["model_loads_per_worker"]) == 2 and set(engine["model_loads_per_worker"].values()) == {1}
    assert set(engine["task_seconds"]) == {
        "hash",
        "parse",
        "screen",
        "model_load",
        "extract",
        "write",
        "cpu",
        "model_load_cpu",
    }
    assert manifest["quarantined"] == json.loads((local / "run.json").read_text())["quarantined"] != []
    assert "engine" not in json.loads((local / "run.json").read_text())

    # Rerun: every part is reused, nothing is parsed or extracted again, same tables.
    again = invoke("run", "--config", config, "--out", cluster, "--scheduler", dask_scheduler)
    assert again.exit_code == 0, again.stderr
    assert (engine_of(cluster)["files_processed"], engine_of(cluster)["files_reused"]) == (0, 5)
    assert engine_of(cluster)["records_extracted"] == 0
    assert "INFO scan: 5/5 files\n" in again.stderr  # the files' PMIDs, read from the first run's scans
    for name in TABLES:
        assert (cluster / name).read_bytes() == (local / name).read_bytes(), name

    # An interrupted run leaves complete parts or none: with one part gone, only its file is redone.
    parts = sorted(p for p in (cluster / "parts").iterdir() if not p.name.startswith(".") and p.name != "pmids")
    assert len(parts) == 5 and all((p / "part.json").is_file() for p in parts)
    shutil.rmtree(parts[2])
    stale = cluster / "parts" / f".{parts[2].name}.k1ll3d"  # a task killed before its rename
    (stale / "items.parquet").parent.mkdir()
    (stale / "items.parquet").write_bytes(b"PAR1 cut short")
    resumed = invoke("run", "--config", config, "--out", cluster, "--scheduler", dask_scheduler)
    assert resumed.exit_code == 0, resumed.stderr
    assert not stale.exists()
    assert (engine_of(cluster)["files_processed"], engine_of(cluster)["files_reused"]) == (1, 4)
    for name in TABLES:
        assert (cluster / name).read_bytes() == (local / name).read_bytes(), name


def test_a_file_that_fails_is_named_with_its_reason_and_nothing_is_committed(
    tmp_path, real_files, invoke, dask_scheduler
):
    good, broken = real_files[0], tmp_path / "data" / "broken.xml.gz"
    broken.parent.mkdir()
    data = real_files[1].read_bytes()
    broken.write_bytes(data[: len(data) // 2])  # a download cut off halfway
    config = review_config(tmp_path / "config", [good, broken])
    out = tmp_path / "out"
    result = invoke("run", "--config", config, "--out", out, "--scheduler", dask_scheduler)
    assert result.exit_code == 4
    assert result.stderr.splitlines()[-1] == (
        f"Error: 1 of 2 input files failed on the cluster (after 2 retries): {broken}: EOFError: Compressed "
        "file ended before the end-of-stream marker was reached. Nothing was committed; the 1 finished files "
        f"are kept in {out / 'parts'} and reused when the run is started again."
    )
    assert not (out / "records.csv").exists()
    assert json.loads((out / "run.json").read_text())["status"] == "failed"

    broken.write_bytes(data)  # downloaded again
    fixed = invoke("run", "--config", config, "--out", out, "--scheduler", dask_scheduler)
    assert fixed.exit_code == 0, fixed.stderr
    assert (engine_of(out)["files_processed"], engine_of(out)["files_reused"]) == (1, 1)


def test_a_local_cluster_of_n_workers_is_started_when_no_scheduler_is_given(tmp_path, real_files, invoke):
    config = review_config(tmp_path / "config", real_files[:1])
    result = invoke("run", "--config", config, "--out", tmp_path / "out", "--engine", "dask", "--workers", "1")
    assert result.exit_code == 0, result.stderr
    engine = engine_of(tmp_path / "out")
    assert (engine["scheduler"], engine["workers"], engine["files_processed"]) == ("local cluster", 1, 1)


def test_the_local_clusters_workers_are_gone_while_the_client_publishes(tmp_path, real_files, invoke, monkeypatch):
    """The workers hold the model (~0.8 GB each) and have nothing left to do once the map is done:
    the cluster the run started is closed then, not after the tables."""
    import os

    import psutil

    from pipeline.engine import sync
    from pipeline.engine.dask_engine import DaskEngine

    workers: list[int] = []
    release = DaskEngine.release_cluster

    def releasing(engine):
        workers.extend(engine.client.run(os.getpid).values())
        release(engine)

    def alive() -> list[int]:
        return [pid for pid in workers if psutil.pid_exists(pid)]

    at_publish: list[list[int]] = []

    def publish(*args, **kwargs):
        deadline = time.monotonic() + 60  # the close runs in the background while the client works
        while alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        at_publish.append(alive())
        return publishing(*args, **kwargs)

    publishing = sync.publish
    monkeypatch.setattr(DaskEngine, "release_cluster", releasing)
    monkeypatch.setattr(sync, "publish", publish)
    config = review_config(tmp_path / "config", real_files[:1])
    result = invoke("run", "--config", config, "--out", tmp_path / "out", "--engine", "dask", "--workers", "1")
    assert result.exit_code == 0, result.stderr
    assert len(workers) == 1 and at_publish == [[]]


def test_a_cluster_that_fails_to_close_in_the_background_is_closed_again_at_the_end(caplog):
    from pipeline.config import EngineConfig
    from pipeline.engine.dask_engine import DaskEngine

    class Closing:
        def __init__(self, failures: int):
            self.failures, self.closed = failures, False

        def close(self):
            if self.failures:
                self.failures -= 1
                raise TimeoutError("the nanny did not answer")
            self.closed = True

    engine = DaskEngine(EngineConfig(kind="dask", workers=1))
    engine.client, engine.cluster = client, cluster = Closing(failures=1), Closing(failures=0)
    engine.release_cluster()
    engine._closing.join()
    assert (
        "closing the Dask cluster failed (TimeoutError: the nanny did not answer); trying again at the end of the run"
        in caplog.text
    )
    assert engine.client is client and not cluster.closed
    engine.__exit__(None, None, None)
    assert client.closed and cluster.closed and engine.client is None


def test_the_local_clusters_workers_run_without_the_statistical_profiler():
    # It samples every thread's stack every 10 ms: 12% of the tasks' CPU in bench dask.
    from pipeline.config import EngineConfig
    from pipeline.engine.dask_engine import DaskEngine

    def profiling(dask_worker=None) -> bool:
        return "profile" in dask_worker.periodic_callbacks

    with DaskEngine(EngineConfig(kind="dask", workers=1)) as engine:
        assert list(engine.client.run(profiling).values()) == [False]


def test_an_unreachable_scheduler_exits_3_naming_it(tmp_path, real_files, invoke, monkeypatch):
    from pipeline.engine import dask_engine

    monkeypatch.setattr(dask_engine, "CONNECT_TIMEOUT", 1)
    config = review_config(tmp_path / "config", real_files[:1])
    result = invoke("run", "--config", config, "--scheduler", "tcp://127.0.0.1:9")
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: the Dask scheduler at tcp://127.0.0.1:9 did not answer within 1 s (")
    assert result.stderr.endswith(
        "Start it with `dask scheduler` (and workers with `dask worker ADDRESS`), check the address, "
        "or leave out --scheduler to start a local cluster.\n"
    )


def test_a_cluster_started_with_the_dask_commands_gives_the_same_tables(tmp_path, real_files, invoke):
    """`dask scheduler` and `dask worker` from the project's install, as on a cluster (127.0.0.1)."""
    dask_command = Path(sys.executable).parent / "dask"
    if not dask_command.is_file():
        pytest.skip(f"{dask_command} is not installed")
    config = review_config(tmp_path / "config", real_files[:2])
    local = invoke("run", "--config", config, "--out", tmp_path / "local")
    assert local.exit_code == 0, local.stderr
    scheduler_file = tmp_path / "scheduler.json"
    env = subprocess_env()
    started = [
        subprocess.Popen(
            [
                str(dask_command),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--dashboard-address",
                "127.0.0.1:0",
                "--scheduler-file",
                str(scheduler_file),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        for _ in range(2):
            started.append(
                subprocess.Popen(
                    [
                        str(dask_command),
                        "worker",
                        "--scheduler-file",
                        str(scheduler_file),
                        "--host",
                        "127.0.0.1",
                        "--nthreads",
                        "1",
                        "--dashboard-address",
                        "127.0.0.1:0",
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        from distributed import Client

        with Client(scheduler_file=str(scheduler_file), timeout=120) as client:
            client.wait_for_workers(2, timeout=180)
            address = client.scheduler.address
        result = invoke("run", "--config", config, "--out", tmp_path / "dask", "--scheduler", address)
        assert result.exit_code == 0, result.stderr
    finally:
        for proc in reversed(started):
            proc.terminate()
        for proc in started:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    for name in TABLES:
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    assert engine_of(tmp_path / "dask")["workers"] == 2


@pytest.fixture(scope="module")
def local_datasets(tmp_path_factory) -> tuple[Path, Path]:
    """The config with [output] dataset_rows = 40 and its run by the local engine (once per module)."""
    shared_pubmed = shared_path("data", "pubmed")
    folder = tmp_path_factory.mktemp("datasets")
    config = review_config(folder / "config", [shared_pubmed / name for name in FILES])
    config.write_text(config.read_text().replace('dir = "out"', 'dir = "out"\ndataset_rows = 40'))
    from pipeline.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["-q", "run", "--config", str(config), "--out", str(folder / "local")])
    assert exit_info.value.code == 0
    return config, folder / "local"


def test_past_dataset_rows_both_engines_write_the_same_parquet_datasets_and_cut_csvs(
    tmp_path, local_datasets, invoke, dask_scheduler
):
    config, local = local_datasets
    cluster = tmp_path / "dask"
    result = invoke("run", "--config", config, "--out", cluster, "--scheduler", dask_scheduler)
    assert result.exit_code == 0, result.stderr
    tables = json.loads((local / "run.json").read_text())["tables"]
    said = [line for line in result.stdout.splitlines() if "holds only" in line]
    assert said == [
        f"{name}: {tables[name]['rows']:,} rows, in the Parquet dataset {cluster / name}/ ({tables[name]['parts']} "
        f"parts); {name}.csv holds only the first 40."
        for name in ("records", "evidence", "mentions")
        if tables[name]["rows"] > 40
    ]
    assert json.loads((cluster / "run.json").read_text())["tables"] == tables
    assert tables["mentions"]["rows"] > 500 and tables["records"]["rows"] > 40  # both past the limit
    files = [shared_path("data", "pubmed") / f for f in FILES]
    # Independently of the pipeline: the PMIDs each file holds (records and DeleteCitations).
    in_file = [{item.pmid for item in parse(f, source_name=str(f)) if item.pmid} for f in files]
    for name in ("records", "mentions"):
        info = tables[name]
        assert (info["csv_rows"], info["parquet"]) == (40, f"{name}/")
        parts = sorted(p.name for p in (local / name).iterdir())
        # One part per input file that gave the table a row, named after it, in the files' order.
        numbered = {int(p[5:10]): p for p in parts}
        assert parts == [numbered[i] for i in sorted(numbered)] and len(parts) == info["parts"]
        assert {i: numbered[i] for i in numbered} == {i: part_name(i, str(files[i])) for i in numbered}
        assert parts[0] == "part-00000-4ab1502__pubmed_sample__baseline__pubmed20n1015.parquet"
        assert sorted(p.name for p in (cluster / name).iterdir()) == parts
        assert not (local / f"{name}.parquet").exists() and not (cluster / f"{name}.parquet").exists()
        for part in parts:  # the same rows in the same parts, whatever the engine
            pd.testing.assert_frame_equal(pd.read_parquet(cluster / name / part), pd.read_parquet(local / name / part))
        # A record lives in the part of the file that gave its current version: that file holds
        # its PMID and no later file does (a later version would have replaced it, a DeleteCitation
        # removed it).
        for i, part in numbered.items():
            pmids = set(pd.read_parquet(local / name / part)["pmid"].astype(str))
            assert pmids <= in_file[i], part
            assert not pmids & set().union(*in_file[i + 1 :]), part
        if name == "records":  # the records of the baseline samples moved by the update files
            assert len(parts) == 4 and 2 <= sum("updatefiles" in p for p in parts)
        # The whole table reads back from the folder as one frame, in the parts' order; sorted
        # back into record order (stable: a record's rows keep their order) it is the table.
        whole = pd.read_parquet(local / name)
        assert len(whole) == info["rows"] and ds.dataset(local / name).count_rows() == info["rows"]
        ids = whole["record_id"].tolist()
        whole = whole.iloc[sorted(range(len(ids)), key=lambda i: record_order(ids[i]))]
        csv = pd.read_csv(local / f"{name}.csv", dtype=str, keep_default_na=False)
        assert csv["pmid"].tolist()[:40] == whole["pmid"].astype(str).tolist()[:40]
        assert csv["pmid"].iloc[-1].startswith(f"# TRUNCATED: this file holds the first 40 of {info['rows']:,} rows.")
        if name == "mentions":  # a record's mentions are never split between two parts
            ends = [pd.read_parquet(local / name / p)["record_id"] for p in parts]
            assert all(a.iloc[-1] != b.iloc[0] for a, b in zip(ends, ends[1:]))
    for name in ("records.csv", "evidence.csv", "mentions.csv", "records.ris", "prisma.json"):
        assert (cluster / name).read_bytes() == (local / name).read_bytes(), name
    ris = json.loads((cluster / "run.json").read_text())["ris"]
    assert ris == json.loads((local / "run.json").read_text())["ris"]
    assert ris["included"] > 40
    ris_lines = [line for line in result.stdout.splitlines() if line.startswith("records.ris:")]
    assert ris_lines == [
        f"records.ris: the first 40 of {ris['included']:,} included records (the evidence table's order); every "
        "one is in the tables."
    ]
    # Where the time went, wall and this process's CPU, per stage, for both engines; and the
    # process's peak memory by the end of each stage (it only grows: publishing, last, holds it).
    stages = ["read_state", "search", "screen", "extract", "changes", "commit"]
    stages += ["publish_read_state", "publish_build_tables", "publish_write_tables", "publish_other"]
    for out in (local, cluster):
        seconds = json.loads((out / "run.json").read_text())["stage_seconds"]
        assert list(seconds) == ["wall", "cpu", "peak_rss_mb"]
        assert list(seconds["wall"]) == list(seconds["cpu"]) == list(seconds["peak_rss_mb"]) == stages
        assert all(v >= 0 for part in seconds.values() for v in part.values())
        peaks = seconds["peak_rss_mb"]
        assert 50 < peaks["search"] <= peaks["publish_read_state"] <= peaks["publish_other"] == max(peaks.values())
    duckdb = pytest.importorskip("duckdb", reason="duckdb is a test dependency (pyproject [test])")
    glob = str(local / "mentions" / "*.parquet")
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{glob}')").fetchall() == [(tables["mentions"]["rows"],)]
    # show and the report read the datasets.
    shown = invoke("show", "--out", cluster, "--format", "json")
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["counts"]["mentions"] == tables["mentions"]["rows"]


def test_past_dataset_rows_records_ris_holds_the_evidence_tables_first_records(local_datasets):
    _, local = local_datasets
    rispy = pytest.importorskip("rispy", reason="rispy is a test dependency (pyproject [test])")
    evidence = pd.read_csv(local / "evidence.csv", dtype=str, keep_default_na=False)["pmid"].tolist()
    included = json.loads((local / "run.json").read_text())["tables"]["evidence"]["rows"]
    assert included > 40  # the cut is exercised
    assert json.loads((local / "run.json").read_text())["ris"] == {
        "file": "records.ris",
        "references": 40,
        "included": included,
    }
    with open(local / "records.ris", encoding="utf-8", newline="") as handle:
        references = rispy.load(handle)
    assert [r["accession_number"] for r in references] == evidence[:40]


def test_a_worker_killed_mid_task_is_replaced_and_the_run_gives_the_local_tables(
    tmp_path, local_datasets, invoke, monkeypatch
):
    """A 2-worker local cluster with nannies; the first task to reach "mid-task" kills its worker
    process (SIGKILL, once: the marker file); Dask runs the task again on a live worker."""
    config, local = local_datasets
    marker = tmp_path / "killed-one-worker"
    monkeypatch.setenv("PIPELINE_TEST_CRASH_AT", "mid-task")
    monkeypatch.setenv("PIPELINE_TEST_CRASH_ONCE", str(marker))
    cluster = tmp_path / "dask"
    result = invoke("run", "--config", config, "--out", cluster, "--engine", "dask", "--workers", "2")
    assert result.exit_code == 0, result.stderr
    assert marker.is_file()  # a worker did die mid-task
    engine = engine_of(cluster)
    assert (engine["files"], engine["files_processed"], engine["files_reused"]) == (5, 5, 0)
    for name in TABLES:
        assert (cluster / name).read_bytes() == (local / name).read_bytes(), name
    for name in ("records", "mentions"):
        pd.testing.assert_frame_equal(pd.read_parquet(cluster / name), pd.read_parquet(local / name))


def test_publishing_holds_none_of_the_runs_own_records_or_mentions(
    tmp_path, real_files, invoke, dask_scheduler, monkeypatch
):
    """The outputs are rebuilt from the store, so the run's own records and mentions (the commit
    plan's, the Dask engine's) are released before publishing reads them back: holding both
    would double the client's memory at scale."""
    from pipeline.engine import sync
    from pipeline.models import Mention, Record

    def alive() -> int:
        gc.collect()
        return sum(isinstance(o, (Record, Mention)) for o in gc.get_objects())

    at_publish = []
    publish = sync.publish
    monkeypatch.setattr(sync, "publish", lambda *a, **k: at_publish.append(alive()) or publish(*a, **k))
    config = review_config(tmp_path / "config", real_files)
    before = alive()  # whatever other tests' fixtures hold
    assert invoke("run", "--config", config, "--out", tmp_path / "local").exit_code == 0
    assert invoke("run", "--config", config, "--out", tmp_path / "dask", "--scheduler", dask_scheduler).exit_code == 0
    assert len(at_publish) == 2 and max(at_publish) <= before
    mentions = pd.read_csv(tmp_path / "dask" / "mentions.csv")
    assert len(mentions) > 500  # there were mentions to hold
