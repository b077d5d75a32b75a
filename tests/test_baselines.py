"""Baselines: exact distances against brute force, and the Modified Hausdorff properties."""

from __future__ import annotations

import os

import numpy as np
import pytest

from oneshot_lib.data.lake import load_lake_runs
from oneshot_lib.scoring import baselines, contract, evaluate


def test_pixel_nearest_neighbour_is_minus_l2(split):
    query, support = split.images[:3, 0], split.images[3:7, 1]
    expected = -np.array([[np.linalg.norm(q.astype(float) - s) for s in support] for q in query])
    np.testing.assert_allclose(baselines.PixelNearestNeighbour().scores(query, support), expected, atol=1e-9)


def brute_force_mhd(a, b):
    distances = np.array([[np.hypot(*(p - q)) for q in b] for p in a])
    return max(distances.min(1).mean(), distances.min(0).mean())


def test_modified_hausdorff_matches_brute_force():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(7, 2)), rng.normal(size=(4, 2))
    assert baselines.modified_hausdorff_distance(a, b) == pytest.approx(brute_force_mhd(a, b))
    assert baselines.modified_hausdorff_distance(b, a) == pytest.approx(brute_force_mhd(a, b))


def test_modified_hausdorff_scorer(split):
    images = np.zeros((4, 105, 105), dtype=bool)
    images[:, 20:80, 20:80] = split.images[:4, 0, 20:80, 20:80]
    shifted = np.roll(images, 3, axis=2)  # the points are centred, so a shift costs nothing
    scores = baselines.ModifiedHausdorff().scores(shifted, images)
    np.testing.assert_allclose(np.diag(scores), 0.0, atol=1e-9)
    expected = -brute_force_mhd(baselines.ink_points(images[0]), baselines.ink_points(images[1]))
    assert scores[0, 1] == pytest.approx(expected)


def test_empty_image_is_rejected(split):
    blank = np.zeros((1, 105, 105), dtype=bool)
    with pytest.raises(ValueError, match="no ink"):
        baselines.ModifiedHausdorff().scores(blank, split.images[:2, 0])


def test_blog_formula_wraps_around_like_uint8():
    ink = np.zeros((1, 2, 2), dtype=bool)
    ink[0, 0, 0] = True  # as 8-bit pixels: one 0 (ink), three 255 (paper)
    paper = np.zeros((1, 2, 2), dtype=bool)
    blog = baselines.BlogNearestNeighbour()
    # In uint8, 255**2 = 65025 = 1 (mod 256). Ink vs paper: 0 - 1 = 255; paper vs ink: 1 - 0 = 1.
    assert blog.scores(ink, paper)[0, 0] == pytest.approx(-np.sqrt(255))
    assert blog.scores(paper, ink)[0, 0] == -1.0  # not even symmetric: no distance
    assert blog.scores(ink, ink)[0, 0] == 0.0


def test_random_scorer_is_seeded():
    a = baselines.RandomScorer(3).scores(np.zeros((2, 5, 5)), np.zeros((4, 5, 5)))
    b = baselines.RandomScorer(3).scores(np.zeros((2, 5, 5)), np.zeros((4, 5, 5)))
    assert a.shape == (2, 4)
    np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(not os.environ.get("OMNIGLOT_DIR"), reason="needs the real Omniglot (set OMNIGLOT_DIR)")
def test_modified_hausdorff_reproduces_lakes_demo():
    """Lake's official demo_classification.py reports 38.8% error on the 20 runs."""
    accuracy = evaluate.lake_runs(baselines.ModifiedHausdorff(), load_lake_runs())
    assert round(accuracy.mean, 3) == 0.612


def test_support_softmax_memorises_one_drawing_per_class(split):
    support = split.images[:5, 0]
    labels = np.array([3, 0, 4, 1, 2])
    softmax = baselines.SupportSoftmax(steps=20)
    assert softmax.support_accuracy(support, labels, 5) == 1.0
    weights, bias = softmax.fit(support, labels, 5)
    assert weights.shape == (105 * 105, 5) and bias.shape == (5,)
    logits = softmax.class_scores(support, support, labels, 5)
    np.testing.assert_array_equal(np.argmax(logits, axis=1), labels)


def test_support_softmax_is_one_gradient_step_by_hand():
    """From zero weights, every class has probability 1/n; one step moves along x^T (p - y) / n."""
    support = np.zeros((2, 105, 105))
    support[0, 0, 0] = support[1, 0, 1] = 1.0
    weights, bias = baselines.SupportSoftmax(steps=1, learning_rate=2.0).fit(support, np.array([0, 1]), 2)
    # p - y = [[0.5 - 1, 0.5], [0.5, 0.5 - 1]], divided by 2 samples, times -learning rate 2.
    assert weights[0, 0] == 0.5 and weights[0, 1] == -0.5 and weights[1, 0] == -0.5 and weights[1, 1] == 0.5
    assert not weights[2:].any() and np.array_equal(bias, [0.0, 0.0])


def test_support_softmax_scores_each_support_image_as_a_class(split):
    softmax = baselines.SupportSoftmax(steps=5)
    query, support = split.images[:2, 1], split.images[:3, 0]
    np.testing.assert_array_equal(softmax.scores(query, support), softmax.class_scores(query, support, np.arange(3), 3))
    assert isinstance(softmax, contract.ClassScorer)


@pytest.mark.parametrize("arguments", [{"steps": 0}, {"learning_rate": 0.0}])
def test_support_softmax_refuses_a_fit_that_cannot_learn(arguments):
    with pytest.raises(ValueError, match="steps must be at least 1|learning_rate must be a finite number > 0"):
        baselines.SupportSoftmax(**arguments)


def test_support_softmax_checks_labels(split):
    with pytest.raises(ValueError, match=r"in \[0, 2\)"):
        baselines.SupportSoftmax().fit(split.images[:2, 0], np.array([0, 2]), 2)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"steps": 2.5}, TypeError, "steps must be an int"),
        ({"steps": 0}, ValueError, "steps must be at least 1"),
        ({"learning_rate": float("inf")}, ValueError, "learning_rate must be a finite number > 0, got inf"),
        ({"learning_rate": float("nan")}, ValueError, "learning_rate must be a finite number > 0, got nan"),
    ],
)
def test_support_softmax_settings_are_checked(arguments, error, message):
    with pytest.raises(error, match=message):
        baselines.SupportSoftmax(**arguments)


def test_support_softmax_refuses_an_empty_support_set(split):
    with pytest.raises(ValueError, match="the support set is empty"):
        baselines.SupportSoftmax().scores(split.images[:2, 0], split.images[:0, 0])
