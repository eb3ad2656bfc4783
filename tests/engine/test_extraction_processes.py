"""The local engine's extraction processes: one below a few hundred records, then [engine] workers
(or --engine local --workers N) when set, else min(2, CPU cores)."""

from __future__ import annotations

import pytest

from pipeline.config import (
    Config,
    EngineConfig,
    ExtractionConfig,
    OutputConfig,
    RetrievalConfig,
    ReviewConfig,
    ScreeningConfig,
    SearchConfig,
)
from pipeline.engine import sync
from pipeline.engine.sync import PARALLEL_EXTRACTION_FROM, extraction_processes
from pipeline.extraction import ner
from pipeline.models import Mention, Record


@pytest.mark.parametrize(
    "records, workers, cpus, expected",
    [
        (PARALLEL_EXTRACTION_FROM - 1, 0, 8, 1),  # too few to pay for a fork
        (PARALLEL_EXTRACTION_FROM - 1, 4, 8, 1),  # whatever workers says
        (PARALLEL_EXTRACTION_FROM, 0, 8, 2),  # the default: two processes...
        (PARALLEL_EXTRACTION_FROM, 0, 1, 1),  # ... on at most as many cores
        (PARALLEL_EXTRACTION_FROM, 1, 8, 1),  # workers = 1: like for like with one Dask worker
        (PARALLEL_EXTRACTION_FROM, 2, 1, 2),  # set, it is taken as asked
        (50_000, 6, 8, 6),
    ],
)
def test_extraction_processes(records, workers, cpus, expected):
    assert extraction_processes(records, workers, cpus) == expected


def config_with(engine: EngineConfig, tmp_path) -> Config:
    return Config(
        path=tmp_path / "review.toml",
        sha256="0" * 64,
        review=ReviewConfig(name="r"),
        search=SearchConfig(source="pubmed-xml", all_of=(("ketamine",),), paths=(tmp_path / "a.xml",)),
        screening=ScreeningConfig(),
        extraction=ExtractionConfig(),
        retrieval=RetrievalConfig(),
        output=OutputConfig(dir=tmp_path / "out"),
        engine=engine,
    )


@pytest.fixture
def recorded(monkeypatch):
    """The n_process each extract_mentions call got (the model is never loaded)."""
    calls: list[int] = []

    def extract_mentions(nlp, records, classes, n_process=1, set_aside=None):
        calls.append(n_process)
        for record in records:
            yield Mention(record.record_id, "title", 0, 0, 1, "K", "DRUG", "ketamine")

    monkeypatch.setattr(ner, "load_nlp", lambda cfg: object())
    monkeypatch.setattr(ner, "extract_mentions", extract_mentions)
    return calls


def records(n: int) -> list[Record]:
    return [Record(pmid=str(i), title="K") for i in range(1, n + 1)]


@pytest.mark.parametrize(
    "engine, n, expected",
    [
        (EngineConfig(), PARALLEL_EXTRACTION_FROM, min(2, sync.os.cpu_count() or 1)),
        (EngineConfig(workers=1), PARALLEL_EXTRACTION_FROM, 1),
        (EngineConfig(workers=3), PARALLEL_EXTRACTION_FROM, 3),
        (EngineConfig(workers=3), 10, 1),
        # The Dask engine's fallback extraction on the client: its workers are the cluster's.
        (EngineConfig(kind="dask", workers=1), PARALLEL_EXTRACTION_FROM, min(2, sync.os.cpu_count() or 1)),
    ],
)
def test_the_local_engine_extracts_with_the_processes_engine_workers_allows(recorded, tmp_path, engine, n, expected):
    batch = records(n)
    found, set_aside = sync._extract(
        config_with(engine, tmp_path), batch, {r.record_id: "h" for r in batch}, lambda *a: None
    )
    assert recorded == [expected]
    assert len(found) == n and set_aside == []
