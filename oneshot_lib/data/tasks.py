"""N-way k-shot tasks and same/different pairs, sampled with vectorised numpy.

A *task* shows ``n_way`` characters, ``k_shot`` drawings of each (the support set), and asks
to classify ``n_query`` further drawings of each (the queries). Characters are distinct, and
support and query drawings of a character are distinct drawings (different people).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real

import numpy as np

from oneshot_lib.data.omniglot import OmniglotSplit
from oneshot_lib.data.seeds import seeded_generator


@dataclass(frozen=True)
class Task:
    """One N-way k-shot task.

    Attributes:
        support: (n_way * k_shot, 105, 105) bool, in a random order.
        support_labels: (n_way * k_shot,) int in [0, n_way), the class of each support image.
        query: (n_way * n_query, 105, 105) bool, class-major: the queries of class 0 first.
        query_labels: (n_way * n_query,) int in [0, n_way).
        characters: (n_way,) int, the row in the split of each class.

    The support set is shuffled, so neither a query's position nor its class label tells where
    its answer is in the support set.
    """

    support: np.ndarray
    support_labels: np.ndarray
    query: np.ndarray
    query_labels: np.ndarray
    characters: np.ndarray

    @property
    def n_way(self) -> int:
        return len(self.characters)


@dataclass(frozen=True)
class TaskIndices:
    """Where the images of many tasks come from, without copying any image.

    Attributes:
        characters: (n_tasks, n_way) int, rows of the split, in class-label order.
        support_drawings: (n_tasks, n_way, k_shot) int in [0, 20).
        query_drawings: (n_tasks, n_way, n_query) int in [0, 20), disjoint from the support's.
        support_order: (n_tasks, n_way * k_shot) int, a random permutation per task: support
            position p shows class-major image ``support_order[t, p]``.
    """

    characters: np.ndarray
    support_drawings: np.ndarray
    query_drawings: np.ndarray
    support_order: np.ndarray

    def __len__(self) -> int:
        return len(self.characters)

    def task(self, data: OmniglotSplit, index: int) -> Task:
        """Gather the images of task ``index`` from ``data``."""
        characters = self.characters[index]
        n_way, k_shot = self.support_drawings.shape[1:]
        n_query = self.query_drawings.shape[2]
        rows = characters[:, None]
        order = self.support_order[index]
        support = data.images[rows, self.support_drawings[index]].reshape(-1, *data.images.shape[2:])
        return Task(
            support=support[order],
            support_labels=np.repeat(np.arange(n_way), k_shot)[order],
            query=data.images[rows, self.query_drawings[index]].reshape(-1, *data.images.shape[2:]),
            query_labels=np.repeat(np.arange(n_way), n_query),
            characters=characters,
        )


def check_count(name: str, value: object, minimum: int, why: str) -> None:
    """Check a count argument (``n_way``, ``n_tasks`` ...): an int of at least ``minimum``.

    A numpy integer is an int here; a bool, a float (even ``5.0``) or a string is not.

    Raises:
        TypeError naming the argument and its value, if it is not an int.
        ValueError naming the argument and its value, and saying ``why``, if it is too small.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"{name} must be an int, got {type(value).__name__} {value!r}: it is a count. "
            f"Pass a whole number (at least {minimum})."
        )
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum} (got {value}): {why}")


