"""Command line: parse options, load the config, call one library function, render the result.

`main` is the only place that turns exceptions into messages and exit codes (see errors.ExitCode).
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import traceback
from pathlib import Path

import click

from pipeline.config import Config, load_config, with_engine
from pipeline.errors import ExitCode, PipelineError, RunLocked, WorkspaceError
from pipeline.sources.pubmed.search import build_query
from pipeline.sources.queries import translated as translated_queries

log = logging.getLogger("pipeline")
# Set by the group's options; read by main() when a bug needs its traceback shown.
_show_tracebacks = False


def config_option(func):
    return click.option(
        "--config",
        "config_path",
        required=True,
        type=click.Path(path_type=Path, dir_okay=False),
        help="The review's TOML config file, e.g. config/ketamine-depression.toml.",
    )(func)


def out_option(func):
    return click.option(
        "--out",
        "out_dir",
        type=click.Path(path_type=Path, file_okay=False),
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
    """Check a config file and everything `run` would refuse (lexicons, output folder, local paths,
    [[imports]] files, $EUTILS_BASE_URL); exit 0 when all is well, 2 with the problem otherwise.

    \b
    Example:
        python -m pipeline validate --config config/ketamine-depression.toml
    """
    from pipeline.engine.preflight import check
    from pipeline.sources.pubmed.eutils import Settings

    config = load_config(config_path)
    check(config, config.output.dir, Settings.from_env().base_url)
    click.echo(f"{config_path}: OK (review {config.review.name!r}, output {config.output.dir})")


@cli.command()
@config_option
def query(config_path: Path) -> None:
    """Print the query built from the config's search terms for every database searched
    (with what does not carry over to a database, e.g. truncation in OpenAlex).

    \b
    Example:
        python -m pipeline query --config config/ketamine-depression.toml
    """
    search = load_config(config_path).search
    if tuple(search.sources) in (("pubmed",), ("pubmed-xml",)):
        click.echo(build_query(search))
        return
    for database, text, notes in translated_queries(search):
        click.echo(f"{database}: {text}")
        for note in notes:
            click.echo(f"  note: {note}")


def wait_option(func):
    return click.option(
        "--wait",
        "wait",
        type=click.FloatRange(min=0),
        default=None,
        metavar="SECONDS",
        help="When another run of the review is in progress, wait up to SECONDS for it "
        "(default: [refresh] lock_wait from the config, 0 = exit at once with code 5).",
    )(func)


def engine_options(func):
    func = click.option(
        "--workers",
        "workers",
        type=click.IntRange(1, 4096),
        default=None,
        metavar="N",
        help="With --engine dask and no --scheduler: worker processes of the local cluster "
        "(default: [engine] workers, else one per CPU core). With --engine local: at most N "
        "extraction processes (default: [engine] workers, else min(2, CPU cores)). Alone, it implies --engine dask.",
    )(func)
    func = click.option(
        "--scheduler",
        "scheduler",
        default=None,
        metavar="ADDRESS",
        help="With --engine dask: a running Dask scheduler, e.g. tcp://host:8786 "
        "(default: [engine] scheduler, else a local cluster).",
    )(func)
    return click.option(
        "--engine",
        "engine",
        type=click.Choice(["local", "dask"]),
        default=None,
        help="Where files are read and entities extracted: this process (local, the default) "
        'or a Dask cluster, one task per input file (source = "pubmed-xml").',
    )(func)


@cli.command()
@config_option
@out_option
@wait_option
@engine_options
@click.option(
    "--offline",
    is_flag=True,
    help="Replay the raw E-utilities answers archived by a past run (the newest unless "
    "--from-run names one) instead of using the network.",
)
@click.option(
    "--from-run",
    "from_run",
    metavar="RUN_ID",
    help="With --offline (implied): the run whose archive (<out>/raw/RUN_ID) to replay.",
)
def run(
    config_path: Path,
    out_dir: Path | None,
    wait: float | None,
    engine: str | None,
    scheduler: str | None,
    workers: int | None,
    offline: bool,
    from_run: str | None,
) -> None:
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
    out_dir = _resolved(out_dir or config.output.dir)
    manifest = run_pipeline(
        config, out_dir=out_dir, progress=_progress_printer(), wait=wait, offline=offline, from_run=from_run
    )
    _print_run_summary(config, out_dir, manifest)


@cli.command()
@config_option
@out_option
@wait_option
@engine_options
def refresh(
    config_path: Path,
    out_dir: Path | None,
    wait: float | None,
    engine: str | None,
    scheduler: str | None,
    workers: int | None,
) -> None:
    """Update the review with what its databases added or changed since the last completed run.

    Searches each database's date window from the last completed run (minus [refresh] overlap_days:
    PubMed's entry and modification dates, Europe PMC's index and update dates, OpenAlex's created
    and updated dates), re-reads import files, fetches only records not yet stored or revised,
    screens, extracts, rebuilds the tables and writes changes.csv.
    With no completed run yet it runs in full. Exit codes for schedulers: 0 done, 2 config error,
    3 PubMed unavailable (retry later), 4 incomplete retrieval, 5 another run in progress, 1 bug.

    \b
    Example:
        python -m pipeline refresh --config config/ketamine-depression.toml
        python -m pipeline refresh --config config/ketamine-depression.toml --wait 600
    """
    from pipeline.engine.run import refresh as refresh_review

    config = with_engine(load_config(config_path), engine, scheduler, workers)
    out_dir = _resolved(out_dir or config.output.dir)
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
@click.option(
    "--corpus",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="A PubTator file (PMID|t|title, PMID|a|abstract, then one line per mention).",
)
@click.option(
    "--model",
    "model_path",
    type=click.Path(path_type=Path, file_okay=False),
    help="A trained spaCy pipeline folder (default: the shipped pipeline/extraction/model/ner-biomed).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON instead of a table.")
@click.option("--linking", is_flag=True, help="Also print the concept (identifier) scores and linking accuracy.")
@click.option(
    "--predictions-out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the predicted mentions with their identifiers to this file, in PubTator format.",
)
def eval_ner(corpus: Path, model_path: Path | None, as_json: bool, linking: bool, predictions_out: Path | None) -> None:
    """Score the NER model on a PubTator corpus: span and concept scores per type and micro.

    Scores the shipped model with linking, abbreviation propagation and the junk filter, without
    the review lexicon. Spans: strict match, a prediction counts only with the same start, end and
    type. Concepts (--json, or --linking for the table): precision, recall and F1 over the set of
    (document, type, identifier) pairs, the BioCreative V CDR normalisation measure; linking
    accuracy: the share of gold mentions with one identifier whose identifier the pipeline gives.
    Corpus types are mapped to the model's (BioRED GeneOrGeneProduct -> Gene/Protein, NCBI-disease
    SpecificDisease -> Disease, ...); only the types the corpus annotates are scored.

    \b
    Example:
        python -m pipeline eval-ner --corpus ../shared/data/ner/BC5CDR/CDR_DevelopmentSet.PubTator.txt
        python -m pipeline eval-ner --corpus test.PubTator.txt --json --predictions-out predicted.PubTator
    """
    from pipeline.extraction.ner import load_ner  # spaCy only for commands that need it
    from pipeline.extraction.evaluation import evaluate_all, pubtator_lines, read_pubtator
    from pipeline.outputs.files import atomic_write

    docs = read_pubtator(corpus)
    result = evaluate_all(load_ner(model_path), docs)
    if predictions_out is not None:
        atomic_write(predictions_out, "\n".join(pubtator_lines(docs, result["predicted"])).encode("utf-8"))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "corpus": str(corpus),
                    "documents": len(docs),
                    "scores": {k: v.as_dict() for k, v in result["spans"].items()},
                    "concepts": {k: v.as_dict() for k, v in result["concepts"].items()},
                    "linking": result["linking"],
                },
                indent=2,
            )
        )
        return
    click.echo(f"{corpus}: {len(docs)} documents, strict span match")
    _print_scores(result["spans"])
    if linking:
        click.echo("concepts: (document, type, identifier) pairs")
        _print_scores(result["concepts"])
        click.echo("linking accuracy on the gold spans with one identifier")
        for label, row in result["linking"].items():
            click.echo(
                f"{label:<14}{100 * row['accuracy']:>10.2f}  {row['correct']}/{row['mentions']} "
                f"({row['linked']} linked)"
            )


def _print_scores(scores: dict) -> None:
    click.echo(f"{'type':<14}{'precision':>10}{'recall':>8}{'F1':>8}{'tp':>7}{'fp':>7}{'fn':>7}")
    for label, s in scores.items():
        click.echo(
            f"{label:<14}{100 * s.precision:>10.2f}{100 * s.recall:>8.2f}{100 * s.f1:>8.2f}{s.tp:>7}{s.fp:>7}{s.fn:>7}"
        )


@cli.command()
@click.option(
    "--dataset",
    "--data",
    "dataset",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="A labelled CSV (title, abstract, and label_included / included / label as 1 or 0) or RIS.",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Chooses the prior records (and any randomness of the ranker): same seed, same order.",
)
@click.option(
    "--prior-included", type=click.IntRange(min=1), default=1, show_default=True, help="Random includes screened first."
)
@click.option(
    "--prior-excluded", type=click.IntRange(min=1), default=1, show_default=True, help="Random excludes screened first."
)
@click.option(
    "--recall-target",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.95,
    show_default=True,
    help="The stopping rule's recall target.",
)
@click.option(
    "--confidence",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.95,
    show_default=True,
    help="The confidence with which the stopping rule meets the target.",
)
@click.option(
    "--stopping-rule",
    type=click.Choice(["decay", "buscar"]),
    default="decay",
    show_default=True,
    help="decay: a model of how includes thin out along the ranking (stops early); buscar: the "
    "hypergeometric test of Callaghan & Mueller-Hansen (assumes only a better-than-random ranking).",
)
@click.option(
    "--order-out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the screening order as CSV: position,row,label (row = 0-based data row of the input).",
)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Draw the recall curve, random screening and the stopping point as an SVG file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def simulate(
    dataset: Path,
    seed: int,
    prior_included: int,
    prior_excluded: int,
    recall_target: float,
    confidence: float,
    stopping_rule: str,
    order_out: Path | None,
    plot_path: Path | None,
    as_json: bool,
) -> None:
    """Simulate prioritised screening of a labelled dataset: K random includes and K random excludes
    first, then the ranker's order, retrained as decisions arrive, until every record is screened.
    Reports WSS@95, WSS@100, recall@10%, where the stopping rule fired and the recall there.

    \b
    Example:
        python -m pipeline simulate --dataset ../shared/data/screening/Sep_2021.csv --seed 3
        python -m pipeline simulate --dataset reviewed.csv --json --order-out order.csv --plot recall.svg
    """
    from pipeline.outputs.files import atomic_write
    from pipeline.screening.prioritisation import read_dataset
    from pipeline.screening.prioritisation.plot import recall_svg
    from pipeline.screening.prioritisation.simulation import order_csv, simulate_dataset

    data = read_dataset(dataset)
    sim = simulate_dataset(
        data.documents,
        data.labels,
        seed=seed,
        prior_included=prior_included,
        prior_excluded=prior_excluded,
        recall_target=recall_target,
        confidence=confidence,
        stopping_rule=stopping_rule,
    )
    result = sim.result()
    if order_out is not None:
        atomic_write(order_out, order_csv(sim).encode())
    if plot_path is not None:
        svg = recall_svg(
            sim.labels,
            stop_position=sim.stop_position,
            title=f"{dataset.name}: seed {seed}, stop at {sim.stop_position}",
        )
        atomic_write(plot_path, svg.encode())
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(
        f"{dataset}: {result['records']} records, {result['includes']} includes; seed {seed}, "
        f"{prior_included} + {prior_excluded} random priors"
    )
    click.echo(
        f"WSS@95 {result['wss@95']:.3f}  WSS@100 {result['wss@100']:.3f}  "
        f"recall@10% {result['recall@10%']:.3f}  n95 {result['n95']}  n100 {result['n100']}"
    )
    click.echo(
        f"Stopping rule ({recall_target:.0%} recall with {confidence:.0%} confidence): stop after "
        f"{result['stop_position']} records, recall there {result['recall_at_stop']:.3f}"
    )
    click.echo(f"{result['seconds']:.2f} s")


def _print_run_summary(config: Config, out_dir: Path | None, manifest: dict) -> None:
    counts = manifest["counts"]
    out = out_dir or config.output.dir
    click.echo(
        f"{counts['identified']} identified, {counts['duplicates']} duplicates, {counts['screened']} screened by the rules: "
        f"{counts['included']} included, {counts['excluded']} excluded, {counts['needs_review']} need review; "
        f"{counts['mentions']} entity mentions."
    )
    if counts.get("extraction_set_aside"):
        n = counts["extraction_set_aside"]
        click.echo(
            f"{n} record{'s' if n != 1 else ''} set aside by entity extraction (see run.json): "
            "screened and published without mentions; tried again on the next run."
        )
    click.echo(f"Tables written to {out}")
    for name, table in (manifest.get("tables") or {}).items():
        if table["csv_rows"] < table["rows"]:  # past [output] dataset_rows: never cut short silently
            click.echo(
                f"{name}: {table['rows']:,} rows, in the Parquet dataset {out / name}/ "
                f"({table['parts']} parts); {name}.csv holds only the first {table['csv_rows']:,}."
            )
    ris = manifest.get("ris") or {}
    if ris.get("references", 0) < ris.get("included", 0):
        click.echo(
            f"records.ris: the first {ris['references']:,} of {ris['included']:,} included records "
            "(the evidence table's order); every one is in the tables."
        )
    click.echo(f"Report: {out / 'report.html'}; included records for screening tools: {out / 'records.ris'}")


def _progress_printer():
    """Progress on stderr: a rewritten line on a terminal, a log line per stage elsewhere.

    A count without a total (total < 0, e.g. ("records", 1234, -1) from the Dask engine) is not a
    line of its own: it is shown beside the next stage's, "read: 3/22 files, 4,512 records"."""
    interactive = sys.stderr.isatty()
    last: dict[str, int] = {}
    counts: dict[str, int] = {}

    def show(stage: str, done: int, total: int) -> None:
        if total < 0:
            counts[stage] = done
            return
        extra = (" files" if stage in ("scan", "read") else "") + "".join(
            f", {n:,} {name}" for name, n in counts.items()
        )
        counts.clear()
        if interactive:
            click.echo(f"\r{stage}: {done}/{total}{extra}", nl=done >= total, err=True)
        elif done >= total or done - last.get(stage, 0) >= max(1, total // 10):
            last[stage] = done
            log.info("%s: %d/%d%s", stage, done, total, extra)

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


class Terminated(BaseException):
    """SIGTERM arrived: unwind like Ctrl-C (a run records its failure, workers are stopped), exit 143.

    A BaseException, not a KeyboardInterrupt: click turns those into "Aborted." itself."""


def _terminate(signum, frame) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and map every outcome to an exit code (see `outcome`)."""
    previous = signal.signal(signal.SIGTERM, _terminate) if _main_thread() else None
    try:
        cli.main(args=argv, prog_name="python -m pipeline", standalone_mode=False)
    except BaseException as exc:  # every outcome, SystemExit included, goes through the one mapping
        if isinstance(exc, SystemExit):
            raise
        code, message = outcome(exc)
        if message is not None:
            click.echo(message, err=True)
        sys.exit(code)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    sys.exit(ExitCode.OK)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def outcome(exc: BaseException) -> tuple[int, str | None]:
    """The exit code for an exception and the message shown for it (None: already shown or none).

    The one place that maps exceptions to exit codes: a PipelineError carries its own (`exit_code`,
    declared by every type in errors.py); a command-line usage error is exit 2; Ctrl-C is 130;
    anything else is a bug (exit 1), with the traceback under -vv.
    """
    if isinstance(exc, click.exceptions.Exit):
        return exc.exit_code, None
    if isinstance(exc, click.ClickException):
        exc.show()
        return (ExitCode.CONFIG if isinstance(exc, click.UsageError) else exc.exit_code), None
    if isinstance(exc, click.exceptions.Abort):
        return ExitCode.INTERRUPTED, "Aborted."
    if isinstance(exc, Terminated):
        return ExitCode.TERMINATED, "Terminated; the previous tables were left as they were."
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.INTERRUPTED, "Interrupted; the previous tables were left as they were."
    if isinstance(exc, PipelineError):
        return exc.exit_code, f"Error: {exc}"
    if not isinstance(exc, Exception):
        raise exc
    if _show_tracebacks:  # a bug: say so, and show the traceback only when asked
        traceback.print_exception(exc)
    return ExitCode.INTERNAL, (
        f"Internal error: {type(exc).__name__}: {exc}. Run again with -vv for the traceback and report it."
    )


def _output_folder(config_path: Path | None, out_dir: Path | None) -> Path:
    """The folder `show`/`report` read: --out when given, else the config's [output] dir (resolved)."""
    if out_dir is not None:
        return _resolved(out_dir)
    if config_path is None:
        raise click.UsageError("Pass --config FILE (its [output] dir is read) or --out DIR.")
    return _resolved(load_config(config_path).output.dir)


def _resolved(path: Path) -> Path:
    """`path` as users should see it: absolute, with no "..", symbolic links followed."""
    return Path(path).expanduser().resolve()


def _folder_options(func):
    func = click.option(
        "--out",
        "out_dir",
        type=click.Path(path_type=Path, file_okay=False),
        help="The output folder a run wrote (default: [output] dir from --config).",
    )(func)
    return click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path, dir_okay=False),
        help="The review's TOML config; its [output] dir is read.",
    )(func)


