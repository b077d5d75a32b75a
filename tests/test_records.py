"""A run's records, typed: every shipped file reads and writes back unchanged; a malformed one is named."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from oneshot_lib.training.config import TrainingConfig
from oneshot_lib.training.records import EpochRecord, History, MalformedRecord, RunRecord, ScoringChoice, Session

ROOT = Path(__file__).resolve().parent.parent
#: Every run folder the repository holds: the shipped models and the benchmarks' kept runs.
RUN_FILES = sorted(
    path.relative_to(ROOT)
    for pattern in ("oneshot_lib/checkpoints/*/*.json", "benchmarks/results/*/*/*.json")
    for path in ROOT.glob(pattern)
    if path.name in ("config.json", "history.json")
)
READERS = {"config.json": RunRecord, "history.json": History}


def as_written(value: dict) -> str:
    """The text of a run's JSON file holding ``value`` (``run_folder.write_json``'s format)."""
    return json.dumps(value, indent=2) + "\n"


def epoch(number: int, minutes: float, accuracy: float, **changes) -> EpochRecord:
    return EpochRecord(
        epoch=number, step=100 * number, elapsed_seconds=60 * minutes, val_oneshot_accuracy=accuracy, **changes
    )


def test_every_shipped_model_has_both_files():
    shipped = {path.parent.name for path in RUN_FILES if path.parts[0] == "oneshot_lib"}
    assert len(shipped) >= 10
    assert {path.name for path in RUN_FILES if path.parts[0] == "oneshot_lib"} == set(READERS)


@pytest.mark.parametrize("path", RUN_FILES, ids=str)
def test_every_run_file_in_the_repository_reads_and_writes_back_byte_for_byte(path):
    text = (ROOT / path).read_text()
    record = READERS[path.name].from_json(json.loads(text), str(path))
    assert as_written(record.to_json()) == text
    again = READERS[path.name].from_json(record.to_json(), str(path))
    assert again == record


def test_a_shipped_history_answers_what_the_chapters_ask():
    history = History.from_json(json.loads((ROOT / "oneshot_lib/checkpoints/siamese-adam/history.json").read_text()))
    assert history.best.epoch == history.best_epoch == 101
    assert history.best.val_oneshot_accuracy == history.best_val_oneshot_accuracy
    assert history.best is history.epochs[history.best_epoch - 1]
    assert history.last is history.epochs[-1] and history.steps == history.last.step
    assert history.minutes == history.last.elapsed_seconds / 60 <= 61
    assert history.last.seen_name == "pairs_seen" and history.last.seen == 128 * history.last.step
    assert history.most_accurate() == history.best  # a run that selects keeps its most accurate epoch
    assert history.sessions[0].command.startswith("python -m oneshot_lib.train")


def test_a_shipped_record_holds_its_config_and_its_scoring_choice():
    record = RunRecord.from_json(json.loads((ROOT / "oneshot_lib/checkpoints/siamese/config.json").read_text()))
    assert isinstance(record.config, TrainingConfig) and record.config.optimizer == "sgd"
    assert record.config_fields[0] == "model" and "n_way" not in record.config_fields
    assert record.scoring.test_shifts == record.test_shifts == 6 and record.config.test_shifts == 0
    assert set(record.rebuild) == {"architecture"} and record.parameters == 318_497
    assert record.versions["tensorflow"]


def test_a_new_history_is_written_as_a_new_run_writes_it():
    assert History().to_json() == {
        "epochs": [],
        "best_epoch": None,
        "best_val_oneshot_accuracy": None,
        "best_sha256": None,
        "sessions": [],
    }
    with pytest.raises(ValueError, match="no best epoch yet"):
        _ = History().best
    with pytest.raises(ValueError, match="no epoch yet"):
        _ = History().last
    assert History().steps == 0 and History().minutes == 0.0


def test_epochs_sessions_and_the_stop_are_added_without_changing_the_history():
    first = epoch(1, 1.0, 0.5, last_sha256="a" * 64)
    history = History().with_session(Session("python -m oneshot_lib.train", 0, 0, cpu_cores=2, replicas=1))
    grown = dataclasses.replace(history.with_epoch(first, 1, 0.5, "b" * 64), stopped="step budget reached")
    assert history.epochs == () and grown.epochs == (first,) and grown.best == first
    written = grown.to_json()
    assert list(written) == ["epochs", "best_epoch", "best_val_oneshot_accuracy", "best_sha256", "sessions", "stopped"]
    assert written["sessions"] == [
        {"command": "python -m oneshot_lib.train", "start_step": 0, "start_epoch": 0, "cpu_cores": 2, "replicas": 1}
    ]
    assert History.from_json(written) == grown
    assert grown.up_to_step(50).epochs == () and grown.up_to_step(50).best_epoch == 1


def test_an_old_history_without_checksums_writes_back_without_them_until_it_has_one():
    values = {"epochs": [{"epoch": 1, "step": 10, "elapsed_seconds": 5.0}], "best_epoch": 1}
    history = History.from_json(values)
    assert history.best_sha256 is None and history.sessions == ()
    assert history.to_json() == values
    assert history.with_epoch(history.last, 1, 0.5, "c" * 64).to_json()["best_sha256"] == "c" * 64


def test_entries_this_version_does_not_know_are_kept():
    values = {
        "epochs": [{"epoch": 1, "step": 10, "elapsed_seconds": 5.0, "top5_accuracy": 0.9}],
        "notes": ["kept"],
        "sessions": [{"command": None, "start_step": 0, "start_epoch": 0, "host": "a machine"}],
    }
    history = History.from_json(values)
    assert history.last.metrics == {"top5_accuracy": 0.9} and history.extra == {"notes": ["kept"]}
    assert history.sessions[0].extra == {"host": "a machine"}
    assert history.to_json() == values


def test_the_best_within_a_budget_is_the_most_accurate_epoch_that_ended_within_it():
    epochs = (epoch(1, 1.0, 0.40), epoch(2, 2.0, 0.60), epoch(3, 3.0, 0.55), epoch(4, 4.0, 0.70))
    history = History(epochs=epochs, best_epoch=4, best_val_oneshot_accuracy=0.70)
    assert history.epochs_within(minutes=3) == epochs[:3]
    assert history.epochs_within(steps=200) == epochs[:2]
    assert history.most_accurate(minutes=3.5) == epochs[1]
    assert history.most_accurate(minutes=2, steps=100) == epochs[0]
    assert history.most_accurate() == history.best == epochs[3]
    with pytest.raises(ValueError, match="no epoch ended within 0.5 minutes"):
        history.most_accurate(minutes=0.5)


def test_a_record_resumed_with_another_budget_records_the_command_that_resumed_it():
    config = TrainingConfig(model="prototypical", minutes=5)
    record = RunRecord(config, ("model", "minutes"), "python -m oneshot_lib.train --minutes 5", {"python": "3"})
    assert record.to_json() == {
        "config": {"model": "prototypical", "minutes": 5},
        "command": "python -m oneshot_lib.train --minutes 5",
        "versions": {"python": "3"},
    }
    longer = dataclasses.replace(config, minutes=10)
    resumed = record.resumed(longer, ("n_way", "k_shot"), "python -m oneshot_lib.train --minutes 10")
    assert resumed.config.minutes == 10 and "n_way" in resumed.config_fields and "size" not in resumed.config_fields
    assert resumed.resumed_with == ("python -m oneshot_lib.train --minutes 10",)
    assert resumed.to_json()["resumed_with"] == ["python -m oneshot_lib.train --minutes 10"]
    assert record.with_scoring(ScoringChoice(4, "on validation")).to_json()["scoring"] == {
        "test_shifts": 4,
        "chosen": "on validation",
    }


@pytest.mark.parametrize(
    "values, message",
    [
        ([], 'is not a training run\'s history: expected a JSON object with an "epochs" list'),
        ({"epochs": {}}, 'expected a JSON object with an "epochs" list'),
        ({"epochs": [{"epoch": 1, "step": "ten", "elapsed_seconds": 1.0}]}, "step must be a whole number, got 'ten'"),
        ({"epochs": [{"epoch": 1, "step": 10}]}, "an epoch record has no 'elapsed_seconds'"),
        ({"epochs": [[1, 2]]}, "an epoch record must be a JSON object"),
        ({"epochs": [{"epoch": 1, "step": 1, "elapsed_seconds": 1.0, "loss": "low"}]}, "loss must be a number"),
        (
            {"epochs": [{"epoch": 1, "step": 1, "elapsed_seconds": 1.0, "pairs_seen": 8, "images_seen": 8}]},
            "counts examples twice",
        ),
        ({"epochs": [], "best_epoch": 1.5}, "best_epoch must be a whole number"),
        ({"epochs": [], "sessions": [{"command": None}]}, "a session record has no 'start_step'"),
        ({"epochs": [], "sessions": {}}, "sessions must be a list"),
    ],
)
def test_a_malformed_history_is_refused_naming_the_file_and_the_entry(values, message):
    with pytest.raises(MalformedRecord) as refused:
        History.from_json(values, "runs/x/history.json")
    assert str(refused.value).startswith("runs/x/history.json") and message in str(refused.value)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda record: record.pop("config"), "is not a training run's config: expected a JSON object"),
        (lambda record: record["config"].update(n_way="twenty"), "config that cannot be read: n_way must be a whole"),
        (lambda record: record["config"].update(colour="red"), "unknown training config fields ['colour']"),
        (lambda record: record.update(parameters="many"), "parameters must be a whole number"),
        (lambda record: record.update(versions=[1]), "versions must be a JSON object"),
        (lambda record: record.update(resumed_with="again"), "resumed_with must be a list of commands"),
        (lambda record: record.update(scoring=[5]), 'its "scoring" entry must be an object'),
        (lambda record: record.update(scoring={"test_shifts": 11, "chosen": "x"}), "test_shifts must be at most 10"),
        (lambda record: record.update(scoring={"chosen": "x"}), "scoring.test_shifts must be a whole number"),
        (lambda record: record.update(scoring={"test_shifts": 3}), 'must hold "test_shifts" and "chosen"'),
        (
            lambda record: record.update(scoring={"test_shifts": 0, "chosen": "x", "steps": 3}),
            'may hold "test_inner_steps"',
        ),
        (
            lambda record: record.update(scoring={"test_shifts": 0, "chosen": "x", "test_inner_steps": 0}),
            "test_inner_steps must be a whole number",
        ),
        (lambda record: record.update(scoring={"test_shifts": 3, "chosen": ""}), "scoring.chosen must say how"),
    ],
)
def test_a_malformed_run_record_is_refused_naming_the_file_and_the_entry(change, message):
    values = json.loads((ROOT / "oneshot_lib/checkpoints/prototypical/config.json").read_text())
    change(values)
    with pytest.raises(MalformedRecord) as refused:
        RunRecord.from_json(values, "runs/x/config.json")
    assert str(refused.value).startswith("runs/x/config.json") and message in str(refused.value)


def test_a_scoring_choice_is_checked_when_made():
    assert ScoringChoice(0, "no shift was better").to_json() == {"test_shifts": 0, "chosen": "no shift was better"}
    with pytest.raises(ValueError, match="scoring.test_shifts must be 0 or more"):
        ScoringChoice(-1, "why")
    with pytest.raises(ValueError, match="scoring.chosen must say how"):
        ScoringChoice(3, "  ")


def test_a_scoring_choice_without_fill_or_grid_reads_as_wrapping_on_a_3x3_grid_and_is_written_back_so():
    old = {"test_shifts": 6, "chosen": "on validation"}
    choice = ScoringChoice.from_json(old)
    assert (choice.fill, choice.grid) == ("wrap", 3) and choice.to_json() == old
    explicit = {"test_shifts": 6, "fill": "wrap", "grid": 3, "chosen": "on validation"}
    assert ScoringChoice.from_json(explicit) == choice and ScoringChoice.from_json(explicit).to_json() == explicit
    paper = ScoringChoice(14, "on validation", fill="paper", grid=5)
    expected = [("test_shifts", 14), ("fill", "paper"), ("grid", 5), ("chosen", "on validation")]
    assert list(paper.to_json().items()) == expected
    assert ScoringChoice.from_json(paper.to_json()) == paper
    assert ScoringChoice(10, "x", fill="paper").to_json() == {
        "test_shifts": 10,
        "fill": "paper",
        "grid": 3,
        "chosen": "x",
    }
    siamese = json.loads((ROOT / "oneshot_lib/checkpoints/siamese/config.json").read_text())
    record = RunRecord.from_json(siamese)
    assert (record.test_shifts, record.shift_fill, record.shift_grid) == (6, "wrap", 3)
    assert record.to_json() == siamese


@pytest.mark.parametrize(
    "scoring, message",
    [
        ({"test_shifts": 3, "fill": "mirror", "chosen": "x"}, "the fill of scoring.test_shifts must be one of"),
        ({"test_shifts": 3, "grid": 7, "chosen": "x"}, "the grid of scoring.test_shifts must be one of 3, 5"),
        ({"test_shifts": 6, "grid": 5, "chosen": "x"}, "scoring.test_shifts must be at most 5"),
        ({"test_shifts": 60, "fill": "paper", "grid": 5, "chosen": "x"}, "moves the drawing out"),
    ],
)
def test_a_malformed_fill_or_grid_is_refused_naming_the_file(scoring, message):
    values = json.loads((ROOT / "oneshot_lib/checkpoints/prototypical/config.json").read_text())
    with pytest.raises(MalformedRecord) as refused:
        RunRecord.from_json({**values, "scoring": scoring}, "runs/x/config.json")
    assert str(refused.value).startswith("runs/x/config.json") and message in str(refused.value)
