"""Accuracy of any scorer: on sampled N-way k-shot tasks, on Lake's runs, and against N.

A *scorer* is anything with a method ``scores(query, support) -> (Q, S)`` (or a plain
function of that signature): given raw query images (Q, 105, 105) and support images
(S, 105, 105), it returns a float similarity matrix, higher meaning "more likely the same
character". Every method in the course is one, so every evaluation is written once here.
An empty query (Q = 0) gives an empty (0, S) matrix; a scorer that fits something to the
support set (a classifier, a head) refuses an empty one.

What an image may be is decided in one place, ``ink_images``, which every scorer and every
evaluation reads its images through. The dtype says how an image is read:

- ``bool``: an ink mask, True where there is ink, as ``load_omniglot`` and Lake's runs give them;
- float: ink 1.0 and paper 0.0 (grey in between), values in [0, 1], as the networks take them;
- ``uint8``: as image files hold them, dark ink on light paper: 0 is black ink, 255 white paper.

Anything else is refused with a ValueError naming the dtype and the values: another dtype, NaN
or infinite values, floats outside [0, 1], images that are not (n, H, W), query and support
images of two sizes, and images more than half ink (a drawing has at most about a fifth: more
means paper is being read as ink, an inverted image).

Evaluation holds scorers to that contract: their inputs are read-only (a scorer that needs to
change them works on a copy), and scores of any other shape, or NaN, are refused with a
ValueError that names the scorer.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from oneshot_lib.data.omniglot import LakeRun, OmniglotSplit, load_lake_runs, seeded_generator
from oneshot_lib.data.tasks import TaskIndices, check_count, sample_task_indices

#: The largest share of ink a drawing may have. Omniglot's drawings have at most 22% (measured on
#: both splits) and Lake's runs 16%; an image more than half ink is read with paper as ink.
MAX_INK_FRACTION = 0.5

_POLARITY_HINTS = {
    "b": "bool images are ink masks, True where there is ink; if True marks the paper (as np.asarray of a "
    "1-bit PNG gives it), pass ~images",
    "f": "float images hold ink 1.0 and paper 0.0; if yours hold paper 1.0 (as an image file divided by 255 "
    "does), pass 1 - images, or pass the file's uint8 values themselves",
    "u": "uint8 images are read as image files hold them, dark ink (0) on light paper (255); if yours are light "
    "ink on dark paper, pass 255 - images; if they are 0/1 ink masks, pass images.astype(bool)",
}


def ink_images(images: np.ndarray, what: str = "images") -> np.ndarray:
    """(n, H, W) images as every scorer reads them: the one place image input is checked and converted.

    Args:
        images: (n, H, W) drawings, n may be 0. ``bool``: ink masks, True where there is ink
            (as loaded). Float (any width): ink 1.0, paper 0.0, grey in between, values in [0, 1].
            ``uint8``: as image files hold them, dark ink on light paper (0 ink, 255 paper).
        what: what to call the images in a message (``"query"``, ``"support"``).

    Returns:
        bool and float images unchanged (the same values, so the same scores as before this
        check existed); uint8 images as (n, H, W) float32 ink ``1 - images / 255``, so an
        Omniglot PNG's 0/255 pixels become exactly the 0.0/1.0 of its bool mask.

    Raises:
        ValueError naming ``what``, the dtype and the values if the images are not (n, H, W), of
        another dtype (int64, say: cast 0/1 masks to bool), NaN or infinite, floats outside
        [0, 1], or if one is more than ``MAX_INK_FRACTION`` ink (an inverted image).
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(
            f"{what} must be a stack of images (n, H, W), e.g. (n, 105, 105); got shape {images.shape}. "
            "For one image, pass image[None]."
        )
    kind = images.dtype.kind
    if kind not in _POLARITY_HINTS or (kind == "u" and images.dtype != np.uint8):
        raise ValueError(
            f"{what} are {images.dtype}; a scorer reads bool ink masks (True = ink), floats in [0, 1] (1 = ink) "
            "or uint8 as image files hold them (0 = ink, 255 = paper). Cast 0/1 masks with images.astype(bool)."
        )
    if kind == "f" and images.size:
        finite = np.isfinite(images)
        if not finite.all():
            raise ValueError(
                f"{what} hold {np.count_nonzero(~finite)} NaN or infinite values ({images.dtype}): a scorer "
                "reads floats in [0, 1], ink 1.0 and paper 0.0"
            )
        low, high = images.min(), images.max()
        if low < 0 or high > 1:
            raise ValueError(
                f"{what} are {images.dtype} with values from {low:g} to {high:g}; float images must lie in "
                "[0, 1], ink 1.0 and paper 0.0. For an image file's 0-255 values, pass them as uint8."
            )
    ink = (np.float32(1) - images.astype(np.float32) / np.float32(255)) if kind == "u" else images
    _check_polarity(ink, what, kind)
    return ink


