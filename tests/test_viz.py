"""Smoke tests of the figures of ``oneshot_lib.viz``, on tiny splits built here: right panels, frames, errors."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from conftest import synthetic_split
from matplotlib.colors import to_rgba
from matplotlib.patches import PathPatch

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
    assert style.alphabet_labels(["Ge_ez", "Old_Church_Slavonic_(Cyrillic)"]) == ["Ge'ez", "Old Church Slavonic"]


def test_alphabet_and_character_names_read_as_a_reader_writes_them():
    assert [viz.alphabet_name(name) for name in ("Ge_ez", "Syriac_(Serto)", "Latin")] == [
        "Ge'ez",
        "Syriac (Serto)",
        "Latin",
    ]
    assert [viz.character_name(name) for name in ("character01", "character 17", "character10", "a")] == [
        "character 1",
        "character 17",
        "character 10",
        "a",
    ]


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


def test_task_figure_numbers_each_support_drawing_above_it_not_on_its_ink():
    fig = viz.plot_task(sample_task(tiny_split(), 4, rng=0))
    fig.canvas.draw()
    for position, ax in enumerate(fig.axes[1:]):
        (number,) = ax.texts
        box, frame = number.get_window_extent(), ax.get_window_extent()
        assert number.get_text() == str(position) and box.y0 >= frame.y1 - 0.5  # wholly above the drawing
        assert box.x0 >= frame.x0 - 0.5 and box.x1 <= frame.x1
    plt.close(fig)


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
    top = [ax for ax in fig.axes if ax.get_title()]  # the upper drawing of each pair
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


def test_plot_training_history_draws_against_steps_when_asked():
    epochs = [
        {"elapsed_seconds": 60.0 * i, "step": 200 * i, "loss": 1.0 / i, "val_oneshot_accuracy": 0.1 * i}
        for i in (1, 2, 3)
    ]
    for record in epochs:
        record["val_oneshot_stderr"] = 0.01
    fig = viz.plot_training_history({"a": {"epochs": epochs}}, x="steps")
    loss_ax, accuracy_ax = fig.axes
    np.testing.assert_allclose(loss_ax.get_lines()[0].get_xdata(), [200, 400, 600])
    assert loss_ax.get_xlabel() == accuracy_ax.get_xlabel() == "training steps"
    plt.close(fig)
    without_steps = [{key: value for key, value in record.items() if key != "step"} for record in epochs]
    with pytest.raises(ValueError, match="run 'b': epoch record 0 has no 'step'"):
        viz.plot_training_history({"a": {"epochs": epochs}, "b": {"epochs": without_steps}}, x="steps")
    with pytest.raises(ValueError, match='x must be "minutes" or "steps"'):
        viz.plot_training_history({"a": {"epochs": epochs}}, x="epochs")


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


# ---------------------------------------------------------------- chapters 7 and 8


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
    drawing_axes = [ax for ax in fig.axes if any(isinstance(patch, PathPatch) for patch in ax.patches)]
    assert len(drawing_axes) == 6 + 4 + 1 and not any(ax.images for ax in fig.axes)  # vector ink, no image
    bars = next(ax for ax in fig.axes if ax.patches and ax not in drawing_axes)
    assert [round(bar.get_height(), 2) for bar in bars.patches] == [0.1, 0.7, 0.1, 0.1]
    plt.close(fig)


def test_ink_path_covers_exactly_the_ink_pixels():
    from matplotlib.transforms import IdentityTransform

    from oneshot_lib.viz.drawings import ink_path

    image = np.zeros((5, 6), bool)
    image[1, 1:4] = image[3, [0, 5]] = True
    path = ink_path(image)
    rows, columns = np.mgrid[0:5, 0:6]
    inside = path.contains_points(np.c_[columns.ravel(), rows.ravel()], IdentityTransform()).reshape(5, 6)
    assert np.array_equal(inside, image)
    assert len(ink_path(np.zeros((3, 3))).vertices) == 0


def test_prototypes_and_attention_label_the_distances_and_weights():
    support = np.array([[3.0, 1.0], [1.0, 0.0], [0.0, 2.0], [1.0, 3.0]])
    labels, query = np.array([0, 0, 1, 1]), np.array([1.0, 0.5])
    prototypes = np.array([[2.0, 0.5], [0.5, 2.5]])
    attention = np.array([0.4, 0.3, 0.1, 0.2])
    fig = viz.plot_prototypes_and_attention(support, labels, query, prototypes, attention)
    texts = [text.get_text() for text in fig.axes[0].texts]
    assert texts == ["-1.00", "-4.25"]
    assert [text.get_text() for text in fig.axes[1].texts] == ["0.40", "0.30", "0.10", "0.20"]
    title = fig.axes[1].get_title()
    assert "class\u00a00:\u00a00.70, class\u00a01:\u00a00.30" in title.replace("\n", " ")
    fig.canvas.draw()
    for ax in fig.axes:  # no number on another, nor on a point
        boxes = [text.get_window_extent() for text in ax.texts]
        assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
        points = np.concatenate([collection.get_offsets() for collection in ax.collections])
        for box in boxes:
            assert not box.count_contains(ax.transData.transform(points))
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
    texts = [text.get_text().replace(",\nmax-pool", ", max-pool") for text in ax.texts]  # a stage on two lines
    tower = viz.siamese_tower(cpu_siamese)
    assert all(texts.count(line) == 2 for line in tower)  # left and right twins, the same stages
    assert "L1 join: |h1 - h2|, 512 numbers" in texts
    assert "dense unit: 512 weights + a bias (513 parameters)" in texts
    assert "sigmoid -> p(same character)" in texts
    assert ax.get_title() == "siamese_cpu: 318,497 parameters"
    assert min(text.get_fontsize() for text in ax.texts) >= style.MIN_FONT_POINTS  # legible as shown


def test_siamese_diagram_refuses_another_model():
    from oneshot_lib.backend import keras

    inputs = keras.Input((3,))
    with pytest.raises(ValueError, match="no 'embedding' layer"):
        viz.siamese_tower(keras.Model(inputs, keras.layers.Dense(1)(inputs), name="plain"))


def texts_of(fig: plt.Figure) -> list[str]:
    return [text.get_text() for ax in fig.axes for text in ax.texts + [ax.title]]


def test_episode_recipe_draws_the_pool_the_episode_and_relabels_the_classes():
    images = np.random.default_rng(0).random((12, 20, 20)) < 0.2
    fig = viz.plot_episode_recipe(images[:10], [7, 2, 9], images[:3, None].repeat(2, 1), images[3:6, None].repeat(3, 1))
    assert len(fig.axes) == 1 + 10 + 3 * (2 + 3)  # the canvas, the pool, each class's support and queries
    texts = texts_of(fig)
    assert [text for text in texts if text.startswith("class\n")] == ["class\n0", "class\n1", "class\n2"]
    assert "2. support: k = 2" in texts and "queries: q = 3" in texts
    assert any("queries only" in text for text in texts) and "next step: a fresh episode" in texts
    framed = [ax for ax in fig.axes[1:11] if ax.spines["top"].get_linewidth() > 1]
    assert [fig.axes.index(ax) - 1 for ax in framed] == [2, 7, 9]  # the picked characters of the pool
    plt.close(fig)
    with pytest.raises(ValueError, match="distinct rows of the pool"):
        viz.plot_episode_recipe(images[:10], [7, 7, 9], images[:3, None], images[3:6, None])
    with pytest.raises(ValueError, match="one row per picked character"):
        viz.plot_episode_recipe(images[:10], [1, 2], images[:3, None], images[3:6, None])


def test_transfer_cuts_read_each_block_and_the_feature_sizes_from_the_network():
    from oneshot_lib.models.conv4 import build_embedding

    fig = viz.plot_transfer_cuts(build_embedding(), 3228)
    texts = texts_of(fig)
    cuts = [text for text in texts if text.startswith("cut ")]
    assert cuts == ["cut 1: 12,544\nnumbers", "cut 2: 3,136\nnumbers", "cut 3: 576\nnumbers", "cut 4: 64\nnumbers"]
    assert any(text.startswith("block 4: conv 64 3x3") and text.endswith("-> 1x1x64") for text in texts)
    assert "head: dense 64 -> 3,228 classes,\nthrown away after training" in texts
    plt.close(fig)
    small = viz.plot_transfer_cuts(build_embedding(image_size=20, blocks=2), 10)
    assert [text for text in texts_of(small) if text.startswith("cut ")] == [
        "cut 1: 6,400\nnumbers",
        "cut 2: 1,600\nnumbers",
    ]
    plt.close(small)
    with pytest.raises(ValueError, match="n_classes must be at least 2"):
        viz.plot_transfer_cuts(build_embedding(), 1)


def test_simclr_pipeline_names_the_negatives_of_its_batch_and_what_is_kept():
    images = np.random.default_rng(0).random((3, 20, 20)) < 0.2
    fig = viz.plot_simclr_pipeline(images[0], images[1:], batch_size=32, projection_units=16)
    texts = texts_of(fig)
    assert any("other 2B - 2 = 62 views of the batch (B = 32)" in text for text in texts)
    assert "z1: 16 numbers" in texts and "z2: 16 numbers" in texts
    assert "thrown away\nafter training" in texts
    assert len(fig.axes) == 4  # the canvas, the drawing and its two views
    plt.close(fig)
    with pytest.raises(ValueError, match="two views"):
        viz.plot_simclr_pipeline(images[0], images)


def test_class_rules_mark_each_rules_pick():
    images = np.random.default_rng(0).random((11, 20, 20)) < 0.2
    classes = {"right": (images[1:6], np.array([0.9, 0.1, 0.9, 0.1, 0.9])), "wrong": (images[6:], np.full(5, 0.6))}
    rules = {"mean": {"right": 0.58, "wrong": 0.6}, "prototype": {"right": 0.9, "wrong": 0.2}}
    fig = viz.plot_class_rules(images[0], classes, rules, "right")
    bars_ax = fig.axes[-1]
    assert [text.get_text() for text in bars_ax.texts] == ["0.58", "0.90\n\u2605", "0.60\n\u2605", "0.20"]
    assert to_rgba(bars_ax.patches[0].get_facecolor()) == to_rgba(style.ANSWER_COLOR)
    plt.close(fig)
    with pytest.raises(ValueError, match="not one of the classes"):
        viz.plot_class_rules(images[0], classes, rules, "neither")
    with pytest.raises(ValueError, match="not the classes"):
        viz.plot_class_rules(images[0], classes, {"mean": {"right": 0.5}}, "right")


def test_plot_embedding_projections_colours_one_character_per_series():
    points = (np.arange(12, dtype=float).reshape(6, 2), np.array([0.6, 0.3]))
    labels = np.array([0, 0, 1, 1, 2, 2])
    fig = viz.plot_embedding_projections({"before": points, "after": points}, labels, names=["a", "b", "c"])
    before, after = fig.axes
    assert len(before.collections) == 3 and "60%" in before.get_xlabel()
    assert [text.get_text() for text in fig.legends[0].get_texts()] == ["a", "b", "c"]  # one legend for both
    with pytest.raises(ValueError, match="6 labels"):
        viz.plot_embedding_projections({"x": (points[0][:4], points[1])}, labels)


def test_plot_embedding_projections_writes_tiny_scales_on_the_ticks_not_beside_the_label():
    points = (np.arange(12, dtype=float).reshape(6, 2) * 1e-5, np.array([0.6, 0.3]))
    fig = viz.plot_embedding_projections({"untrained": points}, np.array([0, 0, 1, 1, 2, 2]))
    fig.canvas.draw()
    ax = fig.axes[0]
    assert ax.xaxis.get_offset_text().get_text() == ax.yaxis.get_offset_text().get_text() == ""
    assert any("e-05" in label.get_text() for label in ax.get_xticklabels())
    plt.close(fig)


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
    assert [ax.get_title().replace("\n", " ") for ax in fig.axes] == [
        "the picture, 80x60",
        "distance from the paper",
        "the ink, and the square cropped",
        "what the model reads, 105x105",
    ]
    (square,) = fig.axes[2].patches
    top, left, bottom, right = steps.box
    assert (square.get_x(), square.get_y(), square.get_width()) == (left - 0.5, top - 0.5, right - left)
    assert fig.axes[2].get_xlim()[1] == max(right, 80) - 0.5


# ---------------------------------------------------------------- every figure fits the book's column

LONG_ALPHABETS = [
    "Latin",
    "Japanese_(hiragana)",
    "Japanese_(katakana)",
    "Inuktitut_(Canadian_Aboriginal_Syllabics)",
    "Blackfoot_(Canadian_Aboriginal_Syllabics)",
    "Ojibwe_(Canadian_Aboriginal_Syllabics)",
    "Asomtavruli_(Georgian)",
    "Mkhedruli_(Georgian)",
    "Alphabet_of_the_Magi",
    "Anglo-Saxon_Futhorc",
    "Atlantean",
    "Old_Church_Slavonic_(Cyrillic)",
] * 4  # 48 alphabets, as many as Omniglot's 50 within a few, with its longest names


def many_alphabets(n_alphabets: int = 48, side: int = 35) -> OmniglotSplit:
    """Two characters in each of ``n_alphabets`` alphabets named like Omniglot's longest, 20 drawings each."""
    rng = np.random.default_rng(0)
    images = rng.random((2 * n_alphabets, 20, side, side)) < 0.1
    names = [f"{'N' * (i // 12)}{name}" for i, name in enumerate(LONG_ALPHABETS[:n_alphabets])]
    alphabets = np.repeat(names, 2)
    characters = np.array([f"character{i % 2 + 1:02d}" for i in range(2 * n_alphabets)])
    return OmniglotSplit(images, alphabets, characters, "background")


