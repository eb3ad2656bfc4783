"""Cross-source deduplication (screening/merge.py): each rule on hand-made copies, then properties
over generated ones: order independence, idempotence, never joining different DOIs or PMIDs."""

from __future__ import annotations


from hypothesis import given, settings, strategies as st

from pipeline.models import AbstractSection, Author, Decision, Record
from pipeline.screening.merge import Copy, merge


def rec(title, year=2020, authors=("Smith",), doi="", pmid="", abstract="", journal="", types=(), **ids):
    return Record(
        pmid=pmid,
        doi=doi,
        title=title,
        pub_year=year,
        journal=journal,
        authors=tuple(Author(last_name=a) for a in authors),
        publication_types=tuple(types),
        abstract_sections=(AbstractSection("", abstract),) if abstract else (),
        ids=ids,
    )


T = "Ketamine for treatment resistant depression: a randomised trial"


def test_the_same_pmid_from_pubmed_and_openalex_is_one_record_found_in_both():
    pubmed = rec(T, pmid="101", doi="10.1/a", abstract="From MEDLINE.")
    openalex = rec(T.upper(), pmid="101", doi="10.1/A", openalex="W9")
    got = merge([Copy("OpenAlex", openalex), Copy("PubMed", pubmed)])
    assert [r.record_id for r in got.kept] == ["pmid:101"]
    kept = got.kept[0]
    assert kept.title == T and kept.abstract == "From MEDLINE."  # the PubMed copy's fields
    assert dict(kept.ids) == {"doi": "10.1/a", "openalex": "W9", "pmid": "101"}
    assert got.found_in == {"pmid:101": ("OpenAlex", "PubMed")}
    assert (got.duplicates, dict(got.repeats), got.removed) == ({}, {"duplicate-pmid": 1}, 1)


def test_an_import_with_the_same_doi_points_at_the_pubmed_record():
    got = merge(
        [
            Copy("PubMed", rec(T, pmid="101", doi="10.1/a")),
            Copy("Web of Science", rec(T, doi="https://doi.org/10.1/A", wos="000123")),
        ]
    )
    dup = got.duplicates["doi:10.1/a"]
    assert (dup.decision, dup.reason, dup.duplicate_of) == (Decision.DUPLICATE, "duplicate-doi", "pmid:101")
    assert got.kept[0].ids["wos"] == "000123"
    assert got.found_in == {"pmid:101": ("PubMed", "Web of Science"), "doi:10.1/a": ("Web of Science",)}


def test_titles_differing_in_case_punctuation_and_entities_match_with_the_year():
    a = rec("Ketamine &amp; depression: an update on NMDA antagonism", wos="1")
    b = rec("KETAMINE & DEPRESSION - AN UPDATE ON NMDA ANTAGONISM.", scopus="2-s2.0-5", abstract="Richer.")
    got = merge([Copy("Web of Science", a), Copy("Scopus", b)])
    assert [r.record_id for r in got.kept] == ["scopus:2-s2.0-5"]  # the one with an abstract
    assert got.duplicates["wos:1"].reason == "duplicate-title-year"


def test_a_year_apart_needs_the_same_first_author_or_journal():
    same_author = merge([Copy("A", rec(T, 2019, wos="1")), Copy("B", rec(T, 2020, scopus="2"))])
    assert len(same_author.kept) == 1
    other_author = merge(
        [Copy("A", rec(T, 2019, ("Jones",), wos="1")), Copy("B", rec(T, 2020, ("Smith",), scopus="2"))]
    )
    assert len(other_author.kept) == 2
    two_years = merge([Copy("A", rec(T, 2018, wos="1")), Copy("B", rec(T, 2020, scopus="2"))])
    assert len(two_years.kept) == 2


def test_different_dois_or_pmids_are_never_merged_unless_the_doi_is_shared():
    dois = merge([Copy("A", rec(T, doi="10.1/a")), Copy("B", rec(T, doi="10.1/b"))])
    pmids = merge([Copy("A", rec(T, pmid="1")), Copy("B", rec(T, pmid="2"))])
    assert (len(dois.kept), len(pmids.kept)) == (2, 2)
    twice = merge([Copy("PubMed", rec(T, pmid="1", doi="10.1/a")), Copy("PubMed", rec(T, pmid="2", doi="10.1/A"))])
    assert [r.record_id for r in twice.kept] == ["pmid:1"] and twice.duplicates["pmid:2"].reason == "duplicate-doi"


def test_a_truncated_title_and_a_near_identical_one_match_with_a_shared_author():
    full = rec(
        "Dinosaur macroevolution and macroecology across the Mesozoic era", 2018, ("Benson", "Hunt"), doi="10.1/d"
    )
    cut = rec("Dinosaur macroevolution and macroecology across the Meso…", 2018, ("Benson",), scholar="x")
    typo = rec("Dinosaur macroevolution and macroecolgy across the Mesozoic era", 2019, ("Hunt",), wos="7")
    got = merge([Copy("Google Scholar", cut), Copy("OpenAlex", full), Copy("Web of Science", typo)])
    assert [r.record_id for r in got.kept] == ["doi:10.1/d"]
    assert {k: d.reason for k, d in got.duplicates.items()} == {
        "scholar:x": "duplicate-title-similar",
        "wos:7": "duplicate-title-similar",
    }


