"""Test-time augmentation: each image's embedding averaged over small shifts of the drawing.

A network that embeds a drawing sees it at one position; the same character drawn a few pixels
to the left lands on other filters' positions and gives a slightly different embedding. Averaging
the embeddings of a 3x3 grid of shifted copies (by ``-pixels``, 0 and ``+pixels`` in each
direction, at Omniglot's 105x105) smooths that out, at nine times the cost of embedding.

``average_over_shifts(scorer, pixels)`` wraps any ``contract.EmbeddingScorer`` so: the wrapper
embeds by averaging, and compares (and scores classes) exactly as the wrapped scorer does.

A shift rolls the image (``np.roll``): what leaves one edge comes back at the other. That is
harmless for small shifts because Omniglot's drawings sit in wide margins of blank paper: on the
background split, 0.30% of the ink lies within 6 pixels of an edge (at most that much wraps at
the shipped models' 5 and 6 pixels) and 1.3% within 10, but 32% within 26 (a quarter of the
image). Shifts are therefore bounded by ``MAX_SHIFT``. Measured with
``load_omniglot("background").images`` (bool ink, (964, 20, 105, 105)): the share of ink pixels
in the band of width k along the four edges.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

from oneshot_lib.scoring.contract import ClassComparer, EmbeddingScorer, EmbeddingWrapper, WrappedClassRule

#: The largest test-time shift, in pixels at 105x105: within 10 pixels of an edge lies 1.3% of the
#: ink (see above), so even the largest shift wraps little of a drawing round the image.
MAX_SHIFT = 10


def check_shift(pixels, name: str = "pixels") -> None:
    """Raise ValueError, naming ``name``, unless ``pixels`` is a whole number from 0 to ``MAX_SHIFT``."""
    if isinstance(pixels, bool) or not isinstance(pixels, Integral):
        raise ValueError(f"{name} must be a whole number of pixels, got {pixels!r}")
    if pixels < 0:
        raise ValueError(f"{name} must be 0 or more, got {pixels}")
    if pixels > MAX_SHIFT:
        raise ValueError(
            f"{name} must be at most {MAX_SHIFT}, got {pixels}: a shift rolls the image round, and larger "
            "shifts wrap the drawing itself, not just its blank margin"
        )


def shifted_copies(images: np.ndarray, pixels: int) -> list[np.ndarray]:
    """The 9 copies of images (n, H, W) moved by (dy, dx) in {-pixels, 0, pixels}^2.

    A shift is ``np.roll``: what leaves one edge enters at the other. Omniglot's drawings keep
    wide margins of paper, so little ink wraps: within 6 pixels of an edge lie 0.3% of the
    background split's ink, in 10% of its drawings. ``pixels=0`` gives the images alone.
    """
    offsets = (0,) if pixels == 0 else (-pixels, 0, pixels)
    return [np.roll(images, (dy, dx), axis=(-2, -1)) for dy in offsets for dx in offsets]


class ShiftAveraged(EmbeddingWrapper):
    """An embedding scorer whose embeddings are averaged over a 3x3 grid of shifted images."""

    purpose = "test-time shifts"

    def __init__(self, scorer: EmbeddingScorer, pixels: int):
        super().__init__(scorer)
        check_shift(pixels)
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

    Raises TypeError for a scorer without ``embed`` and ``compare``, ValueError for a shift that
    is not a whole number from 0 to ``MAX_SHIFT``.
    """
    check_shift(pixels)
    if pixels == 0:
        return scorer
    if isinstance(scorer, ClassComparer):
        return ShiftAveragedClasses(scorer, pixels)
    return ShiftAveraged(scorer, pixels)
