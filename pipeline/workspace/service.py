"""The workspace's library side: the screening queue, decisions, undo, resolutions and progress.

No HTTP here (server.py serves it). Records and the rules' decisions are read from the review's
state store; people's decisions go to the decision log (store/human.py), each committed before the
call returns. One `Workspace` is shared by the server's threads: reads of the state go through one
connection under a lock and are cached until a run commits new state.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipeline.config import Config, HumanScreeningConfig
from pipeline.errors import OutputsNotFound, WorkspaceError
from pipeline.models import Decision, HumanDecision, Mention, Record, ScreeningResult, record_order
from pipeline.screening import human
from pipeline.store.human import DECISIONS, DecisionLog
from pipeline.store.state import STATE_FILE, StateStore
from pipeline.workspace.ranking import (
    Prioritiser,
    RankItem,
    Stopping,
    default_prioritiser,
)

log = logging.getLogger(__name__)

MAX_NOTE = 2000
LIST_PAGE = 50  # records per page of the list view


@dataclass(frozen=True)
class QueueRecord:
    """A record people screen: what the rules let through."""

    record_id: str
    record: Record
    content_hash: str
    rule: ScreeningResult
    position: int  # order in the store (by PMID): the rank before any decision


@dataclass(frozen=True)
class Progress:
    reviewer: str
    mode: str
    total: int  # records in the queue
    decided: int  # records with an outcome (dual: both reviewers, or resolved)
    remaining: int
    included: int
    excluded: int
    maybe: int
    conflicts: int
    awaiting_second: int  # dual mode: decided by one reviewer so far
    mine: int  # decisions in force by this reviewer
    mine_remaining: int  # records this reviewer still has to screen
    stopping: Stopping | None
    ranker: str
    agreement: tuple[human.Agreement, ...]


@dataclass(frozen=True)
class ListPage:
    """One page of the list view."""

    rows: list[dict]
    total: int  # records matching the search (all pages)
    page: int  # 1-based, clamped to 1..pages
    pages: int
    per_page: int  # 0: everything on one page
    first: int  # 0-based index of the page's first row among the matches
    decided: int  # matches this reviewer decided
    queued: int  # records in the whole queue

    @property
    def start(self) -> int:
        return self.first + 1 if self.rows else 0

    @property
    def end(self) -> int:
        return self.first + len(self.rows)


class Workspace:
    """The screening workspace of one review (its output folder)."""

    def __init__(
        self,
        config: Config,
        out: Path | None = None,
        prioritiser: Prioritiser | None = None,
        clock: Callable[[], datetime] | None = None,
    ):
        people = config.screening.people
        if people is None:
            raise WorkspaceError(
                f"{config.path}: the human screening stage is not enabled. Add a "
                '[screening.human] table with reviewers = ["your-name"] to the config.'
            )
        self.config = config
        self.people: HumanScreeningConfig = people
        self.out = Path(out) if out is not None else config.output.dir
        if not (self.out / STATE_FILE).is_file():
            raise OutputsNotFound(
                f"{self.out} holds no review state ({STATE_FILE}). Run the review first: "
                f"python -m pipeline run --config {config.path}"
            )
        StateStore.open(self.out).close()  # creates or upgrades the schema
        db = sqlite3.connect(self.out / STATE_FILE, isolation_level=None, timeout=60, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        self.state = StateStore(db, self.out / STATE_FILE)
        self.log = DecisionLog.open(self.out)
        self.prioritiser = prioritiser or default_prioritiser()
        self.clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self._queue_key: object = None
        self._queue: dict[str, QueueRecord] = {}
        self._items: list[RankItem] = []
        self._order_key: object = None
        self._order: list[str] = []
        self._search: dict[str, tuple[str, str]] = {}  # record_id -> (content hash, casefolded text)

    def prepare(self) -> int:
        """Load the queue and rank it once (decoding the records, building the ranker's features),
        so the first page is as quick as the next ones; returns the queue's size."""
        self.ranked()
        return len(self.queue())

    def close(self) -> None:
        self.state.close()
        self.log.close()

    # -- reading

    def queue(self) -> dict[str, QueueRecord]:
        """record_id -> QueueRecord for every record the rules let through, in store order."""
        with self._lock:
            key = self._state_version()
            if key != self._queue_key:
                records = self.state.active_records()
                rules = self.state.decisions()
                queue = {}
                for record_id in sorted(rules, key=record_order):
                    res = rules[record_id]
                    if human.in_queue(res) and record_id in records:
                        rec, digest = records[record_id]
                        rid = human.record_key(rec)
                        queue[rid] = QueueRecord(rid, rec, digest, res, len(queue))
                self._queue, self._queue_key = queue, key
                self._items = [
                    RankItem(
                        q.record_id,
                        q.record.title,
                        q.record.abstract,
                        q.record.keywords,
                        0 if q.rule.decision == Decision.INCLUDE else 1,
                    )
                    for q in queue.values()
                ]
            return self._queue

    def _state_version(self) -> object:
        # The queue changes only when a run commits (records, rules' decisions).
        row = self.state.db.execute(
            "SELECT max(run_id), count(*) FROM runs WHERE status IN ('committed', 'completed')"
        ).fetchone()
        return tuple(row)

    def log_version(self) -> int:
        """Changes whenever anyone (this server, an import, another workspace) stores a decision."""
        return self.log.version()

    def entries(self) -> list[HumanDecision]:
        return self.log.rows()

    def outcomes(self) -> dict[str, human.Outcome]:
        return human.outcomes(self.entries(), self.people.mode)

    def ranked(self) -> list[str]:
        """Every record without a final outcome, most likely relevant first."""
        queue = self.queue()
        labels = {
            rid: o.decision == human.INCLUDE
            for rid, o in self.outcomes().items()
            if o.decision in (human.INCLUDE, human.EXCLUDE) and rid in queue
        }
        with self._lock:
            key = (self._queue_key, frozenset(labels.items()))
            if key != self._order_key:
                self._order = self.prioritiser.order(self._items, labels)
                self._order_key = key
            return self._order

    def next_for(self, reviewer: str) -> str | None:
        """The record `reviewer` should screen next: first any record they decided that PubMed has
        revised since, then the ranker's order. None when nothing is left for them."""
        self.check_reviewer(reviewer)
        queue = self.queue()
        decided = human.by_reviewer(self.entries())
        for rid, people in decided.items():
            mine = people.get(reviewer)
            if mine and rid in queue and mine.content_hash != queue[rid].content_hash:
                return rid
        for rid in self.ranked():
            if human.needs(rid, reviewer, decided, self.people.mode, self.assigned(rid)):
                return rid
        return None

    def assigned(self, record_id: str) -> tuple[str, ...]:
        """The reviewers who screen `record_id`: in dual mode its two (human.assigned_pair), in
        single mode everyone."""
        if self.people.mode != "dual":
            return self.people.reviewers
        return human.assigned_pair(record_id, self.people.reviewers)

    def record(self, record_id: str) -> QueueRecord:
        queue = self.queue()
        if record_id not in queue:
            raise WorkspaceError(f"record {record_id!r} is not in the screening queue of this review.")
        return queue[record_id]

    def mentions(self, record: QueueRecord) -> list[Mention]:
        with self._lock:
            return self.state.mentions([record.record_id])

    def my_decision(self, reviewer: str, record_id: str) -> HumanDecision | None:
        return human.by_reviewer(self.entries()).get(record_id, {}).get(reviewer)

    def progress(self, reviewer: str) -> Progress:
        queue = self.queue()
        entries = self.entries()
        outcomes = {rid: o for rid, o in human.outcomes(entries, self.people.mode).items() if rid in queue}
        decided = human.by_reviewer(entries)
        counts = {
            k: sum(o.decision == k for o in outcomes.values())
            for k in (human.INCLUDE, human.EXCLUDE, human.MAYBE, human.CONFLICT, "")
        }
        final = len(outcomes) - counts[""]
        mine = sum(1 for rid, p in decided.items() if reviewer in p and rid in queue)
        mine_remaining = sum(
            1 for rid in queue if human.needs(rid, reviewer, decided, self.people.mode, self.assigned(rid))
        )
        return Progress(
            reviewer=reviewer,
            mode=self.people.mode,
            total=len(queue),
            decided=final,
            remaining=len(queue) - final,
            included=counts[human.INCLUDE],
            excluded=counts[human.EXCLUDE],
            maybe=counts[human.MAYBE],
            conflicts=counts[human.CONFLICT],
            awaiting_second=counts[""],
            mine=mine,
            mine_remaining=mine_remaining,
            stopping=self.stopping(entries, outcomes),
            ranker=self.prioritiser.name,
            agreement=tuple(human.agreement(entries, self.people.reviewers)) if self.people.mode == "dual" else (),
        )

    def stopping(self, entries: list[HumanDecision], outcomes: dict[str, human.Outcome]) -> Stopping | None:
        first_final: dict[str, int] = {}
        for e in human.in_force(entries):
            first_final.setdefault(e.record_id, e.seq)
        screened = [
            (rid, outcomes[rid].decision == human.INCLUDE)
            for rid in sorted(first_final, key=first_final.get)
            if rid in outcomes and outcomes[rid].decision in (human.INCLUDE, human.EXCLUDE)
        ]
        with self._lock:
            items = list(self._items)
        return self.prioritiser.stopping(items, screened, self.people.target_recall, self.people.confidence)

    def listing(self, reviewer: str, query: str = "") -> list[dict]:
        """Every record of `reviewer`'s list matching `query` (see listing_page), on one page."""
        return self.listing_page(reviewer, query, page=1, per_page=0).rows

    def listing_page(self, reviewer: str, query: str = "", page: int = 1, per_page: int = LIST_PAGE) -> ListPage:
        """One page of the list view: the queued records (dual mode: those assigned to `reviewer`)
        whose text holds every word of `query`, in store order, with this reviewer's decision
        (dual mode: never the other's, except that a conflict or the agreed outcome shows once both
        decided). `page` is clamped to the pages there are; per_page 0 puts everything on one page."""
        self.check_reviewer(reviewer)
        queue = self.queue()
        entries = self.entries()
        decided = human.by_reviewer(entries)
        outcomes = human.outcomes(entries, self.people.mode)
        words = [w for w in re.split(r"\s+", query.strip().casefold()) if w]
        mine_only = self.people.mode == "dual"
        matches = []
        for rid, q in queue.items():
            if mine_only and reviewer not in self.assigned(rid):
                continue
            if words:
                text = self._search_text(q)
                if not all(w in text for w in words):
                    continue
            matches.append(rid)
        total = len(matches)
        pages = max(1, -(-total // per_page)) if per_page else 1
        page = min(max(1, page), pages)
        first = (page - 1) * per_page if per_page else 0
        shown = matches[first : first + per_page] if per_page else matches
        rows = []
        for rid in shown:
            q = queue[rid]
            mine = decided.get(rid, {}).get(reviewer)
            outcome = outcomes.get(rid)
            if self.people.mode == "single":
                visible = outcome
            else:
                visible = outcome if outcome and outcome.decision else None
            rows.append(
                {
                    "record_id": rid,
                    "pmid": q.record.pmid,
                    "title": q.record.title,
                    "year": q.record.pub_year,
                    "mine": mine.decision if mine else "",
                    "my_reason": mine.reason if mine else "",
                    "note": mine.note if mine else "",
                    "outcome": visible.decision if visible else "",
                    "by": ", ".join(visible.screened_by) if visible else "",
                    "revised": bool(outcome and human.revised_since(outcome, q.content_hash)),
                }
            )
        mine_decided = sum(1 for rid in matches if reviewer in decided.get(rid, {}))
        return ListPage(rows, total, page, pages, per_page, first, mine_decided, len(queue))

    def _search_text(self, q: QueueRecord) -> str:
        with self._lock:
            cached = self._search.get(q.record_id)
            if cached is not None and cached[0] == q.content_hash:
                return cached[1]
        text = " ".join(
            (
                q.record_id,
                q.record.pmid,
                q.record.doi,
                q.record.title,
                q.record.abstract,
                q.record.journal,
                *(a.display_name for a in q.record.authors),
            )
        ).casefold()
        with self._lock:
            self._search[q.record_id] = (q.content_hash, text)
        return text

    def conflicts(self) -> list[dict]:
        """Dual mode: records the reviewers decided differently, open ones first, with who said what
        and, while the two settle it together, what each of them proposed."""
        queue = self.queue()
        entries = self.entries()
        decided = human.by_reviewer(entries)
        outcomes = human.outcomes(entries, self.people.mode)
        resolutions: dict[str, dict[str, HumanDecision]] = {}
        for e in human.in_force(entries):
            if e.role == "resolve":
                resolutions.setdefault(e.record_id, {})[e.reviewer] = e
        rows = []
        for rid, people in decided.items():
            if rid not in queue or len(people) < 2 or len({p.decision for p in people.values()}) == 1:
                continue
            outcome = outcomes[rid]
            settled = outcome.decision != human.CONFLICT
            rows.append(
                {
                    "record_id": rid,
                    "pmid": queue[rid].record.pmid,
                    "title": queue[rid].record.title,
                    "pair": tuple(sorted(people)),
                    "decisions": [people[p] for p in sorted(people)],
                    "resolved": outcome.decision if settled else "",
                    "resolved_by": outcome.resolved_by if settled else "",
                    "resolved_reason": outcome.reason if settled else "",
                    "proposals": [] if settled else [resolutions[rid][p] for p in sorted(resolutions.get(rid, {}))],
                }
            )
        rows.sort(key=lambda r: (bool(r["resolved"]), queue[r["record_id"]].position))
        return rows

    # -- writing

    def check_reviewer(self, reviewer: str) -> None:
        if reviewer not in self.people.reviewers:
            raise WorkspaceError(
                f"{reviewer!r} is not a reviewer of this review; the config names "
                + ", ".join(self.people.reviewers)
                + "."
            )

    def _entry(self, reviewer: str, record_id: str, decision: str, reason: str, note: str, role: str) -> HumanDecision:
        self.check_reviewer(reviewer)
        q = self.record(record_id)
        if decision not in DECISIONS:
            raise WorkspaceError(f"decision {decision!r} is not one of: include, exclude, maybe.")
        reason = reason.strip()
        if decision == human.EXCLUDE and self.people.exclusion_reasons:
            if reason not in self.people.exclusion_reasons:
                raise WorkspaceError(
                    f"exclusion reason {reason!r} is not in the config's exclusion_reasons: "
                    + "; ".join(self.people.exclusion_reasons)
                    + "."
                )
        elif decision != human.EXCLUDE and reason:
            raise WorkspaceError(f"a reason is given only with exclude, not with {decision}.")
        note = note.strip()
        if len(note) > MAX_NOTE:
            raise WorkspaceError(f"the note has {len(note)} characters; keep it under {MAX_NOTE}.")
        return HumanDecision(
            0,
            record_id,
            reviewer,
            decision,
            reason,
            note,
            q.content_hash,
            self.clock().isoformat(timespec="seconds"),
            role,
        )

    def decide(self, reviewer: str, record_id: str, decision: str, reason: str = "", note: str = "") -> HumanDecision:
        """Record `reviewer`'s decision; returns it once committed. In dual mode only the record's
        two assigned reviewers screen it (or someone who already did, before the reviewers changed)."""
        assigned = self.assigned(record_id)
        if reviewer not in assigned and reviewer in self.people.reviewers:
            if reviewer not in human.by_reviewer(self.entries()).get(record_id, {}):
                raise WorkspaceError(
                    f"record {record_id!r} is assigned to {' and '.join(assigned)} (dual mode); {reviewer} "
                    "may resolve a conflict on it but not screen it."
                )
        saved = self.log.append(self._entry(reviewer, record_id, decision, reason, note, "screen"))
        log.info("%s: %s %s %s", reviewer, decision, record_id, reason)
        return saved

    def resolve(self, reviewer: str, record_id: str, decision: str, reason: str = "", note: str = "") -> HumanDecision:
        """Settle a dual-mode disagreement: a reviewer who did not screen the record settles it at
        once; one of the two who did proposes, and it is settled when both propose the same."""
        if self.people.mode != "dual":
            raise WorkspaceError('conflicts are resolved only in dual mode (mode = "dual").')
        people = human.by_reviewer(self.entries()).get(record_id, {})
        if len(people) < 2 or len({p.decision for p in people.values()}) == 1:
            raise WorkspaceError(f"record {record_id!r} has no conflict to resolve.")
        return self.log.append(self._entry(reviewer, record_id, decision, reason, note, "resolve"))

    def undo(self, reviewer: str) -> HumanDecision | None:
        """Withdraw `reviewer`'s latest decision in force; returns it (None when there was none)."""
        self.check_reviewer(reviewer)
        return self.log.undo_last(reviewer, self.clock().isoformat(timespec="seconds"))
