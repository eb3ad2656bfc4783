"""Convert the shared PubTator corpora into spaCy DocBin files for `spacy train`.

Usage: python -m training.make_corpus SHARED_NER_DIR OUT_DIR

Writes, into OUT_DIR:
- train.spacy (BC5CDR + BioRED + NCBI-disease train splits) and dev.spacy (BC5CDR dev): the splits
  the model settings were chosen on;
- final.spacy: the train splits, the BioRED and NCBI-disease dev splits and the first half of BC5CDR
  dev (the shipped model's training data), and heldout.spacy + heldout.PubTator: the second half of
  BC5CDR dev, never trained on, so the shipped model keeps an honest Chemical + Disease score.

Why NCBI-disease is handled differently: it annotates diseases only, so a gene or chemical in its
abstracts is unlabelled rather than "not an entity". Its tokens outside disease spans are marked
*missing* (no gradient) instead of O, so it adds disease examples without teaching the model that
chemicals and genes are not entities. BC5CDR does not annotate genes either, but its O tokens carry
the Chemical/Disease negatives the BC5CDR score depends on, so they stay O, except where the gene
dictionary (HGNC symbols, names and aliases, as the gazetteer_features component matches them) marks
a span the curators did not annotate: those tokens are missing too, so "prolactin", "ACE" or
"SGK1" in a BC5CDR abstract no longer teach the model that a gene is not an entity (genes are learnt
from BioRED alone).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import spacy
from spacy.tokens import DocBin

from pipeline.extraction.evaluation import read_pubtator
from pipeline.extraction.components.gazetteer import GazetteerFeatures
from pipeline.extraction.components.tokenizer import customize_tokenizer

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
NO_GENES = {"BC5CDR"}  # corpora whose unannotated gene-dictionary matches are missing, not O


def to_docs(nlp, path: Path, partial: bool, genes: GazetteerFeatures | None = None):
    """PubTator documents as spaCy Docs with gold entities on the biomedical tokenisation.

    Overlapping gold spans (nested or composite mentions) keep the longest; spans that do not
    align with token boundaries are dropped and counted in the log. With `genes`, the gene
    dictionary's matches that overlap no gold span are missing rather than O.
    """
    dropped = masked = 0
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
        missing = []
        if genes is not None:
            for start, end, label, _ in genes.matches(doc):
                if label == "GENE" and not any(start < s.end and s.start < end for s in spans):
                    missing.append(doc[start:end])
        masked += len(missing)
        doc.set_ents(sorted(spans, key=lambda s: s.start), missing=missing, default="missing" if partial else "outside")
        yield doc
    log.info("%s: %d mentions do not align with tokens and were dropped", path.name, dropped)
    if genes is not None:
        log.info("%s: %d unannotated gene-dictionary matches marked missing", path.name, masked)


def build(shared: Path, out: Path) -> None:
    nlp = customize_tokenizer(spacy.blank("en"))
    genes = GazetteerFeatures(nlp)
    genes.initialize(nlp=nlp)
    out.mkdir(parents=True, exist_ok=True)

    def docs(name: str, path: str) -> list:
        return list(to_docs(nlp, shared / path, name in PARTIAL, genes if name in NO_GENES else None))

    train = [doc for name, p in TRAIN.items() for doc in docs(name, p)]
    other_dev = [doc for name, p in DEV.items() if name != "BC5CDR" for doc in docs(name, p)]
    bc5cdr_dev = docs("BC5CDR", DEV["BC5CDR"])
    half = len(bc5cdr_dev) // 2
    splits = {
        "train": train,
        "dev": bc5cdr_dev,
        "final": train + other_dev + bc5cdr_dev[:half],
        "heldout": bc5cdr_dev[half:],
    }
    for split, docs in splits.items():
        db = DocBin(docs=docs, store_user_data=False)
        db.to_disk(out / f"{split}.spacy")
        log.info("%s: %d documents", split, len(db))
    # The held-out half as PubTator too, for `python -m pipeline eval-ner --corpus`.
    documents = (shared / DEV["BC5CDR"]).read_text(encoding="utf-8").strip().split("\n\n")
    (out / "heldout.PubTator").write_text("\n\n".join(documents[half:]) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 2:
        raise SystemExit("usage: python -m training.make_corpus SHARED_NER_DIR OUT_DIR")
    build(Path(args[0]), Path(args[1]))


if __name__ == "__main__":
    main()
