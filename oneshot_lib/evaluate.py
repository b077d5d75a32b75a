"""Accuracy of any scorer: on sampled N-way k-shot tasks, on Lake's runs, and against N.

A *scorer* is anything with a method ``scores(query, support) -> (Q, S)`` (or a plain
function of that signature): given raw query images (Q, 105, 105) and support images
(S, 105, 105), it returns a float similarity matrix, higher meaning "more likely the same
character". Every method in the course is one, so every evaluation is written once here.

Evaluation holds scorers to that contract: their inputs are read-only (a scorer that needs to
change them works on a copy), and scores of any other shape are refused with a ValueError that
names the scorer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from .data import LakeRun, OmniglotSplit, load_lake_runs, seeded_generator
from .tasks import TaskIndices, sample_task_indices


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
        images = np.asarray(images)
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
        ValueError naming the scorer, the method, and the expected and received shapes.
    """
    scores = np.asarray(scores, dtype=float)
    if scores.shape != expected:
        raise ValueError(
            f"scorer {_scorer_name(scorer)!r}: {call} returned an array of shape {scores.shape}, expected "
            f"{expected} = {axes}. A scorer returns one score per pair, higher meaning more alike: "
            "not, e.g., predicted classes (an argmax) or a transposed matrix."
        )
    return scores


def _read_only(array: np.ndarray) -> np.ndarray:
    """A view of ``array`` that cannot be written: what every scorer is handed, so that a scorer
    that modifies its inputs in place fails at once instead of corrupting later evaluations."""
    view = np.asarray(array).view()
    view.flags.writeable = False
    return view


def _pair_scores(scorer: ScorerLike, query: np.ndarray, support: np.ndarray) -> np.ndarray:
    """(Q, S) float scores of any scorer for query (Q, 105, 105) and support (S, 105, 105) images."""
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
        per_task = np.asarray(per_task, dtype=float)
        stderr = per_task.std(ddof=1) / np.sqrt(len(per_task)) if len(per_task) > 1 else float("nan")
        return cls(float(per_task.mean()), float(stderr), per_task, unit)

    @property
    def n_tasks(self) -> int:
        return len(self.per_task)

    def __float__(self) -> float:
        return self.mean

    def __str__(self) -> str:
        return f"{self.mean:.1%} ± {self.stderr:.1%} ({self.n_tasks} {self.unit})"


def class_scores(scores: np.ndarray, support_labels: np.ndarray, n_way: int) -> np.ndarray:
    """(Q, n_way) mean score of each class's support images, from (Q, S) scores.

    The rule ``accuracy`` applies to a scorer that declares none (see ``ClassScorer``).
    """
    counts = np.bincount(support_labels, minlength=n_way)
    summed = np.zeros((len(scores), n_way))
    np.add.at(summed.T, support_labels, scores.T)
    return summed / counts


def nearest_class_scores(scores: np.ndarray, support_labels: np.ndarray, n_way: int) -> np.ndarray:
    """(Q, n_way) score of each class's *nearest* drawing: the max of its support images' scores.

    Nearest neighbour's rule with k drawings per class: a query goes to the class of the single
    support image most like it, so a class scores as its best drawing, not as their mean.
    With one drawing per class it equals ``class_scores``. ``scores`` is (Q, S) float, higher
    meaning more alike; ``support_labels`` (S,) int in [0, n_way), every class present.

    Raises ValueError if a class has no support image.
    """
    scores = np.asarray(scores, dtype=float)
    support_labels = np.asarray(support_labels)
    if np.bincount(support_labels, minlength=n_way).min() == 0:
        raise ValueError(f"every one of the {n_way} classes needs a support image; labels {support_labels}")
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
        return nearest_class_scores(_pair_scores(self, query, support), support_labels, n_way)


