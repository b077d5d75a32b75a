"""Choose a run's test-time shift on the validation alphabets, with its kept weights.

Scores the run's best weights on the validation tasks it was selected on (20-way within an
alphabet, the 320 tasks its training measured, the same seed), each drawing's embedding averaged
over a grid of shifts (``scoring.shifts``) of each size given (0: none), on each grid given (3:
3x3, 5: 5x5), with the given fill (``wrap``: the image rolls round, as the supervised models
score; ``paper``: the drawing moves on blank paper, so shifts beyond ``shifts.MAX_SHIFT`` mean
something), and keeps the setting with the highest accuracy (on a tie, the cheaper: the smaller
grid, then the smaller shift). With ``--record``, the choice is written into the run's
``config.json`` as its ``"scoring"`` entry, which ``pretrained.load`` then applies. Neither the
evaluation alphabets nor Lake's runs are read.

    python -m benchmarks.test_time_shifts runs/siamese-2cores --pixels 0 3 5 6 8 --record
    python -m benchmarks.test_time_shifts runs/rotation --fill paper --pixels 0 6 10 14 18 22 --grids 3 5

(under a minute for the CPU siamese network on this machine; 5x5 grids embed 25 copies of each
drawing, nearly three times the 3x3 grid's nine). Writes
``benchmarks/results/test_shifts-<run>.{json,md}``, ``test_shifts-<run>-paper.{json,md}`` for paper fill.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchmarks.common import write_results


def settings(pixels: list[int], grids: list[int]) -> list[tuple[int, int]]:
    """(grid, pixels) to score: no shift once (on the smallest grid), every other size on every grid."""
    return [(min(grids), 0)] * (0 in pixels) + [(grid, p) for grid in grids for p in pixels if p]


def row(fill: str, result: dict) -> str:
    """The table's row of one setting."""
    grid, pixels = result["grid"], result["pixels"]
    setting = f"{fill} | {grid}x{grid}" if pixels else "none | -"
    return (
        f"| {setting} | {pixels} | {pixels * (grid // 2)} | {result['accuracy']:.1%} ± {result['stderr']:.1%} | "
        f"{result['seconds']:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path, help="the run's folder")
    parser.add_argument("--pixels", type=int, nargs="+", default=[0, 3, 5, 6, 8], help="shift sizes to try")
    parser.add_argument("--fill", choices=["wrap", "paper"], default="wrap", help="how a shift treats the edge")
    parser.add_argument("--grids", type=int, nargs="+", default=[3], help="grids to try: 3 (3x3) and/or 5 (5x5)")
    parser.add_argument("--record", action="store_true", help="write the choice into the run's config.json")
    args = parser.parse_args()

    from oneshot_lib.scoring.shifts import average_over_shifts, check_shift

    tried = settings(args.pixels, args.grids)
    for grid, pixels in tried:  # refused before any model or data is loaded
        check_shift(pixels, "--pixels", fill=args.fill, grid=grid)

    from oneshot_lib import load_omniglot, pretrained, train_validation_split
    from oneshot_lib.notebook import quiet_tensorflow
    from oneshot_lib.scoring import evaluate

    quiet_tensorflow()
    from oneshot_lib.training.kinds import kind_named
    from oneshot_lib.training.loading import load_run_model

    model, config = load_run_model(args.run)
    _, validation = train_validation_split(load_omniglot("background"))
    scorer = kind_named(config.model).scorer(model)
    tasks = {"n_tasks": config.val_tasks, "within_alphabet": config.val_within_alphabet, "seed": config.seed}
    results = []
    for grid, pixels in tried:
        start = time.perf_counter()
        shifted = average_over_shifts(scorer, pixels, args.fill, grid)
        result = evaluate.accuracy(shifted, validation, config.val_way, **tasks)
        seconds = time.perf_counter() - start
        results.append(
            {"grid": grid, "pixels": pixels, "accuracy": result.mean, "stderr": result.stderr, "seconds": seconds}
        )
        print(f"{args.fill} shifts of {pixels} pixels on a {grid}x{grid} grid: {result} ({seconds:.0f} s)", flush=True)
    best = max(results, key=lambda r: (r["accuracy"], -r["grid"] * (r["pixels"] > 0), -r["pixels"]))
    described = "; ".join(
        f"{r['grid']}x{r['grid']} {r['pixels']} px {r['accuracy']:.1%}" if r["pixels"] else f"none {r['accuracy']:.1%}"
        for r in results
    )
    where = "within alphabets" if config.val_within_alphabet else "across alphabets"
    reason = (
        f"on the {config.val_tasks} validation tasks ({config.val_way}-way, {where}, seed {config.seed}) "
        f"with the kept weights, {time.strftime('%Y-%m-%d')}: {args.fill} shifts gave {described}; the highest was kept"
    )
    if args.record:
        pretrained.record_scoring_choice(args.run, best["pixels"], reason, fill=args.fill, grid=best["grid"])
    lines = [
        "| fill | grid | shift (pixels) | largest offset | validation accuracy | seconds |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += [row(args.fill, r) for r in results]
    chosen = (
        "no shift"
        if not best["pixels"]
        else f"{args.fill} shifts of {best['pixels']} pixels, {best['grid']}x{best['grid']}"
    )
    lines.append(f"\nChosen: {chosen}.")
    name = f"test_shifts-{args.run.name}" + ("" if args.fill == "wrap" else f"-{args.fill}")
    chosen_record = {"fill": args.fill, "grid": best["grid"], "pixels": best["pixels"]}
    write_results(
        name, {"run": args.run.name, "fill": args.fill, "results": results, "chosen": chosen_record}, "\n".join(lines)
    )


if __name__ == "__main__":
    main()
