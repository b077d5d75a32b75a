"""A controlled comparison: what the training objective buys, and what each other factor buys.

The reference models of chapters 7 and 8 differ in more than their objective (backbone, input
size, rotations as classes, distortions, budget). This grid trains cells that are identical but for one thing,
every cell with ``python -m oneshot_lib.train``, the same number of minutes on one core of
this machine (two cells at a time, each pinned to its own core), seed 0, Adam at 1e-3, Koch's
distortions, rotations as classes, and no early stop:

1. **Objectives**, on the Conv-4 embedding at 28x28: pairs with binary cross-entropy (the
   siamese L1 head), prototypical episodes, matching episodes, and a softmax classifier over
   the training characters (the transfer baseline).
2. **Factors**, one at a time from the objective with the best *validation* accuracy: the
   backbone (the CPU-sized siamese twin at 52x52 instead of Conv-4 at 28x28), no rotations as
   classes, no distortions, twice the minutes. And the siamese objective on its own CPU twin,
   the network chapters 4 to 6 train.

Each cell's best checkpoint is chosen on the validation alphabets only (20-way within-alphabet
one-shot, 320 fixed tasks), then scored once for reporting: 20-way within-alphabet one-shot on
the evaluation alphabets (400 tasks, seed 0) and Lake's 400 trials.

    python -m benchmarks.objective_grid --minutes 10 --runs-folder runs/objective_grid

(about an hour: two rounds of two 10-minute cells, then three rounds for the factors; the
longer budget resumes a copy of the best objective's run). Linux only (taskset).
Writes ``benchmarks/results/objective_grid.{json,md}`` and each cell's config, history and log
under ``benchmarks/results/objective_grid/``. A cell whose run folder already holds a finished
run is not trained again, so the same command run again only scores the cells afresh.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from benchmarks.common import (
    accuracy_columns,
    evaluation_data,
    provenance,
    slug,
    summarise,
    train_cells,
    write_results,
)
from oneshot_lib.scoring.comparisons import ComparisonCell, ObjectiveGrid

#: What every cell shares (on top of the command line's defaults: Adam 1e-3, seed 0, distortions
#: on); a cell's own flags come after these, so they win.
SHARED = ["--rotate-classes", "--patience", "100000", "--quiet"]
OBJECTIVES = {
    "pairs (siamese, binary cross-entropy)": ["--model", "siamese", "--size", "conv4"],
    "prototypical episodes": ["--model", "prototypical"],
    "matching episodes": ["--model", "matching"],
    "softmax classifier (transfer)": ["--model", "transfer"],
}
#: Each factor as the flags that change it, for an objective's flags.
FACTORS = {
    "backbone: siamese CPU twin at 52x52": lambda flags: _other_backbone(flags),
    "no rotations as classes": lambda flags: [*flags, "--no-rotate-classes"],
    "no distortions": lambda flags: [*flags, "--no-augment"],
}
SIAMESE_ON_ITS_TWIN = "pairs on the siamese CPU twin (chapters 4-6)"


def _other_backbone(flags: list[str]) -> list[str]:
    if "siamese" in flags:
        return [flag if flag != "conv4" else "cpu" for flag in flags]
    return [*flags, "--backbone", "koch-cpu", "--image-size", "52"]


def table(cells: dict[str, ComparisonCell]) -> str:
    lines = [
        "| cell | parameters | steps | validation (selects) | evaluation, 20-way within, 1-shot | Lake's 400 trials |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, cell in cells.items():
        lines.append(f"| {name} | {cell.parameters:,} | {cell.steps:,} | {accuracy_columns(cell)}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="training minutes of every cell")
    parser.add_argument("--runs-folder", type=Path, required=True, help="where the cells' runs go")
    args = parser.parse_args()

    evaluation, lake = evaluation_data()

    minutes = dict.fromkeys(OBJECTIVES, ("minutes", args.minutes))
    train_cells(OBJECTIVES, minutes, args.runs_folder, SHARED)

    def score(names):
        runs = args.runs_folder
        return {name: summarise(name, runs / slug(name), evaluation, lake, "objective_grid") for name in names}

    results = score(OBJECTIVES)
    best = max(OBJECTIVES, key=lambda name: results[name].best_validation)  # validation only
    print(f"best objective on validation: {best}", flush=True)

    factors = {f"{best}, {factor}": change(OBJECTIVES[best]) for factor, change in FACTORS.items()}
    factors[SIAMESE_ON_ITS_TWIN] = _other_backbone(OBJECTIVES["pairs (siamese, binary cross-entropy)"])
    factors.pop(f"pairs (siamese, binary cross-entropy), {next(iter(FACTORS))}", None)  # the same cell
    longer = f"{best}, twice the minutes"
    factors[longer] = OBJECTIVES[best]
    minutes.update(dict.fromkeys(factors, ("minutes", args.minutes)))
    minutes[longer] = ("minutes", 2 * args.minutes)
    if not (args.runs_folder / slug(longer)).exists():  # resume a copy of the best run: the same first half
        shutil.copytree(args.runs_folder / slug(best), args.runs_folder / slug(longer))
    train_cells(factors, minutes, args.runs_folder, SHARED)
    results.update(score(factors))

    grid = ObjectiveGrid(**provenance(), minutes=args.minutes, best_objective_on_validation=best, cells=results)
    write_results("objective_grid", grid, table(results))


if __name__ == "__main__":
    main()
