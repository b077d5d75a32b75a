"""Run folders lose nothing: refused before anything is written, resumed consistently, damage named."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_training import TINY, tiny_config

from oneshot_lib import pretrained, train
from oneshot_lib.files import sha256_of
from oneshot_lib.models import siamese
from oneshot_lib.training import callbacks, loading, run_folder, trainer
from oneshot_lib.training.records import History
from oneshot_lib.training.run_folder import RunFolderError


@pytest.fixture(autouse=True)
def tiny_size(monkeypatch) -> None:
    monkeypatch.setitem(siamese.ARCHITECTURES, "tiny", TINY)


def fingerprint(folder) -> dict[str, str]:
    """{file name: SHA-256} of every file in ``folder``."""
    return {path.name: sha256_of(path) for path in sorted(folder.iterdir())}


def tiny_run(folder, splits, **changes) -> History:
    config = tiny_config(**{"steps_per_epoch": 1, "max_steps": 2, **changes})
    return trainer.train(config, folder, train_data=splits[0], validation_data=splits[1], verbose=0)


# ------------------------------------------------------------------ a finished run is never overwritten


@pytest.fixture
def finished_run_without_last(tmp_path):
    """A copy of a shipped reference run (which ships without last.keras)."""
    folder = tmp_path / "prototypical"
    shutil.copytree(pretrained.folder("prototypical-25"), folder)
    assert not (folder / "last.keras").exists()
    return folder


def test_training_into_a_finished_run_without_its_checkpoint_is_refused(finished_run_without_last, splits):
    before = fingerprint(finished_run_without_last)
    config = tiny_config(model="prototypical", n_way=3, n_query=1, image_size=16, max_steps=1)
    with pytest.raises(RunFolderError, match=r"cannot be resumed: last\.keras missing. Nothing was written"):
        trainer.train(config, finished_run_without_last, train_data=splits[0], validation_data=splits[1], verbose=0)
    assert fingerprint(finished_run_without_last) == before


def test_the_command_line_refuses_it_before_loading_data(finished_run_without_last, monkeypatch, capsys):
    before = fingerprint(finished_run_without_last)
    monkeypatch.setattr(train, "load_omniglot", lambda *a, **k: pytest.fail("data loaded before the folder check"))
    with pytest.raises(SystemExit) as stopped:
        train.main(["--model", "prototypical", "--minutes", "1", "--output", str(finished_run_without_last)])
    assert stopped.value.code == 2
    assert "last.keras missing" in capsys.readouterr().err
    assert fingerprint(finished_run_without_last) == before


def test_a_folder_with_only_a_log_is_refused_too(tmp_path, splits):
    (tmp_path / "log.txt").write_text("training siamese ...\n")
    with pytest.raises(RunFolderError, match="config.json, history.json, last.keras missing"):
        tiny_run(tmp_path, splits)
    assert [path.name for path in tmp_path.iterdir()] == ["log.txt"]


# ------------------------------------------------------------------ usage errors, before anything is loaded or written


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--minutes", "nan"], "minutes must be a finite number"),
        (["--minutes", "inf"], "minutes must be a finite number"),
        (["--minutes", "-3"], "minutes must be positive"),
        (["--steps", "0"], "max_steps must be at least 1"),
        (["--minutes", "1", "--learning-rate", "nan"], "learning_rate must be a finite number"),
        (["--minutes", "1", "--size", "huge"], "unknown siamese size 'huge'"),
        (["--minutes", "1", "--seed", "-1"], "seed must be at least 0"),
        (["--minutes", "1", "--seed", str(2**40)], "seed must be at most"),
        (["--minutes", "1", "--batch-size", "0"], "batch_size must be at least 1"),
        (["--minutes", "1", "--model", "prototypical", "--image-size", "8"], "image_size 8 is too small"),
        (["--minutes", "1", "--momentum-end", "2", "--optimizer", "sgd"], r"momentum_end must lie in \[0, 1\]"),
        (["--minutes", "1", "--test-shifts", "1000"], "test_shifts must be at most 10"),
        (["--minutes", "1", "--test-shifts", "-3"], "test_shifts must be at least 0"),
        (["--minutes", "1", "--start-from", "no-such-run"], "no reference model named 'no-such-run'"),
        (["--minutes", "1", "--optimizer", "sgd", "--layer-rates", "conv_1=nan"], "'conv_1' must have a finite"),
        (["--minutes", "1", "--optimizer", "sgd", "--layer-rates", "conv_1=-1"], "'conv_1' must have a finite"),
        (["--minutes", "1", "--optimizer", "sgd", "--layer-rates", "=2"], "(no layer name)"),
        (["--minutes", "1", "--model", "prototypical", "--image-size", "100000"], "image_size must be at most 105"),
        (["--minutes", "1", "--val-tasks", str(10**9)], "val_tasks must be at most 100000"),
        (["--minutes", "1", "--batch-size", str(10**9)], "batch_size must be at most 4096"),
    ],
)
def test_impossible_flags_are_usage_errors_before_anything_happens(flags, message, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(train, "load_omniglot", lambda *a, **k: pytest.fail("data loaded for an impossible run"))
    with pytest.raises(SystemExit) as stopped:
        train.main([*flags, "--output", str(tmp_path / "run")])
    assert stopped.value.code == 2
    assert message.replace("\\", "") in capsys.readouterr().err or pytest.fail(capsys.readouterr().err)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--n-way", "50", "--n-query", "1"], "n_way"),
        (["--n-way", "3", "--k-shot", "3", "--n-query", "2"], "drawings"),
        (["--n-way", "6", "--n-query", "1", "--episode-within-alphabet"], "alphabet"),
    ],
)
def test_episodes_the_data_cannot_give_are_usage_errors_before_config_is_written(
    flags, message, splits, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(train, "load_omniglot", lambda *a, **k: splits[0])
    monkeypatch.setattr(train, "train_validation_split", lambda data: splits)
    monkeypatch.setattr(train, "train", lambda *a, **k: pytest.fail("training started"))
    with pytest.raises(SystemExit) as stopped:
        train.main(["--model", "prototypical", "--minutes", "1", *flags, "--output", str(tmp_path / "run")])
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_folder_holding_a_run_of_another_kind_is_a_usage_error(tmp_path, splits, monkeypatch, capsys):
    tiny_run(tmp_path / "run", splits)  # a siamese run
    before = fingerprint(tmp_path / "run")
    monkeypatch.setattr(train, "load_omniglot", lambda *a, **k: pytest.fail("data loaded"))
    with pytest.raises(SystemExit) as stopped:
        train.main(["--model", "matching", "--minutes", "1", "--output", str(tmp_path / "run")])
    assert stopped.value.code == 2
    assert "another config (model: run has 'siamese', asked 'matching'" in capsys.readouterr().err
    assert fingerprint(tmp_path / "run") == before


def test_an_output_that_is_a_file_or_in_the_shipped_models_is_a_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(train, "load_omniglot", lambda *a, **k: pytest.fail("data loaded"))
    (tmp_path / "notes.txt").write_text("not a folder")
    outputs = {
        tmp_path / "notes.txt": "notes.txt is a file, not a folder",
        tmp_path / "notes.txt" / "run": "notes.txt is a file, not a folder",
        loading.CHECKPOINTS / "newrun": "the package's folder of shipped reference models",
        loading.CHECKPOINTS: "the package's folder of shipped reference models",
        loading.CHECKPOINTS / "siamese" / ".." / "x": "the package's folder of shipped reference models",
    }
    shipped_before = pretrained.available()
    for output, message in outputs.items():
        with pytest.raises(SystemExit) as stopped:
            train.main(["--model", "prototypical", "--steps", "1", "--output", str(output)])
        assert stopped.value.code == 2 and message in capsys.readouterr().err
    assert pretrained.available() == shipped_before and not (loading.CHECKPOINTS / "newrun").exists()


def test_an_empty_output_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.setattr(train, "load_omniglot", lambda *a, **k: pytest.fail("data loaded"))
    with pytest.raises(SystemExit) as stopped:
        train.main(["--steps", "1", "--output", ""])
    assert stopped.value.code == 2 and "--output must name a folder" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning")  # the diverged scores
def test_a_run_that_diverges_stops_with_an_error_that_says_so(tmp_path, splits, monkeypatch, capsys):
    with pytest.raises(callbacks.TrainingDiverged, match="diverged.*lower learning rate"):
        tiny_run(tmp_path / "run", splits, learning_rate=1e30)
    assert not (tmp_path / "run" / ".lock").exists()
    monkeypatch.setattr(train, "load_omniglot", lambda *a, **k: splits[0])
    monkeypatch.setattr(train, "train_validation_split", lambda data: splits)
    monkeypatch.setattr(train, "train", lambda *a, **k: tiny_run(tmp_path / "cli", splits, learning_rate=1e30))
    assert train.main(["--steps", "1", "--val-way", "3", "--output", str(tmp_path / "cli")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "diverged" in err and "with a lower learning rate" in err


def test_the_validation_alphabets_must_give_the_validation_tasks(splits, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(train, "load_omniglot", lambda *a, **k: splits[0])
    monkeypatch.setattr(train, "train_validation_split", lambda data: splits)
    monkeypatch.setattr(train, "train", lambda *a, **k: pytest.fail("training started"))
    with pytest.raises(SystemExit) as stopped:
        train.main(
            [
                "--model",
                "prototypical",
                "--steps",
                "1",
                "--n-way",
                "3",
                "--n-query",
                "1",
                "--val-way",
                "10000",
                "--output",
                str(tmp_path / "run"),
            ]
        )
    assert stopped.value.code == 2
    assert "the validation alphabets cannot give these tasks: n_way=10000" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_starting_from_a_run_of_another_kind_is_a_usage_error(splits, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(train, "load_omniglot", lambda *a, **k: splits[0])
    monkeypatch.setattr(train, "train_validation_split", lambda data: splits)
    with pytest.raises(SystemExit) as stopped:
        train.main(
            [
                "--model",
                "prototypical",
                "--steps",
                "1",
                "--n-way",
                "3",
                "--n-query",
                "1",
                "--val-way",
                "3",
                "--start-from",
                "siamese",
                "--output",
                str(tmp_path / "run"),
            ]
        )
    assert stopped.value.code == 2
    assert "the embedding network of siamese (siamese) does not fit this run's" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------ a run's config.json, read with care


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda record: record["config"].update(n_way="twenty"), "n_way must be a whole number, got 'twenty'"),
        (lambda record: record["config"].update(image_size="28"), "image_size must be a whole number, got '28'"),
        (lambda record: record["config"].update(augment="yes"), "augment must be true or false"),
        (lambda record: record["config"].update(test_shifts=2.5), "test_shifts must be a whole number, got 2.5"),
        (lambda record: record.pop("config"), 'expected a JSON object with a "config" object'),
        (lambda record: record.update(config=[1, 2]), 'expected a JSON object with a "config" object'),
        (lambda record: record.update(scoring={"test_shifts": 2.5}), "scoring.test_shifts must be a whole number"),
        (lambda record: record.update(scoring={"test_shifts": -3}), "scoring.test_shifts must be 0 or more, got -3"),
        (lambda record: record.update(scoring={"test_shifts": 11}), "scoring.test_shifts must be at most 10"),
        (lambda record: record.update(scoring=[5]), '"scoring" entry must be an object'),
    ],
)
def test_a_config_json_that_cannot_be_read_is_refused_naming_the_file(change, message, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(pretrained.folder("prototypical-25"), folder)
    record = json.loads((folder / "config.json").read_text())
    change(record)
    (folder / "config.json").write_text(json.dumps(record))
    with pytest.raises(RunFolderError) as refused:
        pretrained.load(folder)
    assert str(folder / "config.json") in str(refused.value) and message in str(refused.value)


def test_a_config_json_that_is_a_list_is_refused_naming_the_file(tmp_path, splits):
    folder = tmp_path / "run"
    tiny_run(folder, splits)
    (folder / "config.json").write_text("[]")
    for attempt in (lambda: pretrained.load(folder), lambda: tiny_run(folder, splits, max_steps=3)):
        with pytest.raises(RunFolderError, match=r"config\.json is not a training run's config"):
            attempt()
    (folder / "history.json").write_text("[]")
    (folder / "config.json").unlink()
    tiny_run(tmp_path / "other", splits)
    shutil.copy(tmp_path / "other" / "config.json", folder / "config.json")
    with pytest.raises(RunFolderError, match=r"history\.json is not a training run's history"):
        pretrained.load(folder)


# ------------------------------------------------------------------ kills and damaged files


def test_a_kill_between_history_and_checkpoint_resumes_with_consistent_epochs(tmp_path, splits):
    folder = tmp_path / "run"
    tiny_run(folder, splits)  # epochs 1 and 2, one step each
    checkpoint_at_step_2 = (folder / "last.keras").read_bytes()
    tiny_run(folder, splits, max_steps=3)
    # The kill: history.json holds epoch 3, but last.keras never moved past step 2.
    (folder / "last.keras").write_bytes(checkpoint_at_step_2)
    with pytest.raises(RunFolderError, match=r"last\.keras holds the model at step 2, behind history.json"):
        loading.load_run_model(folder, "last")
    resumed = tiny_run(folder, splits, max_steps=4)
    assert [(record.epoch, record.step) for record in resumed.epochs] == [(1, 1), (2, 2), (3, 3), (4, 4)]
    model, _ = loading.load_run_model(folder, "last")
    assert int(model.optimizer.iterations) == 4


def test_a_truncated_checkpoint_gets_an_error_that_names_it(tmp_path, splits):
    folder = tmp_path / "run"
    tiny_run(folder, splits)
    last = folder / "last.keras"
    last.write_bytes(last.read_bytes()[:2000])
    with pytest.raises(RunFolderError, match=r"last\.keras cannot be loaded.*damaged or truncated"):
        tiny_run(folder, splits, max_steps=3)
    with pytest.raises(RunFolderError, match=r"last\.keras is damaged"):
        loading.load_run_model(folder, "last")


def test_a_checkpoint_with_changed_bytes_is_refused_on_resume(tmp_path, splits):
    folder = tmp_path / "run"
    tiny_run(folder, splits)
    other = tmp_path / "other"
    tiny_run(other, splits, seed=1)
    shutil.copy(other / "last.keras", folder / "last.keras")  # a loadable file, but not this run's
    with pytest.raises(RunFolderError, match=r"last\.keras is damaged"):
        tiny_run(folder, splits, max_steps=3)


class Killed(BaseException):
    """A kill, simulated: raised instead of one of a session's file replacements."""


