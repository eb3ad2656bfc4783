"""kill -9 during a refresh, then run again: the same tables and changes as an uninterrupted refresh.

Each test starts from the same committed first run (`scenario.base`), on a corpus that has since
grown, changed and lost a record; `scenario.reference` is that refresh done without interruption.
The refresh is a real `python -m pipeline` subprocess (with the network guard), killed either at a
chosen point through the PIPELINE_TEST_CRASH_AT test hook or by SIGKILL at a random moment.
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pandas as pd
import pytest

from pipeline.config import load_config
from pipeline.engine.run import refresh
from pipeline.store.state import StateStore
from tests.support.paths import REPO, subprocess_env
from tests.support.eutils_server import EutilsServer
from tests.support.refresh_corpus import base_corpus, clone, read_changes, read_tables, with_publication_type


@pytest.fixture(autouse=True)
def _unpaced(monkeypatch):
    """In-process runs against the local server need no pacing (subprocesses get 10/s via a key)."""
    from pipeline.sources.pubmed import eutils

    monkeypatch.setattr(eutils, "RATE_WITHOUT_KEY", 1000.0)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory, corpus):
    root = tmp_path_factory.mktemp("crash")
    shutil.copytree(REPO / "config", root / "config")
    path = root / "config" / "ketamine-depression.toml"
    text = path.read_text().replace('dir = "../outputs/ketamine-depression"', 'dir = "../out"')
    # One PMID per efetch, so that "mid-fetch" falls between batches.
    path.write_text(text + "\n[retrieval]\nbatch_size = 1\n")
    today = datetime.now(timezone.utc).date()
    with (
        EutilsServer(list(base_corpus(corpus, today - timedelta(days=400)).values())) as server,
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setenv("EUTILS_BASE_URL", server.base_url)
        patch.setenv("NCBI_EMAIL", "tests@example.org")
        from pipeline.sources.pubmed import eutils

        patch.setattr(eutils, "RATE_WITHOUT_KEY", 1000.0)
        config = load_config(path)
        refresh(config, root / "base")
        arts = server.articles
        arts["30000101"] = clone(
            arts["30000001"], "30000101", today, "Ketamine efficacy in late-life depression: a randomized trial."
        )
        arts["30000102"] = clone(
            arts["30000009"], "30000102", today, "Esketamine efficacy and depression: a cohort study."
        )
        arts["30000005"] = with_publication_type(arts["30000005"], "Comment", revised=today)
        del arts["30000010"]
        shutil.copytree(root / "base", root / "reference")
        refresh(config, root / "reference")
        yield SimpleNamespace(server=server, config=path, base=root / "base", reference=root / "reference")


def start_refresh(scenario, out, **env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "refresh", "--config", str(scenario.config), "--out", str(out)],
        env=subprocess_env(
            EUTILS_BASE_URL=scenario.server.base_url,
            NCBI_EMAIL="tests@example.org",
            NCBI_API_KEY="local-test-key",
            **env,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )


def assert_same_as_uninterrupted(scenario, out) -> None:
    assert read_tables(out) == read_tables(scenario.reference)
    assert read_changes(out) == read_changes(scenario.reference)
    records = pd.read_csv(out / "records.csv", dtype=str)
    assert records.pmid.is_unique
    with StateStore.open(out) as state:
        (count,) = state.db.execute("SELECT COUNT(*) FROM mentions").fetchone()
        (distinct,) = state.db.execute(
            "SELECT COUNT(*) FROM (SELECT DISTINCT record_id, start, section FROM mentions)"
        ).fetchone()
        assert count == distinct


@pytest.mark.parametrize("point", ["after-search", "mid-fetch", "mid-commit", "after-commit", "mid-publish"])
def test_killed_refresh_then_rerun_gives_the_uninterrupted_result(scenario, point, tmp_path, invoke, monkeypatch):
    out = tmp_path / "out"
    shutil.copytree(scenario.base, out)
    tables_before = read_tables(out)
    proc = start_refresh(scenario, out, PIPELINE_TEST_CRASH_AT=point)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, err.decode()
    if point in ("after-search", "mid-fetch", "mid-commit"):
        assert read_tables(out) == tables_before  # nothing committed, nothing published

    monkeypatch.setenv("EUTILS_BASE_URL", scenario.server.base_url)
    result = invoke("refresh", "--config", scenario.config, "--out", out)
    assert result.exit_code == 0, result.stderr
    assert_same_as_uninterrupted(scenario, out)
    with StateStore.open(out) as state:
        statuses = [r["status"] for r in state.runs()]
    if point in ("after-search", "mid-fetch", "mid-commit"):
        assert statuses == ["completed", "crashed", "completed"]
        assert "stopped before committing; their work is redone now" in result.stderr
    else:
        assert statuses == ["completed", "completed", "completed"]
        assert "committed but their outputs were not all written; publishing them now" in result.stderr
    assert "cleared a stale lock left by process" in result.stderr


def test_sigkill_at_random_moments_then_rerun(scenario, tmp_path, invoke, monkeypatch):
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    monkeypatch.setenv("EUTILS_BASE_URL", scenario.server.base_url)
    for attempt in range(2):
        out = tmp_path / f"out{attempt}"
        shutil.copytree(scenario.base, out)
        proc = start_refresh(scenario, out)
        time.sleep(rng.uniform(0.3, 3.0))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=120)
        result = invoke("refresh", "--config", scenario.config, "--out", out)
        assert result.exit_code == 0, f"seed {seed}: {result.stderr}"
        if proc.returncode == -signal.SIGKILL:
            assert_same_as_uninterrupted(scenario, out)
        else:  # it finished before the signal: the rerun had nothing left to change
            assert proc.returncode == 0, f"seed {seed}"
            assert read_tables(out) == read_tables(scenario.reference)
            assert read_changes(out) == []
