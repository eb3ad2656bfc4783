"""The classifiers the ranker can retrain: each turns labelled rows into a score for every row.

Kept apart from `ranker.py` so the benchmark can compare them on the same features and the same
runs. Every model is deterministic: the same rows and labels give the same scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC


def balanced_weights(y: np.ndarray, ratio: float) -> np.ndarray:
    """ASReview's "balanced" sample weights: includes weigh 1, excludes n_incl / (ratio * n_excl),
    rescaled so the weights sum to the number of rows."""
    n_incl = int(y.sum())
    n_excl = len(y) - n_incl
    w = np.where(y == 1, 1.0, n_incl / (ratio * n_excl) if n_excl else 1.0)
    return w * (len(y) / w.sum())


@dataclass(frozen=True)
class LogisticModel:
    """L2 logistic regression on TF-IDF, includes up-weighted so both classes carry equal weight.

    `presumed_negatives` unlabelled rows, drawn at random for each fit, join the training data as
    excludes with a small weight (Cormack & Grossman's BMI does the same): with one or two labelled
    excludes the model otherwise learns "anything unlike this include", and a few hundred random
    rows, nearly all irrelevant in a real search, say what the background looks like.
    """

    C: float = 1.0
    presumed_negatives: int = 0
    negative_weight: float = 0.3
    balance_ratio: float = 0.0  # > 0: ASReview's balanced weights with this ratio instead of equal class totals

    def scores(self, X: sparse.csr_matrix, rows: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if y.min() == y.max():
            return _similarity(X, rows, y)
        rows_all, y_all, w_all = rows, y, np.ones(len(y))
        pos = y == 1
        w_all = (
            balanced_weights(y, self.balance_ratio)
            if self.balance_ratio
            else np.where(pos, (len(y) - pos.sum()) / max(pos.sum(), 1), 1.0)
        )
        if self.presumed_negatives:
            unlabelled = np.setdiff1d(np.arange(X.shape[0]), rows, assume_unique=False)
            take = min(self.presumed_negatives, len(unlabelled))
            if take:
                extra = rng.choice(unlabelled, size=take, replace=False)
                rows_all = np.concatenate([rows, extra])
                y_all = np.concatenate([y, np.zeros(take, dtype=y.dtype)])
                w_all = np.concatenate([w_all, np.full(take, self.negative_weight)])
        # The dual problem: with far fewer labelled rows than TF-IDF columns it solves ~100x faster.
        model = LogisticRegression(C=self.C, solver="liblinear", dual=True, max_iter=1000, random_state=0)
        model.fit(X[rows_all], y_all, sample_weight=w_all)
        return X @ model.coef_.ravel() + model.intercept_[0]


@dataclass(frozen=True)
class EnsembleModel:
    """Logistic regression and complement naive Bayes, their scores averaged as ranks (0..1): two
    views of the same text that err on different records."""

    logistic: LogisticModel = LogisticModel()

    def scores(self, X: sparse.csr_matrix, rows: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if y.min() == y.max():
            return _similarity(X, rows, y)
        from sklearn.naive_bayes import ComplementNB

        nb = ComplementNB(alpha=0.1).fit(X[rows], y)
        # Log-probability margin of include over exclude, per row.
        jll = X @ nb.feature_log_prob_.T
        nb_scores = np.asarray(jll[:, 1] - jll[:, 0]).ravel()
        return _ranks(self.logistic.scores(X, rows, y, rng)) + _ranks(nb_scores)


def _ranks(scores: np.ndarray) -> np.ndarray:
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(len(scores))
    return ranks / max(len(scores) - 1, 1)


@dataclass(frozen=True)
class SVMModel:
    """ASReview LAB's default classifier (ELAS u4): LinearSVC with C = 0.11 and its balanced weights."""

    C: float = 0.11
    ratio: float = 9.8

    def scores(self, X: sparse.csr_matrix, rows: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if y.min() == y.max():
            return _similarity(X, rows, y)
        model = LinearSVC(C=self.C, max_iter=10_000, random_state=0)  # liblinear shuffles: fix it
        model.fit(X[rows], y, sample_weight=balanced_weights(y, self.ratio))
        return model.decision_function(X)


def _similarity(X: sparse.csr_matrix, rows: np.ndarray, y: np.ndarray) -> np.ndarray:
    """With one class only, rank by cosine similarity to the includes (or away from the excludes)."""
    centroid = np.asarray(X[rows].mean(axis=0)).ravel()
    s = X @ centroid
    return s if y[0] == 1 else -s
