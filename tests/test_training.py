"""Training: the pair stream, Koch's SGD, fast validation, and a tiny resumable run."""

from __future__ import annotations

import json
import os

import h5py
import keras
import numpy as np
import pytest
from conftest import synthetic_split, tiny_run_config

from oneshot_lib.data.tasks import sample_pair_indices
from oneshot_lib.models import siamese
from oneshot_lib.models.pairs import pair_dataset
from oneshot_lib.models.siamese import Architecture
from oneshot_lib.scoring import contract, evaluate
from oneshot_lib.train import parser
from oneshot_lib.training import callbacks, kinds, loading, optimizers, trainer
from oneshot_lib.training.config import TrainingConfig

TINY = Architecture(input_size=28, filters=(2, 3, 3, 4), kernels=(3, 3, 2, 2), dense_units=8)


@pytest.fixture
def tiny_size(monkeypatch) -> str:
    monkeypatch.setitem(siamese.ARCHITECTURES, "tiny", TINY)
    return "tiny"


def tiny_config(**changes) -> TrainingConfig:
    """The tiny run, for the tiny siamese architecture: two epochs of two steps, 6 validation tasks."""
    return tiny_run_config(**{"size": "tiny", "steps_per_epoch": 2, "max_steps": 4, "val_tasks": 6, **changes})


# ------------------------------------------------------------------ the pair stream


def test_pair_dataset_gathers_the_sampled_pairs(splits):
    train, _ = splits
    inputs, same = next(iter(pair_dataset(train, 6, seed=4, augment=False)))
    pairs = sample_pair_indices(train, 6, rng=np.random.default_rng([4, 0]))
    left, right = pairs.images(train)
    assert inputs["left"].shape == (6, 105, 105) and inputs["left"].dtype == "float32"
    np.testing.assert_array_equal(inputs["left"].numpy(), left)
    np.testing.assert_array_equal(inputs["right"].numpy(), right)
    np.testing.assert_array_equal(same.numpy(), pairs.same)


def test_a_stream_started_at_step_2_continues_the_stream_exactly(splits):
    train, _ = splits
    from_start = iter(pair_dataset(train, 4, seed=1, augment=True))
    for _ in range(2):
        next(from_start)
    (inputs, same), (resumed, resumed_same) = (
        next(from_start),
        next(iter(pair_dataset(train, 4, seed=1, augment=True, start_step=2))),
    )
    np.testing.assert_array_equal(inputs["left"].numpy(), resumed["left"].numpy())
    np.testing.assert_array_equal(inputs["right"].numpy(), resumed["right"].numpy())
    np.testing.assert_array_equal(same.numpy(), resumed_same.numpy())


def test_pair_dataset_rejects_odd_batches(splits):
    with pytest.raises(ValueError, match="even"):
        pair_dataset(splits[0], 5)


# ------------------------------------------------------------------ Koch's SGD


def test_koch_sgd_momentum_rises_linearly_and_layer_rates_scale_updates(tiny_size):
    model = siamese.build_siamese(TINY, seed=0)
    optimizer = optimizers.KochSGD(
        0.1, momentum_start=0.5, momentum_end=0.9, momentum_steps=4, layer_rates={"conv_1": 0.0}
    )
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    assert float(optimizer.momentum()) == pytest.approx(0.5)
    before = {w.path: w.numpy().copy() for w in model.weights}
    images = np.zeros((4, 105, 105), "float32")
    for index in range(4):  # a bar in a different place in each image, so the embeddings differ
        images[index, 20 * index : 20 * index + 30, 10:90] = 1.0
    model.fit({"left": images, "right": images[::-1]}, np.array([1.0, 0, 0, 1]), epochs=2, batch_size=4, verbose=0)
    assert float(optimizer.momentum()) == pytest.approx(0.7)  # 0.5 + 0.4 * 2 of 4 ramp steps
    changed = {w.path: not np.array_equal(before[w.path], w.numpy()) for w in model.weights}
    assert not changed["conv_1/kernel"] and not changed["conv_1/bias"]
    assert changed["conv_2/kernel"] and changed["head/kernel"]
    with pytest.raises(ValueError, match="no weights"):
        bad = siamese.build_siamese(TINY)
        bad.compile(optimizer=optimizers.KochSGD(layer_rates={"conv_9": 2.0}), loss="binary_crossentropy")
        bad.fit({"left": images, "right": images}, np.ones(4), verbose=0)


