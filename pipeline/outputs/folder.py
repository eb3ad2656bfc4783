"""Reading an output folder back: run.json, prisma.json and the Parquet tables a run wrote.

`show` and `report` work from these files alone, never from the network, so a summary or a report
can be made again at any time from what a run left behind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.errors import OutputsNotFound
from pipeline.outputs.datasets import read_table
from pipeline.outputs.files import IDENTIFIER_COLUMNS

TABLES = ("records", "evidence", "mentions")


@dataclass(frozen=True)
class Outputs:
    """Everything a run wrote that the summary and the report read."""

    folder: Path
    run: dict  # run.json: the manifest of the latest run
    prisma: dict  # prisma.json: counts per PRISMA 2020 box
    records: pd.DataFrame
    evidence: pd.DataFrame
    mentions: pd.DataFrame

    @property
    def completed(self) -> bool:
        return self.run.get("status") == "completed"


def read_outputs(folder: Path) -> Outputs:
    """Load an output folder; raises OutputsNotFound naming the folder, the missing file and the fix."""
    folder = Path(folder)
    if not folder.is_dir():
        raise OutputsNotFound(
            f"{folder}: no such output folder. Run `python -m pipeline run --config FILE` "
            "first, or pass the folder a run wrote with --out DIR."
        )
    run = _json(folder, "run.json")
    # A table past [output] dataset_rows is the Parquet dataset <name>/ (outputs/datasets.py).
    missing = [
        f"{name}.parquet"
        for name in TABLES
        if not (folder / f"{name}.parquet").is_file() and not (folder / name).is_dir()
    ]
    if not (folder / "prisma.json").is_file():
        missing.append("prisma.json")
    if missing:
        why = f"the last run {run.get('status', 'did not finish')}"
        if run.get("error"):
            why += f" ({run['error']})"
        raise OutputsNotFound(
            f"{folder}: {', '.join(missing)} missing: {why} and no earlier run left "
            "tables here. Run `python -m pipeline run` again once the problem is fixed."
        )
    frames = {name: _identifiers(_lists(read_table(folder, name))) for name in TABLES}
    return Outputs(folder=folder, run=run, prisma=_json(folder, "prisma.json"), **frames)


def _json(folder: Path, name: str) -> dict:
    path = folder / name
    if not path.is_file():
        raise OutputsNotFound(
            f"{folder}: no {name} here, so no run has written to this folder. Run "
            "`python -m pipeline run --config FILE` first, or pass the folder a run "
            "wrote with --out DIR."
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OutputsNotFound(
            f"{path}: not a JSON file the pipeline wrote ({exc}). Run the review again to rewrite it."
        ) from None


def _identifiers(frame: pd.DataFrame) -> pd.DataFrame:
    """PMIDs stored as nullable integers (files.IDENTIFIER_COLUMNS) as the text the summary and the
    report show: "29768149", and "" for a record without one (folders of older releases hold text)."""
    for column in IDENTIFIER_COLUMNS:
        if column in frame.columns and pd.api.types.is_integer_dtype(frame[column].dtype):
            frame[column] = [str(v) if not pd.isna(v) else "" for v in frame[column]]
    return frame


def _lists(frame: pd.DataFrame) -> pd.DataFrame:
    """Parquet list cells come back as numpy arrays; make them plain lists again."""
    for column in frame.columns:
        if frame[column].dtype == object and frame[column].map(lambda v: hasattr(v, "tolist")).any():
            frame[column] = frame[column].map(lambda v: list(v) if v is not None else [])
    return frame
