"""The figures the chapters draw. Each function takes data and an optional Axes, and returns
the Figure (or Axes) it drew on, so a chapter cell is one call."""

from __future__ import annotations

import re
import textwrap
from collections import Counter
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from oneshot_lib.data.counting import expected_distinct_seen, same_class_fraction
from oneshot_lib.data.omniglot import OmniglotSplit
from oneshot_lib.data.tasks import Task, sample_task
from oneshot_lib.scoring.evaluate import Accuracy

# ---------------------------------------------------------------- chapter 1: the problem and the data

ANSWER_COLOR = "tab:green"
WRONG_COLOR = "tab:red"
QUERY_COLOR = "black"
HIGHLIGHT_COLOR = "tab:orange"
PICK_COLOR = "tab:blue"  # a scorer's pick, where right and wrong are not to be shown
_QUIET_FRAME = "0.8"


def alphabet_labels(names: Sequence[str]) -> list[str]:
    """Short display names for alphabet folder names, for crowded axes.

    Underscores become spaces and a parenthesised qualifier is dropped, unless it is what tells
    two of ``names`` apart: ``Inuktitut_(Canadian_Aboriginal_Syllabics)`` becomes ``Inuktitut``,
    but ``Japanese_(hiragana)`` and ``Japanese_(katakana)`` keep theirs.
    """
    bare = [re.sub(r"_\(.*\)$", "", name) for name in names]
    counts = Counter(bare)
    chosen = [short if counts[short] == 1 else name for name, short in zip(names, bare, strict=True)]
    return [name.replace("_", " ") for name in chosen]


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
        spine.set_color(_QUIET_FRAME if frame_color is None else frame_color)
        spine.set_linewidth(0.8 if frame_color is None else frame_width)
    if title is not None:
        ax.set_title(title, fontsize=fontsize, pad=3)
    return ax


def _grid_shape(n: int) -> tuple[int, int]:
    """(rows, columns) of the squarest grid with at least n cells, columns >= rows."""
    n_cols = int(np.ceil(np.sqrt(n)))
    return int(np.ceil(n / n_cols)), n_cols


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
    n_rows, n_cols = _grid_shape(n_support)
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


def plot_protocols(data: OmniglotSplit, n_way: int = 20, *, seed: int = 0) -> Figure:
    """Two N-way tasks side by side: within one alphabet (Lake, Koch) and across alphabets (the blog).

    Each support image is framed in the colour of its alphabet, so the within-alphabet task is
    one colour and the across-alphabet task many. Raises ValueError (from ``sample_task``) if
    ``data`` cannot give such tasks.
    """
    n_rows, n_cols = _grid_shape(n_way)
    fig = plt.figure(figsize=(2 * 0.75 * (n_cols + 1.6) + 0.3, 0.75 * n_rows + 0.5))
    for subfigure, within in zip(fig.subfigures(1, 2, wspace=0.02), (True, False), strict=True):
        task = sample_task(data, n_way, within_alphabet=within, rng=seed)
        alphabets = data.alphabets[task.characters][task.support_labels]
        distinct = list(dict.fromkeys(alphabets.tolist()))
        colors = {name: plt.cm.tab20(i % 20) for i, name in enumerate(distinct)}
        if within:
            title = f"within one alphabet (Lake, Koch): all {n_way} from {distinct[0].replace('_', ' ')}"
        else:
            title = f"across alphabets (the blog): {n_way} characters from {len(distinct)} alphabets"
        plot_task(
            task,
            show_answer=False,
            frame_colors=[colors[name] for name in alphabets],
            title=title,
            title_size=10,
            fig=subfigure,
        )
    return fig


def plot_characters_per_alphabet(splits: Mapping[str, OmniglotSplit], *, ax: Axes | None = None) -> Axes:
    """Bar chart of the characters in every alphabet, coloured by split (e.g. train/validation/evaluation).

    A dashed line marks 20 characters: an alphabet needs that many for a 20-way
    within-alphabet task.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(11, 3.6))
    names = [name for split in splits.values() for name in split.alphabet_names]
    position, highest = 0, 0
    for index, (split_name, split) in enumerate(splits.items()):
        counts = [int((split.alphabets == name).sum()) for name in split.alphabet_names]
        label = f"{split_name}: {len(counts)} alphabets, {len(split)} characters"
        ax.bar(np.arange(position, position + len(counts)), counts, color=f"C{index}", label=label)
        position += len(counts)
        highest = max([highest, *counts])
    ax.axhline(20, color="0.3", linestyle="--", linewidth=1, label="20 characters: enough for 20-way within")
    ax.set_xticks(np.arange(len(names)), alphabet_labels(names), rotation=90, fontsize=7)
    ax.set_xlim(-0.7, len(names) - 0.3)
    ax.set_ylim(0, 1.45 * highest)  # room for the legend above the bars
    ax.set_ylabel("characters")
    ax.set_title("Characters per alphabet")
    ax.legend(fontsize=8, loc="upper left", ncols=2)
    ax.figure.tight_layout()
    return ax


def plot_ink_fraction(splits: Mapping[str, OmniglotSplit], *, bins: int = 50, ax: Axes | None = None) -> Axes:
    """Histogram of the fraction of ink pixels per drawing, one line per split (density)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.2))
    edges = np.linspace(0, 0.25, bins + 1)
    for index, (split_name, split) in enumerate(splits.items()):
        per_drawing = split.images.mean(axis=(2, 3)).ravel()
        label = f"{split_name} (mean {per_drawing.mean():.1%})"
        ax.hist(per_drawing, edges, density=True, histtype="step", lw=1.5, color=f"C{index}", label=label)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("ink pixels per drawing")
    ax.set_ylabel("density")
    ax.set_title("Omniglot drawings are mostly blank")
    ax.legend(fontsize=8)
    ax.figure.tight_layout()
    return ax