def check_whole_number(name: str, value: object, minimum: int, note: str = "") -> None:
    """Raise ValueError, naming ``name``, unless ``value`` is a whole number of at least ``minimum``.

    A numpy integer is a whole number here; a bool, a float (even ``5.0``) or a string is not.
    ``note`` (e.g. ``" (0: all of them)"``) follows the minimum in the message.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be a whole number of at least {minimum}{note}, got {value!r}")


def check_task_request(data: OmniglotSplit, n_way: int, k_shot: int, n_query: int, within_alphabet: bool) -> None:
    """Raise TypeError or ValueError, saying why, if no such task can be drawn from ``data``."""
    check_count("n_way", n_way, 2, "a task needs characters to tell apart")
    check_count("k_shot", k_shot, 1, "every class needs a support drawing")
    check_count("n_query", n_query, 1, "every class needs a query drawing")
    if len(data) == 0:
        raise ValueError(f"the split {data.name!r} is empty: there are no characters to draw tasks from")
    drawings = data.images.shape[1]
    if k_shot + n_query > drawings:
        raise ValueError(
            f"k_shot + n_query = {k_shot + n_query} drawings per character are needed, but each "
            f"character has only {drawings}: lower k_shot or n_query"
        )
    available = _largest_alphabet(data) if within_alphabet else len(data)
    if n_way > available:
        where = f"its largest alphabet has {available}" if within_alphabet else f"it has {available}"
        raise ValueError(
            f"n_way={n_way} is more characters than {data.name!r} can give: {where}. "
            + ("Lower n_way, or sample across alphabets." if within_alphabet else "Lower n_way.")
        )


def _largest_alphabet(data: OmniglotSplit) -> int:
    return int(np.bincount(data.alphabet_ids).max())


def check_positive_number(name: str, value: object) -> None:
    """Raise TypeError or ValueError, naming the argument and its value, unless it is a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def sample_task_indices(
    data: OmniglotSplit,
    n_tasks: int,
    n_way: int,
    k_shot: int = 1,
    n_query: int = 1,
    *,
    within_alphabet: bool = False,
    shared_drawers: bool = False,
    drawers: Sequence[int] | None = None,
    rng: np.random.Generator | int | None = None,
) -> TaskIndices:
    """Draw ``n_tasks`` N-way k-shot tasks at once, as indices (see ``TaskIndices``).

    With ``within_alphabet``, each task's characters all come from one alphabet, chosen
    uniformly among the alphabets with at least ``n_way`` characters (Lake's and Koch's
    protocol); otherwise they come from anywhere in the split.

    Each class's drawings are drawn independently, unless ``shared_drawers``: then every class
    of a task takes its support drawings from the same ``k_shot`` drawers and its queries from
    the same ``n_query`` other drawers, as in Lake's runs (one drawer drew all 20 support
    drawings of a run, another all 20 queries). Drawing ``j`` of every character of an alphabet
    is by drawer ``j``. ``drawers`` limits the drawers used (drawing numbers from 0; Lake's runs
    use the first eight); by default all of them.

    Raises TypeError or ValueError if the request is impossible (see ``check_task_request``)
    or ``n_tasks`` is not a positive int.
    """
    check_count("n_tasks", n_tasks, 1, "there is nothing to draw (or to average) over no tasks")
    check_task_request(data, n_way, k_shot, n_query, within_alphabet)
    allowed = _allowed_drawers(data, drawers, k_shot + n_query)
    rng = seeded_generator(rng)
    # A random key per (task, character); the n_way smallest keys are a uniform random choice,
    # already in random order.
    keys = rng.random((n_tasks, len(data)))
    if within_alphabet:
        alphabet_ids = data.alphabet_ids
        sizes = np.bincount(alphabet_ids)
        eligible = np.flatnonzero(sizes >= n_way)
        chosen = rng.choice(eligible, size=n_tasks)
        keys[alphabet_ids[None, :] != chosen[:, None]] = np.inf
    characters = np.argsort(keys, axis=1)[:, :n_way]
    drawing_keys = rng.random((n_tasks, 1 if shared_drawers else n_way, data.images.shape[1]))
    drawing_keys[..., ~allowed] = np.inf
    drawings = np.broadcast_to(np.argsort(drawing_keys, axis=2), (n_tasks, n_way, data.images.shape[1])).copy()
    support_order = np.argsort(rng.random((n_tasks, n_way * k_shot)), axis=1)
    return TaskIndices(characters, drawings[..., :k_shot], drawings[..., k_shot : k_shot + n_query], support_order)


