"""A test hook for crash-safety tests, inert unless its environment variable is set.

PIPELINE_TEST_CRASH_AT=<point> makes the process SIGKILL itself when it reaches <point>, as kill -9
would, so tests can kill a run at a chosen moment. The run calls `checkpoint` at each point.
"mid-task" is in a Dask task (engine/dask_tasks.py), after parsing its file: it kills the worker
process, not the run. With PIPELINE_TEST_CRASH_ONCE=<marker file> a point kills only the first
process to reach it (the one that creates the marker), so a retried task then succeeds.
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "PIPELINE_TEST_CRASH_AT"
CRASH_ONCE_ENV = "PIPELINE_TEST_CRASH_ONCE"
CRASH_POINTS = (
    "after-begin",
    "after-search",
    "mid-fetch",
    "after-fetch",
    "after-extract",
    "mid-commit",
    "after-commit",
    "mid-publish",
    "after-publish",
    "mid-task",
)


def checkpoint(point: str) -> None:
    """Die here, as kill -9 would, when the test hook names this point."""
    if os.environ.get(CRASH_ENV) == point:
        marker = os.environ.get(CRASH_ONCE_ENV)
        if marker:
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return  # another process died here already
        os.kill(os.getpid(), signal.SIGKILL)
