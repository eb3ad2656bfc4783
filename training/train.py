"""Retrain the shipped NER reproducibly: corpora -> spaCy training -> data/models/ner-biomed.

Usage: python -m training.train [--shared ../shared/data/ner] [--final | --dev-run]

--final (the default, what `make model` runs) trains on the train and dev splits of BC5CDR,
BioRED and NCBI-disease with the settings chosen on BC5CDR dev, for the fixed number of steps in
training/ner.cfg, and installs the last model. --dev-run trains on the train splits only, keeps
the checkpoint that scores best on BC5CDR dev and installs nothing: that is how the settings and
the README's dev figures were obtained. Seeds are fixed in the config ([system] seed).
"""
from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

from spacy.cli.train import train

import training.code  # noqa: F401  (registers the tokenizer callback and gazetteer component)
from training.make_corpus import build

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "training" / "ner.cfg"
TARGET = REPO / "data" / "models" / "ner-biomed"
BUILD = REPO / "build"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data" / "ner")
    parser.add_argument("--dev-run", action="store_true", help="train on train splits; report dev; install nothing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    corpus = BUILD / "corpus"
    build(args.shared, corpus)
    out = BUILD / ("dev-run" if args.dev_run else "final")
    overrides = {"paths.train": str(corpus / ("train.spacy" if args.dev_run else "train_dev.spacy")),
                 "paths.dev": str(corpus / "dev.spacy")}
    train(CONFIG, out, overrides=overrides)
    if args.dev_run:
        log.info("dev run finished: %s (not installed)", out / "model-best")
        return
    # With dev in the training data, "best on dev" means nothing: ship the last checkpoint.
    if TARGET.exists():
        shutil.rmtree(TARGET)
    shutil.copytree(out / "model-last", TARGET)
    log.info("installed %s", TARGET)


if __name__ == "__main__":
    main()
