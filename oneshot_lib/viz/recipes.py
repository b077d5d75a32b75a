"""Diagrams of how a training recipe is set up: an episode, where a network is cut for transfer, SimCLR.

Drawn as ``diagrams`` draws its diagrams: on a ``style.DiagramFigure`` (kept as SVG, the same bytes
on every machine), drawings as vector ink (``draw_drawing(..., vector=True)``), sizes read from
the network or given as numbers, never measured values with machine-dependent last digits. A
module of its own because ``diagrams`` holds the networks' insides and is full.

Each function places its parts in inches on one full-figure Axes (``canvas``), with drawings in
small Axes of their own (``drawing_at``), so the layout does not depend on a grid's spacing rules.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from oneshot_lib.viz.drawings import draw_drawing
from oneshot_lib.viz.style import (
    FIGURE_INCHES,
    QUERY_COLOR,
    SMALL_POINTS,
    TEXT_POINTS,
    DiagramFigure,
    course_figure,
)

ARROW = {"arrowstyle": "->", "color": "0.3", "linewidth": 1.0}
BOX = {"boxstyle": "round,pad=0.35", "linewidth": 1.0}
NETWORK_FILL, NETWORK_EDGE = "#dbe9f6", "tab:blue"  # a network's layers, as in the siamese diagram
LOSS_FILL, LOSS_EDGE = "#fde2cc", "tab:orange"  # a loss, or a head that exists for it
DROPPED = "0.55"  # what is thrown away after training


def canvas(height: float) -> tuple[Figure, Axes]:
    """A new DiagramFigure ``FIGURE_INCHES`` wide and ``height`` inches high, and an Axes over all
    of it whose data coordinates are inches from its lower left corner, axis off."""
    fig = plt.figure(figsize=(FIGURE_INCHES, height), FigureClass=DiagramFigure)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set(xlim=(0, FIGURE_INCHES), ylim=(0, height))
    ax.axis("off")
    return fig, ax


def drawing_at(fig: Figure, image: np.ndarray, x: float, y: float, side: float, **kwargs) -> Axes:
    """Draw ``image`` (H, W) as vector ink in a ``side``-inch square whose centre is (x, y) inches."""
    width, height = fig.get_size_inches()
    ax = fig.add_axes(((x - side / 2) / width, (y - side / 2) / height, side / width, side / height))
    return draw_drawing(ax, image, vector=True, **kwargs)


def box(ax: Axes, x: float, y: float, text: str, fill: str, edge: str, **kwargs) -> None:
    """``text`` centred at (x, y) in a rounded box of ``fill`` and ``edge`` colours."""
    note(ax, x, y, text, bbox={**BOX, "facecolor": fill, "edgecolor": edge}, **kwargs)


def note(ax: Axes, x: float, y: float, text: str, *, ha: str = "center", va: str = "center", **kwargs) -> None:
    """``text`` at (x, y) inches in the diagrams' small type, centred unless ``ha`` and ``va`` say otherwise."""
    ax.text(x, y, text, ha=ha, va=va, fontsize=SMALL_POINTS, **kwargs)


def heading(ax: Axes, x: float, y: float, text: str, *, ha: str = "center", **kwargs) -> None:
    """A part's bold heading at (x, y) inches."""
    ax.text(x, y, text, ha=ha, va="center", fontsize=TEXT_POINTS, weight="bold", **kwargs)


def arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], **style) -> None:
    ax.annotate("", end, start, arrowprops={**ARROW, **style})


def check_drawings(name: str, drawings: np.ndarray, dimensions: int) -> np.ndarray:
    """``drawings`` as an array of ``dimensions`` dimensions, or a ValueError naming ``name``."""
    drawings = np.asarray(drawings)
    if drawings.ndim != dimensions or 0 in drawings.shape:
        raise ValueError(f"{name} must be a non-empty array of {dimensions} dimensions, got shape {drawings.shape}")
    return drawings


# ---------------------------------------------------------------- how an episode is built


