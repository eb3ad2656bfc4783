"""Metrics of a screening order (pure functions of the labels in the order they were screened).

N and R count the whole dataset (priors included, counted as screened):
    n95 = the first k with ceil(0.95 R) includes among the first k records
    n100 = the first k with all R includes
    WSS@95 = (N - n95) / N - 0.05        WSS@100 = (N - n100) / N
    recall@10% = includes among the first floor(0.1 N) records / R
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def records_to_find(ordered_labels: Sequence[int] | np.ndarray, fraction: float) -> int:
    """The first k (1-based) at which ceil(fraction x R) includes have been screened."""
    labels = np.asarray(ordered_labels, dtype=np.int64)
    total = int(labels.sum())
    if total == 0:
        raise ValueError("the order holds no include: recall is undefined")
    # A tolerance so 0.95 x 20 = 19.000000000000004 needs 19 includes, not 20.
    needed = math.ceil(round(fraction * total, 9))
    return int(np.searchsorted(np.cumsum(labels), needed) + 1)


def wss(ordered_labels: Sequence[int] | np.ndarray, recall: float) -> float:
    """Work saved over sampling at a recall level: (N - n_recall) / N - (1 - recall)."""
    n = len(ordered_labels)
    return (n - records_to_find(ordered_labels, recall)) / n - (1 - recall)


def recall_at(ordered_labels: Sequence[int] | np.ndarray, fraction: float) -> float:
    """Share of all includes among the first floor(fraction x N) records."""
    labels = np.asarray(ordered_labels, dtype=np.int64)
    total = int(labels.sum())
    if total == 0:
        raise ValueError("the order holds no include: recall is undefined")
    return float(labels[: math.floor(round(fraction * len(labels), 9))].sum() / total)


def summary(ordered_labels: Sequence[int] | np.ndarray) -> dict[str, float | int]:
    """The metrics `simulate` reports, by their README names."""
    labels = np.asarray(ordered_labels, dtype=np.int64)
    n95 = records_to_find(labels, 0.95)
    n100 = records_to_find(labels, 1.0)
    n = len(labels)
    return {
        "records": n,
        "includes": int(labels.sum()),
        "wss@95": (n - n95) / n - 0.05,
        "wss@100": (n - n100) / n,
        "recall@10%": recall_at(labels, 0.10),
        "n95": n95,
        "n100": n100,
    }
