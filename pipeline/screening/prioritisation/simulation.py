"""Simulated screening: a reviewer who knows every label, screening in the ranker's order.

K random includes and K random excludes (chosen by the seed) are screened first, then one record at
a time, the ranker's best, until every record is screened. The stopping rule is evaluated as the
decisions arrive; where it first says stop is recorded, and screening carries on so the metrics
cover the whole order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from pipeline.errors import DatasetError
from pipeline.screening.prioritisation import metrics
from pipeline.screening.prioritisation.ranker import Ranker, ranked_unlabelled
from pipeline.screening.prioritisation.stopping import StoppingEstimate, check_target, first_stop


@dataclass(frozen=True)
class Simulation:
    order: np.ndarray  # row indices in screening order, priors first; every row once
    labels: np.ndarray  # labels in that order
    priors: int  # how many of the first rows were priors
    stop_position: int  # records screened when the stopping rule first said stop
    stop: StoppingEstimate  # the rule's answer at that point
    seconds: float
    fits: int  # how many times the classifier was retrained

    def result(self) -> dict:
        """The numbers `simulate` prints, by their README names."""
        out = metrics.summary(self.labels)
        out.update(
            {
                "stop_position": self.stop_position,
                "recall_at_stop": int(self.labels[: self.stop_position].sum()) / out["includes"],
                "seconds": round(self.seconds, 3),
            }
        )
        return out


def choose_priors(labels: np.ndarray, rng: np.random.Generator, n_included: int, n_excluded: int) -> np.ndarray:
    """K random includes then K random excludes (row indices). Never the first rows of the file:
    screening datasets are often sorted with the includes first."""
    includes = np.flatnonzero(labels == 1)
    excludes = np.flatnonzero(labels == 0)
    if n_included > len(includes):
        raise DatasetError(f"{n_included} prior includes asked for, but the dataset has {len(includes)} includes")
    if n_excluded > len(excludes):
        raise DatasetError(f"{n_excluded} prior excludes asked for, but the dataset has {len(excludes)} excludes")
    return np.concatenate(
        [rng.choice(includes, size=n_included, replace=False), rng.choice(excludes, size=n_excluded, replace=False)]
    ).astype(np.int64)


def simulate(
    ranker: Ranker,
    labels: np.ndarray,
    *,
    seed: int = 0,
    prior_included: int = 1,
    prior_excluded: int = 1,
    recall_target: float = 0.95,
    confidence: float = 0.95,
    stopping_rule: str = "decay",
) -> Simulation:
    """Screen every record in the ranker's order; see the module docstring. The stopping rule's model
    is fitted to the decisions after the priors (they were chosen at random, not by the ranker)."""
    started = time.perf_counter()
    check_target(recall_target, confidence)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) != len(ranker):
        raise ValueError(f"{len(labels)} labels for {len(ranker)} records")
    settings = ranker.settings
    rng = np.random.default_rng(seed)
    priors = choose_priors(labels, rng, prior_included, prior_excluded)
    n = len(labels)
    order = np.empty(n, dtype=np.int64)
    order[: len(priors)] = priors
    done = len(priors)
    fits = 0
    queue: np.ndarray = np.empty(0, dtype=np.int64)
    scores = -np.arange(n, dtype=np.float64)
    position = 0
    labelled = np.zeros(n, dtype=bool)
    labelled[priors] = True
    refit = True
    fitted_at = 0
    every_label = settings.retrain_fraction == 0
    remaining_includes = int(labels.sum() - labels[priors].sum())
    while done < n:
        if remaining_includes == 0:
            # Every include has been found: whatever the order of the rest, every label left is 0,
            # so no metric and not the stopping rule can change. The rest follows the last ranking
            # without retraining (ASReview's simulation stops here altogether).
            if every_label or position >= len(queue):
                rest = ranked_unlabelled(scores, order[:done])
            else:
                rest = queue[position:]
            order[done:] = rest
            break
        if refit:
            rows = order[:done]
            scores = ranker.scores_for_rows(rows, labels[rows])
            fits += 1
            fitted_at = done
            if every_label:
                masked = np.where(labelled, -np.inf, scores)
                queue, position = np.array([int(np.argmax(masked))]), 0
            else:
                queue, position = ranked_unlabelled(scores, rows), 0
        row = int(queue[position])
        position += 1
        order[done] = row
        labelled[row] = True
        done += 1
        remaining_includes -= int(labels[row])
        refit = (
            every_label
            or position >= len(queue)
            or done - fitted_at >= settings.retrain_after(done)
            or (settings.retrain_on_include and labels[row] == 1)
        )
    # The rule reads only decisions already made and never changes the order, so replaying the
    # finished order finds the same stopping point as evaluating it after each decision.
    stop_position, stop_estimate = first_stop(
        labels[order], recall_target=recall_target, confidence=confidence, rule=stopping_rule, fit_from=len(priors)
    )
    return Simulation(
        order=order,
        labels=labels[order],
        priors=len(priors),
        stop_position=stop_position,
        stop=stop_estimate,
        seconds=time.perf_counter() - started,
        fits=fits,
    )


def simulate_dataset(
    documents,
    labels: np.ndarray,
    *,
    settings=None,
    seed: int = 0,
    prior_included: int = 1,
    prior_excluded: int = 1,
    recall_target: float = 0.95,
    confidence: float = 0.95,
    stopping_rule: str = "decay",
) -> Simulation:
    """Build the ranker for `documents` and simulate; `seconds` covers both (features included)."""
    from pipeline.screening.prioritisation.ranker import RankerSettings

    started = time.perf_counter()
    ranker = Ranker(documents, settings or RankerSettings(), seed=seed)
    built = time.perf_counter() - started
    sim = simulate(
        ranker,
        labels,
        seed=seed,
        prior_included=prior_included,
        prior_excluded=prior_excluded,
        recall_target=recall_target,
        confidence=confidence,
        stopping_rule=stopping_rule,
    )
    return Simulation(
        order=sim.order,
        labels=sim.labels,
        priors=sim.priors,
        stop_position=sim.stop_position,
        stop=sim.stop,
        seconds=sim.seconds + built,
        fits=sim.fits,
    )


def order_csv(sim: Simulation) -> str:
    """The screening order as CSV: position (1-based), row (0-based data row of the input), label."""
    lines = ["position,row,label"]
    lines += [f"{i},{row},{label}" for i, (row, label) in enumerate(zip(sim.order.tolist(), sim.labels.tolist()), 1)]
    return "\n".join(lines) + "\n"
