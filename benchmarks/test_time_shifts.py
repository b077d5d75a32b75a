"""Choose a run's test-time shift on the validation alphabets, with its kept weights.

Scores the run's best weights on the validation tasks it was selected on (20-way within an
alphabet, the 320 tasks its training measured, the same seed), each drawing's embedding averaged
over a 3x3 grid of shifts of each size given (0: none), and keeps the size with the highest
accuracy (the smallest, on a tie). With ``--record``, the choice is written into the run's
``config.json`` as its ``"scoring"`` entry, which ``pretrained.load`` then applies. Neither the
evaluation alphabets nor Lake's runs are read.

    python -m benchmarks.test_time_shifts runs/siamese-2cores --pixels 0 3 5 6 8 --record

(under a minute for the CPU siamese network on this machine). Writes
``benchmarks/results/test_shifts-<run>.{json,md}``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchmarks.common import write_results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path, help="the run's folder")
    parser.add_argument("--pixels", type=int, nargs="+", default=[0, 3, 5, 6, 8], help="shift sizes to try")
    parser.add_argument("--record", action="store_true", help="write the choice into the run's config.json")
    args = parser.parse_args()

    from oneshot_lib import load_omniglot, pretrained, train_validation_split
    from oneshot_lib.notebook import quiet_tensorflow
    from oneshot_lib.scoring import evaluate

    quiet_tensorflow()
    from oneshot_lib.scoring.shifts import average_over_shifts
    from oneshot_lib.training.kinds import kind_named
    from oneshot_lib.training.loading import load_run_model

    model, config = load_run_model(args.run)
    _, validation = train_validation_split(load_omniglot("background"))
    scorer = kind_named(config.model).scorer(model)
    tasks = {"n_tasks": config.val_tasks, "within_alphabet": config.val_within_alphabet, "seed": config.seed}
    results = {}
    for pixels in args.pixels:
        result = evaluate.accuracy(average_over_shifts(scorer, pixels), validation, config.val_way, **tasks)
        results[pixels] = {"accuracy": result.mean, "stderr": result.stderr}
        print(f"shifts of {pixels} pixels: {result}", flush=True)
    chosen = max(args.pixels, key=lambda pixels: (results[pixels]["accuracy"], -pixels))
    tried = ", ".join(f"{pixels}" for pixels in args.pixels)
    scores = ", ".join(f"{results[pixels]['accuracy']:.1%}" for pixels in args.pixels)
    reason = (
        f"on the {config.val_tasks} validation tasks with the kept weights, {time.strftime('%Y-%m-%d')}: "
        f"shifts of {tried} pixels gave {scores}; the highest was kept"
    )
    if args.record:
        pretrained.record_scoring_choice(args.run, chosen, reason)
    lines = ["| shift (pixels) | validation accuracy |", "| --- | --- |"]
    lines += [f"| {pixels} | {r['accuracy']:.1%} ± {r['stderr']:.1%} |" for pixels, r in results.items()]
    lines.append(f"\nChosen: {chosen} pixels.")
    write_results(
        f"test_shifts-{args.run.name}", {"run": args.run.name, "results": results, "chosen": chosen}, "\n".join(lines)
    )


if __name__ == "__main__":
    main()
