"""`make demo`: the ketamine review end to end with no network and no ../shared.

The project's local E-utilities server (eutils_server.py, bound to 127.0.0.1 only) serves the
sample corpus the tests use (tests/fixtures/ketamine_corpus.xml: records written for the demo, not
real PubMed data); the real command line runs config/ketamine-depression.toml against it, writing
every output into outputs/demo/; the server is stopped and the demo prints where to look.

    python -m tests.support.demo [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tests.support.eutils_server import EutilsServer, load_corpus

REPO = Path(__file__).resolve().parent.parent.parent
CORPUS = REPO / "tests" / "fixtures" / "ketamine_corpus.xml"
CONFIG = REPO / "config" / "ketamine-depression.toml"
DEMO_OUT = REPO / "outputs" / "demo"


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the pipeline's exit code."""
    parser = argparse.ArgumentParser(prog="python -m tests.support.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEMO_OUT, help="output folder (default: outputs/demo)")
    args = parser.parse_args(argv)
    from pipeline.cli import main as pipeline_main

    saved = {k: os.environ.get(k) for k in ("EUTILS_BASE_URL", "NCBI_EMAIL", "NCBI_API_KEY")}
    print(
        f"Demo: serving the sample corpus {CORPUS.relative_to(REPO)} (records written for the demo, "
        "not real PubMed data) from a local E-utilities server; no network is used.",
        flush=True,
    )
    try:
        with EutilsServer(load_corpus(CORPUS)) as server:
            os.environ["EUTILS_BASE_URL"] = server.base_url
            os.environ["NCBI_EMAIL"] = "demo@example.org"
            os.environ.pop("NCBI_API_KEY", None)  # never sent anywhere, not even to the local server
            try:
                pipeline_main(["run", "--config", str(CONFIG), "--out", str(args.out)])
                code = 0
            except SystemExit as exc:
                code = int(exc.code or 0)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    if code == 0:
        print(
            f"\nDemo finished. Look in {args.out}/:\n"
            f"  report.html        open it in a browser: counts, PRISMA flow, terms, evidence table\n"
            f"  prisma.svg         the PRISMA 2020 flow diagram (prisma.json holds the counts)\n"
            f"  evidence.csv       one row per included record with its entity mentions\n"
            f"  records.csv        every record with its decision, reason, field and value\n"
            f"  records.ris        the included records for Rayyan, ASReview, Covidence, Zotero\n"
            f"  run.json           what ran, with which versions\n"
            f"`make run` runs the same review against NCBI's real PubMed (it needs the network)."
        )
    return code


if __name__ == "__main__":
    sys.exit(main())
