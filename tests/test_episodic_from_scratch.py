"""Chapter 7's from-scratch code (its cells tagged ``from-scratch``) against the library's version.

The chapter has the learner write the episode sampler, the prototypical loss, the matching
network's class probabilities and the training step; these tests run those cells and pin that
they compute what ``oneshot_lib.models.episodic`` computes, on the same weights and episode.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import chapter_from_scratch

from oneshot_lib.backend import keras, tf
from oneshot_lib.models import conv4, episodic

SIZE, FILTERS, BLOCKS = 16, 4, 2  # a tiny Conv-4: 16x16 drawings, two blocks of four filters


@pytest.fixture(scope="module")
def chapter() -> dict:
    return chapter_from_scratch("07_matching_and_prototypical_networks.ipynb", {"tf": tf, "np": np}, 4)


def tiny_images(n_characters=6, n_drawings=5, seed=0) -> np.ndarray:
    """(characters, drawings, SIZE, SIZE, 1) float32 in [0, 1], each character its own pattern."""
    rng = np.random.default_rng(seed)
    return rng.random((n_characters, n_drawings, SIZE, SIZE, 1)).astype("float32")


def library_twins(seed=0) -> tuple[keras.Model, episodic.EpisodicNetwork]:
    """A tiny Conv-4 and the library's prototypical network holding the same weights."""
    library = episodic.build_episodic("prototypical", image_size=SIZE, filters=FILTERS, blocks=BLOCKS, seed=seed)
    ours = conv4.build_embedding(SIZE, FILTERS, BLOCKS)
    ours.set_weights(library.embedding.get_weights())
    return ours, library


# ------------------------------------------------------------------ the sampler


def test_the_chapters_episodes_hold_n_characters_with_their_own_drawings(chapter):
    images = tiny_images()
    # every drawing of character c holds the value c, so each image says where it came from
    marked = np.broadcast_to(np.arange(6.0)[:, None, None, None, None], images.shape).astype("float32")
    support, support_labels, query, query_labels = chapter["sample_episode"](marked, 3, 2, 2, np.random.default_rng(1))
    assert support.shape == (6, SIZE, SIZE, 1) and query.shape == (6, SIZE, SIZE, 1)
    np.testing.assert_array_equal(support_labels, [0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(query_labels, [0, 0, 1, 1, 2, 2])
    support_characters, query_characters = support[:, 0, 0, 0], query[:, 0, 0, 0]
    assert len(set(support_characters)) == 3  # three different characters
    for label in range(3):  # a class's support and queries are one character
        assert len(set(support_characters[support_labels == label])) == 1
        np.testing.assert_array_equal(
            query_characters[query_labels == label], support_characters[support_labels == label]
        )


def test_the_chapters_episodes_never_repeat_a_drawing_and_follow_the_seed(chapter):
    images = tiny_images()
    first = chapter["sample_episode"](images, 3, 2, 3, np.random.default_rng(4))
    again = chapter["sample_episode"](images, 3, 2, 3, np.random.default_rng(4))
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    support, support_labels, query, query_labels = first
    for label in range(3):  # 2 + 3 drawings of a 5-drawing character: all different
        drawings = np.concatenate([support[support_labels == label], query[query_labels == label]])
        assert len({drawing.tobytes() for drawing in drawings}) == 5
    other = chapter["sample_episode"](images, 3, 2, 3, np.random.default_rng(5))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


# ------------------------------------------------------------------ the losses


def test_the_chapters_prototypical_logits_are_the_librarys(chapter):
    rng = np.random.default_rng(2)
    support, query = rng.normal(size=(6, 5)).astype("float32"), rng.normal(size=(4, 5)).astype("float32")
    labels = np.array([2, 0, 1, 0, 2, 1])
    ours = chapter["prototypical_logits"](query, support, labels, 3)
    np.testing.assert_allclose(ours, episodic.prototypical_logits(query, support, labels, 3), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("scale", [1.0, 10.0])
def test_the_chapters_matching_probabilities_are_the_librarys(chapter, scale):
    rng = np.random.default_rng(3)
    support, query = rng.random((6, 5)).astype("float32"), rng.random((4, 5)).astype("float32")
    labels = np.array([1, 0, 2, 2, 0, 1])
    ours = chapter["matching_probabilities"](query, support, labels, 3, scale)
    library = np.exp(episodic.matching_log_probabilities(episodic.matching_attention(query, support, scale), labels, 3))
    np.testing.assert_allclose(ours, library, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.sum(ours, axis=1), 1.0, rtol=1e-5)


def test_the_chapters_loss_and_gradients_are_the_librarys(chapter):
    ours, library = library_twins()
    episode = chapter["sample_episode"](tiny_images(), 3, 2, 2, np.random.default_rng(0))
    with tf.GradientTape() as tape:
        our_loss = chapter["prototypical_loss"](ours, episode, 3)
    our_gradients = tape.gradient(our_loss, ours.trainable_weights)
    with tf.GradientTape() as tape:
        logits = library({"support": episode[0], "support_labels": episode[1], "query": episode[2]}, training=True)
        library_loss = episodic.episode_loss()(episode[3], logits)
    library_gradients = tape.gradient(library_loss, library.trainable_weights)
    np.testing.assert_allclose(float(our_loss), float(library_loss), rtol=1e-5)
    assert len(our_gradients) == len(library_gradients)
    # Relative to the largest entry: a convolution's bias before batch normalisation has a true
    # gradient of zero, so its computed one is rounding alone, and differs between the two.
    scale = max(float(np.abs(theirs).max()) for theirs in library_gradients)
    for mine, theirs in zip(our_gradients, library_gradients, strict=True):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-4, atol=1e-5 * scale)


def test_the_chapters_training_step_moves_the_weights_as_keras_does(chapter):
    """One step by the chapter's code and one by ``model.fit``'s step leave the same weights.

    With plain gradient descent: Adam would scale the rounding noise in the gradient of a bias
    before batch normalisation (truly zero) up to a full step, of either sign.
    """
    ours, library = library_twins(seed=1)
    episode = chapter["sample_episode"](tiny_images(), 3, 1, 2, np.random.default_rng(0))
    loss = chapter["training_step"](ours, keras.optimizers.SGD(0.1), episode, 3)
    library.compile(optimizer=keras.optimizers.SGD(0.1), loss=episodic.episode_loss())
    library_loss = library.train_on_batch(
        {"support": episode[0], "support_labels": episode[1], "query": episode[2]}, episode[3]
    )
    np.testing.assert_allclose(float(loss), float(library_loss), rtol=1e-5)
    before = library_twins(seed=1)[0].get_weights()
    moved = False
    for mine, theirs, start in zip(ours.get_weights(), library.embedding.get_weights(), before, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-6)
        moved |= not np.allclose(mine, start)
    assert moved, "the step left every weight where it was"
