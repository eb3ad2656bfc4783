"""Every command is documented: an example in its --help, a row in the README, and every make target
the README names exists."""

from __future__ import annotations

import re

import pytest

from pipeline.cli import cli
from tests.support.paths import REPO

COMMANDS = sorted(cli.commands)
README = (REPO / "README.md").read_text(encoding="utf-8")


def test_the_cli_has_the_commands_the_issues_promise():
    assert {"run", "refresh", "validate", "query", "show", "report", "eval-ner"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_has_an_example(invoke, command):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout and f"python -m pipeline {command}" in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_in_the_readme_command_table(command):
    assert re.search(rf"^\| `{re.escape(command)}[ `]", README, re.MULTILINE), f"README lacks a row for {command}"


def test_every_make_target_in_the_readme_exists():
    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z-]+):", makefile, re.MULTILINE))
    named = set(re.findall(r"`make ([a-z-]+)", README))
    assert named and named <= targets, f"README names missing targets: {named - targets}"


def test_every_config_key_is_in_the_readme_config_reference():
    from pipeline.config import _TABLES

    reference = README[README.index("## Config reference") : README.index("### Screening: what each criterion means")]
    for table, keys in _TABLES.items():
        assert f"[{table}]" in reference, table
        for key in keys:
            assert re.search(rf"^\s*#?\s*{key}\s*=", reference, re.MULTILINE), f"README lacks [{table}] {key}"
