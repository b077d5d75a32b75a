"""Measures of embeddings: principal axes and distances within and between classes, on hand-made points."""

from __future__ import annotations

import numpy as np
import pytest

from oneshot_lib.scoring import analysis


def test_pca_projection_finds_the_axes_of_largest_spread():
    rng = np.random.default_rng(0)
    raw = rng.normal(size=(200, 3))
    orthogonal = np.linalg.qr(raw - raw.mean(0))[0]  # centred columns at right angles: the exact axes
    coordinates = orthogonal * [5.0, 2.0, 0.1]
    rotation = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    points, shares = analysis.pca_projection(coordinates @ rotation.T + 7.0)
    np.testing.assert_allclose(np.abs(points), np.abs(coordinates[:, :2]), atol=1e-9)
    np.testing.assert_allclose(shares, np.array([25.0, 4.0]) / 29.01)
    # Each axis's sign is fixed by its loadings, not by the data: negated data give negated points.
    again, _ = analysis.pca_projection(-(coordinates @ rotation.T))
    np.testing.assert_allclose(again, -points, atol=1e-9)
    with pytest.raises(ValueError, match="n >= 3"):
        analysis.pca_projection(np.zeros((2, 4)))


def test_within_between_distances_on_a_hand_made_example():
    embeddings = np.array([[0.0, 0.0], [0.0, 1.0], [3.0, 0.0], [3.0, 1.0]])
    within, between = analysis.within_between_distances(embeddings, np.array([0, 0, 1, 1]))
    assert within == 1.0
    assert between == pytest.approx((3 + np.sqrt(10)) / 2)  # 3, sqrt(10), sqrt(10), 3
    with pytest.raises(ValueError, match="two different labels"):
        analysis.within_between_distances(embeddings, np.zeros(4, dtype=int))
