"""Paths are shown resolved: no "config/../out" in what a run prints or the report names."""

from __future__ import annotations


def test_run_prints_resolved_paths(server, review_config, invoke):
    result = invoke("run", "--config", review_config)  # [output] dir = "../out"
    assert result.exit_code == 0, result.stderr
    out = (review_config.parent.parent / "out").resolve()
    assert "/../" not in result.stdout
    assert f"Tables written to {out}\n" in result.stdout
    assert (
        f"Report: {out / 'report.html'}; included records for screening tools: {out / 'records.ris'}\n" in result.stdout
    )
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "/../" not in html


def test_report_names_the_folder_resolved(invoke, outputs_copy):
    (outputs_copy.parent / "x").mkdir()
    relative = outputs_copy.parent / "x" / ".." / outputs_copy.name
    result = invoke("report", "--out", relative)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"Report written to {outputs_copy.resolve() / 'report.html'}\n"
    assert "/../" not in (outputs_copy / "report.html").read_text(encoding="utf-8")
