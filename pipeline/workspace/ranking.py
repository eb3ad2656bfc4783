"""The seam between the workspace and the prioritisation library: which record to show next, and
the stopping rule's estimate.

`Prioritiser` is all the workspace needs. `default_prioritiser()` returns the screening package's
ranker when it is installed (pipeline.screening.prioritisation) and otherwise `TermRanker`, a small
multinomial naive Bayes over title and abstract words that gives no stopping estimate.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Mapping, Protocol, Sequence


@dataclass(frozen=True)
class RankItem:
    """What ranking reads of a record in the queue."""

    record_id: str
    title: str = ""
    abstract: str = ""
    keywords: tuple[str, ...] = ()
    prior: int = 0          # tie-breaker before any labels: lower first (rules' include before needs-review)


@dataclass(frozen=True)
class Stopping:
    """The stopping rule's view of the screening so far."""

    target_recall: float
    confidence: float
    reached: bool                       # screening may stop with the target recall at that confidence
    expected_remaining: float | None    # relevant records expected among the unscreened ones
    method: str                         # what the estimate is, in a few words


class Prioritiser(Protocol):
    name: str

    def order(self, items: Sequence[RankItem], labels: Mapping[str, bool]) -> list[str]:
        """The record ids of `items` not in `labels`, most likely relevant first. `labels` maps
        decided record ids to True (include) or False (exclude); other ids in it are ignored."""

    def stopping(self, items: Sequence[RankItem], screened: Sequence[tuple[str, bool]],
                 target_recall: float, confidence: float) -> Stopping | None:
        """The stopping estimate after `screened` (record id, included) in screening order, or
        None when this prioritiser has no stopping rule."""


_WORD = re.compile(r"[a-z0-9][a-z0-9-]+")


def words(item: RankItem) -> list[str]:
    return _WORD.findall(" ".join((item.title, item.abstract, *item.keywords)).lower())


class TermRanker:
    """Multinomial naive Bayes (Laplace smoothing) trained on the decisions so far; before there is
    at least one include and one exclude, records keep the rules' order (prior, then queue order)."""

    name = "naive Bayes over title and abstract words"

    def order(self, items: Sequence[RankItem], labels: Mapping[str, bool]) -> list[str]:
        todo = [i for i in items if i.record_id not in labels]
        known = [i for i in items if i.record_id in labels]
        positives = [i for i in known if labels[i.record_id]]
        negatives = [i for i in known if not labels[i.record_id]]
        if not positives or not negatives:
            return [i.record_id for i in sorted(todo, key=lambda i: i.prior)]
        pos, neg = Counter(), Counter()
        for i in positives:
            pos.update(words(i))
        for i in negatives:
            neg.update(words(i))
        vocab = len(set(pos) | set(neg)) + 1
        pos_total, neg_total = sum(pos.values()) + vocab, sum(neg.values()) + vocab
        prior = math.log(len(positives) / len(negatives))

        def score(item: RankItem) -> float:
            return prior + sum(math.log((pos[w] + 1) / pos_total) - math.log((neg[w] + 1) / neg_total)
                               for w in words(item))
        scored = [(-score(i), i.prior, n, i.record_id) for n, i in enumerate(todo)]
        return [rid for *_, rid in sorted(scored)]

    def stopping(self, items, screened, target_recall, confidence) -> Stopping | None:
        return None


def default_prioritiser() -> Prioritiser:
    """The prioritisation library's ranker when it is available, else TermRanker."""
    return TermRanker()
