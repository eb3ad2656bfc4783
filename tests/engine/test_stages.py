"""StageClock: run.json "stage_seconds", wall and CPU seconds per stage and the peak memory by each."""

from __future__ import annotations

import json
import subprocess
import sys

from pipeline.engine.stages import StageClock
from tests.support.paths import REPO, subprocess_env


def test_laps_add_up_per_stage_and_a_later_clock_carries_them_on():
    clock = StageClock()
    clock.lap("search")
    sum(range(200_000))
    clock.lap("screen")
    clock.lap("search")
    first = clock.to_json()
    assert list(first) == ["wall", "cpu", "peak_rss_mb"]
    assert list(first["wall"]) == list(first["cpu"]) == list(first["peak_rss_mb"]) == ["search", "screen"]
    assert first["cpu"]["screen"] > 0 and first["peak_rss_mb"]["screen"] > 0
    later = StageClock(first)  # publishing goes on from the run's stages
    later.lap("publish_other")
    second = later.to_json()
    assert second["wall"]["search"] == first["wall"]["search"]
    assert list(second["peak_rss_mb"]) == ["search", "screen", "publish_other"]


def test_the_peak_rises_at_the_lap_of_the_stage_that_needed_the_memory():
    # A fresh process: the peak is a maximum over the process's life. It is started by a process
    # holding more than it will (a test worker is large anyway): the peak is the run's own, not
    # its parent's (ru_maxrss would report the parent's size from the start).
    ballast = bytearray(600 << 20)  # zero-filled: every page resident
    code = (
        "import json\n"
        "from pipeline.engine.stages import StageClock\n"
        "clock = StageClock()\n"
        "clock.lap('small')\n"
        "block = bytearray(400 << 20)  # zero-filled: every page resident\n"
        "clock.lap('large')\n"
        "del block\n"
        "clock.lap('after')\n"
        "print(json.dumps(clock.to_json()['peak_rss_mb']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=subprocess_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    peaks = json.loads(done.stdout)
    del ballast
    assert peaks["small"] < 300 and peaks["large"] - peaks["small"] >= 380
    assert peaks["after"] >= peaks["large"]  # a peak, not the memory held now (400 MB less)
