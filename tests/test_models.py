"""Record identity: the ids map, record_id's rules, its order, and what PubMed parsing fills in."""

from __future__ import annotations

import dataclasses
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.models import (
    Author,
    Mention,
    Record,
    RecordIds,
    display_id,
    make_record_id,
    mentions_from_rows,
    pmid_of,
    record_order,
)
from pipeline.sources.pubmed_xml.parser import parse
from pipeline.store.codec import record_from_json, record_to_json
from tests.support.paths import FIXTURES


@pytest.mark.parametrize(
    "ids, expected",
    [
        ({"pmid": "123", "doi": "10.1/x", "pmcid": "PMC9", "openalex": "W1"}, "pmid:123"),
        ({"doi": "https://doi.org/10.1000/ABC.def", "pmcid": "PMC9"}, "doi:10.1000/abc.def"),
        ({"doi": "doi: 10.1/X"}, "doi:10.1/x"),
        ({"pmcid": "PMC9", "openalex": "W1", "europepmc": "PPR1"}, "pmcid:PMC9"),
        ({"openalex": "W27418", "europepmc": "PPR12345"}, "europepmc:PPR12345"),  # other schemes by name
        ({"openalex": "W27418"}, "openalex:W27418"),
    ],
)
def test_record_id_takes_the_first_identifier_by_the_documented_rules(ids, expected):
    assert make_record_id(ids) == expected
    assert Record(ids=ids).record_id == expected


def test_a_record_with_no_identifier_gets_an_import_id_from_title_year_and_first_author():
    one = Record(title="Ketamine: a Review.", pub_year=2020, authors=(Author(last_name="Rivera", initials="A"),))
    same = Record(title="KETAMINE - A REVIEW", pub_year=2020, authors=(Author(last_name="rivera"),))
    assert one.record_id == same.record_id == make_record_id({}, "ketamine a review", 2020, "Rivera")
    assert one.record_id.startswith("import:") and len(one.record_id) == len("import:") + 12
    assert int(one.record_id[7:], 16) >= 0
    assert Record(title="Ketamine: a Review.", pub_year=2021, authors=one.authors).record_id != one.record_id
    assert Record(title="Ketamine: a Review.", pub_year=2020).record_id != one.record_id
    # No print year: the electronic one.
    assert Record(title="T", article_date="2020-01-02").record_id == make_record_id({}, "T", 2020, "")


def test_fields_and_ids_mirror_each_other():
    record = Record(pmid="5", doi="10.1/x")
    assert record.ids == {"doi": "10.1/x", "pmid": "5"}
    from_ids = Record(ids={"doi": "10.1/y", "pmcid": "PMC3", "openalex": "W9"})
    assert (from_ids.pmid, from_ids.doi, from_ids.pmcid) == ("", "10.1/y", "PMC3")
    assert Record(pmid="5", ids={"pmid": "6"}).ids["pmid"] == "5"  # a field wins
    moved = dataclasses.replace(record, pmid="7")
    assert (moved.ids["pmid"], moved.record_id) == ("7", "pmid:7")
    assert Record(ids={"OpenAlex": " W1 ", "europepmc": ""}).ids == {"openalex": "W1"}


def test_record_ids_are_read_only_hashable_and_picklable():
    ids = RecordIds({"pmid": "1"})
    with pytest.raises(TypeError, match="RecordIds is read-only"):
        ids["doi"] = "10.1/x"
    with pytest.raises(TypeError):
        ids.update(doi="10.1/x")
    assert hash(ids) == hash(RecordIds([("pmid", "1")]))
    record = Record(pmid="1", ids={"openalex": "W1"})
    assert pickle.loads(pickle.dumps(record)) == record
    assert {record, Record(pmid="1", ids={"openalex": "W1"})} == {record}


def test_pmid_display_and_order_helpers():
    assert (pmid_of("pmid:123"), pmid_of("doi:10.1/x")) == ("123", "")
    assert (display_id("pmid:123"), display_id("doi:10.1/x")) == ("123", "doi:10.1/x")
    ids = ["openalex:W1", "pmid:100", "doi:10.1/x", "pmid:9", "import:abc"]
    assert sorted(ids, key=record_order) == ["pmid:9", "pmid:100", "doi:10.1/x", "import:abc", "openalex:W1"]


schemes = st.sampled_from(["pmid", "doi", "pmcid", "openalex", "europepmc"])
values = st.from_regex(r"[A-Za-z0-9./]{1,12}", fullmatch=True)
records = st.builds(
    Record,
    ids=st.dictionaries(schemes, values, max_size=4),
    title=st.text(max_size=20),
    pub_year=st.none() | st.integers(1900, 2100),
)


@given(records)
def test_record_id_survives_storage_and_tells_the_pmid(record):
    assert record_from_json(record_to_json(record)).record_id == record.record_id
    assert pmid_of(record.record_id) == record.pmid  # tables derive the pmid column from it
    assert record_order(record.record_id)[0] == (0 if record.pmid.isdigit() else 1)


def test_pubmed_parsing_fills_pmid_doi_and_pmcid():
    parsed = {r.pmid: r for r in parse(FIXTURES / "ketamine_corpus.xml") if isinstance(r, Record)}
    assert parsed["30000009"].ids == {"doi": "10.4088/JCP.19m12891", "pmcid": "PMC7000009", "pmid": "30000009"}
    assert parsed["30000002"].ids == {"pmid": "30000002"}
    assert all(r.record_id == f"pmid:{p}" for p, r in parsed.items())


def _fresh(value):
    """An equal value in a new object, as each row read from a database or Parquet file is."""
    return "".join(list(value)) if isinstance(value, str) else value


MENTION_ROWS = st.lists(
    st.tuples(
        st.sampled_from(["pmid:1", "pmid:22", "doi:10.1/x"]),
        st.sampled_from(["title", "abstract", "METHODS"]),
        st.integers(0, 3),
        st.integers(0, 10**6),
        st.integers(0, 10**6),
        st.text(min_size=2, max_size=12),
        st.sampled_from(["DRUG", "GENE", "DISEASE"]),
        st.sampled_from(["ketamine", "depression", "NMDA receptor"]),
        st.sampled_from(["model", "lexicon", "abbreviation"]),
        st.sampled_from(["", "MESH:D007649", "NCBIGene:2903"]),
        st.sampled_from(["", "MeSH", "NCBI Gene"]),
    ),
    max_size=40,
)


@given(MENTION_ROWS)
def test_mentions_from_rows_are_the_rows_mentions_with_each_distinct_value_held_once(rows):
    mentions = mentions_from_rows([tuple(_fresh(v) for v in row) for row in rows])
    assert mentions == [Mention(*row) for row in rows]
    held: dict = {}
    for mention in mentions:
        for field in dataclasses.fields(Mention):
            value = getattr(mention, field.name)
            assert held.setdefault(value, value) is value, field.name


def test_mentions_and_authors_hold_no_per_object_dict_and_pickle():
    mention = Mention("pmid:7", "title", 0, 0, 8, "Ketamine", "DRUG", "ketamine", "lexicon", "MESH:D007649", "MeSH")
    author = Author(last_name="Doe", initials="J", affiliations=("Oslo",))
    for value in (mention, author):
        assert not hasattr(value, "__dict__")  # slots: a review holds hundreds of thousands
        assert pickle.loads(pickle.dumps(value)) == value  # the local engine's processes return them so