def kill_at(monkeypatch, instant: int | None) -> list[str]:
    """Make the ``instant``-th ``os.replace`` (counting from 0) raise Killed; return the names replaced."""
    replaced, real_replace = [], os.replace

    def replace(source, target):
        if len(replaced) == instant:
            raise Killed
        replaced.append(Path(target).name)
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    return replaced


def kept_weights(folder) -> list:
    model, _ = loading.load_run_model(folder)
    return model.get_weights()


def test_a_kill_at_any_instant_leaves_a_run_that_loads_and_resumes(tmp_path, splits, monkeypatch):
    """A two-epoch session killed before each of its file replacements in turn, then run again.

    Every epoch keeps a new best here (no selection), so the session replaces every file twice.
    """
    changes = {"train_on_validation_alphabets": True, "max_steps": 2}
    bests = []  # the weights of every best the uninterrupted session saves
    real_save = callbacks.save_weights_only

    def save(model, path):
        bests.append(model.get_weights())
        real_save(model, path)

    with monkeypatch.context() as patch:
        patch.setattr(callbacks, "save_weights_only", save)
        instants = kill_at(patch, None)
        tiny_run(tmp_path / "reference", splits, **changes)
    assert instants.count("best.weights.h5") == 2 and "last.keras" in instants
    for instant in range(len(instants)):
        folder = tmp_path / f"killed-{instant}"
        with monkeypatch.context() as patch, pytest.raises(Killed):
            kill_at(patch, instant)
            tiny_run(folder, splits, **changes)
        where = f"killed before replacement {instant} of {instants}"
        assert not (folder / ".lock").exists(), where
        try:
            kept = kept_weights(folder)
        except RunFolderError as error:  # only before a history names a best
            first_best = instants.index("best.pending.weights.h5")
            assert "history.json" not in instants[first_best:instant], where
            assert "not finished an epoch" in str(error) or "config.json is missing" in str(error), where
        else:
            assert any(all(np.array_equal(a, b) for a, b in zip(kept, best, strict=True)) for best in bests), where
        history = tiny_run(folder, splits, **changes)  # the same command resumes
        assert [record.step for record in history.epochs] == [1, 2], where
        last, _ = loading.load_run_model(folder, "last")
        for a, b in zip(kept_weights(folder), last.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)  # the last epoch's weights were kept, and both load
        assert not (folder / "best.pending.weights.h5").exists(), where


