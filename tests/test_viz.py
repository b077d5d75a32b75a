"""Smoke tests of the figures of ``oneshot_lib.viz``, on tiny splits built here: right panels, frames, errors."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from conftest import synthetic_split
from matplotlib.colors import to_rgba

from oneshot_lib import viz
from oneshot_lib.data.omniglot import OmniglotSplit
from oneshot_lib.data.tasks import sample_task
from oneshot_lib.scoring.any_image import drawing_steps
from oneshot_lib.scoring.comparisons import ComparisonCell, LabelsUsedCell
from oneshot_lib.viz import style

matplotlib.use("Agg")

NAMES = ("Latin", "Japanese_(hiragana)", "Japanese_(katakana)", "Inuktitut_(Canadian_Aboriginal_Syllabics)")


def tiny_split(sizes: tuple[int, ...] = (5, 3, 2, 2)) -> OmniglotSplit:
    """Random ink, 20 drawings per character, alphabets named like Omniglot's."""
    base = synthetic_split(sizes)
    alphabets = np.repeat(NAMES[: len(sizes)], sizes)
    return OmniglotSplit(base.images, alphabets, base.characters, "tiny")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def frame_color(ax) -> tuple[float, ...]:
    return tuple(ax.spines["top"].get_edgecolor())


def comparison_cell(**changes) -> dict:
    """The fields of a ComparisonCell, with ``changes``."""
    return {
        "history": "grid/cell/history.json",
        "command": "python -m oneshot_lib.train",
        "parameters": 1000,
        "minutes": 10.0,
        "steps": 100,
        "best_validation": 0.7,
        "best_epoch": 3,
        "evaluation_within_1shot": 0.6,
        "evaluation_within_1shot_stderr": 0.01,
        "lake": 0.8,
        "lake_stderr": 0.02,
        **changes,
    }


def test_alphabet_labels_drop_qualifiers_unless_they_tell_names_apart():
    assert style.alphabet_labels(NAMES) == [
        "Latin",
        "Japanese (hiragana)",
        "Japanese (katakana)",
        "Inuktitut",
    ]
    assert style.alphabet_labels(["Japanese_(hiragana)"]) == ["Japanese"]


@pytest.mark.parametrize("n, shape", [(2, (1, 2)), (9, (3, 3)), (20, (4, 5)), (25, (5, 5)), (36, (6, 6))])
def test_grid_shape_is_the_squarest_that_fits(n, shape):
    assert style.grid_shape(n) == shape


def test_task_figure_has_query_and_support_and_frames_the_answer():
    data = tiny_split()
    task = sample_task(data, 4, k_shot=2, rng=0)
    fig = viz.plot_task(task, query_index=1)
    query_ax, *support_axes = fig.axes
    assert len(support_axes) == 8
    np.testing.assert_array_equal(query_ax.images[0].get_array(), task.query[1])
    green = [ax for ax in support_axes if frame_color(ax) == to_rgba(style.ANSWER_COLOR)]
    assert len(green) == 2
    for ax, image, label in zip(support_axes, task.support, task.support_labels, strict=True):
        np.testing.assert_array_equal(ax.images[0].get_array(), image)
        assert (ax in green) == (label == task.query_labels[1])


def test_task_figure_frames_a_wrong_prediction_in_red_and_can_hide_the_answer():
    task = sample_task(tiny_split(), 3, rng=1)
    wrong = (int(task.query_labels[0]) + 1) % 3
    fig = viz.plot_task(task, show_answer=False, predicted_class=wrong)
    colors = [frame_color(ax) for ax in fig.axes[1:]]
    assert colors.count(to_rgba(style.WRONG_COLOR)) == 1
    assert to_rgba(style.ANSWER_COLOR) not in colors


def test_task_figure_rejects_bad_arguments():
    task = sample_task(tiny_split(), 3, rng=2)
    with pytest.raises(IndexError, match="query_index 3"):
        viz.plot_task(task, query_index=3)
    with pytest.raises(ValueError, match="frame_colors has 2"):
        viz.plot_task(task, frame_colors=["red", "blue"])


