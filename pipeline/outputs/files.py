"""Writing outputs safely: atomic file replacement, tables as CSV + Parquet.

Every file goes to a temporary name in the same folder first and is renamed into place once
complete, so a reader (or a crash) never sees half a file.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.errors import DiskFull, OutputFolderError


def atomic_write(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Write `data` (bytes, or chunks of bytes written as they come, so a large file is never
    whole in memory) to `path` so that `path` holds either the old or the new content, never a mix.

    The file gets the permissions the user's umask gives new files (mkstemp alone makes them 0600).
    A full disk raises DiskFull, a folder that cannot be written OutputFolderError, each naming it.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise output_error(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(data, bytes):
                handle.write(data)
            else:
                handle.writelines(data)
            handle.flush()
            os.fchmod(handle.fileno(), 0o666 & ~_umask())
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in _FOLDER_ERRORS:
            raise output_error(path, exc) from None
        raise


_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
_FOLDER_ERRORS = _DISK_FULL + (errno.EACCES, errno.EPERM, errno.EROFS)


def output_error(path: Path, exc: OSError) -> Exception:
    """The PipelineError for an OSError met writing `path` (the OSError itself when it is neither)."""
    folder = path.parent
    if exc.errno in _DISK_FULL:
        return DiskFull(
            f"{folder}: the disk is full (writing {path.name}). Free some space and run again; "
            "the previous outputs were left as they were."
        )
    if exc.errno in _FOLDER_ERRORS:
        why = "read-only file system" if exc.errno == errno.EROFS else "permission denied"
        return OutputFolderError(
            f"{folder}: the output folder cannot be written ({why}). Choose another "
            "folder with [output] dir or --out, or make this one writable."
        )
    return exc


def _umask() -> int:
    # os.umask can only be read by setting it; set it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, (json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8"))


# Excel reads a CSV as the system code page (cp1252 on most Windows machines) unless the file starts
# with a UTF-8 byte order mark; with it, "Søren" and "α-amino" open correctly. pandas
# (`pd.read_csv`) skips the mark by itself; Python's csv module wants `encoding="utf-8-sig"`.
CSV_BOM = "\ufeff"
# A cell starting with one of these is read as a formula by Excel, LibreOffice and Google Sheets
# (OWASP "CSV injection"); tab and carriage return are on the list because spreadsheets strip them
# and then read the character that follows.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(text: str) -> str:
    """`text` made inert for spreadsheets: a leading = + - @ tab or CR gets a ' in front, which
    spreadsheets show as text and hide. Anything else is returned unchanged."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV of a table for Excel, LibreOffice and pandas alike.

    UTF-8 with a byte order mark (see CSV_BOM), LF line ends, comma separated; every text cell is
    quoted (so newlines, commas and the "; " inside list cells stay in one cell whatever the
    spreadsheet's locale), numbers and booleans are not; missing values are empty. List cells are
    joined with "; ". Text cells that a spreadsheet would run as a formula are neutralised
    (neutralise_formula); the Parquet twin keeps the original values.
    """
    return b"".join(csv_chunks(frame))


CSV_CHUNK_ROWS = 20_000


def csv_chunks(frame: pd.DataFrame, rows: int = CSV_CHUNK_ROWS) -> Iterator[bytes]:
    """csv_bytes(frame) in pieces of `rows` rows: the same bytes, never the whole text at once (a
    review's mentions table is hundreds of MB of text at scale, held three times over when whole)."""
    yield CSV_BOM.encode("utf-8")
    for start in range(0, max(len(frame), 1), rows):
        flat = frame.iloc[start : start + rows].copy()
        for column in flat.columns:
            if flat[column].dtype == object or pd.api.types.is_string_dtype(flat[column].dtype):
                flat[column] = _csv_cells(flat[column])
        text = flat.to_csv(index=False, header=start == 0, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
        yield text.encode("utf-8")


def _csv_cells(column: pd.Series) -> np.ndarray:
    """_csv_text of every present cell, as objects: no type is inferred from the values (pandas'
    map would write a column holding only missing values and 0 as 0.0), so a piece of a column is
    written as the whole column is."""
    cells = column.to_numpy(dtype=object, copy=True)
    present = ~column.isna().to_numpy()
    if present.any():
        cells[present] = _csv_texts(cells[present])
    return cells


def _csv_text(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        value = "; ".join(map(str, value))
    return neutralise_formula(value) if isinstance(value, str) else value


_csv_texts = np.frompyfunc(_csv_text, 1, 1)  # over an object array, giving one: no inference


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """Parquet of a table with explicit types: years and counts as int64 (nullable), flags as bool,
    list cells as list<string>, text as string, even when a column is empty or all missing."""
    table = pa.Table.from_pandas(frame, schema=arrow_schema(frame), preserve_index=False)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def arrow_schema(frame: pd.DataFrame) -> pa.Schema:
    """The Arrow type of each column, decided from the pandas dtype and, for object columns, the
    values (any list makes it list<string>). Builders name their list columns in
    frame.attrs["list_columns"], so a table with no rows keeps the types of a full one."""
    list_columns = set(frame.attrs.get("list_columns", ()))
    fields = []
    for name, dtype in frame.dtypes.items():
        if pd.api.types.is_bool_dtype(dtype):
            kind = pa.bool_()
        elif pd.api.types.is_integer_dtype(dtype):
            kind = pa.int64()
        elif pd.api.types.is_float_dtype(dtype):
            kind = pa.float64()
        elif frame[name].map(lambda v: isinstance(v, (list, tuple))).any() or name in list_columns:
            kind = pa.list_(pa.string())
        else:
            kind = pa.string()
        fields.append(pa.field(str(name), kind))
    return pa.schema(fields)


# Columns that name records by PMID. pandas reads the CSV's all-digit cells as numbers whatever the
# quoting, so the Parquet twin stores them as nullable integers too ("Int64": a record without a PMID
# is <NA>, where the CSV cell is empty), and both files give the same types in pandas.
# (`duplicate_of` holds record_ids such as "pmid:123", text in both files.)
IDENTIFIER_COLUMNS = ("pmid",)


def typed_identifiers(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its IDENTIFIER_COLUMNS as nullable integers ("Int64", empty -> <NA>) when every
    cell is digits or empty, as pandas reads them from the CSV; other columns unchanged."""
    typed = frame.copy()
    for column in IDENTIFIER_COLUMNS:
        if column not in typed.columns or pd.api.types.is_integer_dtype(typed[column].dtype):
            continue
        values = typed[column].tolist()
        if all(v is None or v == "" or (isinstance(v, str) and v.isascii() and v.isdigit()) for v in values):
            typed[column] = pd.array([int(v) if v else None for v in values], dtype="Int64")
    typed.attrs = dict(frame.attrs)
    return typed


def write_table(out_dir: Path, name: str, frame: pd.DataFrame) -> None:
    """`name`.csv and its Parquet twin `name`.parquet; identifiers as typed_identifiers gives them
    in the Parquet file (the CSV's bytes do not depend on it)."""
    atomic_write(out_dir / f"{name}.csv", csv_chunks(frame))
    atomic_write(out_dir / f"{name}.parquet", parquet_bytes(typed_identifiers(frame)))
