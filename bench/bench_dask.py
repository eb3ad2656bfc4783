"""`--engine dask` against the local engine, and what the PubMed baseline would cost.

Run: python -m bench dask [--files N] [--json]   (or make bench BENCH=dask)

Input: the real PubMed files in ../shared/data/pubmed/pmparser (~2,000 records in 22 files: two
~750-record test files, baseline and update samples of ~30 records each, the same records in
several versions, DeleteCitations). The query
matches nearly every record and no screening rule excludes any, so every record is parsed,
screened and extracted: the work of "all mentions across the baseline". Each configuration runs
`python -m pipeline run` in a fresh output folder (no part reused), one after the other:

    local        --engine local (it forks a second extraction process from 300 included records)
    dask-1       --engine dask --workers 1
    dask-2       --engine dask --workers 2

Reported side by side: wall time, records/s (records read / wall), the cluster's start-up and
map time, the tasks' CPU seconds per record, scaling efficiency (dask-2 vs dask-1 map time),
overhead against local, peak memory per worker (ru_maxrss of each worker process), and the tables'
byte identity. Goals (issue 17): dask-2 >= 1.8x dask-1; dask-1 within 10% of local.

Projection for the annual baseline (~1,300 files, ~38 million records): CPU-hours = records x
CPU seconds per record measured in the tasks (CPU time, not wall: the machine is shared, so wall
time is inflated by other people's work far more than CPU time); wall time on 64, 256 and 1,024
cores = CPU-hours / cores / scaling efficiency, plus one model load per worker, and bounded below
by the largest file (one task per file: ~30,000 records).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FILES = REPO.parent / "shared" / "data" / "pubmed" / "pmparser"
LEXICONS = REPO / "config" / "lexicons"
BASELINE_RECORDS = 38_000_000
BASELINE_FILES = 1_300
LARGEST_FILE_RECORDS = 30_000
CORES = (64, 256, 1024)
ASSUMED_EFFICIENCY = 0.9
CONFIGS = {
    "local": ["--engine", "local"],
    "dask-1": ["--engine", "dask", "--workers", "1"],
    "dask-2": ["--engine", "dask", "--workers", "2"],
}


def write_config(folder: Path, files: list[Path]) -> Path:
    shutil.copytree(LEXICONS, folder / "lexicons")
    path = folder / "review.toml"
    path.write_text(f"""
