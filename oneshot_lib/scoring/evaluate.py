"""Accuracy of any scorer: on sampled N-way k-shot tasks, on Lake's runs, and against N.

Any scorer (see ``contract``) is evaluated here, with its images read by ``images.ink_images``
and its classes scored by its rule (``rules.class_scores_of``). ``Accuracy`` is the mean over
tasks with its standard error; ``paired_difference`` compares two methods scored on the same tasks.

The chapters (and docstrings across the library) call the few names of the contract, the image
gate and the class rules they use ``evaluate.NAME`` (``evaluate.predict``,
``evaluate.NearestDrawingRule``, ``evaluate.cache_embeddings``, ...), so those are re-exported
here (see ``__all__``): a reader meets one module. The library imports each from its own module.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from oneshot_lib.data.lake import LakeRun, load_lake_runs
from oneshot_lib.data.omniglot import OmniglotSplit
from oneshot_lib.data.seeds import seeded_generator
from oneshot_lib.data.tasks import TaskIndices, check_count, sample_task_indices
from oneshot_lib.scoring.contract import ClassScorer, EmbeddingScorer, ScorerLike, pair_scores, read_only
from oneshot_lib.scoring.embedding_cache import cache_embeddings
from oneshot_lib.scoring.images import ink_images
from oneshot_lib.scoring.rules import (
    NearestDrawingRule,
    class_scores,
    class_scores_from_embeddings,
    class_scores_of,
    nearest_class_scores,
    predict,
)

__all__ = [
    "PROGRESS_AFTER_SECONDS",
    "TASKS_PER_DRAW",
    "Accuracy",
    "ClassScorer",
    "EmbeddingScorer",
    "NearestDrawingRule",
    "PairedDifference",
    "Progress",
    "accuracy",
    "accuracy_on_tasks",
    "cache_embeddings",
    "class_scores",
    "class_scores_of",
    "ink_images",
    "lake_runs",
    "n_way_curve",
    "nearest_class_scores",
    "paired_difference",
    "predict",
]


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


@dataclass(frozen=True)
class PairedDifference:
    """How much better one method does than another on the same tasks: the paired difference.

    Attributes:
        mean: the mean over tasks of (first's accuracy - second's accuracy), a fraction in [-1, 1].
        stderr: the standard error of that mean, from the spread of the per-task differences
            (std with ddof=1, over sqrt(n)); NaN for one task.
        n: the number of tasks (or runs) compared.
    """

    mean: float
    stderr: float
    n: int


def paired_difference(first: Accuracy, second: Accuracy) -> PairedDifference:
    """The mean of ``first.per_task - second.per_task`` and its standard error.

    Both must have been measured on the same tasks (the same split, protocol and seed, or the same
    runs), so that each task's difficulty cancels: the standard error of the difference is then far
    smaller than the two accuracies' standard errors would suggest.

    Raises ValueError if either is not an ``Accuracy``, or if they cover different numbers or
    kinds of tasks (so cannot be the same tasks).
    """
    for which, result in (("first", first), ("second", second)):
        if not isinstance(result, Accuracy):
            raise ValueError(
                f"paired_difference compares two Accuracy results; the {which} is a {type(result).__name__}"
            )
    if (first.n_tasks, first.unit) != (second.n_tasks, second.unit):
        raise ValueError(
            f"paired_difference needs two accuracies on the same tasks; got {first.n_tasks} {first.unit} and "
            f"{second.n_tasks} {second.unit}: evaluate both with the same tasks (split, protocol, n_tasks and seed)"
        )
    difference = first.per_task - second.per_task
    n = len(difference)
    stderr = difference.std(ddof=1) / np.sqrt(n) if n > 1 else float("nan")
    return PairedDifference(float(difference.mean()), float(stderr), n)


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
        query, support, support_labels = map(read_only, (task.query, task.support, task.support_labels))
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
    embeddings = scorer.embed(read_only(images))
    n_support = support.shape[1]
    query_labels = np.repeat(np.arange(n_way), n_query)
    per_task = np.empty(n_tasks)
    for index in range(n_tasks):
        order = tasks.support_order[index]
        support_labels = read_only(np.repeat(np.arange(n_way), k_shot)[order])
        query = read_only(embeddings[position[index, n_support:]])
        support = read_only(embeddings[position[index, :n_support][order]])
        per_class = class_scores_from_embeddings(scorer, query, support, support_labels, n_way)
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
            scores = pair_scores(scorer, read_only(run.query), read_only(run.support))
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
