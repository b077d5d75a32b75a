"""The self-supervised chapter's from-scratch code (its cells tagged ``from-scratch``) against the library.

The chapter has the learner write the rotation batch, its head and loss, the two views of
contrastive learning, NT-Xent and the training step; these tests run those cells and pin that
they compute what ``oneshot_lib.models.selfsupervised`` computes, on the same weights and batch.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import chapter_from_scratch

from oneshot_lib.backend import keras, tf
from oneshot_lib.data import augment
from oneshot_lib.models import conv4, episodic, selfsupervised

#: The chapter that holds the code (one place to change when chapters are renumbered).
CHAPTER = "11_self_supervised_pretraining.ipynb"
SIZE = 16  # tiny drawings; the chapter's head reads a 64-number embedding, so 64 filters and
FILTERS, BLOCKS = 64, 4  # four blocks leave 64 numbers at 16x16 (16 -> 8 -> 4 -> 2 -> 1)


@pytest.fixture(scope="module")
def chapter() -> dict:
    return chapter_from_scratch(CHAPTER, {"tf": tf, "np": np, "keras": keras, "augment": augment}, 3)


def tiny_drawings(n=6, seed=0) -> np.ndarray:
    """(n, SIZE, SIZE, 1) float32 in [0, 1], no two alike and none symmetric under a turn."""
    return np.random.default_rng(seed).random((n, SIZE, SIZE, 1)).astype("float32")


def twins(method: str, chapter: dict, seed=0) -> tuple[keras.Model, keras.Model, selfsupervised.SelfSupervisedNetwork]:
    """The chapter's (embedding, head) and the library's network of ``method`` holding the same weights."""
    library = selfsupervised.build_selfsupervised(method, image_size=SIZE, filters=FILTERS, blocks=BLOCKS, seed=seed)
    embedding = conv4.build_embedding(SIZE, FILTERS, BLOCKS)
    head = chapter["new_head"](selfsupervised.TURNS if method == "rotation" else selfsupervised.HEAD_UNITS)
    embedding.set_weights(library.embedding.get_weights())
    head.set_weights((library.head if method == "rotation" else library.projection).get_weights())
    return embedding, head, library


# ------------------------------------------------------------------ rotation prediction


def test_the_chapters_rotation_batch_is_the_librarys_exactly(chapter):
    drawings = tiny_drawings()
    turned, turns = chapter["quarter_turns"](drawings)
    library_turned, library_turns = selfsupervised.quarter_turned(drawings)
    np.testing.assert_array_equal(turned.numpy(), library_turned.numpy())
    np.testing.assert_array_equal(turns.numpy(), library_turns.numpy())
    np.testing.assert_array_equal(turns.numpy(), np.repeat(np.arange(4), 6))
    # turn 1 is a quarter turn anticlockwise, as numpy's rot90 turns a drawing
    np.testing.assert_array_equal(turned.numpy()[6:12, ..., 0], np.rot90(drawings[..., 0], 1, axes=(1, 2)))


def test_the_chapters_head_has_the_librarys_shapes(chapter):
    library = selfsupervised.build_selfsupervised("rotation", image_size=SIZE, filters=FILTERS, blocks=BLOCKS)
    ours = chapter["new_head"](selfsupervised.TURNS)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in library.head.get_weights()]


def test_the_chapters_rotation_loss_is_the_librarys(chapter):
    embedding, head, library = twins("rotation", chapter)
    drawings = tiny_drawings(seed=1)
    ours = chapter["rotation_loss"](embedding, head, drawings)
    images, turns = selfsupervised.quarter_turned(drawings)
    theirs = episodic.episode_loss()(turns, library(images, training=True))
    np.testing.assert_allclose(float(ours), float(theirs), rtol=1e-6)


# ------------------------------------------------------------------ contrastive learning


@pytest.mark.parametrize("temperature", [0.1, 0.5, 1.0])
def test_the_chapters_nt_xent_is_the_librarys(chapter, temperature):
    rng = np.random.default_rng(2)
    first, second = rng.normal(size=(2, 5, 8)).astype("float32")
    ours = chapter["nt_xent"](np.concatenate([first, second]), temperature)
    theirs = selfsupervised.nt_xent_loss(first, second, temperature)
    np.testing.assert_allclose(float(ours), float(theirs), rtol=1e-6)
    # the views swapped: the same loss
    swapped = chapter["nt_xent"](np.concatenate([second, first]), temperature)
    np.testing.assert_allclose(float(swapped), float(ours), rtol=1e-6)


def test_the_chapters_nt_xent_rewards_partners_that_agree(chapter):
    first = np.eye(4, dtype="float32")
    assert float(chapter["nt_xent"](np.concatenate([first, first]), 0.1)) < 1e-3
    shuffled = first[[1, 2, 3, 0]]
    assert float(chapter["nt_xent"](np.concatenate([first, shuffled]), 0.1)) > 5


def test_the_chapters_views_are_two_seeded_distortions_of_each_drawing(chapter):
    drawings = tiny_drawings(4, seed=3)
    views = chapter["two_views"](drawings, (0, 7)).numpy()
    assert views.shape == (8, SIZE, SIZE, 1)
    np.testing.assert_array_equal(views, chapter["two_views"](drawings, (0, 7)).numpy())
    expected = augment.distort(np.concatenate([drawings, drawings]), (0, 7), chapter["DISTORTIONS"])
    np.testing.assert_array_equal(views, expected.numpy())
    assert not np.allclose(views[:4], views[4:])  # the two views of a drawing differ
    assert not np.allclose(views, chapter["two_views"](drawings, (0, 8)).numpy())


def test_the_chapters_contrastive_loss_is_the_librarys(chapter):
    embedding, head, library = twins("contrastive", chapter, seed=1)
    views = chapter["two_views"](tiny_drawings(seed=4), (0, 1))
    ours = chapter["contrastive_loss"](embedding, head, views)
    logits = library(views, training=True)
    theirs = episodic.episode_loss()(selfsupervised.positive_indices(6), logits)
    np.testing.assert_allclose(float(ours), float(theirs), rtol=1e-5)


@pytest.mark.parametrize("method", ["rotation", "contrastive"])
def test_the_chapters_training_step_moves_the_weights_as_keras_does(chapter, method):
    """One step by the chapter's code and one by ``model.fit``'s step give the same loss and weights.

    With plain gradient descent: Adam would scale the rounding noise in the gradient of a bias
    before batch normalisation (truly zero) up to a full step, of either sign.
    """
    embedding, head, library = twins(method, chapter, seed=2)
    drawings = tiny_drawings(seed=5)
    if method == "rotation":
        batch, pretext_loss = drawings, chapter["rotation_loss"]
        inputs, targets = selfsupervised.quarter_turned(drawings)
    else:
        batch, pretext_loss = chapter["two_views"](drawings, (0, 2)), chapter["contrastive_loss"]
        inputs, targets = batch, selfsupervised.positive_indices(6)
    before = embedding.get_weights() + head.get_weights()
    loss = chapter["training_step"](embedding, head, keras.optimizers.SGD(0.1), pretext_loss, batch)
    library.compile(optimizer=keras.optimizers.SGD(0.1), loss=episodic.episode_loss())
    library_loss = library.train_on_batch(inputs, targets)
    np.testing.assert_allclose(float(loss), float(library_loss), rtol=1e-5)
    library_head = library.head if method == "rotation" else library.projection
    after = library.embedding.get_weights() + library_head.get_weights()
    moved = False
    for mine, theirs, start in zip(embedding.get_weights() + head.get_weights(), after, before, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-6)
        moved |= not np.allclose(mine, start)
    assert moved, "the step left every weight where it was"
