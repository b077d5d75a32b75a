"""What a scorer's image input may be: ``scoring.images.ink_images``, and every kind of scorer reading through it."""

from __future__ import annotations

import numpy as np
import pytest
from test_siamese import TINY

from oneshot_lib.data.lake import LakeRun
from oneshot_lib.models import conv4, finetune, siamese, transfer
from oneshot_lib.models.episodic import MatchingScorer, PrototypicalScorer
from oneshot_lib.scoring import baselines, embedding_cache, evaluate, shifts
from oneshot_lib.scoring.images import ink_images, ink_pair

SIDE = 16


def drawings(n: int, seed: int = 0, size: int = 105) -> np.ndarray:
    """(n, size, size) bool: a few random bars each, so that images differ once shrunk."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, size, size), bool)
    for image in images:
        for top, left, height, width in rng.integers([0, 0, 3, 3], [size - 15, size - 15, 15, 15], size=(3, 4)):
            image[top : top + height, left : left + width] = True
    return images


def as_png_values(ink: np.ndarray) -> np.ndarray:
    """uint8 as an image file holds an ink mask: black ink 0 on white paper 255."""
    return np.where(ink, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------ ink_images, on tiny arrays


def test_bool_and_float_images_are_read_as_they_are():
    ink = np.array([[[True, False], [False, False]]])
    np.testing.assert_array_equal(ink_images(ink), ink)
    assert ink_images(ink).dtype == bool
    grey = np.array([[[0.0, 0.25], [1.0, 0.0]]], np.float32)
    read = ink_images(grey)
    assert read.dtype == np.float32
    np.testing.assert_array_equal(read, grey)


def test_uint8_images_are_read_as_image_files_hold_them():
    pixels = np.array([[[0, 255], [255, 51]]], np.uint8)  # black ink, white paper, light grey
    read = ink_images(pixels)
    assert read.dtype == np.float32
    np.testing.assert_array_equal(read, np.array([[[1.0, 0.0], [0.0, 0.8]]], np.float32))
    mask = drawings(3)
    np.testing.assert_array_equal(ink_images(as_png_values(mask)), mask.astype(np.float32))


def test_empty_stacks_are_images():
    assert ink_images(np.zeros((0, 105, 105), np.uint8)).shape == (0, 105, 105)


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (np.full((1, 2, 2), np.nan), r"NaN or infinite.*float64"),
        (np.array([[[0.0, np.inf], [0.0, 0.0]]]), r"NaN or infinite.*float64"),
        (np.array([[[0.0, 2.0], [0.0, 0.0]]]), r"float64 with values from 0 to 2.*\[0, 1\]"),
        (np.array([[[0.0, -0.5], [0.0, 0.0]]], np.float32), r"float32 with values from -0.5 to 0"),
        (np.zeros((1, 2, 2), np.int64), r"int64.*astype\(bool\)"),
        (np.zeros((1, 2, 2), np.uint16), r"uint16"),
        (np.zeros((2, 2), bool), r"\(n, H, W\).*\(2, 2\).*image\[None\]"),
        (np.zeros((1, 1, 2, 2), bool), r"\(n, H, W\).*\(1, 1, 2, 2\)"),
        (np.full((1, 2, 2), "a"), r"<U1"),
    ],
)
def test_what_cannot_be_read_is_refused_naming_dtype_and_values(images, message):
    with pytest.raises(ValueError, match=message):
        ink_images(images)


@pytest.mark.parametrize(
    ("images", "hint"),
    [
        (~drawings(2), r"bool.*True marks the paper.*~images"),  # np.asarray of a 1-bit PNG: True = white
        (1.0 - drawings(2), r"float images.*paper 1.0.*1 - images"),  # an image file divided by 255
        (255 - as_png_values(drawings(2)), r"uint8.*light ink on dark paper.*255 - images"),  # white on black
        (drawings(2).astype(np.uint8), r"uint8.*0/1 ink masks.*astype\(bool\)"),
    ],
)
def test_inverted_images_are_refused_with_the_fix(images, hint):
    with pytest.raises(ValueError, match=r"image 0 is \d+% ink.*inverted.*" + hint):
        ink_images(images, "support")


def test_query_and_support_of_two_sizes_are_refused():
    with pytest.raises(ValueError, match="query images are 105x105 and support images 52x52"):
        ink_pair(drawings(1), drawings(2, size=52))


# ------------------------------------------------------------------ every kind of scorer


@pytest.fixture(scope="module")
def scorers() -> dict[str, object]:
    embedding = conv4.build_embedding(SIDE, filters=4, blocks=2)
    model = siamese.build_siamese(TINY, seed=0)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0.0, 0.5, w.shape).astype("float32") for w in model.get_weights()])
    prototypical = PrototypicalScorer(embedding, SIDE)
    return {
        "pixel": baselines.PixelNearestNeighbour(),
        "hausdorff": baselines.ModifiedHausdorff(),
        "blog": baselines.BlogNearestNeighbour(),
        "softmax": baselines.SupportSoftmax(steps=3),
        "prototypical": prototypical,
        "matching": MatchingScorer(embedding, SIDE),
        "cosine": transfer.CosineScorer(embedding, SIDE),
        "linear head": finetune.LinearHead(embedding, SIDE, steps=2),
        "fine-tuned": finetune.FineTuned(embedding, SIDE, steps=1),
        "siamese": siamese.SiameseScorer(model),
        "shifts": shifts.average_over_shifts(prototypical, 1),
        "cached": embedding_cache.cache_embeddings(prototypical),
    }


SCORERS = [
    "pixel", "hausdorff", "blog", "softmax", "prototypical", "matching", "cosine", "linear head", "fine-tuned",
    "siamese", "shifts", "cached",
]  # fmt: skip


@pytest.mark.parametrize("name", SCORERS)
def test_image_files_score_exactly_as_the_ink_masks_they_hold(scorers, name):
    """The issue's case: uint8 drawings with paper 255 used to be read as ink, and predicted wrongly."""
    query, support = drawings(3, seed=1), drawings(4, seed=2)
    expected = scorers[name].scores(query, support)
    np.testing.assert_array_equal(scorers[name].scores(as_png_values(query), as_png_values(support)), expected)


@pytest.mark.parametrize("name", SCORERS)
def test_every_scorer_refuses_nan_and_inverted_images(scorers, name):
    query, support = drawings(2, seed=1).astype(float), drawings(3, seed=2)
    query[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        scorers[name].scores(query, support)
    with pytest.raises(ValueError, match="inverted"):
        scorers[name].scores(drawings(2, seed=1), ~support)


@pytest.mark.parametrize("name", SCORERS)
def test_an_empty_query_gives_empty_scores(scorers, name):
    scores = scorers[name].scores(np.zeros((0, 105, 105), bool), drawings(3, seed=2))
    assert np.shape(scores) == (0, 3)


def test_evaluation_reads_images_through_the_contract(split):
    """A plain function scorer is handed what ``ink_images`` reads: the file's uint8 become ink floats."""
    seen = []

    def scorer(query, support):
        seen.append((query.dtype, support.dtype, query.max()))
        return -np.abs(query.sum(axis=(1, 2))[:, None] - support.sum(axis=(1, 2))[None, :])

    run = LakeRun(as_png_values(split.images[:4, 0]), as_png_values(split.images[:4, 1]), np.arange(4))
    evaluate.lake_runs(scorer, [run])
    assert seen == [(np.float32, np.float32, 1.0)]
