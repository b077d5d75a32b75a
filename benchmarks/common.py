"""What every benchmark records with its results: the machine, the versions, the command.

The comparisons (``objective_grid``, ``labels_used``, ``optimizers``) write records of
``oneshot_lib.scoring.comparisons``, which defines their files' format and reads them back.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from oneshot_lib.scoring.comparisons import ComparisonCell

RESULTS = Path(__file__).parent / "results"


def machine() -> dict:
    """The CPU model, the number of cores this process may use, Python and library versions."""
    from oneshot_lib.backend import keras, tf
    from oneshot_lib.machine import cores_available

    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    return {
        "cpu": cpu,
        "cores_available": cores_available(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


def provenance() -> dict:
    """The command, date and machine a results file starts with (``comparisons.BenchmarkResults``'s fields)."""
    return {
        "command": shlex.join(["python", "-m", f"benchmarks.{Path(sys.argv[0]).stem}", *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
    }


def write_results(name: str, results, table: str) -> None:
    """Write ``results/<name>.json`` and ``results/<name>.md``.

    ``results`` is either a record of ``oneshot_lib.scoring.comparisons`` (built with
    ``provenance()``), written as ``dataclasses.asdict`` gives it, or a dict, written after the
    command, date and machine.
    """
    RESULTS.mkdir(exist_ok=True)
    if dataclasses.is_dataclass(results):
        record = dataclasses.asdict(results)
    else:
        record = {**provenance(), **results}
    (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    header = (
        f"# {name}\n\n`{record['command']}` on {record['date']}, {record['machine']['cpu']}, "
        f"{record['machine']['cores_available']} cores.\n\n"
    )
    (RESULTS / f"{name}.md").write_text(header + table + "\n")
    print(header + table)


# ------------------------------------------------------------------ grids of training runs


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-").replace("--", "-")


#: A cell's budget: ("minutes", 10.0) or ("steps", 1000).
Budget = tuple[str, float]


def finished(folder: Path, budget: Budget) -> bool:
    """Whether ``folder`` holds a run that stopped after using ``budget`` (nothing left to train)."""
    from oneshot_lib.training.records import History

    path = folder / "history.json"
    if not path.is_file():
        return False
    history = History.from_json(json.loads(path.read_text()), str(path))
    kind, amount = budget
    used = history.minutes if kind == "minutes" else history.steps
    return history.stopped is not None and used >= amount


def train_cells(cells: dict[str, list[str]], budgets: dict[str, Budget], runs: Path, shared: list[str]) -> None:
    """Train the cells two at a time, each pinned to its own core; skip the finished ones.

    Each cell runs ``python -m oneshot_lib.train`` with ``shared`` flags, then its own, its budget
    (``--minutes`` or ``--steps``) and its folder ``runs/<slug of its name>``.
    """
    names = [name for name in cells if not finished(runs / slug(name), budgets[name])]
    for start in range(0, len(names), 2):
        processes = []
        for core, name in enumerate(names[start : start + 2]):
            kind, amount = budgets[name]
            command = [
                "taskset",
                "-c",
                str(core),
                sys.executable,
                "-m",
                "oneshot_lib.train",
                *shared,
                *cells[name],
                f"--{kind}",
                str(amount if kind == "minutes" else int(amount)),
                "--output",
                str(runs / slug(name)),
            ]
            print("running:", " ".join(command[3:]), flush=True)
            processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL))
        for process in processes:
            if process.wait() != 0:
                raise SystemExit(f"a cell failed: {process.args}")


def keep_run_files(folder: Path, benchmark: str) -> None:
    """Copy a cell's config, history and log to ``results/<benchmark>/<folder name>/``."""
    kept = RESULTS / benchmark / folder.name
    kept.mkdir(parents=True, exist_ok=True)
    for file in ("config.json", "history.json", "log.txt"):
        shutil.copy(folder / file, kept / file)


def summarise(name: str, folder: Path, evaluation, lake, benchmark: str) -> ComparisonCell:
    """Validation (selection) and, once, evaluation-alphabet and Lake accuracy of a cell's best model.

    The cell's config, history and log are copied to ``results/<benchmark>/<folder name>/``.
    """
    from oneshot_lib import pretrained
    from oneshot_lib.scoring import evaluate
    from oneshot_lib.scoring.comparisons import ComparisonCell

    history = pretrained.history(folder)
    record = pretrained.run_record(folder)
    scorer = pretrained.load(folder)
    within = evaluate.accuracy(scorer, evaluation, 20, n_tasks=400, within_alphabet=True, seed=0)
    on_lake = evaluate.lake_runs(scorer, lake)
    keep_run_files(folder, benchmark)
    return ComparisonCell(
        history=f"{benchmark}/{folder.name}/history.json",
        command=record.command,
        parameters=record.parameters,
        minutes=record.config.minutes,
        steps=history.steps,
        best_validation=history.best_val_oneshot_accuracy,
        best_epoch=history.best_epoch,
        evaluation_within_1shot=within.mean,
        evaluation_within_1shot_stderr=within.stderr,
        lake=on_lake.mean,
        lake_stderr=on_lake.stderr,
    )


def accuracy_columns(cell: ComparisonCell) -> str:
    """A cell's validation, evaluation-alphabet and Lake accuracies as table columns."""
    return (
        f"{cell.best_validation:.1%} | "
        f"{cell.evaluation_within_1shot:.1%} ± {cell.evaluation_within_1shot_stderr:.1%} | "
        f"{cell.lake:.1%} ± {cell.lake_stderr:.1%} |"
    )


def evaluation_data():
    """(evaluation split, Lake's runs), with TensorFlow's start-up noise silenced first."""
    from oneshot_lib import load_lake_runs, load_omniglot
    from oneshot_lib.notebook import quiet_tensorflow

    quiet_tensorflow()
    return load_omniglot("evaluation"), load_lake_runs()
