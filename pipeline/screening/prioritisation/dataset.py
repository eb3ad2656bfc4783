"""Labelled screening datasets: a CSV (or RIS with labels) of records and the reviewers' decisions.

CSV: a header row with `title`, `abstract` (either may be empty in a row, not missing as a column)
and a label column named `label_included`, `included` or `label` holding 1 (include) or 0
(exclude). `record_id`, `pmid`, `doi` and `year` are read when present. RIS: `TI`/`T1`, `AB`/`N2`,
and the label as ASReview writes it in a note (`N1` containing `ASReview_relevant` or
`ASReview_irrelevant`) or as a `LB` tag holding 1 or 0.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import DatasetError
from pipeline.screening.prioritisation.features import Document

LABEL_COLUMNS = ("label_included", "included", "label")
_TRUE = {"1", "1.0", "true", "yes", "y", "include", "included"}
_FALSE = {"0", "0.0", "false", "no", "n", "exclude", "excluded"}


@dataclass(frozen=True)
class LabelledDataset:
    path: Path
    documents: tuple[Document, ...]
    labels: np.ndarray  # 1/0 per document, in file order

    @property
    def includes(self) -> int:
        return int(self.labels.sum())


def read_dataset(path: Path) -> LabelledDataset:
    """Read a labelled CSV or RIS file; DatasetError names the file, the problem and the fix."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file. Pass a labelled CSV (or RIS) file with --dataset.")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8 and try again.") from None
    if path.suffix.lower() in (".ris", ".txt") or text.lstrip().startswith("TY  -"):
        documents, labels = _read_ris(path, text)
    else:
        documents, labels = _read_csv(path, text)
    if not documents:
        raise DatasetError(f"{path}: no records. The file needs a header row and one row per record.")
    y = np.asarray(labels, dtype=np.int64)
    if y.sum() == 0:
        raise DatasetError(f"{path}: no record is labelled 1 (included); a simulation needs at least one include.")
    if y.sum() == len(y):
        raise DatasetError(f"{path}: every record is labelled 1 (included); a simulation needs at least one exclude.")
    return LabelledDataset(path=path, documents=tuple(documents), labels=y)


def _label(path: Path, where: str, value: str) -> int:
    v = value.strip().lower()
    if v in _TRUE:
        return 1
    if v in _FALSE:
        return 0
    shown = value if value.strip() else "(empty)"
    raise DatasetError(
        f"{path}: {where}: label {shown!r} is not 1 or 0. Label every record 1 (include) or "
        "0 (exclude); unlabelled records cannot be simulated."
    )


def _read_csv(path: Path, text: str) -> tuple[list[Document], list[int]]:
    header = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=header.count)  # the header's most frequent of , ; and tab
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    if not fields:
        raise DatasetError(f"{path}: empty file. Pass a labelled CSV with a header row.")
    reader.fieldnames = fields
    label_col = next((c for c in LABEL_COLUMNS if c in fields), None)
    missing = [c for c in ("title", "abstract") if c not in fields]
    if label_col is None:
        missing.append("label_included")
    if missing:
        raise DatasetError(
            f"{path}: missing column(s) {', '.join(missing)}. A labelled CSV needs title, abstract and a label "
            f"column (label_included, included or label) holding 1 or 0; the header has: {', '.join(fields)}."
        )
    documents, labels = [], []
    for i, row in enumerate(reader):
        line = reader.line_num
        if None in row:  # more cells than header columns
            raise DatasetError(
                f"{path}: line {line}: more cells than the header's {len(fields)} columns; "
                "quote cells that contain the delimiter."
            )
        key = (row.get("record_id") or "").strip() or f"row:{i}"
        documents.append(
            Document(
                record_id=f"row:{i}",
                title=(row.get("title") or "").strip(),
                abstract=(row.get("abstract") or "").strip(),
            )
        )
        labels.append(_label(path, f"line {line} (record {key})", row.get(label_col) or ""))
    return documents, labels


def _read_ris(path: Path, text: str) -> tuple[list[Document], list[int]]:
    documents, labels = [], []
    current: dict[str, list[str]] = {}
    start_line = 0
    for number, line in enumerate(text.splitlines(), 1):
        if len(line) >= 5 and line[2:5] == "  -" or line[2:6] == "  - ":
            tag, value = line[:2], line[6:].strip()
            if tag == "TY":
                current, start_line = {}, number
            if tag == "ER":
                i = len(documents)
                notes = " ".join(current.get("N1", []))
                if "ASReview_relevant" in notes:
                    label = 1
                elif "ASReview_irrelevant" in notes:
                    label = 0
                elif "LB" in current:
                    label = _label(path, f"record starting at line {start_line}", current["LB"][0])
                else:
                    raise DatasetError(
                        f"{path}: record starting at line {start_line} has no label. Add an LB tag "
                        "(1 or 0) or an N1 note with ASReview_relevant / ASReview_irrelevant."
                    )
                documents.append(
                    Document(
                        record_id=f"row:{i}",
                        title=" ".join(current.get("TI", []) or current.get("T1", [])),
                        abstract=" ".join(current.get("AB", []) or current.get("N2", [])),
                        keywords=tuple(current.get("KW", [])),
                    )
                )
                labels.append(label)
                current = {}
                continue
            current.setdefault(tag, []).append(value)
    return documents, labels
