"""Where a run's time goes at scale: state store vs parse vs extract vs writing the tables.

Run: python -m bench.bench_scale [--copies N] [--engines local,dask-2] [--dataset-rows R] [--rerun] [--json]
(`python -m bench scale` runs it with the defaults: 10 copies, local and dask-2.)

Input: the 22 real PubMed files of ../shared/data/pubmed/pmparser (1,987 records with versions and
DeleteCitations), written N times into a temporary folder as distinct records: copy k adds
k x 100,000,000 to every PMID (records, DeleteCitations, references alike), appends ".c<k>" to
every DOI and " (copy k)" to every title, so deduplication keeps them all apart. The query matches
nearly every record and no rule excludes any: every record is parsed, stored, screened, extracted
and published, as "all mentions across the baseline" would be. `[output] dataset_rows` is set low
enough that the records and mentions tables are written as Parquet datasets.

Each engine runs `python -m pipeline run` in a fresh folder (with --rerun a second time in the same
folder: the local engine then extracts nothing, the Dask engine reuses every part, so what is left
is the client's share: reduce, state store, tables); reported from run.json: the run's wall
seconds per stage (stage_seconds: reading the state, search = read + parse (+ the Dask map and
reduce), screen, extract, commit, publish's state reads, table building and writing), the Dask
tasks' seconds per stage summed over the tasks, and the tables' sizes. Tables must be identical
between engines.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import resource
import shutil
import sys
import tempfile
from pathlib import Path

from bench import bench_dask

REPO = Path(__file__).resolve().parent.parent
FILES = REPO.parent / "shared" / "data" / "pubmed" / "pmparser"
LEXICONS = REPO / "config" / "lexicons"
ENGINES = {
    "local": ["--engine", "local"],
    "dask-1": ["--engine", "dask", "--workers", "1"],
    "dask-2": ["--engine", "dask", "--workers", "2"],
}
OFFSET = 100_000_000
_PMID = re.compile(rb'(<PMID[^>]*>|<ArticleId IdType="pubmed">)(\d+)(<)')
_DOI = re.compile(rb'(<ArticleId IdType="doi">|<ELocationID EIdType="doi"[^>]*>)([^<]+)(<)')
_TITLE = re.compile(rb"(</ArticleTitle>)")


def copy_file(source: Path, target: Path, k: int) -> None:
    data = source.read_bytes()
    if source.name.endswith(".gz"):
        data = gzip.decompress(data)
    if k:
        data = _PMID.sub(lambda m: m[1] + str(int(m[2]) + k * OFFSET).encode() + m[3], data)
        data = _DOI.sub(lambda m: m[1] + m[2] + f".c{k}".encode() + m[3], data)
        data = _TITLE.sub(f" (copy {k})".encode() + rb"\1", data)
    target.write_bytes(gzip.compress(data, compresslevel=1))


def build_input(folder: Path, copies: int) -> list[Path]:
    files = sorted(FILES.glob("*.xml*"))
    if not files:
        raise SystemExit(f"{FILES}: no PubMed sample files (the shared data is not checked out beside the repo)")
    return write_copies(folder, files, copies)


def write_copies(folder: Path, files: list[Path], copies: int) -> list[Path]:
    """`copies` distinct copies of `files` (copy 0 as they are), gzip-compressed, in copy order."""
    folder.mkdir(parents=True)
    out = []
    for k in range(copies):
        for i, f in enumerate(files):
            target = folder / f"copy{k:03d}-{i:02d}.xml.gz"
            copy_file(f, target, k)
            out.append(target)
    return out


def write_config(folder: Path, data: Path, dataset_rows: int) -> Path:
    shutil.copytree(LEXICONS, folder / "lexicons")
    path = folder / "review.toml"
    path.write_text(f"""
