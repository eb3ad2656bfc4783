"""No single record stops a run: one that extraction cannot process is set aside and counted."""

from __future__ import annotations

import json

import pandas as pd

from pipeline.extraction import ner
from pipeline.sources.pubmed_xml import parser as pubmed_xml
from tests.support.paths import FIXTURES


def test_a_record_spacy_refuses_is_set_aside_and_the_run_completes(
    server, review_config, invoke, monkeypatch, tmp_path
):
    records = {r.pmid: r for r in pubmed_xml.parse(FIXTURES / "ketamine_corpus.xml")}
    lengths = {
        p: len(ner.SECTION_SEPARATOR.join(t for _, t in records[p].sections()))
        for p in ("30000001", "30000005", "30000009", "30000010")
    }  # the included records
    longest = max(lengths, key=lengths.get)
    limit = sorted(lengths.values())[-2]  # every included text fits but the longest
    load = ner.load_nlp

    def small_nlp(cfg):
        nlp = load(cfg)
        nlp.max_length = limit
        return nlp

    monkeypatch.setattr(ner, "load_nlp", small_nlp)
    out = tmp_path / "out"
    for attempt in (1, 2):  # and again on the rerun: set aside again, never a failed run
        result = invoke("run", "--config", review_config, "--out", out)
        assert result.exit_code == 0, result.stderr
        manifest = json.loads((out / "run.json").read_text())
        assert manifest["status"] == "completed"
        assert manifest["extraction_set_aside"] == [
            {
                "record_id": f"pmid:{longest}",
                "stage": "extraction",
                "reason": f"text of {lengths[longest]:,} characters exceeds spaCy's max_length of {limit:,}; "
                "the record was not searched for entity mentions",
            }
        ]
        assert manifest["counts"]["extraction_set_aside"] == 1
        assert "1 record set aside by entity extraction (see run.json)" in result.stdout
    mentions = pd.read_parquet(out / "mentions.parquet")
    assert f"pmid:{longest}" not in set(mentions.record_id) and len(set(mentions.record_id)) == 3
    evidence = pd.read_parquet(out / "evidence.parquet")
    assert int(longest) in set(evidence.pmid)  # still an included record, with no mentions
