"""The stopping rules (decay, buscar): exact p-values computed independently, and their stated recall
by simulation."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from pipeline.screening.prioritisation.stopping import RULES, first_stop, stopping_estimate, stopping_from_labels


def test_buscar_p_value_matches_the_hand_computed_hypergeometric():
    # 10 records, 6 screened: an include then 5 excludes; target 50%. The last 5 (no include) as a
    # sample of an urn of 5 + 4 unscreened: missing the target needs K_hat = floor(1/0.5 - 1 + 1) = 2
    # includes in the urn, and P(0 of them drawn in 5) = (4 x 3) / (9 x 8) = 1/6. All 6 (one
    # include, urn of 10, K_hat 3) gives P(X <= 1) = (7 + 3 x 21) / 210 = 1/3. The rule takes 1/6.
    estimate = stopping_from_labels([1, 0, 0, 0, 0, 0], 10, recall_target=0.5, confidence=0.8, rule="buscar")
    assert estimate.p_value == pytest.approx(1 / 6)
    assert estimate.sample_size == 5 and estimate.rule == "buscar"
    assert estimate.stop  # 1/6 < 1 - 0.8
    assert (estimate.screened, estimate.includes_found, estimate.unscreened) == (6, 1, 4)
    assert estimate.expected_remaining == 0.0 and estimate.estimated_recall == 1.0
    assert not stopping_from_labels([1, 0, 0, 0, 0, 0], 10, recall_target=0.5, confidence=0.9, rule="buscar").stop


def _decay_p_value_by_quadrature(labels: list[int], total: int, target: float, fit_from: int) -> float:
    """The decay rule's p-value derived afresh: for each decay b of the grid, the level a integrated
    out numerically (Jeffreys' prior a^-1/2; Poisson likelihood of the includes' positions), and
    P(at least `need` includes remain) as a Poisson tail averaged over a's posterior."""
    from scipy import integrate, stats

    seen = np.asarray(labels[fit_from:])
    x = np.flatnonzero(seen) + 0.5
    length, unscreened, found = len(seen), total - len(labels), sum(labels)
    need = int(np.floor(found / target - found)) + 1
    grid = np.concatenate([[0.0], np.geomspace(1e-3, 200.0, 120)]) / length

    def mass(b, lo, hi):
        return hi - lo if b == 0 else (np.exp(-b * lo) - np.exp(-b * hi)) / b

    evidence, tails = [], []
    for b in grid:
        fitted, ahead = mass(b, 0, length), mass(b, length, length + unscreened)
        top = 60.0 / fitted
        posterior = lambda a: a ** (len(x) - 0.5) * np.exp(-a * fitted - b * x.sum())  # noqa: E731
        z = integrate.quad(posterior, 0, top, limit=200)[0]
        tail = integrate.quad(lambda a: posterior(a) * stats.poisson.sf(need - 1, a * ahead), 0, top, limit=200)[0]
        evidence.append(z)
        tails.append(tail / z)
    weights = np.asarray(evidence) / np.sum(evidence)
    return float(weights @ np.asarray(tails))


@pytest.mark.parametrize(
    "labels, total, target, fit_from",
    [
        ([1, 0, 0, 0, 0, 0], 10, 0.5, 0),
        ([0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0], 40, 0.8, 2),
        ([1] * 3 + [0] * 30, 300, 0.9, 0),
    ],
)
def test_decay_p_value_matches_an_independent_derivation(labels, total, target, fit_from):
    estimate = stopping_from_labels(labels, total, recall_target=target, confidence=0.95, fit_from=fit_from)
    assert estimate.rule == "decay" and estimate.sample_size == len(labels) - fit_from
    assert estimate.p_value == pytest.approx(_decay_p_value_by_quadrature(labels, total, target, fit_from), rel=1e-4)
    assert estimate.stop == (estimate.p_value < 0.05)


def test_decay_stops_after_a_long_dry_run_not_after_a_short_one():
    found_early = [1] * 10 + [0] * 40
    assert not stopping_from_labels(found_early[:20], 1000).stop
    assert stopping_from_labels(found_early + [0] * 300, 1000).stop


def test_decay_needs_an_include_in_the_fitted_stretch():
    estimate = stopping_from_labels([1, 0] + [0] * 500, 600, fit_from=2)
    assert not estimate.stop and estimate.p_value == 1.0
    assert 0 < estimate.expected_remaining and estimate.estimated_recall < 1  # the prior's guess, shown


