"""Figures of what scorers give: scores of a support set, their sums, class rules, scores of transformed
drawings, distances."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from oneshot_lib.viz.drawings import draw_drawing
from oneshot_lib.viz.style import (
    ANSWER_COLOR,
    FIGURE_INCHES,
    PICK_COLOR,
    QUERY_COLOR,
    SHIFTED_COLOR,
    SMALL_POINTS,
    TEXT_POINTS,
    WRONG_COLOR,
    course_figure,
    legend_outside,
    wrap,
)


@course_figure
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
    distance, ...), so each row has its own y axis. The bars are numbered 0 to S - 1, as
    ``plot_task`` numbers the support drawings; with many, every k-th number is written.

    Returns a new Figure, one panel per scorer.
    """
    if not scores:
        raise ValueError("scores is empty: pass {scorer name: (S,) scores}")
    support_labels = np.asarray(support_labels)
    fig, axes = plt.subplots(
        len(scores), 1, figsize=(FIGURE_INCHES, 1.4 * len(scores) + 0.6), squeeze=False, sharex=True
    )
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
        ax.set_ylabel(name, fontsize=SMALL_POINTS, rotation=0, ha="right", va="center")
        ax.grid(axis="y", alpha=0.3)
    # Every bar gets a tick; the numbers, SMALL_POINTS wide each, only as many as fit the axis.
    every = next(k for k in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if len(positions) / k <= 40)
    axes[-1, 0].set_xticks(positions, minor=True)
    axes[-1, 0].set_xticks(positions[::every])
    axes[-1, 0].set_xlim(-0.6, len(positions) - 0.4)
    axes[-1, 0].set_xlabel(
        "support image, numbered as on the task (blue: the scorer's pick)"
        if answer is None
        else "support image, numbered as on the task\n(green: the answer's class; red: a wrong pick)"
    )
    fig.tight_layout()
    return fig


@course_figure
def plot_independent_scores(above_half: np.ndarray, probability_sums: np.ndarray, n_way: int) -> Figure:
    """Why a siamese network's scores are not a distribution over the support set.

    ``above_half`` (Q,) int: for each query, how many of its ``n_way`` support images got a
    probability above 0.5; ``probability_sums`` (Q,) float: the sum of its ``n_way``
    probabilities. A distribution over the support set would have at most one image above 0.5
    and sum to exactly 1 (the dashed line).

    Returns a new Figure of two panels.
    """
    above_half, probability_sums = np.asarray(above_half), np.asarray(probability_sums, dtype=float)
    if above_half.shape != probability_sums.shape or above_half.ndim != 1 or not len(above_half):
        raise ValueError("above_half and probability_sums must be non-empty (Q,) arrays of one length")
    fig, (count_ax, sum_ax) = plt.subplots(1, 2, figsize=(FIGURE_INCHES, 3.8))
    counts = np.bincount(above_half, minlength=n_way + 1)
    count_ax.bar(np.arange(len(counts)), counts / len(above_half), color="C0")
    count_ax.set(
        xlabel=f"support images (of {n_way})\nwith probability > 0.5",
        ylabel="share of queries",
        title="How many support images\n'match' a query",
    )
    count_ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    sum_ax.hist(probability_sums, bins=40, color="C0")
    sum_ax.axvline(1.0, ls="--", color="0.3", label="a distribution sums to 1")
    sum_ax.set(xlabel=f"sum of a query's {n_way}\nprobabilities", ylabel="queries", title="The scores\ndo not sum to 1")
    legend_outside(sum_ax)  # the histogram can reach any corner
    for ax in (count_ax, sum_ax):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


