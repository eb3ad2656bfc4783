"""One run at a time per review: an exclusive lock on a file in the review's output folder.

The lock is an advisory `flock` held for the whole run, so the kernel releases it the moment the
holding process ends, however it ends (even kill -9): a lock left by a dead process is never an
obstacle. The file also says who holds it (pid, host, command, start time) so that a refused run can
name the running one, and so that a run taking over after a crash can say whose lock it cleared.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Callable

from pipeline.errors import RunLocked

log = logging.getLogger(__name__)

LOCK_FILE = ".pipeline.lock"
POLL_SECONDS = 0.2


class ReviewLock:
    """`with ReviewLock(folder, review, command, wait=30):` holds the lock or raises RunLocked."""

    def __init__(
        self,
        folder: Path,
        review: str,
        command: str,
        wait: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        started_at: str = "",
    ):
        self.path = Path(os.path.abspath(folder / LOCK_FILE))  # "a/../b" named plainly in messages
        self.review, self.command, self.wait = review, command, wait
        self.started_at = started_at
        self._clock, self._sleep = clock, sleep
        self._fd: int | None = None
        self.cleared: dict | None = None  # the holder info a dead process left behind, if any

    def __enter__(self) -> "ReviewLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = self._clock() + self.wait
        announced = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = read_holder(self.path)
                if self._clock() >= deadline:
                    os.close(fd)
                    raise RunLocked(self._refusal(holder)) from None
                if not announced:
                    log.warning("%s; waiting up to %.0f s for it to finish", _describe(holder, self.path), self.wait)
                    announced = True
                self._sleep(POLL_SECONDS)
        self._fd = fd
        previous = read_holder(self.path)
        if previous and previous.get("pid") != os.getpid():
            # We got the lock, so its previous holder has ended; if it did not clear the file it died.
            self.cleared = previous
            log.warning(
                "cleared a stale lock left by process %s (%s, started %s), which is no longer running",
                previous.get("pid", "?"),
                previous.get("command", "?"),
                previous.get("started_at", "?"),
            )
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "review": self.review,
            "command": self.command,
            "started_at": self.started_at,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        os.fsync(fd)

    def release(self) -> None:
        if self._fd is None:
            return
        # Empty the file first: a file with a holder in it and no lock on it means "died holding it".
        os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def _refusal(self, holder: dict | None) -> str:
        waited = f" after waiting {self.wait:g} s" if self.wait else ""
        return (
            f"{_describe(holder, self.path)}{waited}. Only one run of a review can write its output "
            f"folder at a time: wait for it to finish, or pass --wait SECONDS to queue behind it."
        )


def read_holder(path: Path) -> dict | None:
    """Who the lock file says holds it, or None when it is empty or unreadable."""
    try:
        text = path.read_text(encoding="utf-8").strip()
        return json.loads(text) if text else None
    except (OSError, ValueError):
        return None


def _describe(holder: dict | None, path: Path) -> str:
    if not holder:
        return f"Another process holds the lock {path} (it has not written its details yet)"
    return (
        f"Review {holder.get('review', '?')!r} is already being processed by process "
        f"{holder.get('pid', '?')} on {holder.get('host', '?')} ({holder.get('command', '?')}, "
        f"started {holder.get('started_at') or '?'}); lock file {path}"
    )
