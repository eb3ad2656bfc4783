"""A check shared by the tests of every table a run writes: CSV and Parquet give the same types
and values in pandas (README, "Outputs"), table by table and column by column."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipeline.outputs.files import neutralise_formula

TABLES = ("records", "evidence", "mentions")
IDENTIFIERS = ("pmid",)


def differences(folder: Path, name: str) -> list[str]:
    """Every way `name`.csv and `name`.parquet in `folder` disagree in pandas (empty: none).

    With dtype_backend="numpy_nullable" every column must have the same dtype in both files and the
    same values: a missing CSV cell is an empty text or <NA> in Parquet, a list cell is its items
    joined with "; ". A text column with no value at all has no type to compare (pandas reads it
    from the CSV as Int64, all <NA>); the identifiers always have one. A plain read must agree on the identifier `pmid`: the
    same numbers (int64, or float64 when some cells are empty, against Int64) or the same text."""
    problems = []
    csv = pd.read_csv(folder / f"{name}.csv", dtype_backend="numpy_nullable")
    parquet = pd.read_parquet(folder / f"{name}.parquet", dtype_backend="numpy_nullable")
    if list(csv.columns) != list(parquet.columns):
        return [f"{name}: columns {list(csv.columns)} != {list(parquet.columns)}"]
    schema = pq.read_schema(folder / f"{name}.parquet")
    lists = [f.name for f in schema if str(f.type).startswith("list")]
    for column in csv.columns:
        if column in lists:
            joined = [neutralise_formula("; ".join(v)) or None for v in parquet[column]]
            if [str(v) if v is not None else None for v in _cells(csv[column])] != joined:
                problems.append(f"{name}.{column}: list values differ")
            continue
        if column not in IDENTIFIERS and csv[column].isna().all() and not any(_cells(parquet[column])):
            continue  # no cell to guess a type from: pandas reads an empty CSV column as Int64
        if str(csv[column].dtype) != str(parquet[column].dtype):
            problems.append(f"{name}.{column}: CSV {csv[column].dtype}, Parquet {parquet[column].dtype}")
            continue
        if _cells(csv[column]) != [neutralise_formula(v) if isinstance(v, str) else v for v in _cells(parquet[column])]:
            problems.append(f"{name}.{column}: values differ")
    plain_csv, plain_parquet = pd.read_csv(folder / f"{name}.csv"), pd.read_parquet(folder / f"{name}.parquet")
    for column in IDENTIFIERS:
        if column not in plain_csv.columns:
            continue
        numeric = [pd.api.types.is_numeric_dtype(f[column].dtype) for f in (plain_csv, plain_parquet)]
        if numeric[0] != numeric[1]:
            problems.append(
                f"{name}.{column}: plain read, CSV {plain_csv[column].dtype}, Parquet {plain_parquet[column].dtype}"
            )
        elif numeric[0] and not plain_csv[column].astype("Int64").equals(plain_parquet[column].astype("Int64")):
            problems.append(f"{name}.{column}: plain read, the numbers differ")
    return problems


def _cells(series: pd.Series) -> list:
    """Values with every kind of missing (NaN, <NA>, "") as None."""
    return [None if pd.isna(v) or v == "" else v for v in series.astype(object)]


@pytest.fixture
def same_types_in_pandas():
    """check(folder): fail naming every column where a table's CSV and Parquet disagree in pandas."""

    def check(folder: Path, tables=TABLES) -> None:
        problems = [p for name in tables for p in differences(Path(folder), name)]
        assert not problems, "CSV and Parquet disagree in pandas:\n" + "\n".join(problems)

    return check
