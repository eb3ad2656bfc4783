"""run_pipeline and refresh: the one entry point the CLI and schedulers use.

search -> fetch (archived) -> parse -> state store -> screen -> extract -> commit -> tables, PRISMA,
RIS, changes -> manifest -> report, carried out by refresh.sync. Outputs are written only after every
stage succeeded and the state was committed; a failed run records its failure in run.json and leaves
the previous state and outputs as they were.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Callable

from pipeline.config import Config
from pipeline.sources.pubmed.eutils import Settings
from pipeline.engine.sync import Engine, Progress, sync


def run_pipeline(
    config: Config,
    out_dir: Path | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
    now: Callable[[], datetime] | None = None,
    wait: float | None = None,
    offline: bool = False,
    from_run: str | None = None,
    engine: Engine | None = None,
) -> dict:
    """Run the review in `config` in full and write its outputs; returns the run manifest (run.json).

    `offline` (or a `from_run` id) answers every E-utilities request from the raw archive of a past
    run in the output folder (the newest unless `from_run` names it) and opens no connection.

    `engine`: where reading and extraction run; default [engine] of the config (`--engine dask`
    starts or joins a Dask cluster for the run; see dask_engine.py).

    Everything goes through the review's state store (state.sqlite in the output folder) and the
    outputs are rebuilt from it (see refresh.py). Raises a PipelineError subclass on failure, after
    writing a run.json whose status is "failed"; RunLocked when another run holds the review.
    """
    return _on_engine(
        config,
        engine,
        lambda e: sync(
            config,
            out_dir,
            settings,
            progress,
            now,
            incremental=False,
            wait=wait,
            offline=offline,
            from_run=from_run,
            engine=e,
        ),
    )


def refresh(
    config: Config,
    out_dir: Path | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
    now: Callable[[], datetime] | None = None,
    wait: float | None = None,
    engine: Engine | None = None,
) -> dict:
    """Bring the review up to date incrementally: only what each database entered or changed since the
    last completed run (minus [refresh] overlap_days) is fetched (import files are read again); the
    outputs and changes.csv are rewritten. A refresh withdraws no Europe PMC or OpenAlex record.

    With no completed run yet it is a full run. Same failures as run_pipeline.
    """
    return _on_engine(
        config, engine, lambda e: sync(config, out_dir, settings, progress, now, incremental=True, wait=wait, engine=e)
    )


def _on_engine(config: Config, engine: Engine | None, call: Callable[[Engine | None], dict]) -> dict:
    """Run `call` on `engine`, or on the one [engine] names (a Dask cluster lives for the run)."""
    if engine is not None or config.engine.kind == "local":
        return call(engine)
    from pipeline.engine.dask_engine import DaskEngine  # dask imports only when asked for

    with DaskEngine(config.engine) as cluster:
        return call(cluster)
