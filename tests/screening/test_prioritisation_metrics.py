"""Metrics of a screening order: exact values on hand-made orders, bounds as properties."""

import math

import pytest
from hypothesis import given, strategies as st

from pipeline.screening.prioritisation import metrics


def test_last_include_at_the_end():
    order = [1, 0, 1, 0, 0, 0, 0, 0, 0, 1]  # N 10, R 3: ceil(0.95 x 3) = 3 includes needed
    assert metrics.summary(order) == {
        "records": 10,
        "includes": 3,
        "wss@95": pytest.approx(-0.05),
        "wss@100": 0.0,
        "recall@10%": pytest.approx(1 / 3),
        "n95": 10,
        "n100": 10,
    }


def test_includes_first():
    order = [1, 1] + [0] * 18  # N 20, R 2
    result = metrics.summary(order)
    assert (result["n95"], result["n100"]) == (2, 2)
    assert result["wss@95"] == pytest.approx(18 / 20 - 0.05)
    assert result["wss@100"] == pytest.approx(0.9)
    assert result["recall@10%"] == 1.0  # floor(0.1 x 20) = 2 records read


def test_95_percent_of_20_is_19_includes_not_20():
    order = [1] * 19 + [0] * 80 + [1]  # 0.95 x 20 is 19.000000000000004 in floating point
    assert metrics.records_to_find(order, 0.95) == 19
    assert metrics.records_to_find(order, 1.0) == 100
    assert metrics.wss(order, 0.95) == pytest.approx((100 - 19) / 100 - 0.05)


def test_recall_at_ten_percent_floors_the_record_count():
    order = [0] * 9 + [1] + [0] * 9 + [1]  # N 20: 2 records read, no include among them
    assert metrics.recall_at(order, 0.10) == 0.0
    assert metrics.recall_at([0] * 10 + [1] + [0] * 9, 0.55) == 1.0  # floor(11.000000000000002) = 11


def test_no_include_is_refused():
    with pytest.raises(ValueError, match="^the order holds no include: recall is undefined$"):
        metrics.summary([0, 0, 0])


@given(st.lists(st.integers(0, 1), min_size=1, max_size=300).filter(any))
def test_metrics_stay_within_their_bounds(order):
    n, r = len(order), sum(order)
    result = metrics.summary(order)
    assert 1 <= result["n95"] <= result["n100"] <= n
    assert order[result["n100"] - 1] == 1 and sum(order[: result["n100"]]) == r
    assert sum(order[: result["n95"]]) == math.ceil(round(0.95 * r, 9))
    assert -0.05 <= result["wss@95"] <= 0.95
    assert 0 <= result["wss@100"] < 1
    assert 0 <= result["recall@10%"] <= 1


@given(st.integers(1, 50), st.integers(0, 500))
def test_perfect_order_saves_all_but_the_includes(r, excludes):
    order = [1] * r + [0] * excludes
    n = r + excludes
    assert metrics.wss(order, 1.0) == pytest.approx((n - r) / n)
