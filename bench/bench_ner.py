"""Entity-extraction throughput: the shipped pipeline next to spaCy's tokenizer alone.

Run: python -m bench.bench_ner [--limit N] [--json]

Texts: the 500 BC5CDR dev abstracts (title + abstract) from ../shared/data/ner, each turned into a
Record, so the pipeline is timed exactly as `extract_mentions` runs it in a review. Reported:
abstracts/s and words/s for (1) spaCy's default English tokenizer, (2) the shipped model's
biomedical tokenizer, (3) the full extraction pipeline (model, lexicons, normaliser, abbreviations)
with one process and with two. The goal is >= 150 abstracts/s for the full pipeline on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import spacy

from pipeline.config import load_config
from pipeline.extraction.ner import extract_mentions, load_nlp
from pipeline.models import AbstractSection, Record
from pipeline.extraction.evaluation import read_pubtator

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "data" / "ner" / "BC5CDR" / "CDR_DevelopmentSet.PubTator.txt"
CONFIG = REPO / "config" / "ketamine-depression.toml"
GOAL = 150.0


def _cpu_seconds() -> float:
    """User + system CPU time of this process and of its children that have exited."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def run(limit: int = 500) -> dict:
    """Time each stage on the same texts; returns {stage: {"abstracts_per_s", "words_per_s", ...}}."""
    docs = read_pubtator(CORPUS)[:limit]
    records = [Record(pmid=d.pmid, title=d.title, abstract_sections=(AbstractSection("", d.abstract),)) for d in docs]
    texts = [d.text for d in docs]
    warmup = ["Ketamine (10 mg/kg, i.p.) reduced immobility in mice.", "Nausea was common."]
    cfg = load_config(CONFIG).extraction
    # Words are counted with a tokenizer of their own: the tokenizer keeps a cache of strings it
    # has seen, and a warm cache would flatter whichever stage ran after the count.
    words = sum(len(doc) for doc in spacy.blank("en").tokenizer.pipe(texts))
    blank = spacy.blank("en")
    results = {}

    def timed(name, fn):
        fn(warmup)  # lazy imports and first-call set-up are not what we measure; caches stay cold
        start, cpu_start = time.perf_counter(), _cpu_seconds()
        fn(texts)
        seconds = time.perf_counter() - start
        cpu = _cpu_seconds() - cpu_start
        # Wall time is what a user waits for. CPU time (this process and its finished workers)
        # tells what the stage costs when other work shares the cores, as on the shared dev machine.
        results[name] = {
            "abstracts_per_s": round(_rate(len(texts), seconds), 1),
            "words_per_s": round(_rate(words, seconds)),
            "seconds": round(seconds, 2),
            "abstracts_per_cpu_s": round(_rate(len(texts), cpu), 1),
        }

    timed("spacy_tokenizer", lambda t: list(blank.tokenizer.pipe(t)))
    # Each stage gets a freshly loaded pipeline, so no stage runs on caches another one warmed.
    model_tokenizer = load_nlp(cfg).tokenizer
    timed("model_tokenizer", lambda t: list(model_tokenizer.pipe(t)))
    by_text = {r.title + " " + r.abstract: r for r in records}
    by_text.update({w: Record(pmid="0", title=w) for w in warmup})
    for n_process in (1, 2):
        nlp = load_nlp(cfg)
        timed(
            f"pipeline_{n_process}proc",
            lambda t, n=n_process: list(
                extract_mentions(nlp, (by_text[x] for x in t), cfg.classes, batch_size=64, n_process=n)
            ),
        )
    results["texts"] = len(texts)
    results["words"] = words
    results["cpus"] = os.cpu_count()
    return results


def main(argv: list[str] | tuple = ()) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_ner", description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=500, help="number of abstracts (default 500)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(list(argv))
    if not CORPUS.is_file():
        print(f"skipped: {CORPUS} not found (the benchmark reads ../shared beside the checkout)")
        return 0
    results = run(args.limit)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(
        f"{results['texts']} abstracts, {results['words']} words, {results['cpus']} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )
    for name, r in results.items():
        if isinstance(r, dict):
            print(
                f"  {name:18s} {r['abstracts_per_s']:9.1f} abstracts/s {r['words_per_s']:9d} words/s"
                f" {r['abstracts_per_cpu_s']:9.1f} abstracts/CPU-s"
            )
    best = max(results["pipeline_1proc"]["abstracts_per_s"], results["pipeline_2proc"]["abstracts_per_s"])
    print(f"goal {GOAL:.0f} abstracts/s: {'met' if best >= GOAL else 'NOT met'} ({best:.1f})")
    two = results["pipeline_2proc"]
    print(
        f"2 processes on 2 free cores would give about {2 * two['abstracts_per_cpu_s']:.0f} abstracts/s "
        f"({two['abstracts_per_cpu_s']:.1f} per CPU-second, all processes counted)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
