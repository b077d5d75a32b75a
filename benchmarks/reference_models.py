"""Every shipped reference model, scored once for reporting: Lake's 400 trials and random tasks.

For each model in ``oneshot_lib/checkpoints``: accuracy on Lake's 20 runs (400 trials) and on
400 random 20-way within-alphabet one-shot tasks of the evaluation alphabets (seed 0), each with
its standard error; the minutes it trained (from its history), its best validation accuracy
(what chose it) and the size of its weights file. The cores each run had are in
``oneshot_lib/checkpoints/README.md``, beside its command.

    python -m benchmarks.reference_models                         # every model
    python -m benchmarks.reference_models rotation contrastive    # only these; the other rows kept

Writes ``benchmarks/results/reference_models.{json,md}``; with model names, scores only those
models and keeps the other rows of the committed file (the table then names the command and date
that scored each row). Nothing here chooses anything: the models were chosen on the validation
alphabets before this ran (``checkpoints/README.md``).
"""

from __future__ import annotations

import argparse
import json

from benchmarks.common import RESULTS, provenance, write_results


def shifts_text(model: dict) -> str:
    """A row's test-time shifts, e.g. "6 px, wrap, 3x3", or "none"."""
    grid = model.get("shift_grid", 3)
    return (
        f"{model['test_shifts']} px, {model.get('shift_fill', 'wrap')}, {grid}x{grid}"
        if model["test_shifts"]
        else "none"
    )


#: What a row scored before shifts had fills and grids held: the 3x3 grid of wrapping shifts.
UNRECORDED_SHIFTS = {"shift_fill": "wrap", "shift_grid": 3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="the models to score (default: every shipped model)")
    args = parser.parse_args()

    from oneshot_lib import load_lake_runs, load_omniglot, pretrained
    from oneshot_lib.notebook import quiet_tensorflow
    from oneshot_lib.scoring import evaluate

    unknown = sorted(set(args.names) - set(pretrained.available()))
    if unknown:
        parser.error(f"no shipped models named {unknown}; the shipped models are {pretrained.available()}")
    quiet_tensorflow()
    evaluation, lake = load_omniglot("evaluation"), load_lake_runs()
    models, scored_by = {}, {}
    if args.names:  # the other rows as committed, with the command that scored them
        committed = json.loads((RESULTS / "reference_models.json").read_text())
        earlier = committed.get("scored_by", {})
        default = f"`{committed['command']}` on {committed['date']}"
        kept = {name: row for name, row in committed["models"].items() if name not in args.names}
        models = {name: {**UNRECORDED_SHIFTS, **row} for name, row in kept.items()}
        scored_by = {name: earlier.get(name, default) for name in models}
    now = provenance()
    for name in args.names or pretrained.available():
        scorer = pretrained.load(name)
        history, record = pretrained.history(name), pretrained.run_record(name)
        on_lake = evaluate.lake_runs(scorer, lake)
        within = evaluate.accuracy(scorer, evaluation, 20, n_tasks=400, within_alphabet=True, seed=0)
        models[name] = {
            "command": record.command,
            "test_shifts": record.test_shifts,
            "shift_fill": record.shift_fill,
            "shift_grid": record.shift_grid,
            "minutes": history.minutes,
            "best_validation": history.best_val_oneshot_accuracy,
            "trained_on_validation_alphabets": record.config.train_on_validation_alphabets,
            "lake": on_lake.mean,
            "lake_stderr": on_lake.stderr,
            "evaluation_within_1shot": within.mean,
            "evaluation_within_1shot_stderr": within.stderr,
            "megabytes": pretrained.checkpoint_megabytes(name),
        }
        scored_by[name] = f"`{now['command']}` on {now['date']}"
        print(name, on_lake, within, flush=True)
    models = dict(sorted(models.items()))
    lines = [
        "| model | minutes trained | validation (chose it) | test-time shifts | Lake's 400 trials "
        "| evaluation, 20-way within, 1-shot | weights |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, m in models.items():
        validation = f"{m['best_validation']:.1%}"
        if m["trained_on_validation_alphabets"]:
            validation += " (trained on those alphabets: chose nothing)"
        lines.append(
            f"| {name} | {m['minutes']:.0f} | {validation} | {shifts_text(m)} | "
            f"{m['lake']:.1%} ± {m['lake_stderr']:.1%} | "
            f"{m['evaluation_within_1shot']:.1%} ± {m['evaluation_within_1shot_stderr']:.1%} | "
            f"{m['megabytes']:.1f} MB |"
        )
    if args.names:
        lines.append("\nEach row was scored by:\n")
        lines += [f"- {name}: {scored_by[name]}" for name in models]
    results = {"models": models, **({"scored_by": dict(sorted(scored_by.items()))} if args.names else {})}
    write_results("reference_models", results, "\n".join(lines))


if __name__ == "__main__":
    main()
