"""End to end through the CLI with source = "pubmed-xml": local files instead of E-utilities."""

from __future__ import annotations

import gzip
import json
import shutil

import pandas as pd

from tests.support.paths import FIXTURES, REPO
from tests.support.expected import EXPECTED_DECISIONS, OUTPUTS


def local_config(tmp_path, paths: str = '["corpus/*.xml.gz"]'):
    """The ketamine review's config, reading the test corpus from local (gzip) files."""
    folder = tmp_path / "config"
    shutil.copytree(REPO / "config", folder)
    (folder / "corpus").mkdir()
    (folder / "corpus" / "ketamine.xml.gz").write_bytes(gzip.compress((FIXTURES / "ketamine_corpus.xml").read_bytes()))
    path = folder / "ketamine-depression.toml"
    text = path.read_text().replace('dir = "../outputs/ketamine-depression"', 'dir = "../out"')
    text = text.replace('source = "pubmed"', f'source = "pubmed-xml"\npaths = {paths}')
    path.write_text(text)
    return path


def test_local_run_gives_the_same_tables_as_a_live_search(tmp_path, server, review_config, invoke):
    live = invoke("run", "--config", review_config)
    assert live.exit_code == 0, live.stderr
    requests_before = len(server.requests)
    local_path = local_config(tmp_path / "local")
    local = invoke("run", "--config", local_path)
    assert local.exit_code == 0, local.stderr
    assert local.stdout.splitlines()[0] == live.stdout.splitlines()[0]  # the same counts
    live_out, local_out = review_config.parent.parent / "out", local_path.parent.parent / "out"
    for name in OUTPUTS:
        assert (local_out / name).is_file(), name
    for name in ("evidence.csv", "mentions.csv"):
        assert (local_out / name).read_text() == (live_out / name).read_text(), name
    # records.csv too, but for found_in, which names the database each run searched.
    live_records = pd.read_csv(live_out / "records.csv", dtype=str, keep_default_na=False)
    local_records = pd.read_csv(local_out / "records.csv", dtype=str, keep_default_na=False)
    assert set(live_records.found_in) == {"PubMed"} and set(local_records.found_in) == {"PubMed (local XML files)"}
    pd.testing.assert_frame_equal(local_records.drop(columns="found_in"), live_records.drop(columns="found_in"))
    records = pd.read_csv(local_out / "records.csv", dtype=str, keep_default_na=False)
    assert {row.pmid: (row.decision, row.reason) for row in records.itertuples()} == EXPECTED_DECISIONS
    assert len(server.requests) == requests_before  # the local run never called E-utilities
    manifest = json.loads((local_out / "run.json").read_text())
    assert manifest["status"] == "completed" and manifest["source"] == "pubmed-xml"
    assert [f["path"].endswith("corpus/ketamine.xml.gz") for f in manifest["local_files"]] == [True]
    assert manifest["searched"] == {"current": 10, "records_read": 11, "files": 1}  # 30000011 does not match
    assert "eutils_base_url" not in manifest
    assert manifest["pubmed_cross_check"] == {
        "skipped": "the records come from local PubMed XML files, not a PubMed search"
    }
    prisma = json.loads((local_out / "prisma.json").read_text())
    assert prisma["identification"]["records_identified"] == {"PubMed (local XML files)": 10}


def test_a_pattern_matching_no_file_is_a_config_error(tmp_path, invoke):
    path = local_config(tmp_path, paths='["missing/*.xml"]')
    result = invoke("run", "--config", path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: [search.paths] pattern '{path.parent / 'missing/*.xml'}' matches no file. "
        "Check the pattern; paths are relative to the config file's folder.\n"
    )


def test_refresh_applies_a_later_update_file_deleting_a_record(tmp_path, invoke):
    path = local_config(tmp_path, paths='["corpus/*.xml*"]')
    first = invoke("run", "--config", path)
    assert first.exit_code == 0, first.stderr
    out = path.parent.parent / "out"
    (path.parent / "corpus" / "update-0001.xml").write_text(
        '<?xml version="1.0"?>\n<PubmedArticleSet>\n<DeleteCitation><PMID Version="1">30000005</PMID>'
        "</DeleteCitation>\n</PubmedArticleSet>\n"
    )
    second = invoke("refresh", "--config", path)
    assert second.exit_code == 0, second.stderr
    records = pd.read_csv(out / "records.csv", dtype=str, keep_default_na=False)
    assert "30000005" not in set(records.pmid) and len(records) == 9
    changes = pd.read_csv(out / "changes.csv", dtype=str, keep_default_na=False)
    row = changes.set_index("pmid").loc["30000005"]
    assert (row.change, row.why) == ("withdrawn", "deleted from PubMed (DeleteCitation)")
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["deleted_citations"] == 1 and len(manifest["local_files"]) == 2


def test_prisma_balances_when_a_local_file_has_an_unreadable_record(tmp_path, invoke):
    """Identified = every record read (an unreadable one too), so removed + screened adds up."""
    path = local_config(tmp_path)
    broken = (
        '<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM"><PMID Version="1">30000099</PMID>'
        "<Article><ArticleTitle>Ketamine &undefined; depression</ArticleTitle></Article>"
        "</MedlineCitation></PubmedArticle>\n</PubmedArticleSet>"
    )
    text = (FIXTURES / "ketamine_corpus.xml").read_text().replace("</PubmedArticleSet>", broken)
    (path.parent / "corpus" / "ketamine.xml.gz").write_bytes(gzip.compress(text.encode()))
    result = invoke("run", "--config", path)
    assert result.exit_code == 0, result.stderr
    out = path.parent.parent / "out"
    assert len(json.loads((out / "run.json").read_text())["quarantined"]) == 1
    prisma = json.loads((out / "prisma.json").read_text())
    ident = prisma["identification"]
    assert ident["records_identified"] == {"PubMed (local XML files)": 11}
    assert ident["records_removed_before_screening"]["other_reasons"] == {
        "total": 1,
        "by_reason": {"unreadable-record": 1},
    }
    assert ident["records_removed_before_screening"]["total"] + prisma["screening"]["records_screened"] == 11
    assert prisma["balanced"] is True


def test_a_local_source_report_does_not_claim_pubmed_and_shows_the_review_title(tmp_path, invoke):
    path = local_config(tmp_path)
    assert invoke("run", "--config", path).exit_code == 0
    out = path.parent.parent / "out"
    html = (out / "report.html").read_text(encoding="utf-8")
    title = "Ketamine for depression: mechanism of action, clinical applications and efficacy"
    assert f"<h1>{title}</h1>" in html
    assert f"<title>{title}: screening report</title>" in html
    assert "Records identified in PubMed (local XML files)" in html
    assert "PubMed&#39;s" not in html and "PubMed's" not in html
    assert "<dt>Query as matched in the files</dt>" in html and "E-utilities" not in html
    shown = invoke("show", "--out", out)
    assert "Records identified in PubMed (local XML files)" in shown.stdout
