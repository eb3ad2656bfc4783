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
    """This process's peak resident memory so far, in MB: Linux's VmHWM, since ru_maxrss keeps the
    size of the process that started this one (a fork's copy is counted before exec replaces it),
    so a run started by a large process (a test, a scheduler's agent) would report that."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)  # kB
    except OSError:  # no /proc: not Linux
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1 << 20 if sys.platform == "darwin" else 1 << 10), 1)  # bytes on macOS, kB elsewhere


class StageClock:
    """Laps of one process's run: `lap(stage)` adds the time since the previous lap to `stage`."""

    def __init__(self, previous: dict | None = None):
        previous = previous or {}
        self.wall: dict[str, float] = dict(previous.get("wall", {}))
        self.cpu: dict[str, float] = dict(previous.get("cpu", {}))
        self.peak: dict[str, float] = dict(previous.get("peak_rss_mb", {}))
        # The kernel's counters lag by a few pages: this clock's peak is kept from falling between laps.
        self._peak = 0.0
        self.restart()

    def restart(self) -> None:
        """Start the next lap now (what ran since the last one counts for no stage)."""
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def lap(self, stage: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.wall[stage] = self.wall.get(stage, 0.0) + wall - self._wall
        self.cpu[stage] = self.cpu.get(stage, 0.0) + cpu - self._cpu
        self._peak = self.peak[stage] = max(self._peak, peak_rss_mb())
        self._wall, self._cpu = wall, cpu

    def to_json(self) -> dict:
        return {
            "wall": {k: round(v, 3) for k, v in self.wall.items()},
            "cpu": {k: round(v, 3) for k, v in self.cpu.items()},
            "peak_rss_mb": dict(self.peak),
        }
