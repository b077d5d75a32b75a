"""Test-time augmentation: each image's embedding averaged over small shifts of the drawing.

A network that embeds a drawing sees it at one position; the same character drawn a few pixels
to the left lands on other filters' positions and gives a slightly different embedding. Averaging
the embeddings of a 3x3 grid of shifted copies (by ``-pixels``, 0 and ``+pixels`` in each
direction, at Omniglot's 105x105) smooths that out, at nine times the cost of embedding.

``average_over_shifts(scorer, pixels)`` wraps any ``evaluate.EmbeddingScorer`` so: the wrapper
embeds by averaging, and compares (and scores classes) exactly as the wrapped scorer does.
"""

from __future__ import annotations

import numpy as np

from .evaluate import ClassComparer, EmbeddingScorer, EmbeddingWrapper, WrappedClassRule


def shifted_copies(images: np.ndarray, pixels: int) -> list[np.ndarray]:
    """The 9 copies of images (n, H, W) moved by (dy, dx) in {-pixels, 0, pixels}^2.

    A shift is ``np.roll``: what leaves one edge enters at the other, which on Omniglot's
    margins of blank paper moves only paper. ``pixels=0`` gives the images alone.
    """
    offsets = (0,) if pixels == 0 else (-pixels, 0, pixels)
    return [np.roll(images, (dy, dx), axis=(-2, -1)) for dy in offsets for dx in offsets]


class ShiftAveraged(EmbeddingWrapper):
    """An embedding scorer whose embeddings are averaged over a 3x3 grid of shifted images."""

    purpose = "test-time shifts"

    def __init__(self, scorer: EmbeddingScorer, pixels: int):
        super().__init__(scorer)
        if pixels < 0:
            raise ValueError(f"pixels must be 0 or more, got {pixels}")
        self.pixels = pixels

    def embed(self, images: np.ndarray) -> np.ndarray:
        """(n, D) mean of the wrapped scorer's embeddings of the shifted copies of images (n, 105, 105)."""
        images = np.asarray(images)
        copies = shifted_copies(images, self.pixels)
        stacked = self.scorer.embed(np.concatenate(copies)) if len(images) else self.scorer.embed(images)
        return stacked.reshape(len(copies), len(images), *stacked.shape[1:]).mean(axis=0)


class ShiftAveragedClasses(WrappedClassRule, ShiftAveraged):
    """``ShiftAveraged`` for a scorer with its own class rule (a ``ClassComparer``, e.g. prototypes)."""


def average_over_shifts(scorer: EmbeddingScorer, pixels: int) -> EmbeddingScorer:
    """``scorer`` with its embeddings averaged over shifts by ``pixels`` (itself when ``pixels`` is 0).

    Raises TypeError for a scorer without ``embed`` and ``compare``, ValueError for pixels < 0.
    """
    if pixels == 0:
        return scorer
    if isinstance(scorer, ClassComparer):
        return ShiftAveragedClasses(scorer, pixels)
    return ShiftAveraged(scorer, pixels)
