"""Tables past [output] dataset_rows: Parquet datasets in parts, and a CSV that says it is cut short."""

from __future__ import annotations

import pandas as pd
import pyarrow.dataset as ds
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.outputs.datasets import part_bounds, read_table, truncation_note, write_sized_table
from pipeline.outputs.files import typed_identifiers


def mentions_frame(per_record: list[int]) -> pd.DataFrame:
    """A mentions-like table: per_record[i] rows for record i, in record order."""
    rows = [
        {
            "pmid": str(100 + i),
            "start": j,
            "text": f"term {j}",
            "tags": [f"t{j}"] * (j % 2),
            "record_id": f"pmid:{100 + i}",
        }
        for i, n in enumerate(per_record)
        for j in range(n)
    ]
    frame = pd.DataFrame(rows, columns=["pmid", "start", "text", "tags", "record_id"]).astype({"start": "int64"})
    frame.attrs["list_columns"] = ["tags"]
    return frame


@given(st.lists(st.integers(min_value=1, max_value=7), max_size=40), st.integers(min_value=1, max_value=12))
def test_parts_cover_every_row_in_order_and_never_split_a_record(per_record, limit):
    frame = mentions_frame(per_record)
    bounds = part_bounds(frame, limit)
    assert [b for _, b in bounds][-1:] == ([len(frame)] if len(frame) else [])
    assert all(a < b for a, b in bounds) and all(b == c for (_, b), (c, _) in zip(bounds, bounds[1:]))
    assert (bounds[0][0] if bounds else 0) == 0
    ids = frame["record_id"].tolist()
    for start, stop in bounds:
        assert stop == len(ids) or ids[stop] != ids[stop - 1]  # a record's rows stay in one part
        # Longer than the limit only when the part is one record's rows alone.
        assert stop - start <= limit or len(set(ids[start:stop])) == 1


def test_a_table_within_the_limit_is_one_parquet_file_and_a_full_csv(tmp_path):
    frame = mentions_frame([2, 3])
    info = write_sized_table(tmp_path, "mentions", frame, 5)
    assert info == {"rows": 5, "csv_rows": 5, "parquet": "mentions.parquet", "parts": 1}
    assert not (tmp_path / "mentions").exists()
    assert len(pd.read_csv(tmp_path / "mentions.csv")) == 5
    expected = typed_identifiers(frame).drop(columns="tags")  # PMIDs as nullable integers, as the CSV reads
    pd.testing.assert_frame_equal(read_table(tmp_path, "mentions").drop(columns="tags"), expected)


def test_past_the_limit_the_table_is_a_dataset_and_the_csv_says_where_the_rest_is(tmp_path):
    frame = mentions_frame([3, 1, 4, 1, 5, 2])  # 16 rows
    info = write_sized_table(tmp_path, "mentions", frame, 5)
    parts = sorted(p.name for p in (tmp_path / "mentions").iterdir())
    # Cuts between records: 3+1 | 4+1 | 5 | 2
    assert parts == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet", "part-00003.parquet"]
    assert info == {"rows": 16, "csv_rows": 5, "parquet": "mentions/", "parts": 4}
    assert not (tmp_path / "mentions.parquet").exists()
    back = pd.read_parquet(tmp_path / "mentions")
    # The parts type PMIDs as a single Parquet file does: nullable integers.
    pd.testing.assert_frame_equal(back.drop(columns="tags"), typed_identifiers(frame).drop(columns="tags"))
    assert [list(t) for t in back["tags"]] == frame["tags"].tolist()
    assert ds.dataset(tmp_path / "mentions").to_table().num_rows == 16
    assert [len(pd.read_parquet(tmp_path / "mentions" / p)) for p in parts] == [4, 5, 5, 2]

    lines = (tmp_path / "mentions.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 1 + 5 + 1
    assert lines[-1] == (
        '"# TRUNCATED: this file holds the first 5 of 16 rows. Every row is in the Parquet dataset '
        "mentions/ (pandas: pd.read_parquet('mentions'))\",,,,"
    )
    csv = pd.read_csv(tmp_path / "mentions.csv", dtype=str, keep_default_na=False)
    assert csv["pmid"].tolist()[:5] == frame["pmid"].tolist()[:5]
    assert csv["pmid"].iloc[-1] == truncation_note("mentions", 5, 16)


def test_the_dataset_is_replaced_whole_and_removed_when_the_table_fits_again(tmp_path):
    write_sized_table(tmp_path, "records", mentions_frame([1] * 9), 2)
    assert len(list((tmp_path / "records").iterdir())) == 5
    write_sized_table(tmp_path, "records", mentions_frame([1] * 5), 2)  # fewer parts: none left over
    assert sorted(p.name for p in (tmp_path / "records").iterdir()) == [
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    ]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    write_sized_table(tmp_path, "records", mentions_frame([1] * 2), 2)
    assert not (tmp_path / "records").exists() and (tmp_path / "records.parquet").is_file()
    assert len(read_table(tmp_path, "records")) == 2


def test_duckdb_reads_the_dataset(tmp_path):
    duckdb = pytest.importorskip("duckdb", reason="duckdb is a test dependency (pyproject [test])")
    frame = mentions_frame([3, 1, 4, 1, 5, 2])
    write_sized_table(tmp_path, "mentions", frame, 5)
    glob = str(tmp_path / "mentions" / "*.parquet")
    got = duckdb.sql(f"SELECT record_id, count(*) FROM read_parquet('{glob}') GROUP BY record_id ORDER BY 1").fetchall()
    assert got == sorted(frame.groupby("record_id").size().items())


def test_the_report_lists_at_most_max_rows_evidence_rows_and_says_how_many_it_left_out():
    from pipeline.outputs import report

    evidence = pd.DataFrame(
        {
            "pmid": [str(i) for i in range(1, 6)],
            "pubmed_url": "",
            "first_author": "Doe J",
            "year": pd.array([2020] * 5, dtype="Int64"),
            "journal": "J",
            "title": [f"Title {i}" for i in range(1, 6)],
            "doi": "",
            "design": "",
            "drug": [["ketamine (1)"]] * 5,
            "record_id": [f"pmid:{i}" for i in range(1, 6)],
        }
    )
    table = report.evidence_table(evidence, max_rows=3)
    assert (table.total, table.omitted, [row.pmid for row in table.rows]) == (3, 2, ["1", "2", "3"])
    html = report._template("evidence.html.j2").render(table=table)
    assert (
        '<p class="warning" id="truncated">This page lists the first 3 of 5 included records (newest first); '
        "every row is in the evidence table's Parquet files (evidence.parquet, or the folder evidence/ for a "
        "large review).</p>"
    ) in html
    assert 'id="truncated"' not in report._template("evidence.html.j2").render(table=report.evidence_table(evidence))
