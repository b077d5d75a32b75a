"""Seconds per outer step of MAML (second- and first-order) and Reptile, and per adapted test task.

What dropping MAML's second derivatives saves, measured on the course's shapes: 5-way 1-shot
training tasks with 5 queries per class at 28x28, the Conv-4 network, a meta-batch of tasks per
outer step (random images: the arithmetic does not depend on the drawings). Each method is
traced and run twice, then timed in rounds that alternate between the methods, so a change in the
machine's load hits them alike; the median round is reported. Also times the scorer on a 20-way
1-shot task (20 queries) for a few numbers of inner steps at test time.

    taskset -c 1 python -m benchmarks.metalearning_step_time       # a few minutes on one core

Writes ``benchmarks/results/metalearning_step_time.{json,md}``. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.common import write_results
from oneshot_lib.notebook import quiet_tensorflow

quiet_tensorflow()

from oneshot_lib.backend import keras  # noqa: E402
from oneshot_lib.models import metalearning  # noqa: E402

METHODS = {
    "MAML (second-order)": ("maml", {"first_order": False}),
    "first-order MAML": ("maml", {"first_order": True}),
    "Reptile": ("reptile", {}),
}


def meta_batch(tasks: int, n_way: int = 5, n_query: int = 5, size: int = 28, seed: int = 0) -> tuple[dict, np.ndarray]:
    """One meta-batch of ``tasks`` random 1-shot episodes: (episodes, query labels), as the kinds stream them."""
    rng = np.random.default_rng(seed)
    episodes = {
        "support": rng.random((tasks, n_way, size, size, 1)).astype("float32"),
        "support_labels": np.tile(np.arange(n_way), (tasks, 1)).astype("int32"),
        "query": rng.random((tasks, n_way * n_query, size, size, 1)).astype("float32"),
    }
    return episodes, np.tile(np.repeat(np.arange(n_way), n_query), (tasks, 1)).astype("int32")


def outer_step_seconds(tasks: int, inner_steps: int, rounds: int, steps_per_round: int) -> dict[str, list[float]]:
    """{method: seconds per outer step of each round}, the methods alternating round by round."""
    episodes, labels = meta_batch(tasks)
    models = {}
    for name, (method, options) in METHODS.items():
        model = metalearning.build_metalearner(method, seed=0, inner_steps=inner_steps, **options)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        for _ in range(3):  # the first call traces; the first runs are slower still (graph optimisation)
            model.train_on_batch(episodes, labels)
        models[name] = model
    seconds = {name: [] for name in models}
    for _ in range(rounds):
        for name, model in models.items():
            start = time.perf_counter()
            for _ in range(steps_per_round):
                model.train_on_batch(episodes, labels)
            seconds[name].append((time.perf_counter() - start) / steps_per_round)
    return seconds


def test_task_seconds(steps: int, repeats: int = 5) -> float:
    """Median seconds to score one 20-way 1-shot task (20 queries) after ``steps`` inner steps."""
    images = np.random.default_rng(0).random((40, 105, 105)) < 0.1
    scorer = metalearning.build_metalearner("maml", seed=0).scorer(steps=steps)
    for _ in range(2):  # trace, then the graph's first, optimising run
        scorer.scores(images[:20], images[20:])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        scorer.scores(images[:20], images[20:])
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meta-batch-size", type=int, default=8, help="tasks per outer step")
    parser.add_argument("--inner-steps", type=int, nargs="+", default=[1, 5], help="inner steps to time")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps-per-round", type=int, default=4)
    parser.add_argument("--test-steps", type=int, nargs="+", default=[1, 3, 10])
    args = parser.parse_args()
    rows, results = [], {"meta_batch_size": args.meta_batch_size, "outer_step_seconds": {}, "test_task_seconds": {}}
    for inner_steps in args.inner_steps:
        seconds = outer_step_seconds(args.meta_batch_size, inner_steps, args.rounds, args.steps_per_round)
        results["outer_step_seconds"][inner_steps] = seconds
        for name, measured in seconds.items():
            rows.append(f"| {name} | {inner_steps} | {np.median(measured):.3f} | {np.round(measured, 3).tolist()} |")
    for steps in args.test_steps:
        results["test_task_seconds"][steps] = test_task_seconds(steps)
    table = "\n".join(
        [
            f"Outer steps, {args.meta_batch_size} tasks each (5-way 1-shot, 5 queries per class, 28x28):",
            "",
            "| method | inner steps | median s/outer step | rounds |",
            "|---|---|---|---|",
            *rows,
            "",
            "Scoring one 20-way 1-shot task (20 queries), adapting on its support set:",
            "",
            "| inner steps at test | median s/task |",
            "|---|---|",
            *(f"| {steps} | {seconds:.3f} |" for steps, seconds in results["test_task_seconds"].items()),
        ]
    )
    write_results("metalearning_step_time", results, table)


if __name__ == "__main__":
    main()
