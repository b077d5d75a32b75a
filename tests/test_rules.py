"""Class rules: the mean of a class's scores, the nearest drawing, predictions and their ties."""

from __future__ import annotations

import numpy as np
import pytest

from oneshot_lib.scoring import contract, rules


def test_class_scores_average_the_shots():
    scores = np.array([[1.0, 3.0, 10.0, 0.0], [0.0, 0.0, 0.0, 4.0]])
    labels = np.array([0, 0, 1, 1])
    np.testing.assert_array_equal(rules.class_scores(scores, labels, 2), [[2.0, 5.0], [0.0, 2.0]])


def test_ties_are_broken_uniformly():
    rng = np.random.default_rng(0)
    picks = [rules.predict(np.array([[1.0, 1.0, 0.0, 1.0]]), np.arange(4), 4, rng)[0] for _ in range(3000)]
    counts = np.bincount(picks, minlength=4)
    assert counts[2] == 0 and counts[[0, 1, 3]].min() > 900


def test_nan_scores_are_rejected():
    with pytest.raises(ValueError, match="NaN"):
        rules.predict(np.array([[np.nan, 1.0]]), np.arange(2), 2, np.random.default_rng(0))


def test_nearest_class_scores_take_each_class_best_drawing():
    scores = np.array([[1.0, 3.0, 10.0, 0.0], [0.0, -1.0, -2.0, 4.0]])
    labels = np.array([0, 0, 1, 1])
    np.testing.assert_array_equal(rules.nearest_class_scores(scores, labels, 2), [[3.0, 10.0], [0.0, 4.0]])
    one_shot = np.array([[0.5, -0.2, 0.1]])  # one drawing per class: nearest and mean agree
    order = np.array([2, 0, 1])
    np.testing.assert_array_equal(
        rules.nearest_class_scores(one_shot, order, 3), rules.class_scores(one_shot, order, 3)
    )


def test_nearest_class_scores_need_every_class():
    with pytest.raises(ValueError, match=r"classes \[1\] have no support image"):
        rules.nearest_class_scores(np.zeros((1, 2)), np.array([0, 2]), 3)


class _Distances(rules.NearestDrawingRule):
    """Minus the distance between scalar 'images' (each image is one number, shape (n, 1, 1))."""

    def scores(self, query, support):
        return -np.abs(query[:, None, 0, 0] - support[None, :, 0, 0])


def test_the_nearest_drawing_decides_where_the_mean_would_not():
    # One-pixel images of ink 0 to 1 (in 32nds, exact in binary). Class 0: drawings at 0 and 10;
    # class 1: two at 3. A query at 0.5 is nearest to class 0's first drawing (distance 0.5), but
    # class 0's mean distance (5) is larger than class 1's (2.5).
    support = np.array([0.0, 10.0, 3.0, 3.0]).reshape(4, 1, 1) / 32
    labels = np.array([0, 0, 1, 1])
    query = np.array([0.5]).reshape(1, 1, 1) / 32
    scorer = _Distances()
    assert isinstance(scorer, contract.ClassScorer)
    np.testing.assert_array_equal(scorer.class_scores(query, support, labels, 2), [[-0.5 / 32, -2.5 / 32]])
    mean = rules.class_scores(scorer.scores(query, support), labels, 2)
    np.testing.assert_array_equal(mean, [[-5.0 / 32, -2.5 / 32]])


def test_plus_and_minus_infinity_in_one_class_are_named_not_called_nan():
    scores = np.array([[np.inf, -np.inf, 0.0, 1.0]])
    with pytest.raises(ValueError, match=r"query 0's scores for class 0 include both \+inf and -inf"):
        rules.class_scores(scores, np.array([0, 0, 1, 1]), 2)
    one_sign = rules.class_scores(np.array([[-np.inf, -np.inf, 0.0, 1.0]]), np.array([0, 0, 1, 1]), 2)
    np.testing.assert_array_equal(one_sign, [[-np.inf, 0.5]])


@pytest.mark.parametrize(
    ("labels", "n_way", "message"),
    [
        (np.array([0, 1]), 2, r"shape \(3,\)"),
        (np.array([0, 1, -1]), 2, r"\[0, 2\).*-1..1"),
        (np.array([0.0, 1.0, 1.0]), 2, "must be ints"),
        (np.array([0, 1, 1]), 0, "empty"),
    ],
)
def test_class_scores_check_their_labels(labels, n_way, message):
    for rule in (rules.class_scores, rules.nearest_class_scores):
        with pytest.raises(ValueError, match=message):
            rule(np.zeros((2, 3)), labels, n_way)
