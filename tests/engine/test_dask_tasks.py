"""One Dask task's work, run in this process: parse, query, rules, extraction, the part on disk."""

from __future__ import annotations

import gc
import json
import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.config import ExtractionConfig, ScreeningConfig, SearchConfig
from pipeline.engine.dask_tasks import ExtractorPlugin, FileTask, process_file, rules_fingerprint
from pipeline.engine.sync import extractor_fingerprint
from tests.support.paths import REPO
from tests.support.xmlbuild import article, document

LEXICON = REPO / "config" / "lexicons" / "ketamine-review.toml"


def abstract(text: str) -> str:
    return f"<ArticleTitle>{text}</ArticleTitle><Abstract><AbstractText>{text}</AbstractText></Abstract>"


@pytest.fixture
def xml_file(tmp_path):
    """PMID 1 twice (the second version wins), 2 not matching, 4 a comment (excluded by the rules),
    a DeleteCitation of 3, and PMID 5 matching."""
    path = tmp_path / "update.xml"
    path.write_bytes(
        document(
            article("1", abstract("Ketamine improved depression in a first version.")),
            article("2", abstract("Aspirin and headache.")),
            article("1", abstract("Ketamine improved major depression and anhedonia.")),
            article(
                "4",
                abstract("Ketamine: a comment.") + "<PublicationTypeList><PublicationType>Comment"
                "</PublicationType></PublicationTypeList>",
            ),
            '<DeleteCitation><PMID Version="1">3</PMID></DeleteCitation>',
            article("5", abstract("Esketamine or ketamine for suicidal ideation.")),
        )
    )
    return path


def task_for(path, parts, lexicons=(LEXICON,), superseded=frozenset()) -> FileTask:
    search = SearchConfig(source="pubmed-xml", all_of=(("ketamine",),), paths=(path,))
    screening = ScreeningConfig(exclude_publication_types=("Comment",))
    extraction = ExtractionConfig(lexicons=tuple(lexicons))
    return FileTask(
        path=str(path),
        parts=str(parts),
        search=search,
        screening=screening,
        extraction=extraction,
        fingerprint=extractor_fingerprint(extraction),
        rules=rules_fingerprint(search, screening),
        superseded=frozenset(superseded),
    )


def test_a_task_writes_its_part_and_extracts_only_what_can_reach_the_tables(xml_file, tmp_path):
    info = process_file(task_for(xml_file, tmp_path / "parts"))
    assert (info.reused, info.records, info.matched, info.included, info.deleted) == (False, 5, 4, 2, 1)
    assert info.gc_enabled and gc.isenabled() and info.model_loads == 1
    part = tmp_path / "parts" / info.key
    items = pd.read_parquet(part / "items.parquet")
    assert list(zip(items.kind, items.pmid, items.matched, items.included)) == [
        ("record", "1", True, False),  # replaced by its later version in the same file: not extracted
        ("record", "2", False, False),
        ("record", "1", True, True),
        ("record", "4", True, False),  # excluded by the rules
        ("deleted", "3", False, False),
        ("record", "5", True, True),
    ]
    mentions = pd.read_parquet(part / "mentions.parquet")
    assert set(mentions.record_id) == {"pmid:1", "pmid:5"}
    assert set(mentions.content_hash) == set(items.content_hash[items.included])
    assert "anhedonia" in set(mentions.text) and "first version" not in " ".join(mentions.text)
    meta = json.loads((part / "part.json").read_text())
    assert meta["file"] == str(xml_file) and meta["info"]["mentions"] == len(mentions)
    assert [p.name for p in (tmp_path / "parts").iterdir()] == [info.key]  # no temporary folder left

    again = process_file(task_for(xml_file, tmp_path / "parts"))
    assert (again.reused, again.key, again.included, again.mentions) == (True, info.key, 2, info.mentions)
    assert "parse" not in again.timings

    renamed = tmp_path / "renamed.xml"
    renamed.write_bytes(xml_file.read_bytes())
    assert process_file(task_for(renamed, tmp_path / "parts")).reused  # keyed on content, not name

    other = process_file(task_for(xml_file, tmp_path / "parts", lexicons=()))
    assert not other.reused and other.key != info.key  # another extractor: another part
    assert other.model_loads == 1  # ... and its own pipeline, built once


