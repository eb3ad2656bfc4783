"""Local PubMed XML source: path expansion, the keyword query, applying baseline + update files."""

from __future__ import annotations

import gzip
import string

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from pipeline.config import SearchConfig
from pipeline.errors import ConfigError
from pipeline.sources.pubmed_xml.local import expand_paths, iter_local_records, query_matches, select_local
from pipeline.models import AbstractSection, DeletedCitation, MeshHeading, Quarantined, Record
from tests.support.xmlbuild import article, document


def search(*groups, field: str = "") -> SearchConfig:
    return SearchConfig(source="pubmed-xml", all_of=tuple(tuple(g) for g in groups), field=field)


def rec(title: str = "", abstract: str = "", keywords=(), mesh=(), pmid: str = "1") -> Record:
    return Record(
        pmid=pmid,
        title=title,
        abstract_sections=(AbstractSection("", abstract),) if abstract else (),
        keywords=tuple(keywords),
        mesh_headings=tuple(MeshHeading(m) for m in mesh),
    )


# -- paths ------------------------------------------------------------------------------------
@pytest.fixture
def files(tmp_path):
    for name in ("b.xml", "a.xml.gz", "c.txt"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.xml").write_bytes(b"")
    return tmp_path


def test_globs_are_sorted_and_folders_mean_their_xml_files(files):
    assert expand_paths([files / "*.xml*", str(files / "sub" / "d.xml")]) == [
        files / "a.xml.gz",
        files / "b.xml",
        files / "sub" / "d.xml",
    ]
    assert expand_paths([files]) == [files / "a.xml.gz", files / "b.xml"]
    assert expand_paths([str(files / "**" / "*.xml")]) == [files / "b.xml", files / "sub" / "d.xml"]


def test_a_pattern_matching_nothing_names_the_pattern(files):
    with pytest.raises(ConfigError) as exc:
        expand_paths([files / "*.xml", files / "nope-*.xml"])
    assert str(exc.value) == (
        f"[search.paths] pattern '{files}/nope-*.xml' matches no file. "
        "Check the pattern; paths are relative to the config file's folder."
    )


def test_a_missing_file_and_an_empty_folder(files):
    with pytest.raises(
        ConfigError,
        match=r"^\[search.paths\] file '.*/missing.xml' does not exist\. "
        r"Paths are relative to the config file's folder\.$",
    ):
        expand_paths([files / "missing.xml"])
    (files / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"^\[search.paths\] folder '.*/empty' holds no .xml or .xml.gz file\.$"):
        expand_paths([files / "empty"])


def test_iter_local_records_reads_plain_and_gzip_in_order_and_fails_before_reading(tmp_path):
    (tmp_path / "1.xml").write_bytes(document(article("11"), article("12")))
    (tmp_path / "2.xml.gz").write_bytes(gzip.compress(document(article("21"))))
    assert [i.pmid for i in iter_local_records([tmp_path / "*.xml*"])] == ["11", "12", "21"]
    items = iter_local_records([tmp_path / "*.xml*", tmp_path / "none*"])
    with pytest.raises(ConfigError):
        next(items)


# -- applying files ---------------------------------------------------------------------------
def test_updates_replace_earlier_versions_and_deletions_remove_them():
    s = search(["ketamine"])
    items = [
        rec("Ketamine A", pmid="1"),
        rec("Ketamine B", pmid="2"),
        rec("Other", pmid="3"),
        rec("Ketamine B, revised", pmid="2"),  # update: new version
        rec("No longer about it", pmid="1"),  # update: no longer matches
        DeletedCitation("4"),
        rec("Ketamine D", pmid="4"),
        rec("Ketamine E", pmid="5"),
        DeletedCitation("5"),
        Quarantined("6", "bad", "f.xml"),
    ]
    sel = select_local(items, s)
    assert {p: r.title for p, r in sel.records.items()} == {"2": "Ketamine B, revised", "4": "Ketamine D"}
    assert sel.deleted == {"5"} and sel.read == 7
    assert sel.quarantined == [Quarantined("6", "bad", "f.xml")]


# -- query_matches ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "record, groups, field, expected",
    [
        (rec("Ketamine for depression"), [["ketamine"], ["depression"]], "", True),
        (rec("Ketamine for anxiety"), [["ketamine"], ["depression"]], "", False),
        (rec("KETAMINE-induced changes"), [["ketamine"]], "", True),
        (rec("Esketamine nasal spray"), [["ketamine"]], "", False),
        (rec("Esketamine nasal spray"), [["ketamine", "esketamine"]], "", True),
        (rec("its mechanism  of\naction"), [["mechanism of action"]], "", True),
        (rec("mechanism-of-action studies"), [["mechanism of action"]], "", True),
        (rec("mechanism of actions"), [["mechanism of action"]], "", False),
        (rec("depressive symptoms"), [["depress*"]], "", True),
        (rec("", abstract="Rapid antidepressant effects"), [["antidepressant"]], "", True),
        (rec("x", keywords=["treatment-resistant depression"]), [["depression"]], "", True),
        (rec("x", keywords=["treatment-resistant depression"]), [["depression"]], "tiab", False),
        (rec("x", mesh=["Depressive Disorder, Major"]), [["major"]], "", True),
        (rec("x", mesh=["Depressive Disorder, Major"]), [["major"]], "TIAB", False),
        (rec("IL-6 and 5-HT levels"), [["il-6"], ["5-ht"]], "", True),
        (rec("C++ code (v2.0)"), [["c++"], ["(v2.0)"]], "", True),
    ],
)
def test_query_matches_examples(record, groups, field, expected):
    assert query_matches(record, search(*groups, field=field)) is expected


