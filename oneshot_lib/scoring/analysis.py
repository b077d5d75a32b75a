"""Measures of embeddings that figures and chapters read: principal axes, distances within and between classes."""

from __future__ import annotations

import numpy as np


def pca_projection(embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (n, 2) projection of (n, D) embeddings on their first two principal axes, and the share of
    variance each axis holds (2,).

    Principal component analysis by numpy's SVD of the centred embeddings. Each axis's sign is
    fixed (its largest loading is positive), so one input gives one picture.
    Raises ValueError for fewer than 3 embeddings or fewer than 2 dimensions.
    """
    embeddings = np.asarray(embeddings, dtype=np.float64)
    if embeddings.ndim != 2 or len(embeddings) < 3 or embeddings.shape[1] < 2:
        raise ValueError(f"need (n >= 3, D >= 2) embeddings, got shape {embeddings.shape}")
    centred = embeddings - embeddings.mean(axis=0)
    _, singular, axes = np.linalg.svd(centred, full_matrices=False)
    axes = axes[:2]
    axes = axes * np.sign(axes[np.arange(2), np.abs(axes).argmax(axis=1)])[:, None]
    variance = singular**2
    return centred @ axes.T, variance[:2] / variance.sum()


def within_between_distances(embeddings: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Mean Euclidean distance between embeddings (n, D) of one label, and between different labels.

    Pairs of two different items only. A learnt metric brings the first down relative to the second.
    Raises ValueError unless some label has two items and there are two labels.
    """
    embeddings = np.asarray(embeddings, dtype=np.float64)
    labels = np.asarray(labels)
    squared = (embeddings**2).sum(axis=1)
    distances = np.sqrt(np.maximum(squared[:, None] + squared[None] - 2 * embeddings @ embeddings.T, 0.0))
    same = labels[:, None] == labels[None]
    other = ~np.eye(len(labels), dtype=bool)
    if not (same & other).any() or same.all():
        raise ValueError("need two items of one label and two different labels")
    return float(distances[same & other].mean()), float(distances[~same].mean())