def test_the_client_loads_a_part_as_the_reduce_applies_it(xml_file, tmp_path):
    from pipeline.engine.dask_tasks import ITEM_COLUMNS, load_part, read_mentions

    info = process_file(task_for(xml_file, tmp_path / "parts"))
    part = tmp_path / "parts" / info.key
    loaded = load_part(part, info.path)
    items = pd.read_parquet(part / "items.parquet")
    assert loaded.path == str(xml_file) and loaded.set_aside == []
    # The records' JSON stays in the file until the reduce asks for the versions it keeps.
    json_at = ITEM_COLUMNS.index("record_json")
    rows = [tuple(row) for row in items[ITEM_COLUMNS].itertuples(index=False)]
    assert loaded.items == [row[:json_at] + ("",) + row[json_at + 1 :] for row in rows]
    assert loaded.record_texts([5, 0, 2]) == [rows[5][json_at], rows[0][json_at], rows[2][json_at]]
    assert loaded.record_texts([4]) == [""] and rows[2][json_at].startswith("{")  # a DeleteCitation; a record
    assert [(kind, pmid, included) for kind, pmid, _, _, included, *_ in loaded.items] == [
        ("record", "1", False),
        ("record", "2", False),
        ("record", "1", True),
        ("record", "4", False),
        ("deleted", "3", False),
        ("record", "5", True),
    ]
    assert all(type(item[3]) is bool and type(item[4]) is bool for item in loaded.items)
    # Mentions grouped by record version, each group in extraction order.
    assert [m for group in loaded.mentions.values() for m in group] == [m for _, _, m in read_mentions(part)]
    assert set(loaded.mentions) == {(r, h) for _, _, r, _, included, h, *_ in loaded.items if included}


def test_the_plugin_travels_without_its_model():
    plugin = ExtractorPlugin(ExtractionConfig(), "f" * 64)
    plugin._nlp = object()  # as if loaded
    copy = pickle.loads(pickle.dumps(plugin))
    assert copy._nlp is None and copy.loads == 0 and copy.name == plugin.name == "pipeline-ner-ffffffffffff"
    assert ExtractorPlugin.idempotent is True


def test_the_nannys_malloc_trimming_is_relaxed_only_where_it_was_set(monkeypatch):
    from pipeline.engine.dask_tasks import relax_malloc_trimming

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    assert relax_malloc_trimming() is False
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")  # what a Dask nanny gives its worker
    assert relax_malloc_trimming() is True


def test_a_record_extraction_sets_aside_keeps_no_mentions_and_its_reason(xml_file, tmp_path, monkeypatch):
    from pipeline.engine import dask_tasks
    from pipeline.engine.dask_engine import DaskEngine
    from pipeline.config import EngineConfig
    from pipeline.extraction import ner
    from pipeline.models import SetAside

    real = ner.extract_mentions

    def failing_on_5(nlp, records, classes, n_process=1, set_aside=None, **kw):
        assert n_process == 1  # never a pool inside a Dask worker
        for mention in real(nlp, records, classes, n_process=n_process, set_aside=set_aside, **kw):
            if mention.record_id == "pmid:5":
                set_aside(SetAside("pmid:5", "normaliser failed", "extraction"))
                return
            yield mention

    monkeypatch.setattr(ner, "extract_mentions", failing_on_5)
    info = dask_tasks.process_file(task_for(xml_file, tmp_path / "parts"))
    part = tmp_path / "parts" / info.key
    assert set(pd.read_parquet(part / "mentions.parquet").record_id) == {"pmid:1"}
    [(digest, item)] = dask_tasks.read_set_aside(part)
    assert item == SetAside("pmid:5", "normaliser failed", "extraction")

    engine = DaskEngine(EngineConfig(kind="dask"))
    selection = engine.reduce([dask_tasks.load_part(part, info.path)])
    records = [selection.records["1"], selection.records["5"]]
    hashes = {"pmid:1": engine_hash(part, "1"), "pmid:5": digest}
    found, set_aside = engine.extract(None, records, hashes, lambda *a: None)
    assert set(found) == {"pmid:1"} and set_aside == [item] and engine.extracted_on_client == 0


def engine_hash(part, pmid: str) -> str:
    items = pd.read_parquet(part / "items.parquet")
    return items[(items.pmid == pmid) & items.included].content_hash.iloc[0]