def test_character_figure_shows_every_drawing():
    data = tiny_split()
    fig = viz.plot_character(data, 6)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 20
    np.testing.assert_array_equal(shown[7].images[0].get_array(), data.images[6, 7])
    assert "Japanese (hiragana)" in fig._suptitle.get_text()
    with pytest.raises(IndexError, match="rows 0 to 11"):
        viz.plot_character(data, 12)


def test_gallery_has_one_panel_per_alphabet_and_highlights():
    data = tiny_split()
    fig = viz.plot_alphabet_gallery(data, per_alphabet=2, n_cols=3, highlight=["Latin"])
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 4
    assert panels[0].images[0].get_array().shape == (105, 2 * 105 + 8)
    assert frame_color(panels[0]) == to_rgba(style.HIGHLIGHT_COLOR)
    assert frame_color(panels[1]) != to_rgba(style.HIGHLIGHT_COLOR)
    with pytest.raises(ValueError, match="per_alphabet=0"):
        viz.plot_alphabet_gallery(data, per_alphabet=0)


def test_protocols_figure_colours_support_frames_by_alphabet():
    fig = viz.plot_protocols(tiny_split(), n_way=4, seed=0)
    within, across = fig.subfigs
    within_colors = {frame_color(ax) for ax in within.axes[1:]}
    across_colors = {frame_color(ax) for ax in across.axes[1:]}
    assert len(within_colors) == 1
    assert len(across_colors) > 1
    assert "all 4 from Latin" in within._suptitle.get_text()


def test_characters_per_alphabet_bars_count_characters():
    data = tiny_split()
    ax = viz.plot_characters_per_alphabet({"a": data.select(["Latin"]), "b": data.without(["Latin"])})
    assert [bar.get_height() for bar in ax.patches] == [5, 3, 2, 2]


def test_ink_fraction_histogram_has_one_line_per_split():
    data = tiny_split()
    ax = viz.plot_ink_fraction({"first": data, "second": data.select(["Latin"])})
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert len(labels) == 2 and labels[0].startswith("first (mean ")


# ---------------------------------------------------------------- chapter 5


def test_plot_pair_batch_frames_same_pairs_green_and_different_red():
    images = np.zeros((4, 105, 105))
    fig = viz.plot_pair_batch(images, images, np.array([1.0, 0.0, 1.0, 0.0]), n_pairs=3)
    top = fig.axes[:3]
    assert [ax.get_title() for ax in top] == ["same", "different", "same"]
    assert frame_color(top[0]) == to_rgba(style.ANSWER_COLOR) and frame_color(top[1]) == to_rgba(style.WRONG_COLOR)


def test_plot_distortion_gallery_has_one_row_per_original():
    fig = viz.plot_distortion_gallery(np.zeros((2, 105, 105)), np.zeros((2, 5, 105, 105)))
    assert len(fig.axes) == 2 * 6


def test_plot_masked_reconstructions_shows_each_drawing_masked_and_restored():
    images = np.zeros((3, 8, 8, 1))
    images[:, 2:6, 4] = 1.0  # a vertical stroke
    masks = np.zeros((3, 8, 8, 1))
    masks[:, :4, :4] = 1  # the top-left patch hidden
    reconstructions = np.full((3, 8, 8, 1), 0.5)
    fig = viz.plot_masked_reconstructions(images, masks, reconstructions)
    assert len(fig.axes) == 3 * 3
    assert [ax.get_ylabel() for ax in fig.axes[::3]] == ["drawing", "masked input", "restored"]
    drawing, masked_input, restored = (fig.axes[3 * row].get_images()[0].get_array() for row in range(3))
    hidden_tint = to_rgba(style.HIDDEN_COLOR)[:3]
    np.testing.assert_allclose(drawing[0, 0], (1, 1, 1))  # paper, untinted
    np.testing.assert_allclose(drawing[3, 4], (0, 0, 0))  # ink
    np.testing.assert_allclose(masked_input[3, 3], hidden_tint)  # hidden: paper on the tint
    np.testing.assert_allclose(masked_input[5, 4], (0, 0, 0))  # visible ink
    np.testing.assert_allclose(restored[0, 0], np.multiply(hidden_tint, 0.5))  # grey ink on the tint
    np.testing.assert_allclose(restored[7, 7], (0.5, 0.5, 0.5))
    assert len(viz.plot_masked_reconstructions(images[:1, ..., 0], masks[:1, ..., 0] > 0, images[:1, ..., 0]).axes) == 3
    with pytest.raises(ValueError, match="one shape"):
        viz.plot_masked_reconstructions(images, masks[:2], reconstructions)
    with pytest.raises(ValueError, match="n >= 1"):
        viz.plot_masked_reconstructions(images[:0], masks[:0], reconstructions[:0])