@cli.command()
@_folder_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="table for people, json or csv for programs.",
)
@click.option("--top", type=click.IntRange(1, 1000), default=5, show_default=True, help="Terms shown per entity class.")
@click.option(
    "--newest", type=click.IntRange(0, 100000), default=10, show_default=True, help="Newest included records shown."
)
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


@cli.command()
@config_option
@out_option
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but a loopback address needs --token.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--token", metavar="T", default=None, help="A secret every request must carry (the printed address includes it)."
)
def screen(config_path: Path, out_dir: Path | None, host: str, port: int, token: str | None) -> None:
    """Serve the screening workspace: reviewers screen titles and abstracts in the browser.

    Needs a [screening.human] table in the config and a completed run. Decisions are committed to
    the review's state store as they are made, and the tables, PRISMA and the report follow them in
    the background (a `publish` in a child process after each burst of decisions).

    \b
    Example:
        python -m pipeline screen --config config/ketamine-depression.toml
        python -m pipeline screen --config review.toml --host 0.0.0.0 --port 8800 --token s3cret
    """
    from pipeline.engine.publish import publish_in_child
    from pipeline.workspace.server import WorkspaceServer, check_bind
    from pipeline.workspace.service import Workspace

    config = load_config(config_path)
    check_bind(host, token)
    workspace = Workspace(config, out_dir)
    log.info("loading and ranking the screening queue")
    queued = workspace.prepare()

    try:
        server = WorkspaceServer(workspace, host, port, token, publish=publish_in_child(config, out_dir))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}. Pick another --port.") from None
    click.echo(
        f"Screening workspace for {config.review.name!r} ({workspace.people.mode} mode, {queued} records "
        f"in the queue): {server.url}"
    )
    click.echo("Press Ctrl-C to stop; every decision is already saved.")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Stopped.")
    finally:
        server.server_close()
        workspace.close()


