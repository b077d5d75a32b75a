"""What each lever buys a self-supervised embedding, one at a time, on the validation alphabets.

Scores self-supervised runs (no character label read in training) on the validation tasks their
training measured (20-way within an alphabet, the run's 320 tasks and seed), changing one thing
at a time from each run's plain embedding (block 4, no test-time shift):

- **shifts**: each drawing's embedding averaged over a grid of shifts on blank paper
  (``scoring.shifts``, ``--pixels`` on a ``--grid``);
- **block 3**: the embedding read after the third block's pooling (flattened) instead of the
  fourth's;
- **joined**: two runs' embeddings, each scaled to unit length, side by side (the cosine of the
  joined vectors is the mean of the two cosines), plain and both shifted.

Longer training is a lever too: give the same recipe's runs of different lengths as separate
runs (their histories give the minutes and steps). Neither the evaluation alphabets nor Lake's
runs are read: this chooses, it does not report.

    python -m benchmarks.selfsupervised_levers rotation=oneshot_lib/checkpoints/rotation \\
        contrastive=oneshot_lib/checkpoints/contrastive --join rotation+contrastive

(about a minute per row on one core; a shifted row embeds 25 copies of each drawing). Writes
``benchmarks/results/selfsupervised_levers.{json,md}``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks.common import write_results


def named_runs(values: list[str]) -> dict[str, Path]:
    """``name=folder`` arguments as {name: folder}; a folder without ``config.json`` is a usage error."""
    runs = {}
    for value in values:
        name, _, folder = value.partition("=")
        if not folder or not (Path(folder) / "config.json").is_file():
            raise SystemExit(f"{value!r}: give runs as NAME=FOLDER, a run folder holding config.json")
        runs[name] = Path(folder)
    return runs


def joined_scorer(scorers: list):
    """A cosine scorer of two or more scorers' embeddings, each scaled to unit length, side by side.

    Its ``embed`` gives (N, sum of the D's) float32; the cosine of two joined vectors is the mean
    of the parts' cosines.
    """
    from oneshot_lib.models.conv4 import CosineScorer

    class JoinedScorer(CosineScorer):
        name = "joined (cosine)"

        def __init__(self):  # no network of its own: its parts embed
            self.scorers = scorers

        def embed(self, images: np.ndarray) -> np.ndarray:
            parts = [scorer.embed(images) for scorer in self.scorers]
            return np.concatenate(
                [p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-8) for p in parts], axis=1
            ).astype(np.float32)

    return JoinedScorer()


def table_row(row: dict) -> str:
    """One row of the results table."""
    accuracy = f"{row['accuracy']:.1%} ± {row['stderr']:.1%}"
    return f"| {row['run']} | {row['minutes_trained']:.0f} | {row['lever']} | {accuracy} | {row['seconds']:.0f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", help="NAME=FOLDER of each self-supervised run")
    parser.add_argument("--join", nargs="*", default=[], help="pairs of run names to join, as A+B")
    parser.add_argument("--pixels", type=int, default=10, help="shift size at 105x105 (default 10)")
    parser.add_argument("--grid", type=int, default=5, help="shift grid: 3 or 5 (default 5)")
    args = parser.parse_args()
    runs = named_runs(args.runs)
    joins = [tuple(j.split("+")) for j in args.join]
    for join in joins:
        if len(join) < 2 or set(join) - set(runs):
            parser.error(f"--join {'+'.join(join)}: join two or more of the runs named {sorted(runs)}")

    from oneshot_lib.scoring.shifts import average_over_shifts, check_shift

    check_shift(args.pixels, "--pixels", fill="paper", grid=args.grid)

    from oneshot_lib import load_omniglot, train_validation_split
    from oneshot_lib.notebook import quiet_tensorflow
    from oneshot_lib.scoring import evaluate

    quiet_tensorflow()
    from oneshot_lib.backend import keras
    from oneshot_lib.models.conv4 import CosineScorer
    from oneshot_lib.training.loading import load_run_model

    _, validation = train_validation_split(load_omniglot("background"))
    rows: list[dict] = []
    tasks: dict = {}

    def score(run: str, lever: str, scorer, minutes: float) -> None:
        start = time.perf_counter()
        result = evaluate.accuracy(scorer, validation, tasks["way"], **tasks["tasks"])
        rows.append(
            {
                "run": run,
                "lever": lever,
                "minutes_trained": minutes,
                "accuracy": result.mean,
                "stderr": result.stderr,
                "seconds": time.perf_counter() - start,
            }
        )
        print(f"{run:>28} | {lever:<28} | {result}", flush=True)

    shift = f"shifts on paper, {args.grid}x{args.grid} of {args.pixels} px"
    plain, shifted, trained = {}, {}, {}
    for name, folder in runs.items():
        model, config = load_run_model(folder)
        tasks.setdefault(
            "tasks",
            {"n_tasks": config.val_tasks, "within_alphabet": config.val_within_alphabet, "seed": config.seed},
        )
        tasks.setdefault("way", config.val_way)
        trained[name] = {"model": config.model, "minutes": config.minutes}
        embedding = model.embedding
        block3 = keras.Model(embedding.inputs, keras.layers.Flatten()(embedding.get_layer("pool3").output))
        plain[name] = CosineScorer(embedding)
        shifted[name] = average_over_shifts(plain[name], args.pixels, "paper", args.grid)
        score(name, "none (block 4, no shift)", plain[name], config.minutes)
        score(name, shift, shifted[name], config.minutes)
        score(name, "block 3", CosineScorer(block3), config.minutes)
    for join in joins:
        name, minutes = " + ".join(join), sum(trained[j]["minutes"] for j in join)
        score(name, "joined", joined_scorer([plain[j] for j in join]), minutes)
        score(name, f"joined, each with {shift}", joined_scorer([shifted[j] for j in join]), minutes)

    table = [
        f"Self-supervised levers on the validation alphabets ({tasks['way']}-way within an alphabet, "
        f"{tasks['tasks']['n_tasks']} tasks, seed {tasks['tasks']['seed']}); one change at a time from each run's "
        "plain embedding.",
        "",
        "| run | minutes trained | lever | accuracy | seconds |",
        "| --- | --- | --- | --- | --- |",
        *(table_row(r) for r in rows),
    ]
    write_results(
        "selfsupervised_levers",
        {"runs": {n: {"folder": str(f), **trained[n]} for n, f in runs.items()}, "rows": rows},
        "\n".join(table),
    )


if __name__ == "__main__":
    main()
