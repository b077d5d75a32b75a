"""Diagrams of how the networks work: the siamese network's towers, pairs against episodes, prototypes and attention.

Each is drawn on a ``style.DiagramFigure``, which a notebook shows as SVG, the same bytes on every
machine: values that come from a network (probabilities, attention) are rounded to
``DRAWN_DECIMALS`` before they are drawn, far below what the eye sees, so the last digits of a
CPU's arithmetic do not reach the picture; drawings are drawn as vector ink, not as embedded images.

The module is a little over 400 lines: six diagrams and the small helpers they share (rounding,
the tower's layer list, segment labels), kept together because they share that style; the
diagrams of training recipes live in ``recipes.py``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from oneshot_lib.viz.drawings import draw_drawing
from oneshot_lib.viz.style import (
    ANSWER_COLOR,
    FIGURE_INCHES,
    QUERY_COLOR,
    SMALL_POINTS,
    TEXT_POINTS,
    WRONG_COLOR,
    DiagramFigure,
    course_figure,
    wrap,
)

DRAWN_DECIMALS = 3
"""Decimals to which a diagram's numbers from a network are rounded before drawing."""


def drawn(values) -> np.ndarray:
    """``values`` as float64 rounded to ``DRAWN_DECIMALS``: what a diagram draws of a network's numbers."""
    return np.round(np.asarray(values, dtype=np.float64), DRAWN_DECIMALS)


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


@course_figure
def plot_siamese_diagram(model, *, title: str | None = None, ax: Axes | None = None) -> Axes:
    """The siamese network as boxes: two towers with shared weights, the L1 join, the dense unit, the sigmoid.

    Every size is read from ``model`` (``siamese_tower`` for the twin, each stage's pooling on a
    line of its own; the ``head`` layer's units and weights), so the drawing is of the network
    that runs.

    Draws into ``ax``, or a new figure's; returns the Axes.
    """
    tower = [line.replace(", max-pool", ",\nmax-pool") for line in siamese_tower(model)]
    head = model.get_layer("head")
    units = head.input.shape[-1]
    join = [
        f"L1 join: |h1 - h2|, {units:,} numbers",
        f"dense unit: {units:,} weights + a bias ({head.count_params():,} parameters)",
        "sigmoid -> p(same character)",
    ]
    rows = len(tower) + len(join)
    if ax is None:
        _, ax = plt.subplots(figsize=(FIGURE_INCHES, 0.62 * rows + 0.9), FigureClass=DiagramFigure)
    ax.set(xlim=(0, 7.2), ylim=(-rows + 0.55, 0.85))
    ax.axis("off")
    box = {"boxstyle": "round,pad=0.35", "linewidth": 1.0}
    arrow = {"arrowstyle": "->", "color": "0.3", "linewidth": 1.0}
    left_x, middle_x, right_x = 1.5, 3.6, 5.7
    for x, side in ((left_x, "left"), (right_x, "right")):
        ax.text(x, 0.55, f"{side} drawing", ha="center", va="center", fontsize=TEXT_POINTS, fontweight="bold")
        for row, text in enumerate(tower):
            ax.text(
                x,
                -row,
                text,
                ha="center",
                va="center",
                fontsize=SMALL_POINTS,
                bbox={**box, "facecolor": "#dbe9f6" if row else "white", "edgecolor": "tab:blue"},
            )
            if row:
                ax.annotate("", (x, -row + 0.32), (x, -row + 0.68), arrowprops=arrow)
    middle = -(len(tower) - 1) / 2
    ax.annotate(
        "", (middle_x - 0.45, middle), (middle_x + 0.45, middle), arrowprops={**arrow, "arrowstyle": "<->", "ls": "--"}
    )
    ax.text(middle_x, middle + 0.25, "one network:\nshared\nweights", ha="center", va="bottom", fontsize=SMALL_POINTS)
    top = -len(tower)
    for x in (left_x, right_x):
        ax.annotate("", (middle_x, top + 0.25), (x, top + 0.68), arrowprops=arrow)
    for row, text in enumerate(join):
        y = top - row
        ax.text(
            middle_x,
            y,
            text,
            ha="center",
            va="center",
            fontsize=SMALL_POINTS,
            bbox={**box, "facecolor": "#fde2cc", "edgecolor": "tab:orange"},
        )
        if row:
            ax.annotate("", (middle_x, y + 0.3), (middle_x, y + 0.7), arrowprops=arrow)
    ax.set_title(title or f"{model.name}: {model.count_params():,} parameters", fontsize=TEXT_POINTS * 1.1)
    ax.figure.tight_layout()
    return ax


