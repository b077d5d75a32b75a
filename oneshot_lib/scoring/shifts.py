"""Test-time augmentation: each image's embedding averaged over small shifts of the drawing.

A network that embeds a drawing sees it at one position; the same character drawn a few pixels
to the left lands on other filters' positions and gives a slightly different embedding. Averaging
the embeddings of a grid of shifted copies smooths that out: a 3x3 grid moves the drawing by
``-pixels``, 0 and ``+pixels`` in each direction (nine copies), a 5x5 grid by ``-2 pixels`` to
``+2 pixels`` (25 copies), at Omniglot's 105x105, at nine or 25 times the cost of embedding.

``average_over_shifts(scorer, pixels, fill=..., grid=...)`` wraps any ``contract.EmbeddingScorer``
so: the wrapper embeds by averaging, and compares (and scores classes) exactly as the wrapped
scorer does. The 3x3 grid of wrapping shifts is ``ShiftAveraged`` (``shifted_copies``, as the
chapters show it); other grids and fills are its subclass ``GridShiftAveraged``.

How a shift treats the edge is its ``fill`` (``FILLS``):

- ``"wrap"`` (the default, what every supervised reference model scores with) rolls the image
  (``np.roll``): what leaves one edge comes back at the other. That is harmless for small shifts
  because Omniglot's drawings sit in wide margins of blank paper: on the background split, 0.30%
  of the ink lies within 6 pixels of an edge (at most that much wraps at the shipped models' 5 and
  6 pixels) and 1.3% within 10, but 32% within 26 (a quarter of the image). Wrapping shifts are
  therefore bounded by ``MAX_SHIFT``. Measured with ``load_omniglot("background").images`` (bool
  ink, (964, 20, 105, 105)): the share of ink pixels in the band of width k along the four edges.
- ``"paper"`` moves the drawing on a sheet of blank paper: what leaves the frame is lost and
  blank paper enters at the other side, so no ink lands where it was not drawn and larger shifts
  mean something. A shift may go up to (not including) the image's side, beyond which nothing of
  the drawing would stay in the frame.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

from oneshot_lib.scoring.contract import ClassComparer, EmbeddingScorer, EmbeddingWrapper, WrappedClassRule
from oneshot_lib.scoring.images import ink_images

#: The largest offset of a wrapping shift, in pixels at 105x105: within 10 pixels of an edge lies
#: 1.3% of the ink (see above), so even the largest shift wraps little of a drawing round the image.
MAX_SHIFT = 10
#: How a shift treats the edge: roll the image round, or move the drawing on blank paper.
FILLS = ("wrap", "paper")
#: The grids of shifts: 3 (offsets -p, 0, p in each direction) or 5 (-2p, -p, 0, p, 2p).
GRIDS = (3, 5)
#: The side of Omniglot's drawings, in pixels: a paper shift's largest offset must stay below it.
DRAWING_SIDE = 105


def check_shift(pixels, name: str = "pixels", *, fill: str = "wrap", grid: int = 3, side: int = DRAWING_SIDE) -> None:
    """Raise ValueError, naming ``name``, unless ``pixels``, ``fill`` and ``grid`` make a usable grid of shifts.

    ``pixels`` must be a whole number, 0 or more; ``fill`` one of ``FILLS``; ``grid`` one of
    ``GRIDS``. The grid's largest offset (``pixels``, or twice it on a 5x5 grid) must be at most
    ``MAX_SHIFT`` for a wrapping shift (larger ones wrap the drawing itself, not just its blank
    margin) and below ``side`` for a paper shift (else it would move the drawing out of the image).
    """
    if isinstance(pixels, bool) or not isinstance(pixels, Integral):
        raise ValueError(f"{name} must be a whole number of pixels, got {pixels!r}")
    if pixels < 0:
        raise ValueError(f"{name} must be 0 or more, got {pixels}")
    if not isinstance(fill, str) or fill not in FILLS:
        raise ValueError(f"the fill of {name} must be one of {', '.join(map(repr, FILLS))}, got {fill!r}")
    if isinstance(grid, bool) or not isinstance(grid, Integral) or grid not in GRIDS:
        raise ValueError(f"the grid of {name} must be one of {', '.join(map(str, GRIDS))} (3x3 or 5x5), got {grid!r}")
    reach = pixels * (grid // 2)
    times = "" if grid == 3 else f" times {grid // 2} (the {grid}x{grid} grid's largest offset)"
    if fill == "wrap" and reach > MAX_SHIFT:
        limit = MAX_SHIFT // (grid // 2)
        raise ValueError(
            f"{name} must be at most {limit}, got {pixels}{times}: a shift rolls the image round, and larger "
            'shifts wrap the drawing itself, not just its blank margin; fill="paper" moves the drawing on blank '
            "paper instead"
        )
    if fill == "paper" and reach >= side:
        raise ValueError(
            f"{name} must be below {-(-side // (grid // 2))}, got {pixels}{times}: a shift of {reach} pixels "
            f"moves the drawing out of a {side}-pixel image entirely"
        )


def shifted_copies(images: np.ndarray, pixels: int) -> list[np.ndarray]:
    """The 9 copies of images (n, H, W) moved by (dy, dx) in {-pixels, 0, pixels}^2.

    A shift is ``np.roll``: what leaves one edge enters at the other. Omniglot's drawings keep
    wide margins of paper, so little ink wraps: within 6 pixels of an edge lie 0.3% of the
    background split's ink, in 10% of its drawings. ``pixels=0`` gives the images alone.
    """
    offsets = (0,) if pixels == 0 else (-pixels, 0, pixels)
    return [np.roll(images, (dy, dx), axis=(-2, -1)) for dy in offsets for dx in offsets]


def shift_offsets(pixels: int, grid: int = 3) -> tuple[int, ...]:
    """The offsets along each axis: (-p, 0, p) on a 3x3 grid, (-2p, -p, 0, p, 2p) on a 5x5, (0,) if p is 0."""
    return (0,) if pixels == 0 else tuple(k * pixels for k in range(-(grid // 2), grid // 2 + 1))


def grid_shifted_copies(images: np.ndarray, pixels: int, fill: str = "wrap", grid: int = 3) -> list[np.ndarray]:
    """The grid**2 copies of images (n, H, W) moved by (dy, dx), both in ``shift_offsets(pixels, grid)``.

    A copy moved by (dy, dx) holds at row y, column x what the image holds at (y - dy, x - dx).
    With ``fill="wrap"`` a shift is ``np.roll`` (``shifted_copies`` on a 3x3 grid), and the copies
    keep the images' dtype. With ``fill="paper"`` what leaves the frame is lost and blank paper
    enters: the copies are ink as ``images.ink_images`` reads it (bool and float images keep their
    dtype, uint8 becomes float32 ink), paper 0. ``pixels=0`` gives the images alone.

    Raises ValueError as ``check_shift`` does, the side being the images' smaller side.
    """
    images = np.asarray(images)
    check_shift(pixels, fill=fill, grid=grid, side=min(images.shape[-2:], default=0))
    offsets = shift_offsets(pixels, grid)
    if fill == "wrap":
        return [np.roll(images, (dy, dx), axis=(-2, -1)) for dy in offsets for dx in offsets]
    ink = ink_images(images)
    reach, (height, width) = offsets[-1], ink.shape[-2:]
    padded = np.pad(ink, ((0, 0), (reach, reach), (reach, reach)))  # zeros: False or 0.0, paper either way
    return [
        padded[:, reach - dy : reach - dy + height, reach - dx : reach - dx + width] for dy in offsets for dx in offsets
    ]


class ShiftAveraged(EmbeddingWrapper):
    """An embedding scorer whose embeddings are averaged over a 3x3 grid of wrapping shifts (``shifted_copies``)."""

    purpose = "test-time shifts"
    fill, grid = "wrap", 3

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


class GridShiftAveraged(ShiftAveraged):
    """``ShiftAveraged`` over any grid and fill: ``grid_shifted_copies(images, pixels, fill, grid)``."""

    def __init__(self, scorer: EmbeddingScorer, pixels: int, fill: str = "wrap", grid: int = 3):
        EmbeddingWrapper.__init__(self, scorer)
        check_shift(pixels, fill=fill, grid=grid)
        self.pixels, self.fill, self.grid = pixels, fill, grid

    def embed(self, images: np.ndarray) -> np.ndarray:
        """(n, D) mean of the wrapped scorer's embeddings of the grid**2 shifted copies of images (n, 105, 105)."""
        images = np.asarray(images)
        copies = grid_shifted_copies(images, self.pixels, self.fill, self.grid)
        stacked = self.scorer.embed(np.concatenate(copies)) if len(images) else self.scorer.embed(images)
        return stacked.reshape(len(copies), len(images), *stacked.shape[1:]).mean(axis=0)


