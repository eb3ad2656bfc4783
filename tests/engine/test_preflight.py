"""`validate` rejects everything `run` would, and `run` checks it all before touching the network
(issue 13, items 5 and 6): lexicons, the output folder, local paths, EUTILS_BASE_URL."""

from __future__ import annotations

import errno
import json
import os
import stat

import pytest


@pytest.fixture
def config_with(review_config):
    """The ketamine config (output folder inside tmp_path) with `replace` pairs applied."""

    def make(*pairs: tuple[str, str]):
        text = review_config.read_text()
        for old, new in pairs:
            assert old in text, old
            text = text.replace(old, new)
        review_config.write_text(text)
        return review_config

    return make


def lexicon(review_config, text: str):
    path = review_config.parent / "lexicons" / "ketamine-review.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "text, problem",
    [
        ("[DRUG\n", "not valid TOML: "),
        ('[DRUGS]\n"ketamine" = []\n', "[DRUGS] is not an entity class. Did you mean 'DRUG'?"),
        ("DRUG = 3\n", "DRUG must be a table of terms"),
        ('[DRUG]\n"ketamine" = "Ketalar"\n', '[DRUG] "ketamine" must be a list of synonyms, not a string.'),
        ('[DRUG]\n"ketamine" = [1]\n', '[DRUG] "ketamine" synonym 1 must be a non-empty string, not an integer'),
    ],
)
def test_a_bad_lexicon_fails_validate_and_run_before_any_request(review_config, invoke, server, text, problem):
    path = lexicon(review_config, text)
    for command in ("validate", "run"):
        result = invoke(command, "--config", review_config)
        assert result.exit_code == 2, (command, result.stderr)
        assert result.stderr.startswith(f"Error: {path}: ") and problem in result.stderr
    assert server.requests == []


def test_an_output_folder_that_is_a_file(review_config, invoke, server):
    out = (review_config.parent.parent / "out").resolve()
    out.write_text("not a folder")
    for command in ("validate", "run"):
        result = invoke(command, "--config", review_config)
        assert result.exit_code == 2
        assert result.stderr == (
            f"Error: {out}: the output folder is a file. Set [output] dir in "
            f"{review_config} (or pass --out) to a folder.\n"
        )
    assert server.requests == []


@pytest.mark.parametrize("code, why", [(errno.EACCES, "permission denied"), (errno.EROFS, "read-only file system")])
def test_an_output_folder_that_cannot_be_written(review_config, invoke, server, monkeypatch, code, why):
    out = (review_config.parent.parent / "out").resolve()
    out.mkdir()
    from pipeline.engine import preflight

    monkeypatch.setattr(preflight, "_writable", lambda folder: code)
    for command in ("validate", "run"):
        result = invoke(command, "--config", review_config)
        assert result.exit_code == 2
        assert result.stderr == (
            f"Error: {out}: the output folder cannot be written ({why}). Choose "
            "another folder with [output] dir or --out, or make this one writable.\n"
        )
    assert server.requests == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any folder whatever its mode")
def test_a_folder_without_write_permission(review_config, invoke, tmp_path):
    out = tmp_path / "locked"
    out.mkdir()
    out.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        result = invoke("run", "--config", review_config, "--out", out)
        assert result.exit_code == 2 and "cannot be written (permission denied)" in result.stderr
    finally:
        out.chmod(stat.S_IRWXU)


def test_the_writable_probe_sees_a_real_folder(tmp_path):
    from pipeline.engine import preflight

    assert preflight._writable(tmp_path) is None


@pytest.mark.parametrize("folder", ["/", "/usr", "/etc/pipeline", "/home", "/tmp", "~"])
def test_system_folders_are_refused(invoke, review_config, server, folder):
    target = os.path.expanduser(folder)
    result = invoke("run", "--config", review_config, "--out", target)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {target}: refusing to write a review's outputs into a system folder. "
        "Set [output] dir (or pass --out) to a folder of its own, e.g. "
        "outputs/ketamine-depression.\n"
    )
    assert server.requests == []