@course_figure
def drawing_row(fig: Figure, images: np.ndarray, left: float, y: float, side: float, colour, width: float) -> None:
    """Draw images (n, H, W) side by side from x = ``left`` at height ``y``, each framed in ``colour``."""
    for number, image in enumerate(images):
        drawing_at(fig, image, left + number * side * 1.08, y, side, frame_color=colour, frame_width=width)


def plot_episode_recipe(pool: np.ndarray, picked: Sequence[int], support: np.ndarray, query: np.ndarray) -> Figure:
    """How one training episode is built, and what its loss reads.

    ``pool`` (C, H, W) holds one drawing of each of C training characters, drawn as the pool the
    episode is sampled from; ``picked`` (N,) are the rows of ``pool`` sampled for this episode, in
    the order of their new labels 0..N-1; ``support`` (N, k, H, W) and ``query`` (N, q, H, W) are
    k and q other drawings of each picked character. The diagram reads left to right: the pool
    with the N picked characters framed in their class colour, the episode (one row per class,
    relabelled 0..N-1, support and queries), then the training step: class scores from the
    support set, the cross-entropy of the queries only, and a fresh episode for the next step.

    Raises ValueError if the shapes disagree or a picked row is outside the pool.
    Returns a new Figure.
    """
    pool = check_drawings("pool", pool, 3)
    support, query = check_drawings("support", support, 4), check_drawings("query", query, 4)
    picked = [int(row) for row in picked]
    n_way, k_shot, n_query = len(picked), support.shape[1], query.shape[1]
    if support.shape[0] != n_way or query.shape[0] != n_way:
        raise ValueError(f"support {support.shape} and query {query.shape} need one row per picked character ({n_way})")
    if len(set(picked)) != n_way or not all(0 <= row < len(pool) for row in picked):
        raise ValueError(f"picked must be {n_way} distinct rows of the pool (0..{len(pool) - 1}), got {picked}")
    columns = int(np.ceil(np.sqrt(len(pool))))
    pool_rows = int(np.ceil(len(pool) / columns))
    cell = min(0.5, 1.9 / columns, 0.62)  # pool drawings: at most 1.9 inches across
    side = min(0.46, 2.5 / (k_shot + n_query + 0.6))  # the episode's drawings
    row_height = side + 0.3
    height = max(pool_rows * cell + 1.65, n_way * row_height + 1.3, 3.4)
    fig, ax = canvas(height)
    top = height - 0.55

    # the pool of training characters
    pool_left = 0.25 + cell / 2
    heading(ax, 0.2, height - 0.2, "training characters", ha="left")
    colour_of = {row: f"C{label}" for label, row in enumerate(picked)}
    for index, image in enumerate(pool):
        x = pool_left + (index % columns) * cell
        y = top - cell / 2 - (index // columns) * cell
        colour = colour_of.get(index)
        drawing_at(fig, image, x, y, cell * 0.86, frame_color=colour, frame_width=2.2)
    pool_bottom = top - pool_rows * cell
    note(ax, 0.2, pool_bottom - 0.2, f"1. sample N = {n_way}\ncharacters (framed)", ha="left", va="top")

    # the episode: one row per class
    episode_left = 0.2 + columns * cell + 0.5
    label_x = episode_left + 0.3
    first_x = episode_left + 0.75
    query_x = first_x + k_shot * side * 1.08 + 0.25
    heading(ax, first_x - side / 2, height - 0.2, "one episode", ha="left")
    note(ax, first_x + (k_shot - 1) * side * 0.54, top + 0.05, f"2. support: k = {k_shot}", va="bottom")
    note(ax, query_x + (n_query - 1) * side * 0.54, top + 0.05, f"queries: q = {n_query}", va="bottom")
    for label in range(n_way):
        y = top - 0.12 - side / 2 - label * row_height
        note(ax, label_x, y, f"class\n{label}", color=f"C{label}", weight="bold")
        drawing_row(fig, support[label], first_x, y, side, f"C{label}", 2.2)
        drawing_row(fig, query[label], query_x, y, side, QUERY_COLOR, 1.6)
    episode_bottom = top - 0.12 - n_way * row_height
    pool_right = 0.2 + columns * cell
    arrow(
        ax,
        (pool_right + 0.05, top - pool_rows * cell / 2),
        (label_x - 0.32, top - 0.12 - n_way * row_height / 2),
        linewidth=1.4,
    )
    note(
        ax,
        label_x - 0.3,
        episode_bottom - 0.02,
        f"3. labels 0..{n_way - 1}, for this episode only",
        ha="left",
        va="top",
    )

    # the training step
    episode_right = query_x + (n_query - 0.5) * side * 1.08
    step_x = min((episode_right + FIGURE_INCHES) / 2, FIGURE_INCHES - 0.95)  # its widest box: 1.7 inches
    steps = [
        ("embed every drawing", NETWORK_FILL, NETWORK_EDGE),
        ("class scores from the\nsupport set (prototypes)", NETWORK_FILL, NETWORK_EDGE),
        ("cross-entropy of\nthe queries only", LOSS_FILL, LOSS_EDGE),
        ("one gradient step", LOSS_FILL, LOSS_EDGE),
    ]
    spacing = min(0.72, (height - 0.9) / len(steps))
    for index, (text, fill, edge) in enumerate(steps):
        y = top - 0.25 - index * spacing
        box(ax, step_x, y, text, fill, edge)
        if index:
            arrow(ax, (step_x, y + spacing - 0.2), (step_x, y + 0.2))
    last_y = top - 0.25 - (len(steps) - 1) * spacing
    note(ax, step_x, top + 0.05, "4. train on it", va="bottom")
    # the loop back: below everything, from the training step to the pool
    loop_y, pool_x = 0.22, 0.2 + columns * cell / 2
    ax.plot([step_x, step_x, pool_x], [last_y - 0.25, loop_y, loop_y], color="0.3", linestyle="--", linewidth=1.0)
    arrow(ax, (pool_x, loop_y), (pool_x, pool_bottom - 0.62), linestyle="--")
    note(
        ax,
        (pool_x + step_x) / 2,
        loop_y,
        "next step: a fresh episode",
        style="italic",
        bbox={"boxstyle": "square,pad=0.2", "facecolor": "white", "edgecolor": "none"},
    )
    return fig


# ---------------------------------------------------------------- where a network is cut for transfer


def block_shapes(embedding) -> list[tuple[str, tuple[int, ...]]]:
    """(layer name, output shape without the batch) of the input and each block's pooling layer of a
    Conv-4 ``embedding`` (``conv4.build_embedding``: layers conv1, batchnorm1, relu1, pool1, ...).

    Raises ValueError for a network without pooling layers named ``pool1``, ``pool2``, ...
    """
    shapes = [("input", tuple(int(size) for size in embedding.input_shape[1:]))]
    shapes += [
        (layer.name, tuple(int(size) for size in layer.output.shape[1:]))
        for layer in embedding.layers
        if layer.name.startswith("pool")
    ]
    if len(shapes) == 1:
        raise ValueError(f"{embedding.name!r} has no layers pool1, pool2, ...: pass a conv4.build_embedding network")
    return shapes


def side_by_side(shape: tuple[int, ...]) -> str:
    return "x".join(str(size) for size in shape)


@course_figure
def plot_transfer_cuts(embedding, n_classes: int) -> Figure:
    """Where a trained classifier's network is cut for transfer, and what uses each cut.

    ``embedding`` is the classifier's Conv-4 network (``conv4.build_embedding``; sizes are read
    from its layers, ``block_shapes``), ``n_classes`` the number of training classes its
    classifier head was trained over. Top to bottom: the drawing, the blocks, and the head,
    which is thrown away; on the right, the cut after each block, with the size of its flattened
    features; those features feed a cosine nearest neighbour or a new linear head fitted on the
    support set; the network is kept frozen or fine-tuned with the new head.

    Raises ValueError if ``n_classes`` is under 2 or the network has no blocks.
    Returns a new Figure.
    """
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2 (the classes the head was trained over), got {n_classes}")
    shapes = block_shapes(embedding)
    blocks = len(shapes) - 1
    filters = [layer.filters for layer in embedding.layers if type(layer).__name__ == "Conv2D"]
    kernels = [layer.kernel_size for layer in embedding.layers if type(layer).__name__ == "Conv2D"]
    spacing = 0.62
    height = (blocks + 1) * spacing + 1.0
    fig, ax = canvas(height)
    column_x, cut_x, use_x = 2.15, 4.45, 6.15
    top = height - 0.5
    heading(ax, column_x, height - 0.18, "the transfer baseline's network")
    box(ax, column_x, top, f"drawing {side_by_side(shapes[0][1])}", "white", NETWORK_EDGE)
    for block in range(1, blocks + 1):
        y = top - block * spacing
        height_, width_ = kernels[block - 1]
        size = side_by_side(shapes[block][1])
        text = f"block {block}: conv {filters[block - 1]} {height_}x{width_}, batch norm,\nReLU, max-pool -> {size}"
        box(ax, column_x, y, text, NETWORK_FILL, NETWORK_EDGE)
        arrow(ax, (column_x, y + spacing - 0.17), (column_x, y + 0.22))
        features = int(np.prod(shapes[block][1]))
        ax.plot([column_x + 1.25, cut_x - 0.6], [y, y], color="tab:red", linestyle="--", linewidth=1.0)
        note(ax, cut_x, y, f"cut {block}: {features:,}\nnumbers", color="tab:red")
        arrow(
            ax,
            (cut_x + 0.55, y),
            (use_x - 0.85, (top - (blocks + 1) / 2 * spacing) + 0.1 * (blocks / 2 - block + 0.5)),
            linewidth=0.7,
        )
    head_y = top - (blocks + 1) * spacing
    note(
        ax,
        column_x,
        head_y,
        f"head: dense {int(np.prod(shapes[-1][1])):,} -> {n_classes:,} classes,\nthrown away after training",
        color=DROPPED,
        bbox={**BOX, "facecolor": "white", "edgecolor": DROPPED, "linestyle": "--"},
    )
    arrow(ax, (column_x, head_y + spacing - 0.17), (column_x, head_y + 0.25), color=DROPPED)
    middle = top - (blocks + 1) / 2 * spacing
    # a bracket over the blocks and the head: what the classifier was trained on
    ax.plot(
        [0.5, 0.42, 0.42, 0.5],
        [top - spacing + 0.25, top - spacing + 0.25, head_y - 0.15, head_y - 0.15],
        color="0.3",
        linewidth=1.0,
    )
    note(ax, 0.28, (top - spacing + head_y) / 2, "trained together on the\ntraining characters' labels", rotation=90)
    box(
        ax,
        use_x,
        middle,
        "on a new task's\nsupport set:\n(a) cosine nearest\nneighbour, or\n(b) a new linear head",
        LOSS_FILL,
        LOSS_EDGE,
    )
    note(ax, use_x, head_y, "the blocks: frozen (a, b),\nor (c) fine-tuned with\nthe new head", style="italic")
    heading(ax, cut_x, height - 0.18, "where to cut", color="tab:red")
    return fig


# ---------------------------------------------------------------- the SimCLR pipeline


@course_figure
def plot_simclr_pipeline(
    drawing: np.ndarray,
    views: np.ndarray,
    *,
    embedding_units: int = 64,
    hidden_units: int = 64,
    projection_units: int = 64,
    batch_size: int = 128,
    distortions: str = "two random\ndistortions t, t'",
) -> Figure:
    """SimCLR's pipeline: one drawing, two random views, the shared encoder, the projection head, NT-Xent.

    ``drawing`` (H, W) is a drawing and ``views`` (2, H', W') two random distortions of it (ink
    above 0.5 is drawn, after rounding to ``diagrams.DRAWN_DECIMALS``' three decimals); the sizes
    are the embedding's (``embedding_units``), the projection head's hidden and output layers and
    the batch's (``batch_size`` drawings, so 2B views); ``distortions`` names the random
    transforms, written beside the views. Top to bottom: the drawing, its two views,
    the one encoder both go through, the embedding h (what is scored after training, by cosine),
    the projection head g (thrown away after training), z, and NT-Xent, which pulls the two z of a
    drawing together against the other 2B - 2 views of the batch.

    Raises ValueError if ``views`` is not two drawings or a size is under 1.
    Returns a new Figure.
    """
    drawing = check_drawings("drawing", drawing, 2)
    views = np.round(check_drawings("views", views, 3).astype(np.float64), 3)
    if len(views) != 2:
        raise ValueError(f"views must hold the two views of the drawing, got {len(views)}")
    sizes = {
        "embedding_units": embedding_units,
        "hidden_units": hidden_units,
        "projection_units": projection_units,
        "batch_size": batch_size,
    }
    if min(sizes.values()) < 1:
        raise ValueError(f"every size must be at least 1, got {sizes}")
    height = 5.7
    fig, ax = canvas(height)
    left_x, right_x, middle_x, note_x = 1.55, 4.15, 2.85, 6.2
    drawing_at(fig, drawing, middle_x, height - 0.55, 0.7, frame_color=QUERY_COLOR, frame_width=1.6)
    heading(ax, middle_x + 0.5, height - 0.55, "a drawing x", ha="left")
    views_y = height - 1.65
    for x, view, name in ((left_x, views[0], "view 1: t(x)"), (right_x, views[1], "view 2: t'(x)")):
        drawing_at(fig, view, x, views_y, 0.62, frame_color="tab:green", frame_width=2.0)
        note(ax, x, views_y + 0.4, name, va="bottom")
        arrow(ax, (middle_x + (0.25 if x > middle_x else -0.25), height - 0.92), (x, views_y + 0.62))
    note(ax, note_x, views_y, distortions, style="italic")
    stages = [
        ("encoder f: Conv-4", NETWORK_FILL, NETWORK_EDGE),
        (f"h{{n}}: embedding, {embedding_units} numbers", NETWORK_FILL, NETWORK_EDGE),
        (f"projection head g:\ndense {hidden_units}, ReLU, dense {projection_units}", "white", DROPPED),
        (f"z{{n}}: {projection_units} numbers", "white", DROPPED),
    ]
    first_y, spacing = views_y - 0.85, 0.72
    for index, (text, fill, edge) in enumerate(stages):
        y = first_y - index * spacing
        for n, x in ((1, left_x), (2, right_x)):
            box(ax, x, y, text.format(n=n), fill, edge)
            arrow(ax, (x, y + spacing - (0.38 if index == 0 else 0.2)), (x, y + 0.22))
    ax.annotate(
        "",
        (right_x - 1.0, first_y),
        (left_x + 1.0, first_y),
        arrowprops={**ARROW, "arrowstyle": "<->", "linestyle": "--"},
    )
    note(ax, middle_x, first_y + 0.12, "shared\nweights", va="bottom")
    h_y, g_y = first_y - spacing, first_y - 2 * spacing
    note(ax, note_x, h_y, "after training:\nscored by cosine", color=NETWORK_EDGE, weight="bold")
    note(ax, note_x, g_y - spacing / 2, "thrown away\nafter training", color=DROPPED, weight="bold")
    loss_y = first_y - 4 * spacing + 0.05
    box(
        ax,
        middle_x,
        loss_y,
        "NT-Xent: pull z1 and z2 together, against the\n"
        f"other 2B - 2 = {2 * batch_size - 2} views of the batch (B = {batch_size})",
        LOSS_FILL,
        LOSS_EDGE,
    )
    for x in (left_x, right_x):
        arrow(ax, (x, loss_y + spacing - 0.2), (x, loss_y + 0.3))
    return fig