def test_make_optimizer_gives_the_blogs_adam_or_kochs_sgd(tiny_size):
    adam = optimizers.make_optimizer(tiny_config())
    assert isinstance(adam, keras.optimizers.Adam)
    assert float(optimizers.make_optimizer(tiny_config(learning_rate=None)).learning_rate) == pytest.approx(1e-3)
    sgd = optimizers.make_optimizer(tiny_config(optimizer="sgd", learning_rate=0.01, lr_decay=0.5))
    assert isinstance(sgd, optimizers.KochSGD) and sgd.momentum_steps == 20 * 2


def test_adam_can_halve_its_learning_rate_every_few_epochs(tiny_size):
    def rates(optimizer, steps):
        for step in steps:
            optimizer.iterations.assign(step)
            yield float(optimizer.learning_rate)

    halving = optimizers.make_optimizer(tiny_config(learning_rate=1e-3, halve_lr_every=3))  # 2 steps an epoch
    assert list(rates(halving, (0, 5, 6, 12))) == pytest.approx([1e-3, 1e-3, 5e-4, 2.5e-4])
    constant = optimizers.make_optimizer(tiny_config(learning_rate=1e-3))
    assert list(rates(constant, (0, 12))) == pytest.approx([1e-3, 1e-3])


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(optimizer="rmsprop"), "unknown optimizer"),
        (dict(batch_size=7), "even"),
        (dict(layer_rates={"conv_1": 2.0}), "SGD only"),
        (dict(halve_lr_every=-1), "halve_lr_every must be at least 0"),
        (dict(optimizer="sgd", halve_lr_every=10), "Adam only"),
        (dict(minutes=0), "positive"),
        (dict(model="transformer"), "unknown model"),
    ],
)
def test_impossible_configs_are_rejected(tiny_size, changes, message):
    with pytest.raises(ValueError, match=message):
        kinds.kind_of(tiny_config(**changes))


# ------------------------------------------------------------------ validation


class MeanPixelScorer:
    """Embeds an image as its row means; scores are minus L1 distances (exact, per image)."""

    name = "row means"

    def embed(self, images):
        return np.asarray(images, dtype=np.float64).mean(axis=2)

    def compare(self, query, support):
        return -np.abs(query[:, None] - support[None]).sum(axis=2)

    def scores(self, query, support):
        return self.compare(self.embed(query), self.embed(support))


@pytest.mark.parametrize("k_shot, n_query, within", [(1, 1, True), (2, 2, False)])
def test_embedding_path_equals_plain_path(k_shot, n_query, within):
    data = synthetic_split((6, 5, 4), drawings=6, seed=2)
    arguments = dict(n_tasks=30, n_query=n_query, within_alphabet=within, seed=3)
    assert isinstance(MeanPixelScorer(), contract.EmbeddingScorer)
    embedded = evaluate.accuracy(MeanPixelScorer(), data, 4, k_shot, **arguments)
    plain = evaluate.accuracy(MeanPixelScorer().scores, data, 4, k_shot, **arguments)  # a bare function
    np.testing.assert_array_equal(embedded.per_task, plain.per_task)


def test_budget_names_what_ran_out():
    assert callbacks.Budget(max_steps=10).exhausted(10) == "step budget reached (10 steps)"
    assert callbacks.Budget(max_steps=10).exhausted(9) is None
    assert "time budget" in callbacks.Budget(seconds=60, elapsed_before=61).exhausted(0)


def test_save_weights_only_leaves_the_optimizer_out(tmp_path):
    model = siamese.build_siamese(TINY, seed=0)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    images = np.zeros((2, 105, 105), "float32")
    model.fit({"left": images, "right": images}, np.ones(2), verbose=0)
    callbacks.save_weights_only(model, tmp_path / "best.weights.h5")
    with h5py.File(tmp_path / "best.weights.h5") as file:
        assert "optimizer" not in file
    siamese.load_weights(siamese.build_siamese(TINY), tmp_path / "best.weights.h5")
    assert [p.name for p in tmp_path.iterdir()] == ["best.weights.h5"]  # no temporary file left


# ------------------------------------------------------------------ a whole run