@course_figure
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

    Returns a new Figure of two SubFigures, one above the other: the pairs, and the episode with
    its bars.
    """
    left, right, same = pairs
    n_pairs, n_way = len(same), len(support)
    probabilities = drawn(probabilities)
    fig = plt.figure(figsize=(FIGURE_INCHES, 5.6), FigureClass=DiagramFigure)
    pair_figure, episode_figure = fig.subfigures(2, 1, height_ratios=[2.5, 3.1], hspace=0.04)
    pair_axes = pair_figure.subplots(2, n_pairs, squeeze=False)
    pair_figure.subplots_adjust(top=0.8, bottom=0.02, hspace=0.1)
    for column in range(n_pairs):
        color = ANSWER_COLOR if same[column] else WRONG_COLOR
        draw_drawing(
            pair_axes[0, column],
            left[column],
            frame_color=color,
            frame_width=2,
            title=f"target {int(same[column])}",
            vector=True,
        )
        draw_drawing(pair_axes[1, column], right[column], frame_color=color, frame_width=2, vector=True)
    pair_figure.suptitle("Pairs: each pair scored alone, its own target, binary cross-entropy", fontsize=TEXT_POINTS)
    grid = episode_figure.add_gridspec(2, n_way + 1, height_ratios=[1, 0.9], top=0.8, bottom=0.08, hspace=0.25)
    query_ax = episode_figure.add_subplot(grid[0, 0])  # the bars' axis labels take the cell below it
    draw_drawing(query_ax, query, frame_color=QUERY_COLOR, frame_width=2, title="query", vector=True)
    for label in range(n_way):
        draw_drawing(
            episode_figure.add_subplot(grid[0, label + 1]),
            support[label],
            frame_color=ANSWER_COLOR if label == answer else None,
            frame_width=2,
            title=f"class {label}",
            vector=True,
        )
    bars = episode_figure.add_subplot(grid[1, 1:])
    colors = [ANSWER_COLOR if label == answer else "0.6" for label in range(n_way)]
    bars.bar(np.arange(n_way), probabilities, color=colors)
    bars.set(xticks=np.arange(n_way), ylim=(0, 1), ylabel="softmax", xlim=(-0.5, n_way - 0.5))
    episode_figure.suptitle(
        "An episode: the query against all N classes at once,\nsoftmax over classes, cross-entropy of the right one",
        fontsize=TEXT_POINTS,
    )
    return fig


@course_figure
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
    distance to it (dashed lines). Right, the matching network, which compares by cosine, an angle
    seen from the origin: a ray from the origin to every support embedding, as thick as the
    attention it gets (summed per class in the title), and a dashed ray to the query.

    Returns a new Figure of two panels.
    """
    support, query, prototypes = drawn(support), drawn(query), drawn(prototypes)
    labels, attention = np.asarray(support_labels), drawn(attention)
    fig, (proto_ax, match_ax) = plt.subplots(
        1, 2, figsize=(FIGURE_INCHES, 4.6), sharex=True, sharey=True, FigureClass=DiagramFigure
    )
    for ax in (proto_ax, match_ax):
        for label in np.unique(labels):
            ax.scatter(*support[labels == label].T, s=60, color=f"C{label}", label=f"class {label} support")
        ax.scatter(*query, s=90, marker="s", color=QUERY_COLOR, label="query", zorder=3)
        ax.set_aspect("equal")
        ax.grid(alpha=0.3)
    points = np.concatenate([support, prototypes, query[None]])
    proto_taken, match_taken = list(points), list(points)
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
        label_segment(proto_ax, query, prototype, f"{-distance:.2f}" if distance else "0", f"C{label}", proto_taken)
    origin = np.zeros(2)
    match_ax.scatter(*origin, s=20, color="black", zorder=3)
    match_ax.plot(*np.stack([origin, query]).T, ls="--", color=QUERY_COLOR, lw=1)
    match_taken.append(origin)
    for point, label, weight in zip(support, labels, attention, strict=True):
        match_ax.plot(*np.stack([origin, point]).T, color=f"C{label}", lw=0.5 + 8 * weight)
        label_segment(match_ax, origin, point, f"{weight:.2f}", f"C{label}", match_taken)
    per_class = np.bincount(labels, attention)
    proto_ax.set_title("Prototypical: minus squared\ndistance to each class mean", fontsize=TEXT_POINTS)
    # a class's total is one unbreakable unit (no-break spaces), so no line breaks inside it
    totals = ", ".join(f"class\u00a0{index}:\u00a0{total:.2f}" for index, total in enumerate(per_class))
    match_ax.set_title(
        "Matching: attention by the angle\nfrom the origin; per class:\n" + wrap(totals, 3.3), fontsize=TEXT_POINTS
    )
    handles, labels_shown = proto_ax.get_legend_handles_labels()
    fig.legend(handles, labels_shown, loc="lower center", ncols=3, frameon=False)
    legend_rows = int(np.ceil(len(labels_shown) / 3))
    fig.tight_layout(rect=(0, (0.22 * legend_rows + 0.1) / fig.get_figheight(), 1, 1))
    return fig


