"""Figures of drawings: one character, the alphabets, a task, an episode, pairs, distortions, mistakes.

Each shows ink masks as black on white (``draw_drawing``); a frame's colour says what a drawing
is (``style``). Every function here draws several panels, so it makes its own Figure and returns
it, except ``draw_drawing``, which draws into the Axes it is given.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure

from oneshot_lib.data.omniglot import OmniglotSplit
from oneshot_lib.data.tasks import Task
from oneshot_lib.viz.style import (
    ANSWER_COLOR,
    HIGHLIGHT_COLOR,
    ORIGINAL_COLOR,
    QUERY_COLOR,
    QUIET_FRAME,
    SHIFTED_COLOR,
    WRONG_COLOR,
    alphabet_labels,
    grid_shape,
)


def draw_drawing(
    ax: Axes,
    image: np.ndarray,
    *,
    frame_color=None,
    frame_width: float = 3.0,
    title: str | None = None,
    fontsize: float = 8,
) -> Axes:
    """Show one ink mask (H, W) bool, or a (H, W) float in [0, 1], as black ink on white.

    ``frame_color`` draws a thick frame of that colour (a thin grey one otherwise).
    """
    ax.imshow(image, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color(QUIET_FRAME if frame_color is None else frame_color)
        spine.set_linewidth(0.8 if frame_color is None else frame_width)
    if title is not None:
        ax.set_title(title, fontsize=fontsize, pad=3)
    return ax


def _side_by_side(images: np.ndarray, gap: int = 8) -> np.ndarray:
    """(H, n * W + (n - 1) * gap) float: images (n, H, W) in a row, with blank gaps."""
    n, height, width = images.shape
    strip = np.zeros((height, n * width + (n - 1) * gap))
    for i, image in enumerate(images):
        strip[:, i * (width + gap) : i * (width + gap) + width] = image
    return strip


def _check_row(data: OmniglotSplit, row: int) -> None:
    if not 0 <= row < len(data):
        raise IndexError(f"character row {row} is out of range: {data.name!r} has rows 0 to {len(data) - 1}")


def plot_character(data: OmniglotSplit, row: int, *, n_cols: int = 10, panel_inches: float = 0.8) -> Figure:
    """All drawings of one character, (20, 105, 105) for Omniglot, in a grid titled with its name.

    ``row`` indexes ``data`` (``data.images[row]``). Raises IndexError if it is out of range.

    Returns a new Figure, one panel per drawing.
    """
    _check_row(data, row)
    drawings = data.images[row]
    n_rows = int(np.ceil(len(drawings) / n_cols))
    fig, axes = plt.subplots(
        n_rows, n_cols, figsize=(panel_inches * n_cols, panel_inches * n_rows + 0.45), squeeze=False
    )
    for ax, image, number in zip(axes.flat, drawings, range(1, len(drawings) + 1), strict=False):
        draw_drawing(ax, image, title=f"drawer {number}", fontsize=6)
    for ax in axes.flat[len(drawings) :]:
        ax.set_axis_off()
    alphabet = str(data.alphabets[row]).replace("_", " ")
    fig.suptitle(f"{alphabet}, {data.characters[row]}: {len(drawings)} drawings by different people")
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - 0.5 / fig.get_figheight(), wspace=0.08)
    return fig


def plot_alphabet_gallery(
    data: OmniglotSplit,
    *,
    per_alphabet: int = 3,
    n_cols: int = 5,
    highlight: Sequence[str] = (),
    seed: int = 0,
    title: str | None = None,
) -> Figure:
    """One panel per alphabet showing ``per_alphabet`` of its characters (first drawing of each).

    The characters are chosen at random (seeded by ``seed``). Alphabets named in ``highlight``
    get an orange frame (the validation alphabets, say). Raises ValueError if ``data`` is empty
    or ``per_alphabet`` < 1.

    Returns a new Figure, one panel per alphabet.
    """
    if len(data) == 0 or per_alphabet < 1:
        raise ValueError(f"nothing to show: {len(data)} characters, per_alphabet={per_alphabet} (need >= 1)")
    rng = np.random.default_rng(seed)
    names = data.alphabet_names
    n_rows = int(np.ceil(len(names) / n_cols))
    width, fontsize, suptitle_inches = 10.0, 8, 0.4
    # Panel titles are wrapped to the panel width; the layout leaves room for the longest.
    characters_per_line = max(8, int(0.9 * width / n_cols * 72 / (0.6 * fontsize)))
    titles = [
        textwrap.fill(f"{label} ({np.sum(data.alphabets == name)})", characters_per_line)
        for name, label in zip(names, alphabet_labels(names), strict=True)
    ]
    title_inches = 0.08 + 0.16 * max(title.count("\n") + 1 for title in titles)
    image_aspect = data.images.shape[2] / (per_alphabet * (data.images.shape[3] + 8))
    image_inches = 0.9 * width / n_cols * image_aspect
    height = n_rows * (image_inches + title_inches) + suptitle_inches + 0.1
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(width, height), squeeze=False)
    for ax, name, panel_title in zip(axes.flat, names, titles, strict=False):
        rows = np.flatnonzero(data.alphabets == name)
        chosen = np.sort(rng.choice(rows, size=min(per_alphabet, len(rows)), replace=False))
        draw_drawing(
            ax,
            _side_by_side(data.images[chosen, 0]),
            frame_color=HIGHLIGHT_COLOR if name in highlight else None,
            title=panel_title,
            fontsize=fontsize,
        )
    for ax in axes.flat[len(names) :]:
        ax.set_axis_off()
    each = f"{per_alphabet} character{'s' if per_alphabet > 1 else ''} each"
    fig.suptitle(title or f"{data.name}: {len(names)} alphabets, {each}")
    fig.subplots_adjust(
        left=0.01,
        right=0.99,
        bottom=0.1 / height,
        top=1 - (suptitle_inches + title_inches) / height,
        wspace=0.1,
        hspace=title_inches / image_inches,
    )
    return fig


def plot_task(
    task: Task,
    query_index: int = 0,
    *,
    show_answer: bool = True,
    predicted_class: int | None = None,
    frame_colors: Sequence | None = None,
    title: str | None = None,
    title_size: float = 12,
    fig: Figure | SubFigure | None = None,
    panel_inches: float = 0.85,
) -> Figure | SubFigure:
    """One query beside the task's support set in a square-ish grid, as in the blog's figures.

    Args:
        task: a Task (support (S, H, W), support_labels (S,), query (Q, H, W)).
        query_index: which query to show, in [0, Q).
        show_answer: frame the support images of the query's class in green.
        predicted_class: a class a scorer picked; if it is wrong, its images are framed in red.
        frame_colors: S colours, one per support image (e.g. by alphabet), used where no answer
            or prediction frame is drawn.
        title: the figure title; by default the task's N and k. ``title_size``: its font size.
        fig: draw into this Figure or SubFigure instead of a new figure.
        panel_inches: the size of one drawing, for a new figure.

    Returns the Figure (or SubFigure) drawn on. Raises IndexError for a bad ``query_index`` and
    ValueError if ``frame_colors`` does not have one colour per support image.
    """
    if not 0 <= query_index < len(task.query):
        raise IndexError(f"query_index {query_index} is out of range: the task has {len(task.query)} queries")
    n_support = len(task.support)
    if frame_colors is not None and len(frame_colors) != n_support:
        raise ValueError(f"frame_colors has {len(frame_colors)} colours, the support set {n_support} images")
    n_rows, n_cols = grid_shape(n_support)
    if fig is None:
        fig = plt.figure(figsize=(panel_inches * (n_cols + 1.6), panel_inches * n_rows + 0.5))
    height_inches = fig.bbox.height / fig.dpi
    grid = fig.add_gridspec(
        n_rows,
        n_cols + 2,
        width_ratios=[1, 0.5] + [1] * n_cols,
        left=0.02,
        right=0.98,
        bottom=0.02,
        top=1 - 0.45 / height_inches,
        wspace=0.1,
        hspace=0.1,
    )
    answer = int(task.query_labels[query_index])
    draw_drawing(fig.add_subplot(grid[:, 0]), task.query[query_index], frame_color=QUERY_COLOR, title="query")
    for position, (image, label) in enumerate(zip(task.support, task.support_labels, strict=True)):
        row, column = divmod(position, n_cols)
        color = None if frame_colors is None else frame_colors[position]
        if predicted_class is not None and label == predicted_class != answer:
            color = WRONG_COLOR
        if show_answer and label == answer:
            color = ANSWER_COLOR
        draw_drawing(fig.add_subplot(grid[row, column + 2]), image, frame_color=color)
    if title is None:
        k_shot = n_support // task.n_way
        title = f"{task.n_way}-way {k_shot}-shot task" + (" (answer framed in green)" if show_answer else "")
    fig.suptitle(title, fontsize=title_size)
    return fig


def plot_drawing_row(drawings: Mapping[str, np.ndarray], *, title: str, panel_inches: float = 1.25) -> Figure:
    """One panel per drawing (H, W), titled by its key: a drawing and what was done to it.

    Returns a new Figure, one panel per drawing.
    """
    fig, axes = plt.subplots(
        1, len(drawings), figsize=(panel_inches * len(drawings), panel_inches + 0.6), squeeze=False
    )
    for ax, (label, drawing) in zip(axes.flat, drawings.items(), strict=True):
        draw_drawing(ax, np.asarray(drawing), title=textwrap.fill(label, 16))
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_shifted_copies(original: np.ndarray, shifted: Mapping[str, np.ndarray]) -> Figure:
    """The drawing (H, W) bool over each shifted copy (H, W) bool, one panel per ``shifted`` entry.

    Ink of the original only is blue, of the copy only orange, of both black: the orange and
    blue pixels are exactly the ones pixel L2 counts as different.

    Returns a new Figure, one panel per shifted copy.
    """
    fig, axes = plt.subplots(1, len(shifted), figsize=(1.9 * len(shifted), 2.2), squeeze=False)
    for ax, (label, copy) in zip(axes.flat, shifted.items(), strict=True):
        overlay = np.ones((*original.shape, 3))
        overlay[original & ~copy] = plt.matplotlib.colors.to_rgb(ORIGINAL_COLOR)
        overlay[copy & ~original] = plt.matplotlib.colors.to_rgb(SHIFTED_COLOR)
        overlay[original & copy] = 0.0
        ax.imshow(overlay, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        differing = int((original != copy).sum())
        ax.set_title(f"{label}\n{differing} pixels differ", fontsize=8)
    fig.suptitle("A drawing (blue) and its shifted copy (orange); black where both have ink", fontsize=10)
    fig.tight_layout()
    return fig


def plot_pair_batch(left: np.ndarray, right: np.ndarray, same: np.ndarray, *, n_pairs: int = 8) -> Figure:
    """The first ``n_pairs`` pairs of a training batch, one column per pair, labelled same/different.

    ``left`` and ``right`` are (B, H, W) float or bool images, ``same`` (B,) 0/1 targets.

    Returns a new Figure, one column of two panels per pair.
    """
    n_pairs = min(n_pairs, len(same))
    fig, axes = plt.subplots(2, n_pairs, figsize=(1.1 * n_pairs, 2.5), squeeze=False)
    for column in range(n_pairs):
        color = ANSWER_COLOR if same[column] else WRONG_COLOR
        draw_drawing(
            axes[0, column], left[column], frame_color=color, title="same" if same[column] else "different", fontsize=8
        )
        draw_drawing(axes[1, column], right[column], frame_color=color)
    fig.suptitle("A training batch: pairs of drawings and their targets", fontsize=10)
    fig.tight_layout()
    return fig


def plot_distortion_gallery(originals: np.ndarray, distorted: np.ndarray) -> Figure:
    """Each original drawing (n, H, W) followed by its distortions (n, m, H, W), one row each.

    Returns a new Figure of n rows of m + 1 panels.
    """
    n, m = distorted.shape[:2]
    fig, axes = plt.subplots(n, m + 1, figsize=(0.95 * (m + 1), 1.0 * n), squeeze=False)
    for row in range(n):
        draw_drawing(axes[row, 0], originals[row], frame_color=QUERY_COLOR, title="original" if row == 0 else None)
        for column in range(m):
            draw_drawing(
                axes[row, column + 1], distorted[row, column], title="distorted" if row == 0 and column == 0 else None
            )
    fig.suptitle("Koch's affine distortions: each drawing, then random distortions of it", fontsize=10)
    fig.tight_layout()
    return fig


def plot_episode(episode: Mapping[str, np.ndarray], query_labels: np.ndarray, *, panel_inches: float = 0.7) -> Figure:
    """A training episode as the network sees it: the support set above, the queries below.

    ``episode`` holds ``"support"`` (S, H, H, 1) float, ``"support_labels"`` (S,) int in [0, N)
    and ``"query"`` (Q, H, H, 1) float (as ``episodic.episode_dataset`` streams them);
    ``query_labels`` (Q,) int. Each image is titled with its class.

    Returns a new Figure, one panel per image.
    """
    support, query = np.asarray(episode["support"]), np.asarray(episode["query"])
    support_labels, query_labels = np.asarray(episode["support_labels"]), np.asarray(query_labels)
    if len(support_labels) != len(support) or len(query_labels) != len(query):
        raise ValueError("one label per support image and per query image is needed")
    columns = max(len(support), int(np.ceil(len(query) / 2)))
    rows = 1 + int(np.ceil(len(query) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(panel_inches * columns, panel_inches * 1.25 * rows), squeeze=False)
    for ax, image, label in zip(axes[0], support, support_labels, strict=False):
        draw_drawing(ax, image[..., 0], title=f"S: {label}", fontsize=7)
    for ax, image, label in zip(axes[1:].flat, query, query_labels, strict=False):
        draw_drawing(ax, image[..., 0], frame_color=QUERY_COLOR, frame_width=1.5, title=f"Q: {label}", fontsize=7)
    for ax in (*axes[0, len(support) :], *axes[1:].flat[len(query) :]):
        ax.set_axis_off()
    fig.suptitle("One training episode: support set (S, top row) and queries (Q), with their classes", fontsize=9)
    fig.tight_layout()
    return fig


def plot_mistakes(
    queries: np.ndarray,
    answers: np.ndarray,
    picks: np.ndarray,
    answer_scores: np.ndarray,
    pick_scores: np.ndarray,
    *,
    title: str = "Hardest mistakes",
) -> Figure:
    """One row per mistake: the query, the right support image and the chosen one, with scores.

    ``queries``, ``answers`` and ``picks`` are (n, H, W) images; ``answer_scores`` and
    ``pick_scores`` (n,) the scorer's scores of the right and the chosen support image.

    Returns a new Figure of n rows of three panels.
    """
    n = len(queries)
    fig, axes = plt.subplots(n, 3, figsize=(4.2, 1.45 * n), squeeze=False)
    for row in range(n):
        draw_drawing(axes[row, 0], queries[row], frame_color=QUERY_COLOR, title="query" if row == 0 else None)
        draw_drawing(axes[row, 1], answers[row], frame_color=ANSWER_COLOR, title=f"right: {answer_scores[row]:.3f}")
        draw_drawing(axes[row, 2], picks[row], frame_color=WRONG_COLOR, title=f"chosen: {pick_scores[row]:.3f}")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