@course_figure
def plot_identity_scores(
    scores: Mapping[str, np.ndarray], references: Sequence[str], *, ax: Axes | None = None
) -> Axes:
    """Box plots of a scorer's scores between drawings and partners, one row per partner.

    ``scores`` is ``identity.identity_scores``'s: (n,) scores per partner; the rows named in
    ``references`` (another drawing of the same character, another character) are drawn grey,
    with dotted lines at their medians, so each transform reads against them.

    Draws into ``ax``, or a new figure's; returns the Axes.
    """
    names = list(scores)
    if ax is None:
        _, ax = plt.subplots(figsize=(FIGURE_INCHES, 0.5 * len(names) + 1.4))
    rows = np.arange(len(names))[::-1]
    boxes = ax.boxplot(
        [scores[name] for name in names], positions=rows, vert=False, widths=0.6, patch_artist=True, showfliers=False
    )
    for box, name in zip(boxes["boxes"], names, strict=True):
        box.set(facecolor="0.8" if name in references else "C0", alpha=0.8)
    for name in references:
        ax.axvline(np.median(scores[name]), color="0.35", ls=":", lw=1)
    ax.set_yticks(rows, names)
    ax.set_xlabel("score of the drawing against its partner\n(siamese: probability of 'same character')")
    ax.grid(axis="x", alpha=0.3)
    ax.figure.tight_layout()
    return ax