def label_segment(ax: Axes, start: np.ndarray, end: np.ndarray, text: str, colour, taken: list) -> None:
    """Write ``text`` beside the segment from ``start`` to ``end`` (data coordinates, equal aspect),
    at the place along and beside it that lies farthest from every point in ``taken`` (points and
    labels already drawn), on a white ground; the place chosen is added to ``taken``."""
    along = end - start
    length = float(np.hypot(*along))
    direction = along / length if length else np.array([1.0, 0.0])
    across = np.array([-direction[1], direction[0]])
    span = np.ptp(np.asarray(taken), axis=0).max() or 1.0
    candidates = [
        start + fraction * along + side * 0.09 * span * across for fraction in (0.5, 0.35, 0.65) for side in (1, -1)
    ]
    low, high = np.min(taken, axis=0), np.max(taken, axis=0)  # inside the points' box: inside the frame
    inside = [spot for spot in candidates if np.all((spot >= low + 0.05 * span) & (spot <= high - 0.05 * span))]
    candidates = inside or candidates
    # labels are wider than tall: a neighbour beside counts as nearer than one above
    place = max(
        candidates, key=lambda spot: min(np.hypot((spot - other)[0] / 2.5, (spot - other)[1]) for other in taken)
    )
    taken.append(place)
    ax.text(
        *place,
        text,
        ha="center",
        va="center",
        fontsize=SMALL_POINTS,
        color=colour,
        zorder=4,
        bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
    )


# ---------------------------------------------------------------- where meta-learning sits, and what it learns

#: The three families of few-shot learners: how the support set enters, and the methods of each.
METHOD_FAMILIES = {
    "metric-based": (
        "the support set is\npoints to compare with",
        [
            "pixel nearest neighbour",
            "Modified Hausdorff distance",
            "siamese network",
            "matching network",
            "prototypical network",
        ],
    ),
    "model-based": (
        "the support set is\ninput to a network",
        ["memory-augmented networks", "attentive meta-learners (SNAIL)", "(not built in this course)"],
    ),
    "optimisation-based": (
        "the support set is\ntraining data",
        ["MAML", "first-order MAML", "Reptile", "ANIL (head-only inner loop)"],
    ),
}
#: Methods that use features learnt for something else, and the families whose way they can use a support set.
BETWEEN_FAMILIES = (
    "transfer learning: a classifier's or a self-supervised network's features,\n"
    "compared (metric) or fine-tuned on the support set (optimisation)"
)


