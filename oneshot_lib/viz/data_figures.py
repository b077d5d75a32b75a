"""Figures of the data set and of its pairs: alphabets and their sizes, ink, the two task protocols, pair counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from oneshot_lib.data.counting import expected_distinct_seen, same_class_fraction
from oneshot_lib.data.omniglot import OmniglotSplit
from oneshot_lib.data.tasks import sample_task
from oneshot_lib.viz.drawings import plot_task
from oneshot_lib.viz.style import (
    FIGURE_INCHES,
    SMALL_POINTS,
    TEXT_POINTS,
    alphabet_labels,
    alphabet_name,
    course_figure,
    grid_shape,
    legend_outside,
)


@course_figure
def plot_protocols(data: OmniglotSplit, n_way: int = 20, *, seed: int = 0) -> Figure:
    """Two N-way tasks side by side: within one alphabet (Lake, Koch) and across alphabets (the blog).

    Each support image is framed in the colour of its alphabet, so the within-alphabet task is
    one colour and the across-alphabet task many. Raises ValueError (from ``sample_task``) if
    ``data`` cannot give such tasks.

    Returns a new Figure of two SubFigures, one task each.
    """
    n_rows, n_cols = grid_shape(n_way)
    panel = min(0.75, (FIGURE_INCHES - 0.3) / (2 * (n_cols + 1.6)))
    fig = plt.figure(figsize=(2 * panel * (n_cols + 1.6) + 0.3, panel * n_rows + 0.75))
    for subfigure, within in zip(fig.subfigures(1, 2, wspace=0.04), (True, False), strict=True):
        task = sample_task(data, n_way, within_alphabet=within, rng=seed)
        alphabets = data.alphabets[task.characters][task.support_labels]
        distinct = list(dict.fromkeys(alphabets.tolist()))
        colors = {name: plt.cm.tab20(i % 20) for i, name in enumerate(distinct)}
        if within:
            title = f"within one alphabet (Lake, Koch):\nall {n_way} from {alphabet_name(distinct[0])}"
        else:
            title = f"across alphabets (the blog):\n{n_way} characters from {len(distinct)} alphabets"
        plot_task(
            task,
            show_answer=False,
            frame_colors=[colors[name] for name in alphabets],
            numbered=False,
            title=title,
            title_size=TEXT_POINTS,
            fig=subfigure,
        )
    return fig


@course_figure
def plot_characters_per_alphabet(splits: Mapping[str, OmniglotSplit], *, ax: Axes | None = None) -> Axes:
    """Bar chart of the characters in every alphabet, coloured by split (e.g. train/validation/evaluation).

    A dashed line marks 20 characters: an alphabet needs that many for a 20-way
    within-alphabet task.

    Draws into ``ax``, or a new figure's; returns the Axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(FIGURE_INCHES, 5.0))
    names = [name for split in splits.values() for name in split.alphabet_names]
    position, highest = 0, 0
    for index, (split_name, split) in enumerate(splits.items()):
        counts = [int((split.alphabets == name).sum()) for name in split.alphabet_names]
        label = f"{split_name}: {len(counts)} alphabets, {len(split)} characters"
        ax.bar(np.arange(position, position + len(counts)), counts, color=f"C{index}", label=label)
        position += len(counts)
        highest = max([highest, *counts])
    ax.axhline(20, color="0.3", linestyle="--", linewidth=1, label="20 characters: enough for 20-way within")
    ax.set_xticks(np.arange(len(names)), alphabet_labels(names), rotation=90, fontsize=SMALL_POINTS)
    ax.set_xlim(-0.7, len(names) - 0.3)
    ax.set_ylim(0, (1.3 + 0.12 * len(splits)) * highest)  # room for the legend above the bars
    ax.set_ylabel("characters")
    ax.set_title("Characters per alphabet")
    ax.legend(loc="upper left")
    ax.figure.tight_layout()
    return ax


