"""Writing outputs safely: atomic file replacement, tables as CSV + Parquet, the raw-response archive.

Every file goes to a temporary name in the same folder first and is renamed into place once
complete, so a reader (or a crash) never sees half a file.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that `path` holds either the old or the new content, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, (json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8"))


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV text of a table: list cells joined with "; ", missing values empty, UTF-8."""
    flat = frame.copy()
    for column in flat.columns:
        if flat[column].map(lambda v: isinstance(v, list)).any():
            flat[column] = flat[column].map(lambda v: "; ".join(map(str, v)) if isinstance(v, list) else v)
    return flat.to_csv(index=False, lineterminator="\n").encode("utf-8")


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def write_table(out_dir: Path, name: str, frame: pd.DataFrame) -> None:
    """`name`.csv and its Parquet twin `name`.parquet."""
    atomic_write(out_dir / f"{name}.csv", csv_bytes(frame))
    atomic_write(out_dir / f"{name}.parquet", parquet_bytes(frame))


class RawArchive:
    """Every raw E-utilities response of one run, gzip-compressed, so the run can be replayed."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.names: list[str] = []

    def __call__(self, name: str, body: bytes) -> None:
        # mtime=0: the same response archives to the same bytes.
        atomic_write(self.folder / f"{name}.xml.gz", gzip.compress(body, mtime=0))
        self.names.append(name)
