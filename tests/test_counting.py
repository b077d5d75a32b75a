"""Pair counts: exact values, identities, brute-force enumeration, and the samplers' statistics."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from oneshot_lib.data import counting
from oneshot_lib.data.counting import (
    different_class_pairs,
    expected_distinct_seen,
    pair_counts,
    pair_counts_from_labels,
    pairs_with_distortions,
    same_class_fraction,
    same_class_pairs,
    total_pairs,
)


def brute_force(labels) -> tuple[int, int, int]:
    """(total, same, different) by listing every unordered pair of images."""
    pairs = list(itertools.combinations(labels, 2))
    same = sum(a == b for a, b in pairs)
    return len(pairs), same, len(pairs) - same


def test_omniglot_background_counts():
    """964 characters x 20 drawings, the numbers of the blog's section."""
    assert total_pairs(964, 20) == 185_849_560
    assert same_class_pairs(964, 20) == 183_160
    assert different_class_pairs(964, 20) == 185_666_400
    assert same_class_fraction(964, 20) == Fraction(19, 19_279)


def test_omniglot_evaluation_and_both_splits():
    assert total_pairs(659, 20) == 13_180 * 13_179 // 2 == 86_849_610
    assert same_class_pairs(659, 20) == 125_210
    assert same_class_pairs(964 + 659, 20) == 1_623 * 190 == 308_370


@pytest.mark.parametrize(("n_classes", "drawings"), [(1, 1), (1, 2), (2, 1), (2, 2), (3, 2), (2, 3), (4, 3)])
def test_tiny_cases_match_enumeration(n_classes, drawings):
    labels = np.repeat(np.arange(n_classes), drawings).tolist()
    counts = pair_counts(n_classes, drawings)
    assert (counts.total, counts.same_class, counts.different_class) == brute_force(labels)
    assert counts.total == total_pairs(n_classes, drawings)
    assert counts.same_class == same_class_pairs(n_classes, drawings)
    assert counts.different_class == different_class_pairs(n_classes, drawings)


def test_two_classes_of_two_by_hand():
    """Images a1 a2 b1 b2: 6 pairs, (a1,a2) and (b1,b2) same, the other 4 different."""
    assert pair_counts(2, 2) == counting.PairCounts(total=6, same_class=2, different_class=4)


@pytest.mark.parametrize("n_classes", [0, 1, 2, 7, 30, 964, 10**6])
@pytest.mark.parametrize("drawings", [0, 1, 2, 5, 20, 6_000])
def test_same_plus_different_is_total(n_classes, drawings):
    assert same_class_pairs(n_classes, drawings) + different_class_pairs(n_classes, drawings) == total_pairs(
        n_classes, drawings
    )


@pytest.mark.parametrize(("n_classes", "drawings"), [(1, 2), (2, 1), (10, 6_000), (964, 20), (3, 7)])
def test_fraction_is_drawings_minus_one_over_images_minus_one(n_classes, drawings):
    assert same_class_fraction(n_classes, drawings) == Fraction(drawings - 1, n_classes * drawings - 1)


def test_counts_are_exact_beyond_float_precision():
    n_classes, drawings = 10**9, 10**5  # 10**14 images: C(n, 2) is past 2**53
    n_images = n_classes * drawings
    assert total_pairs(n_classes, drawings) == n_images * (n_images - 1) // 2
    assert isinstance(total_pairs(n_classes, drawings), int)


def test_numpy_integers_are_accepted():
    assert total_pairs(np.int64(964), np.int32(20)) == 185_849_560


@pytest.mark.parametrize("bad", [20.0, "20", None, True])
def test_non_integer_counts_raise_type_error(bad):
    with pytest.raises(TypeError, match="drawings_per_class"):
        total_pairs(964, bad)


def test_negative_counts_raise_value_error():
    with pytest.raises(ValueError, match="n_classes must be at least 0"):
        same_class_pairs(-1, 20)


def test_fraction_without_pairs_raises():
    with pytest.raises(ValueError, match="no pairs"):
        same_class_fraction(1, 1)


def test_counts_from_labels_match_enumeration_with_unequal_classes():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, size=23)
    counts = pair_counts_from_labels(labels)
    assert (counts.total, counts.same_class, counts.different_class) == brute_force(labels.tolist())


def test_counts_from_labels_match_the_formulas():
    labels = np.repeat(np.array([f"character{i}" for i in range(12)]), 7)
    assert pair_counts_from_labels(labels) == pair_counts(12, 7)
    assert pair_counts_from_labels(labels).same_class_fraction == same_class_fraction(12, 7)


def test_counts_from_labels_rejects_2d():
    with pytest.raises(ValueError, match="one label per image"):
        pair_counts_from_labels(np.zeros((3, 4)))


def test_uniform_pairs_are_distinct_and_in_range():
    pairs = counting.sample_uniform_pairs(5, 1_000, rng=0)
    assert pairs.shape == (1_000, 2)
    assert (pairs[:, 0] != pairs[:, 1]).all()
    assert pairs.min() >= 0 and pairs.max() < 5


def test_uniform_pairs_cover_every_unordered_pair_equally():
    n_images, n_pairs = 4, 60_000
    pairs = np.sort(counting.sample_uniform_pairs(n_images, n_pairs, rng=1), axis=1)
    frequency = np.unique(pairs[:, 0] * n_images + pairs[:, 1], return_counts=True)[1] / n_pairs
    assert len(frequency) == math.comb(n_images, 2)
    np.testing.assert_allclose(frequency, 1 / 6, atol=0.01)  # 5 standard errors is 0.008


def test_uniform_pairs_same_class_rate_matches_the_fraction():
    labels = np.repeat(np.arange(10), 4)
    pairs = counting.sample_uniform_pairs(len(labels), 100_000, rng=2)
    rate = np.mean(labels[pairs[:, 0]] == labels[pairs[:, 1]])
    assert rate == pytest.approx(float(same_class_fraction(10, 4)), abs=0.005)  # fraction 3/39


def test_uniform_pairs_are_seeded_and_check_arguments():
    np.testing.assert_array_equal(counting.sample_uniform_pairs(9, 7, rng=3), counting.sample_uniform_pairs(9, 7, 3))
    with pytest.raises(ValueError, match="2 different images"):
        counting.sample_uniform_pairs(1, 5)


def test_expected_distinct_exact_small_cases():
    assert expected_distinct_seen(10, 0) == 0
    assert expected_distinct_seen(10, 1) == pytest.approx(1)
    assert expected_distinct_seen(2, 2) == pytest.approx(1.5)  # both draws equal with probability 1/2
    assert expected_distinct_seen(1, 5) == 1
    assert expected_distinct_seen(183_160, 10**9) == pytest.approx(183_160)


def test_expected_distinct_matches_simulation():
    rng = np.random.default_rng(4)
    pool, draws = 50, 60
    seen = [len(np.unique(rng.integers(pool, size=draws))) for _ in range(4_000)]
    assert np.mean(seen) == pytest.approx(expected_distinct_seen(pool, draws), abs=0.1)


def test_expected_distinct_rejects_an_empty_pool():
    with pytest.raises(ValueError, match="empty pool"):
        expected_distinct_seen(0, 3)


def test_kochs_distortions():
    assert pairs_with_distortions(150_000, 8) == 1_350_000
    assert pairs_with_distortions(30_000, 0) == 30_000
