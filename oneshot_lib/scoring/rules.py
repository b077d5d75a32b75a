"""Class rules: how a scorer's (Q, S) image scores become a (Q, n_way) score per class, and a prediction.

With k support drawings per class, a class is scored by the mean of its drawings' scores
(``class_scores``), unless the scorer declares its own rule: the nearest drawing
(``NearestDrawingRule``, ``nearest_class_scores``) or one of its own (a ``ClassScorer`` or
``ClassComparer``, see ``contract``). ``class_scores_of`` is the one place the rule is chosen;
``predict`` picks the best class, ties broken at random.
"""

from __future__ import annotations

import numpy as np

from oneshot_lib.scoring.contract import (
    ClassComparer,
    ClassScorer,
    EmbeddingScorer,
    ScorerLike,
    checked_scores,
    pair_scores,
    read_only,
)
from oneshot_lib.scoring.images import ink_pair


def check_support_labels(support_labels: np.ndarray, n_support: int, n_way: int) -> np.ndarray:
    """(S,) int32 ``support_labels``, after checking they give each of ``n_support`` support images a
    class in [0, n_way) and every class at least one image.

    Raises ValueError saying which of these fails (an empty support set included).
    """
    if n_support == 0 or n_way < 1:
        raise ValueError(
            f"the support set is empty ({n_support} images, n_way={n_way}): classes are scored from their "
            "support images, so every class needs at least one"
        )
    labels = np.asarray(support_labels)
    if labels.shape != (n_support,):
        raise ValueError(f"support_labels must have shape ({n_support},), one per support image; got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"support_labels must be ints, the class of each support image; got {labels.dtype}")
    if labels.min() < 0 or labels.max() >= n_way:
        raise ValueError(f"support_labels must lie in [0, {n_way}); got values {labels.min()}..{labels.max()}")
    missing = np.setdiff1d(np.arange(n_way), labels)
    if len(missing):
        raise ValueError(f"classes {missing.tolist()} have no support image: every class needs at least one")
    return labels.astype(np.int32)


def class_scores(scores: np.ndarray, support_labels: np.ndarray, n_way: int) -> np.ndarray:
    """(Q, n_way) mean score of each class's support images, from (Q, S) scores.

    The rule ``accuracy`` applies to a scorer that declares none (see ``ClassScorer``).

    Raises ValueError if the labels do not give every class a support image (``check_support_labels``),
    or if a query's scores for one class include both +inf and -inf (their mean is undefined).
    """
    scores = np.asarray(scores, dtype=float)
    support_labels = check_support_labels(support_labels, scores.shape[1] if scores.ndim == 2 else -1, n_way)
    counts = np.bincount(support_labels, minlength=n_way)
    summed = np.zeros((len(scores), n_way))
    with np.errstate(invalid="ignore"):  # +inf plus -inf: NaN, reported below
        np.add.at(summed.T, support_labels, scores.T)
    per_class = summed / counts
    undefined = np.isnan(per_class) & ~np.isnan(scores).any(axis=1, keepdims=True)
    if undefined.any():
        query, label = np.argwhere(undefined)[0]
        raise ValueError(
            f"query {query}'s scores for class {label} include both +inf and -inf, so the class's mean "
            "score is undefined; a scorer should return finite scores, or infinities of one sign per class"
        )
    return per_class


def nearest_class_scores(scores: np.ndarray, support_labels: np.ndarray, n_way: int) -> np.ndarray:
    """(Q, n_way) score of each class's *nearest* drawing: the max of its support images' scores.

    Nearest neighbour's rule with k drawings per class: a query goes to the class of the single
    support image most like it, so a class scores as its best drawing, not as their mean.
    With one drawing per class it equals ``class_scores``. ``scores`` is (Q, S) float, higher
    meaning more alike; ``support_labels`` (S,) int in [0, n_way), every class present.

    Raises ValueError if a class has no support image (see ``check_support_labels``).
    """
    scores = np.asarray(scores, dtype=float)
    support_labels = check_support_labels(support_labels, scores.shape[1] if scores.ndim == 2 else -1, n_way)
    best = np.full((len(scores), n_way), -np.inf)
    np.maximum.at(best.T, support_labels, scores.T)
    return best


class NearestDrawingRule:
    """Declares nearest neighbour's class rule: with k drawings per class, the nearest one decides.

    A scorer class that inherits this is a ``ClassScorer`` whose ``class_scores`` is
    ``nearest_class_scores`` of its own ``scores``: the max of a class's scores, not their mean.
    """

    def class_scores(
        self, query: np.ndarray, support: np.ndarray, support_labels: np.ndarray, n_way: int
    ) -> np.ndarray:
        """(Q, n_way) float: each class's best score among its support images."""
        return nearest_class_scores(pair_scores(self, query, support), support_labels, n_way)


def predict(scores: np.ndarray, support_labels: np.ndarray, n_way: int, rng: np.random.Generator) -> np.ndarray:
    """(Q,) int predicted class of each query: the class with the highest mean score.

    Ties are broken uniformly at random, so a scorer that cannot tell the classes apart gets
    chance accuracy whatever the order of the support set.
    """
    per_class = class_scores(np.asarray(scores, dtype=float), support_labels, n_way)
    if np.isnan(per_class).any():
        raise ValueError("the scorer returned NaN scores")
    best = per_class == per_class.max(axis=1, keepdims=True)
    return np.argmax(best * rng.random(best.shape), axis=1)


def class_scores_of(
    scorer: ScorerLike, query: np.ndarray, support: np.ndarray, support_labels: np.ndarray, n_way: int
) -> np.ndarray:
    """(Q, n_way) float score of each class for each query, by the rule ``accuracy`` decides with.

    The one place that rule is chosen: a scorer's own class rule where it has one (a
    ``ClassComparer``'s ``compare_classes`` on the embeddings of an ``EmbeddingScorer``, a
    ``ClassScorer``'s ``class_scores`` on the images: e.g. the nearest drawing for the
    ``NearestDrawingRule`` baselines, the prototype for a prototypical network), else the mean of
    each class's image scores (``class_scores``). The task explorer shows these scores, so its picks
    are ``accuracy``'s. With one drawing per class every rule here gives the image scores back.

    Args:
        scorer: any scorer (an object with ``scores``, or a function of that signature).
        query: (Q, 105, 105) raw query images.
        support: (S, 105, 105) raw support images.
        support_labels: (S,) int in [0, n_way), the class of each support image.
        n_way: the number of classes.

    Raises:
        ValueError naming the scorer if it returns scores of another shape than the contract's, or
        NaN; ValueError if the images are not what ``ink_images`` reads.
    """
    query, support = map(read_only, ink_pair(query, support))
    if isinstance(scorer, EmbeddingScorer):
        return class_scores_from_embeddings(scorer, scorer.embed(query), scorer.embed(support), support_labels, n_way)
    if isinstance(scorer, ClassScorer):
        call = "class_scores(query, support, support_labels, n_way)"
        per_class = scorer.class_scores(query, support, support_labels, n_way)
        return checked_scores(per_class, (len(query), n_way), scorer, call, "(len(query), n_way)")
    return class_scores(pair_scores(scorer, query, support), support_labels, n_way)


def class_scores_from_embeddings(
    scorer: EmbeddingScorer,
    query: np.ndarray,
    support: np.ndarray,
    support_labels: np.ndarray,
    n_way: int,
) -> np.ndarray:
    """``class_scores_of`` from (Q, ...) query and (S, ...) support embeddings of an ``EmbeddingScorer``."""
    if isinstance(scorer, ClassComparer):
        call = "compare_classes(query_embeddings, support_embeddings, support_labels, n_way)"
        per_class = scorer.compare_classes(query, support, support_labels, n_way)
        return checked_scores(per_class, (len(query), n_way), scorer, call, "(len(query), n_way)")
    scores = checked_scores(
        scorer.compare(query, support),
        (len(query), len(support)),
        scorer,
        "compare(query_embeddings, support_embeddings)",
        "(len(query), len(support))",
    )
    return class_scores(scores, support_labels, n_way)