def test_a_tiny_run_writes_its_files_and_resumes(tiny_size, splits, tmp_path, monkeypatch):
    train_data, validation_data = splits
    folder = tmp_path / "run"
    history = trainer.train(
        tiny_config(),
        folder,
        train_data=train_data,
        validation_data=validation_data,
        command="python -m oneshot_lib.train --steps 4",
        verbose=0,
    )
    names = {"config.json", "history.json", "best.weights.h5", "last.keras", "log.txt"}
    assert names <= {p.name for p in folder.iterdir()}
    assert [record.step for record in history.epochs] == [2, 4]
    assert "step budget" in history.stopped
    saved = json.loads((folder / "config.json").read_text())
    assert saved["command"] == "python -m oneshot_lib.train --steps 4"
    assert saved["config"]["size"] == "tiny" and saved["architecture"]["dense_units"] == 8
    record = json.loads((folder / "history.json").read_text())["epochs"][0]
    assert {"loss", "accuracy", "val_oneshot_accuracy", "learning_rate", "elapsed_seconds"} <= set(record)
    assert 0.0 <= history.epochs[0].val_oneshot_accuracy <= 1.0
    monkeypatch.delitem(siamese.ARCHITECTURES, "tiny")  # the run records its architecture: no name needed
    best_scorer = loading.load_run_scorer(folder)
    assert best_scorer.scores(train_data.images[0, :2], train_data.images[1, :3]).shape == (2, 3)
    monkeypatch.setitem(siamese.ARCHITECTURES, "tiny", TINY)

    # The same budget again: nothing left to do.
    again = trainer.train(tiny_config(), folder, train_data=train_data, validation_data=validation_data, verbose=0)
    assert len(again.epochs) == 2

    # A larger budget resumes at step 4, keeping the history.
    resumed = trainer.train(
        tiny_config(max_steps=6), folder, train_data=train_data, validation_data=validation_data, verbose=0
    )
    assert [record.step for record in resumed.epochs] == [2, 4, 6]
    assert resumed.epochs[:2] == history.epochs
    assert [session.start_step for session in resumed.sessions] == [0, 4]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert [session.cpu_cores for session in resumed.sessions] == [cores, cores]
    assert json.loads((folder / "history.json").read_text()) == resumed.to_json()
    last, _ = loading.load_run_model(folder, "last")
    assert int(last.optimizer.iterations) == 6


def test_an_unknown_size_is_refused(tiny_size, splits, tmp_path):
    with pytest.raises(ValueError, match="unknown siamese size 'huge'"):
        trainer.train(tiny_config(size="huge"), tmp_path, train_data=splits[0], validation_data=splits[1])


def test_resuming_with_another_architecture_is_refused(tiny_size, splits, tmp_path):
    train_data, validation_data = splits
    trainer.train(tiny_config(max_steps=2), tmp_path, train_data=train_data, validation_data=validation_data, verbose=0)
    with pytest.raises(ValueError, match="another config.*augment"):
        trainer.train(
            tiny_config(augment=False),
            tmp_path,
            train_data=train_data,
            validation_data=validation_data,
            verbose=0,
        )


def test_command_line_flags_map_onto_the_config():
    args = parser().parse_args(
        [
            "--output",
            "out",
            "--minutes",
            "5",
            "--size",
            "koch",
            "--no-augment",
            "--optimizer",
            "sgd",
            "--layer-rates",
            "conv_1=2,features=0.5",
            "--seed",
            "3",
        ]
    )
    assert (args.minutes, args.size, args.augment, args.optimizer, args.seed) == (
        5.0,
        "koch",
        False,
        "sgd",
        3,
    )
    assert args.layer_rates == {"conv_1": 2.0, "features": 0.5}
    with pytest.raises(SystemExit):
        from oneshot_lib.train import main

        main(["--output", "out"])  # no budget


def test_validation_during_training_shows_no_evaluation_progress(split, monkeypatch):
    """The evaluation's own progress line would break into the training's output on a terminal."""
    import io
    import sys

    from oneshot_lib.scoring.baselines import ConstantScorer

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(evaluate, "PROGRESS_AFTER_SECONDS", 0.0)
    evaluate.accuracy(ConstantScorer(), split, 3, n_tasks=2)
    assert "2/2 tasks" in terminal.getvalue()  # an evaluation on a terminal shows it
    terminal.truncate(0)
    validation = callbacks.OneShotValidation(
        split, lambda model: ConstantScorer(), n_way=3, n_tasks=2, within_alphabet=False
    )
    validation.measure()
    assert terminal.getvalue() == ""