def test_another_reviews_folder_is_never_taken_over(invoke, review_config, server, tmp_path):
    out = tmp_path / "shared-out"
    assert invoke("run", "--config", review_config, "--out", out).exit_code == 0
    before = (out / "records.csv").read_bytes()
    other = review_config.parent / "other.toml"
    other.write_text(review_config.read_text().replace('name = "ketamine-depression"', 'name = "other-review"'))
    requests = len(server.requests)
    for command in ("validate", "run"):
        args = ("--out", out) if command == "run" else ()
        if command == "validate":
            other.write_text(other.read_text().replace('dir = "../out"', f'dir = "{out}"'))
        result = invoke(command, "--config", other, *args)
        assert result.exit_code == 2
        assert result.stderr == (
            f"Error: {out}: this folder holds the outputs of review 'ketamine-depression', "
            "not 'other-review'; running here would report its records as withdrawn. "
            "Use a folder of its own for this review.\n"
        )
    assert len(server.requests) == requests
    assert (out / "records.csv").read_bytes() == before
    assert json.loads((out / "run.json").read_text())["review"] == "ketamine-depression"


def test_a_non_empty_folder_that_holds_no_review_is_refused(invoke, review_config, server, tmp_path):
    out = tmp_path / "documents"
    out.mkdir()
    (out / "thesis.docx").write_text("mine")
    result = invoke("run", "--config", review_config, "--out", out)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {out}: the folder is not empty and holds no review's outputs "
        "(e.g. 'thesis.docx'). Use an empty or new folder for the review's outputs.\n"
    )
    assert server.requests == []


