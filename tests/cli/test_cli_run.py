"""End to end through the CLI: config -> local E-utilities server -> tables."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.support.expected import EXPECTED_DECISIONS, OUTPUTS
from tests.support.paths import REPO, subprocess_env


@pytest.fixture
def completed_run(server, review_config, invoke):
    result = invoke("run", "--config", review_config)
    assert result.exit_code == 0, result.stderr
    return review_config.parent.parent / "out", result


def test_run_writes_every_output(completed_run):
    out, result = completed_run
    for name in OUTPUTS:
        assert (out / name).is_file(), name
    assert "10 identified, 0 duplicates" not in result.stdout
    assert result.stdout.startswith(
        "10 identified, 1 duplicates, 9 screened by the rules: 4 included, 3 excluded, 2 need review;"
    )
    report, ris = re.fullmatch(
        r"Report: (.+); included records for screening tools: (.+)", result.stdout.splitlines()[-1]
    ).groups()
    assert (Path(report).resolve(), Path(ris).resolve()) == (
        (out / "report.html").resolve(),
        (out / "records.ris").resolve(),
    )


def test_every_record_has_its_decision_and_reason(completed_run):
    out, _ = completed_run
    records = pd.read_csv(out / "records.csv", dtype=str, keep_default_na=False)
    got = {row.pmid: (row.decision, row.reason) for row in records.itertuples()}
    assert got == EXPECTED_DECISIONS
    dup = records.set_index("pmid").loc["30000007"]
    assert dup.duplicate_of == "pmid:30000001"
    assert records.set_index("pmid").loc["30000006"].retracted == "True"
    assert list(records.pmid) == sorted(records.pmid, key=int)


def test_evidence_has_one_row_per_included_record_newest_first(completed_run):
    out, _ = completed_run
    evidence = pd.read_csv(out / "evidence.csv", dtype=str, keep_default_na=False)
    assert list(evidence.pmid) == ["30000010", "30000009", "30000001", "30000005"]
    row = evidence.set_index("pmid").loc["30000009"]
    assert "esketamine" in row.drug
    assert row.pubmed_url == "https://pubmed.ncbi.nlm.nih.gov/30000009/"


def test_mention_offsets_point_at_the_text(completed_run, corpus):
    from pipeline.sources.pubmed_xml import parser as pubmed_xml

    out, _ = completed_run
    mentions = pd.read_parquet(out / "mentions.parquet")
    assert len(mentions) > 20
    records = {int(r.pmid): r for r in pubmed_xml.parse(REPO / "tests/fixtures/ketamine_corpus.xml")}
    for m in mentions.itertuples():  # PMIDs are nullable integers in Parquet, as pandas reads the CSV
        sections = dict(records[m.pmid].sections())
        assert sections[m.section][m.start : m.end] == m.text
    assert set(mentions.pmid) <= {30000001, 30000005, 30000009, 30000010}


def test_run_manifest_and_prisma(completed_run, server):
    out, _ = completed_run
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["status"] == "completed"
    assert manifest["query"] == (
        'ketamine AND depression AND ("mechanism of action" OR "clinical applications" OR efficacy)'
    )
    assert manifest["query_translation"] == manifest["query"]
    assert manifest["eutils_base_url"] == server.base_url
    assert manifest["versions"]["spacy"] == "3.7.5"
    assert len(manifest["config"]["sha256"]) == 64
    prisma = json.loads((out / "prisma.json").read_text())
    assert prisma["identification"]["records_identified"] == {"PubMed": 10}
    removed = prisma["identification"]["records_removed_before_screening"]
    assert removed["duplicates"]["total"] == 1
    assert removed["marked_ineligible_by_automation"]["total"] == 3
    assert prisma["screening"]["records_screened"] == 6
    assert prisma["included"]["records_included"] == 4


def test_raw_responses_are_archived(completed_run):
    out, _ = completed_run
    manifest = json.loads((out / "run.json").read_text())
    archived = sorted(p.name for p in (out / manifest["raw_archive"]).iterdir())
    assert archived == ["efetch-00001.xml.gz", "esearch-00001.xml.gz", "esearch-00002.xml.gz", "requests.jsonl"]


def test_requests_identify_the_tool(completed_run, server):
    for request in server.requests:
        assert request["params"]["tool"] == "literature-review-pipeline"
        assert request["params"]["email"] == "tests@example.org"
        assert "api_key" not in request["params"]


def test_two_runs_write_identical_tables(server, review_config, invoke, tmp_path):
    for out in ("a", "b"):
        assert invoke("run", "--config", review_config, "--out", tmp_path / out).exit_code == 0
    for name in ("records.csv", "evidence.csv", "mentions.csv", "records.ris"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_unreachable_eutils_fails_clearly_and_writes_no_tables(review_config, invoke, monkeypatch, tmp_path):
    monkeypatch.setenv("EUTILS_BASE_URL", "http://127.0.0.1:9/entrez/eutils/")  # discard port: refused
    out = tmp_path / "out-unreachable"
    result = invoke("run", "--config", review_config, "--out", out)
    assert result.exit_code == 3
    assert result.stderr.splitlines()[-1] == (
        "Error: E-utilities at http://127.0.0.1:9/entrez/eutils/ did not answer esearch.fcgi "
        '(term=ketamine AND depression AND ("mechanism of action" OR "clinical applications" OR efficacy), '
        "retmax=9999): ConnectionRefusedError: [Errno 111] Connection refused (gave up after 5 attempts). "
        "With an NCBI API key (export NCBI_API_KEY=...) NCBI allows 10 requests/s instead of 3. "
        "Try again later; nothing was published."
    )
    assert "Traceback" not in result.stderr
    # Besides run.json only the review's lock file and its (unchanged, empty) state database.
    assert sorted(p.name for p in out.iterdir()) == [".pipeline.lock", "run.json", "state.sqlite"]
    assert json.loads((out / "run.json").read_text())["status"] == "failed"


def test_cli_subprocess_end_to_end(server, review_config, tmp_path):
    """The real `python -m pipeline` process, with the network guard loaded in it too."""
    out = tmp_path / "sub"
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "--config", str(review_config), "--out", str(out)],
        env=subprocess_env(EUTILS_BASE_URL=server.base_url, NCBI_EMAIL="tests@example.org"),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / "evidence.csv").read_text().count("\n") == 5  # header + 4 included


def test_subprocess_guard_blocks_other_hosts(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", "import socket; socket.create_connection(('192.0.2.1', 80), timeout=1)"],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "NetworkAccessBlocked: test tried to reach 192.0.2.1: only 127.0.0.1 is allowed in tests" in proc.stderr


def test_parallel_extraction_writes_the_same_tables(server, review_config, invoke, tmp_path, monkeypatch):
    """Large runs extract with two processes; the tables must not depend on it."""
    from pipeline.engine import sync as refresh

    assert invoke("run", "--config", review_config, "--out", tmp_path / "one").exit_code == 0
    monkeypatch.setattr(refresh, "PARALLEL_EXTRACTION_FROM", 1)
    assert invoke("run", "--config", review_config, "--out", tmp_path / "two").exit_code == 0
    for name in ("mentions.csv", "evidence.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
