"""One pipeline run over the ketamine fixture corpus, shared by the tests of its outputs.

Running the review once per session (not per test) keeps the suite fast; tests that read the
output folder must not modify it (copy it first, see `outputs_copy`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.paths import FIXTURES, REPO
from tests.support.eutils_server import EutilsServer, load_corpus


@pytest.fixture(scope="session")
def ketamine_outputs(tmp_path_factory) -> Path:
    """The output folder of a completed run of config/ketamine-depression.toml on the fixture corpus."""
    from pipeline.config import load_config
    from pipeline.sources.pubmed.eutils import Settings
    from pipeline.engine.run import run_pipeline

    folder = tmp_path_factory.mktemp("config")
    shutil.copytree(REPO / "config", folder, dirs_exist_ok=True)
    config = load_config(folder / "ketamine-depression.toml")
    out = tmp_path_factory.mktemp("ketamine-out")
    with EutilsServer(load_corpus(FIXTURES / "ketamine_corpus.xml")) as server:
        run_pipeline(config, out_dir=out, settings=Settings(base_url=server.base_url, email="tests@example.org"))
    return out


@pytest.fixture
def outputs_copy(ketamine_outputs, tmp_path) -> Path:
    """A private copy of the shared output folder, for tests that change files in it."""
    copy = tmp_path / "out"
    shutil.copytree(ketamine_outputs, copy)
    return copy
