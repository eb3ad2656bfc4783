"""Small labelled screening datasets for the prioritisation tests: built by hand, never from ../shared."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

TOPIC = [
    "ketamine infusion relieves treatment resistant depression in a randomised trial",
    "esketamine nasal spray for major depressive disorder: a randomised controlled trial",
    "ketamine rapid antidepressant effect in bipolar depression trial",
    "single ketamine dose and suicidal ideation in depressed patients",
]
OTHER = [
    "hip fracture surgery outcomes in elderly patients",
    "asthma inhaler adherence in children",
    "soil bacteria diversity along a river",
    "dental caries prevention with fluoride varnish",
    "wind turbine noise and sleep quality",
    "coral reef bleaching after heat waves",
    "statin therapy and muscle pain",
    "cataract surgery visual acuity outcomes",
    "malaria bed nets in rural villages",
    "ankle sprain physiotherapy protocols",
    "dietary salt and blood pressure in adults",
    "migraine prophylaxis with beta blockers",
]


def labelled_rows(copies: int = 3) -> list[dict[str, str]]:
    """4 x copies includes, 12 x copies excludes, includes FIRST (as the sorted Cohen files are)."""
    rows = []
    for c in range(copies):
        rows += [
            {
                "record_id": f"i{c}-{i}",
                "title": f"{t} ({c})",
                "abstract": "" if i == 3 else f"{t}. Study {c}.",
                "label_included": "1",
            }
            for i, t in enumerate(TOPIC)
        ]
    for c in range(copies):
        rows += [
            {"record_id": f"e{c}-{i}", "title": f"{t} ({c})", "abstract": f"{t}. Report {c}.", "label_included": "0"}
            for i, t in enumerate(OTHER)
        ]
    return rows


def write_csv(path: Path, rows: list[dict[str, str]], fields: list[str] | None = None) -> Path:
    fields = fields or list(rows[0])
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def labelled_csv(tmp_path) -> Path:
    """A 48-record labelled CSV (12 includes, sorted first; one in four includes without abstract)."""
    return write_csv(tmp_path / "labelled.csv", labelled_rows())