def test_unknown_rule_is_refused():
    with pytest.raises(ValueError, match=r"^unknown stopping rule 'knee': use 'decay' or 'buscar'$"):
        stopping_from_labels([1, 0], 5, rule="knee")


@pytest.mark.parametrize("rule", RULES)
def test_everything_screened_always_stops(rule):
    estimate = stopping_from_labels([0, 1, 0, 1], 4, rule=rule)
    assert estimate.stop and estimate.p_value == 0.0


@pytest.mark.parametrize("rule", RULES)
def test_nothing_screened_never_stops(rule):
    estimate = stopping_from_labels([], 100, rule=rule)
    assert not estimate.stop and estimate.p_value == 1.0


@pytest.mark.parametrize("rule", RULES)
def test_recent_includes_keep_screening_going(rule):
    labels = [1] * 5 + [0] * 300 + [1]  # an include just found: the urn is not empty yet
    assert not stopping_from_labels(labels, 400, rule=rule).stop


def test_decisions_by_record_id_in_screening_order():
    decisions = {"pmid:1": True, "doi:10.1/a": False, "pmid:9": 0, "pmid:3": 0, "pmid:4": False, "pmid:5": False}
    by_id = stopping_estimate(decisions, 10, recall_target=0.5, confidence=0.8, rule="buscar")
    assert by_id == stopping_from_labels([1, 0, 0, 0, 0, 0], 10, recall_target=0.5, confidence=0.8, rule="buscar")
    assert by_id.as_dict()["p_value"] == pytest.approx(1 / 6)
    assert stopping_estimate(decisions, 10, fit_from=1) == stopping_from_labels([1, 0, 0, 0, 0, 0], 10, fit_from=1)


@pytest.mark.parametrize(
    "target, confidence, message",
    [
        (1.0, 0.95, "recall target must be between 0 and 1 (exclusive), not 1.0"),
        (0.95, 0.0, "confidence must be between 0 and 1 (exclusive), not 0.0"),
    ],
)
def test_bad_targets_are_refused(target, confidence, message):
    with pytest.raises(ValueError) as error:
        stopping_from_labels([1, 0], 5, recall_target=target, confidence=confidence)
    assert str(error.value) == message


def test_more_decisions_than_records_is_refused():
    with pytest.raises(ValueError, match=r"^3 decisions for a review of 2 records$"):
        stopping_from_labels([1, 0, 0], 2)


def _prioritised_order(n: int, r: int, bias: float, rng: np.random.Generator) -> np.ndarray:
    """Labels in the order a ranker `bias` times likelier to pick an include than an exclude would
    screen them (sequential weighted sampling without replacement)."""
    labels = np.zeros(n, dtype=np.int64)
    labels[:r] = 1
    keys = rng.random(n) ** (1 / np.where(labels == 1, bias, 1.0))
    return labels[np.argsort(-keys)]


@pytest.mark.slow
@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("bias", [2.0, 4.0])
def test_stated_recall_is_met_as_often_as_the_confidence_promises(bias, rule):
    # 60 simulated reviews of 200 records with 20 includes, screened by a ranker 2 or 4 times likelier
    # to pick an include than an exclude (the rule's assumption: better than random). The README
    # gives the same check on the real datasets (bench prioritise).
    rng = np.random.default_rng(7)
    recalls, stops = [], []
    for _ in range(60):
        labels = _prioritised_order(200, 20, bias, rng)
        stop, _estimate = first_stop(labels, recall_target=0.95, confidence=0.95, rule=rule)
        recalls.append(labels[:stop].sum() / 20)
        stops.append(stop)
    assert np.mean(np.asarray(recalls) >= 0.95) >= 0.95
    assert np.median(stops) < 200  # and it stops before the end


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 1), min_size=1, max_size=120), st.integers(0, 50), st.sampled_from(RULES))
def test_p_value_is_a_probability(labels, unscreened, rule):
    estimate = stopping_from_labels(labels, len(labels) + unscreened, rule=rule)
    assert 0.0 <= estimate.p_value <= 1.0
    assert estimate.stop == (estimate.p_value < 0.05)
    assert 0 <= estimate.estimated_recall <= 1
    assert 1 <= estimate.sample_size <= len(labels)
    assert estimate.expected_remaining >= 0
