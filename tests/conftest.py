"""Shared fixtures: the extraction pipeline is loaded once per test session."""
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_NER = REPO.parent / "shared" / "data" / "ner"
BC5CDR_DEV = SHARED_NER / "BC5CDR" / "CDR_DevelopmentSet.PubTator.txt"
KETAMINE_CONFIG = REPO / "config" / "ketamine-depression.toml"

needs_shared = pytest.mark.skipif(
    not BC5CDR_DEV.is_file(),
    reason=f"{BC5CDR_DEV} not found: the corpora live in ../shared beside the checkout, never in the repo")


@pytest.fixture(scope="session")
def extraction_config():
    from pipeline.config import load_config
    return load_config(KETAMINE_CONFIG).extraction


@pytest.fixture(scope="session")
def nlp(extraction_config):
    """The full shipped pipeline (model, ketamine lexicon, normaliser, abbreviations)."""
    from pipeline.extract import load_nlp
    return load_nlp(extraction_config)


@pytest.fixture(scope="session")
def model():
    """The trained NER alone, as eval-ner scores it."""
    from pipeline.extract import load_model
    return load_model()
