"""ASReview LAB project files (.asreview) written by hand, one per layout ASReview has used, with
the tables and columns ASReview itself creates (asreview/state/sqlstate.py of 1.x; the 2.x data
store and results database; 3.x's single results.db, see asreview/project/migration/v2v3.py):

- 1.x: project.json (dataset_path, reviews[0].id), data/<dataset>, reviews/<id>/results.sql;
- 2.x: project.json (datasets, reviews), data/<dataset>, data_store.db (table record),
  reviews/<id>/results.db (table results with note, time, user_id);
- 3.x: project.json (review), data/<dataset>, results.db (tables record and results).

`asreview_project(tmp_path / "x.asreview", "2.x", dataset_ris, labels)` writes one; `labels` are
(asreview record id, label 1/0 or None for pending, note).
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import zipfile
from pathlib import Path

import pytest

REVIEW_ID = "3f1d2c9a7b5e4d2c8a6f0e1b9c7d5a3e"

RESULTS_V1 = """CREATE TABLE results (record_id INTEGER, label INTEGER, classifier TEXT, query_strategy TEXT,
    balance_strategy TEXT, feature_extraction TEXT, training_set INTEGER, labeling_time INTEGER, notes TEXT,
    custom_metadata_json TEXT);
CREATE TABLE record_table (record_id INT);
CREATE TABLE last_probabilities (proba REAL);
CREATE TABLE last_ranking (record_id INTEGER, ranking INT, classifier TEXT, query_strategy TEXT,
    balance_strategy TEXT, feature_extraction TEXT, training_set INTEGER, time INTEGER);
CREATE TABLE decision_changes (record_id INTEGER, new_label INTEGER, time INTEGER);
PRAGMA user_version = 2;"""
RECORD = """CREATE TABLE record (record_id INTEGER NOT NULL PRIMARY KEY, dataset_row INTEGER,
    dataset_id VARCHAR, duplicate_of INTEGER, title VARCHAR, abstract VARCHAR, authors JSON, keywords JSON,
    year INTEGER, doi VARCHAR, url VARCHAR, included INTEGER);"""
RESULTS_V2 = """CREATE TABLE results (record_id INTEGER, label INTEGER, classifier TEXT, querier TEXT,
    balancer TEXT, feature_extractor TEXT, training_set INTEGER, time FLOAT, note TEXT, tags JSON,
    user_id INTEGER);
CREATE TABLE last_ranking (record_id INTEGER, ranking INT, classifier TEXT, querier TEXT, balancer TEXT,
    feature_extractor TEXT, training_set INTEGER, time FLOAT);
CREATE TABLE decision_changes (record_id INTEGER, label INTEGER, time INTEGER, user_id INTEGER);"""


def _database(path: Path, schema: str, rows: dict[str, list[tuple]]) -> bytes:
    con = sqlite3.connect(path)
    con.executescript(schema)
    for table, values in rows.items():
        for row in values:
            con.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(row))})", row)
    con.commit()
    con.close()
    return path.read_bytes()


def _ris_records(dataset: str) -> list[dict]:
    """What ASReview keeps of each RIS record in its `record` table."""
    out = []
    for block in dataset.split("ER  -"):
        tags: dict[str, str] = {}
        for line in block.splitlines():
            if len(line) > 6 and line[2:6] == "  - ":
                tags.setdefault(line[:2], line[6:].strip())
        if tags:
            out.append(tags)
    return out


def write_project(target: Path, layout: str, dataset: str, labels, dataset_name: str = "records.ris") -> Path:
    rows = _ris_records(dataset) if dataset_name.endswith(".ris") else []
    records = [
        (
            i,
            i,
            "a1b2c3",
            None,
            r.get("TI", ""),
            r.get("AB", ""),
            "[]",
            "[]",
            None,
            r.get("DO") or None,
            r.get("UR"),
            None,
        )
        for i, r in enumerate(rows)
    ]
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        tmp = Path(tmp)
        z.writestr(f"data/{dataset_name}", dataset)
        if layout == "1.x":
            config = {
                "version": "1.6.2",
                "id": "ketamine-screening",
                "mode": "oracle",
                "name": "ketamine-screening",
                "authors": "ana",
                "dataset_path": dataset_name,
                "reviews": [{"id": REVIEW_ID, "start_time": "2026-11-30 09:12:40.118200", "status": "review"}],
                "feature_matrices": [{"id": "tfidf", "filename": "tfidf_feature_matrix.npz"}],
            }
            results = [
                (
                    rid,
                    label,
                    "nb",
                    "max" if n else "prior",
                    "double",
                    "tfidf",
                    n,
                    "2026-11-30 09:15:0%d" % n,
                    note,
                    None,
                )
                for n, (rid, label, note) in enumerate(labels)
            ]
            z.writestr(
                f"reviews/{REVIEW_ID}/results.sql",
                _database(tmp / "results.sql", RESULTS_V1, {"results": results}),
            )
        else:
            config = {
                "version": "2.0" if layout == "2.x" else "3.0",
                "id": "ketamine-screening",
                "mode": "oracle",
                "name": "ketamine-screening",
                "project_file_version": 2 if layout == "2.x" else 3,
                "datasets": [{"id": "a1b2c3", "name": dataset_name}],
            }
            results = [
                (rid, label, "nb", "max", "balanced", "tfidf", n, 1764493200.0 + n, note, "[]", None)
                for n, (rid, label, note) in enumerate(labels)
            ]
            if layout == "2.x":
                config["reviews"] = [{"id": REVIEW_ID, "status": "review"}]
                z.writestr("data_store.db", _database(tmp / "data_store.db", RECORD, {"record": records}))
                z.writestr(
                    f"reviews/{REVIEW_ID}/results.db",
                    _database(tmp / "results.db", RESULTS_V2, {"results": results}),
                )
            else:
                config["review"] = {"status": "review", "model": {}}
                z.writestr(
                    "results.db",
                    _database(tmp / "results.db", RECORD + RESULTS_V2, {"record": records, "results": results}),
                )
        z.writestr("project.json", json.dumps(config))
    return target


@pytest.fixture
def asreview_project():
    """A writer of ASReview project files: `asreview_project(path, layout, dataset_ris, labels)`."""
    return write_project
