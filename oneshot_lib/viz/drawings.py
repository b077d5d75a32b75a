"""Figures of drawings: one character, the alphabets, a task, an episode, pairs, distortions, mistakes.

Each shows ink masks as black on white (``draw_drawing``); a frame's colour says what a drawing
is (``style``). Every function here draws several panels, so it makes its own Figure and returns
it, except ``draw_drawing``, which draws into the Axes it is given. The module runs past 400
lines because every figure of drawings shares ``draw_drawing`` and its grid helpers; split by
subject, each part would import the others.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from matplotlib.patches import PathPatch
from matplotlib.path import Path

from oneshot_lib.data.omniglot import OmniglotSplit
from oneshot_lib.data.tasks import Task
from oneshot_lib.viz.style import (
    ANSWER_COLOR,
    FIGURE_INCHES,
    HIGHLIGHT_COLOR,
    ORIGINAL_COLOR,
    QUERY_COLOR,
    QUIET_FRAME,
    SHIFTED_COLOR,
    SMALL_POINTS,
    TITLE_POINTS,
    WRONG_COLOR,
    alphabet_labels,
    alphabet_name,
    balanced_grid,
    character_name,
    course_figure,
    grid_shape,
    wrap,
)


@course_figure
def draw_drawing(
    ax: Axes,
    image: np.ndarray,
    *,
    frame_color=None,
    frame_width: float = 3.0,
    title: str | None = None,
    fontsize: float = SMALL_POINTS,
    vector: bool = False,
) -> Axes:
    """Show one ink mask (H, W) bool, or a (H, W) float in [0, 1], as black ink on white.

    ``frame_color`` draws a thick frame of that colour (a thin grey one otherwise). ``vector``
    draws the ink (pixels over 0.5) as one filled path (``ink_path``) instead of an image, so
    an SVG of the figure holds no embedded picture whose bytes depend on the image library.
    """
    if vector:
        height, width = np.shape(image)
        ax.add_patch(PathPatch(ink_path(image), facecolor="black", edgecolor="none"))
        ax.set(xlim=(-0.5, width - 0.5), ylim=(height - 0.5, -0.5), aspect="equal", facecolor="white")
    else:
        ax.imshow(image, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color(QUIET_FRAME if frame_color is None else frame_color)
        spine.set_linewidth(0.8 if frame_color is None else frame_width)
    if title is not None:
        ax.set_title(title, fontsize=fontsize, pad=3)
    return ax


def ink_path(image: np.ndarray) -> Path:
    """The ink of ``image`` (H, W) (pixels over 0.5) as one Path of pixel-row runs, in pixel
    coordinates (pixel (row, column) spans column +- 0.5, row +- 0.5), as ``imshow`` places it."""
    ink = np.asarray(image, dtype=float) > 0.5
    vertices: list[tuple[float, float]] = []
    for row, line in enumerate(ink):
        edges = np.flatnonzero(np.diff(np.concatenate([[0], line.astype(np.int8), [0]])))
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            left, right, top, bottom = start - 0.5, stop - 0.5, row - 0.5, row + 0.5
            vertices += [(left, top), (right, top), (right, bottom), (left, bottom), (left, top)]
    codes = [Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY] * (len(vertices) // 5)
    return Path(np.array(vertices, dtype=float).reshape(-1, 2), codes or None)


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


@course_figure
def plot_character(data: OmniglotSplit, row: int, *, n_cols: int = 10, panel_inches: float = 0.7) -> Figure:
    """All drawings of one character, (20, 105, 105) for Omniglot, in a grid titled with its name.

    Each drawing is titled with its drawer's number. ``row`` indexes ``data``
    (``data.images[row]``). Raises IndexError if it is out of range.

    Returns a new Figure, one panel per drawing.
    """
    _check_row(data, row)
    drawings = data.images[row]
    n_rows, n_cols = balanced_grid(len(drawings), n_cols)
    panel_inches = min(panel_inches, FIGURE_INCHES / (n_cols * 1.05))
    title_inches = 0.22  # a drawer's number above each drawing
    height = n_rows * (panel_inches + title_inches) + 0.45
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(panel_inches * n_cols * 1.05, height), squeeze=False)
    for ax, image, number in zip(axes.flat, drawings, range(1, len(drawings) + 1), strict=False):
        draw_drawing(ax, image, title=str(number))
    for ax in axes.flat[len(drawings) :]:
        ax.set_axis_off()
    alphabet, character = alphabet_name(data.alphabets[row]), character_name(data.characters[row])
    fig.suptitle(
        wrap(
            f"{alphabet}, {character}: {len(drawings)} drawings by different people, by drawer",
            fig.get_figwidth(),
        )
    )
    fig.subplots_adjust(
        left=0.01, right=0.99, bottom=0.01, top=1 - 0.45 / height, wspace=0.05, hspace=title_inches / panel_inches
    )
    return fig


@course_figure
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
    width, fontsize, suptitle_inches = FIGURE_INCHES, SMALL_POINTS, 0.45
    # Panel titles are wrapped to the panel width; the layout leaves room for the longest.
    characters_per_line = max(8, int(0.95 * width / n_cols * 72 / (0.55 * fontsize)))
    titles = [
        textwrap.fill(f"{label} ({np.sum(data.alphabets == name)})", characters_per_line)
        for name, label in zip(names, alphabet_labels(names), strict=True)
    ]
    title_inches = 0.08 + 0.17 * max(title.count("\n") + 1 for title in titles)
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
    fig.suptitle(wrap(title or f"{data.name}: {len(names)} alphabets, {each}", width, TITLE_POINTS))
    fig.subplots_adjust(
        left=0.01,
        right=0.99,
        bottom=0.1 / height,
        top=1 - (suptitle_inches + title_inches) / height,
        wspace=0.1,
        hspace=title_inches / image_inches,
    )
    return fig


@course_figure
def plot_task(
    task: Task,
    query_index: int = 0,
    *,
    show_answer: bool = True,
    predicted_class: int | None = None,
    frame_colors: Sequence | None = None,
    numbered: bool = True,
    title: str | None = None,
    title_size: float = TITLE_POINTS,
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
        numbered: write each support image's index, 0 to S - 1, above its top left corner: the position
            ``plot_score_bars`` and a scorer's (Q, S) scores give it. Left out where drawings
            are too small to carry it.
        title: the figure title; by default the task's N and k. ``title_size``: its font size.
        fig: draw into this Figure or SubFigure instead of a new figure.
        panel_inches: the size of one drawing, for a new figure; smaller if the task would
            not fit the column.

    Returns the Figure (or SubFigure) drawn on. Raises IndexError for a bad ``query_index`` and
    ValueError if ``frame_colors`` does not have one colour per support image.
    """
    if not 0 <= query_index < len(task.query):
        raise IndexError(f"query_index {query_index} is out of range: the task has {len(task.query)} queries")
    n_support = len(task.support)
    if frame_colors is not None and len(frame_colors) != n_support:
        raise ValueError(f"frame_colors has {len(frame_colors)} colours, the support set {n_support} images")
    n_rows, n_cols = grid_shape(n_support)
    if title is None:
        k_shot = n_support // task.n_way
        title = f"{task.n_way}-way {k_shot}-shot task" + (" (answer framed in green)" if show_answer else "")
    if fig is None:
        panel_inches = min(panel_inches, FIGURE_INCHES / (n_cols + 1.6))
        panel_shown = panel_inches
    else:
        panel_shown = fig.bbox.width / fig.dpi / (n_cols + 1.6)
    numbered = numbered and panel_shown >= 0.45  # room for "59" at SMALL_POINTS beside a drawing
    number_inches = 0.17 if numbered else 0.0  # each support drawing's number sits above it
    if fig is None:
        width = panel_inches * (n_cols + 1.6)
        title = wrap(title, width, title_size)
        height = (panel_inches + number_inches) * n_rows + 0.3 + 0.2 * (title.count("\n") + 1)
        fig = plt.figure(figsize=(width, height))
    height_inches = fig.bbox.height / fig.dpi
    grid = fig.add_gridspec(
        n_rows,
        n_cols + 2,
        width_ratios=[1, 0.5] + [1] * n_cols,
        left=0.02,
        right=0.98,
        bottom=0.02,
        top=1 - (0.25 + 0.2 * (title.count("\n") + 1) + number_inches) / height_inches,
        wspace=0.1,
        hspace=0.1 + number_inches / panel_shown,
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
        ax = draw_drawing(fig.add_subplot(grid[row, column + 2]), image, frame_color=color)
        if numbered:  # above the frame's top left corner, clear of the ink
            ax.annotate(
                str(position),
                (0, 1),
                xycoords="axes fraction",
                xytext=(1, 2),
                textcoords="offset points",
                ha="left",
                va="bottom",
                fontsize=SMALL_POINTS,
                color="0.3",
                annotation_clip=False,
            )
    fig.suptitle(title, fontsize=title_size)
    return fig


@course_figure
def plot_drawing_row(drawings: Mapping[str, np.ndarray], *, title: str, panel_inches: float = 1.25) -> Figure:
    """One panel per drawing (H, W), titled by its key: a drawing and what was done to it.

    The panels fill rows of equal length that fit the column (8 drawings make two rows of 4).

    Returns a new Figure, one panel per drawing.
    """
    n_rows, n_cols = balanced_grid(len(drawings), int(FIGURE_INCHES // panel_inches))
    labels = [wrap(label, panel_inches, SMALL_POINTS) for label in drawings]
    lines = max(label.count("\n") + 1 for label in labels)
    title = wrap(title, panel_inches * n_cols, TITLE_POINTS)
    height = n_rows * (panel_inches + 0.18 * lines + 0.1) + 0.25 * (title.count("\n") + 1) + 0.1
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(panel_inches * n_cols, height), squeeze=False)
    for ax, label, drawing in zip(axes.flat, labels, drawings.values(), strict=False):
        draw_drawing(ax, np.asarray(drawing), title=label)
    for ax in axes.flat[len(drawings) :]:
        ax.set_axis_off()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


@course_figure
def plot_shifted_copies(original: np.ndarray, shifted: Mapping[str, np.ndarray]) -> Figure:
    """The drawing (H, W) bool over each shifted copy (H, W) bool, one panel per ``shifted`` entry.

    Ink of the original only is blue, of the copy only orange, of both black: the orange and
    blue pixels are exactly the ones pixel L2 counts as different.

    Returns a new Figure, one panel per shifted copy.
    """
    n_rows, n_cols = balanced_grid(len(shifted), 4)
    panel = min(2.0, FIGURE_INCHES / n_cols)
    title = wrap(
        "A drawing (blue) and its shifted copy (orange); black where both have ink", panel * n_cols, TITLE_POINTS
    )
    fig, axes = plt.subplots(
        n_rows, n_cols, figsize=(panel * n_cols, n_rows * (panel + 0.45) + 0.2 * (title.count("\n") + 1)), squeeze=False
    )
    for ax, (label, copy) in zip(axes.flat, shifted.items(), strict=False):
        overlay = np.ones((*original.shape, 3))
        overlay[original & ~copy] = plt.matplotlib.colors.to_rgb(ORIGINAL_COLOR)
        overlay[copy & ~original] = plt.matplotlib.colors.to_rgb(SHIFTED_COLOR)
        overlay[original & copy] = 0.0
        ax.imshow(overlay, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        differing = int((original != copy).sum())
        ax.set_title(f"{label}\n{differing} pixels differ", fontsize=SMALL_POINTS)
    for ax in axes.flat[len(shifted) :]:
        ax.set_axis_off()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


@course_figure
def plot_pair_batch(left: np.ndarray, right: np.ndarray, same: np.ndarray, *, n_pairs: int = 8) -> Figure:
    """The first ``n_pairs`` pairs of a training batch, one column per pair, labelled same/different.

    ``left`` and ``right`` are (B, H, W) float or bool images, ``same`` (B,) 0/1 targets. More
    pairs than fit the column's width go on to a second band of columns.

    Returns a new Figure, one column of two panels per pair.
    """
    n_pairs = min(n_pairs, len(same))
    bands, columns = balanced_grid(n_pairs, 8)
    panel = min(1.1, FIGURE_INCHES / columns)
    gap = 0.4  # between bands, in panels: the two drawings of a pair sit closer than two pairs
    height = bands * (2 + gap) * panel + 0.3
    fig = plt.figure(figsize=(panel * columns, height))
    grid = fig.add_gridspec(
        3 * bands - 1,
        columns,
        height_ratios=([1, 1, gap] * bands)[:-1],
        hspace=0.06,
        wspace=0.1,
        left=0.01,
        right=0.99,
        bottom=0.01,
        top=1 - (0.3 + gap * panel) / height,
    )
    for index in range(n_pairs):
        band, column = divmod(index, columns)
        top, bottom = fig.add_subplot(grid[3 * band, column]), fig.add_subplot(grid[3 * band + 1, column])
        color = ANSWER_COLOR if same[index] else WRONG_COLOR
        draw_drawing(top, left[index], frame_color=color, title="same" if same[index] else "different")
        draw_drawing(bottom, right[index], frame_color=color)
    fig.suptitle(wrap("A training batch: pairs of drawings and their targets", panel * columns, TITLE_POINTS))
    return fig


@course_figure
def plot_distortion_gallery(originals: np.ndarray, distorted: np.ndarray) -> Figure:
    """Each original drawing (n, H, W) followed by its distortions (n, m, H, W), one row each.

    Returns a new Figure of n rows of m + 1 panels.
    """
    n, m = distorted.shape[:2]
    panel = min(0.95, FIGURE_INCHES / (m + 1))
    title = wrap(
        "Koch's affine distortions: each drawing, then random distortions of it", panel * (m + 1), TITLE_POINTS
    )
    fig, axes = plt.subplots(
        n, m + 1, figsize=(panel * (m + 1), panel * n + 0.3 + 0.2 * (title.count("\n") + 1)), squeeze=False
    )
    for row in range(n):
        draw_drawing(axes[row, 0], originals[row], frame_color=QUERY_COLOR, title="original" if row == 0 else None)
        for column in range(m):
            draw_drawing(
                axes[row, column + 1], distorted[row, column], title="distorted" if row == 0 and column == 0 else None
            )
    fig.suptitle(title)
    fig.tight_layout()
    return fig


@course_figure
def plot_episode(episode: Mapping[str, np.ndarray], query_labels: np.ndarray, *, panel_inches: float = 0.9) -> Figure:
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
    panel_inches = min(panel_inches, FIGURE_INCHES / columns)
    title = wrap(
        "One training episode: support set (S, top row) and queries (Q), with their classes",
        max(panel_inches * columns, 3.5),
        TITLE_POINTS,
    )
    lines = title.count("\n") + 1
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(max(panel_inches * columns, 3.5), panel_inches * 1.3 * rows + 0.2 * lines + 0.1),
        squeeze=False,
    )
    for ax, image, label in zip(axes[0], support, support_labels, strict=False):
        draw_drawing(ax, image[..., 0], title=f"S: {label}")
    for ax, image, label in zip(axes[1:].flat, query, query_labels, strict=False):
        draw_drawing(ax, image[..., 0], frame_color=QUERY_COLOR, frame_width=1.5, title=f"Q: {label}")
    for ax in (*axes[0, len(support) :], *axes[1:].flat[len(query) :]):
        ax.set_axis_off()
    fig.suptitle(title)
    fig.tight_layout()
    return fig


@course_figure
def plot_mistakes(
    queries: np.ndarray,
    answers: np.ndarray,
    picks: np.ndarray,
    answer_scores: np.ndarray,
    pick_scores: np.ndarray,
    *,
    title: str = "Hardest mistakes",
) -> Figure:
    """Per mistake, three panels: the query, the right support image and the chosen one, with scores.

    ``queries``, ``answers`` and ``picks`` are (n, H, W) images; ``answer_scores`` and
    ``pick_scores`` (n,) the scorer's scores of the right and the chosen support image. Up to
    three mistakes are stacked in one column; more go two to a row.

    Returns a new Figure of n groups of three panels.
    """
    n = len(queries)
    per_row = 1 if n <= 3 else 2
    n_rows = int(np.ceil(n / per_row))
    panel = 1.15
    title = wrap(title, 3 * per_row * panel + 0.3 * (per_row - 1), TITLE_POINTS)
    fig = plt.figure(
        figsize=(3 * per_row * panel + 0.3 * (per_row - 1), (panel + 0.3) * n_rows + 0.25 * (title.count("\n") + 1))
    )
    ratios = ([1, 1, 1, 0.25] * per_row)[:-1]  # three panels per mistake, a gap between mistakes
    grid = fig.add_gridspec(n_rows, len(ratios), width_ratios=ratios)
    for mistake in range(n):
        row, group = divmod(mistake, per_row)
        axes = [fig.add_subplot(grid[row, 4 * group + panel]) for panel in range(3)]
        first = mistake < per_row
        draw_drawing(axes[0], queries[mistake], frame_color=QUERY_COLOR, title="query" if first else None)
        draw_drawing(axes[1], answers[mistake], frame_color=ANSWER_COLOR, title=f"right: {answer_scores[mistake]:.3f}")
        draw_drawing(axes[2], picks[mistake], frame_color=WRONG_COLOR, title=f"chosen: {pick_scores[mistake]:.3f}")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