@cli.command()
@config_option
@out_option
@wait_option
def publish(config_path: Path, out_dir: Path | None, wait: float | None) -> None:
    """Rebuild every output (tables, PRISMA, RIS, report) from the review's state store, with no
    network: people's screening decisions show up without a new search.

    \b
    Example:
        python -m pipeline publish --config config/ketamine-depression.toml
    """
    from pipeline.engine.publish import publish_review, published_message

    config = load_config(config_path)
    manifest = publish_review(config, out_dir, wait=wait)
    click.echo(f"Published {out_dir or config.output.dir}: {published_message(manifest)}.")


@cli.group()
def decisions() -> None:
    """Import or export people's screening decisions.

    \b
    Example:
        python -m pipeline decisions import --config review.toml --file rayyan.csv --reviewer ana
        python -m pipeline decisions export --config review.toml --format csv
    """


@decisions.command("import")
@config_option
@out_option
@click.option(
    "--file",
    "file",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="CSV with a record_id, pmid or doi column and decision (include/exclude); or an ASReview or Rayyan export.",
)
@click.option("--reviewer", default=None, help="Whose decisions these are (when the file has no reviewer column).")
def decisions_import(config_path: Path, out_dir: Path | None, file: Path, reviewer: str | None) -> None:
    """Import screening decisions made elsewhere into the review's decision log.

    \b
    Example:
        python -m pipeline decisions import --config review.toml --file decisions.csv --reviewer ana
    """
    from pipeline.engine.publish import publish_review, published_message
    from pipeline.workspace.exchange import import_decisions
    from pipeline.workspace.service import Workspace

    config = load_config(config_path)
    workspace = Workspace(config, out_dir)
    try:
        report = import_decisions(workspace, file, reviewer)
    finally:
        workspace.close()
    click.echo(f"{file}: {report.imported} decisions imported ({report.format} format).")
    for line in report.problems:
        click.echo(f"  {line}", err=True)
    if report.problems:
        raise WorkspaceError(
            f"{len(report.problems)} {report.unit if len(report.problems) != 1 else report.unit[:-1]} of {file} "
            f"{'was' if len(report.problems) == 1 else 'were'} not imported (listed above); fix them and import "
            "the file again (nothing from the file was imported)."
        )
    if report.imported:
        try:
            manifest = publish_review(config, out_dir)
        except RunLocked as exc:
            click.echo(
                f"The decisions are stored, but the tables were not rebuilt: {exc} Run `python -m pipeline "
                f"publish --config {config_path}` afterwards (a running workspace catches up by itself).",
                err=True,
            )
        else:
            click.echo(f"Tables updated: {published_message(manifest)}.")


