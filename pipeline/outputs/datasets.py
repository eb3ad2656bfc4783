"""Tables too big for a spreadsheet: a partitioned Parquet dataset, and a CSV a person can open.

A table with more rows than `[output] dataset_rows` is written as a folder `<name>/` of Parquet
parts instead of `<name>.parquet`. For records read from local files (pubmed-xml, [[imports]]) the
parts follow the input files: one part per input file that gives the table a row, named after the
file and numbered by its place in the files' order (`part-00003-pubmed26n0001.parquet` is the
fourth file, pubmed26n0001.xml.gz), holding the rows of the records whose current version that
file gave (`FileParts`), in the table's order. Records from an API (no file) follow in parts of at
most `dataset_rows` rows, numbered on from the files (`part-00550.parquet`, ...). Either way a
record's rows are never split across two parts. The folder is readable with
`pd.read_parquet("<name>")`, `pyarrow.dataset.dataset("<name>")` or DuckDB's
`read_parquet('<name>/*.parquet')`. Its CSV then holds the first `dataset_rows` rows followed by
one marker row saying so (see `truncation_note`), so the cut is visible where a person stops
reading. The same state gives the same parts, whatever engine ran (the tables are built from the
state store, which keeps each record's source file).

The dataset is written in a temporary folder and swapped into place: a reader sees the old
dataset or the new one, or (for the instant between two renames) none, never a mix of parts.
"""

from __future__ import annotations

import shutil
import tempfile
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline.outputs.tables import in_table_order
from pipeline.outputs.files import atomic_write, csv_bytes, parquet_bytes, typed_identifiers, write_table

PART_NAME = "part-{:05d}.parquet"
FILE_PART_NAME = "part-{:05d}-{}.parquet"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class FileParts:
    """Where the records came from: the input files in the files' order, and record_id -> the file
    that gave its current version (records absent, or with "", came from no file)."""

    order: list[str] = field(default_factory=list)
    file_of: dict[str, str] = field(default_factory=dict)


def part_name(number: int, file: str) -> str:
    """The part of the file `number` (its place in the files' order, from 0) of the dataset:
    `part-00003-pubmed26n0001.parquet` for ".../pubmed26n0001.xml.gz" (the file's name without
    .gz and its last suffix; characters other than letters, digits, ".", "_" and "-" become "_")."""
    stem = Path(file).name.removesuffix(".gz")
    stem = Path(stem).stem if Path(stem).suffix else stem
    return FILE_PART_NAME.format(number, _UNSAFE.sub("_", stem) or "file")


def write_sized_table(
    out_dir: Path, name: str, frame: pd.DataFrame, limit: int, files: FileParts | None = None
) -> dict:
    """`name`.csv and `name`.parquet, or past `limit` rows the dataset `name`/ and a limited CSV.

    `files`: the records' input files, so the parts follow them (see the module docstring).
    Exactly one of `name`.parquet and `name`/ is left in `out_dir`. Returns what run.json
    "tables" says about the table: rows, rows in the CSV, where the Parquet rows are, parts."""
    rows = len(frame)
    if rows <= limit:
        write_table(out_dir, name, frame)
        _remove_dataset(out_dir / name)
        return {"rows": rows, "csv_rows": rows, "parquet": f"{name}.parquet", "parts": 1}
    bounds = dataset_parts(frame, limit, files)
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


def dataset_parts(frame: pd.DataFrame, limit: int, files: FileParts | None = None) -> list[tuple[str, list[int]]]:
    """(part file name, row positions) of each part, in the parts' order. With `files` (and a
    record_id column): one part per input file that has rows, in the files' order, then the rows
    of records from no file (or from a file not in `files.order`) in parts of at most `limit`
    rows, as part_bounds cuts them. Without: part_bounds's parts."""
    if files is None or not files.order or "record_id" not in frame.columns:
        return [(PART_NAME.format(i), list(range(a, b))) for i, (a, b) in enumerate(part_bounds(frame, limit))]
    place = {file: number for number, file in enumerate(files.order)}
    by_file: dict[int, list[int]] = {}
    rest: list[int] = []
    for row, record_id in enumerate(frame["record_id"].tolist()):
        number = place.get(files.file_of.get(record_id, ""))
        if number is None:
            rest.append(row)
        else:
            by_file.setdefault(number, []).append(row)
    parts = [(part_name(number, files.order[number]), by_file[number]) for number in sorted(by_file)]
    remainder = frame.iloc[rest]
    for i, (a, b) in enumerate(part_bounds(remainder, limit)):
        parts.append((PART_NAME.format(len(files.order) + i), rest[a:b]))
    return parts


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


def _write_dataset(folder: Path, frame: pd.DataFrame, parts: list[tuple[str, list[int]]]) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    typed = typed_identifiers(frame)  # PMIDs as in a single Parquet file, the same type in every part
    try:
        for file_name, rows in parts:
            part = typed.iloc[rows]
            part.attrs = dict(frame.attrs)  # the list columns' types, even in a part where all are empty
            atomic_write(tmp / file_name, parquet_bytes(part))
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
    """The table `name` an output folder holds: `name`.parquet, or the dataset `name`/ (its rows
    in the table's order, as in `name`.csv, whichever parts they are in)."""
    dataset = Path(folder) / name
    if dataset.is_dir():  # parts in the files' order: the rows back in the table's order
        return in_table_order(name, pd.read_parquet(dataset))
    return pd.read_parquet(Path(folder) / f"{name}.parquet")
