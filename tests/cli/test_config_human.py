"""[screening.human]: the human screening stage's config, its defaults and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import HumanScreeningConfig, load_config
from pipeline.errors import ConfigError

BASE = '[review]\nname = "r"\n[search]\nall_of = [["ketamine"]]\n[output]\ndir = "out"\n'


def load(tmp_path: Path, table: str):
    path = tmp_path / "c.toml"
    path.write_text(BASE + table)
    return load_config(path)


def error_for(tmp_path: Path, table: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, table)
    return str(info.value).replace(str(tmp_path / "c.toml"), "FILE")


def test_without_the_table_there_is_no_human_stage(tmp_path):
    screening = load(tmp_path, "[screening]\nmin_year = 2016\n").screening
    assert screening.human is None and screening.people is None


def test_the_table_with_every_key(tmp_path):
    config = load(
        tmp_path,
        '[screening.human]\nreviewers = ["ana", "ben"]\nmode = "dual"\n'
        'exclusion_reasons = ["wrong population", "wrong intervention"]\n'
        'highlight = { include = ["ketamine"], exclude = ["rat", "mice"] }\n'
        "target_recall = 0.9\nconfidence = 0.99\n",
    )
    assert config.screening.people == HumanScreeningConfig(
        enabled=True,
        reviewers=("ana", "ben"),
        mode="dual",
        exclusion_reasons=("wrong population", "wrong intervention"),
        highlight_include=("ketamine",),
        highlight_exclude=("rat", "mice"),
        target_recall=0.9,
        confidence=0.99,
    )


def test_enabled_false_keeps_the_table_but_switches_the_stage_off(tmp_path):
    screening = load(tmp_path, '[screening.human]\nenabled = false\nreviewers = ["ana"]\n').screening
    assert screening.human is not None and screening.people is None


@pytest.mark.parametrize(
    "table, message",
    [
        (
            '[screening.human]\nmode = "single"\n',
            (
                'FILE: [screening.human.reviewers] is missing. Add reviewers = ["ana", "ben"] (the names people pick '
                "in the workspace)."
            ),
        ),
        (
            "[screening.human]\nreviewers = []\n",
            (
                'FILE: [screening.human.reviewers] is empty. Add reviewers = ["ana", "ben"] (the names people pick '
                "in the workspace)."
            ),
        ),
        (
            '[screening.human]\nreviewers = ["ana"]\nmode = "dual"\n',
            (
                'FILE: [screening.human.mode] is "dual" but only 1 reviewer is named. Name at least two reviewers, '
                'or use mode = "single".'
            ),
        ),
        (
            '[screening.human]\nreviewers = ["ana"]\nmode = "triple"\n',
            'FILE: [screening.human.mode] is \'triple\'; use one of: "single", "dual".',
        ),
        (
            '[screening.human]\nreviewers = ["ana", "ana"]\n',
            "FILE: [screening.human.reviewers] names a reviewer twice. Give each person once.",
        ),
        (
            '[screening.human]\nreviewers = ["Ana Lopez"]\n',
            "FILE: [screening.human.reviewers] 'Ana Lopez' is not a usable name; use letters, digits, - and _ only.",
        ),
        (
            '[screening.human]\nreviewers = ["ana"]\nreviewer = "ben"\n',
            "FILE: [screening.human.reviewer] is not a known key. Did you mean 'reviewers'?",
        ),
        (
            '[screening.human]\nreviewers = ["ana"]\nhighlight = ["ketamine"]\n',
            (
                'FILE: [screening.human.highlight] must be a table, e.g. highlight = { include = ["ketamine"], '
                'exclude = ["rat"] }, not a list.'
            ),
        ),
        (
            '[screening.human]\nreviewers = ["ana"]\nhighlight = { includes = ["x"] }\n',
            "FILE: [screening.human.highlight.includes] is not a known key. Did you mean 'include'?",
        ),
        (
            '[screening.human]\nreviewers = ["ana"]\nexclusion_reasons = ["a", "a"]\n',
            "FILE: [screening.human.exclusion_reasons] lists a reason twice. Give each reason once.",
        ),
        (
            '[screening.human]\nreviewers = ["ana"]\ntarget_recall = 1.5\n',
            "FILE: [screening.human.target_recall] is 1.5; use a value from 0.5 to 0.999.",
        ),
        (
            "[screening]\nhuman = 3\n",
            "FILE: [screening.human] must be a table, e.g. [screening.human], not an integer (3).",
        ),
    ],
)
def test_bad_human_tables_are_refused_with_the_key_and_the_fix(tmp_path, table, message):
    assert error_for(tmp_path, table) == message
