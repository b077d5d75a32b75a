"""Training on several devices: batches shared among replicas, the device options, tiny runs on two CPU devices.

The runs on two logical CPU devices train in subprocesses (``distributed_runs.py``, and the
command line itself): TensorFlow lets a process split its CPU only once, before it starts its
devices, and this process must stay as it is for the other tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_run_config, write_split_archive

from oneshot_lib import pretrained, train
from oneshot_lib.backend import keras, tf
from oneshot_lib.data.omniglot import VALIDATION_ALPHABETS
from oneshot_lib.models import selfsupervised
from oneshot_lib.training import distribute, kinds, loading, trainer
from oneshot_lib.training.config import TrainingConfig

TESTS = Path(__file__).resolve().parent
PROJECT = TESTS.parent
OTHER_KINDS = ["contrastive", "masked", "matching", "prototypical", "rotation", "transfer"]


def rows(tensor) -> list:
    return np.asarray(tensor).tolist()


# ------------------------------------------------------------------ batches cut into shares


def test_split_rows_deals_the_rows_out_in_turn():
    batch = tf.reshape(tf.range(12), (6, 2))
    shares = distribute.split_rows(batch, 3)
    assert shares.shape == (3, 2, 2)
    assert rows(shares[1]) == [[2, 3], [8, 9]]  # rows 1 and 4
    assert rows(distribute.repeat_rows(tf.constant([1, 2]), 2)) == [[1, 2], [1, 2]]


def test_each_replica_gets_half_the_siamese_pairs_with_their_targets():
    batch = {"left": tf.range(4.0), "right": 10 + tf.range(4.0)}
    inputs, same = kinds.MODEL_KINDS["siamese"].shares(batch, tf.constant([1, 1, 0, 0]), 2)
    assert rows(inputs["left"]) == [[0, 2], [1, 3]] and rows(inputs["right"]) == [[10, 12], [11, 13]]
    assert rows(same) == [[1, 0], [1, 0]]  # each share keeps same and different pairs


def test_each_replica_gets_all_four_turns_of_its_drawings():
    turns = tf.repeat(tf.range(4), 4)  # a rotation batch of 4 drawings, turn-major
    drawings = tf.tile(tf.range(4), [4])
    shared_drawings, shared_turns = kinds.MODEL_KINDS["rotation"].shares(drawings, turns, 2)
    assert rows(shared_drawings[0]) == [0, 2] * 4 and rows(shared_turns[0]) == [0, 0, 1, 1, 2, 2, 3, 3]


def test_each_replica_contrasts_both_views_of_its_drawings():
    drawings = 4
    views = tf.reshape(tf.tile(tf.range(drawings, dtype=tf.float32), [2]), (2 * drawings, 1, 1, 1))
    partners = tf.constant(selfsupervised.positive_indices(drawings))
    shared_views, shared_partners = kinds.MODEL_KINDS["contrastive"].shares(views, partners, 2)
    assert shared_views.shape == (2, 4, 1, 1, 1)
    for replica in range(2):
        own = np.asarray(shared_views[replica]).ravel()
        partner = np.asarray(shared_partners[replica])
        np.testing.assert_array_equal(own[partner], own)  # the partner shows the same drawing
        assert not np.any(partner == np.arange(4))  # and is another view


def test_each_replica_scores_its_share_of_the_queries_against_the_whole_support_set():
    episode = {"support": tf.zeros((3, 2, 2, 1)), "support_labels": tf.range(3), "query": tf.zeros((6, 2, 2, 1))}
    inputs, labels = kinds.MODEL_KINDS["prototypical"].shares(episode, tf.constant([0, 0, 1, 1, 2, 2]), 2)
    assert inputs["support"].shape == (2, 3, 2, 2, 1) and inputs["query"].shape == (2, 3, 2, 2, 1)
    assert rows(inputs["support_labels"]) == [[0, 1, 2], [0, 1, 2]]
    assert rows(labels) == [[0, 1, 2], [0, 1, 2]]


@pytest.mark.parametrize(
    "model, changes, message",
    [
        ("siamese", dict(batch_size=6), "batch_size = 6 cannot be shared evenly among 4 replicas"),
        ("transfer", dict(batch_size=6), "batch_size = 6 cannot be shared evenly among 4 replicas"),
        ("matching", dict(n_way=3, n_query=2), r"n_way \* n_query .* = 6 cannot be shared evenly"),
    ],
)
def test_a_batch_that_cannot_be_shared_evenly_is_refused(model, changes, message):
    config = tiny_run_config(model, **changes)
    kinds.check_replicas(config, 2)  # 6 shares among 2
    with pytest.raises(ValueError, match=message):
        kinds.check_replicas(config, 4)


# ------------------------------------------------------------------ the device options


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(distribute, "visible_gpus", lambda: [])


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(distribute=True, cpu_devices=0, mixed_precision=False), "--cpu-devices must be at least 1"),
        (dict(distribute=False, cpu_devices=2, mixed_precision=False), "add --distribute"),
        (dict(distribute=False, cpu_devices=None, mixed_precision=True), "mixed precision .* needs a GPU"),
        (dict(distribute=True, cpu_devices=2, mixed_precision=True), "--cpu-devices trains on the CPU"),
    ],
)
def test_impossible_device_options_are_refused(no_gpu, options, message):
    with pytest.raises(ValueError, match=message):
        distribute.check_device_options(**options)


@pytest.mark.parametrize(
    "flags, message",
    [
        ("--distribute --cpu-devices 0", "--cpu-devices must be at least 1"),
        ("--cpu-devices 2", "add --distribute"),
        ("--mixed-precision", "needs a GPU"),
    ],
)
def test_the_command_line_refuses_them_before_loading_data(no_gpu, monkeypatch, tmp_path, capsys, flags, message):
    monkeypatch.setattr(train, "load_omniglot", lambda split: pytest.fail("data loaded before checking options"))
    with pytest.raises(SystemExit) as exit_:
        train.main(["--output", str(tmp_path / "run"), "--steps", "2", *flags.split()])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_run_refuses_mixed_precision_without_a_gpu_before_writing(no_gpu, splits, tmp_path):
    with pytest.raises(ValueError, match="needs a GPU"):
        trainer.train(
            tiny_run_config(mixed_precision=True), tmp_path / "run", train_data=splits[0], validation_data=splits[1]
        )
    assert not (tmp_path / "run").exists()


def test_distribute_without_a_gpu_trains_on_the_cpu_as_one_replica_and_says_so(no_gpu, splits, tmp_path):
    strategy, note = distribute.make_strategy()
    assert strategy.num_replicas_in_sync == 1 and "found no GPU" in note and "--cpu-devices" in note
    history = trainer.train(
        tiny_run_config(size="conv4"),
        tmp_path,
        train_data=splits[0],
        validation_data=splits[1],
        verbose=0,
        strategy=strategy,
    )
    assert [e.seen for e in history.epochs] == [8, 16]
    assert history.sessions[0].replicas == 1 and history.sessions[0].devices == ("CPU:0",)


def test_mixed_precision_builds_under_mixed_float16_and_restores_the_policy():
    before = keras.config.dtype_policy().name
    with distribute.dtype_policy(True):
        layer = keras.layers.Dense(2)
    assert layer.dtype_policy.name == "mixed_float16" and keras.config.dtype_policy().name == before
    with distribute.dtype_policy(False):
        assert keras.config.dtype_policy().name == before


# ------------------------------------------------------------------ tiny runs on two logical CPU devices


def run_python(arguments: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    """Python with the project first on its path, from the tests folder (so conftest imports)."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT), str(TESTS)]), **(env or {})}
    return subprocess.run([sys.executable, *arguments], cwd=TESTS, env=environment, capture_output=True, text=True)