class GridShiftAveragedClasses(WrappedClassRule, GridShiftAveraged):
    """``GridShiftAveraged`` for a scorer with its own class rule (a ``ClassComparer``, e.g. prototypes)."""


def average_over_shifts(scorer: EmbeddingScorer, pixels: int, fill: str = "wrap", grid: int = 3) -> EmbeddingScorer:
    """``scorer`` with its embeddings averaged over a ``grid`` x ``grid`` grid of shifts by ``pixels``.

    ``fill`` (``FILLS``) says how a shift treats the edge; ``scorer`` itself when ``pixels`` is 0.
    Raises TypeError for a scorer without ``embed`` and ``compare``, ValueError for values
    ``check_shift`` refuses (a shift that is not a whole number of pixels, negative, too large
    for its fill; an unknown fill or grid).
    """
    check_shift(pixels, fill=fill, grid=grid)
    if pixels == 0:
        return scorer
    classes = isinstance(scorer, ClassComparer)
    if (fill, grid) == ("wrap", 3):  # as the chapters teach it, and as every supervised model scores
        return ShiftAveragedClasses(scorer, pixels) if classes else ShiftAveraged(scorer, pixels)
    return (GridShiftAveragedClasses if classes else GridShiftAveraged)(scorer, pixels, fill, grid)


def describe_shifts(scorer) -> str:
    """How ``scorer`` shifts its drawings at test time, for a table: ``"none"``, or e.g. ``"6 px, 5x5, paper"``."""
    if not isinstance(scorer, ShiftAveraged):
        return "none"
    return f"{scorer.pixels} px, {scorer.grid}x{scorer.grid}, {scorer.fill}"
