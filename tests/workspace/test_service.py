"""The workspace's library: the queue, decisions and their checks, undo, dual mode, progress and a
run committing new state while the workspace is open."""

from __future__ import annotations

import pytest

from pipeline.config import load_config
from pipeline.errors import WorkspaceError
from pipeline.workspace.service import Workspace
from tests.support.workspace_review import HOSTILE_PMID

QUEUE = [
    "pmid:30000001",
    "pmid:30000004",
    "pmid:30000005",
    "pmid:30000008",
    "pmid:30000009",
    "pmid:30000010",
    f"pmid:{HOSTILE_PMID}",
]


@pytest.fixture
def single(screening_review):
    ws = Workspace(load_config(screening_review.config))
    yield ws
    ws.close()


@pytest.fixture
def dual(screening_review):
    review = screening_review.with_mode("dual", ["ana", "ben", "cy"])
    ws = Workspace(load_config(review.config))
    yield ws
    ws.close()


def test_the_queue_is_what_the_rules_let_through(single):
    queue = single.queue()
    assert list(queue) == QUEUE
    assert {q.rule.decision.value for q in queue.values()} == {"include", "needs-review"}


def test_before_any_decision_rule_includes_come_before_needs_review(single):
    order = single.ranked()
    assert sorted(order) == sorted(QUEUE)
    assert order[:5] == ["pmid:30000001", "pmid:30000005", "pmid:30000009", "pmid:30000010", f"pmid:{HOSTILE_PMID}"]


def test_a_decision_is_stored_and_the_next_record_follows(single):
    first = single.next_for("ana")
    saved = single.decide("ana", first, "exclude", "wrong design", "  an RCT? no  ")
    assert (saved.reviewer, saved.record_id, saved.decision, saved.reason, saved.note, saved.role) == (
        "ana",
        first,
        "exclude",
        "wrong design",
        "an RCT? no",
        "screen",
    )
    assert saved.content_hash == single.queue()[first].content_hash
    assert single.next_for("ana") != first
    assert single.next_for("ben") != first  # single mode: one reviewer per record
    p = single.progress("ben")
    assert (p.total, p.decided, p.remaining, p.excluded, p.mine, p.mine_remaining) == (7, 1, 6, 1, 0, 6)


@pytest.mark.parametrize(
    "args, message",
    [
        (("zoe", "pmid:30000001", "include"), "'zoe' is not a reviewer of this review; the config names ana, ben."),
        (("ana", "pmid:30000002", "include"), "record 'pmid:30000002' is not in the screening queue of this review."),
        (("ana", "pmid:30000001", "perhaps"), "decision 'perhaps' is not one of: include, exclude, maybe."),
        (
            ("ana", "pmid:30000001", "exclude", "too long"),
            (
                "exclusion reason 'too long' is not in the config's exclusion_reasons: wrong population; "
                "wrong intervention; wrong design."
            ),
        ),
        (
            ("ana", "pmid:30000001", "exclude"),
            (
                "exclusion reason '' is not in the config's exclusion_reasons: wrong population; "
                "wrong intervention; wrong design."
            ),
        ),
        (("ana", "pmid:30000001", "include", "wrong design"), "a reason is given only with exclude, not with include."),
        (("ana", "pmid:30000001", "include", "", "x" * 2001), "the note has 2001 characters; keep it under 2000."),
    ],
)
def test_bad_decisions_are_refused_with_the_reason(single, args, message):
    with pytest.raises(WorkspaceError) as info:
        single.decide(*args)
    assert str(info.value) == message
    assert single.entries() == []


def test_undo_brings_the_record_back(single):
    first = single.next_for("ana")
    single.decide("ana", first, "include")
    assert single.undo("ana").record_id == first
    assert single.next_for("ana") == first
    assert single.undo("ana") is None
    assert single.progress("ana").decided == 0


def test_the_ranker_learns_from_decisions(single):
    # Include the esketamine record and exclude the meta-analysis: the other esketamine/nasal-spray
    # vocabulary should move up, so the order must change from the rules' order.
    before = single.ranked()
    single.decide("ana", "pmid:30000009", "include")
    single.decide("ana", "pmid:30000010", "exclude", "wrong design")
    after = single.ranked()
    assert set(after) == set(QUEUE) - {"pmid:30000009", "pmid:30000010"}
    assert after != [r for r in before if r in after]


