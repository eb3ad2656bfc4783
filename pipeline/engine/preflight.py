"""Everything `run` would refuse, checked before it touches the network or the output folder.

`validate` runs the same checks, so a config that validates does not fail later for a reason it
could have named: the lexicon files (TOML syntax, classes, shapes, value types), the output folder
(a file, not writable, read-only, a system folder, another review's or someone's non-empty folder),
local paths that match nothing, [[imports]] files (paths that match nothing, unreadable files,
files that are no recognisable export), and an EUTILS_BASE_URL that is not an http(s) URL with a host and
a valid port. Each problem is a ConfigError (exit 2) naming what is wrong and the fix.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.config import Config
from pipeline.errors import ConfigError
from pipeline.sources.imports import check_export
from pipeline.sources.imports.source import expand as expand_imports
from pipeline.sources.pubmed_xml import local as local_source
from pipeline.store.state import STATE_FILE, stored_review

# Folders a review's outputs must never go into: the root, the system's own trees (and anything
# under them), and the shared top-level folders of users and temporary files.
SYSTEM_TREES = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/proc", "/sbin", "/sys", "/usr")
SYSTEM_FOLDERS = ("/", "/home", "/media", "/mnt", "/opt", "/root", "/run", "/srv", "/tmp", "/var", "/var/tmp")
# What a run writes into its folder: a folder holding only these is a review's, even without a state.
REVIEW_FILES = (
    "state.sqlite",
    ".pipeline.lock",
    "raw",
    "run.json",
    "prisma.json",
    "prisma.svg",
    "records.csv",
    "records.parquet",
    "records",  # the tables as Parquet datasets, past [output] dataset_rows
    "evidence",
    "mentions",
    "parts",  # --engine dask: the input files' parts
    "records.ris",
    "evidence.csv",
    "evidence.parquet",
    "mentions.csv",
    "mentions.parquet",
    "changes.csv",
    "report.html",
)
_WHY = {errno.EACCES: "permission denied", errno.EPERM: "permission denied", errno.EROFS: "read-only file system"}


def check(config: Config, out: Path, base_url: str | None) -> None:
    """Raise ConfigError for the first problem `run` would meet. base_url: None when no E-utilities
    request will be made (a local source or an offline replay)."""
    check_lexicons(config)
    check_output_folder(out, config)
    if config.search.source == "pubmed-xml":
        local_source.expand_paths(config.search.paths)
    elif base_url is not None:
        check_base_url(base_url)
    check_imports(config)


def check_imports(config: Config) -> None:
    """Every [[imports]] path names files, each readable and a recognisable export (the format found
    from its content as the run finds it, or the table's `format`); the records are read by the run."""
    for table in config.imports:
        for path in expand_imports(table.database, table.paths):
            check_export(path, table.format or None)


def check_lexicons(config: Config) -> None:
    # Only the TOML reader: spaCy is not needed to find a typo in a reviewer's file.
    from pipeline.extraction.components.lexicon import load_lexicon

    for path in config.extraction.lexicons:
        load_lexicon(path)


def check_output_folder(out: Path, config: Config) -> None:
    """The folder exists as a folder (or can be made), can be written, and is this review's."""
    out = Path(out)
    resolved = Path(os.path.abspath(out.expanduser()))
    text = str(resolved)
    home = os.path.expanduser("~")
    if text in SYSTEM_FOLDERS or text == home or any(text == t or text.startswith(t + "/") for t in SYSTEM_TREES):
        raise ConfigError(
            f"{resolved}: refusing to write a review's outputs into a system folder. Set [output] dir "
            f"(or pass --out) to a folder of its own, e.g. outputs/{config.review.name}."
        )
    if resolved.exists() and not resolved.is_dir():
        raise ConfigError(
            f"{resolved}: the output folder is a file. Set [output] dir in {config.path} (or pass --out) to a folder."
        )
    existing = resolved
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(
            f"{existing}: a file stands where a folder of {resolved} should be. Set [output] dir "
            f"in {config.path} (or pass --out) to a folder."
        )
    problem = _writable(existing)
    if problem is not None:
        raise ConfigError(
            f"{resolved}: the output folder cannot be written ({_WHY.get(problem, os.strerror(problem))}). "
            "Choose another folder with [output] dir or --out, or make this one writable."
        )
    if existing != resolved:
        return  # a new folder: nobody else's
    owner = stored_review(resolved) if (resolved / STATE_FILE).is_file() else None
    if owner is not None and owner != config.review.name:
        raise ConfigError(
            f"{resolved}: this folder holds the outputs of review {owner!r}, not "
            f"{config.review.name!r}; running here would report its records as withdrawn. "
            "Use a folder of its own for this review."
        )
    if owner is None and not (resolved / STATE_FILE).is_file():
        others = sorted(p.name for p in resolved.iterdir() if not _review_file(p.name))
        if others:
            raise ConfigError(
                f"{resolved}: the folder is not empty and holds no review's outputs (e.g. {others[0]!r}). "
                "Use an empty or new folder for the review's outputs."
            )


def _review_file(name: str) -> bool:
    return (
        name in REVIEW_FILES
        or name.startswith((f"{STATE_FILE}-", "export-"))
        or (name.startswith(".") and name.endswith(".tmp"))
    )


def _writable(folder: Path) -> int | None:
    """None when files can be created in `folder`, else the errno that says why not.

    access(2) answers EROFS for a read-only file system even to root; EACCES for permissions.
    """
    if os.access(folder, os.W_OK | os.X_OK):
        return None
    try:
        os.statvfs(folder)
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return errno.EROFS
    except OSError:
        pass
    return errno.EACCES


def check_base_url(url: str) -> None:
    """An http(s) URL with a host and, when given, a port that is a number from 1 to 65535."""
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or 0 < parts.port
    except ValueError:
        port_ok, parts = False, None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise ConfigError(
            f"EUTILS_BASE_URL {url!r} is not an http(s) URL with a host and a valid port, e.g. "
            "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/ or http://127.0.0.1:8080/entrez/eutils/. "
            "Fix it, or unset it to use NCBI."
        )
