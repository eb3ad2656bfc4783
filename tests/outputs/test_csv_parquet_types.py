"""CSV and Parquet give the same types in pandas (issue 13, item 9): `pmid` as nullable integers,
`duplicate_of` (record ids) as text, the same in both files, for runs with and without records lacking a PMID.

pandas reads the CSV's all-digit cells as numbers whatever their quoting, so the Parquet twin stores
PMIDs as nullable integers ("Int64"); with dtype_backend="numpy_nullable" both files then give the
same dtype and values in every column (tests/support/table_types.py says how values compare).
"""

from __future__ import annotations

import pandas as pd

from pipeline.models import Author, Decision, Mention, Record, ScreeningResult
from pipeline.outputs.files import write_table
from pipeline.outputs.tables import evidence_table, mentions_table, records_table

CLASSES = ("DRUG",)


def _tables(folder, records, results, mentions):
    write_table(folder, "records", records_table(records, results))
    write_table(folder, "evidence", evidence_table(records, results, mentions, CLASSES))
    write_table(folder, "mentions", mentions_table(mentions))


def _mixed_review():
    """PubMed records, a preprint and an imported record without PMIDs; one duplicate names a kept
    record by its PMID, the other by its record_id."""
    pubmed = Record(pmid="29768149", title="Ketamine in depression", pub_year=2019, doi="10.1/k")
    copy = Record(pmid="31000001", title="Ketamine in depression.", pub_year=2019, doi="10.1/K")
    preprint = Record(title="Esketamine, a preprint", pub_year=2024, ids={"europepmc": "PPR5"})
    imported = Record(title="An imported record", pub_year=2023, authors=(Author(last_name="Rivera"),))
    version = Record(title="Esketamine, a preprint", pub_year=2024, doi="10.1101/x")
    results = [
        ScreeningResult(pubmed.record_id, Decision.INCLUDE, "meets-criteria"),
        ScreeningResult(copy.record_id, Decision.DUPLICATE, "duplicate-doi", "doi", "10.1/K", pubmed.record_id),
        ScreeningResult(preprint.record_id, Decision.INCLUDE, "meets-criteria"),
        ScreeningResult(imported.record_id, Decision.EXCLUDE, "published-before-range", "pub_year", "2023"),
        ScreeningResult(
            version.record_id, Decision.DUPLICATE, "duplicate-title-year", "title+year", "x", "europepmc:PPR5"
        ),
    ]
    mentions = [
        Mention(pubmed.record_id, "title", 0, 0, 8, "Ketamine", "DRUG", "ketamine"),
        Mention("europepmc:PPR5", "title", 0, 0, 10, "Esketamine", "DRUG", "esketamine"),
    ]
    return [pubmed, copy, preprint, imported, version], results, mentions


def test_a_pubmed_run_reads_the_same_from_csv_and_parquet(ketamine_outputs, same_types_in_pandas):
    same_types_in_pandas(ketamine_outputs)
    records = pd.read_parquet(ketamine_outputs / "records.parquet")
    assert str(records.pmid.dtype) == "Int64" and pd.api.types.is_string_dtype(records.duplicate_of.dtype)
    assert [v for v in records.duplicate_of if v] == ["pmid:30000001"]
    assert pd.read_csv(ketamine_outputs / "records.csv").duplicate_of.dropna().tolist() == ["pmid:30000001"]


def test_records_without_a_pmid_read_the_same_from_csv_and_parquet(tmp_path, same_types_in_pandas):
    _tables(tmp_path, *_mixed_review())
    same_types_in_pandas(tmp_path)
    records = pd.read_parquet(tmp_path / "records.parquet")
    assert records.pmid.tolist()[:2] == [29768149, 31000001] and records.pmid.isna().sum() == 3
    # duplicate_of names the kept record by its record_id: text in both files.
    assert pd.api.types.is_string_dtype(records.duplicate_of.dtype)
    assert pd.read_csv(tmp_path / "records.csv").duplicate_of.dropna().tolist() == ["pmid:29768149", "europepmc:PPR5"]
    mentions = pd.read_parquet(tmp_path / "mentions.parquet")
    assert str(mentions.pmid.dtype) == "Int64" and mentions.pmid.isna().tolist() == [False, True]


def test_duplicate_of_is_text_even_when_every_kept_record_has_a_pmid(tmp_path, same_types_in_pandas):
    records, results, mentions = _mixed_review()
    _tables(tmp_path, records[:4], results[:4], mentions)
    same_types_in_pandas(tmp_path)
    assert [v for v in pd.read_parquet(tmp_path / "records.parquet").duplicate_of if v] == ["pmid:29768149"]


def test_csv_bytes_do_not_change(tmp_path):
    """The CSV keeps its quoted text cells: only the Parquet twin's types changed."""
    _tables(tmp_path, *_mixed_review())
    lines = (tmp_path / "records.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[1].startswith('"29768149","include"') and lines[2].split(",")[5] == '"pmid:29768149"'
    assert lines[3].startswith('"","duplicate","duplicate-title-year","title+year","x","europepmc:PPR5",False')


def test_show_and_report_read_pmids_back_as_text(tmp_path):
    from pipeline.outputs.folder import _identifiers

    _tables(tmp_path, *_mixed_review())
    records = _identifiers(pd.read_parquet(tmp_path / "records.parquet"))
    assert records.pmid.tolist() == ["29768149", "31000001", "", "", ""]
    assert records.duplicate_of.tolist() == ["", "pmid:29768149", "europepmc:PPR5", "", ""]