@course_figure
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
    The panels go two to a row; an odd count leaves a cell for the two legends, an even one puts
    them under the figure: no legend covers a curve.

    Returns a new Figure of len(results) + 1 panels.
    """
    n_panels = len(results) + 1
    n_rows = int(np.ceil(n_panels / 2))
    fig, grid = plt.subplots(n_rows, 2, figsize=(FIGURE_INCHES, 3.1 * n_rows + 0.3), squeeze=False)
    axes = grid.flat
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
    ax = axes[len(results)]
    for index, (metric, result) in enumerate(results.items()):
        nearest_wrong = np.asarray(result["nearest_wrong"])[:, None]
        picked = (np.asarray(result["shifted"]) < nearest_wrong).mean(axis=0)
        ax.plot(shifts, picked, "o-", color=f"C{index}", label=f"{metric}: shifted copy")
        other = np.mean(np.asarray(result["other_drawer"]) < nearest_wrong[:, 0])
        ax.axhline(other, color=f"C{index}", linestyle=":", label=f"{metric}: other drawer")
    ax.set_xlabel("shift (pixels right and down)")
    ax.set_ylabel("nearer than every\nwrong answer")
    ax.set_xticks(shifts)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title("Would nearest neighbour pick it?")
    ax.grid(alpha=0.3)
    legends = (
        (axes[0], "medians, quartile bands"),
        (ax, "nearer than every wrong answer"),
    )
    if n_panels % 2:  # both legends in the free cell, one above the other
        spare = axes[n_panels]
        spare.set_axis_off()
        for (source, title), (anchor, location) in zip(
            legends, (((0.5, 1.0), "upper center"), ((0.5, 0.0), "lower center")), strict=True
        ):
            spare.add_artist(
                spare.legend(*source.get_legend_handles_labels(), loc=location, bbox_to_anchor=anchor, title=title)
            )
    else:
        for source, title in legends:
            source.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), title=title, frameon=False)
    fig.tight_layout()
    return fig


@course_figure
def plot_distance_histograms(distances: Mapping[str, tuple[np.ndarray, np.ndarray]], *, bins: int = 40) -> Figure:
    """Per metric, histograms of (same-character, different-character) pair distances, each (P,).

    The more the two overlap, the less the metric can tell a new drawing of a character from a
    drawing of another one.

    Returns a new Figure, one panel per metric.
    """
    n_rows = int(np.ceil(len(distances) / 2))
    n_cols = min(2, len(distances))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(3.6 * n_cols, 3.2 * n_rows), squeeze=False)
    for ax in axes.flat[len(distances) :]:
        ax.set_axis_off()
    for ax, (metric, (same, different)) in zip(axes.flat, distances.items(), strict=False):
        edges = np.histogram_bin_edges(np.concatenate([same, different]), bins=bins)
        ax.hist(same, edges, density=True, alpha=0.55, color=ANSWER_COLOR, label="same character")
        ax.hist(different, edges, density=True, alpha=0.55, color=WRONG_COLOR, label="different characters")
        ax.set_xlabel(f"{metric} distance")
        ax.set_ylabel("density")
        ax.set_title(wrap(f"{metric}: two drawings, two drawers", 3.4, TEXT_POINTS * 1.1))
        ax.legend()
    fig.tight_layout()
    return fig


@course_figure
def plot_class_rules(
    query: np.ndarray,
    classes: Mapping[str, tuple[np.ndarray, np.ndarray]],
    rule_scores: Mapping[str, Mapping[str, float]],
    answer: str,
) -> Figure:
    """One query of a k-shot task, a few of its classes, and the class scores each class rule gives.

    ``query`` (H, W) is the query drawing; ``classes`` maps a class's name to its support drawings
    (k, H, W) and a scorer's score of the query against each, (k,) (the siamese network's
    probability of "same", say); ``rule_scores`` maps a class rule's name (``"mean of the k"``,
    ``"largest of the k"``, ``"prototype"``) to {class name: that class's score}; ``answer`` names
    the query's class. Top, the query, then one row per class, each drawing titled with its score
    (the answer's frame green); below, one group of bars per rule, one bar per class (the answer's
    green), the rule's pick marked with a star.

    Raises ValueError if ``answer`` is not a class or a rule scores other classes.
    Returns a new Figure of two SubFigures.
    """
    if answer not in classes:
        raise ValueError(f"answer {answer!r} is not one of the classes {list(classes)}")
    for rule, scores in rule_scores.items():
        if set(scores) != set(classes):
            raise ValueError(f"rule {rule!r} scores {sorted(scores)}, not the classes {sorted(classes)}")
    names = list(classes)
    shots = max(len(np.asarray(support)) for support, _ in classes.values())
    fig = plt.figure(figsize=(FIGURE_INCHES, 1.1 * len(names) + 2.9))
    drawings_figure, bars_figure = fig.subfigures(2, 1, height_ratios=[1.1 * len(names) + 0.3, 2.6], hspace=0.02)
    grid = drawings_figure.add_gridspec(len(names), shots + 2, width_ratios=[1, 1.5] + [1] * shots, hspace=0.55)
    draw_drawing(drawings_figure.add_subplot(grid[0, 0]), query, frame_color=QUERY_COLOR, frame_width=2, title="query")
    for row, (name, (support, scores)) in enumerate(classes.items()):
        colour = ANSWER_COLOR if name == answer else None
        for shot, (image, score) in enumerate(zip(support, scores, strict=True)):
            ax = draw_drawing(
                drawings_figure.add_subplot(grid[row, shot + 2]),
                image,
                frame_color=colour,
                frame_width=2,
                title=f"{score:.2f}",
            )
            if shot == 0:
                ax.set_ylabel(wrap(name, 0.9, SMALL_POINTS), fontsize=SMALL_POINTS, rotation=0, ha="right", va="center")
    drawings_figure.subplots_adjust(left=0.02, right=0.99, top=0.9, bottom=0.03)
    ax = bars_figure.subplots()
    width = 0.8 / len(names)
    for index, name in enumerate(names):
        heights = [rule_scores[rule][name] for rule in rule_scores]
        positions = np.arange(len(rule_scores)) + (index - (len(names) - 1) / 2) * width
        ax.bar(
            positions,
            heights,
            width * 0.95,
            color=ANSWER_COLOR if name == answer else f"{0.45 + 0.3 * index / len(names):.2f}",
            label=name,
        )
        for position, height, rule in zip(positions, heights, rule_scores, strict=True):
            picked = max(rule_scores[rule], key=rule_scores[rule].get) == name
            ax.text(
                position,
                height + 0.02,
                f"{height:.2f}" + ("\n\u2605" if picked else ""),
                ha="center",
                va="bottom",
                fontsize=SMALL_POINTS,
            )
    ax.set_xticks(np.arange(len(rule_scores)), list(rule_scores))
    ax.set_ylim(0, 1.35)
    ax.set_ylabel("class score")
    ax.spines[["top", "right"]].set_visible(False)
    legend_outside(ax, ncols=len(names))
    bars_figure.subplots_adjust(left=0.1, right=0.98, top=0.95, bottom=0.32)
    return fig
