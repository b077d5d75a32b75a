"""Figures of embeddings: drawings projected on their principal axes, and how far each class spreads.

The projections come from ``analysis.pca_projection`` (in ``scoring``); these functions only draw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from oneshot_lib.viz.style import FIGURE_INCHES, TEXT_POINTS, character_name, course_figure, wrap


def class_name(names: Sequence[str], label: int) -> str:
    """The name of class ``label`` for a legend: ``names[label]`` as ``style.character_name`` writes
    it (``character07`` is ``character 7``), or ``character {label + 1}``: numbered from 1, as
    Omniglot numbers characters."""
    return character_name(names[label]) if len(names) > label else f"character {label + 1}"


@course_figure
def plot_embedding_projections(
    projections: Mapping[str, tuple[np.ndarray, np.ndarray]], labels: np.ndarray, *, names: Sequence[str] = ()
) -> Figure:
    """Side-by-side scatter plots of 2-D projections, one point per drawing, one colour per character.

    ``projections`` maps a title to ``analysis.pca_projection``'s (points (n, 2), variance shares (2,));
    ``labels`` (n,) int gives each drawing's character, named in the legend by ``names[label]``
    (``class_name``).

    The panels go two to a row, over one legend for all. Tick labels carry their own scale
    (``5e-05``), so an untrained network's tiny spread needs no offset text beside the axis label.

    Returns a new Figure, one panel per projection.
    """
    if not projections:
        raise ValueError("projections is empty: pass {title: (points, variance shares)}")
    labels = np.asarray(labels)
    n_cols = min(2, len(projections))
    n_rows = int(np.ceil(len(projections) / n_cols))
    legend_rows = int(np.ceil(len(np.unique(labels)) / 3))
    panel = min(3.6, FIGURE_INCHES / n_cols)
    fig, axes = plt.subplots(
        n_rows, n_cols, figsize=(panel * n_cols, (panel + 0.4) * n_rows + 0.22 * legend_rows + 0.2), squeeze=False
    )
    for ax in axes.flat[len(projections) :]:
        ax.set_axis_off()
    for ax, (title, (points, shares)) in zip(axes.flat, projections.items(), strict=False):
        if len(points) != len(labels):
            raise ValueError(f"{title!r}: {len(points)} points but {len(labels)} labels")
        for index, label in enumerate(np.unique(labels)):
            mine = labels == label
            name = class_name(names, label)
            ax.scatter(*points[mine].T, s=16, color=plt.cm.tab10(index % 10), label=name, alpha=0.85)
        ax.set(
            xlabel=f"principal axis 1 ({shares[0]:.0%} of variance)",
            ylabel=f"principal axis 2 ({shares[1]:.0%})",
        )
        ax.set_title(wrap(title, panel - 0.3, TEXT_POINTS), fontsize=TEXT_POINTS)
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.2g}"))
        ax.grid(alpha=0.3)
    handles, names_shown = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, names_shown, loc="lower center", ncols=3, frameon=False)
    fig.tight_layout(rect=(0, (0.22 * legend_rows + 0.1) / fig.get_figheight(), 1, 1))
    return fig


@course_figure
def plot_class_spread(
    points: np.ndarray, labels: np.ndarray, *, names: Sequence[str] = (), ax: Axes | None = None
) -> Axes:
    """Drawings (n, 2) of a few characters around their prototypes, with each class's spread as a circle.

    A prototype keeps each class's mean and drops the rest: the circle (radius: the mean distance
    of the class's drawings to its mean) is what a prototype leaves out.

    Draws into ``ax``, or a new figure's; returns the Axes.
    """
    labels = np.asarray(labels)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 5.2))
    for index, label in enumerate(np.unique(labels)):
        mine = points[labels == label]
        centre = mine.mean(axis=0)
        radius = np.linalg.norm(mine - centre, axis=1).mean()
        colour = plt.cm.tab10(index % 10)
        name = class_name(names, label)
        ax.scatter(*mine.T, s=14, color=colour, alpha=0.8, label=name)
        ax.scatter(*centre, s=140, marker="*", color=colour, edgecolor="black", linewidth=0.6)
        ax.add_patch(plt.Circle(centre, radius, fill=False, color=colour, lw=1.2, ls="--"))
    ax.set_aspect("equal", adjustable="datalim")
    ax.set(
        title="Each character's drawings,\nprototype (star) and mean spread (circle)",
        xlabel="first principal axis",
        ylabel="second principal axis",
    )
    ax.legend(loc="best")
    ax.figure.tight_layout()
    return ax
