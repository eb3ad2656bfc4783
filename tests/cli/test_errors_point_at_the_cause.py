"""Errors that point at the cause (issue 13, item 7)."""

from __future__ import annotations

import gzip
import logging
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from pipeline.errors import IncompleteRetrieval
from pipeline.sources.pubmed.fetch import fetch_records
from pipeline.models import Record
from tests.support.eutils_server import Fault
from tests.support.paths import REPO, subprocess_env
from tests.support.xmlbuild import article, document

NCBI_BAD_KEY = b'{"error":"API key invalid","api-key":"not-a-key%2F1","type":"invalid","status":"error"}'


def test_a_rejected_api_key_says_to_check_ncbi_api_key(server, review_config, invoke, monkeypatch):
    monkeypatch.setenv("NCBI_API_KEY", "not-a-key/1")
    server.inject(
        "esearch", Fault(status=400, body=NCBI_BAD_KEY, headers={"Content-Type": "application/json"}), times=5
    )
    result = invoke("run", "--config", review_config)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: E-utilities rejected esearch.fcgi")
    assert result.stderr.endswith(
        "NCBI refused the API key: check NCBI_API_KEY (a key from your NCBI account "
        "settings), or unset it to run without one at 3 requests/s.\n"
    )
    assert "not-a-key" not in result.stderr  # the key never shows, in any encoding


class OneAnswer:
    """An efetch source that gives a fixed answer (whatever is asked)."""

    def __init__(self, body: bytes):
        self.body = body

    def efetch(self, pmids):
        return self.body


def test_an_efetch_answer_refused_for_its_doctype_says_so():
    body = (
        b'<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [<!ENTITY x "y">]>\n'
        + document(article("1")).split(b"\n", 1)[1]
    )
    with pytest.raises(IncompleteRetrieval) as info:
        list(fetch_records(OneAnswer(body), ["1"], batch_size=10))
    assert str(info.value) == (
        "efetch batch 1's answer was refused: the DOCTYPE has an internal subset, which PubMed XML never has; "
        "it can declare entities (entity expansion, external files), so it is not read. Running again will not "
        "help: check that EUTILS_BASE_URL points at NCBI's E-utilities. No table was published."
    )


def test_pmids_not_requested_are_ignored_and_logged(caplog):
    body = document(article("1"), article("999"), article("2"))
    with caplog.at_level(logging.WARNING):
        items = list(fetch_records(OneAnswer(body), ["1", "2"], batch_size=10))
    assert [i.pmid for i in items if isinstance(i, Record)] == ["1", "2"]
    assert "efetch batch 1 returned 1 PMID that was not asked for, ignored: 999" in caplog.messages


# mtime=0 and ids: test ids must be the same in every xdist worker, whatever second it collects in
@pytest.mark.parametrize(
    "content",
    [gzip.compress(b"1|t|title\n", mtime=0), "caf\xe9|t|x\n".encode("latin-1")],
    ids=["gzip", "latin-1"],
)
def test_eval_ner_on_a_file_that_is_not_pubtator_text_exits_2(invoke, tmp_path, content):
    corpus = tmp_path / "corpus.txt"
    corpus.write_bytes(content)
    result = invoke("eval-ner", "--corpus", corpus)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {corpus}: not a PubTator text file (it is not UTF-8 text). Pass a PubTator "
        "file (PMID|t|title, PMID|a|abstract, then one line per mention); unpack .gz "
        "files first.\n"
    )


def test_from_run_with_a_bad_id_leaves_run_json_alone(server, review_config, invoke, tmp_path):
    out = tmp_path / "out"
    assert invoke("run", "--config", review_config, "--out", out).exit_code == 0
    before = (out / "run.json").read_bytes()
    result = invoke("run", "--config", review_config, "--out", out, "--from-run", "20990101T000000000000Z")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --from-run 20990101T000000000000Z: no archived run of that id in ")
    assert (out / "run.json").read_bytes() == before


SLOW_EXTRACTION = textwrap.dedent('''
    import sys, time
    import spacy
    from spacy.language import Language
    from pipeline import cli
    from pipeline.extraction.ner import extract_mentions
    from pipeline.models import Record

    @Language.component("slow")
    def slow(doc):
        time.sleep(0.05)
        return doc

    @cli.cli.command("slow-extract")
    def slow_extract():
        """Example: python -m pipeline slow-extract"""
        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        nlp.add_pipe("slow")
        records = [Record(str(i), title=f"ketamine {i}") for i in range(2000)]
        print("started", flush=True)
        for _ in extract_mentions(nlp, records, ["DRUG"], batch_size=4, n_process=2):
            pass

    cli.main(["slow-extract"])
''')


def test_sigterm_during_parallel_extraction_exits_143_quietly():
    env = subprocess_env()
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_EXTRACTION],
        cwd=REPO,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout.readline() == "started\n"
        time.sleep(2)  # the workers are busy
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143
    assert err == "Terminated; the previous tables were left as they were.\n"


def test_exit_codes_130_and_143_are_documented():
    readme = (REPO / "README.md").read_text()
    assert "| 130 | interrupted (Ctrl-C)" in readme
    assert "| 143 | terminated (SIGTERM" in readme