def test_dual_mode_with_three_reviewers_each_record_goes_to_its_two(dual):
    queue = dual.queue()
    assert {rid: dual.assigned(rid) for rid in queue} == {
        "pmid:30000001": ("ben", "cy"),
        "pmid:30000004": ("ben", "cy"),
        "pmid:30000005": ("ana", "cy"),
        "pmid:30000008": ("ana", "cy"),
        "pmid:30000009": ("ana", "ben"),
        "pmid:30000010": ("ben", "cy"),
        f"pmid:{HOSTILE_PMID}": ("ana", "ben"),
    }
    for name in ("ana", "ben", "cy"):
        mine = sorted(rid for rid in queue if name in dual.assigned(rid))
        assert dual.progress(name).mine_remaining == len(mine)
        seen = []
        while (rid := dual.next_for(name)) is not None:
            seen.append(rid)
            dual.decide(name, rid, "include")
        assert sorted(seen) == mine  # never a record assigned to the other two
    p = dual.progress("ana")
    assert (p.decided, p.included, p.awaiting_second) == (7, 7, 0)
    assert [(a.first, a.second, a.records) for a in p.agreement] == [
        ("ana", "ben", 2),
        ("ana", "cy", 2),
        ("ben", "cy", 3),
    ]


def test_a_reviewer_cannot_screen_a_record_assigned_to_the_other_two(dual):
    with pytest.raises(WorkspaceError) as info:
        dual.decide("ana", "pmid:30000001", "include")
    assert str(info.value) == (
        "record 'pmid:30000001' is assigned to ben and cy (dual mode); ana may resolve a conflict on it but not screen it."
    )


def test_dual_mode_conflict_resolution_and_kappa(dual):
    rid = "pmid:30000009"  # assigned to ana and ben
    dual.decide("ana", rid, "include")
    assert dual.progress("ana").awaiting_second == 1
    assert dual.next_for("cy") != rid
    dual.decide("ben", rid, "exclude", "wrong population")
    [conflict] = dual.conflicts()
    assert conflict["record_id"] == rid and conflict["resolved"] == "" and conflict["pair"] == ("ana", "ben")
    assert [(d.reviewer, d.decision) for d in conflict["decisions"]] == [("ana", "include"), ("ben", "exclude")]
    assert dual.progress("cy").conflicts == 1
    other = f"pmid:{HOSTILE_PMID}"  # ana and ben too
    dual.decide("ana", other, "exclude", "wrong design")
    dual.decide("ben", other, "exclude", "wrong design")
    dual.decide("ana", "pmid:30000005", "include")  # ana and cy
    dual.decide("cy", "pmid:30000005", "include")
    ana_ben, ana_cy = dual.progress("ana").agreement  # kappa for each pair of reviewers
    assert (ana_ben.first, ana_ben.second, ana_ben.records, ana_ben.agreed) == ("ana", "ben", 2, 1)
    # ana: include, exclude; ben: exclude, exclude: p_o = 1/2, p_e = (1*0 + 1*2)/4 = 1/2 -> kappa 0
    assert ana_ben.kappa == pytest.approx(0.0)
    assert (ana_cy.first, ana_cy.second, ana_cy.records, ana_cy.agreed, ana_cy.kappa) == ("ana", "cy", 1, 1, None)
    with pytest.raises(WorkspaceError) as info:
        dual.resolve("cy", other, "include")
    assert str(info.value) == f"record '{other}' has no conflict to resolve."
    dual.resolve("cy", rid, "include", note="population is adults with TRD")  # not one of the two: settles it
    assert dual.outcomes()[rid].decision == "include" and dual.outcomes()[rid].resolved_by == "cy"
    assert dual.conflicts()[0]["resolved"] == "include"
    p = dual.progress("cy")
    assert (p.included, p.excluded, p.conflicts) == (2, 1, 0)