[review]
name = "bench-dask"
[search]
source = "pubmed-xml"
paths = [{", ".join(json.dumps(str(f)) for f in files)}]
all_of = [["the", "of", "in", "a", "with", "to", "for"]]  # not "and": a bare operator is refused
[extraction]
lexicons = ["lexicons/ketamine-review.toml"]
[output]
dir = "out"
""")
    return path


def run_one(config: Path, out: Path, args: list[str]) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "-q", "run", "--config", str(config), "--out", str(out), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    manifest = json.loads((out / "run.json").read_text())
    return {
        "wall_s": wall,
        "manifest": manifest,
        "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "peak_rss_mb": after.ru_maxrss / 1024,
    }


def run(n_files: int | None = None) -> dict:
    files = sorted(FILES.glob("*.xml*"))[:n_files]
    if not files:
        raise SystemExit(f"{FILES}: no PubMed sample files (the shared data is not checked out beside the repo)")
    results: dict = {"files": len(files), "load_average": os.getloadavg(), "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        config = write_config(Path(tmp), files)
        outs = {}
        for name, args in CONFIGS.items():
            outs[name] = Path(tmp) / name
            r = run_one(config, outs[name], args)
            m = r.pop("manifest")
            r["records"] = m["searched"]["records_read"]
            r["included"] = m["counts"]["included"]
            r["mentions"] = m["counts"]["mentions"]
            r["records_per_s"] = r["records"] / r["wall_s"]
            if "engine" in m:
                e = m["engine"]
                r["cluster_start_s"] = e["seconds"]["cluster_start"]
                r["map_s"] = e["seconds"]["map"]
                r["reduce_s"] = e["seconds"]["reduce"]
                r["task_cpu_s"] = e["task_seconds"]["cpu"]
                r["task_model_load_s"] = e["task_seconds"]["model_load"]
                r["task_model_load_cpu_s"] = e["task_seconds"]["model_load_cpu"]
                r["task_extract_s"] = e["task_seconds"]["extract"]
                r["peak_rss_mb_per_worker"] = list(e["peak_rss_mb_per_worker"].values())
                r["workers"] = e["workers"]
            results[name] = r
            print(f"  {name}: {r['wall_s']:.1f} s wall, {r['records_per_s']:.1f} records/s", flush=True)
        results["identical_tables"] = all(
            (outs[n] / t).read_bytes() == (outs["local"] / t).read_bytes()
            for n in ("dask-1", "dask-2")
            for t in ("records.csv", "evidence.csv", "mentions.csv")
        )
    one, two, local = results["dask-1"], results["dask-2"], results["local"]
    results["scaling_map"] = one["map_s"] / two["map_s"]
    results["scaling_wall"] = one["wall_s"] / two["wall_s"]
    results["overhead_vs_local"] = one["wall_s"] / local["wall_s"] - 1
    results["cpu_overhead_vs_local"] = one["cpu_s"] / local["cpu_s"] - 1
    # Files are independent tasks with nothing to exchange, so on idle cores the efficiency is close
    # to 1; on a loaded machine the measured one says more about the neighbours than the engine.
    results["projection"] = project(two, ASSUMED_EFFICIENCY)
    results["projection_measured_efficiency"] = project(two, results["scaling_map"] / 2)
    return results


def project(measured: dict, efficiency: float) -> dict:
    """Baseline cost from the tasks' CPU seconds per record (model loads excluded, paid once per worker)."""
    per_record = (measured["task_cpu_s"] - measured["task_model_load_cpu_s"]) / measured["records"]
    cpu_hours = BASELINE_RECORDS * per_record / 3600
    load = measured["task_model_load_cpu_s"] / max(1, measured["workers"])
    efficiency = min(1.0, max(efficiency, 0.1))
    wall = {}
    for cores in CORES:
        spread = cpu_hours * 3600 / (cores * efficiency)
        # One task per file: with fewer files than cores the largest file bounds the wall time.
        floor = LARGEST_FILE_RECORDS * per_record
        waves = -(-BASELINE_FILES // cores)
        wall[cores] = max(spread, waves * floor) + load
    return {
        "cpu_s_per_record": per_record,
        "cpu_hours": cpu_hours,
        "efficiency": efficiency,
        "wall_hours": {c: w / 3600 for c, w in wall.items()},
    }


def report(r: dict) -> None:
    print(
        f"{r['files']} files, {r['local']['records']} records read ({r['local']['included']} included, "
        f"{r['local']['mentions']} mentions); load average {r['load_average'][0]:.1f} on {r['cpus']} CPUs"
    )
    print(
        f"{'':8} {'wall s':>8} {'rec/s':>7} {'CPU s':>7} {'start s':>8} {'map s':>7} {'task CPU s':>11} "
        f"{'peak MB/worker':>16}"
    )
    for name in CONFIGS:
        x = r[name]
        peaks = ", ".join(f"{p:.0f}" for p in x.get("peak_rss_mb_per_worker", [x["peak_rss_mb"]]))
        task_cpu = f"{x['task_cpu_s']:.1f}" if "task_cpu_s" in x else "-"
        print(
            f"{name:8} {x['wall_s']:8.1f} {x['records_per_s']:7.1f} {x['cpu_s']:7.1f} "
            f"{x.get('cluster_start_s', 0):8.1f} {x.get('map_s', 0):7.1f} {task_cpu:>11} {peaks:>16}"
        )
    print(
        f"scaling dask-2 vs dask-1: {r['scaling_map']:.2f}x map, {r['scaling_wall']:.2f}x wall (goal 1.8x); "
        f"dask-1 vs local: {r['overhead_vs_local']:+.0%} wall, {r['cpu_overhead_vs_local']:+.0%} CPU "
        f"(goal within 10%); tables identical: {r['identical_tables']}"
    )
    p = r["projection"]
    print(
        f"baseline projection ({BASELINE_RECORDS:,} records): {p['cpu_s_per_record'] * 1000:.1f} CPU ms/record "
        f"-> {p['cpu_hours']:,.0f} CPU-hours"
    )
    for p in (r["projection"], r["projection_measured_efficiency"]):
        print(
            f"  wall at efficiency {p['efficiency']:.2f}: "
            + ", ".join(f"{c} cores {h:.1f} h" for c, h in p["wall_hours"].items())
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench dask")
    parser.add_argument("--files", type=int, default=None, help="only the first N sample files")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv if argv is not None else [])
    results = run(args.files)
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    else:
        report(results)


if __name__ == "__main__":
    main(sys.argv[1:])
