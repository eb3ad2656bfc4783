"""Where the tests find the repo, the fixtures and ../shared; how CLI subprocesses are started."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent
REPO = TESTS.parent
FIXTURES = TESTS / "fixtures"
SHARED = REPO.parent / "shared"
DEFAULT_CONFIG = REPO / "config" / "ketamine-depression.toml"
XML_FIXTURES = FIXTURES / "xml"
SHARED_PUBMED = SHARED / "data" / "pubmed"
SHARED_NER = SHARED / "data" / "ner"
BC5CDR_DEV = SHARED_NER / "BC5CDR" / "CDR_DevelopmentSet.PubTator.txt"

needs_shared = pytest.mark.skipif(
    not BC5CDR_DEV.is_file(),
    reason=f"{BC5CDR_DEV} not found: the corpora live in ../shared beside the checkout, never in the repo",
)


def shared_path(*parts: str) -> Path:
    """A file under ../shared, or skip the test with the reason when it is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: this test needs the shared data checked out beside the repo")
    return path


def corpus_entities(*relatives: str):
    """(relative path, document, gold entity) over the shared NER corpus files named relative to
    ../shared/data/ner ("BC5CDR/CDR_TrainingSet.PubTator.txt"), in file order."""
    from pipeline.extraction.evaluation import read_pubtator

    for relative in relatives:
        for doc in read_pubtator(SHARED_NER / relative):
            for entity in doc.entities:
                yield relative, doc, entity


def subprocess_env(**extra: str) -> dict:
    """Environment for CLI subprocesses: the network guard is loaded through sitecustomize."""
    env = {k: v for k, v in os.environ.items() if k not in ("NCBI_API_KEY",)}
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS / "guard"), str(REPO)])
    env.update(extra)
    return env