def test_plot_training_history_draws_loss_and_accuracy_per_run():
    epochs = [
        {"elapsed_seconds": 60.0 * i, "loss": 1.0 / i, "val_oneshot_accuracy": 0.1 * i, "val_oneshot_stderr": 0.01}
        for i in (1, 2, 3)
    ]
    fig = viz.plot_training_history({"a": {"epochs": epochs}, "b": {"epochs": epochs[:2]}}, chance=0.05)
    loss_ax, accuracy_ax = fig.axes
    assert len(loss_ax.get_lines()) == 2
    np.testing.assert_allclose(loss_ax.get_lines()[0].get_xdata(), [1, 2, 3])
    assert accuracy_ax.get_ylim() == (0, 1)


# ---------------------------------------------------------------- chapter 6


def test_plot_score_bars_colours_the_answer_green_and_a_wrong_pick_red():
    labels = np.array([2, 0, 1])
    fig = viz.plot_score_bars({"a": np.array([0.9, 0.1, 0.5]), "b": np.array([0.1, 0.2, 0.3])}, labels, answer=2)
    first, second = fig.axes
    assert [to_rgba(bar.get_facecolor()) for bar in first.patches][0] == to_rgba(style.ANSWER_COLOR)
    assert [to_rgba(bar.get_facecolor()) for bar in second.patches][1:] == [to_rgba("0.6"), to_rgba(style.WRONG_COLOR)]
    with pytest.raises(ValueError, match="empty"):
        viz.plot_score_bars({}, labels, 0)


def test_plot_score_bars_colour_the_class_each_scorer_picks():
    # Class 0 has the highest single bar, but the scorer picked class 1 (by a class rule, say the mean).
    labels = np.array([0, 1, 0, 1])
    scores = {"a": np.array([0.9, 0.6, 0.0, 0.6])}
    shown = viz.plot_score_bars(scores, labels, answer=0, picks={"a": 1})
    green, red, grey = (to_rgba(colour) for colour in (style.ANSWER_COLOR, style.WRONG_COLOR, "0.6"))
    assert [to_rgba(bar.get_facecolor()) for bar in shown.axes[0].patches] == [green, red, green, red]
    hidden = viz.plot_score_bars(scores, labels, picks={"a": 1})
    blue = to_rgba(style.PICK_COLOR)
    assert [to_rgba(bar.get_facecolor()) for bar in hidden.axes[0].patches] == [grey, blue, grey, blue]
    by_default = viz.plot_score_bars(scores, labels)  # the class of the highest bar
    assert [to_rgba(bar.get_facecolor()) for bar in by_default.axes[0].patches] == [blue, grey, blue, grey]


def test_plot_mistakes_titles_the_scores():
    images = np.zeros((2, 105, 105))
    fig = viz.plot_mistakes(images, images, images, np.array([0.1, 0.2]), np.array([0.9, 0.8]))
    assert [ax.get_title() for ax in fig.axes[:3]] == ["query", "right: 0.100", "chosen: 0.900"]


# ---------------------------------------------------------------- chapter 7