def figure_calls(siamese) -> dict:
    """Each public plotting function of ``viz``, called on small synthetic inputs shaped like the chapters'."""
    from oneshot_lib.models.conv4 import build_embedding
    from oneshot_lib.scoring.evaluate import Accuracy

    rng = np.random.default_rng(0)
    data = many_alphabets()
    images = rng.random((12, 35, 35)) < 0.1
    accuracy = {n: Accuracy.from_tasks(rng.random(10)) for n in (2, 5, 10, 20, 40)}
    grid_names = [
        "pairs (siamese, binary cross-entropy)",
        "prototypical episodes",
        "matching episodes",
        "softmax classifier (transfer)",
        "prototypical episodes, backbone: siamese CPU twin at 52x52",
        "prototypical episodes, no rotations as classes",
        "prototypical episodes, no distortions",
        "pairs on the siamese CPU twin (chapters 4-6)",
        "prototypical episodes, twice the minutes",
    ]
    cells = {name: ComparisonCell(**comparison_cell(lake=0.3 + 0.07 * i)) for i, name in enumerate(grid_names)}
    labels_cells = {
        "no labels (the contrastive model)": LabelsUsedCell(**comparison_cell(lake=0.6), fraction=0.0, characters=0),
        **{
            f"{f:.0%} of the labels, {s}": LabelsUsedCell(
                **comparison_cell(lake=0.4 + f / 3 + 0.1 * (s == "from contrastive")),
                fraction=f,
                characters=int(807 * f),
                start=s,
            )
            for f in (0.01, 0.1, 1.0)
            for s in ("from scratch", "from contrastive")
        },
    }
    epochs = [
        {"elapsed_seconds": 60.0 * i, "loss": 1.0 / i, "val_oneshot_accuracy": 0.1 * i, "val_oneshot_stderr": 0.01}
        for i in range(1, 9)
    ]
    runs = {"this chapter's run": {"epochs": epochs}, "reference (distortions)": {"epochs": epochs[:5]}}
    runs["ablation (no distortions)"] = {"epochs": epochs[:3]}
    shift_result = {"shifted": rng.random((20, 7)), "nearest_wrong": rng.random(20), "other_drawer": rng.random(20)}
    support_2d = rng.normal(size=(6, 2))
    page = np.full((60, 80), 255, np.uint8)
    page[20:40, 50:53] = 0
    projections = {
        "pixels of the drawings": (rng.normal(size=(60, 2)), np.array([0.12, 0.08])),
        "the siamese embedding after training": (rng.normal(size=(60, 2)), np.array([0.31, 0.12])),
    }
    return {
        "draw_drawing": lambda: viz.draw_drawing(plt.subplots(figsize=(1, 1))[1], images[0], title="a drawing"),
        "plot_character": lambda: viz.plot_character(data, 3),
        "plot_alphabet_gallery": lambda: viz.plot_alphabet_gallery(
            data.select(data.alphabet_names[:30]), title="Background split: 30 alphabets"
        ),
        "plot_task": lambda: viz.plot_task(sample_task(data, 49, rng=0)),  # 7 x 7: too wide at full size
        "plot_protocols": lambda: viz.plot_protocols(
            OmniglotSplit(data.images[:40], np.repeat(["Latin", "Greek"], 20), data.characters[:40], "e"), 20
        ),
        "plot_characters_per_alphabet": lambda: viz.plot_characters_per_alphabet(
            {"train": data.select(data.alphabet_names[:30]), "validation": data.without(data.alphabet_names[:30])}
        ),
        "plot_ink_fraction": lambda: viz.plot_ink_fraction({"background": data, "evaluation": data}),
        "plot_same_class_fraction": lambda: viz.plot_same_class_fraction(
            {"Omniglot background": (964, 20), "Omniglot train": (807, 20), "MNIST-sized": (10, 6_000)}
        ),
        "plot_monte_carlo_rate": lambda: viz.plot_monte_carlo_rate(rng.random(100_000) < 0.001, 0.001),
        "plot_distinct_pairs_seen": lambda: viz.plot_distinct_pairs_seen(
            183_160, {"chapter 5's run (2 minutes)": 20_000, "reference run (25 minutes)": 300_000}
        ),
        "plot_drawing_row": lambda: viz.plot_drawing_row(
            {f"view {1 + i // 4} of drawing {1 + i % 4}": images[i] for i in range(8)},
            title="Two random views of each of four drawings: a positive pair is the same column",
        ),
        "plot_shifted_copies": lambda: viz.plot_shifted_copies(
            images[0], {f"shifted {s} px": np.roll(images[0], s, axis=(0, 1)) for s in (1, 2, 3)}
        ),
        "plot_pair_batch": lambda: viz.plot_pair_batch(images, images[::-1], np.arange(12) % 2, n_pairs=10),
        "plot_distortion_gallery": lambda: viz.plot_distortion_gallery(images[:4], np.stack([images[:7]] * 4)),
        "plot_episode": lambda: viz.plot_episode(
            {"support": images[:5, ..., None], "support_labels": np.arange(5), "query": images[:10, ..., None]},
            np.arange(10) % 5,
        ),
        "plot_mistakes": lambda: viz.plot_mistakes(
            images[:6],
            images[6:],
            images[:6],
            rng.random(6),
            rng.random(6),
            title="Confident mistakes: query, right drawing, chosen drawing",
        ),
        "plot_masked_reconstructions": lambda: viz.plot_masked_reconstructions(images[:6], images[6:], images[:6]),
        "plot_drawing_steps": lambda: viz.plot_drawing_steps(
            drawing_steps(page), title="as_drawing on a thick marker, small in a corner"
        ),
        "plot_n_way_curves": lambda: viz.plot_n_way_curves(
            {"pixel 1-NN, evaluation alphabets": accuracy, "siamese, evaluation alphabets": accuracy},
            title="Pixel 1-NN, evaluation split, one-shot (± one standard error over tasks)",
        ),
        "plot_accuracy_curves": lambda: viz.plot_accuracy_curves(
            {"maml": accuracy, "reptile": accuracy},
            xlabel="gradient steps on the support set at test time",
            title="20-way 1-shot accuracy against test-time steps",
            chance=0.05,
        ),
        "plot_training_history": lambda: viz.plot_training_history(runs, chance=0.05),
        "plot_controlled_comparison": lambda: viz.plot_controlled_comparison(cells, reference=grid_names[1]),
        "plot_labels_used": lambda: viz.plot_labels_used(labels_cells, no_labels="no labels (the contrastive model)"),
        "plot_support_methods": lambda: viz.plot_support_methods(
            {
                "prototypical network, the support set as class means": {1: accuracy[2], 5: accuracy[5]},
                "fine-tuned on the support set (head only)": {1: accuracy[2], 5: accuracy[5]},
                "transfer features, nearest neighbour": {1: accuracy[2], 5: accuracy[5]},
            }
        ),
        "plot_score_bars": lambda: viz.plot_score_bars(
            {"siamese\np(same)": rng.random(60), "prototypical-25\nsoftmax": rng.random(60)}, np.arange(60), 3
        ),
        "plot_independent_scores": lambda: viz.plot_independent_scores(
            rng.integers(0, 8, 200), rng.random(200) * 6, n_way=20
        ),
        "plot_identity_scores": lambda: viz.plot_identity_scores(
            {
                "another drawing of the same character": rng.random(30),
                "distorted (Koch's affine)": rng.random(30),
                "shifted 6 pixels": rng.random(30),
                "another character": rng.random(30),
            },
            ["another drawing of the same character", "another character"],
        ),
        "plot_shift_experiment": lambda: viz.plot_shift_experiment(range(7), {"L2": shift_result, "MHD": shift_result}),
        "plot_distance_histograms": lambda: viz.plot_distance_histograms(
            {"L2": (rng.random(50), rng.random(50)), "MHD": (rng.random(50), rng.random(50))}
        ),
        "plot_embedding_projections": lambda: viz.plot_embedding_projections(
            projections, np.repeat(np.arange(6), 10), names=[f"character {i}" for i in range(6)]
        ),
        "plot_class_spread": lambda: viz.plot_class_spread(
            rng.normal(size=(60, 2)), np.repeat(np.arange(6), 10), names=[f"character {i}" for i in range(6)]
        ),
        "plot_siamese_diagram": lambda: viz.plot_siamese_diagram(siamese),
        "plot_pairs_against_episodes": lambda: viz.plot_pairs_against_episodes(
            (images[:4], images[4:8], np.array([1, 0, 1, 0])), images[:5], images[5], np.full(5, 0.2), answer=2
        ),
        "plot_prototypes_and_attention": lambda: viz.plot_prototypes_and_attention(
            support_2d,
            np.array([0, 0, 1, 1, 2, 2]),
            np.zeros(2),
            support_2d.reshape(3, 2, 2).mean(1),
            np.full(6, 1 / 6),
        ),
        "plot_method_families": lambda: viz.plot_method_families(),
        "plot_adaptation_paths": lambda: viz.plot_adaptation_paths(),
        "plot_episode_recipe": lambda: viz.plot_episode_recipe(
            images[:12], [7, 2, 10], images[:3, None].repeat(2, 1), images[3:6, None].repeat(2, 1)
        ),
        "plot_transfer_cuts": lambda: viz.plot_transfer_cuts(build_embedding(), 3228),
        "plot_simclr_pipeline": lambda: viz.plot_simclr_pipeline(images[0], images[1:3]),
        "plot_class_rules": lambda: viz.plot_class_rules(
            images[0],
            {
                "the query's character": (images[1:6], np.full(5, 0.5)),
                "another character": (images[6:11], np.full(5, 0.4)),
            },
            {
                rule: {"the query's character": 0.5, "another character": 0.4}
                for rule in ("mean of the 5", "largest of the 5", "prototype")
            },
            "the query's character",
        ),
    }


