"""[engine] and --engine/--scheduler/--workers: validated, with the key or option and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import EngineConfig, load_config, with_engine
from pipeline.errors import ConfigError

LOCAL_FILES = """
[review]
name = "r"
[search]
source = "pubmed-xml"
paths = ["data.xml"]
all_of = [["ketamine"]]
[output]
dir = "out"
"""
PUBMED = """
[review]
name = "r"
[search]
all_of = [["ketamine"]]
[output]
dir = "out"
"""
ADDRESS_FIX = (
    'use a Dask scheduler address such as "tcp://scheduler-host:8786" (what `dask scheduler` '
    "prints), or leave it out to start a local cluster."
)
DASK_ONLY_LOCAL = (
    'only runs reviews over local files (source = "pubmed-xml"), one task per file; a PubMed '
    "search is bound by the E-utilities rate limit, not by CPUs."
)


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "data.xml").write_text("<PubmedArticleSet></PubmedArticleSet>")
    path = tmp_path / "review.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value).replace(str(path), "FILE")


def test_the_engine_is_local_unless_the_config_says_otherwise(tmp_path):
    assert load_config(write(tmp_path, LOCAL_FILES)).engine == EngineConfig("local", "", 0)
    config = load_config(write(tmp_path, LOCAL_FILES + '[engine]\nkind = "dask"\nworkers = 4\n'))
    assert config.engine == EngineConfig("dask", "", 4)
    config = load_config(write(tmp_path, LOCAL_FILES + '[engine]\nkind = "dask"\nscheduler = "tcp://h:8786"\n'))
    assert config.engine == EngineConfig("dask", "tcp://h:8786", 0)


@pytest.mark.parametrize(
    "table, message",
    [
        ('kind = "spark"', '[engine.kind] is \'spark\'; use one of: "local", "dask".'),
        ('kind = "dask"\nscheduler = "scheduler:8786"', f"[engine.scheduler] is 'scheduler:8786'; {ADDRESS_FIX}"),
        ('kind = "dask"\nscheduler = "tcp://host"', f"[engine.scheduler] is 'tcp://host'; {ADDRESS_FIX}"),
        ('kind = "dask"\nworkers = -1', "[engine.workers] is -1; use a value from 0 to 4096."),
        ('kind = "dask"\nworkers = "4"', "[engine.workers] must be an integer, not a string ('4')."),
        ("workers = -1", "[engine.workers] is -1; use a value from 0 to 4096."),
        ("workers = 5000", "[engine.workers] is 5000; use a value from 0 to 4096."),
        ("workers = 2.5", "[engine.workers] must be an integer, not a number (2.5)."),
        (
            'scheduler = "tcp://h:1"',
            '[engine.scheduler] only applies to kind = "dask". Add kind = "dask" or remove it.',
        ),
        (
            'kind = "dask"\nscheduler = "tcp://h:1"\nworkers = 2',
            "[engine.workers] sizes the local cluster started when there is no scheduler; a running scheduler has "
            "its own workers. Remove one of the two.",
        ),
        ('kind = "dask"\nnodes = 2', "[engine.nodes] is not a known key. Known keys: kind, scheduler, workers."),
    ],
)
def test_bad_engine_tables_are_refused(tmp_path, table, message):
    assert error_for(tmp_path, LOCAL_FILES + "[engine]\n" + table + "\n") == f"FILE: {message}"


@pytest.mark.parametrize(
    "table, engine",
    [
        ("workers = 1", EngineConfig("local", "", 1)),
        ('kind = "local"\nworkers = 3', EngineConfig("local", "", 3)),
        ("", EngineConfig("local", "", 0)),
    ],
)
def test_workers_caps_the_local_engines_extraction_processes(tmp_path, table, engine):
    # kind = "local" (the default) with workers: the most extraction processes a local run forks.
    assert load_config(write(tmp_path, LOCAL_FILES + "[engine]\n" + table + "\n")).engine == engine


def test_a_local_engine_over_a_pubmed_search_takes_workers_too(tmp_path):
    assert load_config(write(tmp_path, PUBMED + "[engine]\nworkers = 1\n")).engine == EngineConfig("local", "", 1)


def test_dask_refuses_a_pubmed_search(tmp_path):
    assert error_for(tmp_path, PUBMED + '[engine]\nkind = "dask"\n') == (
        f'FILE: [engine.kind] "dask" {DASK_ONLY_LOCAL} Use kind = "local" for it.'
    )


@pytest.mark.parametrize(
    "options, engine",
    [
        ({"kind": "dask"}, EngineConfig("dask", "", 0)),
        ({"workers": 3}, EngineConfig("dask", "", 3)),
        ({"scheduler": "tls://10.0.0.1:8786"}, EngineConfig("dask", "tls://10.0.0.1:8786", 0)),
        ({"kind": "dask", "workers": 2}, EngineConfig("dask", "", 2)),
        ({"kind": "local"}, EngineConfig("local", "", 0)),
        ({"kind": "local", "workers": 1}, EngineConfig("local", "", 1)),
    ],
)
def test_command_line_options_override_the_config(tmp_path, options, engine):
    config = load_config(
        write(
            tmp_path,
            LOCAL_FILES + '[engine]\nkind = "dask"\nscheduler = "tcp://h:1"\n'
            if options.get("kind") == "local"
            else LOCAL_FILES,
        )
    )
    assert with_engine(config, **options).engine == engine


@pytest.mark.parametrize(
    "table, options, engine",
    [
        ('kind = "dask"\nworkers = 8', {"kind": "local"}, EngineConfig("local", "", 8)),
        ('kind = "dask"\nworkers = 8', {"kind": "local", "workers": 1}, EngineConfig("local", "", 1)),
        ("workers = 1", {"kind": "local", "workers": 2}, EngineConfig("local", "", 2)),
        ("workers = 1", {"workers": 2}, EngineConfig("dask", "", 2)),
        ("workers = 1", {"kind": "dask"}, EngineConfig("dask", "", 1)),
    ],
)
def test_workers_on_the_command_line_or_in_the_config_size_either_engine(tmp_path, table, options, engine):
    config = load_config(write(tmp_path, LOCAL_FILES + "[engine]\n" + table + "\n"))
    assert with_engine(config, **options).engine == engine


def test_a_scheduler_on_the_command_line_replaces_the_configs_workers(tmp_path):
    config = load_config(write(tmp_path, LOCAL_FILES + '[engine]\nkind = "dask"\nworkers = 8\n'))
    assert with_engine(config, scheduler="tcp://h:8786").engine == EngineConfig("dask", "tcp://h:8786", 0)


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ("--engine", "local", "--scheduler", "tcp://h:1"),
            "--scheduler only applies to --engine dask. Add --engine dask or leave it out.",
        ),
        (("--scheduler", "localhost"), f"--scheduler is 'localhost'; {ADDRESS_FIX}"),
        (
            ("--scheduler", "tcp://h:1", "--workers", "2"),
            "--workers sizes the local cluster started when there is no scheduler; a running scheduler has its own "
            "workers. Pass one of the two.",
        ),
    ],
)
def test_bad_engine_options_exit_2_naming_the_option(tmp_path, invoke, args, message):
    result = invoke("run", "--config", write(tmp_path, LOCAL_FILES), *args)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {message}\n"


def test_workers_on_the_command_line_is_a_count_of_processes_for_either_engine(tmp_path, invoke):
    result = invoke("run", "--config", write(tmp_path, LOCAL_FILES), "--engine", "local", "--workers", "0")
    assert result.exit_code == 2
    assert result.stderr.endswith("Error: Invalid value for '--workers': 0 is not in the range 1<=x<=4096.\n")


def test_engine_dask_on_a_pubmed_review_exits_2(tmp_path, invoke):
    result = invoke("refresh", "--config", write(tmp_path, PUBMED), "--engine", "dask")
    assert result.exit_code == 2
    assert result.stderr == f"Error: --engine dask {DASK_ONLY_LOCAL} Use --engine local for it.\n"


def test_dataset_rows_defaults_to_a_million_and_must_be_a_positive_count(tmp_path):
    assert load_config(write(tmp_path, LOCAL_FILES)).output.dataset_rows == 1_000_000
    assert load_config(write(tmp_path, LOCAL_FILES + "dataset_rows = 50000\n")).output.dataset_rows == 50_000
    assert error_for(tmp_path, LOCAL_FILES + "dataset_rows = 0\n") == (
        "FILE: [output.dataset_rows] is 0; use a value from 1 to 1000000000."
    )
    assert error_for(tmp_path, LOCAL_FILES + 'dataset_rows = "1e6"\n') == (
        "FILE: [output.dataset_rows] must be an integer, not a string ('1e6')."
    )
