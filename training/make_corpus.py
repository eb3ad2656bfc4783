"""Convert the shared PubTator corpora into spaCy DocBin files for `spacy train`.

Usage: python -m training.make_corpus SHARED_NER_DIR OUT_DIR

Writes OUT_DIR/train.spacy (BC5CDR + BioRED + NCBI-disease train splits), OUT_DIR/dev.spacy
(BC5CDR dev: the split model settings are chosen on) and OUT_DIR/train_dev.spacy (train plus the
dev splits of all three corpora, for the final model once the settings are fixed).

Why NCBI-disease is handled differently: it annotates diseases only, so a gene or chemical in its
abstracts is unlabelled rather than "not an entity". Its tokens outside disease spans are marked
*missing* (no gradient) instead of O, so it adds disease examples without teaching the model that
chemicals and genes are not entities. BC5CDR does not annotate genes either, but its O tokens carry
the Chemical/Disease negatives the BC5CDR score depends on, so they stay O.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import spacy
from spacy.tokens import DocBin

from pipeline.ner_eval import read_pubtator
from pipeline.nlp.tokenizer import customize_tokenizer

log = logging.getLogger(__name__)

TRAIN = {
    "BC5CDR": "BC5CDR/CDR_TrainingSet.PubTator.txt",
    "BioRED": "BioRED/Train.PubTator",
    "NCBI-disease": "NCBI-disease/NCBItrainset_corpus.txt",
}
DEV = {
    "BC5CDR": "BC5CDR/CDR_DevelopmentSet.PubTator.txt",
    "BioRED": "BioRED/Dev.PubTator",
    "NCBI-disease": "NCBI-disease/NCBIdevelopset_corpus.txt",
}
PARTIAL = {"NCBI-disease"}  # corpora whose unannotated tokens are missing, not O


def to_docs(nlp, path: Path, partial: bool):
    """PubTator documents as spaCy Docs with gold entities on the biomedical tokenisation.

    Overlapping gold spans (nested or composite mentions) keep the longest; spans that do not
    align with token boundaries are dropped and counted in the log.
    """
    dropped = 0
    for pt in read_pubtator(path):
        doc = nlp.make_doc(pt.text)
        spans = []
        for e in sorted(pt.entities, key=lambda e: (-(e.end - e.start), e.start)):
            span = doc.char_span(e.start, e.end, label=e.label)
            if span is None:
                dropped += 1
                continue
            if any(span.start < s.end and s.start < span.end for s in spans):
                continue
            spans.append(span)
        doc.set_ents(sorted(spans, key=lambda s: s.start), default="missing" if partial else "outside")
        yield doc
    log.info("%s: %d mentions do not align with tokens and were dropped", path.name, dropped)


def build(shared: Path, out: Path) -> None:
    nlp = customize_tokenizer(spacy.blank("en"))
    out.mkdir(parents=True, exist_ok=True)
    splits = {
        "train": [(shared / p, name in PARTIAL) for name, p in TRAIN.items()],
        "dev": [(shared / DEV["BC5CDR"], False)],
        "train_dev": [(shared / p, name in PARTIAL) for name, p in (*TRAIN.items(), *DEV.items())],
    }
    for split, sources in splits.items():
        db = DocBin(store_user_data=False)
        for path, partial in sources:
            for doc in to_docs(nlp, path, partial):
                db.add(doc)
        db.to_disk(out / f"{split}.spacy")
        log.info("%s: %d documents", split, len(db))


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 2:
        raise SystemExit("usage: python -m training.make_corpus SHARED_NER_DIR OUT_DIR")
    build(Path(args[0]), Path(args[1]))


if __name__ == "__main__":
    main()
