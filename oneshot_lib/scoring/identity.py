"""Which transforms keep a character's identity, measured with a trained model's scores.

An augmentation is safe when the transformed drawing is still a drawing of the same character.
Koch's small affine distortions are meant to be: a slightly different hand. A mirror image or a
quarter turn may not be: a turned "b" is a "q"-like shape, which is why turned characters can
serve as *new classes* (Santoro et al., 2016). This module makes that a measurement:

- ``TRANSFORMS``: the families compared, each a function of (n, 105, 105) bool drawings;
- ``identity_scores``: a scorer's score between drawings and their transformed copies, next to
  its scores for another drawing of the same character and for a drawing of another character of
  the same alphabet (the two references every transform is judged against).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from oneshot_lib.data.augment import KOCH, Distortions, distort
from oneshot_lib.data.omniglot import OmniglotSplit
from oneshot_lib.data.seeds import seeded_generator
from oneshot_lib.data.tasks import check_count
from oneshot_lib.scoring.contract import ScorerLike, pair_scores


def koch_distortion(images: np.ndarray, seed: int = 0, distortions: Distortions = KOCH) -> np.ndarray:
    """Koch's random affine distortion of each drawing (n, 105, 105) bool -> (n, 105, 105) bool."""
    return np.asarray(distort(images, (seed, 0), distortions)) > 0.5


#: The transform families, each (n, 105, 105) bool -> (n, 105, 105) bool.
TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "Koch's distortion": koch_distortion,
    "mirror (left-right)": lambda images: images[..., ::-1],
    "mirror (upside down)": lambda images: images[..., ::-1, :],
    "quarter turn": lambda images: np.rot90(images, 1, axes=(-2, -1)),
    "half turn": lambda images: np.rot90(images, 2, axes=(-2, -1)),
}
#: The two references: another drawing of the same character, and another character's drawing.
SAME_CHARACTER = "another drawing, same character"
OTHER_CHARACTER = "another character, same alphabet"


def identity_pairs(data: OmniglotSplit, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded drawings and their partners: (n, 105, 105) bool arrays ``drawing``, ``same``, ``other``.

    ``drawing[i]`` and ``same[i]`` are two drawings (by different drawers) of one character;
    ``other[i]`` is a drawing of another character of the same alphabet. Raises ValueError if
    ``data`` has an alphabet of one character or characters of one drawing, TypeError or ValueError if
    ``n`` is not an int >= 1.
    """
    check_count("n", n, 1, "identity is measured on at least one drawing")
    if data.images.shape[1] < 2 or min(np.bincount(data.alphabet_ids)) < 2:
        raise ValueError("identity_pairs needs two drawings per character and two characters per alphabet")
    rng = seeded_generator(seed)
    alphabet_ids = data.alphabet_ids
    rows = rng.choice(len(data), n, replace=n > len(data))
    drawers = np.stack([rng.choice(data.images.shape[1], 2, replace=False) for _ in range(n)])
    others = np.array(
        [rng.choice(np.flatnonzero((alphabet_ids == alphabet_ids[r]) & (np.arange(len(data)) != r))) for r in rows]
    )
    return {
        "drawing": data.images[rows, drawers[:, 0]],
        "same": data.images[rows, drawers[:, 1]],
        "other": data.images[others, drawers[:, 1]],
    }


#: Which drawing a transform is applied to: the drawing itself, or another drawing of its character.
TRANSFORMED = ("drawing", "same")


def identity_scores(
    scorer: ScorerLike,
    data: OmniglotSplit,
    n: int = 200,
    seed: int = 0,
    *,
    transforms: Mapping[str, Callable[[np.ndarray], np.ndarray]] = TRANSFORMS,
    transformed: str = "drawing",
) -> dict[str, np.ndarray]:
    """(n,) float64 scores of ``n`` seeded drawings against each partner, keyed by partner.

    The keys are ``transforms``'s, then ``SAME_CHARACTER`` and ``OTHER_CHARACTER``. A transform
    that keeps identity scores like ``SAME_CHARACTER``; one that makes a new character scores like
    ``OTHER_CHARACTER``. With ``transformed="drawing"`` each drawing meets its own transformed
    copy, which keeps every stroke, so a stroke-for-stroke match counts for it; with
    ``transformed="same"`` it meets a transformed copy of another drawing of its character (by
    another person), which is what an augmented training drawing meets. The references are the
    same either way. Each transform maps (n, 105, 105) bool drawings to (n, 105, 105) bool or
    float images (ink 1, paper 0).

    Raises ValueError if ``transformed`` is not one of ``TRANSFORMED``.
    """
    if transformed not in TRANSFORMED:
        raise ValueError(
            f"transformed must be one of {TRANSFORMED} (the drawing itself, or another drawing of its character); "
            f"got {transformed!r}"
        )
    pairs = identity_pairs(data, n, seed)
    partners = {name: transform(pairs[transformed]) for name, transform in transforms.items()}
    partners[SAME_CHARACTER] = pairs["same"]
    partners[OTHER_CHARACTER] = pairs["other"]
    return {name: paired_scores(scorer, pairs["drawing"], partner) for name, partner in partners.items()}


def paired_scores(scorer: ScorerLike, drawings: np.ndarray, partners: np.ndarray, block: int = 25) -> np.ndarray:
    """(n,) float64 scores of each of (n, 105, 105) ``drawings`` against its own partner (n, 105, 105).

    Each is the diagonal of a (block, block) score matrix of ``block`` drawings at a time: the
    same scores as the diagonal of the whole (n, n) matrix, at a fraction of its cost.
    """
    return np.concatenate(
        [
            np.diag(pair_scores(scorer, drawings[start : start + block], partners[start : start + block]))
            for start in range(0, len(drawings), block)
        ]
    ).astype(np.float64)
