"""Koch's full-size siamese network on this machine: seconds per training step, and per validation.

    python -m benchmarks.full_size_step             # about 3 minutes on 2 cores

Times what ``python -m oneshot_lib.train --size koch`` trains: Koch's network (38,951,745
parameters, 105x105 images), batches of 128 pairs with Koch's distortions, Adam, through
``model.fit`` as the trainer runs it, after one step that traces the graph; then one
validation as the run makes every 200 steps (320 20-way tasks within the validation
alphabets). Writes ``benchmarks/results/full_size_step.{json,md}``, which
``oneshot_lib/checkpoints/README.md`` quotes. Run it on an otherwise idle machine: the load
average at the start is recorded beside the times.
"""

from __future__ import annotations

import argparse
import os
import time

from benchmarks.common import write_results
from oneshot_lib.notebook import quiet_tensorflow

quiet_tensorflow()

from oneshot_lib import (  # noqa: E402
    load_omniglot,
    train_validation_split,  # noqa: E402
)
from oneshot_lib.training.callbacks import OneShotValidation  # noqa: E402
from oneshot_lib.training.config import TrainingConfig  # noqa: E402
from oneshot_lib.training.kinds import kind_of  # noqa: E402
from oneshot_lib.training.trainer import compile_model  # noqa: E402


def timed(work) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) that ``work()`` took."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--steps", type=int, default=3, help="training steps to time, after the first")
    steps = cli.parse_args().steps
    load = os.getloadavg()[0]
    config = TrainingConfig(size="koch")
    train, validation_data = train_validation_split(load_omniglot("background"))
    kind = kind_of(config)
    model = compile_model(kind.build(config, train), config)
    batches = kind.dataset(train, config, 0)
    model.fit(batches, steps_per_epoch=1, verbose=0)  # traces the training step
    step_wall, step_cpu = timed(lambda: model.fit(batches, steps_per_epoch=steps, verbose=0))
    validation = OneShotValidation(validation_data, kind.scorer, n_way=config.val_way, n_tasks=config.val_tasks)
    validation.set_model(model)
    validation_wall, validation_cpu = timed(validation.measure)
    results = {
        "parameters": model.count_params(),
        "batch_size": config.batch_size,
        "steps_timed": steps,
        "seconds_per_step": round(step_wall / steps, 2),
        "cpu_seconds_per_step": round(step_cpu / steps, 2),
        "seconds_per_validation": round(validation_wall, 1),
        "cpu_seconds_per_validation": round(validation_cpu, 1),
        "load_average_at_start": load,
    }
    table = "\n".join(
        [
            "| what | wall seconds | CPU seconds |",
            "| --- | --- | --- |",
            f"| one step ({config.batch_size} pairs, mean of {steps}) | {results['seconds_per_step']} | "
            f"{results['cpu_seconds_per_step']} |",
            f"| one validation ({config.val_tasks} {config.val_way}-way tasks) | "
            f"{results['seconds_per_validation']} | {results['cpu_seconds_per_validation']} |",
            "",
            f"{model.count_params():,} parameters; load average {load:.1f} at the start.",
        ]
    )
    write_results("full_size_step", results, table)


if __name__ == "__main__":
    main()
