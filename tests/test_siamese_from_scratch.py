"""The siamese network the learner writes in chapters 4 and 5 (cells tagged ``from-scratch``)
computes what the library computes: the network and its scorer, the pair sampler, the loss and
one training step, on tiny networks and synthetic drawings."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import chapter_from_scratch, random_images, synthetic_split

from oneshot_lib.backend import keras, tf
from oneshot_lib.data.omniglot import OmniglotSplit
from oneshot_lib.models import pairs, siamese
from oneshot_lib.models.siamese import Architecture, SiameseScorer
from oneshot_lib.training import trainer
from oneshot_lib.training.config import TrainingConfig

#: 28 -> 26 -> 13 -> 11 -> 5 -> 4 -> 2 -> 1: small enough to train a step in milliseconds.
TINY = Architecture(input_size=28, filters=(2, 3, 3, 4), kernels=(3, 3, 2, 2), dense_units=8)


def spread_weights(model: keras.Model, seed: int = 0) -> None:
    """Large random weights, so that pairs get clearly different probabilities and gradients."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0.0, 0.5, w.shape).astype("float32") for w in model.get_weights()])


@pytest.fixture(scope="module")
def chapter4() -> dict:
    return chapter_from_scratch("04_siamese_cnn.ipynb", {"keras": keras, "tf": tf, "np": np}, 3)


@pytest.fixture(scope="module")
def chapter5() -> dict:
    return chapter_from_scratch("05_training.ipynb", {"keras": keras, "tf": tf, "np": np}, 3)


def tiny_ours(chapter4: dict) -> keras.Model:
    sizes = {"side": TINY.input_size, "filters": TINY.filters, "kernels": TINY.kernels, "units": TINY.dense_units}
    model = chapter4["build_twins"](chapter4["build_tower"](**sizes))
    spread_weights(model)
    return model


def test_the_chapters_network_and_scorer_are_the_librarys(chapter4):
    ours = tiny_ours(chapter4)
    library = siamese.build_siamese(TINY)
    library.set_weights(ours.get_weights())  # raises if the layers or their order differ
    left, right = random_images(6, 1), random_images(6, 2)
    probabilities = ours.predict_on_batch([left.astype(np.float32), right.astype(np.float32)])[:, 0]
    library_scorer = SiameseScorer(library)
    np.testing.assert_allclose(probabilities, library_scorer.pair_probabilities(left, right), atol=1e-6)
    assert probabilities.std() > 1e-3  # the pairs are told apart: the comparison is not vacuous
    query, support = random_images(3, 3), random_images(5, 4)
    scores = chapter4["OurScorer"](ours).scores(query, support)
    assert scores.shape == (3, 5)
    np.testing.assert_allclose(scores, library_scorer.scores(query, support), atol=1e-6)


