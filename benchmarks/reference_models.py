"""Every shipped reference model, scored once for reporting: Lake's 400 trials and random tasks.

For each model in ``oneshot_lib/checkpoints``: accuracy on Lake's 20 runs (400 trials) and on
400 random 20-way within-alphabet one-shot tasks of the evaluation alphabets (seed 0), each with
its standard error; the minutes it trained (from its history), its best validation accuracy
(what chose it) and the size of its weights file. The cores each run had are in
``oneshot_lib/checkpoints/README.md``, beside its command.

    python -m benchmarks.reference_models

Writes ``benchmarks/results/reference_models.{json,md}``. Nothing here chooses anything: the
models were chosen on the validation alphabets before this ran (``checkpoints/README.md``).
"""

from __future__ import annotations

from benchmarks.common import write_results


def main() -> None:
    from oneshot_lib import load_lake_runs, load_omniglot, pretrained
    from oneshot_lib.notebook import quiet_tensorflow
    from oneshot_lib.scoring import evaluate

    quiet_tensorflow()
    evaluation, lake = load_omniglot("evaluation"), load_lake_runs()
    models = {}
    for name in pretrained.available():
        scorer = pretrained.load(name)
        history, record = pretrained.history(name), pretrained.run_record(name)
        on_lake = evaluate.lake_runs(scorer, lake)
        within = evaluate.accuracy(scorer, evaluation, 20, n_tasks=400, within_alphabet=True, seed=0)
        models[name] = {
            "command": record.command,
            "test_shifts": record.test_shifts,
            "minutes": history.minutes,
            "best_validation": history.best_val_oneshot_accuracy,
            "trained_on_validation_alphabets": record.config.train_on_validation_alphabets,
            "lake": on_lake.mean,
            "lake_stderr": on_lake.stderr,
            "evaluation_within_1shot": within.mean,
            "evaluation_within_1shot_stderr": within.stderr,
            "megabytes": pretrained.checkpoint_megabytes(name),
        }
        print(name, on_lake, within, flush=True)
    lines = [
        "| model | minutes trained | validation (chose it) | Lake's 400 trials | evaluation, 20-way within, 1-shot "
        "| weights |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, m in models.items():
        validation = f"{m['best_validation']:.1%}"
        if m["trained_on_validation_alphabets"]:
            validation += " (trained on those alphabets: chose nothing)"
        lines.append(
            f"| {name} | {m['minutes']:.0f} | {validation} | {m['lake']:.1%} ± {m['lake_stderr']:.1%} | "
            f"{m['evaluation_within_1shot']:.1%} ± {m['evaluation_within_1shot_stderr']:.1%} | "
            f"{m['megabytes']:.1f} MB |"
        )
    write_results("reference_models", {"models": models}, "\n".join(lines))


if __name__ == "__main__":
    main()
