"""The workspace in a real browser (headless Debian Chromium through Playwright): screening by
keyboard, undo, reload, two reviewers in dual mode with a conflict resolved and Cohen's kappa, the
evidence table and PRISMA following after publishing, and a restart losing nothing."""

from __future__ import annotations

import csv
import json

from pipeline.config import load_config
from pipeline.engine.run import run_pipeline
from tests.support.workspace_review import HOSTILE_PMID, served


def sign_in(page, url: str, name: str) -> None:
    page.goto(url)
    page.click(f"button[value={name}]")
    page.wait_for_selector("#record, #done")


def key(page, *keys: str) -> None:
    """Press keys that submit a form and wait for the next page (the decision was committed)."""
    with page.expect_navigation():
        for k in keys:
            page.keyboard.press(k)


def text(page, selector: str) -> str:
    return page.inner_text(selector).strip()


def test_screening_by_keyboard_with_undo_and_reload(screening_review, new_page):
    with served(screening_review) as server:
        ws = server.workspace
        page = new_page()
        sign_in(page, server.url, "ana")
        first = page.get_attribute("#record", "data-record-id")
        key(page, "i")
        assert text(page, "#flash") == "Saved." and text(page, "#p-mine") == "1"
        second = page.get_attribute("#record", "data-record-id")
        key(page, "e", "2")  # exclude, reason 2
        third = page.get_attribute("#record", "data-record-id")
        page.keyboard.press("n")  # focus the note, type, leave it, decide
        page.keyboard.type("dose-finding only")
        page.keyboard.press("Escape")
        key(page, "m")
        assert text(page, "#p-mine") == "3"
        key(page, "u")  # undo brings the maybe back to be decided again
        assert page.get_attribute("#record", "data-record-id") == third
        assert text(page, "#flash") == "Undid your “maybe” decision on this record; decide again."
        assert text(page, "#p-mine") == "2"
        page.reload()
        assert text(page, "#p-mine") == "2"
        page.goto(server.url.rstrip("/") + "/list")
        rows = {
            r.get_attribute("data-record-id"): r.query_selector("td.mine").inner_text().strip()
            for r in page.query_selector_all("#records tbody tr")
        }
        assert rows[first] == "include" and rows[second] == "exclude (wrong intervention)" and rows[third] == ""
        page.keyboard.press("/")
        page.keyboard.type("spravato")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert text(page, "#count") == "1 record"
        assert page.problems == []
        live = [(e.record_id, e.decision, e.reason, e.note) for e in ws.entries()]
    assert live == [
        (first, "include", "", ""),
        (second, "exclude", "wrong intervention", ""),
        (third, "maybe", "", "dose-finding only"),
        (third, "undo", "", ""),
    ]


def test_hostile_record_never_runs_script(screening_review, new_page):
    with served(screening_review) as server:
        page = new_page()
        sign_in(page, server.url, "ana")
        page.goto(server.url.rstrip("/") + f"/record/pmid:{HOSTILE_PMID}")
        assert text(page, "#title").startswith('<script>document.body.dataset.pwned="1"</script> Ketamine')
        assert "<img src=x onerror=" in text(page, "#abstract")
        assert page.evaluate("document.body.dataset.pwned") is None
        assert page.evaluate("document.body.dataset.ready") == "1"  # our own script did run
        assert page.problems == []