def _allowed_drawers(data: OmniglotSplit, drawers: Sequence[int] | None, needed: int) -> np.ndarray:
    """(n_drawings,) bool mask of the drawers a task may use; checks there are ``needed`` of them."""
    n_drawings = data.images.shape[1]
    allowed = np.ones(n_drawings, dtype=bool)
    if drawers is not None:
        chosen = np.asarray(drawers)
        integers = chosen.ndim == 1 and np.issubdtype(chosen.dtype, np.integer)
        if not integers or np.any((chosen < 0) | (chosen >= n_drawings)):
            raise ValueError(f"drawers must be drawing numbers in [0, {n_drawings}), got {drawers!r}")
        allowed[:] = False
        allowed[chosen] = True
    if allowed.sum() < needed:
        raise ValueError(
            f"k_shot + n_query = {needed} drawers are needed, but only {int(allowed.sum())} are allowed: "
            "allow more drawers or lower k_shot or n_query"
        )
    return allowed


def tasks_like_runs(
    data: OmniglotSplit,
    run_support: np.ndarray,
    run_query: np.ndarray,
    tasks_per_run: int,
    rng: np.random.Generator | int | None = None,
) -> TaskIndices:
    """Tasks with each run's alphabet, support drawer and query drawer, but other characters.

    ``run_support`` and ``run_query`` are (n_runs, n_way, 2) int (character row, drawing), as
    ``data.lake_run_drawings`` gives them; every run must use one alphabet, one drawing number
    for its support set and another for its queries (Lake's runs do). For each run,
    ``tasks_per_run`` one-shot tasks draw ``n_way`` characters of the run's alphabet at random;
    their support drawings are the run's support drawer's and their queries its query drawer's.

    Returns TaskIndices of ``n_runs * tasks_per_run`` tasks, run by run. Raises ValueError if a
    run mixes alphabets or drawers, or its alphabet has fewer than ``n_way`` characters.
    """
    check_count("tasks_per_run", tasks_per_run, 1, "each run needs at least one task")
    rng = seeded_generator(rng)
    n_runs, n_way, _ = run_support.shape
    characters, support, query = [], [], []
    for run in range(n_runs):
        alphabets = np.unique(data.alphabet_ids[np.concatenate([run_support[run, :, 0], run_query[run, :, 0]])])
        support_drawers, query_drawers = np.unique(run_support[run, :, 1]), np.unique(run_query[run, :, 1])
        if len(alphabets) != 1 or len(support_drawers) != 1 or len(query_drawers) != 1:
            raise ValueError(f"run {run} mixes alphabets or drawers: it has no single alphabet and drawer pair")
        pool = np.flatnonzero(data.alphabet_ids == alphabets[0])
        if len(pool) < n_way:
            raise ValueError(f"run {run}'s alphabet has {len(pool)} characters, fewer than n_way={n_way}")
        for _ in range(tasks_per_run):
            characters.append(rng.choice(pool, size=n_way, replace=False))
            support.append(np.full((n_way, 1), support_drawers[0]))
            query.append(np.full((n_way, 1), query_drawers[0]))
    order = np.argsort(rng.random((len(characters), n_way)), axis=1)
    return TaskIndices(np.array(characters), np.array(support), np.array(query), order)


def sample_task(
    data: OmniglotSplit,
    n_way: int,
    k_shot: int = 1,
    n_query: int = 1,
    *,
    within_alphabet: bool = False,
    rng: np.random.Generator | int | None = None,
) -> Task:
    """Draw one N-way k-shot task.

    Returns a Task whose support is (n_way * k_shot, 105, 105) bool, with labels
    (n_way * k_shot,) int in [0, n_way), and whose query is (n_way * n_query, 105, 105).

    Raises ValueError if the split (or every alphabet, when within_alphabet) has fewer than
    n_way characters, or a character has fewer than k_shot + n_query drawings.
    """
    indices = sample_task_indices(data, 1, n_way, k_shot, n_query, within_alphabet=within_alphabet, rng=rng)
    return indices.task(data, 0)


