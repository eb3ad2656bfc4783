"""Span, concept and linking scores on the dev splits, with the corpus vocabulary alone and with all.

Run: python -m bench.bench_linking [--json]

For each dev split in ../shared/data/ner (BC5CDR, its held-out second half, BioRED, NCBI-disease)
the shipped NER pipeline as `eval-ner` runs it is scored twice: linking with `corpus_train` alone
(the names the train splits link, exact match: the baseline) and with every shipped vocabulary
(corpus, then MeSH diseases, DrugBank drugs, HGNC genes). The vocabularies are built from the train
splits only, so every figure here is on text the linker never saw. (The NER model itself was
trained on the BioRED and NCBI-disease dev splits and the first half of BC5CDR dev: their span
scores flatter it; the BC5CDR held-out half is the honest one.)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pipeline.extraction.evaluation import evaluate_all, read_pubtator
from pipeline.extraction.linking import SOURCES, Linker
from pipeline.extraction.ner import load_ner

REPO = Path(__file__).resolve().parent.parent
NER = REPO.parent / "shared" / "data" / "ner"
CORPORA = {
    "BC5CDR dev": "BC5CDR/CDR_DevelopmentSet.PubTator.txt",
    "BioRED dev": "BioRED/Dev.PubTator",
    "NCBI-disease dev": "NCBI-disease/NCBIdevelopset_corpus.txt",
}


def run() -> dict:
    nlp = load_ner()
    linker_pipe = nlp.get_pipe("linker")
    full = linker_pipe.linker
    corpus_only = Linker(sources={t: ("corpus_train",) for t in SOURCES})
    results: dict = {}
    for name, relative in CORPORA.items():
        docs = read_pubtator(NER / relative)
        sets = {name: docs}
        if name == "BC5CDR dev":
            sets["BC5CDR dev, held-out half"] = docs[len(docs) // 2 :]
        for set_name, subset in sets.items():
            row = {}
            for variant, linker in (("corpus only", corpus_only), ("all vocabularies", full)):
                linker_pipe._linker = linker
                scored = evaluate_all(nlp, subset)
                row[variant] = {
                    "spans": {k: v.as_dict() for k, v in scored["spans"].items()},
                    "concepts": {k: v.as_dict() for k, v in scored["concepts"].items()},
                    "linking": scored["linking"],
                }
            linker_pipe._linker = full
            results[set_name] = row
    return results


def render(results: dict) -> str:
    lines = [
        "| dev split | type | span F1 | concept F1, corpus only | concept F1, all | linking acc., corpus only | linking acc., all |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, row in results.items():
        base, full = row["corpus only"], row["all vocabularies"]
        for label in full["spans"]:
            lines.append(
                f"| {name} | {label} | {100 * full['spans'][label]['f1']:.2f} | "
                f"{100 * base['concepts'][label]['f1']:.2f} | {100 * full['concepts'][label]['f1']:.2f} | "
                f"{100 * base['linking'][label]['accuracy']:.2f} | {100 * full['linking'][label]['accuracy']:.2f} |"
            )
            name = ""
    return "\n".join(lines)


def main(argv: list[str] | tuple = ()) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_linking", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the full scores as JSON")
    args = parser.parse_args(list(argv))
    if not NER.is_dir():
        print(f"skipped: {NER} not found (the benchmark reads ../shared beside the checkout)")
        return 0
    results = run()
    print(json.dumps(results, indent=2) if args.json else render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
