"""Command line: parse options, load the config, call one library function, render the result.

`main` is the only place that turns exceptions into messages and exit codes (see errors.ExitCode).
"""
from __future__ import annotations

import json
import logging
import sys
import traceback
from pathlib import Path

import click

from pipeline.config import Config, load_config, with_engine
from pipeline.errors import ExitCode, PipelineError
from pipeline.sources.pubmed.search import build_query

log = logging.getLogger("pipeline")
# Set by the group's options; read by main() when a bug needs its traceback shown.
_show_tracebacks = False


def config_option(func):
    return click.option(
        "--config", "config_path", required=True, type=click.Path(path_type=Path, dir_okay=False),
        help="The review's TOML config file, e.g. config/ketamine-depression.toml.",
    )(func)


def out_option(func):
    return click.option(
        "--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
        help="Output folder (default: [output] dir from the config).",
    )(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pipeline")
@click.option("-v", "--verbose", count=True, help="More detail on stderr (-vv for debug, with tracebacks).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors on stderr.")
def cli(verbose: int, quiet: bool) -> None:
    """Literature-review screening pipeline: PubMed search, screening with reasons, entity extraction.

    \b
    Example:
        python -m pipeline run --config config/ketamine-depression.toml
    """
    global _show_tracebacks
    _show_tracebacks = verbose > 1
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    _configure_logging(level)


@cli.command()
@config_option
def validate(config_path: Path) -> None:
    """Check a config file; exit 0 when it is valid, 2 with the problem otherwise.

    \b
    Example:
        python -m pipeline validate --config config/ketamine-depression.toml
    """
    config = load_config(config_path)
    click.echo(f"{config_path}: OK (review {config.review.name!r}, output {config.output.dir})")


@cli.command()
@config_option
def query(config_path: Path) -> None:
    """Print the PubMed query built from the config's search terms.

    \b
    Example:
        python -m pipeline query --config config/ketamine-depression.toml
    """
    click.echo(build_query(load_config(config_path).search))


def wait_option(func):
    return click.option(
        "--wait", "wait", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
        help="When another run of the review is in progress, wait up to SECONDS for it "
             "(default: [refresh] lock_wait from the config, 0 = exit at once with code 5).",
    )(func)


def engine_options(func):
    func = click.option("--workers", "workers", type=click.IntRange(1, 4096), default=None, metavar="N",
                        help="With --engine dask and no --scheduler: worker processes of the local cluster "
                             "(default: [engine] workers, else one per CPU core).")(func)
    func = click.option("--scheduler", "scheduler", default=None, metavar="ADDRESS",
                        help="With --engine dask: a running Dask scheduler, e.g. tcp://host:8786 "
                             "(default: [engine] scheduler, else a local cluster).")(func)
    return click.option("--engine", "engine", type=click.Choice(["local", "dask"]), default=None,
                        help="Where files are read and entities extracted: this process (local, the default) "
                             "or a Dask cluster, one task per input file (source = \"pubmed-xml\").")(func)


@cli.command()
@config_option
@out_option
@wait_option
@engine_options
@click.option("--offline", is_flag=True,
              help="Replay the raw E-utilities answers archived by a past run (the newest unless "
                   "--from-run names one) instead of using the network.")
@click.option("--from-run", "from_run", metavar="RUN_ID",
              help="With --offline (implied): the run whose archive (<out>/raw/RUN_ID) to replay.")
def run(config_path: Path, out_dir: Path | None, wait: float | None, engine: str | None, scheduler: str | None,
        workers: int | None, offline: bool, from_run: str | None) -> None:
    """Search PubMed, fetch, screen, extract entities and write the tables.

    E-utilities is reached at $EUTILS_BASE_URL (default NCBI); $NCBI_API_KEY raises the rate
    limit from 3 to 10 requests/s; $NCBI_EMAIL is sent with every request, as NCBI asks.

    \b
    Example:
        NCBI_EMAIL=me@example.org python -m pipeline run --config config/ketamine-depression.toml
        python -m pipeline run --config config/ketamine-depression.toml --out /tmp/ketamine
        python -m pipeline run --config config/ketamine-depression.toml --offline
        python -m pipeline run --config review-over-baseline.toml --engine dask --workers 8
    """
    from pipeline.engine.run import run_pipeline  # heavy imports (spaCy, pandas) only for commands that need them

    config = with_engine(load_config(config_path), engine, scheduler, workers)
    manifest = run_pipeline(config, out_dir=out_dir, progress=_progress_printer(), wait=wait, offline=offline,
                            from_run=from_run)
    _print_run_summary(config, out_dir, manifest)


@cli.command()
@config_option
@out_option
@wait_option
@engine_options
def refresh(config_path: Path, out_dir: Path | None, wait: float | None, engine: str | None,
            scheduler: str | None, workers: int | None) -> None:
    """Update the review with what PubMed added or changed since the last completed run.

    Searches by entry date from the last completed run (minus [refresh] overlap_days), fetches only
    records not yet stored or revised, screens, extracts, rebuilds the tables and writes changes.csv.
    With no completed run yet it runs in full. Exit codes for schedulers: 0 done, 2 config error,
    3 PubMed unavailable (retry later), 4 incomplete retrieval, 5 another run in progress, 1 bug.

    \b
    Example:
        python -m pipeline refresh --config config/ketamine-depression.toml
        python -m pipeline refresh --config config/ketamine-depression.toml --wait 600
    """
    from pipeline.engine.run import refresh as refresh_review

    config = with_engine(load_config(config_path), engine, scheduler, workers)
    manifest = refresh_review(config, out_dir=out_dir, progress=_progress_printer(), wait=wait)
    changes = manifest["changes"]
    click.echo(
        f"{manifest['mode'].capitalize()} refresh: {manifest['fetched']['requested']} records fetched; "
        f"{changes['new']} new, {changes['newly_included']} newly included, "
        f"{changes['decision_changed']} decisions changed, {changes['updated']} revised, "
        f"{changes['withdrawn']} withdrawn (see changes.csv)."
    )
    _print_run_summary(config, out_dir, manifest)


@cli.command("eval-ner")
@click.option("--corpus", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="A PubTator file (PMID|t|title, PMID|a|abstract, then one line per mention).")
@click.option("--model", "model_path", type=click.Path(path_type=Path, file_okay=False),
              help="A trained spaCy pipeline folder (default: the shipped pipeline/extraction/model/ner-biomed).")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON instead of a table.")
def eval_ner(corpus: Path, model_path: Path | None, as_json: bool) -> None:
    """Score the NER model on a PubTator corpus: precision, recall and F1 per type and micro.

    Scores the shipped model with abbreviation propagation, without the review lexicon. Strict
    span match: a prediction counts only with the same start, end and type. Corpus types are
    mapped to the model's (BioRED GeneOrGeneProduct -> Gene/Protein, NCBI-disease SpecificDisease
    -> Disease, ...); only the types the corpus annotates are scored.

    \b
    Example:
        python -m pipeline eval-ner --corpus ../shared/data/ner/BC5CDR/CDR_DevelopmentSet.PubTator.txt
        python -m pipeline eval-ner --corpus test.PubTator.txt --json
    """
    from pipeline.extraction.ner import load_ner  # spaCy only for commands that need it
    from pipeline.extraction.evaluation import evaluate, read_pubtator

    docs = read_pubtator(corpus)
    scores = evaluate(load_ner(model_path), docs)
    if as_json:
        click.echo(json.dumps({"corpus": str(corpus), "documents": len(docs),
                               "scores": {k: v.as_dict() for k, v in scores.items()}}, indent=2))
        return
    click.echo(f"{corpus}: {len(docs)} documents, strict span match")
    click.echo(f"{'type':<14}{'precision':>10}{'recall':>8}{'F1':>8}{'tp':>7}{'fp':>7}{'fn':>7}")
    for label, s in scores.items():
        click.echo(f"{label:<14}{100 * s.precision:>10.2f}{100 * s.recall:>8.2f}{100 * s.f1:>8.2f}"
                   f"{s.tp:>7}{s.fp:>7}{s.fn:>7}")


def _print_run_summary(config: Config, out_dir: Path | None, manifest: dict) -> None:
    counts = manifest["counts"]
    out = out_dir or config.output.dir
    click.echo(
        f"{counts['identified']} identified, {counts['duplicates']} duplicates, {counts['screened']} screened: "
        f"{counts['included']} included, {counts['excluded']} excluded, {counts['needs_review']} need review; "
        f"{counts['mentions']} entity mentions."
    )
    click.echo(f"Tables written to {out}")
    click.echo(f"Report: {out / 'report.html'}; included records for screening tools: {out / 'records.ris'}")


def _progress_printer():
    """Progress on stderr: a rewritten line on a terminal, a log line per stage elsewhere."""
    interactive = sys.stderr.isatty()
    last: dict[str, int] = {}

    def show(stage: str, done: int, total: int) -> None:
        if interactive:
            click.echo(f"\r{stage}: {done}/{total}", nl=done >= total, err=True)
        elif done >= total or done - last.get(stage, 0) >= max(1, total // 10):
            last[stage] = done
            log.info("%s: %d/%d", stage, done, total)
    return show


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time, so redirections and captures see the logs."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def _configure_logging(level: int) -> None:
    root = logging.getLogger()
    if not any(isinstance(h, _StderrHandler) for h in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and map every outcome to an exit code."""
    try:
        cli.main(args=argv, prog_name="python -m pipeline", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.CONFIG if isinstance(exc, click.UsageError) else exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("Interrupted; the previous tables were left as they were.", err=True)
        sys.exit(130)
    except PipelineError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except Exception as exc:  # a bug: say so, and show the traceback only when asked
        if _show_tracebacks:
            traceback.print_exc()
        click.echo(f"Internal error: {type(exc).__name__}: {exc}. Run again with -vv for the traceback "
                   "and report it.", err=True)
        sys.exit(ExitCode.INTERNAL)
    sys.exit(ExitCode.OK)


def _output_folder(config_path: Path | None, out_dir: Path | None) -> Path:
    """The folder `show`/`report` read: --out when given, else the config's [output] dir."""
    if out_dir is not None:
        return out_dir
    if config_path is None:
        raise click.UsageError("Pass --config FILE (its [output] dir is read) or --out DIR.")
    return load_config(config_path).output.dir


def _folder_options(func):
    func = click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
                        help="The output folder a run wrote (default: [output] dir from --config).")(func)
    return click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
                         help="The review's TOML config; its [output] dir is read.")(func)


@cli.command()
@_folder_options
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table",
              show_default=True, help="table for people, json or csv for programs.")
@click.option("--top", type=click.IntRange(1, 1000), default=5, show_default=True,
              help="Terms shown per entity class.")
@click.option("--newest", type=click.IntRange(0, 100000), default=10, show_default=True,
              help="Newest included records shown.")
def show(config_path: Path | None, out_dir: Path | None, fmt: str, top: int, newest: int) -> None:
    """Summarise the last run from its output folder: counts per stage, top mentions per class, the
    newest included records. Reads files only, never the network.

    \b
    Example:
        python -m pipeline show --config config/ketamine-depression.toml
        python -m pipeline show --out /tmp/ketamine --format json
    """
    from pipeline.outputs.folder import read_outputs
    from pipeline.outputs.summary import render, summarise

    outputs = read_outputs(_output_folder(config_path, out_dir))
    click.echo(render(summarise(outputs, top=top, newest=newest), fmt), nl=False)


@cli.command()
@_folder_options
def report(config_path: Path | None, out_dir: Path | None) -> None:
    """Rebuild report.html in an output folder from the files the run left there (no network).

    \b
    Example:
        python -m pipeline report --out /tmp/ketamine
    """
    from pipeline.outputs.report import write_report

    path = write_report(_output_folder(config_path, out_dir))
    click.echo(f"Report written to {path}")