def test_local_paths_that_match_nothing_fail_validate(config_with, invoke):
    path = config_with(('source = "pubmed"', 'source = "pubmed-xml"\npaths = ["missing/*.xml"]'))
    result = invoke("validate", "--config", path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: [search.paths] pattern '{path.parent / 'missing/*.xml'}' matches no file. "
        "Check the pattern; paths are relative to the config file's folder.\n"
    )


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/eutils/",
        "http:///entrez/eutils/",
        "127.0.0.1:8080/",
        "http://127.0.0.1:port/entrez/eutils/",
        "http://127.0.0.1:99999/",
    ],
)
def test_a_bad_eutils_base_url_fails_validate_and_run_before_any_request(review_config, invoke, monkeypatch, url):
    monkeypatch.setenv("EUTILS_BASE_URL", url)
    for command in ("validate", "run"):
        result = invoke(command, "--config", review_config)
        assert result.exit_code == 2, result.stderr
        assert result.stderr == (
            f"Error: EUTILS_BASE_URL {url!r} is not an http(s) URL with a host and a valid "
            "port, e.g. https://eutils.ncbi.nlm.nih.gov/entrez/eutils/ or "
            "http://127.0.0.1:8080/entrez/eutils/. Fix it, or unset it to use NCBI.\n"
        )


def test_outputs_follow_the_umask(invoke, review_config, server, tmp_path):
    old = os.umask(0o022)
    try:
        assert invoke("run", "--config", review_config, "--out", tmp_path / "o").exit_code == 0
    finally:
        os.umask(old)
    for name in ("records.csv", "report.html", "run.json", "prisma.svg", "records.parquet"):
        assert stat.S_IMODE((tmp_path / "o" / name).stat().st_mode) == 0o644, name


def test_a_full_disk_is_exit_3_naming_the_folder(invoke, review_config, server, monkeypatch, tmp_path):
    real = os.fsync

    def full(fd):  # the disk fills as records.csv is written
        if ".records.csv." in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd)

    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "o"
    result = invoke("run", "--config", review_config, "--out", out)
    monkeypatch.setattr(os, "fsync", real)
    assert result.exit_code == 3
    assert result.stderr.endswith(
        f"Error: {out}: the disk is full (writing records.csv). Free some space "
        "and run again; the previous outputs were left as they were.\n"
    )
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


# --- [[imports]]: validate rejects what run would, with the same message and exit code -----------

RIS = "TY  - JOUR\nTI  - Ketamine for depression\nAU  - Rossi, Anna\nPY  - 2021\nER  - \n"


def _imports(review_config, paths: str, fmt: str = "") -> None:
    extra = f'\nformat = "{fmt}"' if fmt else ""
    text = review_config.read_text()
    review_config.write_text(text + f'\n[[imports]]\ndatabase = "Scopus"\npaths = {paths}{extra}\n')


def _exports(review_config):
    folder = review_config.parent / "exports"
    folder.mkdir(exist_ok=True)
    return folder


def _both_refuse(invoke, review_config, server, message: str) -> None:
    for command in ("validate", "run"):
        result = invoke(command, "--config", review_config)
        assert (command, result.exit_code) == (command, 2), result.stderr
        assert result.stderr == f"Error: {message}\n", command
    assert server.requests == []


def test_imports_that_are_readable_exports_pass_validate(review_config, invoke):
    (_exports(review_config) / "scopus.ris").write_text(RIS)
    _imports(review_config, '["exports/*.ris"]')
    result = invoke("validate", "--config", review_config)
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize(
    "paths, problem",
    [
        ('["exports/*.ris"]', "pattern '{folder}/*.ris' matches no file"),
        ('["exports/scopus.ris"]', "file '{folder}/scopus.ris' does not exist"),
        ('["exports"]', "folder '{folder}' holds no file"),
    ],
)
def test_import_paths_that_match_nothing(review_config, invoke, server, paths, problem):
    folder = _exports(review_config)
    _imports(review_config, paths)
    _both_refuse(
        invoke,
        review_config,
        server,
        f"[[imports]] 'Scopus': {problem.format(folder=folder)}. Check the path; paths are relative to the "
        "config file's folder.",
    )


def test_an_unreadable_import_file(review_config, invoke, server, monkeypatch):
    from pathlib import Path

    path = _exports(review_config) / "scopus.ris"
    path.write_text(RIS)
    _imports(review_config, '["exports/scopus.ris"]')
    real = Path.read_bytes

    def denied(self):  # the tests run as root, which chmod cannot lock out
        if self == path:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    _both_refuse(
        invoke,
        review_config,
        server,
        f"{path}: cannot read the import file (Permission denied). Make it readable, or remove it from "
        "the [[imports]] paths of the config.",
    )


@pytest.mark.parametrize(
    "content, fmt, problem",
    [
        (
            b"Dear colleague,\nplease find the references attached.\n",
            "",
            "not a recognised export file (it starts 'Dear colleague,'). Readable formats: RIS, PubMed "
            "MEDLINE text, Web of Science plain text or tab-delimited, Ovid display text, BibTeX, and CSV with a "
            'title column. Export the records in one of them, or name the format with format = "ris" (or '
            '"medline", "wos", "wos-tab", "ovid", "csv", "bibtex") in the file\'s [[imports]] table.',
        ),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
            "",
            "a binary file, not an export. Export the records as RIS, MEDLINE, Web of Science text or CSV.",
        ),
        (b"\n  \n", "", "the file is empty. Export the records again, or remove it from [[imports]] paths."),
        (
            b"Authors,Year,Source\nRossi A.,2021,J Tests\n",
            "csv",
            "the header has no title column (it has: Authors, Year, Source). Export with the title column, "
            "or rename it to Title.",
        ),
    ],
)
def test_an_import_file_that_is_not_an_export(review_config, invoke, server, content, fmt, problem):
    folder = _exports(review_config)
    (folder / "good.ris").write_text(RIS)
    (folder / "scopus.txt").write_bytes(content)
    # After a good file (the problem is found file by file); `format` holds for every file of a table.
    _imports(review_config, '["exports/scopus.txt"]' if fmt else '["exports/good.ris", "exports/scopus.txt"]', fmt)
    _both_refuse(invoke, review_config, server, f"{folder / 'scopus.txt'}: {problem}")
