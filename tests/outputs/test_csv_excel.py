"""CSV for Excel and pandas: BOM, quoting, list cells, formula-injection neutralising."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.outputs.files import csv_bytes, csv_chunks, neutralise_formula, parquet_bytes


@pytest.mark.parametrize(
    "text, safe",
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("http://evil.example","click")', '\'=HYPERLINK("http://evil.example","click")'),
        ("+41 22 123", "'+41 22 123"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("ketamine", "ketamine"),
        ("a=b", "a=b"),
        (" =1", " =1"),
        ("", ""),
        ("'=already quoted", "'=already quoted"),
    ],
)
def test_neutralise_formula(text, safe):
    assert neutralise_formula(text) == safe


def test_csv_bytes_exact():
    frame = pd.DataFrame(
        {
            "pmid": ["1", "2"],
            "title": ['=cmd|" /C calc"!A0', "Line one\nline two, with comma; and semicolon"],
            "year": pd.array([2020, None], dtype="Int64"),
            "languages": [["eng", "spa"], []],
            "authors": [["@admin", "Rivera AM"], ["-x"]],
            "retracted": [True, False],
        }
    )
    assert csv_bytes(frame) == (
        '\ufeff"pmid","title","year","languages","authors","retracted"\n'
        '"1","\'=cmd|"" /C calc""!A0",2020,"eng; spa","\'@admin; Rivera AM",True\n'
        '"2","Line one\nline two, with comma; and semicolon","","","\'-x",False\n'
    ).encode("utf-8")


def test_csv_reads_back_in_pandas_and_the_csv_module():
    frame = pd.DataFrame(
        {
            "pmid": ["1"],
            "title": ['Søren\'s α-amino study; a "quoted" title\nsecond line'],
            "year": pd.array([2019], dtype="Int64"),
        }
    )
    data = csv_bytes(frame)
    assert data.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    assert list(back.columns) == ["pmid", "title", "year"]
    assert back.title[0] == frame.title[0]
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows == [["pmid", "title", "year"], ["1", frame.title[0], "2019"]]


def test_parquet_keeps_the_original_values():
    frame = pd.DataFrame({"title": ["=1+1"], "types": [["-x", "y"]]})
    back = pd.read_parquet(io.BytesIO(parquet_bytes(frame)))
    assert back.title[0] == "=1+1"
    assert list(back.types[0]) == ["-x", "y"]


@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30), min_size=1, max_size=5))
def test_no_csv_cell_can_start_a_formula(texts):
    frame = pd.DataFrame({"text": texts, "listed": [[t, t] for t in texts]})
    rows = list(csv.reader(io.StringIO(csv_bytes(frame).decode("utf-8-sig"), newline="")))
    assert len(rows) == len(texts) + 1
    for row, text in zip(rows[1:], texts):
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
        expected = "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text
        assert row[0] == expected


CELLS = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.none(),
    st.lists(st.text(max_size=5), max_size=3),
)


@given(st.lists(st.tuples(CELLS, st.text(max_size=8), st.integers(0, 9)), max_size=12), st.integers(1, 5))
def test_the_csv_written_in_pieces_is_the_csv_written_whole(rows, piece_rows):
    frame = pd.DataFrame(rows, columns=["mixed", "text", "number"])
    whole = csv_bytes(frame)  # one piece: CSV_CHUNK_ROWS is far above these tables
    assert b"".join(csv_chunks(frame, rows=piece_rows)) == whole
    assert whole.count(b"\n") >= len(rows) + 1  # the header once, every row
