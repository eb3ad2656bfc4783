"""`make demo`: runs offline from a fresh clone, with no ../shared beside it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

from tests.support.expected import OUTPUTS
from tests.support.paths import REPO, TESTS, subprocess_env


def test_demo_runs_from_a_fresh_clone_with_no_network_and_no_shared(tmp_path):
    clone = tmp_path / "clone"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        if (REPO / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, clone / name)
    assert not (tmp_path / "shared").exists()
    env = subprocess_env()
    env["PYTHONPATH"] = f"{TESTS / 'guard'}:{clone}"  # the network guard, then the clone's code
    env.pop("EUTILS_BASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.demo"], cwd=clone, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    out = clone / "outputs" / "demo"
    for name in OUTPUTS + ["prisma.svg"]:
        assert (out / name).is_file(), name
    assert f"Demo finished. Look in {out}/:" in done.stdout
    assert "report.html        open it in a browser" in done.stdout
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["status"] == "completed"
    assert re.match(r"http://127\.0\.0\.1:\d+/entrez/eutils/$", manifest["eutils_base_url"])
    assert manifest["counts"]["identified"] == 10


def test_make_demo_exists_and_the_readme_opens_with_it():
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^demo: .*## ", makefile, re.MULTILINE)
    assert "-m tests.support.demo" in makefile
    readme = (REPO / "README.md").read_text()
    first = readme[: readme.index("\n## ", readme.index("\n## ") + 1)]  # up to the second section
    assert "make demo" in first and "outputs/demo/" in first
    assert "not real PubMed data" in first and "`make run` needs" in first
