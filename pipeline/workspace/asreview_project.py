"""Reading an ASReview LAB project file (`.asreview`, from Projects > Export project): who was
labelled relevant or irrelevant, and how to recognise each record.

The file is a zip archive. Its layout changed between ASReview versions:
- 1.x: `project.json` names the dataset (`dataset_path`, a file in `data/`) and the reviews
  (`reviews[0].id`); the labels are in `reviews/<id>/results.sql`, table `results` (`record_id`,
  `label` 1/0 or NULL while pending, `notes`, `labeling_time`, ...). ASReview's `record_id` is the
  dataset's `record_id` column when it has one, else the record's 0-based row in the dataset.
- 2.x: the records are in `data_store.db`, table `record` (`record_id`, `dataset_row`, `title`,
  `doi`, `url`, ...), the labels in `reviews/<id>/results.db`, table `results` (`record_id`,
  `label`, `note`, `time`, `user_id`, ...); `project.json` lists `datasets` (the file in `data/`).
- 3.x: one `results.db` at the top holds both tables; `project.json` has one `review`.
A label's record is recognised by the identifiers ASReview kept (DOI, URL, title) and, when the
dataset file is inside (our records.ris or a CSV), by its PMID, accession number or record_id.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pipeline.errors import WorkspaceError
from pipeline.workspace.ris import read_ris


@dataclass(frozen=True)
class Labelled:
    asreview_id: int
    label: int  # 1 relevant, 0 irrelevant
    note: str
    identifiers: dict = field(default_factory=dict)  # record_id, pmid, doi, url, title (Matcher.find)


@dataclass(frozen=True)
class Project:
    version: str  # "1.x", "2.x" or "3.x": the project file's layout
    labelled: list[Labelled]


def read_project(path: Path) -> Project:
    """Every labelled record of the ASReview project file at `path`, in labelling order."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise WorkspaceError(
            f"{path}: not a readable ASReview project file (.asreview files are zip archives): {exc}."
        ) from None
    with archive, tempfile.TemporaryDirectory() as tmp:
        names = set(archive.namelist())
        if "project.json" not in names:
            raise WorkspaceError(
                f"{path}: no project.json inside, so not an ASReview project file; export the project "
                "from ASReview LAB (Projects > Export project) and import that file."
            )
        try:
            config = json.loads(archive.read("project.json").decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise WorkspaceError(f"{path}: project.json is not valid JSON ({exc}).") from None
        if not isinstance(config, dict):
            raise WorkspaceError(f"{path}: project.json is not valid JSON (an object was expected).")
        review_ids = [r.get("id", "") for r in config.get("reviews") or [] if isinstance(r, dict)]
        if "results.db" in names:
            layout, results_member, records_member = "3.x", "results.db", "results.db"
        else:
            found = [
                (member, version)
                for rid in review_ids
                for member, version in ((f"reviews/{rid}/results.db", "2.x"), (f"reviews/{rid}/results.sql", "1.x"))
                if member in names
            ]
            if not found:
                raise WorkspaceError(
                    f"{path}: no screening results inside (looked for results.db, reviews/<id>/results.db "
                    "and reviews/<id>/results.sql); export the project again from ASReview LAB after screening."
                )
            results_member, layout = found[0]
            records_member = "data_store.db" if layout == "2.x" else None
            if layout == "2.x" and records_member not in names:
                raise WorkspaceError(f"{path}: data_store.db is missing, so its labels cannot be matched to records.")
        dataset = _dataset(archive, names, config, layout, path)
        results = _extract(archive, results_member, tmp)
        labels = _labels(path, results_member, results, layout)
        if layout == "1.x":
            rows = _rows_by_asreview_id(dataset)
            out = [Labelled(i, label, note, rows.get(i, {})) for i, label, note in labels]
        else:
            records_db = results if records_member == "results.db" else _extract(archive, records_member, tmp)
            records = _records(path, records_member, records_db)
            by_row = dict(enumerate(dataset)) if dataset is not None else {}
            out = []
            for i, label, note in labels:
                record = records.get(i, {})
                ids = {**by_row.get(record.pop("dataset_row", None), {}), **{k: v for k, v in record.items() if v}}
                out.append(Labelled(i, label, note, ids))
        return Project(layout, out)


def _extract(archive: zipfile.ZipFile, member: str, tmp: str) -> Path:
    target = Path(tmp) / PurePosixPath(member).name
    target.write_bytes(archive.read(member))
    return target


def _query(path: Path, member: str, db: Path, sql: str) -> list[tuple]:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise WorkspaceError(f"{path}: {member} is not an ASReview results database ({exc}).") from None


def _labels(path: Path, member: str, db: Path, layout: str) -> list[tuple[int, int, str]]:
    """(ASReview record id, label, note) of every labelled record, the latest label of each."""
    note = "notes" if layout == "1.x" else "note"
    rows = _query(
        path,
        member,
        db,
        f"SELECT record_id, label, coalesce({note}, '') FROM results WHERE label IS NOT NULL ORDER BY rowid",
    )
    latest: dict[int, tuple[int, int, str]] = {}
    for record_id, label, text in rows:
        if label not in (0, 1):
            raise WorkspaceError(f"{path}: {member} labels record {record_id} {label!r}; ASReview labels are 1 or 0.")
        latest.pop(int(record_id), None)
        latest[int(record_id)] = (int(record_id), int(label), str(text))
    return list(latest.values())


def _records(path: Path, member: str, db: Path) -> dict[int, dict]:
    rows = _query(
        path,
        member,
        db,
        "SELECT record_id, dataset_row, coalesce(title, ''), coalesce(doi, ''), coalesce(url, '') FROM record",
    )
    return {
        int(rid): {"dataset_row": row, "title": title, "doi": doi, "url": url} for rid, row, title, doi, url in rows
    }


def _dataset(archive, names, config, layout, path) -> list[dict] | None:
    """The rows of the dataset file in data/ as identifiers (None when 2.x/3.x left it out)."""
    if layout == "1.x":
        name = config.get("dataset_path", "")
    else:
        datasets = [d for d in config.get("datasets") or [] if isinstance(d, dict)]
        name = datasets[0].get("name", "") if datasets else ""
    member = f"data/{name}" if name else ""
    if member not in names:
        if layout == "1.x":
            raise WorkspaceError(
                f"{path}: the dataset {member or 'data/<dataset_path>'} that project.json names is missing, "
                "so ASReview's record ids cannot be matched to records."
            )
        return None
    text = archive.read(member).decode("utf-8-sig", "replace")
    return _ris_rows(text) if re.match(r"\s*[A-Z][A-Z0-9]  -", text) else _table_rows(text)


def _ris_rows(text: str) -> list[dict]:
    rows = []
    for _, tags in read_ris(text):
        first = lambda tag: (tags.get(tag) or [""])[0]  # noqa: E731
        an = first("AN")
        rows.append(
            {
                "record_id": an if ":" in an else "",
                "pmid": an if an.isdigit() else "",
                "doi": first("DO"),
                "url": " ".join(tags.get("UR", [])),
                "title": first("TI") or first("T1"),
            }
        )
    return rows


def _table_rows(text: str) -> list[dict]:
    sample = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in sample else (";" if sample.count(";") > sample.count(",") else ",")
    out = []
    for row in csv.DictReader(io.StringIO(text), delimiter=delimiter):
        get = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        out.append(
            {
                "record_id": get.get("record_id", ""),
                "pmid": get.get("pmid", "") or get.get("pubmed_id", ""),
                "doi": get.get("doi", ""),
                "url": get.get("url", ""),
                "title": get.get("title", "") or get.get("primary_title", ""),
            }
        )
    return out


def _rows_by_asreview_id(dataset: list[dict]) -> dict[int, dict]:
    """ASReview 1.x's record ids: the dataset's integer record_id column when every row has one,
    else the 0-based row number."""
    ids = [row.get("record_id", "") for row in dataset]
    if ids and all(i.isdigit() for i in ids):
        return {int(i): {**row, "record_id": ""} for i, row in zip(ids, dataset)}
    return dict(enumerate(dataset))
