"""The training step written out moves the weights exactly as Keras's own training step does."""

from __future__ import annotations

import numpy as np
import pytest

from oneshot_lib.backend import keras
from oneshot_lib.models.episodic import build_episodic
from oneshot_lib.models.siamese import build_siamese
from oneshot_lib.models.steps import episode_training_step, pair_training_step


def batch(size: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = (rng.random((2, size, 105, 105)) < 0.1).astype(np.float32)
    targets = np.tile([1.0, 0.0], size // 2).astype(np.float32)
    return {"left": images[0], "right": images[1]}, targets


def weights_after_both_steps(make_optimizer, run_eagerly: bool):
    inputs, targets = batch()
    keras_model, our_model = build_siamese("cpu", seed=3), build_siamese("cpu", seed=3)
    keras_model.compile(optimizer=make_optimizer(), loss=keras.losses.BinaryCrossentropy(), run_eagerly=run_eagerly)
    keras_loss = float(keras_model.train_on_batch(inputs, targets))
    measured = pair_training_step(our_model, inputs, targets, make_optimizer())
    return keras_loss, measured, keras_model.get_weights(), our_model.get_weights()


def test_written_out_step_is_kerass_step_bit_for_bit():
    """Run eagerly, Keras's train_on_batch performs the same operations: the same weights exactly."""
    keras_loss, measured, theirs, ours = weights_after_both_steps(lambda: keras.optimizers.Adam(1e-3), True)
    assert measured["loss"] == pytest.approx(keras_loss, rel=1e-6)
    assert measured["loss"] == pytest.approx(measured["cross_entropy"] + measured["penalty"], rel=1e-6)
    assert measured["penalty"] > 0  # the L2 penalties of the convolutions and the dense layer
    initial = build_siamese("cpu", seed=3).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True))
    assert max(np.abs(a - b).max() for a, b in zip(ours, initial, strict=True)) > 1e-4  # the step moved them


def test_written_out_step_matches_the_compiled_step_to_rounding():
    """Compiled into a graph (as fit runs it), the sums are ordered differently: plain SGD, whose
    update is the gradient times the rate, shows the gradients agree to float32 rounding."""
    _, _, theirs, ours = weights_after_both_steps(lambda: keras.optimizers.SGD(0.1), False)
    assert max(np.abs(a - b).max() for a, b in zip(ours, theirs, strict=True)) < 1e-5


def test_gradient_norms_name_every_trainable_weight():
    inputs, targets = batch(4)
    model = build_siamese("cpu", seed=0)
    measured = pair_training_step(model, inputs, targets, keras.optimizers.SGD(0.0))
    assert set(measured["gradient_norms"]) == {weight.path for weight in model.trainable_weights}
    assert all(np.isfinite(norm) for norm in measured["gradient_norms"].values())


def test_written_out_episode_step_is_kerass_step_bit_for_bit():
    rng = np.random.default_rng(1)
    episode = {
        "support": (rng.random((3, 16, 16, 1)) < 0.2).astype(np.float32),
        "support_labels": np.array([2, 0, 1]),
        "query": (rng.random((6, 16, 16, 1)) < 0.2).astype(np.float32),
    }
    labels = np.repeat(np.arange(3), 2)
    keras_model = build_episodic("prototypical", image_size=16, filters=4, blocks=2, seed=3)
    our_model = build_episodic("prototypical", image_size=16, filters=4, blocks=2, seed=3)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    keras_model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=loss, run_eagerly=True)
    keras_loss = float(keras_model.train_on_batch(episode, labels))
    measured = episode_training_step(our_model, episode, labels, keras.optimizers.Adam(1e-2))
    assert measured["loss"] == pytest.approx(keras_loss, rel=1e-6) and measured["penalty"] == 0.0
    ours, theirs = our_model.get_weights(), keras_model.get_weights()  # batch-norm statistics included
    assert all(np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True))
