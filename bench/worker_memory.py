"""Does a worker's memory stay flat as files go by? One process extracting file after file.

Run: python -m bench.worker_memory [--rounds 3] [--json]

One process builds the extraction pipeline once, as a Dask worker does, then extracts every
PubMed sample file (bench_dask.sample_files, largest first, as the map submits them) `--rounds`
times. After each file: the resident memory now (/proc/self/statm, not the peak) and what grows
beside it: spaCy's string store and lexemes (every new word adds one, never removed in spaCy 3.7)
and the bounded caches of linking (name_key, at most 200,000) and normalisation (100,000 each).
Round 1 sees new text; rounds 2 and 3 the same text again, so growth there would be a leak, and
growth only in round 1 follows the vocabulary.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run(rounds: int) -> dict:
    from bench.bench_dask import sample_files
    from pipeline.config import ExtractionConfig
    from pipeline.extraction import linking, ner
    from pipeline.models import Record
    from pipeline.sources.pubmed_xml.parser import parse

    cfg = ExtractionConfig(lexicons=(REPO / "config" / "lexicons" / "ketamine-review.toml",))
    nlp = ner.load_nlp(cfg)
    files = sorted(sample_files(), key=lambda f: -f.stat().st_size)
    normaliser, linker = nlp.get_pipe("normaliser"), nlp.get_pipe("linker").linker

    def state() -> dict:
        return {
            "rss_mb": round(rss_mb(), 1),
            "strings": len(nlp.vocab.strings),
            "lexemes": len(nlp.vocab),
            "name_key_cache": linking.name_key.cache_info().currsize,
            "normaliser_cache": len(normaliser._cache),
            "linker_cache": len(linker._cache),
        }

    out: dict = {"after_model_load": state(), "files": len(files), "rounds": []}
    for number in range(1, rounds + 1):
        started, rows = time.perf_counter(), []
        for path in files:
            records = [i for i in parse(str(path), source_name=str(path)) if isinstance(i, Record)]
            for _ in ner.extract_mentions(nlp, records, cfg.classes, n_process=1):
                pass
            gc.collect()
            rows.append({"file": path.name, "records": len(records), **state()})
        rss = [r["rss_mb"] for r in rows]
        out["rounds"].append(
            {
                "round": number,
                "seconds": round(time.perf_counter() - started, 1),
                "rss_mb_min_max_last": [min(rss), max(rss), rss[-1]],
                "end": {k: v for k, v in rows[-1].items() if k not in ("file", "records")},
                "per_file": rows,
            }
        )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.worker_memory")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    result = run(args.rounds)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"after the model load: {result['after_model_load']}")
    for r in result["rounds"]:
        low, high, last = r["rss_mb_min_max_last"]
        print(
            f"round {r['round']} ({result['files']} files, {r['seconds']} s): RSS {low}-{high} MB, last {last}; {r['end']}"
        )


if __name__ == "__main__":
    main()
