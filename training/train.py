"""Retrain the shipped NER reproducibly: corpora -> spaCy training -> data/models/ner-biomed.

Usage: python -m training.train [--shared ../shared/data/ner] [--with-dev]

By default (what `make model` runs) it trains training/ner.cfg on the train splits of BC5CDR,
BioRED and NCBI-disease, keeps the checkpoint that scores best on BC5CDR dev and installs it:
the shipped model, and the source of the README's dev figures. Seeds are fixed in the config
([system] seed = 42) and the corpus files are rebuilt identically, so a rerun on the same machine
gives the same model.

--with-dev also trains on the dev splits (for a final model once the settings are fixed) and
installs the last checkpoint, since with dev in the training data "best on dev" means nothing;
its dev scores are then no longer an estimate of accuracy.
"""
from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

import srsly
from spacy.cli.train import train

import training.code  # noqa: F401  (registers the tokenizer callback and gazetteer component)
from training.make_corpus import build

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "training" / "ner.cfg"
TARGET = REPO / "data" / "models" / "ner-biomed"
BUILD = REPO / "build"


def install(checkpoint: Path, target: Path = TARGET) -> None:
    """Copy a trained checkpoint into the repo and name it in meta.json."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(checkpoint, target)
    meta = srsly.read_json(target / "meta.json")
    meta.update(name="ner_biomed", version="1.0.0",
                description="Chemical, Disease and Gene/Protein NER for PubMed abstracts with drug/disease "
                            "dictionary features; trained by training/train.py on BC5CDR, BioRED and "
                            "NCBI-disease.")
    srsly.write_json(target / "meta.json", meta)
    log.info("installed %s", target)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data" / "ner",
                        help="the folder holding BC5CDR/, BioRED/ and NCBI-disease/")
    parser.add_argument("--with-dev", action="store_true",
                        help="train on train + dev splits and install the last checkpoint")
    parser.add_argument("--target", type=Path, default=TARGET, help="where to install (default: %(default)s)")
    parser.add_argument("--max-steps", type=int, default=None,
                        help="stop after N steps instead of the config's (for a quick check of the set-up)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    corpus = BUILD / "corpus"
    build(args.shared, corpus)
    out = BUILD / ("model-with-dev" if args.with_dev else "model")
    overrides = {"paths.train": str(corpus / ("train_dev.spacy" if args.with_dev else "train.spacy")),
                 "paths.dev": str(corpus / "dev.spacy")}
    if args.max_steps is not None:
        overrides.update({"training.max_steps": args.max_steps, "training.eval_frequency": args.max_steps})
    train(CONFIG, out, overrides=overrides)
    install(out / ("model-last" if args.with_dev else "model-best"), args.target)


if __name__ == "__main__":
    main()
