"""End to end: N synthetic records served by a local E-utilities server through the whole `run`.

Target for the finished product: 10,000 records in <= 2 minutes on 2 cores, peak RSS <= 1.5 GB, and
memory flat as N grows. Each size runs `run_pipeline` in its own child process, so the peak RSS it
reports is that run's alone; the server runs in another process and enforces NCBI's 3 requests/s
(no API key), as NCBI would. Sizes come from BENCH_RECORDS (default "2500 10000"), run side by side.

Stages are timed from the run's own progress events: search (esearch + PubMed cross-check),
fetch (efetch + parse + archive), screen + extract (spaCy over included records), and
publish (state store commit, tables, PRISMA, RIS, report).
"""

from __future__ import annotations

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
TARGET_SECONDS, TARGET_RSS_MB = 120, 1536


def child(config_path: str, out_dir: str) -> None:
    """Run the pipeline once and print its stage marks and peak RSS as JSON (in the child process)."""
    from pipeline.config import load_config
    from pipeline.engine.run import run_pipeline

    marks: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if done >= total:
            marks[stage] = time.perf_counter()

    started = time.perf_counter()
    manifest = run_pipeline(load_config(config_path), out_dir=Path(out_dir), progress=progress)
    marks["end"] = time.perf_counter()
    print(
        json.dumps(
            {
                "started": started,
                "marks": marks,
                "counts": manifest["counts"],
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                # Entity extraction forks a worker on large runs; its peak counts too.
                "worker_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            }
        )
    )


def measure(n: int, workdir: Path) -> dict:
    from tests.support.eutils_server import ServerProcess
    from tests.support.synthetic import synthetic_articles

    config_dir = workdir / f"config-{n}"
    shutil.copytree(REPO / "config", config_dir)
    config = config_dir / "ketamine-depression.toml"
    config.write_text(config.read_text().replace('dir = "../outputs/ketamine-depression"', f'dir = "../out-{n}"'))
    with ServerProcess(synthetic_articles(n), rate_limit=3.0) as server:
        env = {**os.environ, "EUTILS_BASE_URL": server.base_url, "NCBI_EMAIL": "bench@example.org"}
        env.pop("NCBI_API_KEY", None)
        proc = subprocess.run(
            [sys.executable, "-m", "bench.bench_pipeline", "--child", str(config), str(workdir / f"out-{n}")],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
        )
    if proc.returncode != 0:
        raise SystemExit(f"run over {n} records failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["requests"] = len(server.requests)
    result["rate_limited"] = sum(1 for r in server.requests if r.get("status") == 429)
    return result


def report(n: int, r: dict) -> list[str]:
    m, t0, c = r["marks"], r["started"], r["counts"]
    search_end = m.get("search", t0)
    fetch_end = m.get("fetch", search_end)
    extract_end = m.get("extract", fetch_end)
    total = m["end"] - t0
    stages = [
        ("search", search_end - t0, n),
        ("fetch+parse", fetch_end - search_end, n),
        ("screen+extract", extract_end - fetch_end, c.get("included", 0)),
        ("publish", m["end"] - extract_end, n),
    ]
    lines = [
        f"{n:>7} records  {total:7.1f} s  {n / total:7.1f} records/s  peak RSS {r['peak_rss_mb']:6.1f} MB "
        f"(extraction workers {r['worker_peak_rss_mb']:6.1f} MB)  "
        f"{r['requests']} requests, {r['rate_limited']} answered 429  ({c.get('included', 0)} included)"
    ]
    for name, seconds, items in stages:
        rate = items / seconds if seconds > 0 else float("inf")
        lines.append(f"        {name:<15} {seconds:7.1f} s  {rate:9.1f} records/s  ({items} records)")
    return lines


def main() -> None:
    sizes = [int(x) for x in os.environ.get("BENCH_RECORDS", "2500 10000").split()]
    with tempfile.TemporaryDirectory() as tmp:
        results = {n: measure(n, Path(tmp)) for n in sizes}
    for n in sizes:
        print("\n".join(report(n, results[n])))
    largest = results[max(sizes)]
    total = largest["marks"]["end"] - largest["started"]
    # Counted as if the forked worker shared no pages with the parent: an upper bound.
    rss = largest["peak_rss_mb"] + largest["worker_peak_rss_mb"]
    print(
        f"target at {max(sizes)} records: <= {TARGET_SECONDS} s and <= {TARGET_RSS_MB} MB peak RSS -> "
        f"{total:.0f} s, {rss:.0f} MB (run + extraction workers): "
        f"{'met' if total <= TARGET_SECONDS and rss <= TARGET_RSS_MB else 'NOT met'}"
    )
    if len(sizes) > 1:
        small, large = min(sizes), max(sizes)
        growth = results[large]["peak_rss_mb"] / results[small]["peak_rss_mb"]
        print(f"peak RSS {large} vs {small} records: x{growth:.2f} for x{large / small:.1f} the records")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        main()
