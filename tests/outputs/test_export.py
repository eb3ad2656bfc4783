"""export: the records that need a person's decision, as RIS and CSV for screening elsewhere."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from pipeline.outputs import export
from pipeline.models import Author, Decision, Record, ScreeningResult


def test_export_needs_review_as_csv_with_abstracts_authors_and_links(invoke, outputs_copy):
    target = outputs_copy / "to-screen.csv"
    result = invoke("export", "--out-dir", outputs_copy, "--what", "needs-review", "--format", "csv", "--out", target)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"2 needs-review records written to {target}\n"
    frame = pd.read_csv(io.BytesIO(target.read_bytes()), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(frame.columns) == export.CSV_COLUMNS
    assert list(frame.pmid) == ["30000004", "30000008"]
    assert list(frame.reason) == ["date-span-ambiguous", "language-undetermined"]
    row = frame.iloc[0]
    assert row.pubmed_url == "https://pubmed.ncbi.nlm.nih.gov/30000004/"
    assert row.abstract.startswith("This review covers the clinical applications and efficacy of ketamine")
    assert row.authors == ""  # the fixture's 30000004 names no author
    assert (row.deciding_field, row.deciding_value) == ("medline_date", "2015 Dec-2016 Jan")


def test_export_all_retained_records_as_ris_by_default_in_the_output_folder(invoke, outputs_copy):
    result = invoke("export", "--out-dir", outputs_copy, "--what", "all", "--format", "ris")
    target = outputs_copy / "export-all.ris"
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"6 all records written to {target}\n"
    text = target.read_bytes().decode("utf-8")
    assert text.count("ER  - ") == 6  # 4 included + 2 needing review; no exclusions, no duplicates
    assert "AN  - 30000004\r\n" in text and "AN  - 30000002\r\n" not in text
    assert "N1  - Screening: needs-review (date-span-ambiguous: medline_date = 2015 Dec-2016 Jan)\r\n" in text
    assert "N1  - Screening: include (meets-criteria)\r\n" in text
    assert "AU  - Rivera, Ana M\r\nAU  - Okafor, Chidi\r\n" in text
    assert "AB  - This review covers the clinical applications" in text


def test_export_through_the_config(invoke, server, review_config, tmp_path):
    assert invoke("run", "--config", review_config).exit_code == 0
    target = tmp_path / "included.ris"
    result = invoke("export", "--config", review_config, "--what", "included", "--format", "ris", "--out", target)
    assert result.exit_code == 0, result.stderr
    assert target.read_text(encoding="utf-8").count("ER  - ") == 4


def test_export_of_a_folder_without_a_run(invoke, tmp_path):
    result = invoke("export", "--out-dir", tmp_path, "--what", "all", "--format", "csv")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {tmp_path}: no state.sqlite here, so no run has written to this folder. "
        "Run `python -m pipeline run --config FILE` first, or pass the folder a run "
        "wrote with --out-dir DIR.\n"
    )


def test_select_is_pure_and_ordered():
    records = [
        Record("3", title="c"),
        Record("1", title="a", authors=(Author("Doe", "Jane", "J"),)),
        Record("2", title="b"),
    ]
    decisions = {
        "pmid:1": ScreeningResult("pmid:1", Decision.NEEDS_REVIEW, "date-missing"),
        "pmid:2": ScreeningResult("pmid:2", Decision.EXCLUDE, "language-not-included"),
        "pmid:3": ScreeningResult("pmid:3", Decision.INCLUDE, "meets-criteria"),
    }
    assert [r.pmid for r, _ in export.select(records, decisions, "needs-review")] == ["1"]
    assert [r.pmid for r, _ in export.select(records, decisions, "included")] == ["3"]
    assert [r.pmid for r, _ in export.select(records, decisions, "all")] == ["1", "3"]
    with pytest.raises(ValueError):
        export.select(records, decisions, "excluded")
    frame = export.csv_table(export.select(records, decisions, "all"))
    assert list(frame.authors) == ["Doe, Jane", ""]
