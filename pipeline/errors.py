"""Exception types and the exit codes they map to.

`cli.py` is the one place that turns these into messages and exit codes; library code raises them.
"""
from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Exit codes a user or a scheduler can act on (documented in the README)."""

    OK = 0
    INTERNAL = 1          # a bug: please report it
    CONFIG = 2            # the config file or a command-line option is wrong: fix it
    UNAVAILABLE = 3       # PubMed/E-utilities could not be reached or kept failing: retry later
    INCOMPLETE = 4        # records are missing or could not be reconciled: nothing was published
    LOCKED = 5            # another run holds the review's lock


class PipelineError(Exception):
    """Base class: an expected failure with a message meant for the user."""

    exit_code = ExitCode.INTERNAL


class ConfigError(PipelineError):
    """A config file or option is invalid. The message names the file, the key and the fix."""

    exit_code = ExitCode.CONFIG


class EutilsUnavailable(PipelineError):
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
