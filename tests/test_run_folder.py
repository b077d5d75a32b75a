"""Run folders lose nothing: refused before anything is written, resumed consistently, damage named."""

from __future__ import annotations

import shutil

import pytest
from test_training import TINY, tiny_config

from oneshot_lib import pretrained, run_folder, siamese, train, trainer
from oneshot_lib.files import sha256_of
from oneshot_lib.run_folder import RunFolderError


@pytest.fixture(autouse=True)
def tiny_size(monkeypatch) -> None:
    monkeypatch.setitem(siamese.ARCHITECTURES, "tiny", TINY)


def fingerprint(folder) -> dict[str, str]:
    """{file name: SHA-256} of every file in ``folder``."""
    return {path.name: sha256_of(path) for path in sorted(folder.iterdir())}


def tiny_run(folder, splits, **changes) -> dict:
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


# ------------------------------------------------------------------ kills and damaged files


def test_a_kill_between_history_and_checkpoint_resumes_with_consistent_epochs(tmp_path, splits):
    folder = tmp_path / "run"
    tiny_run(folder, splits)  # epochs 1 and 2, one step each
    checkpoint_at_step_2 = (folder / "last.keras").read_bytes()
    tiny_run(folder, splits, max_steps=3)
    # The kill: history.json holds epoch 3, but last.keras never moved past step 2.
    (folder / "last.keras").write_bytes(checkpoint_at_step_2)
    resumed = tiny_run(folder, splits, max_steps=4)
    assert [(record["epoch"], record["step"]) for record in resumed["epochs"]] == [(1, 1), (2, 2), (3, 3), (4, 4)]
    model, _ = run_folder.load_run_model(folder, "last")
    assert int(model.optimizer.iterations) == 4


def test_a_truncated_checkpoint_gets_an_error_that_names_it(tmp_path, splits):
    folder = tmp_path / "run"
    tiny_run(folder, splits)
    last = folder / "last.keras"
    last.write_bytes(last.read_bytes()[:2000])
    with pytest.raises(RunFolderError, match=r"last\.keras cannot be loaded.*damaged or truncated"):
        tiny_run(folder, splits, max_steps=3)
    with pytest.raises(RunFolderError, match=r"last\.keras is damaged"):
        run_folder.load_run_model(folder, "last")


def test_a_checkpoint_with_changed_bytes_is_refused_on_resume(tmp_path, splits):
    folder = tmp_path / "run"
    tiny_run(folder, splits)
    other = tmp_path / "other"
    tiny_run(other, splits, seed=1)
    shutil.copy(other / "last.keras", folder / "last.keras")  # a loadable file, but not this run's
    with pytest.raises(RunFolderError, match=r"last\.keras is damaged"):
        tiny_run(folder, splits, max_steps=3)