NOT_FIGURES = {"accuracy_cell", "alphabet_name", "character_name", "results_table", "siamese_tower"}


def figure_of(drawn) -> plt.Figure:
    return drawn if isinstance(drawn, plt.Figure) else drawn.figure


def column_check(fig: plt.Figure) -> tuple[float, list[tuple[str, float]]]:
    """(width in inches as a notebook saves it: tight, padded; [(text, points) of every text too small])."""
    fig.canvas.draw()
    bbox = fig.get_tightbbox(fig.canvas.get_renderer())
    width = bbox.width + 2 * plt.rcParams["savefig.pad_inches"]
    texts = [text for text in fig.findobj(matplotlib.text.Text) if text.get_visible() and text.get_text().strip()]
    return width, [
        (text.get_text(), text.get_fontsize()) for text in texts if text.get_fontsize() < style.MIN_FONT_POINTS
    ]


def test_every_figure_fits_the_column_at_the_course_dpi_with_readable_text(cpu_siamese):
    calls = figure_calls(cpu_siamese)
    assert set(calls) == set(viz.__all__) - NOT_FIGURES, "a public plotting function is not checked here"
    for name, call in calls.items():
        fig = figure_of(call())
        assert fig.dpi == style.DISPLAY_DPI, f"{name}: drawn at {fig.dpi} dpi"
        width, small = column_check(fig)
        assert width <= style.COLUMN_INCHES, f"{name} is {width:.2f} in wide as saved, over {style.COLUMN_INCHES}"
        assert not small, f"{name} has text under {style.MIN_FONT_POINTS} pt: {small}"
        plt.close(fig)