def test_a_run_stopped_in_its_first_epoch_resumes_with_the_same_command(tmp_path, splits, monkeypatch):
    folder = tmp_path / "run"
    with monkeypatch.context() as patch:
        patch.setattr(callbacks.OneShotValidation, "measure", lambda self: (_ for _ in ()).throw(KeyboardInterrupt))
        with pytest.raises(KeyboardInterrupt):
            tiny_run(folder, splits)
    assert {"config.json", "history.json", "last.keras"} <= {path.name for path in folder.iterdir()}
    history = tiny_run(folder, splits)
    assert [record.step for record in history.epochs] == [1, 2]
    assert [session.start_step for session in history.sessions] == [0, 0]
    loading.load_run_model(folder)


def test_after_ctrl_c_in_the_first_epoch_the_same_command_resumes(tmp_path, splits, monkeypatch, capsys):
    monkeypatch.setattr(train, "load_omniglot", lambda *a, **k: splits[0])
    monkeypatch.setattr(train, "train_validation_split", lambda data: splits)
    argv = [
        "--model",
        "prototypical",
        "--n-way",
        "3",
        "--n-query",
        "1",
        "--image-size",
        "16",
        "--val-way",
        "3",
        "--val-tasks",
        "4",
        "--steps-per-epoch",
        "1",
        "--steps",
        "2",
        "--quiet",
        "--output",
        str(tmp_path / "run"),
    ]
    with monkeypatch.context() as patch:
        patch.setattr(callbacks.OneShotValidation, "measure", lambda self: (_ for _ in ()).throw(KeyboardInterrupt))
        assert train.main(argv) == 130
    assert "run the same command again to resume" in capsys.readouterr().err
    assert train.main(argv) == 0
    assert [record.step for record in pretrained.history(tmp_path / "run").epochs] == [1, 2]


