"""The ranker: TF-IDF features of every record, a classifier retrained as decisions arrive, and the
unscreened records ordered by its score."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
from scipy import sparse

from pipeline.screening.prioritisation.features import record_key, texts_of, tfidf_matrix, with_char_ngrams, with_lsa
from pipeline.screening.prioritisation.models import EnsembleModel, LogisticModel, SVMModel


@dataclass(frozen=True)
class RankerSettings:
    """How the ranker reads text and learns. The defaults are the settings chosen by
    leave-one-dataset-out cross-validation on the four shared datasets (README, Prioritisation).

    model: "logistic" (ours) or "asreview-svm" (ASReview LAB's default ELAS u4, for comparison).
    retrain_fraction: retrain after max(1, floor(fraction x decisions so far)) new decisions; 0 =
        after every decision (ASReview's way). A newly found include always triggers a retrain
        when retrain_on_include is set.
    """

    model: str = "logistic"
    C: float = 1.0
    presumed_negatives: int = 0
    negative_weight: float = 0.3
    balance_ratio: float = 0.0
    ngram_max: int = 2
    min_df: int = 1
    max_df: float = 0.95
    stop_words: str | None = None
    title_weight: int = 2  # the title counts this many times in the text (its words say most)
    char_ngrams: bool = False  # add character 3-5 grams (within words) beside the word n-grams
    lsa_components: int = 0  # add this many latent semantic (truncated SVD) dimensions
    lsa_weight: float = 0.5  # their weight beside the TF-IDF part (both L2-normalised)
    retrain_fraction: float = 0.05
    retrain_on_include: bool = True

    def classifier(self):
        if self.model == "logistic":
            return LogisticModel(
                C=self.C,
                presumed_negatives=self.presumed_negatives,
                negative_weight=self.negative_weight,
                balance_ratio=self.balance_ratio,
            )
        if self.model == "ensemble":
            return EnsembleModel(
                LogisticModel(
                    C=self.C, presumed_negatives=self.presumed_negatives, negative_weight=self.negative_weight
                )
            )
        if self.model == "asreview-svm":
            return SVMModel()
        raise ValueError(f"unknown ranker model {self.model!r}: use 'logistic' or 'asreview-svm'")

    def retrain_after(self, decided: int) -> int:
        """New decisions to wait for before the next retrain, with `decided` decisions made."""
        return max(1, math.floor(self.retrain_fraction * decided))


# ASReview LAB's default model, reimplemented for the benchmark: same features and classifier,
# retrained after every decision.
ASREVIEW_DEFAULT = RankerSettings(
    model="asreview-svm",
    ngram_max=2,
    min_df=1,
    max_df=0.95,
    title_weight=1,
    retrain_fraction=0.0,
    retrain_on_include=False,
)


class Ranker:
    """Orders a review's records by predicted relevance, learning from the decisions made so far.

    Built once per review (the TF-IDF features are computed here), then asked again after each
    decision. Decisions are keyed by record id (`record_id`, or `pmid` for records without one):
    True/1 = include, False/0 = exclude; records without a decision are the unscreened ones.

        ranker = Ranker(records)                       # pipeline.models.Record, or features.Document
        ranker.rank({"pmid:1": True, "pmid:7": False}) # unscreened ids, most likely relevant first
        ranker.next_batch(decisions, 10)               # the first 10 of them
        ranker.fit(decisions)                          # {record id: score}, higher = more relevant

    Until the decisions hold at least one include and one exclude the classifier cannot learn a
    boundary: with includes only (or excludes only) records are ordered by similarity to the includes
    (away from the excludes); with no decision at all, in their input order. Scores are
    deterministic: the same records, decisions and seed give the same scores.
    """

    def __init__(
        self,
        records: Sequence[Any],
        settings: RankerSettings = RankerSettings(),
        *,
        seed: int = 0,
        matrix: sparse.csr_matrix | None = None,
    ):
        self.settings = settings
        self.seed = seed
        self.ids: tuple[str, ...] = tuple(record_key(r) for r in records)
        self._row = {key: i for i, key in enumerate(self.ids)}
        if len(self._row) != len(self.ids):
            seen: set[str] = set()
            dup = next(k for k in self.ids if k in seen or seen.add(k))
            raise ValueError(f"record id {dup!r} appears more than once; give every record its own id")
        self._classifier = settings.classifier()
        texts = texts_of(records, settings.title_weight) if matrix is None else []
        self.matrix = (
            matrix
            if matrix is not None
            else tfidf_matrix(
                texts,
                ngram_max=settings.ngram_max,
                min_df=settings.min_df,
                max_df=settings.max_df,
                stop_words=settings.stop_words,
            )
        )
        if matrix is None and settings.char_ngrams:
            self.matrix = with_char_ngrams(self.matrix, texts)
        if matrix is None and settings.lsa_components:
            self.matrix = with_lsa(self.matrix, settings.lsa_components, settings.lsa_weight, seed=0)

    def __len__(self) -> int:
        return len(self.ids)

    # Row-level API (the simulation uses it; rows are positions in the records given).
    def scores_for_rows(self, rows: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """A score for every record after learning from `labels` (1/0) of the records at `rows`."""
        rows = np.asarray(rows, dtype=np.int64)
        labels = np.asarray(labels, dtype=np.int64)
        if len(rows) == 0:
            return -np.arange(len(self.ids), dtype=np.float64)  # input order
        rng = np.random.default_rng([self.seed, len(rows)])
        return np.asarray(self._classifier.scores(self.matrix, rows, labels, rng), dtype=np.float64)

    # Record-level API (the screening workspace uses it).
    def fit(self, decisions: Mapping[str, bool | int]) -> dict[str, float]:
        """Learn from the decisions; return a score for every record (higher = more likely relevant)."""
        rows, labels = self._rows(decisions)
        return dict(zip(self.ids, self.scores_for_rows(rows, labels).tolist()))

    def rank(self, decisions: Mapping[str, bool | int]) -> list[str]:
        """The unscreened record ids, most likely relevant first (ties in input order)."""
        rows, labels = self._rows(decisions)
        return [self.ids[i] for i in ranked_unlabelled(self.scores_for_rows(rows, labels), rows)]

    def next_batch(self, decisions: Mapping[str, bool | int], n: int = 10) -> list[str]:
        """The n unscreened records to show next."""
        if n < 1:
            raise ValueError(f"batch size must be at least 1, not {n}")
        return self.rank(decisions)[:n]

    def _rows(self, decisions: Mapping[str, bool | int]) -> tuple[np.ndarray, np.ndarray]:
        rows, labels = [], []
        for key, value in decisions.items():
            row = self._row.get(str(key))
            if row is None:
                raise KeyError(f"decision for record {key!r}, which is not among the ranker's {len(self.ids)} records")
            rows.append(row)
            labels.append(int(bool(value)))
        return np.asarray(rows, dtype=np.int64), np.asarray(labels, dtype=np.int64)


def ranked_unlabelled(scores: np.ndarray, labelled_rows: np.ndarray) -> np.ndarray:
    """Rows without a decision, highest score first, ties broken by row (so the order is stable)."""
    mask = np.ones(len(scores), dtype=bool)
    mask[labelled_rows] = False
    rows = np.flatnonzero(mask)
    return rows[np.lexsort((rows, -scores[rows]))]
