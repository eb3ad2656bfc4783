"""Tables too big for a spreadsheet: a partitioned Parquet dataset, and a CSV a person can open.

A table with more rows than `[output] dataset_rows` is written as a folder `<name>/` of Parquet
parts (`part-00000.parquet`, ...; the rows in the table's order, at most `dataset_rows` rows a
part, a record's mentions never split across two parts) instead of `<name>.parquet`, readable with
`pd.read_parquet("<name>")`, `pyarrow.dataset.dataset("<name>")` or DuckDB's
`read_parquet('<name>/*.parquet')`. Its CSV then holds the first `dataset_rows` rows followed by
one marker row saying so (see `truncation_note`), so the cut is visible where a person stops
reading. The same state gives the same parts, whatever engine ran (the tables are built from the
state store).

The dataset is written in a temporary folder and swapped into place: a reader sees the old
dataset or the new one, or (for the instant between two renames) none, never a mix of parts.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd

from pipeline.outputs.files import atomic_write, csv_bytes, parquet_bytes, typed_identifiers, write_table

PART_NAME = "part-{:05d}.parquet"


def write_sized_table(out_dir: Path, name: str, frame: pd.DataFrame, limit: int) -> dict:
    """`name`.csv and `name`.parquet, or past `limit` rows the dataset `name`/ and a limited CSV.

    Exactly one of `name`.parquet and `name`/ is left in `out_dir`. Returns what run.json
    "tables" says about the table: rows, rows in the CSV, where the Parquet rows are, parts."""
    rows = len(frame)
    if rows <= limit:
        write_table(out_dir, name, frame)
        _remove_dataset(out_dir / name)
        return {"rows": rows, "csv_rows": rows, "parquet": f"{name}.parquet", "parts": 1}
    bounds = part_bounds(frame, limit)
    _write_dataset(out_dir / name, frame, bounds)
    head = frame.iloc[:limit]
    head.attrs = dict(frame.attrs)
    data = csv_bytes(head) + _marker_row(truncation_note(name, limit, rows), len(frame.columns))
    atomic_write(out_dir / f"{name}.csv", data)
    (out_dir / f"{name}.parquet").unlink(missing_ok=True)
    return {"rows": rows, "csv_rows": limit, "parquet": f"{name}/", "parts": len(bounds)}


def truncation_note(name: str, shown: int, rows: int) -> str:
    """The CSV's last row when it holds only part of its table."""
    return (
        f"# TRUNCATED: this file holds the first {shown:,} of {rows:,} rows. Every row is in the "
        f"Parquet dataset {name}/ (pandas: pd.read_parquet('{name}'))"
    )


def part_bounds(frame: pd.DataFrame, limit: int) -> list[tuple[int, int]]:
    """(start, stop) row ranges of at most `limit` rows, each ending where a record's rows end
    (a frame with a record_id column), so one record's rows are never split across two parts
    (a single record with more than `limit` rows gets a part of its own, longer than `limit`)."""
    ids = frame["record_id"].tolist() if "record_id" in frame.columns else None
    bounds = []
    start, rows = 0, len(frame)
    while start < rows:
        stop = min(start + limit, rows)
        if ids is not None:
            # Back off to the first row of the record that the cut would split...
            while stop < rows and stop > start and ids[stop] == ids[stop - 1]:
                stop -= 1
            if stop == start:  # ...unless that record fills the whole part: then take all of it.
                stop = start + limit
                while stop < rows and ids[stop] == ids[stop - 1]:
                    stop += 1
        bounds.append((start, stop))
        start = stop
    return bounds


def _write_dataset(folder: Path, frame: pd.DataFrame, bounds: list[tuple[int, int]]) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    typed = typed_identifiers(frame)  # PMIDs as in a single Parquet file, the same type in every part
    try:
        for i, (start, stop) in enumerate(bounds):
            part = typed.iloc[start:stop]
            part.attrs = dict(frame.attrs)  # the list columns' types, even in a part where all are empty
            atomic_write(tmp / PART_NAME.format(i), parquet_bytes(part))
        old = None
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old-{tmp.name}")
            folder.rename(old)
        tmp.rename(folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _remove_dataset(folder: Path) -> None:
    """A dataset an earlier, bigger run left: the table now fits one file."""
    if folder.is_dir() and all(p.name.startswith("part-") or p.name.startswith(".") for p in folder.iterdir()):
        shutil.rmtree(folder)


def _marker_row(note: str, columns: int) -> bytes:
    """One CSV row: the note quoted in the first cell, the other cells empty."""
    return ('"' + note.replace('"', '""') + '"' + "," * (columns - 1) + "\n").encode("utf-8")


def read_table(folder: Path, name: str) -> pd.DataFrame:
    """The table `name` an output folder holds: `name`.parquet, or the dataset `name`/."""
    dataset = Path(folder) / name
    if dataset.is_dir():
        return pd.read_parquet(dataset)
    return pd.read_parquet(Path(folder) / f"{name}.parquet")