def test_two_reviewers_produce_a_conflict_and_resolve_it(screening_review, new_page):
    review = screening_review.with_mode("dual", ["ana", "ben", "cy"])
    with served(review) as server:
        ana, ben = new_page(), new_page()
        sign_in(ana, server.url, "ana")
        sign_in(ben, server.url, "ben")
        record = ana.get_attribute("#record", "data-record-id")
        assert ben.get_attribute("#record", "data-record-id") == record
        key(ana, "i")
        ben.reload()  # ana's decision is never shown to ben
        assert ben.query_selector("#mine") is None and "ana" not in text(ben, "main")
        assert text(ben, "#p-awaiting") == "1"
        key(ben, "e", "1")
        other = ana.get_attribute("#record", "data-record-id")
        assert ben.get_attribute("#record", "data-record-id") == other
        key(ana, "e", "3")
        key(ben, "e", "3")
        ana.reload()
        assert text(ana, "#p-conflicts") == "1"
        # ana: include, exclude; ben: exclude, exclude -> p_o = 1/2, p_e = 1/2, kappa = 0.00
        assert text(ana, ".kappa") == "κ ana/ben: 0.00 (1/2 agree)"
        cy = new_page()
        sign_in(cy, server.url, "cy")
        cy.keyboard.press("c")
        cy.wait_for_selector("section.conflict")
        conflict = cy.query_selector("section.conflict")
        assert conflict.get_attribute("data-record-id") == record
        assert [li.inner_text() for li in conflict.query_selector_all("li")] == [
            "ana: include",
            "ben: exclude (wrong population)",
        ]
        with cy.expect_navigation():
            conflict.query_selector('button[value="include"]').click()
        assert text(cy, "#flash") == "Resolution saved."
        assert text(cy, "section.conflict .resolved") == "Resolved by cy: include"
        assert text(cy, "#p-conflicts") == "0" and text(cy, "#p-included") == "1" and text(cy, "#p-excluded") == "1"
        for page in (ana, ben, cy):
            assert page.problems == []


def read_csv(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_decisions_reach_the_evidence_table_and_prisma(screening_review, new_page):
    out = screening_review.out
    assert read_csv(out / "evidence.csv") == []  # people have not included anything yet
    with served(screening_review) as server:
        page = new_page()
        sign_in(page, server.url, "ana")
        included = []
        for keys in (["i"], ["e", "1"], ["i"], ["m"]):
            if keys == ["i"]:
                included.append(page.get_attribute("#record", "data-record-id"))
            key(page, *keys)
        with page.expect_navigation():
            page.click("#publish")
        assert text(page, "#flash") == (
            "Published: outputs rebuilt: 2 records included by people in the evidence table, 4 awaiting screening."
        )
    pmids = sorted(r.split(":")[1] for r in included)
    assert sorted(r["pmid"] for r in read_csv(out / "evidence.csv")) == pmids
    records = {r["pmid"]: r for r in read_csv(out / "records.csv")}
    assert [records[p]["human_decision"] for p in pmids] == ["include", "include"]
    assert sum(r["human_decision"] == "exclude" for r in records.values()) == 1
    excluded = next(r for r in records.values() if r["human_decision"] == "exclude")
    assert (excluded["human_reason"], excluded["screened_by"]) == ("wrong population", "ana")
    assert records["30000002"]["human_decision"] == ""  # excluded by the rules: never screened
    flow = json.loads((out / "prisma.json").read_text())
    screening = flow["screening"]
    # PRISMA 2020: records screened = what reached people; excluded = by people, with their reasons.
    assert (screening["records_screened"], screening["records_excluded"], screening["records_awaiting_decision"]) == (
        7,
        1,
        4,
    )
    assert screening["records_excluded_by_reason"] == {"wrong population": 1}
    assert flow["included"]["records_included"] == 2 and flow["balanced"]
    people = screening["by_people"]
    assert (
        people["records_reaching_people"],
        people["records_screened"],
        people["records_excluded"],
        people["records_awaiting_screening"],
    ) == (7, 3, 1, 4)
    assert people["awaiting"] == {"not yet screened": 3, "awaiting a second reviewer": 0, "maybe": 1, "conflict": 0}
    assert "Records excluded (n = 1)" in (out / "prisma.svg").read_text()
    # A new run of the review keeps the decisions and publishes them again.
    run_pipeline(load_config(screening_review.config))
    assert sorted(r["pmid"] for r in read_csv(out / "evidence.csv")) == pmids


def test_a_restarted_workspace_has_every_decision(screening_review, new_page):
    with served(screening_review) as server:
        page = new_page()
        sign_in(page, server.url, "ben")
        decided = page.get_attribute("#record", "data-record-id")
        key(page, "e", "3")
    with served(screening_review) as server:  # a new server process state, same store
        page = new_page()
        sign_in(page, server.url, "ben")
        assert text(page, "#p-mine") == "1"
        assert page.get_attribute("#record", "data-record-id") != decided
        page.goto(server.url.rstrip("/") + "/record/" + decided)
        assert text(page, "#mine") == "Your decision: exclude (wrong design). Deciding again replaces it."
