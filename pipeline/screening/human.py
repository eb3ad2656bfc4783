"""Screening by people (pure): what the reviewers' decision log means.

The log (store/human.py) is append-only; these functions read it. A reviewer's decision on a record
is their latest entry not withdrawn by an undo. In single mode the latest decision by anyone is the
record's outcome; in dual mode a record needs two reviewers: the same decision is the outcome,
different ones are a conflict until it is resolved, either by a reviewer who is not one of the two
(their resolution wins at once) or by the two together (both resolve it the same way).

Dual mode with more than two reviewers: each record is assigned to exactly two of them
(`assigned_pair`), and only they are shown it to screen.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

from pipeline.models import Decision, HumanDecision, Record, ScreeningResult

INCLUDE, EXCLUDE, MAYBE, CONFLICT = "include", "exclude", "maybe", "conflict"
CATEGORIES = (INCLUDE, EXCLUDE, MAYBE)


def record_key(record: Record) -> str:
    """The record's source-neutral id (`pmid:<PMID>` for PubMed records)."""
    return record.record_id


def result_key(result: ScreeningResult) -> str:
    return result.record_id


def in_queue(result: ScreeningResult) -> bool:
    """People screen what the rules let through: included and needs-review, never excluded or duplicates."""
    return result.decision in (Decision.INCLUDE, Decision.NEEDS_REVIEW)


def in_force(log: Iterable[HumanDecision]) -> list[HumanDecision]:
    """The entries not withdrawn by an undo (undo entries themselves left out), oldest first."""
    log = list(log)
    undone = {e.undoes for e in log if e.decision == "undo"}
    return [e for e in log if e.decision != "undo" and e.seq not in undone]


def by_reviewer(log: Iterable[HumanDecision]) -> dict[str, dict[str, HumanDecision]]:
    """record_id -> reviewer -> their decision in force (screening and imports; not resolutions)."""
    out: dict[str, dict[str, HumanDecision]] = {}
    for e in in_force(log):
        if e.role != "resolve":
            out.setdefault(e.record_id, {})[e.reviewer] = e
    return out


@dataclass(frozen=True)
class Outcome:
    """What people decided about one record."""

    decision: str  # include, exclude, maybe, conflict, or "" (awaiting a second reviewer)
    reason: str = ""  # the exclusion reason(s); for a conflict, who said what
    screened_by: tuple[str, ...] = ()
    resolved_by: str = ""
    content_hashes: tuple[str, ...] = ()  # the record versions the decisions were made on


def outcomes(log: Iterable[HumanDecision], mode: str) -> dict[str, Outcome]:
    """record_id -> Outcome for every record anyone decided (see the module docstring)."""
    log = in_force(log)
    resolutions: dict[str, dict[str, HumanDecision]] = {}  # record -> resolver -> latest resolution
    for e in log:
        if e.role == "resolve":
            resolutions.setdefault(e.record_id, {})[e.reviewer] = e
    out = {}
    for record_id, decided in by_reviewer(log).items():
        people = tuple(sorted(decided))
        hashes = tuple(decided[p].content_hash for p in people)
        latest = max(decided.values(), key=lambda e: e.seq)
        settled = settlement(resolutions.get(record_id, {}), people)
        if settled is not None:
            decision, reason, by = settled
            out[record_id] = Outcome(decision, reason, people, by, hashes)
        elif mode == "single":
            out[record_id] = Outcome(latest.decision, latest.reason, (latest.reviewer,), "", (latest.content_hash,))
        elif len(people) < 2:
            out[record_id] = Outcome("", "", people, "", hashes)
        elif len({decided[p].decision for p in people}) == 1:
            reasons = sorted({decided[p].reason for p in people if decided[p].reason})
            out[record_id] = Outcome(latest.decision, "; ".join(reasons), people, "", hashes)
        else:
            said = "; ".join(f"{p}: {decided[p].decision}" for p in people)
            out[record_id] = Outcome(CONFLICT, said, people, "", hashes)
    for record_id, resolved in resolutions.items():
        if record_id not in out:  # resolved without screening entries (e.g. both were undone)
            r = max(resolved.values(), key=lambda e: e.seq)
            out[record_id] = Outcome(r.decision, r.reason, (), r.reviewer, (r.content_hash,))
    return out


