"""Tables past [output] dataset_rows: Parquet datasets in parts, and a CSV that says it is cut short."""

from __future__ import annotations

import pandas as pd
import pyarrow.dataset as ds
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.outputs.datasets import (
    FileParts,
    dataset_parts,
    part_bounds,
    part_name,
    read_table,
    truncation_note,
    write_sized_table,
)
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


FILES = ["/data/pubmed26n0001.xml.gz", "/data/pubmed26n0002.xml", "/data/updates/pubmed26n1400.xml.gz"]


@given(
    st.lists(st.tuples(st.integers(min_value=1, max_value=5), st.sampled_from([*FILES, "", "/gone.xml"])), max_size=30),
    st.integers(min_value=1, max_value=8),
)
def test_file_parts_hold_each_files_records_in_the_files_order_and_the_rest_after(records, limit):
    frame = mentions_frame([n for n, _ in records])
    file_of = {f"pmid:{100 + i}": file for i, (_, file) in enumerate(records)}
    parts = dataset_parts(frame, limit, FileParts(FILES, file_of))
    # Every row in exactly one part, each part's rows in the table's order.
    assert sorted(row for _, rows in parts for row in rows) == list(range(len(frame)))
    assert all(rows == sorted(rows) and rows for _, rows in parts)
    ids = frame["record_id"].tolist()
    in_files = [(name, rows) for name, rows in parts if name != f"part-{int(name[5:10]):05d}.parquet"]
    # One part per file that has rows, in the files' order, holding exactly that file's records.
    used = [i for i, file in enumerate(FILES) if file in file_of.values()]
    assert [name for name, _ in in_files] == [part_name(i, FILES[i]) for i in used]
    for (_, rows), i in zip(in_files, used):
        assert {file_of[ids[r]] for r in rows} == {FILES[i]}
        assert len(rows) == sum(file_of[x] == FILES[i] for x in ids)
    # Then the records of no known file, cut by rows as without files, numbered on from the files.
    rest = parts[len(in_files) :]
    assert [name for name, _ in rest] == [f"part-{len(FILES) + k:05d}.parquet" for k in range(len(rest))]
    rest_rows = [r for _, rows in rest for r in rows]
    assert {file_of[ids[r]] for r in rest_rows} <= {"", "/gone.xml"}
    for _, rows in rest:  # never a record split, at most `limit` rows unless one record's alone
        assert len(rows) <= limit or len({ids[r] for r in rows}) == 1
    for (_, a), (_, b) in zip(parts, parts[1:]):
        assert ids[a[-1]] not in {ids[r] for r in b}


def test_a_parts_name_is_the_files_place_and_its_name_without_suffixes():
    assert part_name(3, "/work/shared/pubmed26n0001.xml.gz") == "part-00003-pubmed26n0001.parquet"
    assert part_name(0, "updates/pubmed26n1400.xml") == "part-00000-pubmed26n1400.parquet"
    assert part_name(12, "C:/exports/Scopus export (2).ris") == "part-00012-Scopus_export_2_.parquet"
    assert part_name(1, "notes") == "part-00001-notes.parquet"


def test_past_the_limit_the_parts_follow_the_input_files(tmp_path):
    frame = mentions_frame([3, 1, 4, 1, 5, 2])  # 16 rows, records pmid:100 ... pmid:105
    files = FileParts(
        ["in/base.xml.gz", "in/empty.xml", "in/update.xml"],
        {"pmid:100": "in/update.xml", "pmid:101": "in/base.xml.gz", "pmid:102": "in/update.xml", "pmid:104": ""},
    )
    info = write_sized_table(tmp_path, "mentions", frame, 5, files)
    assert info == {"rows": 16, "csv_rows": 5, "parquet": "mentions/", "parts": 5}
    names = sorted(p.name for p in (tmp_path / "mentions").iterdir())
    # The file with no rows has no part; pmid:103-105 came from no file (104 from "", 103 and 105
    # unknown): cut by rows after the files, 1 | 5 (one record) | 2.
    assert names == [
        "part-00000-base.parquet",
        "part-00002-update.parquet",
        "part-00003.parquet",
        "part-00004.parquet",
        "part-00005.parquet",
    ]
    got = {name: pd.read_parquet(tmp_path / "mentions" / name)["record_id"].tolist() for name in names}
    assert got == {
        "part-00000-base.parquet": ["pmid:101"],
        "part-00002-update.parquet": ["pmid:100"] * 3 + ["pmid:102"] * 4,
        "part-00003.parquet": ["pmid:103"],
        "part-00004.parquet": ["pmid:104"] * 5,
        "part-00005.parquet": ["pmid:105"] * 2,
    }
    back = pd.read_parquet(tmp_path / "mentions")  # the whole table, in the parts' order
    assert back["record_id"].tolist() == [x for name in names for x in got[name]]
    assert [list(t) for t in back["tags"]] == [
        frame["tags"].iloc[i] for i in [3, 0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
    ]
    # The CSV keeps the table's order: the first 5 rows of the table, then the marker.
    csv = pd.read_csv(tmp_path / "mentions.csv", dtype=str, keep_default_na=False)
    assert csv["record_id"].tolist()[:5] == frame["record_id"].tolist()[:5]
    # read_table (show, the report) gives the rows back in the table's order.
    again = read_table(tmp_path, "mentions")
    pd.testing.assert_frame_equal(again.drop(columns="tags"), typed_identifiers(frame).drop(columns="tags"))
    # Without files (an API's records) the same table is cut by rows.
    write_sized_table(tmp_path, "mentions", frame, 5, FileParts([], {}))
    assert sorted(p.name for p in (tmp_path / "mentions").iterdir()) == [f"part-{i:05d}.parquet" for i in range(4)]


def test_an_evidence_dataset_by_files_reads_back_newest_first(tmp_path):
    from pipeline.outputs.tables import in_table_order

    frame = pd.DataFrame(
        {
            "pmid": ["9", "30", "4", "12", ""],
            "year": pd.array([2024, 2024, 2019, None, None], dtype="Int64"),
            "title": ["a", "b", "c", "d", "e"],
            "record_id": ["pmid:9", "pmid:30", "pmid:4", "pmid:12", "doi:10.1/z"],
        }
    )
    assert in_table_order("evidence", frame.iloc[::-1]).equals(frame)  # the builder's order, from any
    files = FileParts(["old.xml", "new.xml"], {"pmid:9": "new.xml", "pmid:4": "new.xml", "pmid:12": "old.xml"})
    write_sized_table(tmp_path, "evidence", frame, 2, files)
    names = sorted(p.name for p in (tmp_path / "evidence").iterdir())
    assert names == ["part-00000-old.parquet", "part-00001-new.parquet", "part-00002.parquet"]
    assert pd.read_parquet(tmp_path / "evidence")["title"].tolist() == ["d", "a", "c", "b", "e"]
    assert read_table(tmp_path, "evidence")["title"].tolist() == ["a", "b", "c", "d", "e"]


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
