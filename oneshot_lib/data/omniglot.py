"""Omniglot as the course reads it: a split of characters, its validation alphabets, and its loader.

Omniglot (Lake, Salakhutdinov and Tenenbaum, 2015): 1,623 characters of 50 alphabets, each drawn
by 20 people, in two splits, ``background`` (30 alphabets, 964 characters: train and validate on
it) and ``evaluation`` (20 alphabets, 659 characters: report on it). ``load_omniglot`` finds an
archive (``archives``), decodes it through the decoded cache (``cache``) and returns an
``OmniglotSplit``; Lake's runs are loaded by ``lake``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from oneshot_lib.data.archives import SPLITS, decode_split_archive, find_archive
from oneshot_lib.data.cache import cached_split
from oneshot_lib.data.seeds import seeded_generator

#: Background alphabets held out for model selection. Every later chapter trains on the other
#: 25 background alphabets and selects checkpoints and hyperparameters on these five; the
#: evaluation split is for reporting only. Each has at least 20 characters, so 20-way
#: within-alphabet tasks (Koch's validation criterion) can be drawn from every one of them.
VALIDATION_ALPHABETS: tuple[str, ...] = (
    "Armenian",
    "Bengali",
    "Early_Aramaic",
    "Futurama",
    "Hebrew",
)


@dataclass(frozen=True)
class OmniglotSplit:
    """Decoded Omniglot drawings, one row per character.

    Attributes:
        images: (n_characters, 20, 105, 105) bool, True where there is ink.
        alphabets: (n_characters,) str, the alphabet of each row.
        characters: (n_characters,) str, the character folder name of each row
            (``character01`` ...), unique only within its alphabet.
        name: the split it came from, with any subset noted (``"background/train"``).
    """

    images: np.ndarray
    alphabets: np.ndarray
    characters: np.ndarray
    name: str = "omniglot"

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        return (
            f"OmniglotSplit({self.name!r}: {len(self.alphabet_names)} alphabets, "
            f"{len(self)} characters x {self.images.shape[1]} drawings, "
            f"{self.images.shape[2]}x{self.images.shape[3]})"
        )

    @property
    def alphabet_names(self) -> list[str]:
        """The distinct alphabets, in row order."""
        return list(dict.fromkeys(self.alphabets.tolist()))

    @property
    def alphabet_ids(self) -> np.ndarray:
        """(n_characters,) int: the index into ``alphabet_names`` of each row."""
        _, first_row, sorted_ids = np.unique(self.alphabets, return_index=True, return_inverse=True)
        rank_in_row_order = np.argsort(np.argsort(first_row))  # sorted position -> row-order position
        return rank_in_row_order[sorted_ids.reshape(-1)]

    def select(self, alphabets: list[str] | tuple[str, ...], name: str | None = None) -> OmniglotSplit:
        """The rows of the named alphabets. Raises KeyError naming any alphabet not present."""
        missing = sorted(set(alphabets) - set(self.alphabet_names))
        if missing:
            raise KeyError(f"alphabets {missing} are not in {self.name!r}; it has {self.alphabet_names}")
        rows = np.isin(self.alphabets, list(alphabets))
        return OmniglotSplit(self.images[rows], self.alphabets[rows], self.characters[rows], name or self.name)

    def sample_characters(self, fraction: float, seed: int = 0) -> OmniglotSplit:
        """A seeded choice of ``fraction`` of the rows (at least one), in row order.

        Raises ValueError unless 0 < fraction <= 1.
        """
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must lie in (0, 1], got {fraction}")
        count = max(1, round(fraction * len(self)))
        rows = np.sort(seeded_generator(seed).choice(len(self), count, replace=False))
        return OmniglotSplit(
            self.images[rows], self.alphabets[rows], self.characters[rows], f"{self.name} ({count} characters)"
        )

    def without(self, alphabets: list[str] | tuple[str, ...], name: str | None = None) -> OmniglotSplit:
        """The rows of every alphabet except the named ones."""
        kept = [a for a in self.alphabet_names if a not in set(alphabets)]
        return self.select(kept, name)


def load_omniglot(
    split: str,
    data_dir: str | os.PathLike | None = None,
    *,
    download: bool | None = None,
    use_cache: bool = True,
) -> OmniglotSplit:
    """Load one Omniglot split as a bool array of ink masks.

    Args:
        split: ``"background"`` (30 alphabets, 964 characters; train and validate on it) or
            ``"evaluation"`` (20 alphabets, 659 characters; report on it).
        data_dir: folder holding the archives; defaults to ``OMNIGLOT_DIR``, then the
            per-user cache.
        download: see ``find_archive``; by default only the per-user cache downloads.
        use_cache: read and write the decoded cache (about 0.5 s instead of a full decode).

    Returns:
        An OmniglotSplit with ``images`` (n_characters, 20, 105, 105) bool, rows sorted by
        alphabet then character, drawings sorted by file name.

    Raises:
        ValueError for an unknown split; FileNotFoundError for a missing folder or archive;
        OmniglotDataError for a corrupt archive or one with the wrong content.

    Warns:
        OmniglotCacheWarning if a cache file does not match its archive (it is replaced), or
        if the cache cannot be written (the split is loaded without it).
    """
    if split not in SPLITS:
        raise ValueError(f"unknown Omniglot split {split!r}: use one of {sorted(SPLITS)}")
    spec = SPLITS[split]
    archive = find_archive(spec, data_dir, download)
    images, alphabets, characters = cached_split(archive, spec) if use_cache else decode_split_archive(archive, spec)
    return OmniglotSplit(images, alphabets, characters, split)


def train_validation_split(
    background: OmniglotSplit, validation_alphabets: tuple[str, ...] = VALIDATION_ALPHABETS
) -> tuple[OmniglotSplit, OmniglotSplit]:
    """Split the background set by alphabet into (train, validation).

    No character, and no alphabet, is in both, so validation accuracy measures generalisation
    to new alphabets, as the evaluation split will.
    """
    train = background.without(validation_alphabets, name=f"{background.name}/train")
    validation = background.select(validation_alphabets, name=f"{background.name}/validation")
    return train, validation
