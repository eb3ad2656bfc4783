"""Where a run's time and memory go: wall and CPU seconds per stage, and the process's peak
memory by the end of each, for run.json "stage_seconds".

Both times are kept because the machines runs share are busy: wall time says how long people
waited, this process's CPU time what the stage itself cost (processes it forks or a cluster's
workers are not in it: those report their own, run.json "engine"). The peak only grows, so the
stage where it jumps is the one that needed the memory: at scale the run's own process (the Dask
client) holds every selected record, and its memory is the limit (README, "Client memory")."""

from __future__ import annotations

import resource
import sys
import time


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1 << 20 if sys.platform == "darwin" else 1 << 10), 1)  # bytes on macOS, KB on Linux


class StageClock:
    """Laps of one process's run: `lap(stage)` adds the time since the previous lap to `stage`."""

    def __init__(self, previous: dict | None = None):
        previous = previous or {}
        self.wall: dict[str, float] = dict(previous.get("wall", {}))
        self.cpu: dict[str, float] = dict(previous.get("cpu", {}))
        self.peak: dict[str, float] = dict(previous.get("peak_rss_mb", {}))
        self.restart()

    def restart(self) -> None:
        """Start the next lap now (what ran since the last one counts for no stage)."""
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def lap(self, stage: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.wall[stage] = self.wall.get(stage, 0.0) + wall - self._wall
        self.cpu[stage] = self.cpu.get(stage, 0.0) + cpu - self._cpu
        self.peak[stage] = peak_rss_mb()
        self._wall, self._cpu = wall, cpu

    def to_json(self) -> dict:
        return {
            "wall": {k: round(v, 3) for k, v in self.wall.items()},
            "cpu": {k: round(v, 3) for k, v in self.cpu.items()},
            "peak_rss_mb": dict(self.peak),
        }