def predict(
    scores: np.ndarray, support_labels: np.ndarray, n_way: int, rng: np.random.Generator
) -> np.ndarray:
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
        ValueError naming the scorer if it returns scores of another shape than the contract's.
    """
    if isinstance(scorer, EmbeddingScorer):
        return _class_scores_from_embeddings(scorer, scorer.embed(query), scorer.embed(support), support_labels, n_way)
    if isinstance(scorer, ClassScorer):
        call = "class_scores(query, support, support_labels, n_way)"
        per_class = scorer.class_scores(query, support, support_labels, n_way)
        return _checked(per_class, (len(query), n_way), scorer, call, "(len(query), n_way)")
    return class_scores(_pair_scores(scorer, query, support), support_labels, n_way)


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
) -> Accuracy:
    """Accuracy of ``scorer`` on ``n_tasks`` sampled N-way k-shot tasks.

    ``within_alphabet``, ``shared_drawers`` and ``drawers`` choose how tasks are drawn (see
    ``tasks.sample_task_indices``: with the first two, tasks have the structure of Lake's runs).

    Each task has ``n_query`` queries per class. The same seed draws the same tasks, so
    scorers evaluated with one seed are compared on identical tasks. A scorer that also has
    ``embed`` and ``compare`` (an ``EmbeddingScorer``) is evaluated by embedding every image
    once, with the same result. A ``ClassScorer`` scores each class by its own rule; other
    scorers' classes are scored by the mean of their images' scores.

    Raises ValueError if such tasks cannot be drawn from ``data``.
    """
    rng = seeded_generator(seed)
    indices = sample_task_indices(
        data,
        n_tasks,
        n_way,
        k_shot,
        n_query,
        within_alphabet=within_alphabet,
        shared_drawers=shared_drawers,
        drawers=drawers,
        rng=rng,
    )
    return accuracy_on_tasks(scorer, data, indices, rng)


def accuracy_on_tasks(
    scorer: ScorerLike, data: OmniglotSplit, indices: TaskIndices, rng: np.random.Generator | int = 0
) -> Accuracy:
    """Accuracy of ``scorer`` on tasks already drawn (``TaskIndices``), ties broken by ``rng``.

    ``accuracy`` draws its tasks and calls this; call it directly for tasks drawn another way
    (e.g. ``tasks.tasks_like_runs``).
    """
    rng = seeded_generator(rng)
    n_tasks, n_way = indices.characters.shape
    if isinstance(scorer, EmbeddingScorer):
        return _accuracy_from_embeddings(scorer, data, indices, rng)
    per_task = np.empty(n_tasks)
    for index in range(n_tasks):
        task = indices.task(data, index)
        query, support, support_labels = map(_read_only, (task.query, task.support, task.support_labels))
        per_class = class_scores_of(scorer, query, support, support_labels, n_way)
        per_task[index] = np.mean(predict(per_class, np.arange(n_way), n_way, rng) == task.query_labels)
    return Accuracy.from_tasks(per_task)


def _accuracy_from_embeddings(
    scorer: EmbeddingScorer, data: OmniglotSplit, tasks: TaskIndices, rng: np.random.Generator
) -> Accuracy:
    """``accuracy`` for a scorer that embeds each image on its own: every image the tasks use is
    embedded once (on 320 20-way tasks, ~3,100 images instead of 12,800), then each task is
    scored from the embeddings. Same tasks, same tie-breaks, same result as the plain path."""
    n_tasks, n_way, k_shot = tasks.support_drawings.shape
    n_query = tasks.query_drawings.shape[2]
    drawings = data.images.shape[1]
    # Flat image numbers (character * drawings + drawing), class-major as TaskIndices.task has them.
    support = (tasks.characters[..., None] * drawings + tasks.support_drawings).reshape(n_tasks, -1)
    query = (tasks.characters[..., None] * drawings + tasks.query_drawings).reshape(n_tasks, -1)
    used, position = np.unique(np.concatenate([support, query], axis=1), return_inverse=True)
    position = position.reshape(n_tasks, -1)
    embeddings = scorer.embed(_read_only(data.images.reshape(-1, *data.images.shape[2:])[used]))
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
    return Accuracy.from_tasks(per_task)


def lake_runs(scorer: ScorerLike, runs: list[LakeRun] | None = None, *, seed: int = 0) -> Accuracy:
    """Accuracy on Lake's 20 official runs (400 trials); ``per_task`` holds each run's.

    ``runs`` defaults to ``load_lake_runs()`` (which finds the data as ``load_omniglot`` does).
    """
    runs = load_lake_runs() if runs is None else runs
    rng = seeded_generator(seed)
    per_run = []
    for run in runs:
        labels = np.arange(len(run.support))
        scores = _pair_scores(scorer, _read_only(run.query), _read_only(run.support))
        predicted = predict(scores, labels, len(labels), rng)
        per_run.append(np.mean(predicted == run.answers))
    return Accuracy.from_tasks(np.array(per_run), unit="runs")


def n_way_curve(scorer: ScorerLike, data: OmniglotSplit, ns: Iterable[int], **kwargs) -> dict[int, Accuracy]:
    """``accuracy`` for each N in ``ns`` (other arguments passed on): {N: Accuracy}."""
    return {n: accuracy(scorer, data, n, **kwargs) for n in ns}
