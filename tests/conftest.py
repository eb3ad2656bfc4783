"""Shared fixtures: the network guard, a local E-utilities server, configs and a CLI invoker."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS / "guard"))
from network_guard import install  # noqa: E402

from tests.support.eutils_server import EutilsServer, load_corpus  # noqa: E402
from tests.support.paths import DEFAULT_CONFIG, FIXTURES, REPO, shared_path  # noqa: E402

install()

# Session fixtures that run the review once, shared by the tests of its outputs.
pytest_plugins = [
    "tests.support.ketamine_run",
    "tests.support.http_server",
    "tests.support.literature_apis",
    "tests.support.screening_sets",
    "tests.support.workspace_review",
    "tests.support.asreview_projects",
    "tests.support.browser",
    "tests.support.dask_cluster",
    "tests.support.table_types",
]


@pytest.fixture
def shared_pubmed() -> Path:
    """../shared/data/pubmed, or skip: the real-data tests need the shared folder beside the repo."""
    return shared_path("data", "pubmed")


def pytest_addoption(parser):
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Rewrite the golden files in tests/golden/ from the current output instead of "
        "comparing against them. Review the diff before committing.",
    )


@pytest.fixture
def update_golden(request) -> bool:
    """True when the run was started with --update-golden."""
    return request.config.getoption("--update-golden")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    """No test sees the developer's NCBI settings; every request is tagged as coming from tests."""
    monkeypatch.delenv("NCBI_API_KEY", raising=False)
    monkeypatch.delenv("EUTILS_BASE_URL", raising=False)
    monkeypatch.setenv("NCBI_EMAIL", "tests@example.org")


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch):
    """Retries back off in milliseconds, not seconds, so fault tests stay quick."""
    from pipeline.sources.http import HttpClient

    monkeypatch.setattr(HttpClient, "_backoff", lambda self, attempt: 0.01 * attempt)


@pytest.fixture(scope="session")
def corpus():
    return load_corpus(FIXTURES / "ketamine_corpus.xml")


@pytest.fixture
def server(corpus, monkeypatch):
    with EutilsServer(corpus) as srv:
        monkeypatch.setenv("EUTILS_BASE_URL", srv.base_url)
        yield srv


@pytest.fixture
def review_config(tmp_path):
    """A copy of the ketamine review's config whose output folder is inside tmp_path."""
    folder = tmp_path / "config"
    shutil.copytree(REPO / "config", folder)
    path = folder / "ketamine-depression.toml"
    text = path.read_text().replace('dir = "../outputs/ketamine-depression"', 'dir = "../out"')
    path.write_text(text)
    return path


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def invoke(capsys):
    """Run `python -m pipeline ARGS` in-process through the real entry point (exit codes included)."""
    from pipeline.cli import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_info:
            main([str(a) for a in args])
        out, err = capsys.readouterr()
        return CliResult(int(exit_info.value.code or 0), out, err)

    return run


# --- entity extraction -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def extraction_config():
    from pipeline.config import load_config

    return load_config(DEFAULT_CONFIG).extraction


@pytest.fixture(scope="session")
def nlp(extraction_config):
    """The full shipped pipeline (model, ketamine lexicon, normaliser, abbreviations), loaded once."""
    from pipeline.extraction.ner import load_nlp

    return load_nlp(extraction_config)


@pytest.fixture(scope="session")
def model():
    """The trained NER alone, loaded once."""
    from pipeline.extraction.ner import load_model

    return load_model()


@pytest.fixture(scope="session")
def ner():
    """The model with sentences and abbreviation propagation, as eval-ner scores it, loaded once."""
    from pipeline.extraction.ner import load_ner

    return load_ner()
