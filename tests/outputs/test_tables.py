"""Evidence and records tables: shape, order, study design, golden files from the fixture corpus."""

from __future__ import annotations

import difflib

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.models import Author, Decision, Mention, Record, ScreeningResult
from tests.support.paths import TESTS
from pipeline.outputs.tables import (
    DESIGN_BY_PUBLICATION_TYPE,
    EVIDENCE_BASE_COLUMNS,
    evidence_table,
    mentions_table,
    records_table,
    study_design,
)

GOLDEN = TESTS / "golden"
CLASSES = ("DRUG", "STUDY_DESIGN")


def check_golden(name: str, actual: bytes, update: bool) -> None:
    """Compare `actual` with tests/golden/`name`; with --update-golden, rewrite the file instead."""
    path = GOLDEN / name
    if update:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(actual)
        return
    assert path.is_file(), f"{path} is missing: run `pytest --update-golden` to create it"
    expected = path.read_bytes()
    if actual != expected:
        diff = "\n".join(
            difflib.unified_diff(
                expected.decode("utf-8").splitlines(),
                actual.decode("utf-8").splitlines(),
                f"golden/{name}",
                "this run",
                lineterm="",
            )
        )
        pytest.fail(
            f"{name} differs from tests/golden/{name}; if the change is intended run "
            f"`pytest --update-golden` and commit the new file.\n{diff}"
        )


@pytest.mark.parametrize("name", ["records.csv", "evidence.csv"])
def test_tables_match_golden_files(ketamine_outputs, update_golden, name):
    check_golden(name, (ketamine_outputs / name).read_bytes(), update_golden)


def test_golden_comparison_reports_a_difference(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.GOLDEN", tmp_path)
    (tmp_path / "t.csv").write_bytes(b"a\n1\n")
    with pytest.raises(pytest.fail.Exception, match=r"(?s)t.csv differs from tests/golden/t.csv.*-1\n\+2"):
        check_golden("t.csv", b"a\n2\n", update=False)
    check_golden("t.csv", b"a\n2\n", update=True)
    assert (tmp_path / "t.csv").read_bytes() == b"a\n2\n"


def test_evidence_csv_has_the_reviewer_columns(ketamine_outputs):
    evidence = pd.read_csv(ketamine_outputs / "evidence.csv", dtype=str, keep_default_na=False)
    assert list(evidence.columns) == [
        "pmid",
        "doi",
        "pubmed_url",
        "first_author",
        "year",
        "journal",
        "title",
        "publication_types",
        "design",
        "languages",
        "drug",
        "disease",
        "gene",
        "treatment",
        "mechanism",
        "brain_region",
        "route",
        "adverse_effect",
        "outcome_scale",
        "study_design",
        "record_id",
    ]
    row = evidence.set_index("pmid").loc["30000010"]
    assert row.design == "meta-analysis"
    assert row.publication_types == "Meta-Analysis; Systematic Review"
    assert row.languages == "eng; spa"
    mentions = pd.read_parquet(ketamine_outputs / "mentions.parquet")
    found = mentions[(mentions.pmid == 30000010) & (mentions.label == "STUDY_DESIGN")].canonical.value_counts()
    ranked = sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))
    assert row.study_design == "; ".join(f"{name} ({n})" for name, n in ranked)
    assert "meta-analysis" in row.study_design


def test_mentions_carry_identifier_and_vocabulary(ketamine_outputs):
    mentions = pd.read_csv(ketamine_outputs / "mentions.csv", dtype=str, keep_default_na=False)
    assert list(mentions.columns)[-3:] == ["identifier", "vocabulary", "record_id"]
    ketamine = mentions[mentions.canonical == "ketamine"]
    assert set(ketamine.identifier) == {"MESH:D007649"} and set(ketamine.vocabulary) == {"MeSH"}
    genes = mentions[mentions.label == "GENE"]
    assert set(genes.vocabulary) == {"NCBI Gene"}
    assert set(mentions[mentions.label == "STUDY_DESIGN"].identifier) == {""}


def test_evidence_groups_by_identifier_under_the_concept_name(ketamine_outputs):
    evidence = pd.read_csv(ketamine_outputs / "evidence.csv", dtype=str, keep_default_na=False).set_index("pmid")
    mentions = pd.read_csv(ketamine_outputs / "mentions.csv", dtype=str, keep_default_na=False)
    drugs = mentions[(mentions.pmid == "30000001") & (mentions.label == "DRUG")]
    assert (drugs.identifier == "MESH:D007649").sum() == 5
    assert evidence.loc["30000001"].drug.startswith("ketamine [MESH:D007649] (5); midazolam [MESH:D008874] (2)")
    assert evidence.loc["30000010"].treatment == "electroconvulsive therapy (3)"


