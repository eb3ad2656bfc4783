"""A test hook for crash-safety tests, inert unless its environment variable is set.

PIPELINE_TEST_CRASH_AT=<point> makes the process SIGKILL itself when it reaches <point>, as kill -9
would, so tests can kill a run at a chosen moment. The run calls `checkpoint` at each point.
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "PIPELINE_TEST_CRASH_AT"
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
)


def checkpoint(point: str) -> None:
    """Die here, as kill -9 would, when the test hook names this point."""
    if os.environ.get(CRASH_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)
