"""Where a run's time goes: wall and CPU seconds per stage, for run.json "stage_seconds".

Both are kept because the machines runs share are busy: wall time says how long people waited,
this process's CPU time what the stage itself cost (processes it forks or a cluster's workers are
not in it: those report their own, run.json "engine")."""

from __future__ import annotations

import time


class StageClock:
    """Laps of one process's run: `lap(stage)` adds the time since the previous lap to `stage`."""

    def __init__(self, previous: dict | None = None):
        previous = previous or {}
        self.wall: dict[str, float] = dict(previous.get("wall", {}))
        self.cpu: dict[str, float] = dict(previous.get("cpu", {}))
        self.restart()

    def restart(self) -> None:
        """Start the next lap now (what ran since the last one counts for no stage)."""
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def lap(self, stage: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.wall[stage] = self.wall.get(stage, 0.0) + wall - self._wall
        self.cpu[stage] = self.cpu.get(stage, 0.0) + cpu - self._cpu
        self._wall, self._cpu = wall, cpu

    def to_json(self) -> dict:
        return {
            "wall": {k: round(v, 3) for k, v in self.wall.items()},
            "cpu": {k: round(v, 3) for k, v in self.cpu.items()},
        }
