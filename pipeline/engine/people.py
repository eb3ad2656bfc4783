"""Publishing the human screening stage: people's decisions into records.csv, evidence.csv, PRISMA
and run.json. Used by publish.py only when the config enables [screening.human]."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace

import pandas as pd

from pipeline.config import Config, HumanScreeningConfig
from pipeline.models import Decision, HumanDecision, ScreeningResult, pmid_of
from pipeline.screening import human
from pipeline.store.human import read_log
from pipeline.store.state import StateStore

HUMAN_COLUMNS = ["human_decision", "human_reason", "screened_by"]


@dataclass(frozen=True)
class PeopleStage:
    config: HumanScreeningConfig
    outcomes: dict[str, human.Outcome]  # record_id -> what people decided
    entries: tuple[HumanDecision, ...] = ()  # the decision log

    def outcome(self, result: ScreeningResult) -> human.Outcome | None:
        return self.outcomes.get(human.result_key(result)) if human.in_queue(result) else None

    def evidence_results(self, results: Iterable[ScreeningResult]) -> list[ScreeningResult]:
        """The records people included, as included results (the evidence table's rows); the rules
        may have sent them to people as needs-review."""
        return [
            replace(r, decision=Decision.INCLUDE)
            for r in results
            if (o := self.outcome(r)) is not None and o.decision == human.INCLUDE
        ]

    def records_columns(self, frame: pd.DataFrame) -> pd.DataFrame:
        """records.csv with human_decision (include, exclude, maybe, conflict or empty),
        human_reason and screened_by (reviewers, "; "-joined; a resolver is added as "resolved by")."""
        frame = frame.copy()
        values = {c: [] for c in HUMAN_COLUMNS}
        for record_id in frame["record_id"]:
            o = self.outcomes.get(record_id)
            values["human_decision"].append(o.decision if o else "")
            values["human_reason"].append(o.reason if o else "")
            by = list(o.screened_by) if o else []
            if o and o.resolved_by:
                by.append(f"resolved by {o.resolved_by}")
            values["screened_by"].append("; ".join(by))
        for c in HUMAN_COLUMNS:
            frame[c] = pd.Series(values[c], dtype="object", index=frame.index)
        return frame

    def summary(self, results: Iterable[ScreeningResult]) -> dict:
        """Counts of the human stage over the records that reached it (PRISMA's screening box)."""
        queue = [r for r in results if human.in_queue(r)]
        decided = Counter()
        reasons: Counter = Counter()
        for r in queue:
            o = self.outcome(r)
            kind = o.decision if o and o.decision else ("second" if o else "awaiting")
            decided[kind] += 1
            if kind == human.EXCLUDE:
                reasons[o.reason or "no reason given"] += 1
        screened = decided[human.INCLUDE] + decided[human.EXCLUDE]
        return {
            "mode": self.config.mode,
            "reviewers": list(self.config.reviewers),
            "records_reaching_people": len(queue),
            "records_screened": screened,
            "records_excluded": decided[human.EXCLUDE],
            "excluded_by_reason": dict(sorted(reasons.items())),
            "records_included": decided[human.INCLUDE],
            "records_awaiting_screening": len(queue) - screened,
            "awaiting": {
                "not yet screened": decided["awaiting"],
                "awaiting a second reviewer": decided["second"],
                "maybe": decided[human.MAYBE],
                "conflict": decided[human.CONFLICT],
            },
        }

    def change_rows(self, results: Iterable[ScreeningResult], run_id: str, titles: dict[str, str]) -> list[dict]:
        """changes.csv rows (change = screened-by-people): for each record people decided, the rules'
        decision as old and the people's outcome as new, with who decided and when."""
        latest: dict[str, str] = {}
        for e in human.in_force(self.entries):
            latest[e.record_id] = max(latest.get(e.record_id, ""), e.decided_at)
        rows = []
        for r in results:
            o = self.outcome(r)
            if o is None or not o.decision:
                continue
            who = ", ".join(o.screened_by) + (f"; resolved by {o.resolved_by}" if o.resolved_by else "")
            rows.append(
                {
                    "run_id": run_id,
                    "pmid": pmid_of(r.record_id),
                    "record_id": r.record_id,
                    "change": "screened-by-people",
                    "newly_included": False,
                    "old_decision": r.decision.value,
                    "new_decision": o.decision,
                    "old_reason": r.reason,
                    "new_reason": o.reason,
                    "why": f"screened by {who} (last decision {latest.get(human.result_key(r), '')})",
                    "title": titles.get(r.record_id, ""),
                }
            )
        return rows

    def prisma_inputs(self, results: Iterable[ScreeningResult]) -> tuple[list[ScreeningResult], list[ScreeningResult]]:
        """What prisma_json needs for the human stage: the rules' results with their inclusions sent to
        people (so a record counts as included only once a person included it), and people's final
        include/exclude decisions (maybe and conflicts stay awaiting a decision)."""
        rules, people = [], []
        for r in results:
            if r.decision == Decision.INCLUDE:
                rules.append(replace(r, decision=Decision.NEEDS_REVIEW))
            else:
                rules.append(r)
            o = self.outcome(r)
            if o is not None and o.decision == human.INCLUDE:
                people.append(replace(r, decision=Decision.INCLUDE, reason="included by people"))
            elif o is not None and o.decision == human.EXCLUDE:
                people.append(replace(r, decision=Decision.EXCLUDE, reason=o.reason or "no reason given"))
        return rules, people

    def prisma(self, flow: dict, results: Iterable[ScreeningResult]) -> dict:
        """prisma.json's screening box with the details of the people's stage."""
        return {**flow, "screening": {**flow["screening"], "by_people": self.summary(results)}}


def people_stage(state: StateStore, config: Config) -> PeopleStage | None:
    """The human stage of the review, or None when the config does not enable it."""
    people = config.screening.people
    if people is None:
        return None
    entries = tuple(read_log(state.db))
    return PeopleStage(people, human.outcomes(entries, people.mode), entries)