def densified(xy: np.ndarray) -> np.ndarray:
    """The points (n, 2) of a polyline with 50 points along each of its segments."""
    return np.concatenate([np.linspace(a, b, 50) for a, b in zip(xy[:-1], xy[1:], strict=True)] or [xy])


def crossings(fig: plt.Figure) -> list[str]:
    """What a reader could not read in ``fig``: text written in a plot that crosses its frame, and
    data (line points, markers, bars) under a legend drawn inside a plot's frame."""
    fig.canvas.draw()
    problems = []
    for ax in fig.axes:
        if not ax.axison or not (ax.get_xticks().size or ax.get_yticks().size):
            continue  # a drawing or a diagram: text may go where it likes
        frame = ax.get_window_extent()
        for text in ax.texts:
            box = text.get_window_extent()
            if text.get_visible() and not (frame.x0 - 1 <= box.x0 and box.x1 <= frame.x1 + 1):
                problems.append(f"{text.get_text()!r} crosses the frame")
            if text.get_visible() and not (frame.y0 - 1 <= box.y0 and box.y1 <= frame.y1 + 1):
                problems.append(f"{text.get_text()!r} crosses the frame")
        legend = ax.get_legend()
        if legend is None or not frame.overlaps(legend.get_window_extent()):
            continue
        covered = legend.get_window_extent()
        for line in ax.lines:
            if covered.count_contains(densified(line.get_transform().transform(line.get_xydata()))):
                problems.append(f"the legend covers the line {line.get_label()!r}")
        for patch in ax.patches:
            if isinstance(patch, matplotlib.patches.Rectangle):
                hidden = covered.overlaps(patch.get_window_extent())
            else:  # a histogram's outline, say: its own points, not its bounding box
                hidden = covered.count_contains(densified(patch.get_verts()))
            if hidden:
                problems.append(f"the legend covers a bar or patch {patch.get_label()!r}")
    return problems


