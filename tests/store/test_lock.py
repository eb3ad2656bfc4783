"""One run at a time per review: refusal naming the running process, waiting, stale locks."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from pipeline.errors import ExitCode, RunLocked
from pipeline.store.lock import LOCK_FILE, ReviewLock, read_holder
from pipeline.store.state import StateStore
from tests.support.paths import REPO, subprocess_env
from tests.support.eutils_server import Fault

HOST = socket.gethostname()


@pytest.fixture(autouse=True)
def _unpaced(monkeypatch):
    """Runs against the local server need no pacing."""
    from pipeline.sources.pubmed import eutils

    monkeypatch.setattr(eutils, "RATE_WITHOUT_KEY", 1000.0)


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_second_lock_is_refused_naming_the_holder(tmp_path):
    with ReviewLock(tmp_path, "my-review", "refresh", started_at="2026-11-21T10:00:00+00:00"):
        with pytest.raises(RunLocked) as info:
            ReviewLock(tmp_path, "my-review", "run").acquire()
    assert str(info.value) == (
        f"Review 'my-review' is already being processed by process {os.getpid()} on {HOST} (refresh, "
        f"started 2026-11-21T10:00:00+00:00); lock file {tmp_path / LOCK_FILE}. Only one run of a review "
        "can write its output folder at a time: wait for it to finish, or pass --wait SECONDS to queue "
        "behind it."
    )
    assert info.value.exit_code == ExitCode.LOCKED == 5


def test_waiting_gives_up_at_the_limit(tmp_path):
    clock = FakeClock()
    with ReviewLock(tmp_path, "my-review", "refresh", started_at="T"):
        with pytest.raises(RunLocked) as info:
            ReviewLock(tmp_path, "my-review", "run", wait=1, clock=clock, sleep=clock.sleep).acquire()
    assert clock.slept == [0.2] * 5
    assert " after waiting 1 s. Only one run" in str(info.value)


def test_the_lock_is_released_and_emptied_on_exit(tmp_path):
    with ReviewLock(tmp_path, "my-review", "run", started_at="T"):
        assert read_holder(tmp_path / LOCK_FILE)["pid"] == os.getpid()
    assert read_holder(tmp_path / LOCK_FILE) is None
    with ReviewLock(tmp_path, "my-review", "run") as again:
        assert again.cleared is None


def test_a_lock_left_by_a_killed_process_is_detected_and_cleared(tmp_path):
    code = (
        "import os, signal, pathlib; from pipeline.store.lock import ReviewLock; "
        f"ReviewLock(pathlib.Path({str(tmp_path)!r}), 'my-review', 'refresh', started_at='S').acquire(); "
        "os.kill(os.getpid(), signal.SIGKILL)"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=subprocess_env(), cwd=REPO, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    dead = read_holder(tmp_path / LOCK_FILE)["pid"]
    with ReviewLock(tmp_path, "my-review", "run") as lock:
        assert lock.cleared == {
            "pid": dead,
            "host": HOST,
            "review": "my-review",
            "command": "refresh",
            "started_at": "S",
        }


# --- through the CLI, with a real second process --------------------------------------------------


def start_slow_refresh(server, review_config) -> subprocess.Popen:
    server.inject("esearch", Fault(delay=3.0))  # the running refresh stalls on its first search
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "refresh", "--config", str(review_config)],
        env=subprocess_env(
            EUTILS_BASE_URL=server.base_url, NCBI_EMAIL="tests@example.org", NCBI_API_KEY="local-test-key"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )


def wait_for_holder(path, pid: int) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        holder = read_holder(path)
        if holder and holder["pid"] == pid:
            return holder
        time.sleep(0.05)
    raise AssertionError(f"process {pid} never took the lock {path}")


def test_a_concurrent_refresh_is_refused_clearly(server, review_config, invoke):
    out = (review_config.parent.parent / "out").resolve()
    first = start_slow_refresh(server, review_config)
    try:
        holder = wait_for_holder(out / LOCK_FILE, first.pid)
        result = invoke("refresh", "--config", review_config)
    finally:
        _, err = first.communicate(timeout=120)
    assert result.exit_code == 5
    assert result.stderr.splitlines()[-1] == (
        f"Error: Review 'ketamine-depression' is already being processed by process {first.pid} on {HOST} "
        f"(refresh, started {holder['started_at']}); lock file {out / LOCK_FILE}. Only one run of a review "
        "can write its output folder at a time: wait for it to finish, or pass --wait SECONDS to queue "
        "behind it."
    )
    assert first.returncode == 0, err.decode()
    # The refused run touched nothing: the running one's manifest and state are its own.
    assert json.loads((out / "run.json").read_text())["status"] == "completed"
    with StateStore.open(out) as state:
        assert [r["status"] for r in state.runs()] == ["completed"]


def test_a_refresh_with_wait_queues_behind_the_running_one(server, review_config, invoke):
    out = review_config.parent.parent / "out"
    first = start_slow_refresh(server, review_config)
    try:
        wait_for_holder(out / LOCK_FILE, first.pid)
        result = invoke("refresh", "--config", review_config, "--wait", "120")
    finally:
        first.communicate(timeout=120)
    assert first.returncode == 0
    assert result.exit_code == 0, result.stderr
    assert "waiting up to 120 s for it to finish" in result.stderr
    with StateStore.open(out) as state:
        runs = state.runs()
    assert [(r["kind"], r["status"]) for r in runs] == [("refresh", "completed"), ("refresh", "completed")]
    assert runs[0]["pid"] == first.pid