[review]
name = "bench-scale"
[search]
source = "pubmed-xml"
paths = [{json.dumps(str(data))}]
all_of = [["the", "of", "in", "a", "with", "to", "for"]]
[extraction]
lexicons = ["lexicons/ketamine-review.toml"]
[output]
dir = "out"
dataset_rows = {dataset_rows}
""")
    return path


def run_one(config: Path, out: Path, args: list[str]) -> dict:
    ran = bench_dask.run_one(config, out, args)
    wall, manifest = ran["wall_s"], ran["manifest"]
    result = {
        "wall_s": round(wall, 1),
        "records": manifest["searched"]["records_read"],
        "included": manifest["counts"]["included"],
        "mentions": manifest["counts"]["mentions"],
        "stage_seconds": manifest["stage_seconds"],
        "tables": manifest["tables"],
        "state_mb": round((out / "state.sqlite").stat().st_size / 1e6, 1),
    }
    if "engine" in manifest:
        e = manifest["engine"]
        result["task_seconds"] = e["task_seconds"]
        result["engine_seconds"] = e["seconds"]
        result["peak_rss_mb_per_worker"] = list(e["peak_rss_mb_per_worker"].values())
    return result


def identical(a: Path, b: Path) -> bool:
    from pipeline.outputs.datasets import read_table

    same = all((a / n).read_bytes() == (b / n).read_bytes() for n in ("records.csv", "evidence.csv", "mentions.csv"))
    return same and all(read_table(a, n).equals(read_table(b, n)) for n in ("records", "evidence", "mentions"))


def run(copies: int, engines: list[str], dataset_rows: int, rerun: bool = False) -> dict:
    results: dict = {"copies": copies, "load_average_before": os.getloadavg(), "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        files = build_input(Path(tmp) / "data", copies)
        results["files"] = len(files)
        config = write_config(Path(tmp), Path(tmp) / "data", dataset_rows)
        outs = {}
        for name in engines:
            outs[name] = Path(tmp) / name
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            results[name] = run_one(config, outs[name], ENGINES[name])
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            results[name]["cpu_s"] = round(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 1)
            results[name]["load_average_after"] = os.getloadavg()
            print(f"  {name}: {results[name]['wall_s']:.0f} s wall", flush=True)
            if rerun:  # the same input again: nothing new to extract (local), every part reused (Dask)
                results[f"{name} again"] = run_one(config, outs[name], ENGINES[name])
                print(f"  {name} again: {results[f'{name} again']['wall_s']:.0f} s wall", flush=True)
        if len(engines) > 1:
            results["identical_tables"] = all(identical(outs[engines[0]], outs[n]) for n in engines[1:])
    return results


def report(r: dict) -> None:
    first = r[next(n for n in ENGINES if n in r)]
    print(
        f"{r['files']} files ({r['copies']} copies), {first['records']:,} records read, {first['included']:,} "
        f"included, {first['mentions']:,} mentions; load average {r['load_average_before'][0]:.1f} on {r['cpus']} CPUs"
    )
    for name in [n for e in ENGINES for n in (e, f"{e} again")]:
        if name not in r:
            continue
        x = r[name]
        s = x["stage_seconds"]
        cpu = f", {x['cpu_s']:.0f} s CPU (children)" if "cpu_s" in x else ""
        print(f"{name}: {x['wall_s']:.0f} s wall{cpu}, state.sqlite {x['state_mb']} MB")
        wall, cpu = s["wall"], s["cpu"]
        print("  run stages (wall / CPU s): " + ", ".join(f"{k} {wall[k]:.1f} / {cpu[k]:.1f}" for k in wall))
        if "task_seconds" in x:
            print("  Dask tasks (s, summed): " + ", ".join(f"{k} {v:.1f}" for k, v in x["task_seconds"].items()))
            print("  Dask client (s): " + ", ".join(f"{k} {v:.1f}" for k, v in x["engine_seconds"].items()))
        print(
            "  tables: "
            + "; ".join(f"{k} {v['rows']:,} rows -> {v['parquet']} ({v['parts']})" for k, v in x["tables"].items())
        )
    if "identical_tables" in r:
        print(f"tables identical between engines: {r['identical_tables']}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench scale")
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--engines", default="local,dask-2")
    parser.add_argument("--dataset-rows", type=int, default=20_000)
    parser.add_argument("--rerun", action="store_true", help="run each engine again on its own outputs")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv if argv is not None else [])
    results = run(args.copies, args.engines.split(","), args.dataset_rows, args.rerun)
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    else:
        report(results)


if __name__ == "__main__":
    main(sys.argv[1:])
