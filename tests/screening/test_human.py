"""What the reviewers' decision log means (pure): outcomes in single and dual mode, undo,
resolutions, the queue a reviewer sees, and Cohen's kappa."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.models import Decision, HumanDecision, Record, ScreeningResult
from pipeline.screening import human


def entry(seq, record, reviewer, decision, reason="", role="screen", undoes=None, digest="h1"):
    return HumanDecision(seq, record, reviewer, decision, reason, "", digest, "2026-01-01T00:00:00+00:00", role, undoes)


def test_record_keys_are_pmid_prefixed():
    assert human.record_key(Record(pmid="123")) == "pmid:123"
    assert human.result_key(ScreeningResult("pmid:123", Decision.INCLUDE, "meets-criteria")) == "pmid:123"


@pytest.mark.parametrize(
    "decision, queued",
    [
        (Decision.INCLUDE, True),
        (Decision.NEEDS_REVIEW, True),
        (Decision.EXCLUDE, False),
        (Decision.DUPLICATE, False),
    ],
)
def test_people_screen_what_the_rules_let_through(decision, queued):
    assert human.in_queue(ScreeningResult("1", decision, "x")) is queued


def test_single_mode_the_latest_decision_by_anyone_counts():
    log = [
        entry(1, "a", "ana", "include"),
        entry(2, "a", "ben", "exclude", "wrong population"),
        entry(3, "b", "ana", "maybe"),
    ]
    out = human.outcomes(log, "single")
    assert out["a"] == human.Outcome("exclude", "wrong population", ("ben",), "", ("h1",))
    assert out["b"].decision == "maybe"


def test_undo_withdraws_a_decision_and_walks_back():
    log = [
        entry(1, "a", "ana", "include"),
        entry(2, "a", "ana", "exclude", "wrong design"),
        entry(3, "a", "ana", "undo", undoes=2),
    ]
    assert human.outcomes(log, "single")["a"].decision == "include"
    log.append(entry(4, "a", "ana", "undo", undoes=1))
    assert "a" not in human.outcomes(log, "single")
    assert human.in_force(log) == []


def test_dual_mode_needs_two_reviewers_and_flags_disagreement():
    one = [entry(1, "a", "ana", "include")]
    assert human.outcomes(one, "dual")["a"] == human.Outcome("", "", ("ana",), "", ("h1",))
    agree = one + [entry(2, "a", "ben", "include")]
    assert human.outcomes(agree, "dual")["a"].decision == "include"
    disagree = one + [entry(2, "a", "ben", "exclude", "wrong population")]
    assert human.outcomes(disagree, "dual")["a"] == human.Outcome(
        "conflict", "ana: include; ben: exclude", ("ana", "ben"), "", ("h1", "h1")
    )
    resolved = disagree + [entry(3, "a", "cy", "exclude", "wrong population", role="resolve")]
    assert human.outcomes(resolved, "dual")["a"] == human.Outcome(
        "exclude", "wrong population", ("ana", "ben"), "cy", ("h1", "h1")
    )


def test_dual_mode_agreeing_excludes_keep_both_reasons():
    log = [entry(1, "a", "ana", "exclude", "wrong population"), entry(2, "a", "ben", "exclude", "wrong design")]
    assert human.outcomes(log, "dual")["a"].reason == "wrong design; wrong population"


def test_who_sees_a_record_next():
    decided = human.by_reviewer([entry(1, "a", "ana", "include")])
    assert not human.needs("a", "ana", decided, "dual")  # already decided it
    assert human.needs("a", "ben", decided, "dual")  # dual: a second reviewer is needed
    assert not human.needs("a", "ben", decided, "single")  # single: one decision is enough
    assert human.needs("b", "ana", decided, "single")
    both = human.by_reviewer([entry(1, "a", "ana", "include"), entry(2, "a", "ben", "include")])
    assert not human.needs("a", "cy", both, "dual")


def test_a_record_revised_after_the_decision_is_flagged():
    outcome = human.outcomes([entry(1, "a", "ana", "include", digest="old")], "single")["a"]
    assert human.revised_since(outcome, "new") and not human.revised_since(outcome, "old")


def test_cohen_kappa_of_a_textbook_table():
    # 50 items: both yes 20, both no 15, first yes/second no 5, first no/second yes 10.
    pairs = [("y", "y")] * 20 + [("n", "n")] * 15 + [("y", "n")] * 5 + [("n", "y")] * 10
    # p_o = 0.7; p_e = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = 0.4
    assert human.cohen_kappa(pairs) == pytest.approx(0.4)


def test_cohen_kappa_edge_cases():
    assert human.cohen_kappa([]) is None
    assert human.cohen_kappa([("include", "include")] * 3) is None  # chance agreement is certain
    assert human.cohen_kappa([("include", "exclude"), ("exclude", "include")]) == pytest.approx(-1.0)
    assert human.cohen_kappa([("include", "include"), ("exclude", "exclude")]) == pytest.approx(1.0)


def test_agreement_per_pair_over_shared_records_before_resolution():
    log = [
        entry(1, "a", "ana", "include"),
        entry(2, "a", "ben", "include"),
        entry(3, "b", "ana", "exclude"),
        entry(4, "b", "ben", "exclude"),
        entry(5, "c", "ana", "include"),
        entry(6, "c", "ben", "exclude"),
        entry(7, "c", "cy", "exclude", role="resolve"),
        entry(8, "d", "ana", "include"),
    ]
    [pair] = human.agreement(log, ["ana", "ben", "cy"])
    assert (pair.first, pair.second, pair.records, pair.agreed) == ("ana", "ben", 3, 2)
    # p_o = 2/3; ana: 2 include 1 exclude, ben: 1 include 2 exclude; p_e = (2*1 + 1*2)/9 = 4/9
    assert pair.kappa == pytest.approx((2 / 3 - 4 / 9) / (1 - 4 / 9))


labels = st.sampled_from(human.CATEGORIES)


@given(st.lists(st.tuples(labels, labels), min_size=1, max_size=60))
def test_kappa_is_bounded_and_symmetric(pairs):
    k = human.cohen_kappa(pairs)
    swapped = human.cohen_kappa([(b, a) for a, b in pairs])
    if k is None:
        assert swapped is None
    else:
        assert -1.0 - 1e-9 <= k <= 1.0 + 1e-9
        assert math.isclose(k, swapped, abs_tol=1e-9)


@given(st.lists(labels, min_size=2, max_size=60))
def test_perfect_agreement_is_kappa_one_when_defined(values):
    k = human.cohen_kappa([(v, v) for v in values])
    assert k is None if len(set(values)) == 1 else math.isclose(k, 1.0)


@given(
    st.lists(
        st.tuples(
            st.sampled_from("abc"),
            st.sampled_from(["ana", "ben"]),
            st.sampled_from(["include", "exclude", "maybe", "undo"]),
        ),
        max_size=40,
    )
)
def test_outcomes_only_come_from_decisions_in_force(ops):
    log = []
    for seq, (record, reviewer, decision) in enumerate(ops, start=1):
        if decision == "undo":
            live = [e for e in human.in_force(log) if e.reviewer == reviewer]
            if not live:
                continue
            log.append(entry(seq, live[-1].record_id, reviewer, "undo", undoes=live[-1].seq))
        else:
            log.append(entry(seq, record, reviewer, decision))
    live = human.in_force(log)
    for mode in ("single", "dual"):
        out = human.outcomes(log, mode)
        assert set(out) == {e.record_id for e in live}
        for record, o in out.items():
            assert o.decision in ("include", "exclude", "maybe", "conflict", "")
            assert set(o.screened_by) <= {e.reviewer for e in live if e.record_id == record}


def test_one_of_the_two_alone_does_not_settle_a_conflict_both_together_do():
    disagree = [entry(1, "a", "ana", "include"), entry(2, "a", "ben", "exclude", "wrong population")]
    ana = disagree + [entry(3, "a", "ana", "include", role="resolve")]
    assert human.outcomes(ana, "dual")["a"].decision == "conflict"
    differ = ana + [entry(4, "a", "ben", "exclude", "wrong design", role="resolve")]
    assert human.outcomes(differ, "dual")["a"].decision == "conflict"
    agree = differ + [entry(5, "a", "ben", "include", role="resolve")]  # ben's latest resolution counts
    assert human.outcomes(agree, "dual")["a"] == human.Outcome(
        "include", "", ("ana", "ben"), "ana and ben", ("h1", "h1")
    )
    withdrawn = agree + [entry(6, "a", "ben", "undo", role="resolve", undoes=5)]
    assert human.outcomes(withdrawn, "dual")["a"].decision == "conflict"  # back to ben's exclude proposal


def test_an_assigned_pair_is_never_shown_to_the_third_reviewer():
    decided = human.by_reviewer([entry(1, "a", "ana", "include")])
    assert human.needs("a", "ben", decided, "dual", ("ana", "ben"))
    assert not human.needs("a", "cy", decided, "dual", ("ana", "ben"))
    assert not human.needs("b", "cy", decided, "dual", ("ana", "ben"))


names = st.lists(st.text("abcdefghij", min_size=1, max_size=6), min_size=2, max_size=7, unique=True)


@given(st.text(min_size=1, max_size=30), names)
def test_each_record_goes_to_exactly_two_of_the_reviewers_whatever_their_order(record_id, reviewers):
    pair = human.assigned_pair(record_id, tuple(reviewers))
    assert len(pair) == 2 and len(set(pair)) == 2 and set(pair) <= set(reviewers)
    assert pair == human.assigned_pair(record_id, tuple(reversed(reviewers)))  # the config's order does not matter
    assert list(pair) == sorted(pair)


@pytest.mark.parametrize("n", [3, 4, 5, 6])
def test_the_assignment_is_balanced(n):
    reviewers = tuple(f"r{i}" for i in range(n))
    records = [f"pmid:{30000000 + i}" for i in range(12000)]
    load = {r: 0 for r in reviewers}
    pairs: dict[tuple, int] = {}
    for rid in records:
        pair = human.assigned_pair(rid, reviewers)
        pairs[pair] = pairs.get(pair, 0) + 1
        for r in pair:
            load[r] += 1
    assert len(pairs) == math.comb(n, 2)  # every pair screens some records
    for r in reviewers:  # each reviewer gets 2/n of the records, within 2 points
        assert abs(load[r] / len(records) - 2 / n) < 0.02, (r, load[r])
    for count in pairs.values():  # each pair 1/C(n, 2), within 2 points
        assert abs(count / len(records) - 1 / math.comb(n, 2)) < 0.02
