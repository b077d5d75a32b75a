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

from .evaluate import ClassComparer, EmbeddingScorer


def shifted_copies(images: np.ndarray, pixels: int) -> list[np.ndarray]:
    """The 9 copies of images (n, H, W) moved by (dy, dx) in {-pixels, 0, pixels}^2.

    A shift is ``np.roll``: what leaves one edge enters at the other, which on Omniglot's
    margins of blank paper moves only paper. ``pixels=0`` gives the images alone.
    """
    offsets = (0,) if pixels == 0 else (-pixels, 0, pixels)
    return [np.roll(images, (dy, dx), axis=(-2, -1)) for dy in offsets for dx in offsets]


class ShiftAveraged:
    """An embedding scorer whose embeddings are averaged over a 3x3 grid of shifted images."""

    def __init__(self, scorer: EmbeddingScorer, pixels: int):
        if not isinstance(scorer, EmbeddingScorer):
            raise TypeError(
                f"test-time shifts need a scorer that embeds each image on its own (embed and "
                f"compare); {type(scorer).__name__} has no such methods"
            )
        if pixels < 0:
            raise ValueError(f"pixels must be 0 or more, got {pixels}")
        self.scorer = scorer
        self.pixels = pixels
        self.name = getattr(scorer, "name", type(scorer).__name__)

    def __getattr__(self, name: str):
        # Everything else (the network, its layers, ``pair_probabilities``...) is the wrapped
        # scorer's; a class rule is not, since it would embed without the shifts.
        if name in ("class_scores", "compare_classes") or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.__dict__["scorer"], name)

    def embed(self, images: np.ndarray) -> np.ndarray:
        """(n, D) mean of the wrapped scorer's embeddings of the shifted copies of images (n, 105, 105)."""
        images = np.asarray(images)
        copies = shifted_copies(images, self.pixels)
        stacked = self.scorer.embed(np.concatenate(copies)) if len(images) else self.scorer.embed(images)
        return stacked.reshape(len(copies), len(images), *stacked.shape[1:]).mean(axis=0)

    def compare(self, query: np.ndarray, support: np.ndarray) -> np.ndarray:
        """(Q, S) the wrapped scorer's comparison of query (Q, D) and support (S, D) embeddings."""
        return self.scorer.compare(query, support)

    def scores(self, query: np.ndarray, support: np.ndarray) -> np.ndarray:
        """(Q, S) scores of raw query (Q, 105, 105) against support (S, 105, 105) images."""
        return self.compare(self.embed(query), self.embed(support))


class ShiftAveragedClasses(ShiftAveraged):
    """``ShiftAveraged`` for a scorer with its own class rule (a ``ClassComparer``, e.g. prototypes)."""

    def compare_classes(
        self, query: np.ndarray, support: np.ndarray, support_labels: np.ndarray, n_way: int
    ) -> np.ndarray:
        """(Q, n_way) the wrapped scorer's class scores from embeddings."""
        return self.scorer.compare_classes(query, support, support_labels, n_way)

    def class_scores(
        self, query: np.ndarray, support: np.ndarray, support_labels: np.ndarray, n_way: int
    ) -> np.ndarray:
        """(Q, n_way) class scores from raw images, embedded with shifts."""
        return self.compare_classes(self.embed(query), self.embed(support), support_labels, n_way)


def average_over_shifts(scorer: EmbeddingScorer, pixels: int) -> EmbeddingScorer:
    """``scorer`` with its embeddings averaged over shifts by ``pixels`` (itself when ``pixels`` is 0).

    Raises TypeError for a scorer without ``embed`` and ``compare``, ValueError for pixels < 0.
    """
    if pixels == 0:
        return scorer
    if isinstance(scorer, ClassComparer):
        return ShiftAveragedClasses(scorer, pixels)
    return ShiftAveraged(scorer, pixels)
