"""How many pairs of drawings a dataset holds: exact counts, and what a training run can see.

A dataset of ``n_classes`` classes with ``drawings_per_class`` drawings each holds
``n_classes * drawings_per_class`` images. An *unordered pair* is two different images, in
no order. A pair is *same-class* when both images show the same class (character), and
*different-class* otherwise, so every pair is exactly one of the two:

    total_pairs = same_class_pairs + different_class_pairs

All counts are exact Python integers (``math.comb``), however large. The names spell out
"classes" and "drawings per class" because the blog this course started from writes the
same formulas with letters (C, E) whose meaning changes between paragraphs.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from fractions import Fraction

import numpy as np


def _count(value, name: str) -> int:
    """``value`` as a non-negative int; TypeError or ValueError that names it otherwise."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer count, not a bool ({value!r})")
    try:
        count = operator.index(value)
    except TypeError:
        raise TypeError(
            f"{name} must be an integer count (int or numpy integer), got {type(value).__name__} {value!r}"
        ) from None
    if count < 0:
        raise ValueError(f"{name} must be at least 0, got {count}")
    return count


def total_pairs(n_classes: int, drawings_per_class: int) -> int:
    """Unordered pairs of two different images: C(n_classes * drawings_per_class, 2).

    Raises TypeError for a non-integer argument and ValueError for a negative one.
    """
    n_images = _count(n_classes, "n_classes") * _count(drawings_per_class, "drawings_per_class")
    return math.comb(n_images, 2)


def same_class_pairs(n_classes: int, drawings_per_class: int) -> int:
    """Unordered pairs of two different drawings of one class: n_classes * C(drawings_per_class, 2).

    Raises TypeError for a non-integer argument and ValueError for a negative one.
    """
    return _count(n_classes, "n_classes") * math.comb(_count(drawings_per_class, "drawings_per_class"), 2)


def different_class_pairs(n_classes: int, drawings_per_class: int) -> int:
    """Unordered pairs of drawings of two different classes: C(n_classes, 2) * drawings_per_class**2.

    Counted directly (choose two classes, then one drawing of each), not as a difference, so
    ``same_class_pairs + different_class_pairs == total_pairs`` is a real check.
    Raises TypeError for a non-integer argument and ValueError for a negative one.
    """
    drawings = _count(drawings_per_class, "drawings_per_class")
    return math.comb(_count(n_classes, "n_classes"), 2) * drawings**2


def same_class_fraction(n_classes: int, drawings_per_class: int) -> Fraction:
    """The exact share of same-class pairs among all pairs, (drawings - 1) / (images - 1).

    It is the chance that a pair drawn uniformly at random shows one class twice: whatever the
    first image, (drawings - 1) of the (images - 1) others share its class. It is close to
    1 / n_classes when there are many drawings per class. Use ``float()`` to print it.

    Raises ValueError if there are fewer than 2 images (no pairs at all), and TypeError or
    ValueError for bad counts (see ``total_pairs``).
    """
    total = total_pairs(n_classes, drawings_per_class)
    if total == 0:
        raise ValueError(
            f"{n_classes} classes x {drawings_per_class} drawings make fewer than 2 images: "
            "there are no pairs, so no fraction"
        )
    return Fraction(same_class_pairs(n_classes, drawings_per_class), total)


@dataclass(frozen=True)
class PairCounts:
    """Exact pair counts of one dataset.

    Attributes:
        total: unordered pairs of two different images.
        same_class: pairs whose two images have the same class.
        different_class: pairs whose two images have different classes.
    """

    total: int
    same_class: int
    different_class: int

    @property
    def same_class_fraction(self) -> Fraction:
        """same_class / total, exact. Raises ZeroDivisionError when there are no pairs."""
        return Fraction(self.same_class, self.total)


def pair_counts(n_classes: int, drawings_per_class: int) -> PairCounts:
    """The three counts for ``n_classes`` classes of ``drawings_per_class`` drawings, from the formulas."""
    return PairCounts(
        total_pairs(n_classes, drawings_per_class),
        same_class_pairs(n_classes, drawings_per_class),
        different_class_pairs(n_classes, drawings_per_class),
    )


def pair_counts_from_labels(labels: np.ndarray) -> PairCounts:
    """Count the pairs of a dataset from its label array (n_images,), any hashable dtype.

    Classes may have different sizes: a class of n images holds C(n, 2) same-class pairs.
    An independent route to the counts of ``pair_counts``: it looks only at the labels.

    Raises ValueError if ``labels`` is not one-dimensional.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be one label per image, shape (n_images,); got shape {labels.shape}")
    class_sizes = np.unique(labels, return_counts=True)[1]
    same = sum(math.comb(int(size), 2) for size in class_sizes)
    total = math.comb(len(labels), 2)
    return PairCounts(total, same, total - same)


def sample_uniform_pairs(n_images: int, n_pairs: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """(n_pairs, 2) int64 image indices: pairs drawn uniformly from all unordered pairs, with replacement.

    Each row holds two different indices in [0, n_images). The first is uniform; the second is
    uniform among the other n_images - 1, so every unordered pair has probability
    1 / C(n_images, 2). This is the sampler the blog's pair count implicitly assumes, not the
    balanced 1:1 sampler training uses (``oneshot_lib.data.tasks.sample_pair_indices``).

    Raises ValueError if n_images < 2 or n_pairs < 0.
    """
    n_images = _count(n_images, "n_images")
    n_pairs = _count(n_pairs, "n_pairs")
    if n_images < 2:
        raise ValueError(f"a pair needs 2 different images, but n_images={n_images}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    first = rng.integers(n_images, size=n_pairs)
    second = (first + rng.integers(1, n_images, size=n_pairs)) % n_images
    return np.stack([first, second], axis=1)


def expected_distinct_seen(pool_size: int, n_draws: int) -> float:
    """Expected number of distinct items seen in ``n_draws`` uniform draws, with replacement, from a pool.

    Each item is missed by all draws with probability (1 - 1/pool_size) ** n_draws, so the
    expectation is pool_size * (1 - (1 - 1/pool_size) ** n_draws), computed without round-off
    trouble for large pools. For a training run that draws its same-class pairs uniformly
    from the ``same_class_pairs`` of its split, this is how many different ones it shows.

    Raises ValueError if pool_size < 1 or n_draws < 0.
    """
    pool_size = _count(pool_size, "pool_size")
    n_draws = _count(n_draws, "n_draws")
    if pool_size < 1:
        raise ValueError("pool_size must be at least 1: there is nothing to draw from an empty pool")
    if pool_size == 1:
        return float(min(n_draws, 1))
    return -pool_size * math.expm1(n_draws * math.log1p(-1 / pool_size))


def pairs_with_distortions(n_pairs: int, distortions_per_pair: int) -> int:
    """Training examples when each pair is kept and also shown ``distortions_per_pair`` distorted times.

    Koch et al. (2015) added 8 affine distortions to each of 150,000 pairs:
    150,000 * (1 + 8) = 1,350,000. The distorted copies show the same two drawings, so they
    add variety of pose, not new drawers or characters.

    Raises TypeError or ValueError for a bad count.
    """
    return _count(n_pairs, "n_pairs") * (1 + _count(distortions_per_pair, "distortions_per_pair"))
