"""When may screening stop? The hypergeometric stopping rule of Callaghan & Mueller-Hansen (2020).

"Statistical stopping criteria for automated screening in systematic reviews", Systematic Reviews
9:273 (the "buscar" criterion). The reviewer states a recall target (say 95%) and a confidence
(say 95%). Null hypothesis: the target has been missed, i.e. more includes remain unscreened than
the target allows. The last n screened records are treated as a sample drawn from an urn made of
themselves and all unscreened records; if that urn held K_hat includes,

    K_hat = floor(r_seen / target - (r_seen - k) + 1)

(the fewest that would put recall below the target, where r_seen includes were found in all and k of
them in the sample), the chance of seeing k or fewer includes in the sample is the hypergeometric
P(X <= k; M = n + unscreened, K_hat, n). The rule takes the smallest such p over sample sizes n and
says stop when p < 1 - confidence: the target is then met with that confidence.

The assumption, stated as the paper does: records the ranker put first are at least as likely to
be relevant as records drawn at random from what is left. Prioritised screening makes the sample
richer in includes than a random draw, so few includes in it is stronger evidence than a random
sample would give, and the test errs on the safe side. `simulate` measures it: over many runs the
recall at the stopping point reached the target at least as often as the confidence promises (see
the README).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from scipy.special import gammaln

# Sample sizes tried: every n up to this, then about this many more spread geometrically up to all
# screened records. Leaving sizes out can only raise the smallest p, so the rule stays on the safe side.
_DENSE_WINDOWS = 200
_SPARSE_WINDOWS = 200


@dataclass(frozen=True)
class StoppingEstimate:
    """What the rule says after the decisions so far."""

    stop: bool  # True when screening may stop with the stated recall and confidence
    p_value: float  # chance of evidence this strong if the recall target were missed
    recall_target: float
    confidence: float
    screened: int
    includes_found: int
    unscreened: int
    expected_remaining: float  # includes expected among the unscreened (rate in the decisive sample)
    sample_size: int  # the n (last screened records) that gave the smallest p

    @property
    def estimated_recall(self) -> float:
        """Includes found over includes found plus those expected to remain (1.0 when none found)."""
        total = self.includes_found + self.expected_remaining
        return self.includes_found / total if total else 1.0

    def as_dict(self) -> dict:
        return {
            "stop": self.stop,
            "p_value": self.p_value,
            "recall_target": self.recall_target,
            "confidence": self.confidence,
            "screened": self.screened,
            "includes_found": self.includes_found,
            "unscreened": self.unscreened,
            "expected_remaining": self.expected_remaining,
            "sample_size": self.sample_size,
            "estimated_recall": self.estimated_recall,
        }


def check_target(recall_target: float, confidence: float) -> None:
    if not 0 < recall_target < 1:
        raise ValueError(f"recall target must be between 0 and 1 (exclusive), not {recall_target}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), not {confidence}")


def stopping_from_labels(
    labels: Sequence[int] | np.ndarray, total: int, *, recall_target: float = 0.95, confidence: float = 0.95
) -> StoppingEstimate:
    """The rule for decisions given as 1 (include) / 0 (exclude) in the order they were made, out of
    `total` records in the review."""
    check_target(recall_target, confidence)
    seen = np.asarray(labels, dtype=np.int64)
    t = len(seen)
    if t > total:
        raise ValueError(f"{t} decisions for a review of {total} records")
    unscreened = total - t
    r_seen = int(seen.sum())
    if t == 0:
        return StoppingEstimate(False, 1.0, recall_target, confidence, 0, 0, unscreened, 0.0, 0)
    sizes = _window_sizes(t)
    # k: includes among the last n screened, for each n in sizes.
    k = np.cumsum(seen[::-1])[sizes - 1]
    population = sizes + unscreened
    k_hat = np.floor(r_seen / recall_target - (r_seen - k) + 1).astype(np.int64)
    # An urn that cannot hold K_hat includes cannot have missed the target: p = 0 there. A sample
    # holding at least the includes expected under the null (n K_hat / M) has p near 1/2 or more and
    # never decides; it is given p = 1 without the sum (on the safe side, and fast for large reviews).
    possible = k_hat <= population
    p = np.where(possible, 1.0, 0.0)
    needed = possible & (k < sizes * k_hat / np.maximum(population, 1))
    if needed.any():
        p[needed] = hypergeom_cdf(k[needed], population[needed], k_hat[needed], sizes[needed])
    best = int(np.argmin(p))
    n, k_best = int(sizes[best]), int(k[best])
    p_value = float(min(1.0, max(0.0, p[best])))
    return StoppingEstimate(
        stop=p_value < 1 - confidence,
        p_value=p_value,
        recall_target=recall_target,
        confidence=confidence,
        screened=t,
        includes_found=r_seen,
        unscreened=unscreened,
        expected_remaining=k_best / n * unscreened,
        sample_size=n,
    )


def stopping_estimate(
    decisions: Mapping[str, bool | int], total: int, *, recall_target: float = 0.95, confidence: float = 0.95
) -> StoppingEstimate:
    """The rule for decisions keyed by record id, **in the order they were made** (a dict keeps
    insertion order): True/1 include, False/0 exclude. `total` counts every record of the review,
    screened or not."""
    return stopping_from_labels(
        [int(bool(v)) for v in decisions.values()], total, recall_target=recall_target, confidence=confidence
    )


def hypergeom_cdf(k: np.ndarray, population: np.ndarray, successes: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """P(X <= k) for X hypergeometric (draws from population holding successes), element-wise.

    Summed from log-binomials: scipy.stats.hypergeom gives the same values but costs ~100x more per
    call, and the rule is evaluated after every decision.
    """
    k, population, successes, draws = (np.asarray(a, dtype=np.float64) for a in (k, population, successes, draws))
    j = np.arange(int(k.max()) + 1 if k.size else 1, dtype=np.float64)[None, :]
    K, M, n = successes[:, None], population[:, None], draws[:, None]
    valid = (j <= k[:, None]) & (j <= K) & (n - j <= M - K) & (j <= n)
    jj = np.where(valid, j, 0.0)
    log_pmf = _log_choose(K, jj) + _log_choose(M - K, np.where(valid, n - jj, 0.0)) - _log_choose(M, n)
    return np.clip(np.where(valid, np.exp(log_pmf), 0.0).sum(axis=1), 0.0, 1.0)


def _log_choose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.broadcast_arrays(a, b)
    b = np.where(b > a, 0.0, b)  # masked out by the caller; keeps gammaln away from poles
    return gammaln(a + 1) - gammaln(b + 1) - gammaln(a - b + 1)


def _window_sizes(t: int) -> np.ndarray:
    dense = np.arange(1, min(t, _DENSE_WINDOWS) + 1)
    if t <= _DENSE_WINDOWS:
        return dense
    sparse_ = np.unique(np.round(np.geomspace(_DENSE_WINDOWS, t, _SPARSE_WINDOWS)).astype(np.int64))
    return np.unique(np.concatenate([dense, sparse_, [t]]))


def check_interval(screened: int) -> int:
    """How often a simulation re-evaluates the rule: every decision for the first 200, then every
    half per cent of the records screened (checking less often can only stop later, never earlier)."""
    return 1 if screened < 200 else max(1, math.floor(screened / 200))


def first_stop(
    ordered_labels: Sequence[int] | np.ndarray, *, recall_target: float = 0.95, confidence: float = 0.95
) -> tuple[int, StoppingEstimate]:
    """Where the rule first says stop along a complete screening order (1/0 labels, every record),
    and its answer there: the rule only looks at decisions already made, so replaying the order
    gives the same point as evaluating it live. Checked every decision for the first 200, then at
    `check_interval`; at the end of the order it always says stop (nothing is left to miss)."""
    labels = np.asarray(ordered_labels, dtype=np.int64)
    total = len(labels)
    done = 1
    while done < total:
        estimate = stopping_from_labels(labels[:done], total, recall_target=recall_target, confidence=confidence)
        if estimate.stop:
            return done, estimate
        done += check_interval(done)
    return total, stopping_from_labels(labels, total, recall_target=recall_target, confidence=confidence)