def test_no_figure_writes_over_its_frame_or_hides_data_under_a_legend(cpu_siamese):
    for name, call in figure_calls(cpu_siamese).items():
        fig = figure_of(call())
        assert not crossings(fig), f"{name}: {crossings(fig)}"
        plt.close(fig)


def test_a_short_run_beside_long_ones_is_drawn_on_a_log_time_axis_over_them():
    def history(minutes: int) -> dict:
        epochs = [
            {"elapsed_seconds": 30.0 * i, "loss": 1 / i, "val_oneshot_accuracy": 0.5, "val_oneshot_stderr": 0.01}
            for i in range(1, 2 * minutes + 1)
        ]
        return {"epochs": epochs}

    fig = viz.plot_training_history({"this chapter's run": history(3), "an hour": history(60)})
    loss_ax = fig.axes[0]
    assert loss_ax.get_xscale() == "log"
    short, long = loss_ax.lines[:2]
    assert short.get_zorder() > long.get_zorder() and short.get_linewidth() > long.get_linewidth()
    plt.close(fig)
    fig = viz.plot_training_history({"an hour": history(60), "another": history(50)})
    assert fig.axes[0].get_xscale() == "linear"
    plt.close(fig)


DIAGRAMS = {
    "plot_siamese_diagram",
    "plot_pairs_against_episodes",
    "plot_prototypes_and_attention",
    "plot_method_families",
    "plot_adaptation_paths",
    "plot_episode_recipe",
    "plot_transfer_cuts",
    "plot_simclr_pipeline",
}

