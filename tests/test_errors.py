"""Every exception type declares its exit code, and the CLI exits with it."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import pipeline
from pipeline.errors import ExitCode, PipelineError

# Every PipelineError subclass in the package and its exit code. A new exception type must be added
# here (and to the README's exit-code table when it brings a new code).
EXPECTED = {
    "pipeline.errors.PipelineError": ExitCode.INTERNAL,
    "pipeline.errors.ConfigError": ExitCode.CONFIG,
    "pipeline.errors.OutputsNotFound": ExitCode.CONFIG,
    "pipeline.errors.ClusterUnavailable": ExitCode.UNAVAILABLE,
    "pipeline.errors.FilesFailed": ExitCode.INCOMPLETE,
    "pipeline.errors.DatasetError": ExitCode.CONFIG,
    "pipeline.errors.RequestRejected": ExitCode.CONFIG,
    "pipeline.errors.QueryRejected": ExitCode.CONFIG,
    "pipeline.sources.pubmed.eutils.EutilsRequestError": ExitCode.CONFIG,
    "pipeline.sources.pubmed.eutils.EutilsAnswerError": ExitCode.INCOMPLETE,
    "pipeline.errors.SourceUnavailable": ExitCode.UNAVAILABLE,
    "pipeline.errors.EutilsUnavailable": ExitCode.UNAVAILABLE,
    "pipeline.errors.IncompleteRetrieval": ExitCode.INCOMPLETE,
    "pipeline.errors.RunLocked": ExitCode.LOCKED,
    "pipeline.errors.OutputFolderError": ExitCode.CONFIG,
    "pipeline.errors.DiskFull": ExitCode.UNAVAILABLE,
    "pipeline.sources.imports.ExportFormatError": ExitCode.CONFIG,
    "pipeline.sources.openalex.client.BudgetExhausted": ExitCode.UNAVAILABLE,
    "pipeline.errors.WorkspaceError": ExitCode.CONFIG,
}


def all_error_types() -> list[type[PipelineError]]:
    """PipelineError and every subclass defined anywhere in the package (every module imported)."""
    for module in pkgutil.walk_packages(pipeline.__path__, "pipeline."):
        if module.name != "pipeline.__main__":
            importlib.import_module(module.name)
    found, todo = [], [PipelineError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


ERROR_TYPES = sorted(all_error_types(), key=qualified)


def test_every_exception_type_is_listed_with_its_exit_code():
    assert sorted(map(qualified, ERROR_TYPES)) == sorted(EXPECTED)


@pytest.mark.parametrize("cls", ERROR_TYPES, ids=qualified)
def test_each_exception_type_declares_its_own_exit_code(cls):
    assert "exit_code" in vars(cls), f"{qualified(cls)} inherits its exit code: declare exit_code on the class"
    assert isinstance(cls.exit_code, ExitCode)
    assert cls.exit_code == EXPECTED[qualified(cls)]


@pytest.mark.parametrize("cls", ERROR_TYPES, ids=qualified)
def test_the_cli_exits_with_the_declared_code_and_the_message(cls, invoke, monkeypatch, tmp_path):
    def fail(path):
        raise cls(f"{cls.__name__} happened: fix it")

    monkeypatch.setattr("pipeline.cli.load_config", fail)
    result = invoke("validate", "--config", tmp_path / "review.toml")
    assert (result.exit_code, result.stderr) == (
        int(EXPECTED[qualified(cls)]),
        f"Error: {cls.__name__} happened: fix it\n",
    )


def test_a_bug_is_exit_1_and_says_internal_error(invoke, monkeypatch, tmp_path):
    def fail(path):
        raise KeyError("x")

    monkeypatch.setattr("pipeline.cli.load_config", fail)
    result = invoke("validate", "--config", tmp_path / "review.toml")
    assert (result.exit_code, result.stderr) == (
        1,
        "Internal error: KeyError: 'x'. Run again with -vv for the traceback and report it.\n",
    )


def test_ctrl_c_in_a_command_is_exit_130(invoke, monkeypatch, tmp_path):
    """Click turns Ctrl-C inside a command into Abort (after a newline)."""

    def fail(path):
        raise KeyboardInterrupt

    monkeypatch.setattr("pipeline.cli.load_config", fail)
    result = invoke("validate", "--config", tmp_path / "review.toml")
    assert (result.exit_code, result.stderr) == (130, "\nAborted.\n")


def test_a_usage_error_is_exit_2(invoke):
    result = invoke("validate")
    assert result.exit_code == 2 and "Missing option '--config'" in result.stderr