def test_the_two_reviewers_resolve_a_conflict_together(dual):
    rid = "pmid:30000009"
    dual.decide("ana", rid, "include")
    dual.decide("ben", rid, "exclude", "wrong population")
    dual.resolve("ana", rid, "include", note="adults")
    [conflict] = dual.conflicts()
    assert conflict["resolved"] == "" and [(e.reviewer, e.decision) for e in conflict["proposals"]] == [
        ("ana", "include")
    ]
    assert dual.outcomes()[rid].decision == "conflict"  # one of the two alone does not settle it
    dual.resolve("ben", rid, "exclude", "wrong population")
    assert dual.outcomes()[rid].decision == "conflict"  # they still disagree
    dual.resolve("ben", rid, "include")
    outcome = dual.outcomes()[rid]
    assert (outcome.decision, outcome.resolved_by) == ("include", "ana and ben")
    assert dual.conflicts()[0]["resolved_by"] == "ana and ben"


def test_dual_mode_listing_never_shows_the_other_reviewers_decision_alone(dual):
    rid = "pmid:30000009"
    dual.decide("ana", rid, "include")
    row = next(r for r in dual.listing("ben") if r["record_id"] == rid)
    assert (row["mine"], row["outcome"], row["by"]) == ("", "", "")
    row = next(r for r in dual.listing("ana") if r["record_id"] == rid)
    assert (row["mine"], row["outcome"]) == ("include", "")
    # each reviewer's list holds the records assigned to them
    assert [r["record_id"] for r in dual.listing("ana")] == [
        "pmid:30000005",
        "pmid:30000008",
        "pmid:30000009",
        f"pmid:{HOSTILE_PMID}",
    ]


def test_the_list_is_paged_and_search_spans_every_page(single):
    page = single.listing_page("ana", "", page=2, per_page=3)
    assert [r["record_id"] for r in page.rows] == QUEUE[3:6]
    assert (page.total, page.page, page.pages, page.start, page.end, page.queued) == (7, 2, 3, 4, 6, 7)
    last = single.listing_page("ana", "", page=99, per_page=3)  # clamped to the last page
    assert ([r["record_id"] for r in last.rows], last.page, last.start, last.end) == ([QUEUE[6]], 3, 7, 7)
    assert single.listing_page("ana", "", page=-4, per_page=3).page == 1
    single.decide("ana", "pmid:30000009", "include")
    found = single.listing_page("ana", "spravato", page=1, per_page=3)  # the 5th record: page 2 unfiltered
    assert ([r["record_id"] for r in found.rows], found.total, found.pages, found.decided) == (
        ["pmid:30000009"],
        1,
        1,
        1,
    )
    empty = single.listing_page("ana", "no-such-word", page=3, per_page=3)
    assert (empty.rows, empty.total, empty.page, empty.pages, empty.start, empty.end) == ([], 0, 1, 1, 0, 0)


def test_list_search_matches_every_word(single):
    assert [r["record_id"] for r in single.listing("ana", "spravato SAFETY")] == ["pmid:30000009"]
    assert single.listing("ana", "no-such-word") == []
    assert len(single.listing("ana")) == 7


def test_a_workspace_needs_the_human_table_and_a_run(screening_review, tmp_path):
    text = screening_review.config.read_text()
    plain = screening_review.config.with_name("plain.toml")
    plain.write_text(text[: text.index("[screening.human]")] + '[output]\ndir = "out"\n')
    with pytest.raises(WorkspaceError) as info:
        Workspace(load_config(plain))
    assert str(info.value) == (
        f"{plain}: the human screening stage is not enabled. Add a [screening.human] "
        'table with reviewers = ["your-name"] to the config.'
    )
    with pytest.raises(Exception) as info:
        Workspace(load_config(screening_review.config), out=tmp_path / "empty")
    assert str(info.value) == (
        f"{tmp_path / 'empty'} holds no review state (state.sqlite). Run the review first: "
        f"python -m pipeline run --config {screening_review.config}"
    )


def test_progress_carries_the_stopping_rules_estimate(single):
    start = single.progress("ana").stopping
    assert (start.reached, start.target_recall, start.confidence) == (False, 0.95, 0.95)
    assert start.method.startswith("hypergeometric stopping rule (Callaghan & Müller-Hansen 2020), p = ")
    while (rid := single.next_for("ana")) is not None:
        single.decide("ana", rid, *(("include", "") if rid.endswith(("01", "09")) else ("exclude", "wrong design")))
    done = single.progress("ana").stopping
    assert done.reached and done.expected_remaining == 0.0
    assert single.progress("ana").included == 2
