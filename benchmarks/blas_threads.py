"""BLAS threads: pixel 1-NN's time per 20-way task with one OpenBLAS thread and with OpenBLAS's default.

Pixel nearest neighbour spends its time in one small matrix product per task, (20, 11025) by
(11025, 20). OpenBLAS splits such products across every core by default; on a small machine that
other work shares, the threads wait for each other. Each setting runs in a fresh Python process,
since OpenBLAS reads ``OPENBLAS_NUM_THREADS`` only when numpy is first imported. Chapter 2 sets
one thread before it imports numpy, after this measurement.

    python -m benchmarks.blas_threads            # under a minute

Writes ``benchmarks/results/blas_threads.{json,md}``. The numbers depend on what else the machine
is doing: the results record the load average when the script ran.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from benchmarks.common import write_results

MEASURE = """
import json, time
from oneshot_lib.scoring import baselines
from oneshot_lib.scoring import evaluate
from oneshot_lib import load_omniglot
evaluation = load_omniglot("evaluation")
scorer = baselines.PixelNearestNeighbour()
evaluate.accuracy(scorer, evaluation, 20, n_tasks=20, within_alphabet=True)  # warm up
start = time.perf_counter()
evaluate.accuracy(scorer, evaluation, 20, n_tasks={tasks}, within_alphabet=True)
print(json.dumps((time.perf_counter() - start) / {tasks} * 1e3))
"""


def milliseconds_per_task(threads: str | None, tasks: int) -> float:
    """Time per 20-way within-alphabet pixel 1-NN task, in a fresh process with ``threads`` BLAS threads."""
    environment = {key: value for key, value in os.environ.items() if key != "OPENBLAS_NUM_THREADS"}
    if threads is not None:
        environment["OPENBLAS_NUM_THREADS"] = threads
    output = subprocess.run(
        [sys.executable, "-c", MEASURE.format(tasks=tasks)], env=environment, capture_output=True, text=True, check=True
    ).stdout
    return float(json.loads(output.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=400, help="20-way tasks timed per setting")
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    results = {
        name: milliseconds_per_task(threads, args.tasks)
        for name, threads in (("one thread", "1"), ("OpenBLAS default", None))
    }
    table = (
        "| OpenBLAS threads | ms per 20-way task |\n|---|---|\n"
        + "\n".join(f"| {name} | {value:.2f} |" for name, value in results.items())
        + f"\n\nLoad average (1 minute) when the script started: {load:.2f}; {args.tasks} tasks per setting."
    )
    write_results("blas_threads", {"tasks": args.tasks, "load_average": load, "ms_per_task": results}, table)


if __name__ == "__main__":
    main()
