"""Figures of accuracy: against N, during training, and across the cells of a controlled comparison."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from oneshot_lib.scoring.comparisons import ComparisonCell, LabelsUsedCell
from oneshot_lib.scoring.evaluate import Accuracy
from oneshot_lib.viz.style import FIGURE_INCHES, SMALL_POINTS, TEXT_POINTS, course_figure, legend_outside, wrap

LOG_TIME_RATIO = 5
"""Runs whose lengths differ by more than this factor share a logarithmic time axis, on which
a run of minutes is as wide as an hour's first minutes are, not a sliver at its start."""


@course_figure
def plot_n_way_curves(
    curves: Mapping[str, Mapping[int, Accuracy]], *, title: str | None = None, ax: Axes | None = None
) -> Axes:
    """Accuracy against N, one line per entry of ``curves`` ({label: {N: Accuracy}}).

    Error bars are one standard error over tasks; chance, 1/N, is drawn dashed over every N
    shown. Raises ValueError if ``curves`` is empty.

    Draws into ``ax``, or a new figure's; returns the Axes.
    """
    if not curves:
        raise ValueError("curves is empty: pass {label: {N: Accuracy}} with at least one curve")
    if ax is None:
        _, ax = plt.subplots(figsize=(FIGURE_INCHES, 4.2))
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
    ax.legend()
    ax.set_title(wrap(title or "One-shot accuracy against N", ax.bbox.width / ax.figure.dpi + 0.5, TEXT_POINTS * 1.1))
    ax.figure.tight_layout()
    return ax


@course_figure
def plot_training_history(
    histories: Mapping[str, Mapping],
    *,
    chance: float | None = None,
    loss_label: str = "training loss (cross-entropy + L2)",
    x: str = "minutes",
) -> Figure:
    """Training loss and validation one-shot accuracy against training time, one line per run.

    ``histories`` maps a label to a ``history.json`` of ``trainer.train`` (its ``epochs``
    records: ``elapsed_seconds``, ``step``, ``loss``, ``val_oneshot_accuracy``,
    ``val_oneshot_stderr``). Error bars are one standard error over the validation tasks.
    ``chance`` draws 1/N dashed. ``loss_label`` names the loss axis (runs of different model
    kinds have different losses). ``x`` is ``"minutes"`` (from ``elapsed_seconds``) or
    ``"steps"`` (optimiser steps, from ``step``): runs on computers of different speeds are
    compared fairly only at equal steps.

    When the longest run is over ``LOG_TIME_RATIO`` times the shortest, time is drawn on a
    logarithmic axis, and shorter runs are drawn over longer ones, thicker, so a run of a few
    minutes beside hour-long ones is not hidden under their first minutes.

    Raises ValueError for another ``x``, or for ``x="steps"`` when a record has no ``step``.
    Returns a new Figure of two panels, loss and accuracy, over one legend for both.
    """
    times = {label: training_times(history["epochs"], x, label) for label, history in histories.items()}
    fig, (loss_ax, accuracy_ax) = plt.subplots(1, 2, figsize=(FIGURE_INCHES, 3.6 + 0.1 * len(histories)))
    lengths = {label: time[-1] for label, time in times.items()}
    log_time = max(lengths.values()) > LOG_TIME_RATIO * min(lengths.values())
    shortest_first = sorted(lengths, key=lengths.get)
    for index, (label, history) in enumerate(histories.items()):
        epochs = history["epochs"]
        position = times[label]
        on_top = len(histories) - shortest_first.index(label)  # the shortest run highest
        width = 2.2 if log_time and label == shortest_first[0] else 1.5
        loss_ax.plot(
            position, [record["loss"] for record in epochs], color=f"C{index}", label=label, lw=width, zorder=2 + on_top
        )
        accuracy_ax.errorbar(
            position,
            [record["val_oneshot_accuracy"] for record in epochs],
            yerr=[record["val_oneshot_stderr"] for record in epochs],
            color=f"C{index}",
            marker="o",
            ms=2.5,
            capsize=2,
            lw=width,
            label=label,
            zorder=2 + on_top,
        )
    if chance is not None:
        accuracy_ax.axhline(chance, ls="--", color="0.4", label="chance")
    loss_ax.set_yscale("log")
    time_label = f"training {x} (logarithmic)" if log_time else f"training {x}"
    if log_time:
        for ax in (loss_ax, accuracy_ax):
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,g}"))
    loss_ax.set(xlabel=time_label, ylabel=wrap(loss_label, 3.0), title="Loss")
    accuracy_ax.set(
        xlabel=time_label,
        ylabel="accuracy",
        ylim=(0, 1),
        title="Validation:\n20-way one-shot, within alphabets",
    )
    accuracy_ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    for ax in (loss_ax, accuracy_ax):
        ax.grid(alpha=0.3)
    handles, labels = accuracy_ax.get_legend_handles_labels()
    legend_rows = int(np.ceil(len(labels) / 2))
    fig.legend(handles, labels, loc="lower center", ncols=2, frameon=False)
    fig.tight_layout(rect=(0, 0.2 * legend_rows / fig.get_figheight() + 0.02, 1, 1))
    return fig