@pytest.mark.parametrize("seed", [0, 7])
def test_the_chapters_tower_at_its_defaults_is_the_cpu_sibling(chapter4, seed):
    """One seed builds one network: the learner's and the library's, weight for weight and penalty for penalty."""
    ours = chapter4["build_twins"](chapter4["build_tower"](seed=seed), seed=seed)
    library = siamese.build_siamese("cpu", seed=seed)
    assert [w.shape for w in ours.weights] == [w.shape for w in library.weights]
    for mine, theirs in zip(ours.get_weights(), library.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert len(ours.losses) == len(library.losses) == 5  # four convolutions and the dense layer
    np.testing.assert_array_equal([float(x) for x in ours.losses], [float(x) for x in library.losses])
    assert float(sum(ours.losses)) > 1.0  # Koch's dense weights are large: the penalties are not vacuous


def test_the_chapters_penalties_are_the_blogs(chapter4):
    """The L2 factors of the learner's tower are the library's, on the tiny network too."""
    sizes = {"side": TINY.input_size, "filters": TINY.filters, "kernels": TINY.kernels, "units": TINY.dense_units}
    ours = chapter4["build_twins"](chapter4["build_tower"](**sizes, seed=3), seed=3)
    library = siamese.build_siamese(TINY, seed=3)
    np.testing.assert_allclose([float(x) for x in ours.losses], [float(x) for x in library.losses], rtol=1e-6)
    other = siamese.build_siamese(TINY, seed=3, l2_dense=2 * siamese.L2_DENSE)
    assert float(sum(other.losses)) > float(sum(ours.losses))  # the comparison can fail


@pytest.mark.parametrize("seed, step", [(0, 0), (3, 5)])
def test_the_chapters_sampler_draws_the_librarys_batches(chapter5, seed, step):
    data = synthetic_split()
    left, right, same = chapter5["sample_pairs"](data, 16, np.random.default_rng([seed, step]))
    library = pairs.sample_pair_indices(data, 16, rng=np.random.default_rng([seed, step]))
    np.testing.assert_array_equal(left, library.left)
    np.testing.assert_array_equal(right, library.right)
    np.testing.assert_array_equal(same, library.same)
    assert same.sum() == 8 and same.dtype == np.float32
    is_same = same == 1
    assert np.all(left[is_same, 0] == right[is_same, 0]) and np.all(left[is_same, 1] != right[is_same, 1])
    assert np.all(left[~is_same, 0] != right[~is_same, 0])


def test_the_chapters_images_are_the_librarys_stream(chapter5):
    data = synthetic_split()
    left, right, same = chapter5["sample_pairs"](data, 8, np.random.default_rng([4, 2]))
    left_images, right_images = chapter5["pair_images"](data, left, right)
    inputs, targets = next(iter(pairs.pair_dataset(data, 8, seed=4, start_step=2, augment=False)))
    np.testing.assert_array_equal(left_images, inputs["left"])
    np.testing.assert_array_equal(right_images, inputs["right"])
    np.testing.assert_array_equal(same, targets)


def test_the_chapters_loss_is_keras_binary_cross_entropy(chapter5):
    p_same = tf.constant([0.9, 0.2, 0.5, 0.999, 1e-9], tf.float32)
    same = tf.constant([1.0, 0.0, 1.0, 0.0, 1.0], tf.float32)
    ours = float(chapter5["binary_cross_entropy"](p_same, same))
    expected = float(keras.losses.BinaryCrossentropy()(same, p_same))
    assert ours == pytest.approx(expected, rel=1e-5)


def test_one_step_of_the_chapters_loop_is_the_trainers(chapter5):
    """The same weights and batch: the same loss, and the same weights after one Adam step."""
    data = OmniglotSplit(
        random_images(40, 5).reshape(4, 10, 105, 105),
        np.array(["a", "a", "b", "b"]),
        np.array(["c1", "c2", "c1", "c2"]),
        "bars",
    )
    left, right, same = chapter5["sample_pairs"](data, 8, np.random.default_rng(0))
    left_images, right_images = chapter5["pair_images"](data, left, right)
    ours = siamese.build_siamese(TINY, seed=0)
    spread_weights(ours)
    library = trainer.compile_model(siamese.build_siamese(TINY, seed=0), TrainingConfig(seed=0))
    library.set_weights(ours.get_weights())
    library.run_eagerly = True
    before = ours.get_weights()
    expected = library.train_on_batch({"left": left_images, "right": right_images}, same, return_dict=True)["loss"]
    loss = chapter5["train_step"](ours, keras.optimizers.Adam(1e-3), left_images, right_images, same)
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    moved = max(np.abs(a - b).max() for a, b in zip(ours.get_weights(), before, strict=True))
    assert moved > 5e-4  # Adam's first step moves weights by about its learning rate
    for mine, theirs in zip(ours.get_weights(), library.get_weights(), strict=True):
        np.testing.assert_allclose(mine, theirs, atol=0.05 * moved)