def _check_polarity(ink: np.ndarray, what: str, kind: str) -> None:
    """Raise ValueError if an image of ``ink`` (n, H, W) is more than ``MAX_INK_FRACTION`` ink."""
    if not ink.size:
        return
    flat = ink.reshape(len(ink), -1)
    fractions = np.count_nonzero(flat, axis=1) / flat.shape[1] if kind == "b" else flat.mean(axis=1)
    worst = int(np.argmax(fractions))
    if fractions[worst] > MAX_INK_FRACTION:
        raise ValueError(
            f"{what}: image {worst} is {fractions[worst]:.0%} ink ({ink.dtype if kind != 'u' else 'uint8'}), where "
            f"a drawing has at most about a fifth: it is read inverted, paper as ink. {_POLARITY_HINTS[kind]}."
        )


def ink_pair(query: np.ndarray, support: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Query (Q, H, W) and support (S, H, W) images read by ``ink_images``.

    Raises ValueError as ``ink_images`` does, or if the query and support images differ in size.
    """
    query, support = ink_images(query, "query"), ink_images(support, "support")
    if query.shape[1:] != support.shape[1:]:
        raise ValueError(
            f"query images are {query.shape[1]}x{query.shape[2]} and support images "
            f"{support.shape[1]}x{support.shape[2]}: a scorer compares images of one size"
        )
    return query, support


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


ScorerLike = Scorer | Callable[[np.ndarray, np.ndarray], np.ndarray]


def score_function(scorer: ScorerLike) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The ``scores`` method of a scorer object, or the function itself."""
    return scorer.scores if isinstance(scorer, Scorer) else scorer


def _scorer_name(scorer: object) -> str:
    """What to call a scorer in a message: its ``name``, or its function or class name."""
    return getattr(scorer, "name", None) or getattr(scorer, "__name__", None) or type(scorer).__name__


def _checked(scores: np.ndarray, expected: tuple[int, int], scorer: object, call: str, axes: str) -> np.ndarray:
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
            f"scorer {_scorer_name(scorer)!r}: {call} returned scores that are not numbers ({error}); a scorer "
            f"returns a float array {expected} = {axes}"
        ) from error
    if scores.shape != expected:
        raise ValueError(
            f"scorer {_scorer_name(scorer)!r}: {call} returned an array of shape {scores.shape}, expected "
            f"{expected} = {axes}. A scorer returns one score per pair, higher meaning more alike: "
            "not, e.g., predicted classes (an argmax) or a transposed matrix."
        )
    if np.isnan(scores).any():
        raise ValueError(
            f"scorer {_scorer_name(scorer)!r}: {call} returned NaN scores ({np.count_nonzero(np.isnan(scores))} "
            f"of {scores.size}); a score must be a number, higher meaning more alike"
        )
    return scores


def _read_only(array: np.ndarray) -> np.ndarray:
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
    query, support = map(_read_only, ink_pair(query, support))
    scores = score_function(scorer)(query, support)
    return _checked(scores, (len(query), len(support)), scorer, "scores(query, support)", "(len(query), len(support))")


