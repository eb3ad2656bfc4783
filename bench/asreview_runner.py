"""Runs ASReview LAB's own simulation, for bench_prioritise. Executed by ANOTHER Python: the venv where
`asreview` is installed (never the project's), so it must not import `pipeline`.

    /tmp/asr-venv/bin/python bench/asreview_runner.py < request.json

Request: {"csv": path with columns title, abstract, included; "runs": [{"seed": 0, "priors": [rows]}]}.
Answer: one JSON line per run: {"seed", "order": row indices in screening order (priors first, up to
the last include, ASReview's default stopper), "seconds": time of Simulate.review() (features,
every retrain and query), "version"}.
"""

import json
import sys
import time

import numpy as np

import asreview
from asreview import load_dataset
from asreview.learner import ActiveLearningCycle
from asreview.models.models import get_ai_config
from asreview.models.queriers import TopDown
from asreview.models.stoppers import IsFittable, LastRelevant
from asreview.simulation.simulate import Simulate


def main() -> None:
    request = json.load(sys.stdin)
    db = load_dataset(request["csv"], dataset_id="bench.csv")
    with db:
        frame = db.input.get_df()
        labels = db.input["included"]
        ai = get_ai_config()
        for run in request["runs"]:
            np.random.seed(run["seed"])  # as `asreview simulate --seed` does
            cycles = [
                ActiveLearningCycle(querier=TopDown(), stopper=IsFittable()),
                ActiveLearningCycle.from_meta(ai["value"]),
            ]
            sim = Simulate(frame, labels, cycles, stopper=LastRelevant(), print_progress=False)
            started, cpu = time.perf_counter(), time.process_time()
            sim.label(run["priors"])
            sim.review()
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            order = [int(x) for x in sim._results["record_id"].tolist()]
            print(
                json.dumps(
                    {
                        "seed": run["seed"],
                        "order": order,
                        "seconds": seconds,
                        "cpu_seconds": cpu,
                        "ai": ai["name"],
                        "version": asreview.__version__,
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
