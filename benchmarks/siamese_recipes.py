"""Siamese recipes: what hard negatives and rotations as classes add to Koch's SGD, on validation.

Chooses the recipe of the shipped ``siamese`` model before it is trained, on the validation
alphabets only (20-way within-alphabet, the 320 fixed tasks of every run). Every cell is the
recipe of 2026-11-25 (the CPU-sized twin at 52x52, Koch's SGD at a learning rate of 0.1, Koch's
distortions, seed 0) plus the flags in its name, trained for the same number of steps, two cells
at a time, each pinned to one core. The recipe itself is not retrained: its row is read, at the
same step, from the history of the hour-long run it made (pinned to one core beside another run,
as the cells are; shipped as ``siamese`` on 2026-11-25), kept in
``benchmarks/results/siamese_recipes/recipe-of-2026-11-25/``.

    python -m benchmarks.siamese_recipes --steps 3000 --runs-folder runs/siamese_recipes

(two cells at once: about 10 minutes). Linux only (taskset). Writes
``benchmarks/results/siamese_recipes.{json,md}`` and each cell's config, history and log under
``benchmarks/results/siamese_recipes/``. Neither Lake's runs nor the evaluation alphabets are read.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.common import RESULTS, keep_run_files, slug, train_cells, write_results

RECIPE = ["--size", "cpu", "--optimizer", "sgd", "--learning-rate", "0.1", "--patience", "100000", "--quiet"]
BASELINE = "Koch's SGD at 0.1 (the 2026-11-25 recipe)"
CELLS = {
    "+ hard negatives": ["--hard-negatives"],
    "+ hard negatives + rotations as classes": ["--hard-negatives", "--rotate-classes"],
}


def validation_up_to(history, steps: int) -> dict:
    """Best and last validation accuracy of a ``records.History`` among the epochs that end at or before ``steps``."""
    last = history.epochs_within(steps=steps)[-1]
    best = history.most_accurate(steps=steps)
    return {
        "steps": last.step,
        "minutes": last.minutes,
        "last_validation": last.val_oneshot_accuracy,
        "best_validation": best.val_oneshot_accuracy,
        "best_validation_stderr": best.val_oneshot_stderr,
        "best_step": best.step,
    }


def table(rows: dict[str, dict]) -> str:
    lines = [
        "| recipe | steps | minutes | validation at the last step | best validation (at step) |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {name} | {row['steps']:,} | {row['minutes']:.1f} | {row['last_validation']:.1%} | "
        f"{row['best_validation']:.1%} ± {row['best_validation_stderr']:.1%} ({row['best_step']:,}) |"
        for name, row in rows.items()
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=3000, help="training steps (batches of 128 pairs) per cell")
    parser.add_argument("--runs-folder", type=Path, required=True, help="where the cells' runs go")
    args = parser.parse_args()
    budgets = {name: ("steps", args.steps) for name in CELLS}
    train_cells(CELLS, budgets, args.runs_folder, RECIPE)

    from oneshot_lib import pretrained

    baseline = RESULTS / "siamese_recipes" / "recipe-of-2026-11-25"
    rows = {
        BASELINE: {
            "command": pretrained.run_record(baseline).command,
            **validation_up_to(pretrained.history(baseline), args.steps),
        }
    }
    for name in CELLS:
        folder = args.runs_folder / slug(name)
        keep_run_files(folder, "siamese_recipes")
        rows[name] = {
            "command": pretrained.run_record(folder).command,
            **validation_up_to(pretrained.history(folder), args.steps),
        }
    write_results("siamese_recipes", {"steps": args.steps, "rows": rows}, table(rows))


if __name__ == "__main__":
    main()
