"""The engine works with any `Source`: records without PMIDs flow through screening, the store,
the tables, PRISMA and changes keyed on record_id; the shipped sources satisfy the protocol."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import load_config
from pipeline.engine.run import refresh, run_pipeline
from pipeline.models import AbstractSection, Author, Record, RunManifest
from pipeline.sources.base import CrossCheckable, Harvest, SearchRequest, Source
from pipeline.sources.pubmed.eutils import Settings
from pipeline.sources.pubmed.source import PubMedSource
from pipeline.sources.pubmed_xml.local import LocalXmlSource
from pipeline.sources.registry import open_source
from tests.support.paths import FIXTURES

ABSTRACT = (AbstractSection("", "Ketamine reduced depression scores in this trial."),)


def paper(title: str, **fields) -> Record:
    return Record(title=title, pub_year=2024, languages=("eng",), abstract_sections=ABSTRACT, **fields)


PREPRINT = paper("Ketamine for depression: a preprint of a trial", ids={"europepmc": "PPR101"})
IMPORTED = paper("Esketamine in older adults with depression", authors=(Author(last_name="Okafor"),))
INDEXED = paper("Ketamine and sleep in depression", pmid="40000001", doi="10.1/sleep")
COPY = paper("KETAMINE FOR DEPRESSION - A PREPRINT OF A TRIAL", doi="10.1/copy")  # same title and year


class InMemorySource:
    """A database that holds `records` and returns them all for any query."""

    name = "Test database"

    def __init__(self, records: list[Record]):
        self.records = records
        self.run_info = {"test_database_url": "memory:"}
        self.requests: list[SearchRequest] = []

    def search(self, request: SearchRequest) -> Harvest:
        self.requests.append(request)
        return Harvest(
            query=request.query,
            count=len(self.records),
            current=[r.record_id for r in self.records],
            records=list(self.records),
            requested=len(self.records),
            searched={"current": len(self.records)},
            manifest={"source": "in-memory"},
        )


@pytest.fixture
def config(tmp_path):
    shutil.copyfile(FIXTURES / "previous_release" / "review.toml", tmp_path / "review.toml")
    shutil.copyfile(FIXTURES / "ketamine_corpus.xml", tmp_path / "corpus.xml")
    return load_config(tmp_path / "review.toml")


def test_a_source_without_pmids_runs_end_to_end_keyed_on_record_id(config, monkeypatch):
    source = InMemorySource([IMPORTED, COPY, INDEXED, PREPRINT])
    monkeypatch.setattr("pipeline.engine.sync.open_source", lambda *args, **kwargs: source)
    out = Path(config.output.dir)

    manifest = run_pipeline(config)

    records = pd.read_csv(out / "records.csv", dtype=str, keep_default_na=False)
    assert records[["pmid", "record_id", "decision", "duplicate_of"]].values.tolist() == [
        ["40000001", "pmid:40000001", "include", ""],
        ["", "doi:10.1/copy", "include", ""],
        ["", "europepmc:PPR101", "duplicate", "doi:10.1/copy"],  # kept: the first in record_id order
        ["", IMPORTED.record_id, "include", ""],
    ]
    evidence = pd.read_csv(out / "evidence.csv", dtype=str, keep_default_na=False)
    assert evidence.record_id.tolist() == ["pmid:40000001", "doi:10.1/copy", IMPORTED.record_id]
    assert evidence.pubmed_url.tolist() == ["https://pubmed.ncbi.nlm.nih.gov/40000001/", "", ""]
    mentions = pd.read_csv(out / "mentions.csv", dtype=str, keep_default_na=False)
    assert set(mentions.record_id) == set(evidence.record_id)
    assert set(mentions[mentions.pmid == ""].record_id) == {"doi:10.1/copy", IMPORTED.record_id}
    prisma = json.loads((out / "prisma.json").read_text())
    assert prisma["identification"]["records_identified"] == {"Test database": 4}
    assert manifest["databases"] == {"Test database": 4}
    assert (manifest["source"], manifest["test_database_url"]) == ("in-memory", "memory:")
    assert "pubmed_cross_check" not in manifest  # not CrossCheckable
    assert source.requests[0].window is None and source.requests[0].stored == {}
    ris = (out / "records.ris").read_bytes().decode("utf-8")
    assert f"AN  - {IMPORTED.record_id}\r\n" in ris and "AN  - 40000001\r\n" in ris

    source.records = [COPY, INDEXED, IMPORTED]  # the preprint is no longer returned
    manifest = refresh(config)
    assert manifest["mode"] == "incremental"
    assert set(source.requests[1].stored) == {r.record_id for r in (IMPORTED, COPY, INDEXED, PREPRINT)}
    assert source.requests[1].window is not None
    changes = pd.read_csv(out / "changes.csv", dtype=str, keep_default_na=False)
    assert changes[["pmid", "record_id", "change", "old_decision"]].values.tolist() == [
        ["", "europepmc:PPR101", "withdrawn", "duplicate"]
    ]
    assert manifest["fetched"] == {"requested": 3, "new": 0, "changed": 0, "unchanged": 3, "extracted": 0}


def test_the_shipped_sources_implement_the_protocol(config, tmp_path):
    pubmed_config = dataclasses.replace(config, search=dataclasses.replace(config.search, source="pubmed"))
    pubmed = open_source(pubmed_config, tmp_path, "r1", Settings())
    local = open_source(config, tmp_path, "r1")
    assert isinstance(pubmed, PubMedSource) and isinstance(local, LocalXmlSource)
    assert isinstance(pubmed, Source) and isinstance(local, Source)
    assert isinstance(pubmed, CrossCheckable) and not isinstance(local, CrossCheckable)
    assert (pubmed.name, local.name) == ("PubMed", "PubMed (local XML files)")
    assert pubmed.run_info == {"eutils_base_url": Settings().base_url} and local.run_info == {}
    harvest = local.search(SearchRequest(query="ketamine"))
    assert harvest.count == len(harvest.current) == len(harvest.records) == 10
    assert harvest.current == sorted(harvest.current, key=lambda r: int(r[5:]))
    assert harvest.manifest["pubmed_cross_check"] == {
        "skipped": "the records come from local PubMed XML files, not a PubMed search"
    }


# run.json of a PubMed run as the first release wrote it (e05de80: refresh.sync + publish), in order.
FIRST_RELEASE_KEYS = [
    "run_id",
    "status",
    "command",
    "mode",
    "review",
    "config",
    "eutils_base_url",
    "query",
    "offline",
    "started_at",
    "versions",
    "recovered",
    "source",
    "query_translation",
    "pubmed_messages",
    "requests",
    "raw_archive",
    "identified",
    "pmid_repeats",
    "pubmed_cross_check",
    "searched",
    "fetched",
    "quarantined",
    "finished_at",
    "counts",
    "changes",
]


def test_run_json_keeps_every_key_of_the_first_release_and_gains_its_version(ketamine_outputs):
    manifest = json.loads((ketamine_outputs / "run.json").read_text())
    # Keys later releases add: manifest_version and databases (core), extraction_set_aside and
    # raw_archives_removed (trust), human_screening (workspace, only with [screening.human]),
    # tables, ris and stage_seconds (dask).
    later = (
        "manifest_version",
        "databases",
        "extraction_set_aside",
        "raw_archives_removed",
        "human_screening",
        "tables",
        "ris",
        "stage_seconds",
    )
    assert [k for k in manifest if k not in later] == FIRST_RELEASE_KEYS
    assert (manifest["manifest_version"], manifest["databases"]) == (2, {"PubMed": 10})
    assert RunManifest.from_json(manifest).to_json() == manifest