def training_times(epochs: list[Mapping], x: str, label: str) -> np.ndarray:
    """(E,) float64 positions of a run's epoch records on a time axis: minutes or optimiser steps.

    Raises ValueError for an ``x`` other than "minutes" or "steps", or for "steps" when a record
    lacks its ``step`` (a history of ``trainer.train`` has one; a hand-made one must add it).
    """
    if x == "minutes":
        return np.array([record["elapsed_seconds"] for record in epochs], dtype=np.float64) / 60
    if x != "steps":
        raise ValueError(f'x must be "minutes" or "steps", got {x!r}')
    missing = [index for index, record in enumerate(epochs) if "step" not in record]
    if missing:
        raise ValueError(
            f"run {label!r}: epoch record {missing[0]} has no 'step'; add the optimiser steps done "
            'by its end, or plot with x="minutes"'
        )
    return np.array([record["step"] for record in epochs], dtype=np.float64)


@course_figure
def plot_controlled_comparison(cells: Mapping[str, ComparisonCell], *, reference: str | None = None) -> Figure:
    """One bar per cell of a controlled comparison, on three measures side by side.

    ``cells`` maps a cell's name to its record (``comparisons.load_objective_grid().cells``, say):
    ``best_validation`` (the accuracy that chose its checkpoint), ``evaluation_within_1shot`` and
    ``lake`` (20-way one-shot accuracy on the evaluation alphabets and on Lake's runs) with their
    ``_stderr``. Error bars are one standard error; ``reference`` names the cell the others
    change one thing of, drawn darker with a dotted line through its values.

    Returns a new Figure of three panels, one per measure.
    """
    names = list(cells)
    measures = (
        ("best_validation", None, "validation (chooses the checkpoint)"),
        ("evaluation_within_1shot", "evaluation_within_1shot_stderr", "evaluation alphabets, within one"),
        ("lake", "lake_stderr", "Lake's 400 trials"),
    )
    labels = [textwrap.fill(name, 26) for name in names]
    lines = sum(label.count("\n") + 1 for label in labels)
    fig, axes = plt.subplots(1, 3, figsize=(FIGURE_INCHES, 0.17 * lines + 0.12 * len(names) + 1.5), sharey=True)
    rows = np.arange(len(names))[::-1]
    for ax, (key, error_key, title) in zip(axes, measures, strict=True):
        values = np.array([getattr(cells[name], key) for name in names])
        errors = None if error_key is None else np.array([getattr(cells[name], error_key) for name in names])
        colours = ["0.25" if name == reference else "C0" for name in names]
        ax.barh(rows, values, xerr=errors, color=colours, capsize=2, height=0.65)
        reach = values if errors is None else values + errors  # where the error bar ends
        for row, value, end in zip(rows, values, reach, strict=True):
            inside = value > 0.45  # the number inside a long bar, after a short one
            ax.text(
                value - 0.03 if inside else end + 0.03,
                row,
                f"{value:.1%}",
                va="center",
                ha="right" if inside else "left",
                color="white" if inside else "black",
                fontsize=SMALL_POINTS,
            )
        if reference is not None:
            ax.axvline(getattr(cells[reference], key), color="0.25", ls=":", lw=1)
        ax.set_xlim(0, 1)
        ax.set_title(wrap(title, 1.5, TEXT_POINTS), fontsize=TEXT_POINTS)
        ax.set_xticks([0, 0.5, 1])
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(rows, labels)
    fig.suptitle("20-way one-shot accuracy of each cell's best checkpoint")
    fig.tight_layout()
    return fig


