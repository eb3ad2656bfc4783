"""Deduplication and whole-set screening: exact cases, then order independence (hypothesis)."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import ScreeningConfig
from pipeline.models import Decision, Record, ScreeningResult, pmid_of, record_order
from pipeline.screening.screen import screen_records
from pipeline.screening import dedup

CFG = ScreeningConfig(min_year=2016, languages=("eng",))
TITLE = "Ketamine for treatment-resistant depression: a trial."


def rec(pmid: str, **fields) -> Record:
    fields.setdefault("pub_year", 2018)
    fields.setdefault("languages", ("eng",))
    return Record(pmid=pmid, **fields)


def by_pmid(results: list[ScreeningResult]) -> dict[str, ScreeningResult]:
    return {pmid_of(r.record_id): r for r in results}


def test_same_doi_in_any_case_or_form_is_a_duplicate_of_the_lowest_pmid():
    records = [
        rec("30", doi="https://doi.org/10.1/ABC"),
        rec("10", doi="10.1/abc", title="A"),
        rec("20", doi="doi: 10.1/Abc"),
    ]
    got = by_pmid(screen_records(records, CFG))
    assert got["10"].decision == Decision.INCLUDE
    assert got["20"] == ScreeningResult(
        "pmid:20", Decision.DUPLICATE, "duplicate-doi", "doi", "doi: 10.1/Abc", duplicate_of="pmid:10"
    )
    assert got["30"].duplicate_of == "pmid:10"


def test_same_normalised_title_and_year_is_a_duplicate():
    records = [rec("2", title=TITLE), rec("1", title="KETAMINE for Treatment Resistant Depression - A Trial")]
    got = by_pmid(screen_records(records, CFG))
    assert got["2"] == ScreeningResult(
        "pmid:2",
        Decision.DUPLICATE,
        "duplicate-title-year",
        "title+year",
        "ketamine for treatment resistant depression a trial (2018)",
        duplicate_of="pmid:1",
    )


def test_accents_are_ignored_in_titles():
    assert dedup.normalise_title("Étude de la kétamine: résultats!") == "etude de la ketamine resultats"


@pytest.mark.parametrize(
    "second",
    [
        rec("2", title=TITLE, pub_year=2019),  # another year
        rec("2", title="Erratum."),  # too short to mean anything
        rec("2", title=TITLE, doi="10.1/other"),  # different DOIs: different papers
    ],
)
def test_near_misses_are_not_duplicates(second):
    first = rec("1", title=TITLE if second.title != "Erratum." else "Erratum.", doi="10.1/one")
    results = screen_records([first, second], CFG)
    assert [r.decision for r in results] == [Decision.INCLUDE, Decision.INCLUDE]


def test_short_titles_are_not_compared():
    assert dedup.title_year_key(rec("1", title="Erratum.")) == ""
    assert dedup.title_year_key(rec("1", title="Ketamine and depression")) == "ketamine and depression|2018"
    assert dedup.title_year_key(rec("1", title=TITLE, pub_year=None, article_date="2017-05-01")).endswith("|2017")
    assert dedup.title_year_key(rec("1", title=TITLE, pub_year=None)) == ""


def test_a_chain_of_matches_points_to_the_kept_record():
    # 2 shares the DOI of 1; 3 shares only the title of 2. All three are one paper, kept as 1.
    records = [
        rec("3", title=TITLE),
        rec("2", doi="10.1/x", title=TITLE),
        rec("1", doi="10.1/X", title="Other words here"),
    ]
    got = by_pmid(screen_records(records, CFG))
    assert (got["2"].reason, got["2"].duplicate_of) == ("duplicate-doi", "pmid:1")
    assert (got["3"].reason, got["3"].duplicate_of) == ("duplicate-title-year", "pmid:1")


def test_a_title_match_is_refused_when_the_kept_group_has_another_doi():
    records = [rec("1", doi="10.1/a", title=TITLE), rec("2", title=TITLE), rec("3", doi="10.1/b", title=TITLE)]
    got = by_pmid(screen_records(records, CFG))
    assert got["2"].duplicate_of == "pmid:1"
    assert got["3"].decision == Decision.INCLUDE


def test_the_same_pmid_twice_gives_one_row_and_counts_one_duplicate():
    records = [rec("5", title=TITLE), rec("5", title=TITLE), rec("6", pub_year=2010)]
    results = screen_records(records, CFG)
    assert [r.record_id for r in results] == ["pmid:5", "pmid:6"]
    assert dedup.duplicate_id_count(r.record_id for r in records) == 1


def test_differing_copies_of_one_pmid_are_chosen_by_content_and_logged(caplog):
    old, new = rec("5", title="Old title of the paper"), rec("5", title="New title of the paper")
    with caplog.at_level(logging.WARNING, logger="pipeline.screening.dedup"):
        assert dedup.distinct_records([old, new]) == dedup.distinct_records([new, old])
    assert (
        caplog.messages
        == ["record pmid:5 was returned 2 times with different content; keeping one deterministically"] * 2
    )


def test_duplicates_are_flagged_retracted_too():
    records = [rec("1", doi="10.1/a"), rec("2", doi="10.1/a", publication_types=("Retracted Publication",))]
    assert by_pmid(screen_records(records, CFG))["2"].flags == ("retracted",)


def test_results_are_sorted_numerically():
    records = [rec(p, title=f"A distinct title number {p}") for p in ("100", "9", "20")]
    assert [r.record_id for r in screen_records(records, CFG)] == ["pmid:9", "pmid:20", "pmid:100"]


# --- properties ----------------------------------------------------------------------------------

# Small pools make collisions frequent: DOIs in two cases, a few titles, a few years.
dois = st.sampled_from(["", "", "10.1/a", "10.1/A", "10.1/b", "https://doi.org/10.1/c", "10.1/C"])
titles = st.sampled_from(
    ["", "Erratum.", TITLE, TITLE.upper(), "Ketamine and the brain in mice", "Ketamine and the brain, in mice!"]
)


# Records without a PMID: a Europe PMC preprint id, an OpenAlex work, or nothing (an imported file).
other_ids = st.sampled_from([{}, {"europepmc": "PPR1"}, {"europepmc": "PPR2"}, {"openalex": "W7"}])


@st.composite
def record_sets(draw):
    pmids = draw(st.lists(st.integers(1, 60), min_size=1, max_size=25, unique=True))
    records = []
    for p in pmids:
        without_pmid = draw(st.integers(0, 4)) == 0
        records.append(
            Record(
                pmid="" if without_pmid else str(p),
                ids=draw(other_ids) if without_pmid else {},
                doi=draw(dois),
                title=draw(titles),
                pub_year=draw(st.sampled_from([None, 2015, 2016, 2017])),
                languages=draw(st.sampled_from([("eng",), ("ger",), ("und",)])),
            )
        )
    repeats = draw(st.lists(st.sampled_from(records), max_size=5))  # the same record from two pages
    return records + repeats


@settings(max_examples=200)
@given(record_sets(), st.randoms())
def test_screening_does_not_depend_on_record_order(records, rnd):
    shuffled = list(records)
    rnd.shuffle(shuffled)
    assert screen_records(shuffled, CFG) == screen_records(records, CFG)


@settings(max_examples=200)
@given(record_sets())
def test_every_duplicate_points_to_a_kept_record_it_matches(records):
    results = screen_records(records, CFG)
    distinct = dedup.distinct_records(records)
    assert sorted(r.record_id for r in results) == sorted(distinct)
    decided = {r.record_id: r for r in results}
    for r in results:
        if r.decision != Decision.DUPLICATE:
            assert not r.duplicate_of
            continue
        kept = decided[r.duplicate_of]
        assert kept.decision != Decision.DUPLICATE
        assert record_order(kept.record_id) < record_order(r.record_id)
        group = [distinct[kept.record_id]] + [
            distinct[d.record_id] for d in results if d.duplicate_of == kept.record_id
        ]
        me = distinct[r.record_id]
        others = [g for g in group if g.record_id != me.record_id]
        if r.reason == "duplicate-doi":
            assert any(dedup.normalise_doi(g.doi) == dedup.normalise_doi(me.doi) != "" for g in others)
        else:
            assert r.reason == "duplicate-title-year"
            assert any(dedup.title_year_key(g) == dedup.title_year_key(me) != "" for g in others)


@settings(max_examples=200)
@given(record_sets())
def test_kept_records_share_no_key(records):
    kept, _ = dedup.find_duplicates(records)
    doi_keys = [dedup.normalise_doi(r.doi) for r in kept if r.doi]
    assert len(doi_keys) == len(set(doi_keys))
    by_title: dict[str, list[Record]] = {}
    for r in kept:
        if dedup.title_year_key(r):
            by_title.setdefault(dedup.title_year_key(r), []).append(r)
    for same in by_title.values():
        # Only papers with different DOIs may share a title and year.
        assert len(same) == 1 or all(r.doi for r in same[1:])
    # Deduplicating again finds nothing more.
    again, more = dedup.find_duplicates(kept)
    assert again == kept and more == {}


def test_title_match_compares_dois_with_the_kept_record_itself():
    """Found by hypothesis: 1 has no DOI, 2 and 4 share its title with different DOIs. Both are
    duplicates of 1, so a second pass over the kept records finds nothing more."""
    title = "Ketamine for treatment-resistant depression: a trial."
    records = [
        rec("2", title=title, doi="10.1/a", pub_year=2015),
        rec("1", title=title, pub_year=2015),
        rec("4", title=title, doi="10.1/b", pub_year=2015),
    ]
    kept, duplicates = dedup.find_duplicates(records)
    assert [r.pmid for r in kept] == ["1"]
    assert {p: d.duplicate_of for p, d in duplicates.items()} == {"pmid:2": "pmid:1", "pmid:4": "pmid:1"}
    assert dedup.find_duplicates(kept) == (kept, {})


def test_records_without_a_pmid_come_after_those_with_one_then_by_record_id():
    """The documented order of which copy survives: lowest PMID; without PMIDs, record_id order."""
    preprint = rec("", ids={"europepmc": "PPR9"}, title=TITLE)
    imported = rec("", title=TITLE.upper())
    by_doi = rec("", doi="10.1/Z", title=TITLE)
    assert [r.record_id for r in screen_records([imported, by_doi, preprint], CFG)] == [
        "doi:10.1/z",
        "europepmc:PPR9",
        imported.record_id,
    ]
    got = {r.record_id: r for r in screen_records([imported, preprint, by_doi], CFG)}
    assert got["doi:10.1/z"].decision == Decision.INCLUDE
    assert (got["europepmc:PPR9"].duplicate_of, got[imported.record_id].duplicate_of) == ("doi:10.1/z",) * 2
    with_pmid = rec("77", title=TITLE)
    got = {r.record_id: r for r in screen_records([preprint, with_pmid], CFG)}
    assert got["europepmc:PPR9"].duplicate_of == "pmid:77"
