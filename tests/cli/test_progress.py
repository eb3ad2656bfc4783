"""Progress on stderr: one rewritten line on a terminal, log lines elsewhere; counts without a total
(the records the Dask engine has read) ride along with the stage they belong to."""

from __future__ import annotations

import io
import logging
import sys

from pipeline import cli


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_files_and_records_share_one_rewritten_line(monkeypatch):
    monkeypatch.setattr(sys, "stderr", Terminal())
    show = cli._progress_printer()
    show("records", 30, -1)
    show("read", 1, 2)
    show("records", 1987, -1)
    show("read", 2, 2)
    show("extract", 5, 5)
    assert sys.stderr.getvalue() == "\rread: 1/2 files, 30 records\rread: 2/2 files, 1,987 records\n\rextract: 5/5\n"


def test_elsewhere_each_stage_logs_a_line_with_the_records_so_far(monkeypatch, caplog):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    show = cli._progress_printer()
    with caplog.at_level(logging.INFO, logger="pipeline"):
        for done in range(1, 3):
            show("records", 100 * done, -1)
            show("read", done, 2)
    assert [r.getMessage() for r in caplog.records] == ["read: 1/2 files, 100 records", "read: 2/2 files, 200 records"]
