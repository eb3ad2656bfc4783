"""The Dask map's work without Dask: the same per-file task function in N plain processes.

Run: python -m bench.plain_processes --config REVIEW.toml --parts DIR --processes N [--json]

Each file of the review's `[search] paths` becomes the FileTask the Dask engine would send
(engine/dask_engine.py map_files) and `process_file` (engine/dask_tasks.py) runs it in a pool of N
freshly started processes (spawn, as Dask starts its workers: each imports the pipeline and loads
the model once), largest files first, one file at a time per process. No scheduler, nanny, client
or reduce: what is left is parse, rules, extraction and the part's write, so `--processes 1` and
`--processes 2` show what two cores give on this machine at all, the ceiling for dask-2 vs dask-1.

Printed as JSON: wall seconds (from before the pool starts to after its processes exit), records
read, this process's and its children's CPU seconds, and per process its peak RSS and files.
`bench dask` runs it as the "plain-1" and "plain-2" rows.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import time
from pathlib import Path


def tasks_for(config_path: Path, parts: Path, pool) -> list:
    """The FileTask of every input file, in the order the Dask map submits them (largest first),
    knowing what later files supersede from the files' scans, made in `pool` as the map makes them."""
    from pipeline.config import load_config
    from pipeline.engine.dask_engine import submission_order
    from pipeline.engine.dask_tasks import file_tasks, scan_file, superseded_pmids
    from pipeline.engine.sync import extractor_fingerprint
    from pipeline.sources.pubmed_xml.local import expand_paths

    config = load_config(config_path)
    files = expand_paths(config.search.paths)
    superseded = superseded_pmids(pool.starmap(scan_file, [(str(f), str(parts)) for f in files], chunksize=1))
    tasks = file_tasks(config, files, parts, extractor_fingerprint(config.extraction), superseded)
    return [tasks[i] for i in submission_order(files)]


def _run_task(task):
    from pipeline.engine.dask_tasks import process_file

    return process_file(task)


def run(config_path: Path, parts: Path, processes: int) -> dict:
    started = time.perf_counter()
    pool = multiprocessing.get_context("spawn").Pool(processes)
    try:
        tasks = tasks_for(config_path, parts, pool)
        infos = list(pool.imap_unordered(_run_task, tasks, chunksize=1))
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()  # reaped, so their CPU time counts in RUSAGE_CHILDREN
    wall = time.perf_counter() - started
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    per_process: dict[int, dict] = {}
    for info in infos:
        entry = per_process.setdefault(info.pid, {"files": 0, "records": 0, "peak_rss_mb": 0.0, "model_loads": 0})
        entry["files"] += 1
        entry["records"] += info.records
        entry["peak_rss_mb"] = max(entry["peak_rss_mb"], info.peak_rss_mb)
        entry["model_loads"] = max(entry["model_loads"], info.model_loads)
    return {
        "processes": processes,
        "files": len(infos),
        "records": sum(i.records for i in infos),
        "extracted": sum(i.included for i in infos),
        "wall_s": wall,
        "cpu_s": own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime,
        "task_cpu_s": sum(i.timings.get("cpu", 0.0) for i in infos),
        "per_process": [per_process[pid] for pid in sorted(per_process)],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.plain_processes")
    parser.add_argument("--config", type=Path, required=True, help="a review over local PubMed files")
    parser.add_argument("--parts", type=Path, required=True, help="a fresh folder for the parts")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    result = run(args.config, args.parts, args.processes)
    if args.json:
        print(json.dumps(result))
    else:
        peaks = ", ".join(f"{p['peak_rss_mb']:.0f}" for p in result["per_process"])
        print(
            f"{result['processes']} processes: {result['files']} files, {result['records']} records in "
            f"{result['wall_s']:.1f} s wall, {result['cpu_s']:.1f} CPU s; peak MB per process {peaks}"
        )


if __name__ == "__main__":
    main()
