"""Exception types and the exit codes they map to.

Every exception type declares its exit code as the class attribute `exit_code` (tests/test_errors.py
walks them all). `cli.py` is the one place that turns them into messages and exit codes; library
code raises them.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Exit codes a user or a scheduler can act on (documented in the README)."""

    OK = 0
    INTERNAL = 1  # a bug: please report it
    CONFIG = 2  # usage: the config, an option or the query is wrong (or refused): fix it
    UNAVAILABLE = 3  # a source (PubMed/E-utilities, ...) could not be reached or kept failing: retry later
    INCOMPLETE = 4  # records are missing or could not be reconciled: nothing was published
    LOCKED = 5  # another run holds the review's lock
    INTERRUPTED = 130  # Ctrl-C: the previous tables were left as they were
    TERMINATED = 143  # SIGTERM (a scheduler or `kill`): the previous tables were left as they were


class PipelineError(Exception):
    """Base class: an expected failure with a message meant for the user."""

    exit_code = ExitCode.INTERNAL


class ConfigError(PipelineError):
    """A config file or option is invalid. The message names the file, the key and the fix."""

    exit_code = ExitCode.CONFIG


class RequestRejected(PipelineError):
    """An API refused a request as wrong (an HTTP 4xx other than 429): the query, a parameter, the API
    key or the base URL. Retrying cannot help; the message carries the API's own words."""

    exit_code = ExitCode.CONFIG


class QueryRejected(RequestRejected):
    """A source refused the search query built from the config (a syntax error, a phrase or field it
    does not know): fix the search terms."""

    exit_code = ExitCode.CONFIG


class SourceUnavailable(PipelineError):
    """A source's API did not answer usefully, even after the retries."""

    exit_code = ExitCode.UNAVAILABLE


class EutilsUnavailable(SourceUnavailable):
    """E-utilities did not answer usefully, even after the retries."""

    exit_code = ExitCode.UNAVAILABLE


class IncompleteRetrieval(PipelineError):
    """Some records PubMed reported could not be retrieved; no table is published as complete."""

    exit_code = ExitCode.INCOMPLETE


class ClusterUnavailable(PipelineError):
    """The Dask scheduler named by --scheduler / [engine] scheduler could not be reached."""

    exit_code = ExitCode.UNAVAILABLE


class FilesFailed(PipelineError):
    """Input files failed on the cluster even after retries; nothing was committed (the finished
    files' parts are kept and reused by the next run)."""

    exit_code = ExitCode.INCOMPLETE


class RunLocked(PipelineError):
    """Another process is running this review."""

    exit_code = ExitCode.LOCKED


class OutputsNotFound(PipelineError):
    """`show` or `report` was pointed at a folder that holds no completed run's outputs."""

    exit_code = ExitCode.CONFIG


class WorkspaceError(PipelineError):
    """A screening decision, reviewer or workspace option is not valid (the page shows the message)."""

    exit_code = ExitCode.CONFIG


class OutputFolderError(PipelineError):
    """The output folder cannot be written (permissions, read-only file system): fix it or choose another."""

    exit_code = ExitCode.CONFIG


class DiskFull(PipelineError):
    """The disk filled while writing outputs: free space and run again (the previous outputs stay)."""

    exit_code = ExitCode.UNAVAILABLE


class DatasetError(PipelineError):
    """A labelled screening dataset (for `simulate`) cannot be used; the message names the file and the fix."""

    exit_code = ExitCode.CONFIG