def test_a_run_stopped_before_its_history_starts_afresh_with_its_config_only(tmp_path, splits):
    folder = tmp_path / "run"
    tiny_run(folder, splits)
    for name in ("history.json", "best.weights.h5"):  # as a kill right after config.json (and last.keras) left it
        (folder / name).unlink()
    with pytest.raises(RunFolderError, match="another config"):
        tiny_run(folder, splits, seed=3)
    history = tiny_run(folder, splits)
    assert [record.step for record in history.epochs] == [1, 2] and len(history.sessions) == 1
    loading.load_run_model(folder)


# ------------------------------------------------------------------ one writer per folder


@pytest.fixture
def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


HOLD_LOCK = """
import fcntl, os, sys, time
with open(sys.argv[1], "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    lock.write(f"{os.getpid()}\\n")
    lock.flush()
    print("locked", flush=True)
    time.sleep(60)
"""


@pytest.fixture
def folder_held_by_another_process(tmp_path):
    """A run folder whose lock another process holds; yields (folder, that process's id)."""
    folder = tmp_path / "run"
    folder.mkdir()
    command = [sys.executable, "-c", HOLD_LOCK, str(folder / ".lock")]
    holder = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "locked\n"
    yield folder, holder.pid
    holder.kill()
    holder.wait()