DIAGRAM_SVG = """
import hashlib, json
import numpy as np
from oneshot_lib import viz
from oneshot_lib.models.conv4 import build_embedding
from oneshot_lib.models.siamese import build_siamese
from oneshot_lib.viz import style

rng = np.random.default_rng(0)
images = rng.random((9, 35, 35)) > 0.8
support = np.array([[0.0, 1.0], [2.0, -1.0], [0.0, 3.0], [1.0, 1.0]])
probabilities = np.exp(rng.normal(size=4)) / np.exp(rng.normal(size=4)).sum()
figures = [
    viz.plot_siamese_diagram(build_siamese("cpu", seed=0)).figure,
    viz.plot_pairs_against_episodes(
        (images[:3], images[3:6], np.array([1, 0, 1])), images[:4], images[8], probabilities, 1
    ),
    viz.plot_prototypes_and_attention(
        support, np.array([0, 0, 1, 1]), np.array([1.0, 0.0]), support.reshape(2, 2, 2).mean(1),
        np.array([0.87, 0.0, 0.0, 0.13]),
    ),
    viz.plot_method_families().figure,
    viz.plot_adaptation_paths().figure,
    viz.plot_episode_recipe(images[:9], [4, 0, 7], images[:3, None].repeat(2, 1), images[3:6, None].repeat(2, 1)),
    viz.plot_transfer_cuts(build_embedding(), 3228),
    viz.plot_simclr_pipeline(images[0], images[1:3] * 0.7, batch_size=8),
]
print(json.dumps([hashlib.sha256(style.figure_svg(fig).encode()).hexdigest() for fig in figures]))
"""