def test_evidence_parquet_keeps_types(ketamine_outputs):
    schema = pq.read_schema(ketamine_outputs / "evidence.parquet")
    assert str(schema.field("year").type) == "int64"
    for column in ("publication_types", "languages", "drug", "study_design"):
        assert str(schema.field(column).type) == "list<element: string>", column
    frame = pd.read_parquet(ketamine_outputs / "evidence.parquet")
    assert str(frame.year.dtype) == "Int64"
    assert list(frame.set_index("pmid").loc[30000010].languages) == ["eng", "spa"]
    records = pq.read_schema(ketamine_outputs / "records.parquet")
    assert str(records.field("pub_year").type) == "int64"
    assert str(records.field("retracted").type) == "bool"
    assert str(records.field("pmid").type) == "int64" and str(records.field("duplicate_of").type) == "string"


# --- study design from publication types ------------------------------------------------------


@pytest.mark.parametrize(
    "types, design",
    [
        (["Randomized Controlled Trial", "Journal Article"], "randomized controlled trial"),
        (["Journal Article", "Meta-Analysis", "Systematic Review"], "meta-analysis"),
        (["Systematic Review", "Review"], "systematic review"),
        (["Clinical Trial, Phase II", "Randomized Controlled Trial"], "randomized controlled trial"),
        (["Clinical Trial, Phase II"], "clinical trial, phase II"),
        (["Clinical Trial, Phase III", "Multicenter Study"], "clinical trial, phase III"),
        (["Controlled Clinical Trial"], "clinical trial"),
        (["Observational Study", "Comparative Study"], "observational study"),
        (["Case Reports", "Journal Article"], "case report"),
        (["Review"], "review"),
        (["Letter", "Comment"], "letter"),
        (["  randomized controlled TRIAL "], "randomized controlled trial"),
        (["Journal Article", "Research Support, N.I.H., Extramural"], ""),
        ([], ""),
    ],
)
def test_study_design(types, design):
    assert study_design(types) == design


KNOWN_TYPES = [ptype for ptype, _ in DESIGN_BY_PUBLICATION_TYPE] + ["Journal Article", "English Abstract"]


@given(st.lists(st.sampled_from(KNOWN_TYPES), max_size=6), st.randoms())
def test_study_design_ignores_the_order_of_types(types, rnd):
    shuffled = list(types)
    rnd.shuffle(shuffled)
    assert study_design(types) == study_design(shuffled)


@given(st.lists(st.sampled_from(KNOWN_TYPES), max_size=6))
def test_study_design_is_the_strongest_declared(types):
    designs = [design for ptype, design in DESIGN_BY_PUBLICATION_TYPE if ptype in types]
    assert study_design(types) == (designs[0] if designs else "")


# --- evidence_table on hand-made records ------------------------------------------------------


def _record(pmid: str, year: int | None, **kw) -> Record:
    return Record(pmid=pmid, title=f"Title {pmid}", pub_year=year, **kw)


def _include(*pmids: str) -> list[ScreeningResult]:
    return [ScreeningResult(record_id=f"pmid:{p}", decision=Decision.INCLUDE, reason="meets-criteria") for p in pmids]


def _mention(pmid: str, label: str, canonical: str) -> Mention:
    return Mention(
        record_id=f"pmid:{pmid}",
        section="title",
        sentence=0,
        start=0,
        end=1,
        text=canonical,
        label=label,
        canonical=canonical,
    )


def test_evidence_rows_newest_first_then_pmid_undated_last():
    records = [
        _record("9", 2019),
        _record("10", 2021),
        _record("2", 2021),
        _record("5", None),
        _record("7", None, article_date="2020-03-01"),
        _record("11", 2018),
    ]
    results = _include("9", "10", "2", "5", "7") + [
        ScreeningResult(record_id="pmid:11", decision=Decision.EXCLUDE, reason="published-before-range")
    ]
    frame = evidence_table(records, results, [], CLASSES)
    assert list(frame.pmid) == ["2", "10", "7", "9", "5"]
    assert frame.year.tolist()[:4] == [2021, 2021, 2020, 2019]
    assert frame.year.isna().tolist() == [False, False, False, False, True]


def test_evidence_mentions_most_frequent_first_ties_by_name_included_only():
    mentions = [
        _mention("1", "DRUG", "midazolam"),
        _mention("1", "DRUG", "ketamine"),
        _mention("1", "DRUG", "ketamine"),
        _mention("1", "DRUG", "esketamine"),
        _mention("1", "STUDY_DESIGN", "randomized controlled trial"),
        _mention("2", "DRUG", "ketamine"),
    ]
    results = _include("1") + [ScreeningResult(record_id="pmid:2", decision=Decision.EXCLUDE, reason="date-missing")]
    frame = evidence_table([_record("1", 2020), _record("2", 2020)], results, mentions, CLASSES)
    assert frame.pmid.tolist() == ["1"]
    row = frame.iloc[0]
    assert row.drug == ["ketamine (2)", "esketamine (1)", "midazolam (1)"]
    assert row.study_design == ["randomized controlled trial (1)"]


