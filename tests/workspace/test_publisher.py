"""The background publisher: decisions bring the outputs up to date without anyone publishing;
bursts coalesce (one run at a time, one more after), a `refresh` holding the review's lock is
waited for, failures are reported with their reason, and acknowledgements never wait."""

from __future__ import annotations

import csv
import json
import threading
import time
from datetime import datetime

from pipeline.errors import RunLocked, WorkspaceError
from pipeline.store.lock import ReviewLock
from pipeline.workspace.publisher import Publisher
from tests.support.workspace_review import Client, served, wait_for


class SlowPublish:
    """A publish that takes `seconds` and counts its runs; `fail` makes the next run raise."""

    def __init__(self, seconds: float = 0.3):
        self.seconds = seconds
        self.runs = 0
        self.running = 0
        self.most_at_once = 0
        self.fail: Exception | None = None
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            time.sleep(self.seconds)
            if self.fail is not None:
                exc, self.fail = self.fail, None
                raise exc
            self.runs += 1
            return f"run {self.runs}"
        finally:
            with self._lock:
                self.running -= 1


def clock() -> datetime:
    return datetime(2026, 12, 1, 12, 3, 4)


def test_a_burst_during_a_publish_costs_one_more_run(tmp_path):
    publish = SlowPublish(0.5)
    publisher = Publisher(publish, settle=0.05, now=clock).start()
    try:
        first = publisher.request()
        wait_for(lambda: publish.running, 10, "the first publish to start")
        tickets = [publisher.request() for _ in range(20)]  # a burst while it runs
        assert publisher.status().state == "updating"
        assert publisher.wait(tickets[-1], 20)
        assert publisher.wait(first, 0)
        time.sleep(0.3)  # nothing more is due
    finally:
        publisher.stop()
    assert publish.runs == 2 and publish.most_at_once == 1
    status = publisher.status()
    assert (status.state, status.text, status.message, status.runs) == ("idle", "tables updated 12:03:04", "run 2", 2)


def test_requests_return_at_once_while_a_publish_runs():
    publish = SlowPublish(1.0)
    publisher = Publisher(publish, settle=0).start()
    try:
        publisher.request()
        wait_for(lambda: publish.running, 10, "the publish to start")
        start = time.perf_counter()
        for _ in range(100):
            publisher.request()
        assert time.perf_counter() - start < 0.1
    finally:
        publisher.stop()


def test_a_failure_is_reported_with_its_reason_and_the_next_request_tries_again():
    publish = SlowPublish(0.01)
    publish.fail = WorkspaceError("publish failed (exit code 4): the disk is full")
    publisher = Publisher(publish, settle=0, now=clock).start()
    try:
        assert publisher.wait(publisher.request(), 10)
        status = publisher.status()
        assert (status.state, status.text) == (
            "error",
            "tables not updated: publish failed (exit code 4): the disk is full",
        )
        assert publisher.wait(publisher.request(), 10)
        assert publisher.status().text == "tables updated 12:03:04"
    finally:
        publisher.stop()


def test_a_locked_review_is_retried_until_the_lock_is_free():
    publish = SlowPublish(0.01)
    publish.fail = RunLocked("review 'x' is being updated by process 7 (refresh). Only one run ...")
    publisher = Publisher(publish, settle=0, retry=0.2, now=clock).start()
    try:
        assert publisher.wait(publisher.request(), 10)
        assert publisher.status().text == (
            "tables wait for the review's lock (review 'x' is being updated by process 7 (refresh)); "
            "trying again every 0 s"
        )
        wait_for(lambda: publish.runs == 1, 10, "the retry")  # nobody asked again
        assert publisher.status().state == "idle"
    finally:
        publisher.stop()


def test_decisions_stored_elsewhere_are_noticed_by_polling():
    version = [0]
    publish = SlowPublish(0.01)
    publisher = Publisher(publish, version=lambda: version[0], settle=0, poll=0.05).start()
    try:
        time.sleep(0.3)
        assert publish.runs == 0  # an empty log: nothing to publish
        version[0] = 4  # e.g. `decisions import` in another process
        wait_for(lambda: publish.runs == 1, 10, "the publish after the log changed")
        time.sleep(0.3)
        assert publish.runs == 1
    finally:
        publisher.stop()


def test_a_workspace_starting_on_a_log_with_decisions_publishes_once():
    publish = SlowPublish(0.01)
    publisher = Publisher(publish, version=lambda: 7, settle=0, poll=0.05).start()
    try:
        wait_for(lambda: publish.runs == 1, 10, "the publish at start")  # a crash may have left it unpublished
        time.sleep(0.3)
        assert publish.runs == 1
    finally:
        publisher.stop()


def read_csv(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return {r["record_id"]: r for r in csv.DictReader(f)}


def test_a_decision_reaches_records_csv_and_prisma_without_publishing(screening_review):
    out = screening_review.out
    with served(screening_review) as server:
        client = Client(server.url)
        token = client.login("ana")
        start = time.perf_counter()
        status, _, _ = client.request("/decide", {"csrf": token, "record_id": "pmid:30000001", "choice": "include"})
        acknowledged = time.perf_counter() - start
        assert status == 303
        _, _, html = client.request("/screen")
        assert '<span id="tables" role="status"' in html
        wait_for(lambda: server.publisher.status().runs == 1, 120, "the first publish")
        assert read_csv(out / "records.csv")["pmid:30000001"]["human_decision"] == "include"
        flow = json.loads((out / "prisma.json").read_text())
        assert flow["screening"]["by_people"]["records_included"] == 1
        assert [r for r in read_csv(out / "evidence.csv")] == ["pmid:30000001"]
        client.request("/undo", {"csrf": token})
        wait_for(lambda: server.publisher.status().runs == 2, 120, "the publish after the undo")
        assert read_csv(out / "records.csv")["pmid:30000001"]["human_decision"] == ""
        status, headers, body = client.request("/status")
        assert status == 200 and headers["Content-Type"] == "application/json"
        assert json.loads(body)["state"] == "idle" and json.loads(body)["text"].startswith("tables updated ")
    assert acknowledged < 5  # the publish (a child process, seconds) is not awaited


def test_a_refresh_holding_the_lock_is_waited_for(screening_review):
    from pipeline.config import load_config

    config = load_config(screening_review.config)
    out = screening_review.out
    with served(screening_review) as server:
        server.publisher.retry = 0.5
        client = Client(server.url)
        token = client.login("ben")
        with ReviewLock(out, config.review.name, "refresh"):
            client.request("/decide", {"csrf": token, "record_id": "pmid:30000001", "choice": "exclude:1"})
            wait_for(lambda: server.publisher.status().state == "waiting", 120, "the publisher to meet the lock")
            assert read_csv(out / "records.csv")["pmid:30000001"]["human_decision"] == ""  # nothing written
            _, _, html = client.request("/screen")
            assert "tables wait for the review&#39;s lock (" in html
            status, headers, _ = client.request("/publish", {"csrf": token})  # "update now" says so too
            assert status == 303 and "notice=tables+wait+for+the+review" in headers["Location"]
        wait_for(lambda: server.publisher.status().runs == 1, 120, "the publish once the lock is free")
        assert read_csv(out / "records.csv")["pmid:30000001"]["human_decision"] == "exclude"
