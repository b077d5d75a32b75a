"""The committed results of the benchmarks that compare training runs, as typed records.

``benchmarks/objective_grid.py``, ``benchmarks/labels_used.py`` and ``benchmarks/optimizers.py``
build these records and write each as ``dataclasses.asdict`` gives it, to
``benchmarks/results/<name>.json``; ``load_objective_grid``, ``load_labels_used`` and
``load_optimizer_runs`` read them back, as ``load_foreign_images`` reads
``benchmarks/classify_foreign_images.py``'s and ``load_selfsupervised_levers``
``benchmarks/selfsupervised_levers.py``'s. ``load_reference_models`` reads the scores of the
shipped models that ``benchmarks/reference_models.py`` writes (``python -m oneshot_lib.classify``
picks its default model by them). The files' format is defined here and nowhere else: the
chapters and the figures take the records, never the JSON.

The results belong to a source checkout (``benchmarks/results/`` beside the package), not to an
installed package; a loader says which command makes a file that is missing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

#: Where the benchmarks write their results: ``benchmarks/results/`` of the project's checkout.
RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"

#: The command, run from the project's root, that makes each results file.
COMMANDS = {
    "objective_grid": "python -m benchmarks.objective_grid --minutes 10 --runs-folder runs/objective_grid",
    "labels_used": "python -m benchmarks.labels_used --steps 1000 --runs-folder runs/labels_used",
    "labels_used_full": "python -m benchmarks.labels_used --steps 6000 --start-from rotation --halve-lr-every 25 "
    "--runs-folder runs/labels_used_full --results labels_used_full",
    "optimizers": "python -m benchmarks.optimizers --minutes 8 --learning-rate 0.1 --runs-folder runs/optimizers",
    "reference_models": "python -m benchmarks.reference_models",
    "classify_foreign_images": "python -m benchmarks.classify_foreign_images",
    "selfsupervised_levers": "python -m benchmarks.selfsupervised_levers rotation-20min=runs/rotation-20min "
    "rotation=runs/rotation contrastive=oneshot_lib/checkpoints/contrastive masked=runs/masked "
    "--join rotation+contrastive rotation-20min+contrastive",
}


@dataclass(frozen=True, kw_only=True)
class BenchmarkResults:
    """What every results file starts with: how and where it was made.

    Attributes:
        command: the benchmark's command line.
        date: when it finished, ``"YYYY-MM-DD HH:MM UTC"``.
        machine: the CPU, the cores the process could use, and the Python, TensorFlow and Keras versions.
    """

    command: str
    date: str
    machine: dict


@dataclass(frozen=True, kw_only=True)
class ComparisonCell:
    """One cell of a controlled comparison: a training run, its epoch chosen on validation, then scored once.

    Attributes:
        history: the run's ``history.json``, relative to ``benchmarks/results/`` (read it with
            ``load_history``).
        command: the training command, ``python -m oneshot_lib.train ...``, with the cell's options.
        parameters: the network's parameter count.
        minutes: the training budget in minutes; None for a budget of steps.
        steps: the training steps taken; None for a model the benchmark did not train.
        best_validation: 20-way within-alphabet one-shot accuracy on the validation alphabets of
            the chosen epoch (the accuracy that chose it).
        best_epoch: the chosen epoch, counted from 1.
        evaluation_within_1shot: accuracy on 400 20-way within-alphabet one-shot tasks of the
            evaluation alphabets; ``evaluation_within_1shot_stderr`` its standard error over tasks.
        lake: accuracy on Lake's 400 trials; ``lake_stderr`` its standard error over his 20 runs.
    """

    history: str
    command: str
    parameters: int
    minutes: float | None
    steps: int | None
    best_validation: float
    best_epoch: int
    evaluation_within_1shot: float
    evaluation_within_1shot_stderr: float
    lake: float
    lake_stderr: float


@dataclass(frozen=True, kw_only=True)
class LabelsUsedCell(ComparisonCell):
    """A cell of ``labels_used``: a ``ComparisonCell`` trained on a share of the training characters' labels.

    Attributes:
        fraction: the share of the training characters whose labels were used, in [0, 1].
        start: where the embedding started, ``"from scratch"`` or ``"from <model>"`` (the model
            trained without labels, e.g. ``"from contrastive"``); None for that model itself.
        characters: how many training characters that share is.
    """

    fraction: float
    start: str | None = None
    characters: int


@dataclass(frozen=True, kw_only=True)
class ObjectiveGrid(BenchmarkResults):
    """``benchmarks/objective_grid.py``'s results: training objectives, then one factor at a time.

    Attributes:
        minutes: every cell's training minutes (the "twice the minutes" cell had twice that).
        best_objective_on_validation: the objective the factors were changed from.
        cells: each cell's name and its record, in the order they were trained.
    """

    minutes: float
    best_objective_on_validation: str
    cells: dict[str, ComparisonCell]


@dataclass(frozen=True, kw_only=True)
class LabelsUsed(BenchmarkResults):
    """``benchmarks/labels_used.py``'s results: accuracy against the share of labels used.

    Attributes:
        steps: every trained cell's training episodes.
        cells: each cell's name and its record, the model trained without labels first.
    """

    steps: int
    cells: dict[str, LabelsUsedCell]

    def head_start(self, fraction: float) -> float:
        """Lake accuracy at ``fraction`` of the labels: the cell started without labels minus the one from scratch."""
        at = {cell.start: cell for cell in self.cells.values() if cell.start is not None and cell.fraction == fraction}
        if len(at) != 2 or "from scratch" not in at:
            raise KeyError(f"no pair of cells (from scratch, from a model) at {fraction:.0%} of the labels")
        scratch = at.pop("from scratch")
        (started,) = at.values()
        return started.lake - scratch.lake


@dataclass(frozen=True, kw_only=True)
class ShiftRow:
    """One test-time shift scored on the validation tasks (``benchmarks/test_time_shifts.py``).

    Attributes:
        grid: the copies form a grid x grid grid (3 or 5).
        pixels: the step between neighbouring copies, in pixels of the 105x105 drawing (0: none).
        accuracy, stderr: 20-way within-alphabet accuracy on the 320 validation tasks, and its
            standard error over tasks.
        seconds: how long scoring took.
    """

    grid: int
    pixels: int
    accuracy: float
    stderr: float
    seconds: float


@dataclass(frozen=True, kw_only=True)
class ShiftChoices(BenchmarkResults):
    """``benchmarks/test_time_shifts.py``'s results for one run and one fill, on validation.

    Attributes:
        run: the run's name; fill: ``"paper"`` or ``"wrap"``.
        results: every shift scored; chosen: the one recorded for the run (``grid``, ``pixels``, ``fill``).
    """

    run: str
    fill: str
    results: list[ShiftRow]
    chosen: dict

    def accuracy(self, grid: int, pixels: int) -> float:
        """Validation accuracy with ``pixels`` shifts on a ``grid`` x ``grid`` grid (KeyError if not scored)."""
        for row in self.results:
            if (row.grid, row.pixels) == (grid, pixels) or (pixels == row.pixels == 0):
                return row.accuracy
        raise KeyError(f"{self.run}: no {grid}x{grid} shift of {pixels} px was scored")


@dataclass(frozen=True, kw_only=True)
class OptimizerRun:
    """One run of ``benchmarks/optimizers.py``, up to the benchmark's minutes.

    Attributes:
        command: the training command.
        best_val_oneshot_accuracy: its best 20-way within-alphabet one-shot accuracy on the
            validation alphabets; ``best_val_oneshot_stderr`` the standard error of that accuracy.
        steps: the training steps taken; ``minutes`` the training minutes they took.
    """

    command: str
    best_val_oneshot_accuracy: float
    best_val_oneshot_stderr: float
    steps: int
    minutes: float


@dataclass(frozen=True, kw_only=True)
class OptimizerRuns(BenchmarkResults):
    """``benchmarks/optimizers.py``'s results: Koch's SGD, with one rate and per-layer rates, against Adam.

    Attributes:
        minutes: the training minutes every run is compared at.
        learning_rate: the base learning rate of both SGD runs.
        layer_rates: the per-layer multipliers of the second SGD run, as ``--layer-rates`` takes them.
        runs: each run's name and its record.
    """

    minutes: float
    learning_rate: float
    layer_rates: str
    runs: dict[str, OptimizerRun]


@dataclass(frozen=True, kw_only=True)
class ReferenceModel:
    """A shipped reference model, scored once for reporting by ``benchmarks/reference_models.py``.

    Attributes:
        command: the training command.
        test_shifts: the test-time shift it scores with, in pixels (0 for none).
        shift_fill, shift_grid: how those shifts treat the edge (``shifts.FILLS``) and their grid
            (``shifts.GRIDS``); rows written before these existed read as "wrap" and 3.
        minutes: the minutes it trained.
        best_validation: its validation accuracy (what chose it), 20-way within-alphabet one-shot.
        trained_on_validation_alphabets: whether it trained on those alphabets too (then its
            validation accuracy chose nothing).
        lake, lake_stderr: accuracy on Lake's 400 trials, and its standard error over his 20 runs.
        evaluation_within_1shot, evaluation_within_1shot_stderr: accuracy on 400 20-way
            within-alphabet one-shot tasks of the evaluation alphabets, and its standard error.
        megabytes: the size of its weights file.
    """

    command: str
    test_shifts: int
    minutes: float
    best_validation: float
    trained_on_validation_alphabets: bool
    lake: float
    lake_stderr: float
    evaluation_within_1shot: float
    evaluation_within_1shot_stderr: float
    megabytes: float
    shift_fill: str = "wrap"
    shift_grid: int = 3


@dataclass(frozen=True, kw_only=True)
class ReferenceModels(BenchmarkResults):
    """``benchmarks/reference_models.py``'s results: every shipped model, by name.

    ``scored_by``: when some models were scored again alone, the command and date that scored
    each row (empty when one command scored them all).
    """

    models: dict[str, ReferenceModel]
    scored_by: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ForeignImages(BenchmarkResults):
    """``benchmarks/classify_foreign_images.py``'s results: the folder command on others' pictures.

    Attributes:
        model: the model that classified.
        ways: the classes of each task, one support picture each.
        queries_per_character: the query pictures of each class.
        seed: the seed of the pictures' sizes, colours, pens and places.
        chance: 1 / ways.
        tasks: {alphabet: {condition: accuracy}}, one task per alphabet; the conditions are the
            plain drawings scored directly, the plain drawings as PNGs through the command, and
            the drawings dressed as others' pictures through the command.
        overall, overall_stderr: each condition's accuracy over every task, and its binomial
            standard error over all queries.
    """

    model: str
    ways: int
    queries_per_character: int
    seed: int
    chance: float
    tasks: dict[str, dict[str, float]]
    overall: dict[str, float]
    overall_stderr: dict[str, float]


@dataclass(frozen=True, kw_only=True)
class LeverRun:
    """A self-supervised run that ``benchmarks/selfsupervised_levers.py`` scored.

    Attributes:
        folder: its run folder, as the command gave it.
        model: its kind (``"rotation"``, ``"contrastive"``, ...).
        minutes: its training budget in minutes.
    """

    folder: str
    model: str
    minutes: float


@dataclass(frozen=True, kw_only=True)
class LeverRow:
    """One row of ``selfsupervised_levers``: a run (or runs joined) scored with one lever on the validation tasks.

    Attributes:
        run: the run's name, or the joined runs' names as ``"a + b"``.
        lever: what was changed from the run's plain embedding (block 4, no shift); the plain
            row's lever starts with ``"none"``.
        minutes_trained: the run's training minutes (joined runs: the sum).
        accuracy: 20-way within-alphabet one-shot accuracy on the validation tasks the runs
            validated on; ``stderr`` its standard error over those tasks.
        seconds: how long the scoring took.
    """

    run: str
    lever: str
    minutes_trained: float
    accuracy: float
    stderr: float
    seconds: float


@dataclass(frozen=True, kw_only=True)
class SelfSupervisedLevers(BenchmarkResults):
    """``benchmarks/selfsupervised_levers.py``'s results: what each lever buys, one at a time, on validation only.

    Attributes:
        runs: each scored run's name and its record.
        rows: the rows in the order they were scored.
    """

    runs: dict[str, LeverRun]
    rows: list[LeverRow]

    def row(self, run: str, lever: str) -> LeverRow:
        """The row of ``run`` whose lever is ``lever``, or else the one row whose lever starts with it.

        Raises KeyError, naming the rows there are, if there is no such row or more than one.
        """
        of_run = [r for r in self.rows if r.run == run]
        found = [r for r in of_run if r.lever == lever] or [r for r in of_run if r.lever.startswith(lever)]
        if len(found) != 1:
            rows = ", ".join(f"{r.run!r}: {r.lever!r}" for r in self.rows)
            raise KeyError(f"{len(found)} rows of run {run!r} with a lever starting {lever!r}; the rows are {rows}")
        return found[0]


def read_results(name: str) -> dict:
    """The JSON of ``benchmarks/results/<name>.json``, or FileNotFoundError naming the command that makes it."""
    path = RESULTS / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: `{COMMANDS.get(name, f'python -m benchmarks.{name}')}`, run from the project's "
            "root, makes it (benchmarks/ comes with a clone of the project, not with an installed package)"
        )
    return json.loads(path.read_text())


def _build(name: str, kind: type, record: dict, **nested: type):
    """``kind(**record)``, each field of ``nested`` first built as {key: its type(**value)}.

    Raises ValueError, naming the command that rewrites the file, if the fields do not match.
    """
    try:
        built = {
            field: {key: value_kind(**value) for key, value in record[field].items()}
            for field, value_kind in nested.items()
        }
        return kind(**{**record, **built})
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(
            f"benchmarks/results/{name}.json is not in the format of {kind.__name__} ({error!r}): "
            f"run `{COMMANDS[name]}` again to write it in this version's format"
        ) from error


def load_objective_grid() -> ObjectiveGrid:
    """The committed results of ``benchmarks/objective_grid.py``."""
    return _build("objective_grid", ObjectiveGrid, read_results("objective_grid"), cells=ComparisonCell)


def load_labels_used(name: str = "labels_used") -> LabelsUsed:
    """The committed results of ``benchmarks/labels_used.py``.

    ``name`` is the results file's: ``"labels_used"`` (1,000 episodes a cell, from contrastive) or
    ``"labels_used_full"`` (6,000 episodes a cell, six times as many, from rotation);
    ``COMMANDS`` gives each one's command.
    """
    return _build(name, LabelsUsed, read_results(name), cells=LabelsUsedCell)


def load_shift_choices(run: str, fill: str = "paper") -> ShiftChoices:
    """The committed results of ``benchmarks/test_time_shifts.py`` for ``run`` with ``fill``.

    The file is ``test_shifts-<run>-<fill>.json`` (``test_shifts-<run>.json`` for ``"wrap"``).
    """
    name = f"test_shifts-{run}" if fill == "wrap" else f"test_shifts-{run}-{fill}"
    command = f"python -m benchmarks.test_time_shifts runs/{run} --fill {fill} ... --record"
    record = _with_rows(name, read_results(name), "results", ShiftRow, ShiftChoices, command)
    return _build(name, ShiftChoices, record)


def load_optimizer_runs() -> OptimizerRuns:
    """The committed results of ``benchmarks/optimizers.py``."""
    return _build("optimizers", OptimizerRuns, read_results("optimizers"), runs=OptimizerRun)


def load_reference_models() -> ReferenceModels:
    """The committed results of ``benchmarks/reference_models.py``."""
    return _build("reference_models", ReferenceModels, read_results("reference_models"), models=ReferenceModel)


def load_foreign_images() -> ForeignImages:
    """The committed results of ``benchmarks/classify_foreign_images.py``."""
    return _build("classify_foreign_images", ForeignImages, read_results("classify_foreign_images"))


def load_selfsupervised_levers() -> SelfSupervisedLevers:
    """The committed results of ``benchmarks/selfsupervised_levers.py``."""
    name = "selfsupervised_levers"
    record = _with_rows(name, read_results(name), "rows", LeverRow, SelfSupervisedLevers, COMMANDS[name])
    return _build(name, SelfSupervisedLevers, record, runs=LeverRun)


def _with_rows(name: str, record: dict, field: str, row_kind: type, kind: type, command: str) -> dict:
    """``record`` with its list ``field`` built as ``row_kind`` records.

    Raises ValueError naming ``command``, which rewrites the file, if the rows do not fit.
    """
    try:
        return {**record, field: [row_kind(**row) for row in record[field]]}
    except (KeyError, TypeError) as error:
        raise ValueError(
            f"benchmarks/results/{name}.json is not in the format of {kind.__name__} ({error!r}): "
            f"run `{command}` again to write it in this version's format"
        ) from error


def load_history(cell: ComparisonCell) -> dict:
    """The training history a cell's run wrote (``history.json``: its ``epochs`` records, best epoch, ...)."""
    path = RESULTS / cell.history
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the benchmark that made the cell copies it there")
    return json.loads(path.read_text())
