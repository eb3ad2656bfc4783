"""The workspace in a real browser (headless Debian Chromium through Playwright): screening by
keyboard, undo, reload, two reviewers in dual mode with a conflict resolved and Cohen's kappa, the
evidence table and PRISMA following after publishing, and a restart losing nothing."""

from __future__ import annotations

import csv
import json
import re

from pipeline.config import load_config
from pipeline.engine.run import run_pipeline
from tests.support.workspace_review import HOSTILE_PMID, served


def sign_in(page, url: str, name: str) -> None:
    page.goto(url)
    # Until the page's load event the deferred app.js may not listen yet, and a key pressed then is lost.
    with page.expect_navigation():
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
        assert text(page, "#count") == "1 record matching “spravato” (of 7 in the queue); you decided 0"
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


def decide_on(page, url: str, record_id: str, *keys: str) -> None:
    page.goto(url.rstrip("/") + "/record/" + record_id)
    key(page, *keys)


def test_two_reviewers_produce_a_conflict_and_a_third_resolves_it(screening_review, new_page):
    review = screening_review.with_mode("dual", ["ana", "ben", "cy"])
    with served(review) as server:
        ws = server.workspace
        ana, ben, cy = new_page(), new_page(), new_page()
        for page, name in ((ana, "ana"), (ben, "ben"), (cy, "cy")):
            sign_in(page, server.url, name)
            # each reviewer is shown only records assigned to them (two reviewers per record)
            assert name in ws.assigned(page.get_attribute("#record", "data-record-id"))
        record, other = "pmid:30000009", f"pmid:{HOSTILE_PMID}"  # both assigned to ana and ben
        assert ws.assigned(record) == ws.assigned(other) == ("ana", "ben")
        decide_on(ana, server.url, record, "i")
        ben.goto(server.url.rstrip("/") + "/record/" + record)  # ana's decision is never shown to ben
        assert ben.query_selector("#mine") is None and not re.search(r"\bana\b", text(ben, "main"))
        assert text(ben, "#p-awaiting") == "1"
        key(ben, "e", "1")
        decide_on(ana, server.url, other, "e", "3")
        decide_on(ben, server.url, other, "e", "3")
        cy.goto(server.url.rstrip("/") + "/record/" + record)
        assert text(cy, "#not-assigned") == (
            "This record is screened by ana and ben; you may resolve a conflict on it in the conflicts view."
        )
        ana.reload()
        assert text(ana, "#p-conflicts") == "1"
        # ana: include, exclude; ben: exclude, exclude -> p_o = 1/2, p_e = 1/2, kappa = 0.00
        assert text(ana, '.kappa[data-pair="ana-ben"]') == "κ ana/ben: 0.00 (1/2 agree)"
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


def test_the_two_reviewers_resolve_their_conflict_together(screening_review, new_page):
    review = screening_review.with_mode("dual", ["ana", "ben"])
    with served(review) as server:
        ana, ben = new_page(), new_page()
        sign_in(ana, server.url, "ana")
        sign_in(ben, server.url, "ben")
        record = ana.get_attribute("#record", "data-record-id")
        assert ben.get_attribute("#record", "data-record-id") == record  # two reviewers: both get every record
        key(ana, "i")
        key(ben, "e", "2")
        for page in (ana, ben):
            page.goto(server.url.rstrip("/") + "/conflicts")
        with ana.expect_navigation():
            ana.click('section.conflict button[value="include"]')
        assert text(ana, "#flash").startswith("Your resolution is saved; it settles the conflict when the other")
        assert text(ana, "section.conflict .proposals") == (
            "ana resolves: include — waiting for the other reviewer (or a third one)."
        )
        ben.reload()
        with ben.expect_navigation():
            ben.click('section.conflict button[value="include"]')
        assert text(ben, "#flash") == "Resolution saved."
        assert text(ben, "section.conflict .resolved") == "Resolved by ana and ben: include"
        assert text(ben, "#p-conflicts") == "0" and text(ben, "#p-included") == "1"
        for page in (ana, ben):
            assert page.problems == []


def test_the_list_is_paged_and_its_address_can_be_shared(screening_review, new_page):
    with served(screening_review) as server:
        server.settings.list_page = 3
        page = new_page()
        sign_in(page, server.url, "ana")
        base = server.url.rstrip("/")
        page.goto(base + "/list?page=2")
        assert text(page, "#count") == "records 4–6 of 7; you decided 0"
        assert text(page, "#pager-top .pages") == "page 2 of 3"
        second = [r.get_attribute("data-record-id") for r in page.query_selector_all("#records tbody tr")]
        with page.expect_navigation():
            page.click("#pager-top a[rel=next]")
        assert page.url == base + "/list?page=3"
        assert len(page.query_selector_all("#records tbody tr")) == 1
        # open a record from page 2, decide it: back on page 2 with the decision shown
        page.goto(base + "/list?page=2")
        with page.expect_navigation():
            page.click(f'#records tr[data-record-id="{second[1]}"] a')
        key(page, "i")
        assert page.url.startswith(base + "/list?page=2&saved=")
        assert text(page, f'#records tr[data-record-id="{second[1]}"] td.mine') == "include"
        # search spans every page; the address carries the search and the page
        page.keyboard.press("/")
        page.keyboard.type("ketamine")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert text(page, "#count") == "records 1–3 of 7 matching “ketamine” (of 7 in the queue); you decided 1"
        with page.expect_navigation():
            page.click("#pager-bottom a[rel=last]")
        assert page.url == base + "/list?q=ketamine&page=3"
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
        # nobody publishes: the tables follow in the background and the page says when they are done
        page.wait_for_selector('#tables[data-state="idle"]', timeout=120_000)
        assert text(page, "#tables").startswith("tables updated ")
        assert server.publisher.status().message == (
            "outputs rebuilt: 2 records included by people in the evidence table, 4 awaiting screening"
        )
        with page.expect_navigation():
            page.click("#publish")  # "update now" waits for a rebuild and says what it wrote
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