def svg_hashes(**environment: str) -> list[str]:
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    shown = subprocess.run(
        [sys.executable, "-c", DIAGRAM_SVG],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root), **environment},
        check=True,
    )
    return json.loads(shown.stdout.strip().splitlines()[-1])


def test_diagrams_are_svg_figures_the_same_bytes_in_every_process(cpu_siamese):
    """nbval compares SVG outputs exactly: a diagram's SVG must not change between runs or CPUs' kernels."""
    calls = figure_calls(cpu_siamese)
    for name in DIAGRAMS:
        fig = figure_of(calls[name]())
        assert isinstance(fig, style.DiagramFigure), f"{name} is not drawn on a DiagramFigure"
        svg = style.figure_svg(fig)
        assert svg == style.figure_svg(fig) and "<image" not in svg and "dc:date" not in svg
        width = float(svg.split('width="', 1)[1].split("px", 1)[0])
        assert width <= style.COLUMN_INCHES * style.DISPLAY_DPI  # in CSS pixels, as PNG figures are shown
        plt.close(fig)
    assert not isinstance(figure_of(calls["plot_n_way_curves"]()), style.DiagramFigure)  # data figures stay PNG
    first = svg_hashes()
    assert svg_hashes(TF_ENABLE_ONEDNN_OPTS="0") == first