# ---------------------------------------------------------------- chapter 2: nearest neighbours

SHIFTED_COLOR = "tab:orange"
ORIGINAL_COLOR = "tab:blue"


def plot_n_way_curves(
    curves: Mapping[str, Mapping[int, Accuracy]], *, title: str | None = None, ax: Axes | None = None
) -> Axes:
    """Accuracy against N, one line per entry of ``curves`` ({label: {N: Accuracy}}).

    Error bars are one standard error over tasks; chance, 1/N, is drawn dashed over every N
    shown. Raises ValueError if ``curves`` is empty.
    """
    if not curves:
        raise ValueError("curves is empty: pass {label: {N: Accuracy}} with at least one curve")
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 4.2))
    all_ns = sorted({n for curve in curves.values() for n in curve})
    for index, (label, curve) in enumerate(curves.items()):
        ns = sorted(curve)
        means = [curve[n].mean for n in ns]
        errors = [curve[n].stderr for n in ns]
        ax.errorbar(ns, means, yerr=errors, marker="o", ms=4, capsize=3, color=f"C{index}", label=label)
    ns_dense = np.linspace(all_ns[0], all_ns[-1], 200)
    ax.plot(ns_dense, 1 / ns_dense, "--", color="0.4", label="chance, 1/N")
    ax.set_xlabel("N (ways)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or "One-shot accuracy against N")
    ax.figure.tight_layout()
    return ax


def plot_shifted_copies(original: np.ndarray, shifted: Mapping[str, np.ndarray]) -> Figure:
    """The drawing (H, W) bool over each shifted copy (H, W) bool, one panel per ``shifted`` entry.

    Ink of the original only is blue, of the copy only orange, of both black: the orange and
    blue pixels are exactly the ones pixel L2 counts as different.
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


def plot_shift_experiment(shifts: Sequence[int], results: Mapping[str, Mapping[str, np.ndarray]]) -> Figure:
    """How far a shifted copy of the query is, against how far the wrong answers are.

    Args:
        shifts: the S shifts in pixels.
        results: for each metric name, a mapping with
            ``"shifted"``: (T, S) distance from the query to its own copy shifted by each shift;
            ``"nearest_wrong"``: (T,) distance to the nearest of the task's wrong support images;
            ``"other_drawer"``: (T,) distance to the same character drawn by another person.

    One panel per metric shows medians with interquartile bands. A last panel shows how often
    the shifted copy is nearer than every wrong answer, i.e. how often 1-NN would still pick it.
    """
    fig, axes = plt.subplots(1, len(results) + 1, figsize=(4.0 * (len(results) + 1), 3.6), squeeze=False)
    axes = axes.flat
    shifts = np.asarray(shifts)
    for ax, (metric, result) in zip(axes, results.items(), strict=False):
        shifted = np.asarray(result["shifted"])
        low, mid, high = np.percentile(shifted, [25, 50, 75], axis=0)
        ax.plot(shifts, mid, "o-", color=SHIFTED_COLOR, label="query vs its shifted copy")
        ax.fill_between(shifts, low, high, color=SHIFTED_COLOR, alpha=0.25)
        for key, color, label in (
            ("nearest_wrong", WRONG_COLOR, "query vs nearest wrong answer"),
            ("other_drawer", ANSWER_COLOR, "query vs same character, other drawer"),
        ):
            q_low, q_mid, q_high = np.percentile(result[key], [25, 50, 75])
            ax.axhline(q_mid, color=color, label=label)
            ax.axhspan(q_low, q_high, color=color, alpha=0.12)
        ax.set_xlabel("shift (pixels right and down)")
        ax.set_ylabel("distance")
        ax.set_xticks(shifts)
        ax.set_title(metric)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="lower right")
    ax = axes[len(results)]
    for index, (metric, result) in enumerate(results.items()):
        nearest_wrong = np.asarray(result["nearest_wrong"])[:, None]
        picked = (np.asarray(result["shifted"]) < nearest_wrong).mean(axis=0)
        ax.plot(shifts, picked, "o-", color=f"C{index}", label=f"{metric}: shifted copy")
        other = np.mean(np.asarray(result["other_drawer"]) < nearest_wrong[:, 0])
        ax.axhline(other, color=f"C{index}", linestyle=":", label=f"{metric}: other drawer")
    ax.set_xlabel("shift (pixels right and down)")
    ax.set_ylabel("nearer than every wrong answer")
    ax.set_xticks(shifts)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title("Would nearest neighbour pick it?")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(0.0, 0.38))
    fig.tight_layout()
    return fig


def plot_distance_histograms(distances: Mapping[str, tuple[np.ndarray, np.ndarray]], *, bins: int = 40) -> Figure:
    """Per metric, histograms of (same-character, different-character) pair distances, each (P,).

    The more the two overlap, the less the metric can tell a new drawing of a character from a
    drawing of another one.
    """
    fig, axes = plt.subplots(1, len(distances), figsize=(4.4 * len(distances), 3.2), squeeze=False)
    for ax, (metric, (same, different)) in zip(axes.flat, distances.items(), strict=True):
        edges = np.histogram_bin_edges(np.concatenate([same, different]), bins=bins)
        ax.hist(same, edges, density=True, alpha=0.55, color=ANSWER_COLOR, label="same character")
        ax.hist(different, edges, density=True, alpha=0.55, color=WRONG_COLOR, label="different characters")
        ax.set_xlabel(f"{metric} distance")
        ax.set_ylabel("density")
        ax.set_title(f"{metric}: two drawings, two drawers")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- chapter 3: counting pairs


def plot_same_class_fraction(
    marks: Mapping[str, tuple[int, int]],
    *,
    drawings_per_class: Sequence[int] = (2, 5, 20, 100, 6_000),
    n_classes: Sequence[int] = (10, 100, 964, 10_000),
) -> Figure:
    """The same-class share of all pairs, against classes (left) and drawings per class (right).

    Each line is exact (``counting.same_class_fraction``). ``marks`` names datasets to mark as
    {label: (n_classes, drawings_per_class)}, e.g. {"Omniglot background": (964, 20)}.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    classes_axis = np.unique(np.geomspace(2, 100_000, 60).astype(int))
    for index, drawings in enumerate(drawings_per_class):
        fractions = [float(same_class_fraction(int(c), drawings)) for c in classes_axis]
        left.plot(classes_axis, fractions, color=f"C{index}", label=f"{drawings:,} drawings per class")
    left.plot(classes_axis, 1 / classes_axis, "k--", lw=1, label="1 / classes")
    left.set_xlabel("classes")
    drawings_axis = np.unique(np.geomspace(2, 10_000, 60).astype(int))
    for index, classes in enumerate(n_classes):
        fractions = [float(same_class_fraction(classes, int(e))) for e in drawings_axis]
        right.plot(drawings_axis, fractions, color=f"C{index}", label=f"{classes:,} classes")
    right.set_xlabel("drawings per class")
    offsets = [((8, 6), "left"), ((8, -22), "left"), ((-10, -24), "right")]  # label placements, in turn
    for ax in (left, right):
        for number, (label, (classes, drawings)) in enumerate(marks.items()):
            x = classes if ax is left else drawings
            fraction = float(same_class_fraction(classes, drawings))
            ax.plot(x, fraction, marker="*", ms=13, color="k", ls="none")
            offset, align = offsets[number % len(offsets)]
            ax.annotate(
                f"{label}\n{classes:,} x {drawings:,}",
                (x, fraction),
                xytext=offset,
                textcoords="offset points",
                ha=align,
                fontsize=7,
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{100 * value:g}%"))
        ax.set_ylabel("same-class share of all pairs")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7, loc="lower left" if ax is left else "lower right")
    left.set_title("More classes: fewer same-class pairs")
    right.set_title("More drawings per class: more, up to 1 / classes")
    fig.tight_layout()
    return fig


def plot_monte_carlo_rate(is_same: np.ndarray, expected: float, *, ax: Axes | None = None) -> Axes:
    """The running share of same-class pairs among uniformly drawn pairs, (P,) bool in draw order.

    The exact ``expected`` share is drawn with a band of two binomial standard errors, which
    narrows as 1 / sqrt(pairs drawn).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.6))
    is_same = np.asarray(is_same)
    first_shown = min(len(is_same), max(1, int(20 / expected)))  # from about 20 expected same pairs on
    drawn = np.unique(np.geomspace(first_shown, len(is_same), 1_000).astype(int))
    running = np.cumsum(is_same)[drawn - 1] / drawn
    band = 2 * np.sqrt(expected * (1 - expected) / drawn)
    low, high = np.maximum(expected - band, 0), expected + band
    ax.fill_between(drawn, low, high, color="0.85", label="exact ± 2 standard errors")
    ax.axhline(expected, color="k", lw=1, label=f"exact share {expected:.4%}")
    ax.plot(drawn, running, color="C0", label="share among the pairs drawn so far")
    ax.set_xscale("log")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=3))
    ax.set_xlabel("pairs drawn uniformly")
    ax.set_ylabel("same-class share")
    ax.set_title("Monte Carlo: uniformly drawn pairs are almost never same-class")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper right")
    ax.figure.tight_layout()
    return ax


def plot_distinct_pairs_seen(
    pool_size: int, runs: Mapping[str, int], *, max_draws: int | None = None, ax: Axes | None = None
) -> Axes:
    """Expected distinct same-class pairs seen against same-class pairs drawn, from a pool of ``pool_size``.

    ``runs`` marks training runs as {label: same-class pairs drawn}. The curve is
    ``counting.expected_distinct_seen``; it bends over once the draws reach the pool size.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 4))
    top = max_draws or 20 * pool_size
    draws = np.unique(np.geomspace(max(1, pool_size // 100), top, 300).astype(int))
    seen = [expected_distinct_seen(pool_size, int(n)) for n in draws]
    ax.plot(draws, seen, color="C0", label="expected distinct same-class pairs seen")
    ax.plot(draws, draws, ":", color="0.5", label="if every draw were new")
    ax.axhline(pool_size, color="k", ls="--", lw=1, label=f"all {pool_size:,} same-class pairs")
    for index, (label, n_draws) in enumerate(runs.items()):
        distinct = expected_distinct_seen(pool_size, n_draws)
        legend = f"{label}: {n_draws:,} drawn, {distinct:,.0f} distinct"
        ax.plot(n_draws, distinct, marker="o", ms=8, ls="none", color=f"C{index + 1}", label=legend)
    ax.set_xscale("log")
    ax.set_ylim(0, 1.35 * pool_size)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.set_xlabel("same-class pairs drawn (with replacement)")
    ax.set_ylabel("distinct same-class pairs")
    ax.set_title("How many distinct same-class pairs a training run sees")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper left")
    ax.figure.tight_layout()
    return ax


# ---------------------------------------------------------------- chapter 5: training


def plot_pair_batch(left: np.ndarray, right: np.ndarray, same: np.ndarray, *, n_pairs: int = 8) -> Figure:
    """The first ``n_pairs`` pairs of a training batch, one column per pair, labelled same/different.

    ``left`` and ``right`` are (B, H, W) float or bool images, ``same`` (B,) 0/1 targets.
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
    """Each original drawing (n, H, W) followed by its distortions (n, m, H, W), one row each."""
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


def plot_training_history(
    histories: Mapping[str, Mapping],
    *,
    chance: float | None = None,
    loss_label: str = "training loss (cross-entropy + L2)",
) -> Figure:
    """Training loss and validation one-shot accuracy against training minutes, one line per run.

    ``histories`` maps a label to a ``history.json`` of ``trainer.train`` (its ``epochs``
    records: ``elapsed_seconds``, ``loss``, ``val_oneshot_accuracy``, ``val_oneshot_stderr``).
    Error bars are one standard error over the validation tasks. ``chance`` draws 1/N dashed.
    ``loss_label`` names the loss axis (runs of different model kinds have different losses).
    """
    fig, (loss_ax, accuracy_ax) = plt.subplots(1, 2, figsize=(11, 3.8))
    for index, (label, history) in enumerate(histories.items()):
        epochs = history["epochs"]
        minutes = np.array([record["elapsed_seconds"] for record in epochs]) / 60
        loss_ax.plot(minutes, [record["loss"] for record in epochs], color=f"C{index}", label=label)
        accuracy_ax.errorbar(
            minutes,
            [record["val_oneshot_accuracy"] for record in epochs],
            yerr=[record["val_oneshot_stderr"] for record in epochs],
            color=f"C{index}",
            marker="o",
            ms=2.5,
            capsize=2,
            label=label,
        )
    if chance is not None:
        accuracy_ax.axhline(chance, ls="--", color="0.4", label="chance")
    loss_ax.set_yscale("log")
    loss_ax.set(xlabel="training minutes", ylabel=loss_label, title="Loss")
    accuracy_ax.set(
        xlabel="training minutes", ylabel="accuracy", ylim=(0, 1), title="Validation: 20-way one-shot, within alphabets"
    )
    accuracy_ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    for ax in (loss_ax, accuracy_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- chapter 6: N-way results


def plot_score_bars(
    scores: Mapping[str, np.ndarray],
    support_labels: np.ndarray,
    answer: int | None = None,
    picks: Mapping[str, int] | None = None,
) -> Figure:
    """Each scorer's scores of the support images as bars, one row per scorer.

    ``scores`` maps a scorer's name to its (S,) scores of one query against the support set,
    ``support_labels`` (S,) gives each support image's class and ``answer`` the query's.
    ``picks`` maps a scorer's name to the class it picks (with k drawings per class, by its class
    rule: ``evaluate.class_scores_of``); by default, the class of its highest bar. Bars of the
    answer's class are green; those of the picked class, if it is another, red. With
    ``answer=None`` (the answer hidden) no bar tells right from wrong: the picked class's bars
    are blue, the others grey. Scores are on each scorer's own scale (a probability, a negative
    distance, ...), so each row has its own y axis.
    """
    if not scores:
        raise ValueError("scores is empty: pass {scorer name: (S,) scores}")
    support_labels = np.asarray(support_labels)
    fig, axes = plt.subplots(len(scores), 1, figsize=(7.5, 1.5 * len(scores)), squeeze=False, sharex=True)
    positions = np.arange(len(support_labels))
    for ax, (name, row) in zip(axes[:, 0], scores.items(), strict=True):
        row = np.asarray(row, dtype=float)
        pick = support_labels[int(np.argmax(row))] if picks is None else picks[name]
        if answer is None:
            colors = np.where(support_labels == pick, PICK_COLOR, "0.6").astype(object)
        else:
            colors = np.where(support_labels == answer, ANSWER_COLOR, "0.6").astype(object)
            if pick != answer:
                colors[support_labels == pick] = WRONG_COLOR
        low = row.min() - 0.05 * (np.ptp(row) or 1.0)
        ax.bar(positions, row - low, bottom=low, color=list(colors))
        ax.set_ylabel(name, fontsize=8, rotation=0, ha="right", va="center")
        ax.tick_params(labelsize=7)
        ax.grid(axis="y", alpha=0.3)
    axes[-1, 0].set_xticks(positions)
    axes[-1, 0].set_xlabel(
        "support image (blue: the scorer's pick)"
        if answer is None
        else "support image (green: the answer's class; red: a wrong pick)"
    )
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


# ---------------------------------------------------------------- chapter 7: matching and prototypical networks


def plot_independent_scores(above_half: np.ndarray, probability_sums: np.ndarray, n_way: int) -> Figure:
    """Why a siamese network's scores are not a distribution over the support set.

    ``above_half`` (Q,) int: for each query, how many of its ``n_way`` support images got a
    probability above 0.5; ``probability_sums`` (Q,) float: the sum of its ``n_way``
    probabilities. A distribution over the support set would have at most one image above 0.5
    and sum to exactly 1 (the dashed line).
    """
    above_half, probability_sums = np.asarray(above_half), np.asarray(probability_sums, dtype=float)
    if above_half.shape != probability_sums.shape or above_half.ndim != 1 or not len(above_half):
        raise ValueError("above_half and probability_sums must be non-empty (Q,) arrays of one length")
    fig, (count_ax, sum_ax) = plt.subplots(1, 2, figsize=(11, 3.4))
    counts = np.bincount(above_half, minlength=n_way + 1)
    count_ax.bar(np.arange(len(counts)), counts / len(above_half), color="C0")
    count_ax.set(
        xlabel=f"support images (of {n_way}) with probability > 0.5",
        ylabel="share of queries",
        title="How many support images 'match' a query",
    )
    count_ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    sum_ax.hist(probability_sums, bins=40, color="C0")
    sum_ax.axvline(1.0, ls="--", color="0.3", label="a distribution sums to 1")
    sum_ax.set(xlabel=f"sum of a query's {n_way} probabilities", ylabel="queries", title="The scores do not sum to 1")
    sum_ax.legend(fontsize=8)
    for ax in (count_ax, sum_ax):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_episode(episode: Mapping[str, np.ndarray], query_labels: np.ndarray, *, panel_inches: float = 0.7) -> Figure:
    """A training episode as the network sees it: the support set above, the queries below.

    ``episode`` holds ``"support"`` (S, H, H, 1) float, ``"support_labels"`` (S,) int in [0, N)
    and ``"query"`` (Q, H, H, 1) float (as ``episodic.episode_dataset`` streams them);
    ``query_labels`` (Q,) int. Each image is titled with its class.
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


# ---------------------------------------------------------------- chapter 7: the controlled comparison


def plot_controlled_comparison(cells: Mapping[str, Mapping], *, reference: str | None = None) -> Figure:
    """One bar per cell of a controlled comparison, on two measures side by side.

    ``cells`` maps a cell's name to its record in ``benchmarks/results/objective_grid.json``:
    ``best_validation`` (the accuracy that chose its checkpoint), ``evaluation_within_1shot`` and
    ``lake`` (20-way one-shot accuracy on the evaluation alphabets and on Lake's runs) with their
    ``_stderr``. Error bars are one standard error; ``reference`` names the cell the others
    change one thing of, drawn darker with a dotted line through its values.
    """
    names = list(cells)
    measures = (
        ("best_validation", None, "validation (chooses the checkpoint)"),
        ("evaluation_within_1shot", "evaluation_within_1shot_stderr", "evaluation alphabets, within one"),
        ("lake", "lake_stderr", "Lake's 400 trials"),
    )
    fig, axes = plt.subplots(1, 3, figsize=(13, 0.42 * len(names) + 1.3), sharey=True)
    rows = np.arange(len(names))[::-1]
    for ax, (key, error_key, title) in zip(axes, measures, strict=True):
        values = np.array([cells[name][key] for name in names])
        errors = None if error_key is None else np.array([cells[name][error_key] for name in names])
        colours = ["0.25" if name == reference else "C0" for name in names]
        ax.barh(rows, values, xerr=errors, color=colours, capsize=2, height=0.65)
        for row, value in zip(rows, values, strict=True):
            ax.text(value + 0.01, row, f"{value:.1%}", va="center", fontsize=8)
        if reference is not None:
            ax.axvline(cells[reference][key], color="0.25", ls=":", lw=1)
        ax.set(xlim=(0, 1.12), title=title)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(rows, [textwrap.fill(name, 38) for name in names], fontsize=8)
    fig.suptitle("20-way one-shot accuracy of each cell's best checkpoint", fontsize=10)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- chapter 4: the siamese network, drawn


def siamese_tower(model) -> list[str]:
    """The twin of a siamese network as the diagram writes it: one line per stage, read from the model.

    ``model`` is a network of ``siamese.build_siamese`` (its sub-model ``embedding``); each
    convolution is written with the pooling that follows it, e.g. ``"conv 16 filters 5x5, ReLU ->
    48x48x16, max-pool 2x2 -> 24x24x16"``. Raises ValueError for a model without ``embedding``.
    """
    try:
        embedding = model.get_layer("embedding")
    except ValueError as error:
        raise ValueError(f"{model.name!r} has no 'embedding' layer: pass a siamese.build_siamese model") from error
    lines: list[str] = []
    for layer in embedding.layers:
        kind = type(layer).__name__
        side = "x".join(str(size) for size in layer.output.shape[1:])
        if kind == "InputLayer":
            lines.append(f"drawing {side}")
        elif kind == "Resizing":
            lines.append(f"shrunk to {layer.height}x{layer.width} ({layer.interpolation} averaging)")
        elif kind == "Conv2D":
            height, width = layer.kernel_size
            activation = layer.activation.__name__.replace("relu", "ReLU")
            lines.append(f"conv {layer.filters} filters {height}x{width}, {activation} -> {side}")
        elif kind == "MaxPooling2D":
            lines[-1] += f", max-pool {'x'.join(map(str, layer.pool_size))} -> {side}"
        elif kind == "Dense":
            inputs = layer.input.shape[-1]
            lines.append(f"dense {inputs:,} -> {layer.units:,}, {layer.activation.__name__}: embedding h")
    return lines


def plot_siamese_diagram(model, *, title: str | None = None) -> Figure:
    """The siamese network as boxes: two towers with shared weights, the L1 join, the dense unit, the sigmoid.

    Every size is read from ``model`` (``siamese_tower`` for the twin; the ``head`` layer's units
    and weights), so the drawing is of the network that runs.
    """
    tower = siamese_tower(model)
    head = model.get_layer("head")
    units = head.input.shape[-1]
    join = [
        f"L1 join: |h1 - h2|, {units:,} numbers",
        f"dense unit: {units:,} weights + a bias ({head.count_params():,} parameters)",
        "sigmoid -> p(same character)",
    ]
    rows = len(tower) + len(join)
    fig, ax = plt.subplots(figsize=(11, 0.55 * rows + 1.0))
    ax.set(xlim=(0, 11), ylim=(-rows - 0.3, 0.9))
    ax.axis("off")
    box = {"boxstyle": "round,pad=0.35", "linewidth": 1.0}
    arrow = {"arrowstyle": "->", "color": "0.3", "linewidth": 1.0}
    for x, side in ((2.6, "left"), (8.4, "right")):
        ax.text(x, 0.55, f"{side} drawing", ha="center", va="center", fontsize=10, fontweight="bold")
        for row, text in enumerate(tower):
            ax.text(
                x,
                -row,
                text,
                ha="center",
                va="center",
                fontsize=9,
                bbox={**box, "facecolor": "#dbe9f6" if row else "white", "edgecolor": "tab:blue"},
            )
            if row:
                ax.annotate("", (x, -row + 0.3), (x, -row + 0.7), arrowprops=arrow)
    middle = -(len(tower) - 1) / 2
    ax.annotate("", (4.9, middle), (6.1, middle), arrowprops={**arrow, "arrowstyle": "<->", "linestyle": "--"})
    ax.text(5.5, middle + 0.3, "one network:\nshared weights", ha="center", va="bottom", fontsize=9, color="0.25")
    top = -len(tower)
    for x in (2.6, 8.4):
        ax.annotate("", (5.5, top + 0.25), (x, top + 0.7), arrowprops=arrow)
    for row, text in enumerate(join):
        y = top - row
        ax.text(
            5.5,
            y,
            text,
            ha="center",
            va="center",
            fontsize=9,
            bbox={**box, "facecolor": "#fde2cc", "edgecolor": "tab:orange"},
        )
        if row:
            ax.annotate("", (5.5, y + 0.3), (5.5, y + 0.7), arrowprops=arrow)
    ax.set_title(title or f"{model.name}: {model.count_params():,} parameters", fontsize=10)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- chapter 7: pairs, episodes, prototypes


def plot_pairs_against_episodes(
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
    support: np.ndarray,
    query: np.ndarray,
    probabilities: np.ndarray,
    answer: int,
) -> Figure:
    """Training on pairs (left) against training on an episode (right), with real drawings.

    ``pairs`` is (left (P, H, W), right (P, H, W), same (P,) 0/1): each pair is one example with
    its own target. The episode is ``support`` (N, H, W), one drawing per class, and one ``query``
    (H, W) of class ``answer``; ``probabilities`` (N,) is a model's softmax over the N classes for
    that query, drawn as bars: the classes compete, and the loss reads only the right one's bar.
    """
    left, right, same = pairs
    n_pairs, n_way = len(same), len(support)
    fig = plt.figure(figsize=(11, 3.6))
    pair_figure, episode_figure = fig.subfigures(1, 2, width_ratios=[n_pairs, n_way + 1.5])
    pair_axes = pair_figure.subplots(2, n_pairs, squeeze=False)
    for column in range(n_pairs):
        color = ANSWER_COLOR if same[column] else WRONG_COLOR
        draw_drawing(
            pair_axes[0, column],
            left[column],
            frame_color=color,
            frame_width=2,
            title=f"target {int(same[column])}",
            fontsize=8,
        )
        draw_drawing(pair_axes[1, column], right[column], frame_color=color, frame_width=2)
    pair_figure.suptitle("Pairs: each pair scored alone,\nits own target, binary cross-entropy", fontsize=9)
    grid = episode_figure.add_gridspec(2, n_way + 1, height_ratios=[1, 1.1])
    draw_drawing(
        episode_figure.add_subplot(grid[0, 0]), query, frame_color=QUERY_COLOR, frame_width=2, title="query", fontsize=8
    )  # the bars' axis labels take the cell below it
    for label in range(n_way):
        draw_drawing(
            episode_figure.add_subplot(grid[0, label + 1]),
            support[label],
            frame_color=ANSWER_COLOR if label == answer else None,
            frame_width=2,
            title=f"class {label}",
            fontsize=8,
        )
    bars = episode_figure.add_subplot(grid[1, 1:])
    colors = [ANSWER_COLOR if label == answer else "0.6" for label in range(n_way)]
    bars.bar(np.arange(n_way), probabilities, color=colors)
    bars.set(xticks=np.arange(n_way), ylim=(0, 1), ylabel="softmax", xlim=(-0.5, n_way - 0.5))
    bars.tick_params(labelsize=7)
    episode_figure.suptitle(
        "An episode: the query against all N classes at once,\nsoftmax over classes, cross-entropy of the right one",
        fontsize=9,
    )
    return fig


def plot_prototypes_and_attention(
    support: np.ndarray,
    support_labels: np.ndarray,
    query: np.ndarray,
    prototypes: np.ndarray,
    attention: np.ndarray,
) -> Figure:
    """Two ways to score classes from 2-D embeddings, side by side.

    ``support`` (S, 2) embeddings with ``support_labels`` (S,) in [0, N); ``query`` (2,);
    ``prototypes`` (N, 2), the class means (``episodic.class_prototypes``); ``attention`` (S,), the
    query's softmax attention over the support set (``episodic.matching_attention``). Left, the
    prototypical network: each class is its prototype (a star), scored by minus the squared
    distance to it (dashed lines). Right, the matching network: lines to every support
    embedding, as thick as the attention it gets, summed per class.
    """
    support, query, prototypes = np.asarray(support), np.asarray(query), np.asarray(prototypes)
    labels, attention = np.asarray(support_labels), np.asarray(attention)
    fig, (proto_ax, match_ax) = plt.subplots(1, 2, figsize=(10, 4.2), sharex=True, sharey=True)
    for ax in (proto_ax, match_ax):
        for label in np.unique(labels):
            ax.scatter(*support[labels == label].T, s=60, color=f"C{label}", label=f"class {label} support")
        ax.scatter(*query, s=90, marker="s", color=QUERY_COLOR, label="query", zorder=3)
        ax.set_aspect("equal")
        ax.grid(alpha=0.3)
    for label, prototype in enumerate(prototypes):
        distance = np.sum((query - prototype) ** 2)
        proto_ax.scatter(
            *prototype,
            s=260,
            marker="*",
            color=f"C{label}",
            edgecolor="black",
            zorder=3,
            label=f"class {label} prototype",
        )
        proto_ax.plot(*np.stack([query, prototype]).T, ls="--", color=f"C{label}")
        proto_ax.annotate(f"-{distance:.2f}", (query + prototype) / 2, fontsize=9, color=f"C{label}")
    for point, label, weight in zip(support, labels, attention, strict=True):
        match_ax.plot(*np.stack([query, point]).T, color=f"C{label}", lw=0.5 + 8 * weight)
        match_ax.annotate(f"{weight:.2f}", (query + point) / 2, fontsize=9, color=f"C{label}")
    per_class = np.bincount(labels, attention)
    proto_ax.set_title("Prototypical: minus squared distance to each class mean", fontsize=9)
    match_ax.set_title(
        "Matching: attention to each support embedding\n(class 0: "
        + ", class ".join(
            f"{total:.2f}" if index == 0 else f"{index}: {total:.2f}" for index, total in enumerate(per_class)
        )
        + ")",
        fontsize=9,
    )
    proto_ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- chapter 5: what training changes


def pca_projection(embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (n, 2) projection of (n, D) embeddings on their first two principal axes, and the share of
    variance each axis holds (2,).

    Principal component analysis by numpy's SVD of the centred embeddings. Each axis's sign is
    fixed (its largest loading is positive), so one input gives one picture.
    Raises ValueError for fewer than 3 embeddings or fewer than 2 dimensions.
    """
    embeddings = np.asarray(embeddings, dtype=np.float64)
    if embeddings.ndim != 2 or len(embeddings) < 3 or embeddings.shape[1] < 2:
        raise ValueError(f"need (n >= 3, D >= 2) embeddings, got shape {embeddings.shape}")
    centred = embeddings - embeddings.mean(axis=0)
    _, singular, axes = np.linalg.svd(centred, full_matrices=False)
    axes = axes[:2]
    axes = axes * np.sign(axes[np.arange(2), np.abs(axes).argmax(axis=1)])[:, None]
    variance = singular**2
    return centred @ axes.T, variance[:2] / variance.sum()


def within_between_distances(embeddings: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Mean Euclidean distance between embeddings (n, D) of one label, and between different labels.

    Pairs of two different items only. A learnt metric brings the first down relative to the second.
    Raises ValueError unless some label has two items and there are two labels.
    """
    embeddings = np.asarray(embeddings, dtype=np.float64)
    labels = np.asarray(labels)
    squared = (embeddings**2).sum(axis=1)
    distances = np.sqrt(np.maximum(squared[:, None] + squared[None] - 2 * embeddings @ embeddings.T, 0.0))
    same = labels[:, None] == labels[None]
    other = ~np.eye(len(labels), dtype=bool)
    if not (same & other).any() or same.all():
        raise ValueError("need two items of one label and two different labels")
    return float(distances[same & other].mean()), float(distances[~same].mean())


def plot_embedding_projections(
    projections: Mapping[str, tuple[np.ndarray, np.ndarray]], labels: np.ndarray, *, names: Sequence[str] = ()
) -> Figure:
    """Side-by-side scatter plots of 2-D projections, one point per drawing, one colour per character.

    ``projections`` maps a title to ``pca_projection``'s (points (n, 2), variance shares (2,));
    ``labels`` (n,) int gives each drawing's character, named in the legend by ``names[label]``.
    """
    if not projections:
        raise ValueError("projections is empty: pass {title: (points, variance shares)}")
    labels = np.asarray(labels)
    fig, axes = plt.subplots(1, len(projections), figsize=(5.2 * len(projections), 4.6), squeeze=False)
    for ax, (title, (points, shares)) in zip(axes[0], projections.items(), strict=True):
        if len(points) != len(labels):
            raise ValueError(f"{title!r}: {len(points)} points but {len(labels)} labels")
        for index, label in enumerate(np.unique(labels)):
            mine = labels == label
            name = names[label] if len(names) > label else f"character {label}"
            ax.scatter(*points[mine].T, s=16, color=plt.cm.tab10(index % 10), label=name, alpha=0.85)
        ax.set(
            title=title,
            xlabel=f"first principal axis ({shares[0]:.0%} of the variance)",
            ylabel=f"second principal axis ({shares[1]:.0%})",
        )
        ax.title.set_fontsize(10)
        ax.grid(alpha=0.3)
    axes[0, -1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- chapter 8: little or no labelled data


def plot_identity_scores(scores: Mapping[str, np.ndarray], references: Sequence[str]) -> Figure:
    """Box plots of a scorer's scores between drawings and partners, one row per partner.

    ``scores`` is ``identity.identity_scores``'s: (n,) scores per partner; the rows named in
    ``references`` (another drawing of the same character, another character) are drawn grey,
    with dotted lines at their medians, so each transform reads against them.
    """
    names = list(scores)
    fig, ax = plt.subplots(figsize=(8.5, 0.5 * len(names) + 1.2))
    rows = np.arange(len(names))[::-1]
    boxes = ax.boxplot(
        [scores[name] for name in names], positions=rows, vert=False, widths=0.6, patch_artist=True, showfliers=False
    )
    for box, name in zip(boxes["boxes"], names, strict=True):
        box.set(facecolor="0.8" if name in references else "C0", alpha=0.8)
    for name in references:
        ax.axvline(np.median(scores[name]), color="0.35", ls=":", lw=1)
    ax.set_yticks(rows, names)
    ax.set(xlabel="score of the drawing against its partner (siamese: probability of 'same character')")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_labels_used(cells: Mapping[str, Mapping], *, no_labels: str | None = None) -> Axes:
    """Lake accuracy against the share of training characters labelled, one line per starting point.

    ``cells`` maps a cell's name to its record in ``benchmarks/results/labels_used.json``
    (``fraction``, ``characters``, ``start``, ``lake``, ``lake_stderr``); ``no_labels`` names the
    record of the model trained without any label, drawn as a dashed level.
    """
    fig, ax = plt.subplots(figsize=(7, 4))
    starts = sorted({cell["start"] for cell in cells.values() if "start" in cell})
    for index, start in enumerate(starts):
        mine = sorted((cell for cell in cells.values() if cell.get("start") == start), key=lambda c: c["fraction"])
        x = [cell["fraction"] for cell in mine]
        ax.errorbar(
            x,
            [cell["lake"] for cell in mine],
            yerr=[cell["lake_stderr"] for cell in mine],
            marker="o",
            capsize=3,
            color=f"C{index}",
            label=start,
        )
        for cell in mine:
            ax.annotate(
                f"{cell['lake']:.1%}",
                (cell["fraction"], cell["lake"]),
                textcoords="offset points",
                xytext=(6, -12 if index else 6),
                fontsize=8,
                color=f"C{index}",
            )
    if no_labels is not None:
        ax.axhline(
            cells[no_labels]["lake"],
            color="0.4",
            ls="--",
            lw=1,
            label=f"no labels at all ({cells[no_labels]['lake']:.1%})",
        )
    ax.set_xscale("log")
    fractions = sorted({cell["fraction"] for cell in cells.values() if cell.get("fraction")})
    ax.set_xticks(
        fractions,
        [
            f"{f:.0%}\n({cell['characters']} characters)"
            for f in fractions
            for cell in [next(c for c in cells.values() if c.get("fraction") == f)]
        ],
    )
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set(
        xlabel="share of the training characters whose labels are used",
        ylabel="Lake's 400 trials",
        title="Accuracy against labels used",
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return ax


def plot_class_spread(points: np.ndarray, labels: np.ndarray, *, names: Sequence[str] = ()) -> Axes:
    """Drawings (n, 2) of a few characters around their prototypes, with each class's spread as a circle.

    A prototype keeps each class's mean and drops the rest: the circle (radius: the mean distance
    of the class's drawings to its mean) is what a prototype leaves out.
    """
    labels = np.asarray(labels)
    fig, ax = plt.subplots(figsize=(6, 5))
    for index, label in enumerate(np.unique(labels)):
        mine = points[labels == label]
        centre = mine.mean(axis=0)
        radius = np.linalg.norm(mine - centre, axis=1).mean()
        colour = plt.cm.tab10(index % 10)
        name = names[label] if len(names) > label else f"character {label}"
        ax.scatter(*mine.T, s=14, color=colour, alpha=0.8, label=name)
        ax.scatter(*centre, s=140, marker="*", color=colour, edgecolor="black", linewidth=0.6)
        ax.add_patch(plt.Circle(centre, radius, fill=False, color=colour, lw=1.2, ls="--"))
    ax.set_aspect("equal", adjustable="datalim")
    ax.set(
        title="Each character's drawings, prototype (star) and mean spread (circle)",
        xlabel="first principal axis",
        ylabel="second principal axis",
    )
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return ax


def plot_drawing_row(drawings: Mapping[str, np.ndarray], *, title: str, panel_inches: float = 1.25) -> Figure:
    """One panel per drawing (H, W), titled by its key: a drawing and what was done to it."""
    fig, axes = plt.subplots(
        1, len(drawings), figsize=(panel_inches * len(drawings), panel_inches + 0.6), squeeze=False
    )
    for ax, (label, drawing) in zip(axes.flat, drawings.items(), strict=True):
        draw_drawing(ax, np.asarray(drawing), title=textwrap.fill(label, 16))
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_support_methods(results: Mapping[str, Mapping[int, Accuracy]]) -> Figure:
    """Accuracy of each way of using a support set, one bar per shot count, with one standard error.

    ``results`` maps a method's name to {k: ``evaluate.Accuracy``} for its k-shot tasks.
    """
    names = list(results)
    shots = sorted({k for by_shot in results.values() for k in by_shot})
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(names) * len(shots) / 2 + 1.4))
    rows = np.arange(len(names))[::-1]
    height = 0.8 / len(shots)
    for index, k in enumerate(shots):
        values = np.array([results[name][k].mean for name in names])
        errors = np.array([results[name][k].stderr for name in names])
        offset = (len(shots) - 1 - 2 * index) * height / 2
        ax.barh(rows + offset, values, xerr=errors, height=height, color=f"C{index}", capsize=2, label=f"{k}-shot")
        for row, value in zip(rows, values, strict=True):
            ax.text(value + 0.01, row + offset, f"{value:.1%}", va="center", fontsize=8)
    ax.set_yticks(rows, [textwrap.fill(name, 34) for name in names], fontsize=8)
    ax.set(xlim=(0, 1.12), xlabel="20-way accuracy within an alphabet (evaluation alphabets)")
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