@pytest.mark.skipif(sys.platform == "win32", reason="no advisory locks on Windows")
def test_a_folder_another_process_trains_into_is_refused(folder_held_by_another_process, splits, monkeypatch, capsys):
    folder, pid = folder_held_by_another_process
    with pytest.raises(RunFolderError, match=rf"{folder} is being trained into by another process \(pid {pid}\)"):
        tiny_run(folder, splits)
    assert [path.name for path in folder.iterdir()] == [".lock"]
    monkeypatch.setattr(train, "load_omniglot", lambda *a, **k: pytest.fail("data loaded"))
    with pytest.raises(SystemExit) as stopped:
        train.main(["--steps", "1", "--output", str(folder)])
    assert stopped.value.code == 2 and f"pid {pid}" in capsys.readouterr().err


def test_a_lock_file_left_by_a_killed_run_does_not_stop_the_next(tmp_path, splits, dead_pid):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / ".lock").write_text(f"{dead_pid}\n")  # no process holds it any more
    history = tiny_run(folder, splits)
    assert len(history.epochs) == 2 and not (folder / ".lock").exists()


def test_a_folder_that_cannot_be_written_gets_an_error_naming_it(tmp_path, splits, monkeypatch):
    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "open", refuse)
    message = rf"cannot write in the run folder {tmp_path / 'run'}: .*Permission denied"
    with pytest.raises(RunFolderError, match=message):
        tiny_run(tmp_path / "run", splits)
    monkeypatch.undo()
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="no advisory locks on Windows")
def test_the_lock_is_held_while_training_and_released_after(tmp_path, splits, monkeypatch):
    folder = tmp_path / "run"
    seen = []

    def measure(self):
        seen.append((folder / ".lock").read_text())
        with pytest.raises(BlockingIOError), open(folder / ".lock") as lock:  # a second writer is shut out
            run_folder.fcntl.flock(lock, run_folder.fcntl.LOCK_EX | run_folder.fcntl.LOCK_NB)
        return real_measure(self)

    real_measure = callbacks.OneShotValidation.measure
    monkeypatch.setattr(callbacks.OneShotValidation, "measure", measure)
    tiny_run(folder, splits)
    assert seen == [f"{os.getpid()}\n"] * 2
    assert not (folder / ".lock").exists()