@course_figure
def plot_method_families(*, ax: Axes | None = None) -> Axes:
    """The three families of few-shot learners, each with how the support set enters and its methods.

    Draws into ``ax``, or a new figure's; returns the Axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(FIGURE_INCHES, 4.0), FigureClass=DiagramFigure)
    ax.set_xlim(0, 3)
    ax.set_ylim(-0.55, 1.0)
    ax.axis("off")
    for column, (family, (how, methods)) in enumerate(METHOD_FAMILIES.items()):
        left = column + 0.05
        box = FancyBboxPatch(
            (left, 0.02), 0.9, 0.93, boxstyle="round,pad=0.01", fc=f"C{column}", alpha=0.12, ec=f"C{column}"
        )
        ax.add_patch(box)
        ax.text(column + 0.5, 0.89, family, ha="center", va="center", fontsize=TEXT_POINTS * 1.1, weight="bold")
        ax.text(column + 0.5, 0.74, how, ha="center", va="center", fontsize=SMALL_POINTS, style="italic")
        for row, method in enumerate(methods):
            ax.text(
                column + 0.5,
                0.55 - 0.1 * row,
                method,
                ha="center",
                va="center",
                fontsize=SMALL_POINTS,
                color="0.45" if method.startswith("(") else "black",
            )
    bridge = FancyBboxPatch((0.05, -0.5), 2.9, 0.38, boxstyle="round,pad=0.01", fc="0.92", ec="0.6")
    ax.add_patch(bridge)
    ax.text(1.5, -0.31, BETWEEN_FAMILIES, ha="center", va="center", fontsize=SMALL_POINTS)
    ax.set_title(wrap("Three families of few-shot learners: where the support set enters", 6.8, TEXT_POINTS * 1.1))
    ax.figure.tight_layout()
    return ax


@course_figure
def plot_adaptation_paths(*, ax: Axes | None = None) -> Axes:
    """A sketch of what MAML learns: an initialisation from which one short step nears every task's optimum.

    Two starting points in a two-dimensional caricature of weight space: a random one, from which
    one gradient step on each task's support set barely moves toward its optimum, and a
    meta-learnt one, placed where one step lands close to any of them. A picture of the idea,
    not of a measured network. Draws into ``ax``, or a new figure's; returns the Axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(FIGURE_INCHES, 4.6), FigureClass=DiagramFigure)
    optima = np.array([[2.2, 2.6], [3.9, 0.9], [1.0, 0.6]])
    # where each optimum's label goes: task 2's, near the right edge, under its star
    placements = [((8, 6), "left", "bottom"), ((0, -10), "center", "top"), ((8, 6), "left", "bottom")]
    meta_learnt, random_start = optima.mean(axis=0) + [0.05, 0.1], np.array([-1.3, 3.2])
    for start, colour, label in (
        (random_start, "0.5", "a random initialisation"),
        (meta_learnt, "C0", "the meta-learnt initialisation θ"),
    ):
        ax.plot(*start, "o", color=colour, ms=9, label=label)
        reach = 0.6 if colour == "C0" else 0.25  # how far one step gets toward each task's best weights
        for optimum in optima:
            step = start + reach * (optimum - start)
            ax.annotate("", xy=step, xytext=start, arrowprops={"arrowstyle": "->", "color": colour, "lw": 1.6})
    for task, (optimum, (offset, across, up)) in enumerate(zip(optima, placements, strict=True), start=1):
        ax.plot(*optimum, "*", color="C3", ms=14)
        ax.annotate(
            f"task {task}'s best weights",
            optimum,
            xytext=offset,
            textcoords="offset points",
            ha=across,
            va=up,
            fontsize=SMALL_POINTS,
        )
    ax.plot([], [], "*", color="C3", ms=12, label="each task's best weights")
    ax.plot([], [], color="C0", lw=1.6, label="one inner step on each task's support set")
    ax.set_xlim(-1.8, 5.4)
    ax.set_ylim(0.2, 3.6)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("weights (two of many)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=2, frameon=False)
    ax.set_title("What MAML meta-learns: a start one step away from every task")
    ax.figure.tight_layout()
    return ax
