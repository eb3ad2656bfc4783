"""A non-editable install works: the wheel `pip install .` builds carries every package file (the
shipped NER model, the report's template, CSS and JS), and the installed package runs a review from
another working directory, finding nothing through the checkout.

The wheel is built offline from a copy of the package (an in-tree build would leave build/ and
*.egg-info in the checkout) with the venv's setuptools, installed with `pip install --target` into a
temporary folder, and run with only that folder on PYTHONPATH; its dependencies come from the venv.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from tests.support.expected import EXPECTED_DECISIONS, OUTPUTS
from tests.support.html_dom import parse_html
from tests.support.paths import FIXTURES, REPO, TESTS, subprocess_env

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("setuptools.command.bdist_wheel") is None,
    reason="building a wheel offline needs setuptools>=70.1 in the venv (`make install` installs the "
    "pinned one from the test extras)",
)

PACKAGE = REPO / "pipeline"
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


def _pip(*args: str, cwd: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def _package_files() -> set[str]:
    """Every file of the package in the checkout, as the wheel names it."""
    return {
        p.relative_to(REPO).as_posix()
        for p in PACKAGE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """pipeline-*.whl, built offline from a copy of the checkout's package."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(PACKAGE, src / "pipeline", ignore=IGNORED)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    _pip(
        "wheel", "--no-deps", "--no-build-isolation", "--no-index", "--wheel-dir", str(tmp / "dist"), str(src), cwd=tmp
    )
    [built] = (tmp / "dist").glob("pipeline-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The wheel installed (not editable) into a folder of its own."""
    target = tmp_path_factory.mktemp("site")
    _pip("install", "--no-deps", "--no-index", "--target", str(target), str(wheel), cwd=target)
    return target


def test_the_wheel_holds_every_package_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    package = {n for n in names if n.startswith("pipeline/")}
    assert package == _package_files()
    # Spelled out, the files a review cannot run without:
    assert {
        "pipeline/extraction/model/ner-biomed/meta.json",
        "pipeline/extraction/model/ner-biomed/ner/model",
        "pipeline/extraction/model/ner-biomed/gazetteer_features/terms.json.gz",
        "pipeline/outputs/templates/report.html.j2",
        "pipeline/outputs/static/report.css",
        "pipeline/outputs/static/report.js",
    } <= package


def test_an_installed_wheel_runs_a_review_from_another_folder(installed, tmp_path, ketamine_outputs):
    review = tmp_path / "review"
    shutil.copytree(REPO / "config", review / "config")
    (review / "corpus").mkdir()
    shutil.copy(FIXTURES / "ketamine_corpus.xml", review / "corpus" / "ketamine.xml")
    config = review / "config" / "ketamine-depression.toml"
    text = config.read_text().replace('dir = "../outputs/ketamine-depression"', 'dir = "../out"')
    config.write_text(text.replace('source = "pubmed"', 'source = "pubmed-xml"\npaths = ["../corpus/*.xml"]'))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # Only the installed folder (and the network guard) on the path: not the checkout.
    env = subprocess_env(PYTHONPATH=f"{TESTS / 'guard'}:{installed}")

    where = subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "import pipeline.extraction.ner as n, pipeline.outputs.report as r; "
                "print(n.DEFAULT_MODEL); print(r.__file__)"
            ),
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert where.returncode == 0, where.stderr
    assert [Path(line).is_relative_to(installed) for line in where.stdout.splitlines()] == [True, True]

    # The config is named relative to the working directory; the paths inside it resolve from its folder.
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "--config", "../review/config/ketamine-depression.toml"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert list(elsewhere.iterdir()) == []
    out = review / "out"
    assert sorted(p.name for p in out.iterdir() if p.name in OUTPUTS) == sorted(OUTPUTS)
    records = pd.read_csv(out / "records.csv", dtype=str)
    assert {r.pmid: (r.decision, r.reason) for r in records.itertuples()} == EXPECTED_DECISIONS
    # The installed model extracts what the checkout's does.
    for name in ("evidence.csv", "mentions.csv"):
        assert (out / name).read_text(encoding="utf-8") == (ketamine_outputs / name).read_text(encoding="utf-8"), name
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["status"] == "completed"
    page = parse_html((out / "report.html").read_text(encoding="utf-8"))
    assert page.by_id("count-included").find("b").text == "4"
    assert page.find("script").text == (PACKAGE / "outputs" / "static" / "report.js").read_text(encoding="utf-8")
