"""The siamese network: Koch's parameter count, exact symmetry, the fast scorer, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_images

from oneshot_lib.models import siamese
from oneshot_lib.models.siamese import Architecture, CheckpointMismatchError, SiameseScorer

#: A network small enough to build and run in milliseconds: 28 -> 26 -> 13 -> 11 -> 5 -> 4 -> 2 -> 1.
TINY = Architecture(input_size=28, filters=(2, 3, 3, 4), kernels=(3, 3, 2, 2), dense_units=8)
OTHER = Architecture(input_size=28, filters=(2, 3, 3, 5), kernels=(3, 3, 2, 2), dense_units=8)


@pytest.fixture(scope="module")
def tiny_model():
    """A tiny network with large random weights: at Koch's initialisation (weights 0.01, biases 0.5)
    every pair gets nearly the same probability, which would make the comparisons below vacuous."""
    model = siamese.build_siamese(TINY, seed=0)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0.0, 0.5, w.shape).astype("float32") for w in model.get_weights()])
    return model


def test_koch_network_has_exactly_38951745_parameters():
    model = siamese.build_siamese("koch", seed=0)
    assert model.count_params() == 38_951_745
    assert siamese.ARCHITECTURES["koch"].feature_map_sides() == [96, 42, 18, 6]
    features = model.get_layer("embedding").get_layer("features").count_params()
    assert features == 6 * 6 * 256 * 4096 + 4096
    assert 0.96 < features / model.count_params() < 0.97


def test_koch_initialisation_and_l2_penalties():
    model = siamese.build_siamese("cpu", seed=0)
    embedding = model.get_layer("embedding")
    kernel, bias = (w.numpy() for w in embedding.get_layer("conv_2").weights)
    assert abs(kernel.std() - 1e-2) < 1e-3 and abs(kernel.mean()) < 1e-3
    assert abs(bias.mean() - 0.5) < 5e-3 and bias.std() < 2e-2
    dense = embedding.get_layer("features").weights[0].numpy()
    assert abs(dense.std() - 0.2) < 0.01
    conv_1 = embedding.get_layer("conv_1").weights[0].numpy()
    penalties = sorted(float(loss) for loss in model.losses)
    assert len(penalties) == 5  # four convolution kernels and the dense kernel; not the head
    assert min(abs(p - 2e-4 * np.sum(conv_1**2)) for p in penalties) < 1e-6
    assert max(penalties) == pytest.approx(1e-3 * np.sum(dense.astype(np.float64) ** 2), rel=1e-4)


def test_one_seed_builds_one_network():
    first, second = siamese.build_siamese(TINY, seed=3), siamese.build_siamese(TINY, seed=3)
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    third = siamese.build_siamese(TINY, seed=4)
    assert not np.array_equal(first.get_weights()[0], third.get_weights()[0])


def test_swapping_the_inputs_gives_exactly_the_same_probability(tiny_model):
    scorer = SiameseScorer(tiny_model)
    left, right = random_images(6, 1), random_images(6, 2)
    forward = scorer.pair_probabilities(left, right)
    np.testing.assert_array_equal(forward, scorer.pair_probabilities(right, left))
    assert forward.shape == (6,) and np.all((forward > 0) & (forward < 1))
    assert len(np.unique(forward)) == 6  # the pairs really differ


def test_scorer_equals_the_twin_network_run_on_every_pair(tiny_model):
    scorer = SiameseScorer(tiny_model, batch_size=2)  # several embedding batches
    query, support = random_images(3, 3), random_images(5, 4)
    fast = scorer.scores(query, support)
    naive = scorer.pair_probabilities(np.repeat(query, 5, axis=0), np.tile(support, (3, 1, 1))).reshape(3, 5)
    assert fast.shape == (3, 5) and fast.dtype == np.float64
    np.testing.assert_allclose(fast, naive, rtol=0, atol=1e-6)


def test_scorer_takes_bool_and_float_images_and_checks_their_shape(tiny_model):
    scorer = SiameseScorer(tiny_model)
    images = random_images(2, 5)
    np.testing.assert_array_equal(scorer.scores(images, images), scorer.scores(images.astype(float), images))
    assert scorer.embed(images[:0]).shape == (0, TINY.dense_units)
    with pytest.raises(ValueError, match=r"\(N, 105, 105\)"):
        scorer.scores(np.zeros((2, 28, 28), bool), images)


def test_pair_logits_are_chunked_without_changing_them(tiny_model):
    scorer = SiameseScorer(tiny_model)
    query, support = scorer.embed(random_images(7, 6)), scorer.embed(random_images(3, 7))
    np.testing.assert_allclose(scorer.logits(query, support, max_pairs=4), scorer.logits(query, support), atol=1e-6)


def test_checkpoint_round_trip(tiny_model, tmp_path):
    path = tmp_path / "tiny.weights.h5"
    tiny_model.save_weights(path)
    loaded = SiameseScorer.from_checkpoint(path, TINY)
    images = random_images(4, 8)
    np.testing.assert_array_equal(loaded.scores(images, images), SiameseScorer(tiny_model).scores(images, images))


def test_a_checkpoint_of_another_architecture_raises_a_clear_error(tiny_model, tmp_path):
    path = tmp_path / "tiny.weights.h5"
    tiny_model.save_weights(path)
    with pytest.raises(CheckpointMismatchError, match=r"layer 'conv_4'.*\(2, 2, 3, 4\).*\(2, 2, 3, 5\).*Build"):
        siamese.load_weights(siamese.build_siamese(OTHER), path)
    with pytest.raises(FileNotFoundError):
        siamese.load_weights(tiny_model, tmp_path / "missing.weights.h5")


def test_unknown_size_and_impossible_architecture_raise():
    with pytest.raises(ValueError, match="choose one of"):
        siamese.build_siamese("huge")
    with pytest.raises(ValueError, match="smaller than"):
        siamese.build_siamese(Architecture(input_size=20, kernels=(3, 3, 3, 3), filters=(1, 1, 1, 1)))