words = st.text(alphabet=string.ascii_letters, min_size=1, max_size=8)
terms = st.lists(words, min_size=1, max_size=3).map(" ".join)
groups = st.lists(terms, min_size=1, max_size=3)
texts = st.lists(st.one_of(words, st.sampled_from([" ", ", ", ". ", "-", "\n"])), max_size=20).map("".join)


@settings(max_examples=100, deadline=None)
@given(before=texts, term=terms, after=texts, data=st.data())
def test_a_term_present_on_word_boundaries_matches_in_any_case(before, term, after, data):
    cased = "".join(c.upper() if data.draw(st.booleans()) else c.lower() for c in term)
    title = f"{before} {cased} {after}"
    assert query_matches(rec(title), search([term]))
    assert query_matches(rec(title), search([term], field="tiab"))


@settings(max_examples=100, deadline=None)
@given(prefix=words, term=words)
def test_a_term_inside_a_longer_word_does_not_match(prefix, term):
    assume(term.lower() not in prefix.lower() and term.lower() not in (prefix + term).lower()[: -len(term)])
    assert not query_matches(rec(f"{prefix}{term}"), search([term]))


@settings(max_examples=100, deadline=None)
@given(title=texts, keywords=st.lists(texts, max_size=3), g1=groups, g2=groups)
def test_groups_are_anded_and_terms_ored(title, keywords, g1, g2):
    r = rec(title, keywords=keywords)
    one, two = query_matches(r, search(g1)), query_matches(r, search(g2))
    assert query_matches(r, search(g1, g2)) == (one and two)
    assert query_matches(r, search(g1 + g2)) == (one or two)


FIELDS = ("title", "abstract", "keywords", "mesh")


@settings(max_examples=100, deadline=None)
@given(
    title=texts,
    abstract=texts,
    keywords=st.lists(texts, max_size=3),
    mesh=st.lists(texts, max_size=3),
    query=st.lists(groups, min_size=1, max_size=3),
    data=st.data(),
)
def test_tiab_searches_a_subset_of_all_fields(title, abstract, keywords, mesh, query, data):
    """One term of every group is planted in a field chosen at random, so both outcomes of the
    tiab search occur (not only the random texts' rare matches)."""
    text = {"title": [title], "abstract": [abstract], "keywords": list(keywords), "mesh": [m for m in mesh if m]}
    planted = []
    for group in query:
        where = data.draw(st.sampled_from(FIELDS))
        text[where].append(data.draw(st.sampled_from(group)))
        planted.append(where)
    r = rec(" ".join(text["title"]), " ".join(text["abstract"]), text["keywords"], text["mesh"])
    in_tiab = query_matches(r, search(*query, field="tiab"))
    assert query_matches(r, search(*query))  # every group is somewhere
    if all(where in ("title", "abstract") for where in planted):
        assert in_tiab  # every group is in title/abstract
    event(f"tiab {'matches' if in_tiab else 'does not match'}")
