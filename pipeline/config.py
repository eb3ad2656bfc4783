"""Review configuration: a TOML file, loaded and validated once into frozen dataclasses.

Every problem raises ConfigError naming the file, the key and the fix. Relative paths in the file
are resolved against the directory that holds the config file, so a review runs the same from
anywhere.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pipeline.errors import ConfigError

SOURCES = ("pubmed", "pubmed-xml")
# Every database a review can search: PubMed (online or local XML files) and the open APIs.
SEARCH_SOURCES = ("pubmed", "pubmed-xml", "europepmc", "openalex")
IMPORT_FORMATS = ("ris", "medline", "wos", "wos-tab", "ovid", "csv", "bibtex")  # read by pipeline.sources.imports
SPAN_POLICIES = ("needs-review", "include", "exclude")
ENGINES = ("local", "dask")
SCHEDULER_SCHEMES = ("tcp://", "tls://", "ws://", "wss://")
ENTITY_CLASSES = (
    "DRUG",
    "DISEASE",
    "GENE",
    "TREATMENT",
    "MECHANISM",
    "BRAIN_REGION",
    "ROUTE",
    "ADVERSE_EFFECT",
    "OUTCOME_SCALE",
    "STUDY_DESIGN",
)


@dataclass(frozen=True)
class ReviewConfig:
    name: str
    title: str = ""


@dataclass(frozen=True)
class SearchConfig:
    source: str = "pubmed"
    all_of: tuple[tuple[str, ...], ...] = ()  # AND of groups; OR within a group
    field: str = ""  # PubMed field tag for every term, e.g. "tiab"
    paths: tuple[Path, ...] = ()  # for source = "pubmed-xml": files or globs
    sources: tuple[str, ...] = ()  # every database searched, in order (default: (source,))

    def __post_init__(self) -> None:
        if not self.sources and self.source:
            object.__setattr__(self, "sources", (self.source,))


HUMAN_MODES = ("single", "dual")


@dataclass(frozen=True)
class HumanScreeningConfig:
    """[screening.human]: people screen what the rules let through, in the workspace (`screen`)."""

    enabled: bool = True
    reviewers: tuple[str, ...] = ()
    mode: str = "single"  # "dual": every record is screened by two reviewers
    exclusion_reasons: tuple[str, ...] = ()
    highlight_include: tuple[str, ...] = ()  # terms highlighted as signs of relevance
    highlight_exclude: tuple[str, ...] = ()
    target_recall: float = 0.95  # the stopping rule's target and confidence
    confidence: float = 0.95


@dataclass(frozen=True)
class ScreeningConfig:
    min_year: int | None = None
    max_year: int | None = None
    languages: tuple[str, ...] = ()
    date_spans: str = "needs-review"
    exclude_publication_types: tuple[str, ...] = ()
    require_abstract: bool = False
    human: HumanScreeningConfig | None = None  # None: no [screening.human] table, or enabled = false

    @property
    def people(self) -> HumanScreeningConfig | None:
        """The human screening stage when it is enabled, else None."""
        return self.human if self.human is not None and self.human.enabled else None


@dataclass(frozen=True)
class ExtractionConfig:
    classes: tuple[str, ...] = ENTITY_CLASSES
    lexicons: tuple[Path, ...] = ()
    model: Path | None = None


@dataclass(frozen=True)
class RetrievalConfig:
    batch_size: int = 200
    timeout: float = 30.0
    max_attempts: int = 5


@dataclass(frozen=True)
class RefreshConfig:
    overlap_days: int = 7  # a refresh searches entries since the last watermark minus this
    lock_wait: float = 0.0  # seconds a run waits for another run of the review to finish


@dataclass(frozen=True)
class ApiSourceConfig:
    """Options of one open-API source ([sources.europepmc], [sources.openalex])."""

    page_size: int


@dataclass(frozen=True)
class ImportConfig:
    """One [[imports]] table: export files of one database, read as they are."""

    database: str  # how PRISMA and found_in name it, e.g. "Web of Science"
    paths: tuple[Path, ...]  # files, folders or globs, resolved against the config's folder
    format: str = ""  # "" = detected from each file's content


@dataclass(frozen=True)
class EngineConfig:
    kind: str = "local"  # "local" (this process) or "dask" (one task per input file)
    scheduler: str = ""  # a running Dask scheduler's address; "" starts a local cluster
    # kind "dask", no scheduler: the local cluster's worker processes (0 = one per CPU core);
    # kind "local": at most this many extraction processes (0 = min(2, CPU cores)), see
    # engine/sync.py extraction_processes.
    workers: int = 0


@dataclass(frozen=True)
class OutputConfig:
    dir: Path
    keep_raw_runs: int = 0  # raw E-utilities archives kept (newest first); 0 keeps them all
    # A table with more rows is written as a Parquet dataset (<name>/part-*.parquet) and its CSV
    # keeps only this many rows (outputs/datasets.py), records.ris this many references; Excel
    # opens at most 1,048,576 rows.
    dataset_rows: int = 1_000_000


@dataclass(frozen=True)
class Config:
    path: Path
    sha256: str
    review: ReviewConfig
    search: SearchConfig
    screening: ScreeningConfig
    extraction: ExtractionConfig
    retrieval: RetrievalConfig
    output: OutputConfig
    refresh: RefreshConfig = RefreshConfig()
    sources: dict[str, ApiSourceConfig] = field(default_factory=dict)  # per API source, when listed
    imports: tuple[ImportConfig, ...] = ()
    engine: EngineConfig = EngineConfig()


def load_config(path: str | Path) -> Config:
    """Read, parse and validate a review config. Raises ConfigError on any problem."""
    path = Path(path)
    try:
        raw_bytes = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found. Pass an existing file with --config.") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror}).") from None
    try:
        data = tomllib.loads(raw_bytes.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the config file is not UTF-8 text. Save it as UTF-8.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}. Fix the syntax at that line.") from None
    validator = _Validator(path)
    return validator.check_engine(validator.config(data, hashlib.sha256(raw_bytes).hexdigest()))


DASK_NEEDS_LOCAL_FILES = (
    'only runs reviews over local files (source = "pubmed-xml"), one task per file; '
    "a PubMed search is bound by the E-utilities rate limit, not by CPUs. Use {local} for it."
)


def with_engine(
    config: Config, kind: str | None = None, scheduler: str | None = None, workers: int | None = None
) -> Config:
    """`config` with the command line's --engine/--scheduler/--workers applied over [engine].

    Raises ConfigError naming the option when the combination cannot run."""
    if kind is None and scheduler is None and workers is None:
        return config
    engine = config.engine
    kind = kind if kind is not None else ("dask" if (scheduler or workers) else engine.kind)
    if kind == "local" and scheduler:
        raise ConfigError("--scheduler only applies to --engine dask. Add --engine dask or leave it out.")
    if scheduler is not None:
        problem = _scheduler_address(scheduler)
        if problem:
            raise ConfigError(f"--scheduler {problem}")
    if scheduler and workers:
        raise ConfigError(
            "--workers sizes the local cluster started when there is no scheduler; "
            "a running scheduler has its own workers. Pass one of the two."
        )
    if kind == "dask" and config.search.source != "pubmed-xml":
        raise ConfigError("--engine dask " + DASK_NEEDS_LOCAL_FILES.format(local="--engine local"))
    if kind == "local":
        # The local engine's extraction processes: the command line's, else the config's (a
        # dask config's workers are processes on this machine too, unless they were a scheduler's).
        engine = EngineConfig(workers=workers if workers is not None else engine.workers)
    else:
        engine = EngineConfig(
            kind="dask",
            scheduler=scheduler if scheduler is not None else ("" if workers else engine.scheduler),
            workers=workers if workers is not None else (0 if scheduler else engine.workers),
        )
    return dataclasses.replace(config, engine=engine)


class _Validator:
    """Walks the parsed TOML, checking each key once and building the typed config."""

    def __init__(self, path: Path):
        self.path = path
        self.base = path.resolve().parent

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: [{key}] {message}")

    def table(self, data: dict, name: str, allowed: tuple[str, ...], required: bool = False) -> dict:
        value = data.get(name)
        if value is None:
            if required:
                raise self.fail(name, f"is missing. Add a [{name}] table.")
            return {}
        if not isinstance(value, dict):
            raise self.fail(name, f"must be a table, e.g. [{name}], not {_describe(value)}.")
        for key in value:
            if key not in allowed:
                raise self.fail(f"{name}.{key}", "is not a known key. " + _suggest(key, allowed))
        return value

    def get(
        self,
        table: dict,
        section: str,
        key: str,
        kind: type,
        default: Any = None,
        check: Callable[[Any], str | None] | None = None,
        required: bool = False,
    ) -> Any:
        if key not in table:
            if required:
                raise self.fail(f"{section}.{key}", "is missing. " + _EXAMPLES.get(f"{section}.{key}", ""))
            return default
        value = table[key]
        # TOML bools are ints in Python; never accept one for the other.
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise self.fail(f"{section}.{key}", f"must be {_KIND_NAMES[kind]}, not {_describe(value)}.")
        problem = check(value) if check else None
        if problem:
            raise self.fail(f"{section}.{key}", problem)
        return value

    def strings(self, table: dict, section: str, key: str, required: bool = False) -> tuple[str, ...]:
        values = self.get(table, section, key, list, [], required=required)
        for i, v in enumerate(values):
            if not isinstance(v, str) or not v.strip():
                raise self.fail(f"{section}.{key}", f"item {i + 1} must be a non-empty string, not {_describe(v)}.")
        return tuple(v.strip() for v in values)

    def paths(self, table: dict, section: str, key: str) -> tuple[Path, ...]:
        return tuple(self.base / p for p in self.strings(table, section, key))

    def config(self, data: dict, sha256: str) -> Config:
        for key in data:
            if (key not in _TABLES and key not in _SOURCE_TABLES) or "." in key:
                raise self.fail(key, "is not a known table. " + _suggest(key, tuple(_TABLES) + _SOURCE_TABLES))
        search = self.search(self.table(data, "search", _TABLES["search"], required=True))
        return Config(
            path=self.path,
            sha256=sha256,
            review=self.review(self.table(data, "review", _TABLES["review"], required=True)),
            search=search,
            screening=self.screening(self.table(data, "screening", _TABLES["screening"] + ("human",))),
            extraction=self.extraction(self.table(data, "extraction", _TABLES["extraction"])),
            retrieval=self.retrieval(self.table(data, "retrieval", _TABLES["retrieval"])),
            output=self.output(self.table(data, "output", _TABLES["output"], required=True)),
            refresh=self.refresh(self.table(data, "refresh", _TABLES["refresh"])),
            sources=self.api_sources(data, search.sources),
            imports=self.imports(data),
            engine=self.engine(self.table(data, "engine", _TABLES["engine"])),
        )

    def check_engine(self, config: Config) -> Config:
        if config.engine.kind == "dask" and config.search.source != "pubmed-xml":
            raise self.fail("engine.kind", '"dask" ' + DASK_NEEDS_LOCAL_FILES.format(local='kind = "local"'))
        return config

    def review(self, t: dict) -> ReviewConfig:
        name = self.get(t, "review", "name", str, required=True, check=_slug)
        return ReviewConfig(name=name, title=self.get(t, "review", "title", str, ""))

    def search(self, t: dict) -> SearchConfig:
        source = self.get(t, "search", "source", str, "pubmed", check=_one_of(SOURCES))
        sources = self.search_sources(t)
        if sources and "source" in t:
            raise self.fail(
                "search.source",
                f'and [search] sources are both set. Keep only sources, e.g. sources = ["{source}", "europepmc"].',
            )
        if sources:
            source = next((s for s in sources if s in SOURCES), "")
        groups = self.get(t, "search", "all_of", list, [], required=True)
        if not groups:
            raise self.fail("search.all_of", "is empty. " + _EXAMPLES["search.all_of"])
        parsed = []
        for i, group in enumerate(groups):
            terms = [group] if isinstance(group, str) else group
            if isinstance(terms, list) and not terms:
                raise self.fail("search.all_of", f"group {i + 1} is empty. " + _EXAMPLES["search.all_of"])
            if not isinstance(terms, list) or not all(isinstance(x, str) for x in terms):
                raise self.fail(
                    "search.all_of", f"group {i + 1} must be a non-empty list of terms. " + _EXAMPLES["search.all_of"]
                )
            for j, term in enumerate(terms):
                if not term.strip():
                    raise self.fail(
                        "search.all_of", f"group {i + 1}, term {j + 1} is an empty string. Remove it or write a term."
                    )
                problem = _meaningless_term(term.strip())
                if problem:
                    raise self.fail("search.all_of", f"term {term.strip()!r} {problem}")
            parsed.append(tuple(x.strip() for x in terms))
        field = self.get(t, "search", "field", str, "", check=_field_tag)
        paths = self.paths(t, "search", "paths")
        if source == "pubmed-xml" and not paths:
            raise self.fail(
                "search.paths",
                'is missing: source = "pubmed-xml" reads local files. '
                'Add paths = ["pubmed/*.xml.gz"] (relative to the config file).',
            )
        return SearchConfig(source=source, all_of=tuple(parsed), field=field, paths=paths, sources=sources or (source,))

    def search_sources(self, t: dict) -> tuple[str, ...]:
        """[search] sources: a non-empty list of distinct databases, at most one PubMed source."""
        if "sources" not in t:
            return ()
        sources = self.strings(t, "search", "sources")
        if not sources:
            raise self.fail(
                "search.sources",
                'is empty. List the databases to search, e.g. sources = ["pubmed", "europepmc", "openalex"].',
            )
        for name in sources:
            if name not in SEARCH_SOURCES:
                raise self.fail(
                    "search.sources",
                    f"{name!r} is not a source; use any of: "
                    + ", ".join(f'"{s}"' for s in SEARCH_SOURCES)
                    + ". Export files of other databases go in [[imports]] tables.",
                )
        if len(set(sources)) != len(sources):
            twice = next(s for s in sources if sources.count(s) > 1)
            raise self.fail("search.sources", f"lists {twice!r} twice. List each source once.")
        if "pubmed" in sources and "pubmed-xml" in sources:
            raise self.fail("search.sources", 'lists both "pubmed" and "pubmed-xml": both are PubMed. Keep one.')
        return sources

    def api_sources(self, data: dict, searched: tuple[str, ...]) -> dict[str, ApiSourceConfig]:
        """[sources.europepmc] / [sources.openalex]: options of the API sources that are searched."""
        tables = data.get("sources", {})
        if not isinstance(tables, dict):
            raise self.fail("sources", f"must hold tables such as [sources.europepmc], not {_describe(tables)}.")
        for name, table in tables.items():
            if name not in _API_LIMITS:
                raise self.fail(
                    f"sources.{name}", "is not a source with options. " + _suggest(name, tuple(_API_LIMITS))
                )
            if name not in searched:
                raise self.fail(
                    f"sources.{name}",
                    f'is set but "{name}" is not in [search] sources. Add it there, or remove this table.',
                )
            if not isinstance(table, dict):
                raise self.fail(f"sources.{name}", f"must be a table, not {_describe(table)}.")
        result = {}
        for name, (default, limit) in _API_LIMITS.items():
            if name in searched:
                t = tables.get(name, {})
                for key in t:
                    if key != "page_size":
                        raise self.fail(f"sources.{name}.{key}", "is not a known key. " + _suggest(key, ("page_size",)))
                result[name] = ApiSourceConfig(
                    page_size=self.get(t, f"sources.{name}", "page_size", int, default, check=_between(1, limit))
                )
        return result

    def imports(self, data: dict) -> tuple[ImportConfig, ...]:
        """[[imports]]: each a database name and the files exported from it."""
        tables = data.get("imports", [])
        if isinstance(tables, dict):
            tables = [tables]
        if not isinstance(tables, list):
            raise self.fail("imports", f"must be tables written [[imports]], not {_describe(tables)}.")
        result = []
        for number, t in enumerate(tables, 1):
            where = f"imports.{number}"
            if not isinstance(t, dict):
                raise self.fail(where, f"must be a table written [[imports]], not {_describe(t)}.")
            for key in t:
                if key not in ("database", "paths", "format"):
                    raise self.fail(
                        f"{where}.{key}", "is not a known key. " + _suggest(key, ("database", "paths", "format"))
                    )
            if "database" not in t:
                raise self.fail(
                    f"{where}.database",
                    "is missing. Name the database the files were exported "
                    'from, e.g. database = "Web of Science" (it is shown in PRISMA).',
                )
            database = self.get(t, where, "database", str)
            if not database.strip():
                raise self.fail(f"{where}.database", 'is empty. Name the database, e.g. database = "Scopus".')
            if database.strip().lower() in _API_NAMES:
                raise self.fail(
                    f"{where}.database",
                    f"{database!r} is also searched through its API; name "
                    'the export differently, e.g. "PubMed (export)".',
                )
            paths = self.paths(t, where, "paths")
            if not paths:
                raise self.fail(
                    f"{where}.paths",
                    'is missing. Add paths = ["exports/wos/*.txt"] (files, '
                    "folders or globs, relative to the config file).",
                )
            fmt = self.get(t, where, "format", str, "", check=_one_of(IMPORT_FORMATS))
            result.append(ImportConfig(database=database.strip(), paths=paths, format=fmt))
        names = [i.database for i in result]
        for name in names:
            if names.count(name) > 1:
                raise self.fail(
                    "imports",
                    f"two [[imports]] tables name the database {name!r}. Put all of its files in one table's paths.",
                )
        return tuple(result)

    def screening(self, t: dict) -> ScreeningConfig:
        min_year = self.get(t, "screening", "min_year", int, None, check=_year)
        max_year = self.get(t, "screening", "max_year", int, None, check=_year)
        if min_year is not None and max_year is not None and min_year > max_year:
            raise self.fail("screening.max_year", f"({max_year}) is before min_year ({min_year}). Swap them.")
        if t.get("languages") == []:
            raise self.fail(
                "screening.languages",
                "is empty, which would let no record through. List PubMed "
                'language codes, e.g. languages = ["eng"], or leave the key out to accept every '
                "language.",
            )
        languages = tuple(x.lower() for x in self.strings(t, "screening", "languages"))
        for lang in languages:
            if len(lang) != 3 or not lang.isalpha():
                raise self.fail(
                    "screening.languages",
                    f'{lang!r} is not a 3-letter PubMed language code. Use codes such as "eng", "ger", "fre".',
                )
        return ScreeningConfig(
            min_year=min_year,
            max_year=max_year,
            languages=languages,
            date_spans=self.get(t, "screening", "date_spans", str, "needs-review", check=_one_of(SPAN_POLICIES)),
            exclude_publication_types=self.strings(t, "screening", "exclude_publication_types"),
            require_abstract=self.get(t, "screening", "require_abstract", bool, False),
            human=self.human(self.table({"screening.human": t["human"]}, "screening.human", _TABLES["screening.human"]))
            if "human" in t
            else None,
        )

    def human(self, t: dict) -> HumanScreeningConfig:
        section = "screening.human"
        if "highlight" in t and not isinstance(t["highlight"], dict):
            raise self.fail(
                f"{section}.highlight",
                "must be a table, e.g. highlight = { include = "
                '["ketamine"], exclude = ["rat"] }, not ' + f"{_describe(t['highlight'])}.",
            )
        highlight = t.get("highlight", {})
        for key in highlight:
            if key not in ("include", "exclude"):
                raise self.fail(
                    f"{section}.highlight.{key}", "is not a known key. " + _suggest(key, ("include", "exclude"))
                )
        reviewers = self.strings(t, section, "reviewers", required=True)
        mode = self.get(t, section, "mode", str, "single", check=_one_of(HUMAN_MODES))
        if not reviewers:
            raise self.fail(f"{section}.reviewers", "is empty. " + _EXAMPLES[f"{section}.reviewers"])
        for name in reviewers:
            if _slug(name):
                raise self.fail(
                    f"{section}.reviewers", f"{name!r} is not a usable name; use letters, digits, - and _ only."
                )
        if len(set(reviewers)) != len(reviewers):
            raise self.fail(f"{section}.reviewers", "names a reviewer twice. Give each person once.")
        if mode == "dual" and len(reviewers) < 2:
            raise self.fail(
                f"{section}.mode",
                f'is "dual" but only {len(reviewers)} reviewer is named. '
                'Name at least two reviewers, or use mode = "single".',
            )
        reasons = self.strings(t, section, "exclusion_reasons")
        if len(set(reasons)) != len(reasons):
            raise self.fail(f"{section}.exclusion_reasons", "lists a reason twice. Give each reason once.")
        return HumanScreeningConfig(
            enabled=self.get(t, section, "enabled", bool, True),
            reviewers=reviewers,
            mode=mode,
            exclusion_reasons=reasons,
            highlight_include=self.strings(highlight, f"{section}.highlight", "include"),
            highlight_exclude=self.strings(highlight, f"{section}.highlight", "exclude"),
            target_recall=self.get(t, section, "target_recall", float, 0.95, check=_between(0.5, 0.999)),
            confidence=self.get(t, section, "confidence", float, 0.95, check=_between(0.5, 0.999)),
        )

    def extraction(self, t: dict) -> ExtractionConfig:
        if t.get("classes") == []:
            raise self.fail(
                "extraction.classes",
                "is empty, which would extract nothing. List entity classes, "
                'e.g. classes = ["DRUG", "DISEASE"], or leave the key out for all of them.',
            )
        classes = self.strings(t, "extraction", "classes") or ENTITY_CLASSES
        for c in classes:
            if c not in ENTITY_CLASSES:
                raise self.fail("extraction.classes", f"{c!r} is not an entity class. " + _suggest(c, ENTITY_CLASSES))
        lexicons = self.paths(t, "extraction", "lexicons")
        for p in lexicons:
            if p.is_dir():
                raise self.fail(
                    "extraction.lexicons", f"{p} is a folder, not a file. Name the lexicon's .toml file inside it."
                )
            if not p.is_file():
                raise self.fail(
                    "extraction.lexicons", f"file {p} does not exist. Paths are relative to the config file's folder."
                )
        model = self.get(t, "extraction", "model", str, None)
        model_path = self.base / model if model else None
        if model_path is not None and not model_path.is_dir():
            raise self.fail(
                "extraction.model",
                f"folder {model_path} does not exist. Run `make model` or point it at a trained spaCy pipeline.",
            )
        return ExtractionConfig(classes=classes, lexicons=lexicons, model=model_path)

    def retrieval(self, t: dict) -> RetrievalConfig:
        return RetrievalConfig(
            batch_size=self.get(t, "retrieval", "batch_size", int, 200, check=_between(1, 10000)),
            timeout=self.get(t, "retrieval", "timeout", float, 30.0, check=_between(0.1, 600)),
            max_attempts=self.get(t, "retrieval", "max_attempts", int, 5, check=_between(1, 20)),
        )

    def refresh(self, t: dict) -> RefreshConfig:
        return RefreshConfig(
            overlap_days=self.get(t, "refresh", "overlap_days", int, 7, check=_between(0, 365)),
            lock_wait=self.get(t, "refresh", "lock_wait", float, 0.0, check=_between(0, 86400)),
        )

    def engine(self, t: dict) -> EngineConfig:
        kind = self.get(t, "engine", "kind", str, "local", check=_one_of(ENGINES))
        scheduler = self.get(t, "engine", "scheduler", str, "", check=_scheduler_address)
        workers = self.get(t, "engine", "workers", int, 0, check=_between(0, 4096))
        if kind == "local" and scheduler:
            raise self.fail("engine.scheduler", 'only applies to kind = "dask". Add kind = "dask" or remove it.')
        if scheduler and workers:
            raise self.fail(
                "engine.workers",
                "sizes the local cluster started when there is no scheduler; "
                "a running scheduler has its own workers. Remove one of the two.",
            )
        return EngineConfig(kind=kind, scheduler=scheduler, workers=workers)

    def output(self, t: dict) -> OutputConfig:
        d = self.get(t, "output", "dir", str, required=True)
        keep = self.get(t, "output", "keep_raw_runs", int, 0, check=_between(0, 100000))
        rows = self.get(t, "output", "dataset_rows", int, 1_000_000, check=_between(1, 1_000_000_000))
        return OutputConfig(dir=self.base / d, keep_raw_runs=keep, dataset_rows=rows)


_TABLES = {
    "review": ("name", "title"),
    "search": ("source", "sources", "all_of", "field", "paths"),
    "screening": ("min_year", "max_year", "languages", "date_spans", "exclude_publication_types", "require_abstract"),
    "screening.human": (
        "enabled",
        "reviewers",
        "mode",
        "exclusion_reasons",
        "highlight",
        "target_recall",
        "confidence",
    ),
    "extraction": ("classes", "lexicons", "model"),
    "retrieval": ("batch_size", "timeout", "max_attempts"),
    "output": ("dir", "keep_raw_runs", "dataset_rows"),
    "refresh": ("overlap_days", "lock_wait"),
    "engine": ("kind", "scheduler", "workers"),
}
_SOURCE_TABLES = ("sources", "imports")
# API source -> (default page size, the most the API allows per page)
_API_LIMITS = {"europepmc": (1000, 1000), "openalex": (100, 200)}
_API_NAMES = {"pubmed", "europe pmc", "openalex"}
_EXAMPLES = {
    "review.name": 'Add name = "my-review" (letters, digits, - and _).',
    "search.all_of": 'Write groups of terms, e.g. all_of = [["ketamine"], ["depression"]] '
    "(groups are ANDed, terms within a group ORed).",
    "screening.human.reviewers": 'Add reviewers = ["ana", "ben"] (the names people pick in the workspace).',
    "output.dir": 'Add dir = "../outputs/my-review" (relative to the config file).',
}
_KIND_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list"}


def _describe(value: Any) -> str:
    kind = {
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)
    return f"{kind} ({value!r})" if not isinstance(value, (list, dict)) else kind


def _suggest(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"Did you mean {close[0]!r}?"
    return "Known keys: " + ", ".join(allowed) + "."


def _one_of(options: tuple[str, ...]) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        if value not in options:
            return f"is {value!r}; use one of: " + ", ".join(f'"{o}"' for o in options) + "."
        return None

    return check


def _between(low: float, high: float) -> Callable[[float], str | None]:
    def check(value: float) -> str | None:
        return None if low <= value <= high else f"is {value}; use a value from {low} to {high}."

    return check


def _scheduler_address(value: str) -> str | None:
    """A Dask scheduler address: scheme://host:port (or "" for none)."""
    if not value:
        return None
    scheme = next((s for s in SCHEDULER_SCHEMES if value.startswith(s)), None)
    rest = value[len(scheme) :] if scheme else ""
    host, _, port = rest.rpartition(":")
    if scheme is None or not host or not port.isdigit():
        return (
            f'is {value!r}; use a Dask scheduler address such as "tcp://scheduler-host:8786" '
            "(what `dask scheduler` prints), or leave it out to start a local cluster."
        )
    return None


def _year(value: int) -> str | None:
    return None if 1800 <= value <= 2100 else f"is {value}; use a four-digit year such as 2016."


def _slug(value: str) -> str | None:
    ok = value and all(c.isalnum() or c in "-_" for c in value)
    return None if ok else f"is {value!r}; use letters, digits, - and _ only."


_BOOLEAN_OPERATORS = ("and", "or", "not")


def _meaningless_term(term: str) -> str | None:
    """Why a search term would mean nothing (or everything) to PubMed, or None when it is a term."""
    if not term.strip("*").strip():
        return 'is only a wildcard; it would match everything. Write a word before the *, e.g. "depress*".'
    if term.casefold() in _BOOLEAN_OPERATORS:
        return "is a bare boolean operator. Groups are ANDed and terms ORed for you: write only the terms."
    if term.startswith("#") and term[1:].isdigit():
        return (
            "is a PubMed search-history reference, which means nothing outside a PubMed session. "
            "Write the terms themselves."
        )
    if '"' in term:
        return "contains a double quote. Write the phrase without quotes; phrases are quoted for you."
    return None


def _field_tag(value: str) -> str | None:
    return None if value.isalpha() else f'is {value!r}; use a PubMed field tag without brackets, e.g. "tiab".'