def settlement(resolved: Mapping[str, HumanDecision], people: Sequence[str]) -> tuple[str, str, str] | None:
    """(decision, reason, resolved by) when the resolutions settle the record: the latest one by a
    reviewer who did not screen it, or the same one by every reviewer who did; else None."""
    outsiders = [e for r, e in resolved.items() if r not in people]
    if outsiders:
        r = max(outsiders, key=lambda e: e.seq)
        return r.decision, r.reason, r.reviewer
    if len(people) >= 2 and all(p in resolved for p in people):
        if len({resolved[p].decision for p in people}) == 1:
            reasons = sorted({resolved[p].reason for p in people if resolved[p].reason})
            return resolved[people[0]].decision, "; ".join(reasons), " and ".join(people)
    return None


@lru_cache(maxsize=None)
def _pairs(reviewers: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple(combinations(sorted(reviewers), 2))


@lru_cache(maxsize=1 << 20)
def assigned_pair(record_id: str, reviewers: tuple[str, ...]) -> tuple[str, ...]:
    """Dual mode: the two reviewers who screen `record_id`. With two reviewers, both; with more, one
    of the C(n, 2) pairs (names sorted, so the config's order does not matter) chosen by the record
    id's SHA-256: deterministic, stable when records are added or removed, and balanced (every pair
    gets 1/C(n, 2) of the records and every reviewer 2/n, up to sampling noise)."""
    if len(reviewers) <= 2:
        return tuple(sorted(reviewers))
    pairs = _pairs(reviewers)
    digest = int.from_bytes(hashlib.sha256(record_id.encode("utf-8")).digest()[:8], "big")
    return pairs[digest % len(pairs)]


def needs(
    record_id: str,
    reviewer: str,
    decided: Mapping[str, Mapping[str, HumanDecision]],
    mode: str,
    assigned: Sequence[str] | None = None,
) -> bool:
    """Whether `reviewer` should be shown `record_id`: assigned to it (dual mode, when `assigned`
    is given), not decided by them, and still short of reviewers (one in single mode, two in dual)."""
    people = decided.get(record_id, {})
    if reviewer in people:
        return False
    if assigned is not None and reviewer not in assigned:
        return False
    return len(people) < (2 if mode == "dual" else 1)


def cohen_kappa(pairs: Iterable[tuple[str, str]]) -> float | None:
    """Cohen's kappa of two raters' labels on the same items: (p_o - p_e) / (1 - p_e).

    None when there are no items or when chance agreement is already certain (both raters used one
    and the same label throughout), where kappa is undefined.
    """
    pairs = list(pairs)
    if not pairs:
        return None
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(first[c] * second[c] for c in set(first) | set(second)) / (n * n)
    if math.isclose(expected, 1.0):
        return None
    return (observed - expected) / (1 - expected)


@dataclass(frozen=True)
class Agreement:
    first: str
    second: str
    records: int
    agreed: int
    kappa: float | None


def agreement(log: Iterable[HumanDecision], reviewers: Iterable[str]) -> list[Agreement]:
    """Cohen's kappa for every pair of reviewers over the records both decided (their own
    decisions, before any resolution); pairs with no shared record are left out."""
    decided = by_reviewer(log)
    out = []
    for a, b in combinations(list(reviewers), 2):
        pairs = [(d[a].decision, d[b].decision) for d in decided.values() if a in d and b in d]
        if pairs:
            out.append(Agreement(a, b, len(pairs), sum(x == y for x, y in pairs), cohen_kappa(pairs)))
    return out


def revised_since(outcome: Outcome, current_hash: str) -> bool:
    """A record PubMed revised after people decided it: flagged for a second look."""
    return any(h and h != current_hash for h in outcome.content_hashes)