@decisions.command("export")
@config_option
@out_option
@click.option("--format", "fmt", type=click.Choice(["csv", "ris"]), default="csv", show_default=True)
@click.option(
    "--file",
    "file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write here (default: decisions.csv / decisions.ris in the output folder).",
)
def decisions_export(config_path: Path, out_dir: Path | None, fmt: str, file: Path | None) -> None:
    """Write every decision people made (the full log: who, when, what, why, notes).

    \b
    Example:
        python -m pipeline decisions export --config review.toml --format ris
    """
    from pipeline.workspace.exchange import export_decisions
    from pipeline.workspace.service import Workspace

    workspace = Workspace(load_config(config_path), out_dir)
    try:
        path, n = export_decisions(workspace, fmt, file)
    finally:
        workspace.close()
    click.echo(f"{n} decisions written to {path}")


@cli.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The review's TOML config; its [output] dir is read.",
)
@click.option(
    "--out-dir",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="The output folder a run wrote (default: [output] dir from --config).",
)
@click.option(
    "--what",
    type=click.Choice(["needs-review", "included", "all"]),
    default="needs-review",
    show_default=True,
    help="needs-review: the rules' doubts; included: records meeting every "
    "criterion; all: both (every record retained for people to screen).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["ris", "csv"]),
    default="ris",
    show_default=True,
    help="ris for Rayyan, ASReview, Covidence, EndNote or Zotero; csv for spreadsheets.",
)
@click.option(
    "--out",
    "target",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The file to write (default: export-WHAT.FORMAT in the output folder).",
)
def export(config_path: Path | None, out_dir: Path | None, what: str, fmt: str, target: Path | None) -> None:
    """Export the records that need a person's decision, with abstracts, authors and links, to
    screen them in another tool. Reads the output folder only, never the network.

    \b
    Example:
        python -m pipeline export --config config/ketamine-depression.toml --what needs-review --format ris
        python -m pipeline export --config config/ketamine-depression.toml --what all --format csv --out all.csv
    """
    from pipeline.outputs.export import export_records

    written, count = export_records(_output_folder(config_path, out_dir), what, fmt, target)
    click.echo(f"{count} {what} records written to {written}")