def test_evidence_design_first_author_and_link():
    record = _record(
        "1",
        2020,
        publication_types=("Journal Article", "Randomized Controlled Trial"),
        authors=(Author(last_name="Rivera", initials="AM"), Author(last_name="Okafor")),
        doi="10.1/x",
        journal="J",
        languages=("eng",),
    )
    row = evidence_table([record], _include("1"), [], CLASSES).iloc[0]
    assert row.first_author == "Rivera AM"
    assert row.design == "randomized controlled trial"
    assert row.pubmed_url == "https://pubmed.ncbi.nlm.nih.gov/1/"
    assert list(row.index) == EVIDENCE_BASE_COLUMNS + ["drug", "study_design", "record_id"]
    assert row.record_id == "pmid:1"


def test_evidence_has_one_row_per_pmid():
    frame = evidence_table([_record("1", 2020), _record("1", 2020)], _include("1"), [], CLASSES)
    assert frame.pmid.tolist() == ["1"]


def test_empty_tables_keep_their_columns_and_types(tmp_path):
    from pipeline.outputs.files import write_table

    write_table(tmp_path, "evidence", evidence_table([], [], [], CLASSES))
    write_table(tmp_path, "records", records_table([], []))
    schema = pq.read_schema(tmp_path / "evidence.parquet")
    assert schema.names == EVIDENCE_BASE_COLUMNS + ["drug", "study_design", "record_id"]
    assert str(schema.field("year").type) == "int64"
    assert str(schema.field("drug").type) == "list<element: string>"
    assert str(schema.field("title").type) == "string"
    assert str(pq.read_schema(tmp_path / "records.parquet").field("languages").type) == "list<element: string>"
    assert (tmp_path / "evidence.csv").read_bytes() == (
        '\ufeff"pmid","doi","pubmed_url","first_author","year","journal","title","publication_types",'
        '"design","languages","drug","study_design","record_id"\n'
    ).encode("utf-8")


def test_records_without_a_pmid_key_on_their_record_id_in_every_table():
    preprint = Record(title="A preprint on ketamine", pub_year=2024, ids={"europepmc": "PPR5"})
    imported = Record(title="An imported record", pub_year=2024, authors=(Author(last_name="Rivera"),))
    pubmed = _record("3", 2024)
    kept = [ScreeningResult(r.record_id, Decision.INCLUDE, "meets-criteria") for r in (preprint, imported, pubmed)]
    duplicate = Record(title="A preprint on ketamine", pub_year=2024, doi="10.1/d")
    results = kept + [
        ScreeningResult("doi:10.1/d", Decision.DUPLICATE, "duplicate-title-year", duplicate_of="europepmc:PPR5")
    ]
    mentions = [Mention("europepmc:PPR5", "title", 0, 16, 24, "ketamine", "DRUG", "ketamine")]
    records = records_table([imported, duplicate, pubmed, preprint], results)
    assert records[["pmid", "record_id", "duplicate_of"]].values.tolist() == [
        ["3", "pmid:3", ""],
        ["", "doi:10.1/d", "europepmc:PPR5"],
        ["", "europepmc:PPR5", ""],
        ["", imported.record_id, ""],
    ]
    evidence = evidence_table([imported, pubmed, preprint], results, mentions, CLASSES)
    assert evidence[["pmid", "record_id", "pubmed_url"]].values.tolist() == [
        ["3", "pmid:3", "https://pubmed.ncbi.nlm.nih.gov/3/"],
        ["", "europepmc:PPR5", ""],
        ["", imported.record_id, ""],
    ]
    assert evidence.drug.tolist() == [[], ["ketamine (1)"], []]
    assert mentions_table(mentions)[["pmid", "record_id", "text"]].values.tolist() == [
        ["", "europepmc:PPR5", "ketamine"]
    ]


def test_evidence_merges_spellings_of_one_identifier_and_names_the_group():
    from pipeline.models import Decision, Mention, Record, ScreeningResult
    from pipeline.outputs.tables import evidence_table

    record = Record(pmid="5", title="t", pub_year=2020)

    def mention(text, canonical, identifier=""):
        return Mention(
            "pmid:5",
            "title",
            0,
            0,
            len(text),
            text,
            "DRUG",
            canonical,
            "model",
            identifier,
            "MeSH" if identifier else "",
        )

    mentions = [
        mention("Ketalar", "ketamine", "MESH:D007649"),
        mention("ketamine", "ketamine", "MESH:D007649"),
        mention("ketamine HCl", "ketamine hydrochloride", "MESH:D007649"),
        mention("saline", "saline"),
    ]
    frame = evidence_table(
        [record], [ScreeningResult("pmid:5", Decision.INCLUDE, "meets-criteria")], mentions, ["DRUG"]
    )
    assert frame.loc[0, "drug"] == ["ketamine [MESH:D007649] (3)", "saline (1)"]