def test_plot_independent_scores_shares_queries_by_count_and_marks_a_sum_of_one():
    fig = viz.plot_independent_scores(np.array([0, 1, 1, 3]), np.array([0.4, 1.0, 1.2, 2.5]), n_way=5)
    count_ax, sum_ax = fig.axes
    np.testing.assert_allclose([bar.get_height() for bar in count_ax.patches], [0.25, 0.5, 0, 0.25, 0, 0])
    assert sum_ax.get_lines()[0].get_xdata()[0] == 1.0
    with pytest.raises(ValueError, match="one length"):
        viz.plot_independent_scores(np.array([0, 1]), np.array([0.5]), n_way=5)


def test_plot_episode_titles_support_and_queries_with_their_classes():
    episode = {
        "support": np.zeros((3, 8, 8, 1)),
        "support_labels": np.array([2, 0, 1]),
        "query": np.zeros((6, 8, 8, 1)),
    }
    fig = viz.plot_episode(episode, np.array([0, 0, 1, 1, 2, 2]))
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["S: 2", "S: 0", "S: 1", "Q: 0", "Q: 0", "Q: 1", "Q: 1", "Q: 2", "Q: 2"]
    with pytest.raises(ValueError, match="one label"):
        viz.plot_episode(episode, np.array([0, 1]))


def test_controlled_comparison_draws_one_bar_per_cell_and_measure():
    cells = {"a": ComparisonCell(**comparison_cell()), "b": ComparisonCell(**comparison_cell(lake=0.5))}
    fig = viz.plot_controlled_comparison(cells, reference="a")
    assert len(fig.axes) == 3
    assert [len(ax.patches) for ax in fig.axes] == [2, 2, 2]
    assert fig.axes[2].patches[1].get_width() == 0.5
    plt.close(fig)


def test_pairs_against_episodes_draws_every_drawing_and_one_bar_per_class():
    rng = np.random.default_rng(0)
    images = rng.random((9, 28, 28)) > 0.8
    pairs = (images[:3], images[3:6], np.array([1, 0, 1]))
    fig = viz.plot_pairs_against_episodes(pairs, images[:4], images[8], np.array([0.1, 0.7, 0.1, 0.1]), answer=1)
    image_axes = [ax for ax in fig.axes if ax.images]
    assert len(image_axes) == 6 + 4 + 1
    bars = next(ax for ax in fig.axes if ax.patches and not ax.images)
    assert [round(bar.get_height(), 2) for bar in bars.patches] == [0.1, 0.7, 0.1, 0.1]
    plt.close(fig)


def test_prototypes_and_attention_label_the_distances_and_weights():
    support = np.array([[0.0, 1.0], [2.0, -1.0], [0.0, 3.0], [1.0, 1.0]])
    labels, query = np.array([0, 0, 1, 1]), np.array([1.0, 0.0])
    prototypes = np.array([[1.0, 0.0], [0.5, 2.0]])
    attention = np.array([0.4, 0.3, 0.1, 0.2])
    fig = viz.plot_prototypes_and_attention(support, labels, query, prototypes, attention)
    texts = [text.get_text() for text in fig.axes[0].texts]
    assert texts == ["-0.00", "-4.25"]
    assert [text.get_text() for text in fig.axes[1].texts] == ["0.40", "0.30", "0.10", "0.20"]
    assert "class 0: 0.70, class 1: 0.30" in fig.axes[1].get_title()
    plt.close(fig)


# ---------------------------------------------------------------- chapters 4 and 5: the siamese network


@pytest.fixture(scope="module")
def cpu_siamese():
    from oneshot_lib.models.siamese import build_siamese

    return build_siamese("cpu", seed=0)