@course_figure
def plot_labels_used(
    cells: Mapping[str, LabelsUsedCell], *, no_labels: str | None = None, ax: Axes | None = None
) -> Axes:
    """Lake accuracy against the share of training characters labelled, one line per starting point.

    ``cells`` maps a cell's name to its record (``comparisons.load_labels_used().cells``, say:
    ``fraction``, ``characters``, ``start``, ``lake``, ``lake_stderr``); the cells without a
    ``start`` are not drawn as lines. ``no_labels`` names the record of the model trained without
    any label, drawn as a dashed level.

    Draws into ``ax``, or a new figure's; returns the Axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(FIGURE_INCHES, 4.4))
    starts = sorted({cell.start for cell in cells.values() if cell.start is not None})
    for index, start in enumerate(starts):
        mine = sorted((cell for cell in cells.values() if cell.start == start), key=lambda cell: cell.fraction)
        ax.errorbar(
            [cell.fraction for cell in mine],
            [cell.lake for cell in mine],
            yerr=[cell.lake_stderr for cell in mine],
            marker="o",
            capsize=3,
            color=f"C{index}",
            label=start,
        )
        for cell in mine:
            ax.annotate(
                f"{cell.lake:.1%}",
                (cell.fraction, cell.lake),
                textcoords="offset points",
                xytext=(6, -13 if index else 6),
                fontsize=SMALL_POINTS,
                color=f"C{index}",
            )
    if no_labels is not None:
        level = cells[no_labels].lake
        ax.axhline(level, color="0.4", ls="--", lw=1, label=f"no labels at all ({level:.1%})")
    ax.set_xscale("log")
    characters: dict[float, int] = {}  # each share of labels, and the characters it is
    for cell in cells.values():
        if cell.fraction:
            characters.setdefault(cell.fraction, cell.characters)
    fractions = sorted(characters)
    ax.set_xticks(fractions, [f"{f:.0%}\n({characters[f]} characters)" for f in fractions])
    ax.set_xlim(fractions[0] / 1.8, fractions[-1] * 1.8)  # room for the numbers right of the last points
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set(
        xlabel="share of the training characters whose labels are used",
        ylabel="Lake's 400 trials",
        title="Accuracy against labels used",
    )
    ax.grid(alpha=0.3)
    legend_outside(ax, ncols=len(starts) + (no_labels is not None))
    ax.figure.tight_layout()
    return ax


@course_figure
def plot_support_methods(results: Mapping[str, Mapping[int, Accuracy]], *, ax: Axes | None = None) -> Axes:
    """Accuracy of each way of using a support set, one bar per shot count, with one standard error.

    ``results`` maps a method's name to {k: ``evaluate.Accuracy``} for its k-shot tasks.

    Draws into ``ax``, or a new figure's; returns the Axes.
    """
    names = list(results)
    shots = sorted({k for by_shot in results.values() for k in by_shot})
    if ax is None:
        _, ax = plt.subplots(figsize=(FIGURE_INCHES, 0.6 * len(names) * len(shots) / 2 + 1.7))
    rows = np.arange(len(names))[::-1]
    height = 0.8 / len(shots)
    for index, k in enumerate(shots):
        values = np.array([results[name][k].mean for name in names])
        errors = np.array([results[name][k].stderr for name in names])
        offset = (len(shots) - 1 - 2 * index) * height / 2
        ax.barh(rows + offset, values, xerr=errors, height=height, color=f"C{index}", capsize=2, label=f"{k}-shot")
        for row, value, error in zip(rows, values, errors, strict=True):  # the number past the error bar
            ax.text(value + error + 0.01, row + offset, f"{value:.1%}", va="center", fontsize=SMALL_POINTS)
    ax.set_yticks(rows, [textwrap.fill(name, 30) for name in names])
    ax.set(xlim=(0, 1.15), xlabel="20-way accuracy within an alphabet (evaluation alphabets)")
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.grid(axis="x", alpha=0.3)
    legend_outside(ax, below=False, ncols=len(shots))  # above the bars: inside, it covers a number
    ax.figure.tight_layout()
    return ax


@course_figure
def plot_accuracy_curves(
    curves: Mapping[str, Mapping[int, Accuracy]],
    *,
    xlabel: str,
    title: str,
    chance: float | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Accuracy against a whole-number setting (steps, shots, ...), one line per entry of ``curves``.

    ``curves`` is {label: {setting: Accuracy}}; error bars are one standard error over tasks;
    ``chance`` draws a dashed line at that accuracy. Raises ValueError if ``curves`` is empty.
    Draws into ``ax``, or a new figure's; returns the Axes.
    """
    if not curves:
        raise ValueError("curves is empty: pass {label: {setting: Accuracy}} with at least one curve")
    if ax is None:
        _, ax = plt.subplots(figsize=(FIGURE_INCHES, 4.2))
    for index, (label, curve) in enumerate(curves.items()):
        settings = sorted(curve)
        ax.errorbar(
            settings,
            [curve[s].mean for s in settings],
            yerr=[curve[s].stderr for s in settings],
            marker="o",
            ms=4,
            capsize=3,
            color=f"C{index}",
            label=label,
        )
    if chance is not None:
        ax.axhline(chance, ls="--", color="0.4", label=f"chance, {chance:.0%}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(wrap(title, ax.bbox.width / ax.figure.dpi + 0.5, TEXT_POINTS * 1.1))
    ax.figure.tight_layout()
    return ax
