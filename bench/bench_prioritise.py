"""Prioritisation: our ranker against ASReview LAB's default model, on the same runs.

On the four labelled datasets of ../shared/data/screening, seeds 0-4, priors 1 random include +
1 random exclude (the same rows for every contender), every record counted as screened:
- ours: `pipeline.screening.prioritisation` with its default settings;
- ASReview LAB itself (default AI "elas_u4"), when it is installed in another venv: set
  ASREVIEW_PYTHON to that venv's python (default /tmp/asr-venv/bin/python when it exists). It is
  never a project dependency. Its simulation stops at the last include (its default), which is all
  the metrics need;
- "asreview-svm": our reimplementation of that default model (TF-IDF 1-2 grams, sublinear, max_df
  0.95; LinearSVC C=0.11; balanced weights ratio 9.8; retrained after every label), on our features:
  run when ASReview is not installed, or with BENCH_REIMPLEMENTATION=1.

Reports WSS@95, WSS@100, recall@10%, the stopping rule's position and recall (ours), and seconds
per simulation (wall clock and CPU: the machine is shared, CPU time is the steadier measure). Then
both stopping rules (decay, the default, and buscar) on the same screening orders, per dataset: how
often the recall at the stop reached the 95% target (95% confidence) and where they stopped, over
seeds 0-4 plus BENCH_STOP_SEEDS more (default 15: 20 runs per dataset); and the time one ranking
update takes for 10,000 records.

    python -m bench prioritise
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pipeline.screening.prioritisation import ASREVIEW_DEFAULT, Document, Ranker, RankerSettings, read_dataset
from pipeline.screening.prioritisation import metrics
from pipeline.screening.prioritisation.simulation import choose_priors, simulate
from pipeline.screening.prioritisation.stopping import RULES, first_stop

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "screening"
SEEDS = range(5)
RUNNER = Path(__file__).with_name("asreview_runner.py")


def _asreview_python() -> str | None:
    candidate = os.environ.get("ASREVIEW_PYTHON") or "/tmp/asr-venv/bin/python"
    return candidate if Path(candidate).is_file() else None


def _ours(data, settings: RankerSettings, seed: int) -> dict:
    wall, cpu = time.perf_counter(), time.process_time()
    ranker = Ranker(data.documents, settings, seed=seed)
    sim = simulate(ranker, data.labels, seed=seed)
    result = sim.result()
    result["seconds"] = time.perf_counter() - wall
    result["cpu_seconds"] = time.process_time() - cpu
    result["priors"] = sim.order[:2].tolist()
    result["ordered_labels"] = sim.labels
    return result


def _asreview(python: str, data, priors: dict[int, list[int]]) -> dict[int, dict]:
    """Run ASReview LAB on the same priors; metrics from its order (records after its last include,
    which it does not screen, are excludes by definition)."""
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "data.csv"
        import csv

        with csv_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["title", "abstract", "included"])
            for doc, label in zip(data.documents, data.labels.tolist()):
                writer.writerow([doc.title, doc.abstract, label])
        request = {"csv": str(csv_path), "runs": [{"seed": s, "priors": p} for s, p in priors.items()]}
        # cwd: ASReview may leave cache files in its working folder.
        done = subprocess.run(
            [python, str(RUNNER)], input=json.dumps(request), capture_output=True, text=True, cwd=tmp, timeout=3600
        )
    if done.returncode:
        raise RuntimeError(f"ASReview runner failed: {done.stderr[-2000:]}")
    out = {}
    for line in done.stdout.splitlines():
        if not line.startswith("{"):
            continue
        run = json.loads(line)
        order = run["order"]
        seen = set(order)
        labels = data.labels[order].tolist() + [0] * (len(data.labels) - len(seen))
        result = metrics.summary(labels)
        result.update(seconds=run["seconds"], cpu_seconds=run["cpu_seconds"], version=run["version"], ai=run["ai"])
        out[run["seed"]] = result
    return out


def _mean(rows: list[dict], key: str) -> float:
    return float(np.mean([r[key] for r in rows]))


def main() -> None:
    paths = sorted(SHARED.glob("*.csv"))
    if not paths:
        print(f"bench_prioritise: skipped, {SHARED} holds no labelled CSV")
        return
    python = _asreview_python()
    reimplementation = not python or os.environ.get("BENCH_REIMPLEMENTATION") == "1"
    contenders = ["ours"] + (["asreview"] if python else []) + (["asreview-svm"] if reimplementation else [])
    if not python:
        print(
            "ASReview LAB not found (set ASREVIEW_PYTHON to a venv's python with asreview installed); "
            "comparing with the reimplementation only"
        )
    table: dict[str, dict[str, list[dict]]] = {}
    for path in paths:
        data = read_dataset(path)
        rows: dict[str, list[dict]] = {c: [] for c in contenders}
        priors = {}
        for seed in SEEDS:
            ours = _ours(data, RankerSettings(), seed)
            rows["ours"].append(ours)
            priors[seed] = ours["priors"]
            assert priors[seed] == choose_priors(data.labels, np.random.default_rng(seed), 1, 1).tolist()
            if reimplementation:
                rows["asreview-svm"].append(_ours(data, ASREVIEW_DEFAULT, seed))
        if python:
            asr = _asreview(python, data, priors)
            rows["asreview"] = [asr[s] for s in SEEDS]
        table[path.stem] = rows
        for c in contenders:
            r = rows[c]
            stop = (
                f" stop {_mean(r, 'stop_position'):7.1f} recall@stop {_mean(r, 'recall_at_stop'):.3f}"
                if "stop_position" in r[0]
                else ""
            )
            print(
                f"{path.stem:<36} {c:<13} WSS@95 {_mean(r, 'wss@95'):.3f} WSS@100 {_mean(r, 'wss@100'):.3f} "
                f"recall@10% {_mean(r, 'recall@10%'):.3f} s/sim {_mean(r, 'seconds'):6.2f} "
                f"cpu s/sim {_mean(r, 'cpu_seconds'):6.2f}{stop}",
                flush=True,
            )
    for key in ("wss@95", "recall@10%", "wss@100", "cpu_seconds"):
        print(f"\n{key}\n| dataset | N / R | " + " | ".join(contenders) + " |")
        print("|---" * (2 + len(contenders)) + "|")
        for name, rows in table.items():
            first = rows["ours"][0]
            cells = " | ".join(f"{_mean(rows[c], key):.3f}" for c in contenders)
            print(f"| {name} | {first['records']} / {first['includes']} | {cells} |")
        means = " | ".join(f"{np.mean([_mean(r[c], key) for r in table.values()]):.3f}" for c in contenders)
        print(f"| **mean** | | {means} |")
    for c in contenders:
        every = [x for r in table.values() for x in r[c]]
        print(
            f"{c}: mean WSS@100 {_mean(every, 'wss@100'):.3f}, {_mean(every, 'seconds'):.2f} s and "
            f"{_mean(every, 'cpu_seconds'):.2f} CPU s per simulation"
        )
    _stopping_coverage(paths, table)
    _update_time(paths)


def _stopping_coverage(paths: list[Path], table: dict[str, dict[str, list[dict]]]) -> None:
    """Both rules on the orders above plus BENCH_STOP_SEEDS more seeds per dataset (default 15)."""
    extra = range(len(SEEDS), len(SEEDS) + int(os.environ.get("BENCH_STOP_SEEDS", "15")))
    every: dict[str, list[tuple[bool, float]]] = {rule: [] for rule in RULES}
    print("\nstopping rules, 95% recall target with 95% confidence (same orders for both rules)")
    print("| dataset | runs | " + " | ".join(f"{r} target met | {r} stops after" for r in RULES) + " |")
    print("|---" * (2 + 2 * len(RULES)) + "|")
    for path in paths:
        data = read_dataset(path)
        orders = [run["ordered_labels"] for run in table[path.stem]["ours"]]
        orders += [simulate(Ranker(data.documents, seed=seed), data.labels, seed=seed).labels for seed in extra]
        cells = []
        for rule in RULES:
            runs = []
            for labels in orders:
                stop, _ = first_stop(labels, recall_target=0.95, confidence=0.95, rule=rule, fit_from=2)
                runs.append((labels[:stop].sum() / labels.sum() >= 0.95, stop / len(labels)))
            every[rule] += runs
            cells.append(f"{sum(h for h, _ in runs)}/{len(runs)} | {np.mean([f for _, f in runs]):.1%}")
        print(f"| {path.stem} | {len(orders)} | " + " | ".join(cells) + " |", flush=True)
    cells = [f"{sum(h for h, _ in r)}/{len(r)} | {np.mean([f for _, f in r]):.1%}" for r in every.values()]
    print(f"| **all** | {len(every['decay'])} | " + " | ".join(cells) + " |")


def _update_time(paths: list[Path]) -> None:
    """One ranking update (retrain + order the unscreened) for 10,000 records."""
    docs, labels = [], []
    while len(docs) < 10_000:
        for path in paths:
            data = read_dataset(path)
            copy = len(docs)
            docs += [Document(f"{copy}:{d.record_id}", d.title, d.abstract) for d in data.documents]
            labels += data.labels.tolist()
    docs, labels = docs[:10_000], np.asarray(labels[:10_000])
    started = time.perf_counter()
    ranker = Ranker(docs)
    print(f"10,000 records: features in {time.perf_counter() - started:.2f} s")
    rng = np.random.default_rng(0)
    for decided in (100, 1000, 5000):
        rows = rng.choice(len(docs), decided, replace=False)
        decisions = {docs[i].record_id: bool(labels[i]) for i in rows}
        times = []
        for _ in range(3):
            wall = time.perf_counter()
            ranker.next_batch(decisions, 10)
            times.append(time.perf_counter() - wall)
        print(f"10,000 records, {decided:>5} decisions: next_batch in {min(times) * 1000:.0f} ms (best of 3)")


if __name__ == "__main__":
    sys.exit(main())