def test_siamese_tower_reads_the_sizes_from_the_model(cpu_siamese):
    from oneshot_lib.models.siamese import Architecture, build_siamese

    assert viz.siamese_tower(cpu_siamese) == [
        "drawing 105x105",
        "shrunk to 52x52 (area averaging)",
        "conv 16 filters 5x5, ReLU -> 48x48x16, max-pool 2x2 -> 24x24x16",
        "conv 32 filters 3x3, ReLU -> 22x22x32, max-pool 2x2 -> 11x11x32",
        "conv 32 filters 3x3, ReLU -> 9x9x32, max-pool 2x2 -> 4x4x32",
        "conv 64 filters 2x2, ReLU -> 3x3x64",
        "dense 576 -> 512, sigmoid: embedding h",
    ]
    other = build_siamese(Architecture(input_size=35, filters=(8, 8, 8, 8), kernels=(3, 3, 2, 2), dense_units=32))
    tower = viz.siamese_tower(other)
    assert tower[1] == "shrunk to 35x35 (area averaging)" and tower[-1] == "dense 32 -> 32, sigmoid: embedding h"


def test_siamese_diagram_draws_two_towers_and_the_join(cpu_siamese):
    ax = viz.plot_siamese_diagram(cpu_siamese)
    texts = [text.get_text() for text in ax.texts]
    tower = viz.siamese_tower(cpu_siamese)
    assert all(texts.count(line) == 2 for line in tower)  # left and right twins, the same stages
    assert "L1 join: |h1 - h2|, 512 numbers" in texts
    assert "dense unit: 512 weights + a bias (513 parameters)" in texts
    assert "sigmoid -> p(same character)" in texts
    assert ax.get_title() == "siamese_cpu: 318,497 parameters"
    assert min(text.get_fontsize() for text in ax.texts) >= 8.5  # legible at its displayed size


def test_siamese_diagram_refuses_another_model():
    from oneshot_lib.backend import keras

    inputs = keras.Input((3,))
    with pytest.raises(ValueError, match="no 'embedding' layer"):
        viz.siamese_tower(keras.Model(inputs, keras.layers.Dense(1)(inputs), name="plain"))


def test_plot_embedding_projections_colours_one_character_per_series():
    points = (np.arange(12, dtype=float).reshape(6, 2), np.array([0.6, 0.3]))
    labels = np.array([0, 0, 1, 1, 2, 2])
    fig = viz.plot_embedding_projections({"before": points, "after": points}, labels, names=["a", "b", "c"])
    before, after = fig.axes
    assert len(before.collections) == 3 and "60%" in before.get_xlabel()
    assert [text.get_text() for text in after.get_legend().get_texts()] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="6 labels"):
        viz.plot_embedding_projections({"x": (points[0][:4], points[1])}, labels)


def test_chapter_8_figures_draw_what_they_are_given():
    from oneshot_lib.scoring.evaluate import Accuracy

    scores = {"distorted": np.linspace(0.6, 1, 9), "same": np.linspace(0.5, 0.9, 9), "other": np.linspace(0, 0.3, 9)}
    ax = viz.plot_identity_scores(scores, references=["same", "other"])
    assert [t.get_text() for t in ax.get_yticklabels()] == list(scores)
    assert len(ax.lines) >= 2  # the two reference medians, dotted

    cells = {
        "none": LabelsUsedCell(**comparison_cell(lake=0.6, lake_stderr=0.03), fraction=0.0, characters=0),
        **{
            f"{f} {s}": LabelsUsedCell(
                **comparison_cell(lake=0.5 + f / 3), fraction=f, characters=int(800 * f), start=s
            )
            for f in (0.01, 0.1, 1.0)
            for s in ("from scratch", "from contrastive")
        },
    }
    ax = viz.plot_labels_used(cells, no_labels="none")
    assert len(ax.get_xticks()) == 3 and ax.get_xscale() == "log"
    assert [label.get_text() for label in ax.get_xticklabels()][0] == "1%\n(8 characters)"
    assert {text.get_text() for text in ax.get_legend().get_texts()} >= {"from scratch", "from contrastive"}

    points = np.random.default_rng(0).normal(size=(12, 2))
    ax = viz.plot_class_spread(points, np.repeat([0, 1, 2], 4), names=["a", "b", "c"])
    assert len(ax.patches) == 3  # one spread circle per class

    fig = viz.plot_drawing_row({"one": np.zeros((8, 8), bool), "two": np.ones((8, 8))}, title="row")
    assert len(fig.axes) == 2

    results = {name: {k: Accuracy.from_tasks(np.full(4, 0.5 + 0.1 * k)) for k in (1, 5)} for name in ("a", "b")}
    ax = viz.plot_support_methods(results)
    assert len(ax.patches) == 4 and ax.get_legend() is not None