def test_a_preprint_is_linked_to_its_journal_version_which_is_kept():
    preprint = rec(T, 2019, doi="10.1101/2019.01.01.123", types=("Preprint",), europepmc="PPR1")
    journal = rec(T, 2020, doi="10.1016/j.x.2020.1", pmid="555")
    got = merge([Copy("Europe PMC", preprint), Copy("PubMed", journal)])
    assert [r.record_id for r in got.kept] == ["pmid:555"]
    dup = got.duplicates["doi:10.1101/2019.01.01.123"]
    assert (dup.reason, dup.duplicate_of) == ("duplicate-preprint", "pmid:555")
    assert "europepmc" not in got.kept[0].ids  # a preprint's ids stay its own


def test_a_chain_points_at_one_kept_record():
    a = rec(T, 2020, pmid="7", doi="10.1/x")
    b = rec(T, 2020, doi="10.1/x", scopus="s1")  # same DOI as a
    c = rec(T, 2021, scopus="s1", wos="w1")  # shares only the Scopus id with b
    got = merge([Copy("C", c), Copy("B", b), Copy("A", a)])
    assert [r.record_id for r in got.kept] == ["pmid:7"]
    assert {k: d.duplicate_of for k, d in got.duplicates.items()} == {"doi:10.1/x": "pmid:7", "scopus:s1": "pmid:7"}


def test_short_titles_are_never_compared():
    got = merge([Copy("A", rec("Erratum.", wos="1")), Copy("B", rec("Erratum", scopus="2"))])
    assert len(got.kept) == 2


# --- properties -----------------------------------------------------------------------------------

TITLES = [
    T,
    "Esketamine nasal spray in major depression",
    "Sleep deprivation and mood in adolescents",
    "NMDA receptor antagonists for bipolar depression: a meta-analysis",
]


@st.composite
def copies(draw):
    out = []
    for i in range(draw(st.integers(1, 14))):
        title = draw(st.sampled_from(TITLES))
        variant = draw(st.sampled_from(["same", "upper", "cut", "punct"]))
        title = {
            "same": title,
            "upper": title.upper(),
            "punct": title.replace(" ", " - ", 1),
            "cut": title[: len(title) * 2 // 3] + "…",
        }[variant]
        ids = {}
        if draw(st.booleans()):
            ids["doi"] = f"10.1/{draw(st.integers(0, 4))}"
        if draw(st.integers(0, 3)) == 0:
            ids["pmid"] = str(draw(st.integers(1, 4)))
        ids[draw(st.sampled_from(["wos", "scopus", "openalex"]))] = str(draw(st.integers(0, 6)))
        record = rec(
            title, draw(st.sampled_from([2019, 2020, 2021, None])), (draw(st.sampled_from(["Smith", "Jones"])),), **ids
        )
        out.append(Copy(draw(st.sampled_from(["PubMed", "OpenAlex", "Scopus"])), record))
    return out


def _shape(m):
    return (
        [r.record_id for r in m.kept],
        sorted((k, d.duplicate_of, d.reason) for k, d in m.duplicates.items()),
        m.found_in,
        dict(m.repeats),
        [dict(r.ids) for r in m.kept],
    )


@settings(max_examples=300, deadline=None)
@given(copies(), st.randoms())
def test_order_never_matters(items, rnd):
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert _shape(merge(items)) == _shape(merge(shuffled))


@settings(max_examples=300, deadline=None)
@given(copies())
def test_duplicates_point_at_kept_records_that_share_no_conflicting_identifier(items):
    got = merge(items)
    kept = {r.record_id: r for r in got.kept}
    every = set(kept) | set(got.duplicates)
    assert every == {c.record.record_id for c in items}  # every record exactly once
    for record_id, dup in got.duplicates.items():
        assert dup.duplicate_of in kept
        mine, theirs = got.records[record_id], kept[dup.duplicate_of]
        if mine.pmid and theirs.pmid and dup.reason != "duplicate-doi":
            assert mine.pmid == theirs.pmid
        if dup.reason != "duplicate-preprint" and mine.doi and theirs.doi:
            assert mine.doi.lower() == theirs.doi.lower()
    assert got.removed == len(items) - len(got.kept)


@settings(max_examples=200, deadline=None)
@given(copies())
def test_merging_the_kept_records_again_finds_nothing(items):
    first = merge(items)
    again = merge([Copy("X", r) for r in first.kept])
    assert again.duplicates == {} and [r.record_id for r in again.kept] == [r.record_id for r in first.kept]


def test_screen_merged_screens_kept_records_and_marks_duplicates():
    from pipeline.config import ScreeningConfig
    from pipeline.outputs.tables import ids_cell
    from pipeline.screening.merge import screen_merged

    a = rec(T, 2020, pmid="1", doi="10.1/a", openalex="W1")
    b = rec(T.lower(), 2020, wos="9")
    results, merged = screen_merged(
        [a, b], ScreeningConfig(min_year=2021), {"pmid:1": ("OpenAlex", "PubMed"), "wos:9": ("Web of Science",)}
    )
    assert [(r.record_id, r.decision.value, r.reason) for r in results] == [
        ("pmid:1", "exclude", "published-before-range"),
        ("wos:9", "duplicate", "duplicate-title-year"),
    ]
    assert merged.found_in["pmid:1"] == ("OpenAlex", "PubMed", "Web of Science")
    assert ids_cell(merged.kept[0]) == "pmid:1; doi:10.1/a; openalex:W1; wos:9"
