"""Accuracy against labels used: supervised training from scratch, or from a network pretrained without labels.

Chapter 11 asks what a network pretrained without labels (the shipped contrastive model) is worth
once a few labels come back. Each cell trains a prototypical network (5-way 1-shot episodes, as
1% of the training characters are only 8; rotations as classes, Koch's distortions, Adam at 1e-3,
seed 0) on a seeded fraction of the training characters, ``--label-fraction`` 1%, 10% or 100%
(8, 81 or 807 characters), for the same number of episodes (a step budget, so that a cell sharing
its core trains no less), either from freshly initialised weights or with its embedding network
starting from the contrastive model's (``--start-from contrastive``). The only difference between
the two cells of a fraction is where the embedding starts.

Each cell's epoch is chosen on the validation alphabets only, then scored once on the evaluation
alphabets (20-way within-alphabet one-shot, 400 tasks) and on Lake's 400 trials; so is the
contrastive model itself (no label at all).

    python -m benchmarks.labels_used --steps 1000 --runs-folder runs/labels_used

(three rounds of two cells pinned to one core each: about 15 minutes). Linux only (taskset).
Writes ``benchmarks/results/labels_used.{json,md}`` and each cell's config, history and log
under ``benchmarks/results/labels_used/``.

Does the head start last? The same cells at full length, six times as many episodes, from the
best model trained without labels (rotation), the learning rate halved after 5,000 episodes:

    python -m benchmarks.labels_used --steps 6000 --start-from rotation --halve-lr-every 25 \
        --runs-folder runs/labels_used_full --results labels_used_full

(writes ``benchmarks/results/labels_used_full.{json,md}``; three rounds of two cells, about 10
minutes each on free cores).
"""

from __future__ import annotations

import argparse
import dataclasses
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
from oneshot_lib.scoring.comparisons import LabelsUsed, LabelsUsedCell

SHARED = ["--model", "prototypical", "--n-way", "5", "--rotate-classes", "--patience", "100000", "--quiet"]
FRACTIONS = (0.01, 0.1, 1.0)


def starts(start_from: str) -> dict[str, list[str]]:
    """The two starts of every fraction: fresh weights, or the embedding of ``start_from``."""
    return {"from scratch": [], f"from {start_from}": ["--start-from", start_from]}


def cell_name(fraction: float, start: str) -> str:
    return f"{fraction:.0%} of the labels, {start}"


def table(cells: dict[str, LabelsUsedCell]) -> str:
    lines = [
        "| cell | characters | steps | validation (selects) | evaluation, 20-way within, 1-shot | Lake's 400 trials |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, cell in cells.items():
        steps = "-" if cell.steps is None else f"{cell.steps:,}"
        lines.append(f"| {name} | {cell.characters} | {steps} | {accuracy_columns(cell)}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1000, help="training episodes of every cell")
    parser.add_argument("--runs-folder", type=Path, required=True, help="where the cells' runs go")
    parser.add_argument("--start-from", default="contrastive", help="the model trained without labels")
    parser.add_argument("--halve-lr-every", type=int, default=0, help="epochs between halvings (0: never)")
    parser.add_argument("--results", default="labels_used", help="name of the results files and folder")
    args = parser.parse_args()

    from oneshot_lib import load_omniglot, pretrained
    from oneshot_lib.data.omniglot import train_validation_split

    evaluation, lake = evaluation_data()
    train, _ = train_validation_split(load_omniglot("background"))

    cell_starts = starts(args.start_from)
    cells = {
        cell_name(fraction, start): [*flags, "--label-fraction", str(fraction)]
        for fraction in FRACTIONS
        for start, flags in cell_starts.items()
    }
    shared = [*SHARED, "--halve-lr-every", str(args.halve_lr_every)] if args.halve_lr_every else SHARED
    train_cells(cells, dict.fromkeys(cells, ("steps", args.steps)), args.runs_folder, shared)
    unlabelled = summarise(args.start_from, pretrained.folder(args.start_from), evaluation, lake, args.results)
    results = {  # the model without labels was not trained here: no steps of this benchmark
        f"no labels (the {args.start_from} model)": LabelsUsedCell(
            **{**dataclasses.asdict(unlabelled), "steps": None}, fraction=0.0, characters=0
        )
    }
    for fraction in FRACTIONS:
        for start in cell_starts:
            name = cell_name(fraction, start)
            cell = summarise(name, args.runs_folder / slug(name), evaluation, lake, args.results)
            results[name] = LabelsUsedCell(
                **dataclasses.asdict(cell),
                fraction=fraction,
                start=start,
                characters=len(train.sample_characters(fraction)),
            )
    write_results(args.results, LabelsUsed(**provenance(), steps=args.steps, cells=results), table(results))


if __name__ == "__main__":
    main()
