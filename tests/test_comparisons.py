"""The benchmarks' committed comparisons: every file loads into its records, and the records write it back."""

from __future__ import annotations

import dataclasses
import json

import pytest

from oneshot_lib.scoring import comparisons

LOADERS = {
    "objective_grid": comparisons.load_objective_grid,
    "labels_used": comparisons.load_labels_used,
    "optimizers": comparisons.load_optimizer_runs,
    "reference_models": comparisons.load_reference_models,
    "classify_foreign_images": comparisons.load_foreign_images,
    "selfsupervised_levers": comparisons.load_selfsupervised_levers,
}


def holds(written, committed) -> bool:
    """Whether ``written`` has every key and value of ``committed`` (a key it adds may only be None)."""
    if isinstance(committed, dict):
        return (
            isinstance(written, dict)
            and all(key in written and holds(written[key], value) for key, value in committed.items())
            and all(value is None for key, value in written.items() if key not in committed)
        )
    return written == committed and type(written) is type(committed)


@pytest.mark.parametrize("name", LOADERS)
def test_every_committed_file_loads_and_writes_back_what_it_holds(name):
    record = LOADERS[name]()
    committed = json.loads((comparisons.RESULTS / f"{name}.json").read_text())
    written = json.loads(json.dumps(dataclasses.asdict(record)))  # as the benchmark writes it
    assert holds(written, committed)
    assert LOADERS[name].__annotations__["return"] == type(record).__name__


def test_the_records_carry_what_the_chapters_read():
    grid = comparisons.load_objective_grid()
    assert grid.best_objective_on_validation in grid.cells
    cell = grid.cells[grid.best_objective_on_validation]
    assert 0 < cell.lake < 1 and 0 < cell.lake_stderr < 0.1 and cell.steps > 0
    history = comparisons.load_history(cell)
    assert history["best_epoch"] == cell.best_epoch
    assert history["best_val_oneshot_accuracy"] == cell.best_validation

    labels_used = comparisons.load_labels_used()
    no_labels = labels_used.cells["no labels (the contrastive model)"]
    assert no_labels.start is None and no_labels.fraction == 0 and no_labels.steps is None
    assert {cell.start for cell in labels_used.cells.values()} == {None, "from scratch", "from contrastive"}
    started, scratch = (
        labels_used.cells[f"1% of the labels, {start}"] for start in ("from contrastive", "from scratch")
    )
    assert labels_used.head_start(0.01) == started.lake - scratch.lake
    with pytest.raises(KeyError, match="no pair of cells"):
        labels_used.head_start(0.5)

    runs = comparisons.load_optimizer_runs().runs
    assert all(0 < run.best_val_oneshot_accuracy < 1 for run in runs.values())


def test_a_missing_file_names_the_command_that_makes_it(tmp_path, monkeypatch):
    monkeypatch.setattr(comparisons, "RESULTS", tmp_path)
    with pytest.raises(FileNotFoundError, match="python -m benchmarks.labels_used --steps 1000"):
        comparisons.load_labels_used()


def test_a_file_of_another_format_says_how_to_rewrite_it(tmp_path, monkeypatch):
    committed = json.loads((comparisons.RESULTS / "optimizers.json").read_text())
    monkeypatch.setattr(comparisons, "RESULTS", tmp_path)
    committed["runs"]["Adam at 1e-3 (shipped `siamese-adam`)"]["seconds"] = 1.0
    (tmp_path / "optimizers.json").write_text(json.dumps(committed))
    with pytest.raises(ValueError, match="not in the format of OptimizerRuns.*python -m benchmarks.optimizers"):
        comparisons.load_optimizer_runs()


def test_the_records_are_frozen():
    cell = next(iter(comparisons.load_objective_grid().cells.values()))
    with pytest.raises(dataclasses.FrozenInstanceError):
        cell.lake = 1.0


def levers_record(**row_changes) -> dict:
    """A made-up ``selfsupervised_levers.json``: one run, its plain and shifted rows."""
    row = {"run": "rotation", "minutes_trained": 60.0, "stderr": 0.007, "seconds": 50.0}
    return {
        "command": "python -m benchmarks.selfsupervised_levers rotation=runs/rotation",
        "date": "2026-12-05 17:00 UTC",
        "machine": {"cpu": "a CPU", "cores_available": 1},
        "runs": {"rotation": {"folder": "runs/rotation", "model": "rotation", "minutes": 60.0}},
        "rows": [
            {**row, "lever": "none (block 4, no shift)", "accuracy": 0.633},
            {**row, "lever": "shifts on paper, 5x5 of 6 px", "accuracy": 0.727, **row_changes},
            {**row, "lever": "shifts on paper, 5x5 of 10 px", "accuracy": 0.725},
            {**row, "lever": "shifts", "accuracy": 0.7},
        ],
    }


def test_the_levers_load_as_rows_found_by_run_and_lever(tmp_path, monkeypatch):
    monkeypatch.setattr(comparisons, "RESULTS", tmp_path)
    (tmp_path / "selfsupervised_levers.json").write_text(json.dumps(levers_record()))
    levers = comparisons.load_selfsupervised_levers()
    assert levers.runs["rotation"].minutes == 60.0
    assert levers.row("rotation", "shifts on paper, 5x5 of 6").accuracy == 0.727
    assert levers.row("rotation", "shifts").accuracy == 0.7  # the exact lever before those it starts
    assert levers.row("rotation", "none").lever == "none (block 4, no shift)"
    with pytest.raises(KeyError, match="0 rows of run 'contrastive'.*'rotation': 'none"):
        levers.row("contrastive", "none")
    with pytest.raises(KeyError, match="2 rows of run 'rotation' with a lever starting 'shifts on paper'"):
        levers.row("rotation", "shifts on paper")


def test_levers_of_another_format_say_how_to_rewrite_them(tmp_path, monkeypatch):
    monkeypatch.setattr(comparisons, "RESULTS", tmp_path)
    (tmp_path / "selfsupervised_levers.json").write_text(json.dumps(levers_record(steps=3988)))
    with pytest.raises(ValueError, match="not in the format of SelfSupervisedLevers.*benchmarks.selfsupervised_levers"):
        comparisons.load_selfsupervised_levers()


@pytest.mark.parametrize("run", ["rotation", "contrastive", "masked"])
def test_the_committed_shift_choices_load_and_write_back_what_they_hold(run):
    choices = comparisons.load_shift_choices(run)
    committed = json.loads((comparisons.RESULTS / f"test_shifts-{run}-paper.json").read_text())
    assert holds(json.loads(json.dumps(dataclasses.asdict(choices))), committed)
    chosen = choices.chosen
    assert choices.accuracy(chosen["grid"], chosen["pixels"]) == max(row.accuracy for row in choices.results)
    assert choices.accuracy(3, 0) == choices.accuracy(5, 0)  # no shift is no shift, whatever the grid
    with pytest.raises(KeyError, match="no 5x5 shift of 7 px"):
        choices.accuracy(5, 7)


def test_the_longer_labels_used_run_loads_and_writes_back_what_it_holds():
    longer = comparisons.load_labels_used("labels_used_full")
    committed = json.loads((comparisons.RESULTS / "labels_used_full.json").read_text())
    assert holds(json.loads(json.dumps(dataclasses.asdict(longer))), committed)
    assert {cell.start for cell in longer.cells.values()} == {None, "from scratch", "from rotation"}
    assert longer.steps == 6000 and all(cell.steps == 6000 for cell in longer.cells.values() if cell.start)
