"""Optimisers: Koch's SGD, with one learning rate and with per-layer rates, against Adam.

Runs ``python -m oneshot_lib.train`` twice at the same time, each pinned to one core
(``taskset``), for ``--minutes`` each: Koch's SGD with one learning rate for every layer, and
with per-layer multipliers (``--layer-rates``). The Adam row (at 1e-3) is not run here: it is
read from the history of the hour-long run shipped as ``siamese-adam`` (trained earlier, also
pinned to one core beside another run), as its best validation accuracy within the same number
of minutes. The two SGD runs are fresh, so the Adam row differs from them in when it ran and in
how many steps its minutes bought, as well as in the optimiser. Everything
is measured on the validation alphabets (20-way within-alphabet, 320 fixed tasks).

Koch et al. tuned each layer's rate by Bayesian optimisation and did not publish the values;
the per-layer variant here is one hand-set choice, not a search: the dense layers (whose
weights Koch initialises with 20 times the convolutions' spread) learn at a tenth of the rate.

    python -m benchmarks.optimizers --minutes 8 --learning-rate 0.1 --runs-folder runs/optimizers

(about 9 minutes). At the default SGD rate of 1e-2 neither variant left the saturated start in
10 minutes (pair accuracy 50%, validation at chance: the L2 penalty on Koch's large initial dense
weights dominates the loss, and plain SGD shrinks it slowly), hence the larger rate here.

Linux only (taskset). Writes ``benchmarks/results/optimizers.{json,md}``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from benchmarks.common import provenance, write_results
from oneshot_lib.scoring.comparisons import OptimizerRun, OptimizerRuns

LAYER_RATES = "features=0.1,head=0.1"
VARIANTS = {
    "Koch's SGD, one rate": [],
    "Koch's SGD, per-layer rates": ["--layer-rates", LAYER_RATES],
}


def run_summary(command: str, history, minutes: float) -> OptimizerRun:
    """A run of ``command`` up to ``minutes`` of its ``records.History`` (and half a minute's grace): its best
    validation accuracy by then."""
    within = history.epochs_within(minutes + 0.5)
    best = history.most_accurate(minutes + 0.5)
    return OptimizerRun(
        command=command,
        best_val_oneshot_accuracy=best.val_oneshot_accuracy,
        best_val_oneshot_stderr=best.val_oneshot_stderr,
        steps=within[-1].step,
        minutes=within[-1].minutes,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--runs-folder", default="runs/optimizers")
    parser.add_argument("--learning-rate", type=float, default=0.1, help="base learning rate of both SGD runs")
    args = parser.parse_args()
    folder = Path(args.runs_folder)
    commands, processes = {}, []
    for core, (name, flags) in enumerate(VARIANTS.items()):
        output = folder / ("sgd-layer-rates" if flags else "sgd")
        command = [
            "python",
            "-m",
            "oneshot_lib.train",
            "--size",
            "cpu",
            "--optimizer",
            "sgd",
            "--minutes",
            f"{args.minutes:g}",
            "--learning-rate",
            f"{args.learning_rate:g}",
            "--output",
            str(output),
            "--quiet",
            *flags,
        ]
        commands[name] = (" ".join(["taskset", "-c", str(core), *command]), output)
        processes.append(subprocess.Popen(["taskset", "-c", str(core), sys.executable, *command[1:]]))
    if any(process.wait() for process in processes):
        raise SystemExit("a training run failed: see its log.txt")

    from oneshot_lib import pretrained

    runs = {
        "Adam at 1e-3 (shipped `siamese-adam`)": run_summary(
            pretrained.run_record("siamese-adam").command, pretrained.history("siamese-adam"), args.minutes
        )
    }
    for name, (command, output) in commands.items():
        runs[name] = run_summary(command, pretrained.history(output), args.minutes)
    lines = ["| optimiser | steps | minutes | best validation 20-way accuracy |", "|---|---|---|---|"]
    lines += [
        f"| {name} | {run.steps:,} | {run.minutes:.1f} | {run.best_val_oneshot_accuracy:.1%} "
        f"± {run.best_val_oneshot_stderr:.1%} |"
        for name, run in runs.items()
    ]
    record = OptimizerRuns(
        **provenance(), minutes=args.minutes, learning_rate=args.learning_rate, layer_rates=LAYER_RATES, runs=runs
    )
    write_results("optimizers", record, "\n".join(lines))


if __name__ == "__main__":
    main()
