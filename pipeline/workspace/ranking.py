"""The seam between the workspace and the prioritisation library: which record to show next, and
the stopping rule's estimate.

`Prioritiser` is all the workspace needs (tests may pass another); `default_prioritiser()` adapts the
screening package's library (pipeline.screening.prioritisation): its active-learning ranker and its
hypergeometric stopping rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class RankItem:
    """What ranking reads of a record in the queue."""

    record_id: str
    title: str = ""
    abstract: str = ""
    keywords: tuple[str, ...] = ()
    prior: int = 0  # tie-breaker before any labels: lower first (rules' include before needs-review)


@dataclass(frozen=True)
class Stopping:
    """The stopping rule's view of the screening so far."""

    target_recall: float
    confidence: float
    reached: bool  # screening may stop with the target recall at that confidence
    expected_remaining: float | None  # relevant records expected among the unscreened ones
    method: str  # what the estimate is, in a few words


class Prioritiser(Protocol):
    name: str

    def order(self, items: Sequence[RankItem], labels: Mapping[str, bool]) -> list[str]:
        """The record ids of `items` not in `labels`, most likely relevant first. `labels` maps
        decided record ids to True (include) or False (exclude); other ids in it are ignored."""

    def stopping(
        self, items: Sequence[RankItem], screened: Sequence[tuple[str, bool]], target_recall: float, confidence: float
    ) -> Stopping | None:
        """The stopping estimate after `screened` (record id, included) in screening order, or
        None when this prioritiser has no stopping rule."""


class LibraryPrioritiser:
    """The screening package's ranker (active learning over title, abstract and keywords) and its
    hypergeometric stopping rule (pipeline.screening.prioritisation). The ranker is built once per
    queue (its TF-IDF features) and retrained on every new set of decisions."""

    name = "active learning (TF-IDF + classifier, retrained after each decision)"

    def __init__(self) -> None:
        self._key: tuple[str, ...] | None = None
        self._ranker = None

    def _ranker_for(self, items: Sequence[RankItem]):
        from pipeline.screening.prioritisation import Document, Ranker

        ordered = sorted(items, key=lambda i: i.prior)  # stable: the rules' order breaks ties
        key = tuple(i.record_id for i in ordered)
        if key != self._key:
            self._ranker = Ranker([Document(i.record_id, i.title, i.abstract, i.keywords) for i in ordered])
            self._key = key
        return self._ranker

    def order(self, items: Sequence[RankItem], labels: Mapping[str, bool]) -> list[str]:
        if not items:
            return []
        ids = {i.record_id for i in items}
        return self._ranker_for(items).rank({k: v for k, v in labels.items() if k in ids})

    def stopping(
        self, items: Sequence[RankItem], screened: Sequence[tuple[str, bool]], target_recall: float, confidence: float
    ) -> Stopping | None:
        from pipeline.screening.prioritisation import stopping_estimate

        ids = {i.record_id for i in items}
        decided = {rid: included for rid, included in screened if rid in ids}
        est = stopping_estimate(
            decided, total=len(items), recall_target=target_recall, confidence=confidence, rule="buscar"
        )
        return Stopping(
            target_recall,
            confidence,
            est.stop,
            est.expected_remaining,
            f"hypergeometric stopping rule (Callaghan & Müller-Hansen 2020), p = {est.p_value:.3f}",
        )


def default_prioritiser() -> Prioritiser:
    """The prioritisation library's ranker and stopping rule."""
    return LibraryPrioritiser()
