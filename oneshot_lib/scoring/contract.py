"""The scorer contract: what a one-shot method is, and how every evaluation calls one.

A *scorer* is anything with a method ``scores(query, support) -> (Q, S)`` (or a plain
function of that signature): given raw query images (Q, 105, 105) and support images
(S, 105, 105), it returns a float similarity matrix, higher meaning "more likely the same
character". Every method in the course is one, so every evaluation is written once
(``evaluate``). An empty query (Q = 0) gives an empty (0, S) matrix; a scorer that fits
something to the support set (a classifier, a head) refuses an empty one. A scorer may also
embed each image on its own (``EmbeddingScorer``) or score a whole class by its own rule
(``ClassScorer``, ``ClassComparer``; the rules themselves are in ``rules``).

Images reach a scorer through ``images.ink_images``. Evaluation holds scorers to the contract:
their inputs are read-only (a scorer that needs to change them works on a copy), and scores of
any other shape, or NaN, are refused with a ValueError that names the scorer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

from oneshot_lib.scoring.images import ink_pair


@runtime_checkable
class Scorer(Protocol):
    """The one interface every one-shot method implements."""

    def scores(self, query: np.ndarray, support: np.ndarray) -> np.ndarray:
        """(Q, S) float similarity of query (Q, 105, 105) to support (S, 105, 105) images."""
        ...


@runtime_checkable
class EmbeddingScorer(Protocol):
    """A scorer that embeds each image on its own, so an evaluation can embed every image once.

    ``scores(query, support)`` must equal ``compare(embed(query), embed(support))``.
    """

    def embed(self, images: np.ndarray) -> np.ndarray:
        """(n, ...) embeddings of raw images (n, 105, 105)."""
        ...

    def compare(self, query_embeddings: np.ndarray, support_embeddings: np.ndarray) -> np.ndarray:
        """(Q, S) float scores from (Q, ...) and (S, ...) embeddings."""
        ...


@runtime_checkable
class ClassScorer(Protocol):
    """A scorer with its own rule for scoring a whole class from its k support images.

    ``accuracy`` otherwise scores a class by the mean of its images' scores (``class_scores``),
    which is exact for one shot and for methods whose class score is that mean, but not for,
    e.g., a prototypical network (distance to the mean embedding) or nearest neighbour (the
    nearest drawing decides: ``nearest_class_scores``, declared by ``NearestDrawingRule``).
    An ``EmbeddingScorer`` with such a rule also provides ``compare_classes`` (a ``ClassComparer``).
    ``class_scores_of`` applies a scorer's rule, or the mean; ``accuracy`` and the task explorer both use it.
    """

    def class_scores(
        self, query: np.ndarray, support: np.ndarray, support_labels: np.ndarray, n_way: int
    ) -> np.ndarray:
        """(Q, n_way) float score of each class for each query, from raw images."""
        ...


@runtime_checkable
class ClassComparer(Protocol):
    """An ``EmbeddingScorer``'s class rule, applied to embeddings (see ``ClassScorer``)."""

    def compare_classes(
        self, query_embeddings: np.ndarray, support_embeddings: np.ndarray, support_labels: np.ndarray, n_way: int
    ) -> np.ndarray:
        """(Q, n_way) float score of each class for each query, from embeddings."""
        ...


ScorerLike = Scorer | Callable[[np.ndarray, np.ndarray], np.ndarray]