# ---------------------------------------------------------------- the package's conventions


def test_every_figure_draws_into_a_given_axes_or_makes_its_own_figure():
    """One Axes: an ``ax`` argument and the Axes returned. Several panels: a new Figure, and the docstring says so."""
    import inspect

    for name in viz.__all__:
        function = getattr(viz, name)
        if not name.startswith("plot_"):
            continue
        signature = inspect.signature(function)
        if signature.return_annotation == "Axes":
            assert "ax" in signature.parameters, f"{name} returns an Axes but takes no ax"
            assert signature.parameters["ax"].default is None, f"{name}: ax must default to None"
        else:
            assert "Figure" in signature.return_annotation, f"{name} returns {signature.return_annotation}"
            assert "Figure" in function.__doc__, f"{name}'s docstring does not say it returns a Figure"


def test_single_axes_figures_draw_into_the_axes_they_are_given(cpu_siamese):
    from oneshot_lib.scoring.evaluate import Accuracy

    data = tiny_split()
    accuracy = Accuracy.from_tasks(np.array([0.4, 0.6]))
    labels_cells = {
        "none": LabelsUsedCell(**comparison_cell(), fraction=0.0, characters=0),
        "some": LabelsUsedCell(**comparison_cell(), fraction=0.1, characters=8, start="from scratch"),
    }
    calls = {
        "characters per alphabet": lambda ax: viz.plot_characters_per_alphabet({"a": data}, ax=ax),
        "ink fraction": lambda ax: viz.plot_ink_fraction({"a": data}, ax=ax),
        "monte carlo": lambda ax: viz.plot_monte_carlo_rate(np.arange(100) % 7 == 0, 1 / 7, ax=ax),
        "distinct pairs": lambda ax: viz.plot_distinct_pairs_seen(100, {"run": 50}, ax=ax),
        "n-way curves": lambda ax: viz.plot_n_way_curves({"a": {2: accuracy, 5: accuracy}}, ax=ax),
        "labels used": lambda ax: viz.plot_labels_used(labels_cells, no_labels="none", ax=ax),
        "support methods": lambda ax: viz.plot_support_methods({"a": {1: accuracy}}, ax=ax),
        "identity scores": lambda ax: viz.plot_identity_scores({"a": np.ones(3), "b": np.zeros(3)}, ["b"], ax=ax),
        "siamese diagram": lambda ax: viz.plot_siamese_diagram(cpu_siamese, ax=ax),
        "class spread": lambda ax: viz.plot_class_spread(np.eye(4, 2), np.array([0, 0, 1, 1]), ax=ax),
    }
    for what, call in calls.items():
        fig, (ax, other) = plt.subplots(1, 2)
        assert call(ax) is ax, what
        assert ax.has_data() or ax.texts, f"{what} drew nothing into the given Axes"
        assert not other.has_data() and not other.texts, f"{what} drew outside the given Axes"
        assert len(fig.axes) == 2 and plt.gcf() is fig, f"{what} made another Axes or figure"
        plt.close(fig)


def test_plot_drawing_steps_shows_each_step_and_the_square_cropped():
    page = np.full((60, 80), 255, np.uint8)
    page[20:40, 50:53] = 0  # a short bar near the right edge: the square reaches past the page
    steps = drawing_steps(page)
    fig = viz.plot_drawing_steps(steps, title="a bar")
    assert [ax.get_title() for ax in fig.axes] == [
        "the picture, 80x60",
        "distance from the paper",
        "the ink, and the square cropped",
        "what the model reads, 105x105",
    ]
    (square,) = fig.axes[2].patches
    top, left, bottom, right = steps.box
    assert (square.get_x(), square.get_y(), square.get_width()) == (left - 0.5, top - 0.5, right - left)
    assert fig.axes[2].get_xlim()[1] == max(right, 80) - 0.5