def test_a_version_a_later_file_replaces_is_neither_screened_nor_extracted(xml_file, tmp_path):
    parts = tmp_path / "parts"
    info = process_file(task_for(xml_file, parts, superseded={"5", "3"}))
    assert (info.included, info.superseded) == (1, 1)  # 3 is a DeleteCitation here: nothing to skip
    part = parts / info.key
    items = pd.read_parquet(part / "items.parquet")
    assert list(zip(items.pmid, items.matched, items.included))[-1] == ("5", True, False)
    assert set(pd.read_parquet(part / "mentions.parquet").record_id) == {"pmid:1"}
    assert json.loads((part / "part.json").read_text())["superseded"] == ["5"]

    # Reused while what it skipped is still superseded (files added to the input only add to it) ...
    assert process_file(task_for(xml_file, parts, superseded={"5", "1"})).reused
    # ... and made again, in place, when a version it skipped can now reach the tables.
    again = process_file(task_for(xml_file, parts))
    assert (again.reused, again.key, again.included, again.superseded) == (False, info.key, 2, 0)
    assert set(pd.read_parquet(part / "mentions.parquet").record_id) == {"pmid:1", "pmid:5"}
    assert json.loads((part / "part.json").read_text())["superseded"] == []
    assert [p.name for p in parts.iterdir()] == [info.key]  # the replaced part is gone, nothing left aside
    assert process_file(task_for(xml_file, parts, superseded={"5"})).reused


def test_the_scan_lists_a_files_record_and_deletion_pmids_once_and_keeps_them(xml_file, tmp_path, monkeypatch):
    from pipeline.engine import dask_tasks

    with_bad = tmp_path / "with-bad.xml"
    with_bad.write_bytes(
        xml_file.read_bytes().replace(b"</PubmedArticleSet>", b"<PubmedArticle><MedlineCitation><PMID>7</PMID>")
        + b"</PubmedArticleSet>"
    )
    found = dask_tasks.scan_file(str(with_bad), str(tmp_path / "parts"))
    assert found.dtype == np.int64 and found.tolist() == [1, 2, 3, 4, 5]  # 7 is quarantined: never a version
    [kept] = (tmp_path / "parts" / "pmids").iterdir()
    assert kept.name == dask_tasks.file_sha256(with_bad)[:24] + ".npy"

    def no_parsing(*args, **kwargs):
        raise AssertionError("parsed again")

    monkeypatch.setattr(dask_tasks, "parse", no_parsing)
    assert dask_tasks.scan_file(str(with_bad), str(tmp_path / "parts")).tolist() == [1, 2, 3, 4, 5]


def test_superseded_pmids_are_those_a_later_file_holds():
    from pipeline.engine.dask_tasks import superseded_pmids

    scans = [np.array(pmids, dtype=np.int64) for pmids in ([1, 2, 3], [2, 9], [], [3, 4], [2])]
    assert superseded_pmids(scans) == [
        frozenset({"2", "3"}),
        frozenset({"2"}),
        frozenset(),
        frozenset(),
        frozenset(),
    ]
    assert superseded_pmids([]) == []


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sets(st.integers(1, 40)), max_size=8))
def test_superseded_pmids_agree_with_the_files_order_applied_one_by_one(files):
    from pipeline.engine.dask_tasks import superseded_pmids

    last = {}
    for i, pmids in enumerate(files):
        for pmid in pmids:
            last[pmid] = i
    expected = [frozenset(str(p) for p in pmids if last[p] > i) for i, pmids in enumerate(files)]
    assert superseded_pmids([np.array(sorted(f), dtype=np.int64) for f in files]) == expected


def test_a_skipped_version_no_later_part_replaces_is_extracted_on_the_client(xml_file, tmp_path, caplog):
    """scan_file lists PMIDs only, so a later file's record that parse() quarantines for another
    field still counts as replacing (test_pubmed_regions): the earlier version, skipped by its task,
    is then the kept one with no extraction in its part, and the engine extracts it on the client
    rather than publish it without mentions."""
    from pipeline.config import load_config
    from pipeline.engine import dask_tasks
    from pipeline.engine.dask_engine import DaskEngine

    info = process_file(task_for(xml_file, tmp_path / "parts", superseded={"5"}))
    config_path = tmp_path / "review.toml"
    config_path.write_text(
        f'[review]\nname = "skipped"\n[search]\nsource = "pubmed-xml"\npaths = ["{xml_file}"]\nall_of = [["ketamine"]]\n'
        f'[extraction]\nlexicons = ["{LEXICON}"]\n[output]\ndir = "out"\n'
    )
    config = load_config(config_path)
    engine = DaskEngine(config.engine)
    selection = engine.reduce([dask_tasks.load_part(tmp_path / "parts" / info.key, info.path)])
    record = selection.records["5"]  # no later part: this version is kept
    hashes = {"pmid:5": dask_tasks.encode_record(record)[1]}
    found, set_aside = engine.extract(config, [record], hashes, lambda *a: None)
    assert engine.extracted_on_client == 1 and set_aside == []
    assert "esketamine" in {m.text.lower() for m in found["pmid:5"][1]}
    assert "1 records had no extraction in their file's part; extracting them here" in caplog.text