@course_figure
def plot_ink_fraction(splits: Mapping[str, OmniglotSplit], *, bins: int = 50, ax: Axes | None = None) -> Axes:
    """Histogram of the fraction of ink pixels per drawing, one line per split (density).

    Draws into ``ax``, or a new figure's; returns the Axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.4))
    edges = np.linspace(0, 0.25, bins + 1)
    for index, (split_name, split) in enumerate(splits.items()):
        per_drawing = split.images.mean(axis=(2, 3)).ravel()
        label = f"{split_name} (mean {per_drawing.mean():.1%})"
        ax.hist(per_drawing, edges, density=True, histtype="step", lw=1.5, color=f"C{index}", label=label)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("ink pixels per drawing")
    ax.set_ylabel("density")
    ax.set_title("Omniglot drawings are mostly blank")
    ax.legend()
    ax.figure.tight_layout()
    return ax


@course_figure
def plot_same_class_fraction(
    marks: Mapping[str, tuple[int, int]],
    *,
    drawings_per_class: Sequence[int] = (2, 5, 20, 100, 6_000),
    n_classes: Sequence[int] = (10, 100, 964, 10_000),
) -> Figure:
    """The same-class share of all pairs, against classes (left) and drawings per class (right).

    Each line is exact (``counting.same_class_fraction``). ``marks`` names datasets to mark as
    {label: (n_classes, drawings_per_class)}, e.g. {"Omniglot background": (964, 20)}; each gets
    its own marker, named in the top panel's legend. The legends sit under the panels. A line of
    ``drawings_per_class`` within 10% of 1 / classes is not drawn under that line but named with it.

    Returns a new Figure of two panels, one above the other.
    """
    fig, (left, right) = plt.subplots(2, 1, figsize=(FIGURE_INCHES, 8.4))
    classes_axis = np.unique(np.geomspace(2, 100_000, 60).astype(int))
    # A line within 10% of 1 / classes everywhere cannot be seen apart from it on log axes:
    # it is named with the dashed line instead of drawn under it.
    on_the_limit = [drawings for drawings in drawings_per_class if (drawings - 1) / drawings >= 0.9]
    for index, drawings in enumerate(drawings_per_class):
        if drawings not in on_the_limit:
            fractions = [float(same_class_fraction(int(c), drawings)) for c in classes_axis]
            left.plot(classes_axis, fractions, color=f"C{index}", label=f"{drawings:,} drawings per class")
    limit_label = "1 / classes"
    if on_the_limit:
        named = ", ".join(f"{drawings:,}" for drawings in on_the_limit)
        limit_label += f"; {named} drawings per class\nlie on it (within 10%)"
    left.plot(classes_axis, 1 / classes_axis, "k--", lw=1, label=limit_label)
    left.set_xlabel("classes")
    drawings_axis = np.unique(np.geomspace(2, 10_000, 60).astype(int))
    for index, classes in enumerate(n_classes):
        fractions = [float(same_class_fraction(classes, int(e))) for e in drawings_axis]
        right.plot(drawings_axis, fractions, color=f"C{index}", label=f"{classes:,} classes")
    right.set_xlabel("drawings per class")
    # Each mark has its own marker, named in the legend: a label written beside a mark would lie
    # on a line or on another mark (Omniglot's two splits are a few pixels apart).
    markers = [("*", 14), ("D", 7), ("s", 7), ("^", 8), ("o", 7)]
    for ax in (left, right):
        for number, (label, (classes, drawings)) in enumerate(marks.items()):
            marker, size = markers[number % len(markers)]
            ax.plot(
                classes if ax is left else drawings,
                float(same_class_fraction(classes, drawings)),
                marker=marker,
                ms=size,
                color="k",
                mec="white",
                mew=0.8,
                ls="none",
                zorder=5 - number % len(markers),  # the first on top
                label=f"{label}: {classes:,} x {drawings:,}" if ax is left else None,
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{100 * value:g}%"))
        ax.set_ylabel("same-class share of all pairs")
        ax.grid(alpha=0.3, which="both")
    legend_outside(left, ncols=2)  # the marks are named once, under the top panel
    legend_outside(right, ncols=len(n_classes))
    left.set_title("More classes: fewer same-class pairs")
    right.set_title("More drawings per class: more, up to 1 / classes")
    fig.tight_layout()
    return fig


@course_figure
def plot_monte_carlo_rate(is_same: np.ndarray, expected: float, *, ax: Axes | None = None) -> Axes:
    """The running share of same-class pairs among uniformly drawn pairs, (P,) bool in draw order.

    The exact ``expected`` share is drawn with a band of two binomial standard errors, which
    narrows as 1 / sqrt(pairs drawn).

    Draws into ``ax``, or a new figure's; returns the Axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(FIGURE_INCHES, 3.8))
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
    ax.legend(loc="upper right")
    ax.figure.tight_layout()
    return ax


@course_figure
def plot_distinct_pairs_seen(
    pool_size: int, runs: Mapping[str, int], *, max_draws: int | None = None, ax: Axes | None = None
) -> Axes:
    """Expected distinct same-class pairs seen against same-class pairs drawn, from a pool of ``pool_size``.

    ``runs`` marks training runs as {label: same-class pairs drawn}. The curve is
    ``counting.expected_distinct_seen``; it bends over once the draws reach the pool size.

    Draws into ``ax``, or a new figure's; returns the Axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(FIGURE_INCHES, 4.4 + 0.2 * (len(runs) + 3)))
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
    ax.set_ylim(0, 1.15 * pool_size)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.set_xlabel("same-class pairs drawn (with replacement)")
    ax.set_ylabel("distinct same-class pairs")
    ax.set_title("How many distinct same-class pairs a training run sees")
    ax.grid(alpha=0.3, which="both")
    legend_outside(ax)
    ax.figure.tight_layout()
    return ax