def test_a_notebook_keeps_a_diagram_as_svg_and_png_and_a_plot_as_png_only():
    """SVG for JupyterLab and the book; PNG for a notebook JupyterLab does not trust, where it shows no SVG."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    style.show_figures_sharp()
    diagram, plot = viz.plot_method_families().figure, viz.plot_ink_fraction({"a": tiny_split()}).figure
    data, _ = shell.display_formatter.format(diagram)
    assert "image/svg+xml" in data and "image/png" in data
    assert data["image/svg+xml"] == style.figure_svg(diagram)
    data, _ = shell.display_formatter.format(plot)
    assert "image/svg+xml" not in data and "image/png" in data
    plt.close(diagram)
    plt.close(plot)


def test_figures_keep_the_course_sizes_whatever_the_callers_settings():
    with plt.rc_context({"font.size": 5, "figure.dpi": 72, "legend.fontsize": 4, "xtick.labelsize": 4}):
        ax = viz.plot_ink_fraction({"a": tiny_split()})
    assert ax.figure.dpi == style.DISPLAY_DPI
    assert column_check(ax.figure)[1] == []


NOTEBOOK_FIGURE = """
import base64, json, struct
import matplotlib
matplotlib.use("module://matplotlib_inline.backend_inline")
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
import matplotlib.pyplot as plt
if {backend_first}:
    plt.close(plt.figure())  # the inline backend starts before viz is imported
from oneshot_lib import viz
ax = viz.plot_monte_carlo_rate([True, False] * 50, 0.5)
data, metadata = shell.display_formatter.format(ax.figure)
png = base64.b64decode(data["image/png"])
print(json.dumps([struct.unpack(">II", png[16:24])[0], metadata["image/png"]["width"]]))
"""


@pytest.mark.parametrize("backend_first", [False, True])
def test_a_notebook_shows_figures_at_the_course_dpi_and_their_own_size(backend_first):
    """As the book: rendered at DPI, shown at DISPLAY_DPI, whether the inline backend starts before viz or after."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    script = NOTEBOOK_FIGURE.format(backend_first=backend_first)
    shown = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        check=True,
    )
    pixels, width = json.loads(shown.stdout.strip().splitlines()[-1])
    assert pixels == pytest.approx(style.RENDER_SCALE * width, abs=1)
    assert 6.5 * style.DISPLAY_DPI < width <= style.COLUMN_INCHES * style.DISPLAY_DPI  # a full-column figure


def test_the_drawing_pads_figure_fits_the_column_with_many_symbols():
    from oneshot_lib.scoring.named_classes import Prediction
    from oneshot_lib.viz.drawing_pad import plot_pad

    symbols = {name: np.eye(35, dtype=bool) for name in "ABCDEFGHIJ"}
    fig = plot_pad(symbols, np.eye(35, dtype=bool), Prediction("the drawing", {name: 0.1 for name in symbols}))
    width, small = column_check(fig)
    assert width <= style.COLUMN_INCHES and not small and fig.dpi == style.DISPLAY_DPI
