"""Seeded random generators: the one place a seed is read, with an error that says what a seed is."""

from __future__ import annotations

import numpy as np


def seeded_generator(seed) -> np.random.Generator:
    """``np.random.default_rng(seed)``, with an error that says what a seed is.

    ``seed``: a whole number (0 or more), a sequence of them, a ``np.random.Generator`` (returned
    as it is) or None (fresh entropy). Raises ValueError for anything else, e.g. -1 or 2.5.
    """
    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    parts = np.ravel(np.asarray(seed, dtype=object))
    if not parts.size or not all(isinstance(p, int | np.integer) and not isinstance(p, bool) and p >= 0 for p in parts):
        raise ValueError(f"seed must be a whole number, 0 or more (or a sequence of them), got {seed!r}")
    return np.random.default_rng(seed)