@dataclass(frozen=True)
class PairIndices:
    """Same/different pairs as (character row, drawing) indices.

    Attributes:
        left, right: (n_pairs, 2) int, each row (character, drawing).
        same: (n_pairs,) float32, 1.0 where both sides are the same character.
    """

    left: np.ndarray
    right: np.ndarray
    same: np.ndarray

    def images(self, data: OmniglotSplit) -> tuple[np.ndarray, np.ndarray]:
        """Both sides' images, each (n_pairs, 105, 105) bool."""
        return data.images[self.left[:, 0], self.left[:, 1]], data.images[self.right[:, 0], self.right[:, 1]]


def sample_pair_indices(
    data: OmniglotSplit,
    n_pairs: int,
    *,
    hard_negatives: bool = False,
    rng: np.random.Generator | int | None = None,
) -> PairIndices:
    """Draw ``n_pairs`` pairs, half same-character and half different, in random order.

    Same pairs are two different drawings of one character. Different pairs are two characters
    from anywhere in the split, or, with ``hard_negatives``, from the same alphabet (harder:
    characters of one alphabet share strokes and style).

    Raises ValueError if the split has fewer than 2 characters (or, with hard_negatives, an
    alphabet has only one), or if ``n_pairs`` is odd or not positive; TypeError if it is not an int.
    """
    check_count("n_pairs", n_pairs, 2, "half of them are same pairs and half different")
    if n_pairs % 2:
        raise ValueError(f"n_pairs must be a positive even number, to be half same and half different (got {n_pairs})")
    if len(data) < 2:
        raise ValueError(f"the split {data.name!r} has {len(data)} characters: pairs need at least 2")
    rng = seeded_generator(rng)
    half = n_pairs // 2
    n_drawings = data.images.shape[1]
    anchor = rng.integers(len(data), size=n_pairs)
    other = np.where(
        np.arange(n_pairs) < half,
        anchor,
        _other_character(data, anchor, hard_negatives, rng),
    )
    left_drawing = rng.integers(n_drawings, size=n_pairs)
    # A same pair never shows one drawing twice: shift by 1..19 drawings, modulo 20.
    right_drawing = (left_drawing + rng.integers(1, n_drawings, size=n_pairs)) % n_drawings
    right_drawing = np.where(np.arange(n_pairs) < half, right_drawing, rng.integers(n_drawings, size=n_pairs))
    order = rng.permutation(n_pairs)
    same = (np.arange(n_pairs) < half).astype(np.float32)
    left = np.stack([anchor, left_drawing], axis=1)[order]
    right = np.stack([other, right_drawing], axis=1)[order]
    return PairIndices(left, right, same[order])


def _other_character(
    data: OmniglotSplit, anchor: np.ndarray, same_alphabet: bool, rng: np.random.Generator
) -> np.ndarray:
    """For each anchor row, a uniformly chosen different row (from its alphabet if asked)."""
    if not same_alphabet:
        return (anchor + rng.integers(1, len(data), size=anchor.shape)) % len(data)
    alphabet_ids = data.alphabet_ids
    sizes = np.bincount(alphabet_ids)
    if sizes.min() < 2:
        lonely = data.alphabet_names[int(np.argmin(sizes))]
        raise ValueError(f"hard negatives need 2 characters per alphabet, but {lonely!r} has 1")
    by_alphabet = np.argsort(alphabet_ids, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    position = np.empty(len(data), dtype=int)
    position[by_alphabet] = np.arange(len(data)) - starts[alphabet_ids[by_alphabet]]
    alphabet = alphabet_ids[anchor]
    shift = rng.integers(1, sizes[alphabet])
    return by_alphabet[starts[alphabet] + (position[anchor] + shift) % sizes[alphabet]]