@dataclass(frozen=True)
class Accuracy:
    """Mean accuracy over tasks, with its standard error.

    Attributes:
        mean: fraction of queries classified correctly, in [0, 1].
        stderr: standard error of the mean over tasks (std / sqrt(n_tasks)).
        per_task: (n_tasks,) float, each task's fraction correct.
        unit: what a task is called when printed ("tasks", or "runs" for Lake's runs).
    """

    mean: float
    stderr: float
    per_task: np.ndarray
    unit: str = "tasks"

    @classmethod
    def from_tasks(cls, per_task: np.ndarray, unit: str = "tasks") -> Accuracy:
        """The mean and standard error of ``per_task`` (n_tasks,). Raises ValueError if it is empty."""
        per_task = np.asarray(per_task, dtype=float)
        if not len(per_task):
            raise ValueError(f"no {unit} to average: an accuracy needs at least one")
        stderr = per_task.std(ddof=1) / np.sqrt(len(per_task)) if len(per_task) > 1 else float("nan")
        return cls(float(per_task.mean()), float(stderr), per_task, unit)

    @property
    def n_tasks(self) -> int:
        return len(self.per_task)

    def __float__(self) -> float:
        return self.mean

    def __str__(self) -> str:
        if self.n_tasks == 1:  # no standard error from one task: not "± nan%"
            return f"{self.mean:.1%} (1 {self.unit.removesuffix('s')}, so no standard error)"
        return f"{self.mean:.1%} ± {self.stderr:.1%} ({self.n_tasks} {self.unit})"


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
    query, support = map(_read_only, ink_pair(query, support))
    if isinstance(scorer, EmbeddingScorer):
        return _class_scores_from_embeddings(scorer, scorer.embed(query), scorer.embed(support), support_labels, n_way)
    if isinstance(scorer, ClassScorer):
        call = "class_scores(query, support, support_labels, n_way)"
        per_class = scorer.class_scores(query, support, support_labels, n_way)
        return _checked(per_class, (len(query), n_way), scorer, call, "(len(query), n_way)")
    return class_scores(pair_scores(scorer, query, support), support_labels, n_way)