def score_function(scorer: ScorerLike) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The ``scores`` method of a scorer object, or the function itself."""
    return scorer.scores if isinstance(scorer, Scorer) else scorer


def scorer_name(scorer: object) -> str:
    """What to call a scorer in a message or a legend: its ``name``, else its function's or class's name."""
    return getattr(scorer, "name", None) or getattr(scorer, "__name__", None) or type(scorer).__name__


def checked_scores(scores: np.ndarray, expected: tuple[int, int], scorer: object, call: str, axes: str) -> np.ndarray:
    """``scores`` as a float array, after checking the shape the scorer contract promises.

    Args:
        scores: what the scorer returned.
        expected: (Q, S), a score per (query, support image) pair, or (Q, n_way), per (query, class).
        scorer: the scorer, named in the error.
        call: the method that returned ``scores``, as the error shows it.
        axes: what ``expected`` is made of, as the error shows it (``"(len(query), n_way)"``).

    Raises:
        ValueError naming the scorer, the method, and the expected and received shapes, or the
        NaN scores it returned, or scores that are not numbers.
    """
    try:
        scores = np.asarray(scores, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"scorer {scorer_name(scorer)!r}: {call} returned scores that are not numbers ({error}); a scorer "
            f"returns a float array {expected} = {axes}"
        ) from error
    if scores.shape != expected:
        raise ValueError(
            f"scorer {scorer_name(scorer)!r}: {call} returned an array of shape {scores.shape}, expected "
            f"{expected} = {axes}. A scorer returns one score per pair, higher meaning more alike: "
            "not, e.g., predicted classes (an argmax) or a transposed matrix."
        )
    if np.isnan(scores).any():
        raise ValueError(
            f"scorer {scorer_name(scorer)!r}: {call} returned NaN scores ({np.count_nonzero(np.isnan(scores))} "
            f"of {scores.size}); a score must be a number, higher meaning more alike"
        )
    return scores


def read_only(array: np.ndarray) -> np.ndarray:
    """A view of ``array`` that cannot be written: what every scorer is handed, so that a scorer
    that modifies its inputs in place fails at once instead of corrupting later evaluations."""
    view = np.asarray(array).view()
    view.flags.writeable = False
    return view


def pair_scores(scorer: ScorerLike, query: np.ndarray, support: np.ndarray) -> np.ndarray:
    """(Q, S) float scores of any scorer for query (Q, 105, 105) and support (S, 105, 105) images.

    The images are read by ``ink_pair`` and handed over read-only. Raises ValueError naming the
    scorer if its scores are not (Q, S) or hold NaN.
    """
    query, support = map(read_only, ink_pair(query, support))
    scores = score_function(scorer)(query, support)
    return checked_scores(
        scores, (len(query), len(support)), scorer, "scores(query, support)", "(len(query), len(support))"
    )


class EmbeddingWrapper:
    """Base of the scorers that change how a wrapped ``EmbeddingScorer`` embeds and compare as it does.

    Subclasses define ``embed`` (and ``purpose``, for the error message). Other attributes pass
    through to the wrapped scorer, except a class rule: ``WrappedClassRule`` adds that, applied to
    this wrapper's embeddings.
    """

    purpose = "this wrapper"

    def __init__(self, scorer: EmbeddingScorer):
        if not isinstance(scorer, EmbeddingScorer):
            raise TypeError(
                f"{self.purpose} needs a scorer that embeds each image on its own (embed and "
                f"compare); {type(scorer).__name__} has no such methods"
            )
        self.scorer = scorer
        self.name = getattr(scorer, "name", type(scorer).__name__)

    def __getattr__(self, name: str):
        # A class rule is not passed through: the wrapped one would embed without this wrapper.
        if name in ("class_scores", "compare_classes") or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.__dict__["scorer"], name)

    def embed(self, images: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def compare(self, query: np.ndarray, support: np.ndarray) -> np.ndarray:
        """(Q, S) the wrapped scorer's comparison of query (Q, ...) and support (S, ...) embeddings."""
        return self.scorer.compare(query, support)

    def scores(self, query: np.ndarray, support: np.ndarray) -> np.ndarray:
        """(Q, S) scores of raw query (Q, 105, 105) against support (S, 105, 105) images."""
        return self.compare(self.embed(query), self.embed(support))


class WrappedClassRule:
    """The wrapped scorer's class rule (a ``ClassComparer``, e.g. prototypes), on the wrapper's embeddings."""

    def compare_classes(
        self, query: np.ndarray, support: np.ndarray, support_labels: np.ndarray, n_way: int
    ) -> np.ndarray:
        """(Q, n_way) the wrapped scorer's class scores from embeddings."""
        return self.scorer.compare_classes(query, support, support_labels, n_way)

    def class_scores(
        self, query: np.ndarray, support: np.ndarray, support_labels: np.ndarray, n_way: int
    ) -> np.ndarray:
        """(Q, n_way) class scores from raw images, embedded by the wrapper."""
        return self.compare_classes(self.embed(query), self.embed(support), support_labels, n_way)