@pytest.fixture(scope="module")
def distributed_runs(tmp_path_factory) -> Path:
    """The folder of ``distributed_runs.py``'s runs: ten training sessions, the slow part of this module."""
    folder = tmp_path_factory.mktemp("distributed")
    result = run_python([str(TESTS / "distributed_runs.py"), str(folder), *OTHER_KINDS])
    assert result.returncode == 0, result.stderr[-3000:]
    return folder


@pytest.mark.slow
def test_two_replicas_keep_the_books_and_train_the_weights_of_one_device(distributed_runs, splits):
    two, one = (pretrained.history(distributed_runs / f"siamese-{replicas}") for replicas in ("two", "one"))
    assert [(e.step, e.seen) for e in two.epochs] == [(1, 8), (2, 16), (3, 24)]
    assert [(e.step, e.seen) for e in one.epochs] == [(1, 8), (2, 16), (3, 24)]
    assert {e.seen_name for e in two.epochs + one.epochs} == {"pairs_seen"}
    # Each run resumed on the other number of devices.
    assert [(s.start_step, s.replicas, s.devices) for s in two.sessions] == [
        (0, 2, ("CPU:0", "CPU:1")),
        (2, 1, None),
    ]
    assert [(s.start_step, s.replicas) for s in one.sessions] == [(0, 1), (2, 2)]
    # No batch normalisation: both saw the same batches, and summed the same gradients.
    last_two, _ = loading.load_run_model(distributed_runs / "siamese-two", "last")
    last_one, _ = loading.load_run_model(distributed_runs / "siamese-one", "last")
    for a, b in zip(last_two.get_weights(), last_one.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    scores = pretrained.load(distributed_runs / "siamese-two").scores(splits[0].images[0, :2], splits[0].images[1, :3])
    assert scores.shape == (2, 3) and np.isfinite(scores).all()


@pytest.mark.slow
@pytest.mark.parametrize("model", OTHER_KINDS)
def test_every_kind_trains_on_two_replicas_and_loads_like_any_run(distributed_runs, splits, model):
    folder = distributed_runs / f"{model}-two"
    recorded = pretrained.history(folder)
    seen, per_step = kinds.kind_of(tiny_run_config(model)).seen(tiny_run_config(model))
    assert [(e.step, e.seen_name, e.seen) for e in recorded.epochs] == [(1, seen, per_step), (2, seen, 2 * per_step)]
    assert all(np.isfinite(e.loss) for e in recorded.epochs)
    assert recorded.sessions[0].replicas == 2
    scores = pretrained.load(folder).scores(splits[0].images[0, :2], splits[0].images[1, :3])
    assert scores.shape == (2, 3) and np.isfinite(scores).all()


def test_the_command_line_trains_on_two_cpu_devices(tmp_path):
    """``python -m oneshot_lib.train --distribute --cpu-devices 2`` on a tiny archive of its own."""
    archive_dir = tmp_path / "omniglot"
    archive_dir.mkdir()
    alphabets = {**{name: 3 for name in VALIDATION_ALPHABETS}, "Alpha": 3, "Beta": 3}
    write_split_archive(archive_dir / "images_background.zip", alphabets)
    flags = (
        f"--output {tmp_path / 'run'} --distribute --cpu-devices 2 --model prototypical --image-size 16 "
        "--n-way 3 --n-query 2 --steps 2 --steps-per-epoch 1 --val-way 3 --val-tasks 4 --quiet"
    )
    code = (
        "import sys; from oneshot_lib.data import archives; from oneshot_lib.train import main; "
        f"archives.SPLITS['background'] = archives.ArchiveSpec('images_background.zip', '0' * 32, {len(alphabets)}, "
        f"{sum(alphabets.values())}); sys.exit(main({flags.split()!r}))"
    )
    result = run_python(["-c", code], env={"OMNIGLOT_DIR": str(archive_dir), "XDG_CACHE_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "on 2 replica(s): CPU:0, CPU:1" in result.stdout
    recorded = pretrained.history(tmp_path / "run")
    assert [(e.seen_name, e.seen) for e in recorded.epochs] == [("episodes_seen", 1), ("episodes_seen", 2)]
    assert recorded.sessions[0].replicas == 2 and "--distribute" in recorded.sessions[0].command
    assert pretrained.load(tmp_path / "run").scores(np.zeros((1, 105, 105)), np.zeros((2, 105, 105))).shape == (1, 2)

    uneven_flags = flags.replace("--n-query 2", "--n-query 3").replace(str(tmp_path / "run"), str(tmp_path / "uneven"))
    uneven = run_python(["-m", "oneshot_lib.train", *uneven_flags.split()])
    assert uneven.returncode == 2 and "n_query (the queries of an episode) = 9 cannot be shared" in uneven.stderr


@pytest.mark.slow
def test_one_step_of_kochs_full_size_network_trains_on_two_cpu_devices():
    """A step of 2 pairs, one on each device: slow because it builds 39 M weights (and their Adam state) twice."""
    result = run_python([str(TESTS / "distributed_runs.py"), "--koch-step"])
    assert result.returncode == 0, result.stderr[-3000:]
    words = result.stdout.split()
    report = dict(zip(words[::2], words[1::2], strict=False))
    assert report["parameters"] == "38951745" and report["steps"] == "1"
    assert np.isfinite(float(report["loss"])) and report["changed"] == report["of"]  # every weight tensor


def test_a_mixed_precision_run_trains_and_resumes_with_its_loss_scaling(monkeypatch, splits, tmp_path):
    """On the CPU, pretending a GPU is there: Keras's mixed_float16 path itself, not its speed."""
    monkeypatch.setattr(distribute, "visible_gpus", lambda: ["a GPU"])
    config = tiny_run_config(size="conv4", mixed_precision=True)
    trainer.train(config, tmp_path, train_data=splits[0], validation_data=splits[1], verbose=0)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Skipping variable loading")  # the optimiser's state must load
        resumed = trainer.train(
            tiny_run_config(size="conv4", mixed_precision=True, max_steps=3),
            tmp_path,
            train_data=splits[0],
            validation_data=splits[1],
            verbose=0,
        )
    assert [e.step for e in resumed.epochs] == [1, 2, 3] and np.isfinite(resumed.last.loss)
    assert keras.config.dtype_policy().name == "float32"  # the policy is the run's only
    scores = pretrained.load(tmp_path).scores(splits[0].images[0, :2], splits[0].images[1, :3])
    assert scores.shape == (2, 3) and np.isfinite(scores).all()


@pytest.mark.parametrize("model", ["maml", "reptile"])
def test_meta_learners_train_on_one_device_and_say_so(model):
    config = TrainingConfig(model=model)
    kinds.check_replicas(config, 1)
    with pytest.raises(ValueError, match=f"{model} trains on one device only.*drop --distribute"):
        kinds.check_replicas(config, 2)