def _class_scores_from_embeddings(
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
        return _checked(per_class, (len(query), n_way), scorer, call, "(len(query), n_way)")
    scores = _checked(
        scorer.compare(query, support),
        (len(query), len(support)),
        scorer,
        "compare(query_embeddings, support_embeddings)",
        "(len(query), len(support))",
    )
    return class_scores(scores, support_labels, n_way)


def accuracy(
    scorer: ScorerLike,
    data: OmniglotSplit,
    n_way: int,
    k_shot: int = 1,
    *,
    n_tasks: int = 200,
    n_query: int = 1,
    within_alphabet: bool = False,
    shared_drawers: bool = False,
    drawers: Sequence[int] | None = None,
    seed: int = 0,
    progress: bool | None = None,
) -> Accuracy:
    """Accuracy of ``scorer`` on ``n_tasks`` sampled N-way k-shot tasks.

    ``within_alphabet``, ``shared_drawers`` and ``drawers`` choose how tasks are drawn (see
    ``tasks.sample_task_indices``: with the first two, tasks have the structure of Lake's runs).

    Each task has ``n_query`` queries per class. The same seed draws the same tasks, so
    scorers evaluated with one seed are compared on identical tasks. A scorer that also has
    ``embed`` and ``compare`` (an ``EmbeddingScorer``) is evaluated by embedding every image
    once, with the same result. A ``ClassScorer`` scores each class by its own rule; other
    scorers' classes are scored by the mean of their images' scores.

    Tasks are drawn and scored ``TASKS_PER_DRAW`` at a time, so memory stays bounded however
    many are asked for (up to that many, they are drawn at once, as they always were).
    ``progress``: see ``Progress`` (by default, a progress line on a terminal once an evaluation
    has taken a few seconds; never in a notebook).

    Raises ValueError if such tasks cannot be drawn from ``data``.
    """
    check_count("n_tasks", n_tasks, 1, "there is nothing to draw (or to average) over no tasks")
    rng = seeded_generator(seed)
    per_task = []
    with Progress(n_tasks, "tasks", progress) as shown:
        for start in range(0, n_tasks, TASKS_PER_DRAW):
            indices = sample_task_indices(
                data,
                min(TASKS_PER_DRAW, n_tasks - start),
                n_way,
                k_shot,
                n_query,
                within_alphabet=within_alphabet,
                shared_drawers=shared_drawers,
                drawers=drawers,
                rng=rng,
            )
            per_task.append(_per_task_accuracy(scorer, data, indices, rng, shown))
    return Accuracy.from_tasks(np.concatenate(per_task))


def accuracy_on_tasks(
    scorer: ScorerLike,
    data: OmniglotSplit,
    indices: TaskIndices,
    rng: np.random.Generator | int = 0,
    *,
    progress: bool | None = None,
) -> Accuracy:
    """Accuracy of ``scorer`` on tasks already drawn (``TaskIndices``), ties broken by ``rng``.

    ``accuracy`` draws its tasks and calls this; call it directly for tasks drawn another way
    (e.g. ``tasks.tasks_like_runs``). ``progress``: see ``Progress``.
    """
    rng = seeded_generator(rng)
    with Progress(len(indices.characters), "tasks", progress) as shown:
        per_task = _per_task_accuracy(scorer, data, indices, rng, shown)
    return Accuracy.from_tasks(per_task)


def _per_task_accuracy(
    scorer: ScorerLike, data: OmniglotSplit, indices: TaskIndices, rng: np.random.Generator, shown: Progress
) -> np.ndarray:
    """(n_tasks,) float fraction of each task's queries ``scorer`` gets right (``accuracy_on_tasks``)."""
    n_tasks, n_way = indices.characters.shape
    if isinstance(scorer, EmbeddingScorer):
        return _accuracy_from_embeddings(scorer, data, indices, rng, shown)
    per_task = np.empty(n_tasks)
    for index in range(n_tasks):
        task = indices.task(data, index)
        query, support, support_labels = map(_read_only, (task.query, task.support, task.support_labels))
        per_class = class_scores_of(scorer, query, support, support_labels, n_way)
        per_task[index] = np.mean(predict(per_class, np.arange(n_way), n_way, rng) == task.query_labels)
        shown.advance()
    return per_task


def _accuracy_from_embeddings(
    scorer: EmbeddingScorer, data: OmniglotSplit, tasks: TaskIndices, rng: np.random.Generator, shown: Progress
) -> np.ndarray:
    """``_per_task_accuracy`` for a scorer that embeds each image on its own: every image the tasks
    use is embedded once (on 320 20-way tasks, ~3,100 images instead of 12,800), then each task is
    scored from the embeddings. Same tasks, same tie-breaks, same result as the plain path."""
    n_tasks, n_way, k_shot = tasks.support_drawings.shape
    n_query = tasks.query_drawings.shape[2]
    drawings = data.images.shape[1]
    # Flat image numbers (character * drawings + drawing), class-major as TaskIndices.task has them.
    support = (tasks.characters[..., None] * drawings + tasks.support_drawings).reshape(n_tasks, -1)
    query = (tasks.characters[..., None] * drawings + tasks.query_drawings).reshape(n_tasks, -1)
    used, position = np.unique(np.concatenate([support, query], axis=1), return_inverse=True)
    position = position.reshape(n_tasks, -1)
    images = ink_images(data.images.reshape(-1, *data.images.shape[2:])[used], f"the images of {data.name!r}")
    embeddings = scorer.embed(_read_only(images))
    n_support = support.shape[1]
    query_labels = np.repeat(np.arange(n_way), n_query)
    per_task = np.empty(n_tasks)
    for index in range(n_tasks):
        order = tasks.support_order[index]
        support_labels = _read_only(np.repeat(np.arange(n_way), k_shot)[order])
        query = _read_only(embeddings[position[index, n_support:]])
        support = _read_only(embeddings[position[index, :n_support][order]])
        per_class = _class_scores_from_embeddings(scorer, query, support, support_labels, n_way)
        per_task[index] = np.mean(predict(per_class, np.arange(n_way), n_way, rng) == query_labels)
        shown.advance()
    return per_task


def lake_runs(
    scorer: ScorerLike, runs: list[LakeRun] | None = None, *, seed: int = 0, progress: bool | None = None
) -> Accuracy:
    """Accuracy on Lake's 20 official runs (400 trials); ``per_task`` holds each run's.

    ``runs`` defaults to ``load_lake_runs()`` (which finds the data as ``load_omniglot`` does).
    ``progress``: see ``Progress``. Raises ValueError for an empty list of runs.
    """
    runs = load_lake_runs() if runs is None else list(runs)
    if not runs:
        raise ValueError("lake_runs got no runs: pass load_lake_runs() (or leave runs out to load them)")
    for number, run in enumerate(runs):
        _check_run(run, number)
    rng = seeded_generator(seed)
    per_run = []
    with Progress(len(runs), "runs", progress) as shown:
        for run in runs:
            labels = np.arange(len(run.support))
            scores = pair_scores(scorer, _read_only(run.query), _read_only(run.support))
            predicted = predict(scores, labels, len(labels), rng)
            per_run.append(np.mean(predicted == run.answers))
            shown.advance()
    return Accuracy.from_tasks(np.array(per_run), unit="runs")


def _check_run(run: LakeRun, number: int) -> None:
    """Raise ValueError, naming run ``number``, unless it is a ``LakeRun`` whose answers (Q,) are
    indices into its support set, one per query."""
    if not isinstance(run, LakeRun):
        raise ValueError(f"run {number} is a {type(run).__name__}, not a LakeRun (see data.load_lake_runs)")
    answers = np.asarray(run.answers)
    n_query, n_support = len(run.query), len(run.support)
    if answers.shape != (n_query,) or not np.issubdtype(answers.dtype, np.integer):
        raise ValueError(
            f"run {number}: answers must be {n_query} ints, one per query; got {answers.dtype} {answers.shape}"
        )
    if n_query and (answers.min() < 0 or answers.max() >= n_support):
        raise ValueError(
            f"run {number}: answers must index its {n_support} support images; got {answers.min()}..{answers.max()}"
        )


def n_way_curve(scorer: ScorerLike, data: OmniglotSplit, ns: Iterable[int], **kwargs) -> dict[int, Accuracy]:
    """``accuracy`` for each N in ``ns`` (other arguments passed on): {N: Accuracy}.

    Raises ValueError if ``ns`` is empty (a curve of no points), or as ``accuracy`` does.
    """
    ns = list(ns)
    if not ns:
        raise ValueError("n_way_curve got no N: pass the numbers of classes to measure, e.g. ns=[5, 10, 20]")
    return {n: accuracy(scorer, data, n, **kwargs) for n in ns}


#: How many tasks ``accuracy`` draws at once: at 964 characters, 77 MB of random keys.
TASKS_PER_DRAW = 10_000
#: How long an evaluation runs silently before ``Progress`` (when automatic) shows a line.
PROGRESS_AFTER_SECONDS = 3.0


class Progress:
    """A one-line progress report of an evaluation, on standard error: ``120/320 tasks, 4 s, ~7 s left``.

    ``show``: True shows it from the start, False never; None (the default of every evaluation)
    shows it only where standard error is a terminal and only once the evaluation has run for
    ``PROGRESS_AFTER_SECONDS``. So a long evaluation in a terminal reports, while a notebook (whose
    standard error is no terminal), a test or a redirected log stays exactly as it was. Used as a
    context manager, it ends its line however the evaluation ends (an error included).
    """

    def __init__(self, total: int, unit: str, show: bool | None = None, stream=None):
        self.total, self.unit, self.done = total, unit, 0
        self.stream = sys.stderr if stream is None else stream
        self.enabled = _is_terminal(self.stream) if show is None else bool(show)
        self.delay = PROGRESS_AFTER_SECONDS if show is None else 0.0
        self.start = self.last = time.monotonic()
        self.shown = False

    def advance(self, count: int = 1) -> None:
        """Count ``count`` more tasks done, and show the line if it is due (at most ten times a second)."""
        self.done += count
        now = time.monotonic()
        elapsed = now - self.start
        due = now - self.last >= 0.1 or self.done == self.total or not self.shown
        if self.enabled and elapsed >= self.delay and due:
            self.last = now
            left = elapsed / self.done * (self.total - self.done)
            self.stream.write(f"\r{self.done}/{self.total} {self.unit}, {elapsed:.0f} s, ~{left:.0f} s left ")
            self.stream.flush()
            self.shown = True

    def close(self) -> None:
        """End the line, if one was shown."""
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exception) -> None:
        self.close()


def _is_terminal(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
