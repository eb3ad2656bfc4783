"""Keeping the outputs up to date while people screen: a background publisher.

Every acknowledged decision (and undo, resolution, import) asks for a publish; the request only sets
a flag and wakes a worker thread, so the decision's acknowledgement never waits for it. The worker
coalesces bursts: at most one publish runs at a time, and however many requests arrive while one
runs, exactly one more run follows it (after a short settle delay, so a quick series of keystrokes
costs one publish). It also polls the decision log's version, so decisions stored by another process
(`decisions import`, a second workspace) are published as well.

The publish itself is a callable (the engine passes one that runs `publish` in a child process, so
rebuilding the tables never competes with page requests for the interpreter); it takes the review's
lock without waiting. When a `refresh` holds the lock the publisher reports that it is waiting and
tries again every few seconds; any other failure is reported with its reason until the next request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pipeline.errors import PipelineError, RunLocked

log = logging.getLogger(__name__)

IDLE, UPDATING, WAITING, FAILED = "idle", "updating", "waiting", "error"


@dataclass(frozen=True)
class PublishStatus:
    state: str  # idle (outputs up to date), updating, waiting (for the review's lock), error
    text: str  # one line for the page
    updated_at: str  # when the outputs were last rebuilt here ("" before the first publish)
    message: str  # what the last publish wrote
    error: str  # why the last publish failed ("" when it did not)
    runs: int  # publishes completed


class Publisher:
    """Runs `publish` in a background thread whenever asked, coalescing bursts (see the module
    docstring). `version` returns the decision log's version (polled every `poll` seconds; a change
    since the last publish asks for one). Start with `start()`, stop with `stop()`."""

    def __init__(
        self,
        publish: Callable[[], str],
        version: Callable[[], object] | None = None,
        settle: float = 0.3,
        poll: float = 2.0,
        retry: float = 3.0,
        now: Callable[[], datetime] | None = None,
    ):
        self._publish = publish
        self._version = version
        self.settle, self.poll, self.retry = settle, poll, retry
        self._now = now or datetime.now
        self._cond = threading.Condition()
        self._pending = False
        self._retry_at: float | None = None
        self._requested = 0  # tickets handed out
        self._served = 0  # highest ticket a finished publish covered
        self._published_version: object = None
        self._stop = False
        self._thread: threading.Thread | None = None
        self._state = IDLE
        self._updated_at = ""
        self._message = ""
        self._error = ""
        self._runs = 0

    # -- control

    def start(self) -> Publisher:
        if self._version is not None:
            # Decisions stored while no workspace ran (or just before a crash) may not be published
            # yet: with any decision in the log, the first publish runs at once.
            self._published_version = self._safe_version()
            self._pending = bool(self._published_version)
        self._thread = threading.Thread(target=self._loop, name="workspace-publisher", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the publish in progress, if any (a pending one is dropped: the next start
        of the workspace, or `publish`, catches up)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def request(self) -> int:
        """Ask for a publish; returns at once with a ticket for `wait`."""
        with self._cond:
            self._requested += 1
            self._pending = True
            self._retry_at = None
            self._cond.notify_all()
            return self._requested

    def wait(self, ticket: int, timeout: float) -> bool:
        """Block until a publish that started after `ticket` was requested has finished (or failed);
        False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._served < ticket:
                left = deadline - time.monotonic()
                if left <= 0 or self._stop:
                    return False
                self._cond.wait(left)
            return True

    def status(self) -> PublishStatus:
        with self._cond:
            state = self._state
            if state == IDLE and self._pending:
                state = UPDATING
            if state == UPDATING:
                text = "updating the tables…"
            elif state == WAITING:
                text = f"tables wait for the review's lock ({self._error.split('. ')[0]}); trying again every {self.retry:.0f} s"
            elif state == FAILED:
                text = f"tables not updated: {self._error}"
            elif self._updated_at:
                text = f"tables updated {self._updated_at}"
            else:
                text = "tables up to date"
            return PublishStatus(state, text, self._updated_at, self._message, self._error, self._runs)

    # -- the worker

    def _safe_version(self) -> object:
        try:
            return self._version() if self._version else None
        except Exception:  # a busy or closing database: ask again at the next poll
            log.debug("could not read the decision log's version", exc_info=True)
            return self._published_version

    def _wait_for_work(self) -> bool:
        """Under the lock: sleep until a publish is due; False when stopping."""
        while not self._stop:
            if self._pending and (self._retry_at is None or time.monotonic() >= self._retry_at):
                return True
            timeout = self.poll if self._version is not None else None
            if self._retry_at is not None:
                timeout = max(0.0, self._retry_at - time.monotonic())
            self._cond.wait(timeout)
            if not self._pending and self._version is not None:
                self._cond.release()
                try:
                    current = self._safe_version()
                finally:
                    self._cond.acquire()
                if current != self._published_version:
                    self._pending = True
        return False

    def _loop(self) -> None:
        while True:
            with self._cond:
                if not self._wait_for_work():
                    return
                if self.settle:
                    self._cond.wait(self.settle)  # let a burst of keystrokes gather
                    if self._stop:
                        return
                ticket = self._requested
                self._pending = False
                self._retry_at = None
                self._state = UPDATING
            version = self._safe_version()
            try:
                message = self._publish()
            except RunLocked as exc:
                self._finish(ticket, WAITING, error=str(exc), retry=True)
            except PipelineError as exc:
                log.warning("publishing the outputs failed: %s", exc)
                self._finish(ticket, FAILED, error=str(exc))
            except Exception as exc:  # a bug: the page says so, the log has the traceback
                log.exception("publishing the outputs failed")
                self._finish(ticket, FAILED, error=f"{type(exc).__name__}: {exc}")
            else:
                self._finish(ticket, IDLE, message=message, version=version)

    def _finish(self, ticket: int, state: str, message: str = "", error: str = "", retry: bool = False, version=None):
        with self._cond:
            self._served = max(self._served, ticket)
            self._state = state
            self._error = error
            if state == IDLE:
                self._runs += 1
                self._message = message
                self._updated_at = self._now().strftime("%H:%M:%S")
                self._published_version = version
            if retry:
                self._pending = True
                self._retry_at = time.monotonic() + self.retry
            self._cond.notify_all()
