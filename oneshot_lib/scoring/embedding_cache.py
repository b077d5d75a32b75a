"""Embedding each distinct image once: a wrapper that remembers every embedding its scorer makes."""

from __future__ import annotations

import hashlib

import numpy as np

from oneshot_lib.scoring.contract import ClassComparer, EmbeddingScorer, EmbeddingWrapper, WrappedClassRule
from oneshot_lib.scoring.images import ink_images


class CachedEmbeddings(EmbeddingWrapper):
    """An ``EmbeddingScorer`` that embeds each distinct image once and remembers the embedding.

    ``accuracy`` embeds each image its tasks use once per call; an N-way curve, or several
    protocols on one split, call it again and again on the same drawings. Wrapped in this, a
    scorer embeds each distinct image once for as long as the wrapper lives: worth it when
    embedding is costly (test-time shifts embed nine copies of every image). Images are known
    by their content (dtype, shape and bytes, hashed), so any array holding the same drawing
    finds it. Scores come from the wrapped scorer's ``compare`` on the same embeddings; other
    attributes pass through to it. Memory: one embedding per distinct image seen.

    Build it with ``cache_embeddings(scorer)``, which keeps a scorer's class rule.
    """

    purpose = "caching embeddings"

    def __init__(self, scorer: EmbeddingScorer):
        super().__init__(scorer)
        self._embeddings: dict[bytes, np.ndarray] = {}

    def __len__(self) -> int:
        """How many distinct images have been embedded."""
        return len(self._embeddings)

    def embed(self, images: np.ndarray) -> np.ndarray:
        """(n, ...) the wrapped scorer's embeddings of images (n, 105, 105); new images only are embedded."""
        images = ink_images(images)
        if not len(images):
            return self.scorer.embed(images)
        header = f"{images.dtype.str}{images.shape[1:]}".encode()
        keys = [hashlib.blake2b(header + image.tobytes(), digest_size=16).digest() for image in images]
        first = {}
        for index, key in enumerate(keys):
            if key not in self._embeddings:
                first.setdefault(key, index)
        if first:
            new = self.scorer.embed(images[list(first.values())])
            self._embeddings.update(zip(first, new, strict=True))
        return np.stack([self._embeddings[key] for key in keys])


class CachedClassEmbeddings(WrappedClassRule, CachedEmbeddings):
    """``CachedEmbeddings`` for a scorer with its own class rule (a ``ClassComparer``, e.g. prototypes)."""


def cache_embeddings(scorer: EmbeddingScorer) -> CachedEmbeddings:
    """``scorer`` remembering the embedding of every distinct image it embeds (``CachedEmbeddings``).

    Same scores and class rule as ``scorer``. Raises TypeError for a scorer without ``embed``
    and ``compare``.
    """
    if isinstance(scorer, ClassComparer):
        return CachedClassEmbeddings(scorer)
    return CachedEmbeddings(scorer)
