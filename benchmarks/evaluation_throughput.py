"""N-way evaluation throughput: ``SiameseScorer`` against the twin network on every pair.

A task here is Koch's: N support images (one per character) and N queries (one per character,
another drawing). The seed's code scores it by running the whole siamese network on every pair
(query, support image): 2N images through the twin for each query, 2N^2 for the task. Here
that network call is compiled with ``tf.function``, so the comparison is of the work done, not
of Keras overheads. ``SiameseScorer`` embeds the N queries and the N support images once (2N
images), then applies only the head (L1 distance, one dense unit) to all pairs;
``evaluate.accuracy`` goes further and embeds every image that a batch of tasks uses once.
All three must make the same predictions: the script checks it (and the largest probability
difference) on every task.

The CPU-sized network uses the reference checkpoint (``pretrained.load("siamese")``) when it is
installed; Koch's network is freshly initialised (seeded): throughput does not depend on the
weights, and the predictions are compared all the same.

    python -m benchmarks.evaluation_throughput            # about 6 minutes on 2 cores (Koch's network is most of it)

Writes ``benchmarks/results/evaluation_throughput.{json,md}``. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from benchmarks.common import write_results
from oneshot_lib.notebook import quiet_tensorflow

quiet_tensorflow()

from oneshot_lib import (  # noqa: E402
    load_omniglot,
    pretrained,
    sample_task_indices,  # noqa: E402
)
from oneshot_lib.backend import tf  # noqa: E402
from oneshot_lib.models.siamese import SiameseScorer, as_model_input, build_siamese  # noqa: E402
from oneshot_lib.scoring.evaluate import accuracy  # noqa: E402

N_WAY = 20


def twin_on_every_pair(model) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """(query (Q, 105, 105), support (S, 105, 105)) -> (Q, S) probabilities from the full network
    run on all Q x S pairs, compiled once with tf.function (as fast as the seed's way can be)."""
    network = tf.function(lambda left, right: model([left, right], training=False)[:, 0])

    def scores(query: np.ndarray, support: np.ndarray) -> np.ndarray:
        left = np.repeat(as_model_input(query), len(support), axis=0)
        right = np.tile(as_model_input(support), (len(query), 1, 1))
        return network(tf.constant(left), tf.constant(right)).numpy().reshape(len(query), len(support))

    return scores


def timed_scores(score, tasks, data) -> tuple[float, list[np.ndarray]]:
    started = time.perf_counter()
    scores = [score(task.query, task.support) for task in (tasks.task(data, i) for i in range(len(tasks.characters)))]
    return time.perf_counter() - started, scores


def measure(scorer: SiameseScorer, data, n_tasks: int, seed: int = 0) -> dict:
    tasks = sample_task_indices(data, n_tasks, N_WAY, within_alphabet=True, rng=np.random.default_rng(seed))
    labels = [tasks.task(data, i) for i in range(n_tasks)]
    naive_scores = twin_on_every_pair(scorer.model)
    scorer.scores(labels[0].query, labels[0].support), naive_scores(labels[0].query, labels[0].support)  # warm-up
    naive_seconds, naive = timed_scores(naive_scores, tasks, data)
    scorer_seconds, fast = timed_scores(scorer.scores, tasks, data)
    started = time.perf_counter()
    batched = accuracy(scorer, data, N_WAY, n_tasks=n_tasks, within_alphabet=True, seed=seed)
    batched_seconds = time.perf_counter() - started

    def correct(scores: list[np.ndarray]) -> np.ndarray:
        return np.array(
            [t.support_labels[np.argmax(s, axis=1)] == t.query_labels for t, s in zip(labels, scores, strict=True)]
        )

    return {
        "n_way": N_WAY,
        "tasks": n_tasks,
        "queries_per_task": len(labels[0].query),
        "support_per_task": len(labels[0].support),
        "twin_on_every_pair": {
            "seconds": naive_seconds,
            "tasks_per_second": n_tasks / naive_seconds,
            "accuracy": float(correct(naive).mean()),
        },
        "siamese_scorer": {
            "seconds": scorer_seconds,
            "tasks_per_second": n_tasks / scorer_seconds,
            "accuracy": float(correct(fast).mean()),
        },
        "evaluate_accuracy": {
            "seconds": batched_seconds,
            "tasks_per_second": n_tasks / batched_seconds,
            "accuracy": batched.mean,
        },
        "same_predictions": float(
            np.mean([np.array_equal(np.argmax(a, 1), np.argmax(b, 1)) for a, b in zip(naive, fast, strict=True)])
        ),
        "largest_probability_difference": float(max(np.abs(a - b).max() for a, b in zip(naive, fast, strict=True))),
        "speedup_scorer": naive_seconds / scorer_seconds,
        "speedup_evaluate": naive_seconds / batched_seconds,
    }


def table(results: dict) -> str:
    lines = [
        "| network | weights | method | images through the twin per task | tasks/s | accuracy | speed-up |",
        "|---|---|---|---|---|---|---|",
    ]
    for size, result in results.items():
        queries, support = result["queries_per_task"], result["support_per_task"]
        rows = (
            ("twin_on_every_pair", "twin on every pair (seed)", f"{2 * queries * support}", "1x"),
            (
                "siamese_scorer",
                "SiameseScorer, task by task",
                f"{queries + support}",
                f"{result['speedup_scorer']:.1f}x",
            ),
            (
                "evaluate_accuracy",
                "evaluate.accuracy (embed each image once)",
                f"<= {queries + support}",
                f"{result['speedup_evaluate']:.1f}x",
            ),
        )
        for key, label, images, speedup in rows:
            row = result[key]
            lines.append(
                f"| {size} | {result['weights']} | {label} | {images} | {row['tasks_per_second']:,.1f} "
                f"| {row['accuracy']:.1%} | {speedup} |"
            )
    lines.append("")
    for size, result in results.items():
        lines.append(
            f"{size}: same predictions on {result['same_predictions']:.0%} of tasks, largest probability "
            f"difference {result['largest_probability_difference']:.1e}."
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=200, help="20-way tasks, CPU-sized network")
    parser.add_argument("--koch-tasks", type=int, default=40, help="20-way tasks, Koch's network")
    args = parser.parse_args()
    data = load_omniglot("evaluation")
    if "siamese" in pretrained.available():
        cpu, cpu_weights = pretrained.load("siamese"), "reference checkpoint"
    else:
        cpu, cpu_weights = SiameseScorer(build_siamese("cpu", seed=0)), "untrained (seed 0)"
    results = {}
    for size, scorer, weights, n_tasks in (
        ("cpu", cpu, cpu_weights, args.tasks),
        ("koch", SiameseScorer(build_siamese("koch", seed=0)), "untrained (seed 0)", args.koch_tasks),
    ):
        results[size] = {"weights": weights, **measure(scorer, data, n_tasks)}
        print(size, f"speed-up {results[size]['speedup_scorer']:.1f}x", flush=True)
    write_results("evaluation_throughput", {"results": results}, table(results))


if __name__ == "__main__":
    main()
