"""The explorers, driven without a browser: set a control's value, check what is drawn and said."""

from __future__ import annotations

import io

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from conftest import synthetic_split
from matplotlib.colors import to_rgb
from PIL import Image

from oneshot_lib.data.omniglot import OmniglotSplit
from oneshot_lib.scoring import rules
from oneshot_lib.scoring.baselines import PixelNearestNeighbour
from oneshot_lib.viz import style, widgets

matplotlib.use("Agg")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png(explorer) -> bytes:
    """What the explorer shows: the bytes of its Image widget."""
    return bytes(explorer.image.value)


def colours(png_bytes: bytes) -> set[tuple[int, int, int]]:
    """The RGB colours of a PNG's pixels."""
    pixels = np.asarray(Image.open(io.BytesIO(png_bytes)).convert("RGB")).reshape(-1, 3)
    return {tuple(int(v) for v in colour) for colour in np.unique(pixels, axis=0)}


def rgb(colour) -> tuple[int, int, int]:
    return tuple(round(255 * channel) for channel in to_rgb(colour))


ANSWER_COLOURS = {rgb(style.ANSWER_COLOR), rgb(style.WRONG_COLOR)}


def shown(image) -> bool:
    """Whether an Image widget is on screen."""
    return image.layout.display != "none"


def farthest(query, support):
    """A scorer that is always wrong on tasks from ``tiny_split(identical_drawings=True)``."""
    return -PixelNearestNeighbour().scores(query, support)


def tiny_split(sizes: tuple[int, ...] = (4, 3), identical_drawings: bool = False, drawings: int = 20) -> OmniglotSplit:
    """Random ink; with ``identical_drawings`` every drawing of a character is the same image."""
    base = synthetic_split(sizes, drawings=drawings)
    images = np.repeat(base.images[:, :1], drawings, axis=1) if identical_drawings else base.images
    alphabets = np.repeat(["Latin", "Greek_(ancient)"], sizes)
    return OmniglotSplit(images, alphabets, base.characters, "tiny")


def test_character_explorer_starts_on_the_first_character_and_draws_it():
    explorer = widgets.character_explorer(tiny_split())
    assert explorer.alphabet.value == "Latin" and explorer.row == 0
    assert png(explorer).startswith(PNG_SIGNATURE)
    assert [label for label, _ in explorer.alphabet.options] == ["Latin", "Greek (ancient)"]
    assert repr(explorer) == "CharacterExplorer('tiny', alphabet='Latin', character='character00')"


def test_character_explorer_follows_the_chosen_alphabet_and_character():
    explorer = widgets.character_explorer(tiny_split())
    first = png(explorer)
    explorer.alphabet.value = "Greek_(ancient)"
    assert [row for _, row in explorer.character.options] == [4, 5, 6]
    assert explorer.row == 4 and png(explorer) != first
    shown = png(explorer)
    explorer.character.value = 6
    assert png(explorer) != shown


def test_character_explorer_can_start_anywhere():
    explorer = widgets.character_explorer(tiny_split(), "Greek_(ancient)", "character05")
    assert explorer.row == 5


def test_character_explorer_rejects_what_is_not_there():
    data = tiny_split()
    with pytest.raises(ValueError, match="'Cyrillic' is not in 'tiny'; choose one of"):
        widgets.character_explorer(data, "Cyrillic")
    with pytest.raises(ValueError, match="'character05' is not in alphabet 'Latin'"):
        widgets.character_explorer(data, "Latin", "character05")
    with pytest.raises(ValueError, match="empty"):
        widgets.character_explorer(data.select([]))


def test_task_explorer_draws_a_task_and_redraws_on_change():
    explorer = widgets.task_explorer(tiny_split(), n_way=3, seed=4)
    assert png(explorer).startswith(PNG_SIGNATURE)
    assert explorer.status.value == "a task from 'tiny', across alphabets"
    first = png(explorer)
    explorer.new_task.click()
    assert explorer.seed.value == 5 and png(explorer) != first
    assert repr(explorer) == "TaskExplorer('tiny', n_way=3, k_shot=1, within_alphabet=False, seed=5)"


def test_task_explorer_reports_an_impossible_task_and_clears_the_last_one():
    data = tiny_split(identical_drawings=True, drawings=3)
    explorer = widgets.task_explorer(data, PixelNearestNeighbour(), n_way=4)
    assert shown(explorer.image) and shown(explorer.bars)
    explorer.k_shot.value = 3  # 3 drawings: no room left for a query
    assert explorer.status.value.startswith("No such task: k_shot + n_query = 4")
    assert png(explorer) == b"" and bytes(explorer.bars.value) == b""
    # An empty Image would show a broken-image icon: both are hidden instead.
    assert not shown(explorer.image) and not shown(explorer.bars)
    explorer.k_shot.value = 1
    assert shown(explorer.image) and shown(explorer.bars)


def test_task_explorer_offers_only_the_n_way_its_protocol_can_give():
    explorer = widgets.task_explorer(tiny_split((4, 3)), n_way=6)
    assert (explorer.n_way.min, explorer.n_way.max) == (2, 7)  # across alphabets: every character
    explorer.protocol.value = True
    assert explorer.n_way.max == 4  # within one alphabet: the largest alphabet's characters
    assert explorer.n_way.value == 4
    assert explorer.status.value == "a task from 'tiny', within one alphabet"
    assert png(explorer).startswith(PNG_SIGNATURE)
    explorer.protocol.value = False
    assert explorer.n_way.max == 7 and explorer.n_way.value == 4
    assert widgets.task_explorer(tiny_split((4, 3)), n_way=3, within_alphabet=True).n_way.max == 4


def test_task_explorer_redraws_once_when_the_protocol_lowers_n_way(monkeypatch):
    explorer = widgets.task_explorer(tiny_split((4, 3)), n_way=6)
    drawn = []
    monkeypatch.setattr(widgets, "sample_task", lambda *args, **kwargs: drawn.append(kwargs) or 1 / 0)
    with pytest.raises(ZeroDivisionError):
        explorer.protocol.value = True
    assert drawn == [{"within_alphabet": True, "rng": 0}]


def test_task_explorer_labels_fit_their_buttons():
    explorer = widgets.task_explorer(tiny_split(), n_way=3)
    assert explorer.protocol.style.button_width == "auto"


def test_task_explorer_says_whether_the_scorer_is_right():
    data = tiny_split(identical_drawings=True)
    right = widgets.task_explorer(data, PixelNearestNeighbour(), n_way=5, show_answer=True)
    assert right.status.value == "pixel 1-NN is right"
    wrong = widgets.task_explorer(data, farthest, n_way=5, show_answer=True)
    assert wrong.status.value.startswith("farthest is wrong")


def test_task_explorer_scores_k_shot_classes_by_the_rule_accuracy_uses():
    """Nearest neighbour's class scores as its nearest drawing, in the explorer as in evaluate.accuracy."""
    scorer = PixelNearestNeighbour()
    explorer = widgets.task_explorer(tiny_split(), scorer, n_way=4, k_shot=3, show_answer=True)
    mean_would_differ = 0
    for seed in range(8):
        explorer.seed.value = seed
        task = explorer.task
        assert len(task.support) == 12 and explorer.k_shot.value == 3
        scores = scorer.scores(task.query[:1], task.support)
        nearest = rules.nearest_class_scores(scores, task.support_labels, 4)[0]
        mean = rules.class_scores(scores, task.support_labels, 4)[0]
        np.testing.assert_array_equal(explorer.class_scores["pixel 1-NN"], nearest)
        pick = explorer.picks["pixel 1-NN"]
        assert nearest[pick] == nearest.max()
        verdict = "right" if pick == task.query_labels[0] else "wrong"
        assert explorer.status.value.startswith(f"pixel 1-NN is {verdict}")
        mean_would_differ += mean[pick] != mean.max()
    assert mean_would_differ  # on some of these tasks the mean of the scores picks another class


def test_task_explorer_forgets_the_task_it_cannot_draw():
    explorer = widgets.task_explorer(tiny_split(drawings=3), PixelNearestNeighbour(), n_way=3)
    assert explorer.task is not None and list(explorer.class_scores) == list(explorer.picks) == ["pixel 1-NN"]
    explorer.k_shot.value = 3
    assert explorer.task is None and explorer.class_scores == {} and explorer.picks == {}


def test_task_explorer_refuses_an_impossible_start():
    with pytest.raises(ValueError, match="n_way=9"):
        widgets.task_explorer(tiny_split(), n_way=9)


def test_task_explorer_with_several_scorers_shows_each_verdict_and_score_bars():
    data = tiny_split(identical_drawings=True)
    explorer = widgets.task_explorer(
        data, {"pixel": PixelNearestNeighbour(), "far": farthest}, n_way=5, show_answer=True
    )
    assert explorer.status.value == "pixel is right; far is wrong"
    assert bytes(explorer.bars.value).startswith(PNG_SIGNATURE) and shown(explorer.bars)
    without = widgets.task_explorer(data, n_way=5)
    assert bytes(without.bars.value) == b"" and not shown(without.bars)


def test_task_explorer_with_the_answer_hidden_gives_nothing_away():
    data = tiny_split(identical_drawings=True)
    explorer = widgets.task_explorer(data, {"far": farthest, "pixel": PixelNearestNeighbour()}, n_way=5)
    assert not explorer.show_answer.value  # hidden until the reader asks: they look for it first
    hidden_first = png(explorer)
    explorer.show_answer.value = True
    # Shown: the answer is framed green, far's wrong pick red, and the bars are coloured the same way.
    assert ANSWER_COLOURS <= colours(png(explorer))
    assert ANSWER_COLOURS <= colours(bytes(explorer.bars.value))
    explorer.show_answer.value = False
    assert png(explorer) == hidden_first
    status = explorer.status.value
    assert "right" not in status and "wrong" not in status and "red" not in status
    assert status == (
        "a task from 'tiny', across alphabets; the answer is hidden: tick show answer to check each scorer's pick"
    )
    assert not ANSWER_COLOURS & colours(png(explorer))
    bar_colours = colours(bytes(explorer.bars.value))
    assert not ANSWER_COLOURS & bar_colours
    assert rgb(style.PICK_COLOR) in bar_colours  # each scorer's pick, in a colour that says nothing
    html = explorer.still_html()
    assert "right" not in html and "wrong" not in html
    explorer.show_answer.value = True
    assert explorer.status.value == "far is wrong; pixel is right (far's pick is framed in red)"


def test_explorer_figures_are_shown_at_their_own_size_and_drawn_sharp():
    explorer = widgets.task_explorer(tiny_split(), PixelNearestNeighbour(), n_way=5)
    for image in (explorer.image, explorer.bars):
        width, _ = widgets.png_size(bytes(image.value))
        # Drawn at twice the pixels it is shown at, and shown at that width (never stretched).
        assert int(image.width) * widgets.RENDER_SCALE == pytest.approx(width, abs=1)
        assert image.layout.max_width == "100%"
    # A 5-way task is 3.9 inches wide: shown at about 100 CSS pixels an inch, not across the page.
    assert 350 < int(explorer.image.width) < 450
    character = widgets.character_explorer(tiny_split())
    width, _ = widgets.png_size(png(character))
    assert int(character.image.width) * widgets.RENDER_SCALE == pytest.approx(width, abs=1)


def test_png_size_reads_the_header_and_refuses_other_bytes():
    drawn = widgets.figure_png(plt.figure(figsize=(2, 1)))
    assert widgets.png_size(drawn) == Image.open(io.BytesIO(drawn)).size
    with pytest.raises(ValueError, match="not a PNG"):
        widgets.png_size(b"GIF89a")


def test_explorers_display_a_still_picture_where_widgets_cannot_run():
    explorer = widgets.task_explorer(
        tiny_split(identical_drawings=True), PixelNearestNeighbour(), n_way=5, seed=3, show_answer=True
    )
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # live where widgets run
    assert bundle["text/plain"] == repr(explorer)
    still = bundle["text/html"]
    assert still.count('<img src="data:image/png;base64,') == 2  # the task and the bars
    assert f'width="{explorer.image.width}"' in still
    settings = "A 5-way 1-shot task from &#x27;tiny&#x27;, across alphabets, seed 3, answer shown"
    assert f"<p>{settings}: pixel 1-NN is right</p>" in still
    assert "<code>jupyter lab chapters/</code>" in still
    assert "run this cell in JupyterLab" in still  # true also for a reader already in Jupyter
    assert "answer hidden" in widgets.task_explorer(tiny_split(), n_way=3).still_html()
    impossible = widgets.task_explorer(tiny_split(drawings=3), n_way=3)
    impossible.k_shot.value = 3
    assert impossible.still_html().count("<img ") == 0
    assert "answer hidden. No such task: k_shot + n_query = 4" in impossible.still_html()
    character = widgets.character_explorer(tiny_split())._repr_mimebundle_()["text/html"]
    assert character.count("<img ") == 1 and "jupyter lab chapters/" in character


def test_task_explorer_numbers_the_drawings_as_the_bars_are_numbered(monkeypatch):
    drawn = {}
    plot_task, plot_score_bars = widgets.plot_task, widgets.plot_score_bars
    monkeypatch.setattr(widgets, "plot_task", lambda *a, **k: drawn.setdefault("task", plot_task(*a, **k)))
    monkeypatch.setattr(widgets, "plot_score_bars", lambda *a, **k: drawn.setdefault("bars", plot_score_bars(*a, **k)))
    widgets.task_explorer(tiny_split((30, 30)), PixelNearestNeighbour(), n_way=60)
    support_axes = drawn["task"].axes[1:]
    assert [ax.texts[0].get_text() for ax in support_axes] == [str(i) for i in range(60)]
    bars = drawn["bars"].axes[-1]
    assert {*bars.get_xticks(), *bars.get_xticks(minor=True)} == set(range(60))  # a tick under every bar
    numbers = [int(label.get_text()) for label in bars.get_xticklabels()]
    assert numbers[:2] == [0, numbers[1]] and 20 <= len(numbers) <= 40  # every k-th: they do not run together


def test_explorers_draw_at_the_dpi_of_the_book_figures():
    from oneshot_lib.viz import style

    explorer = widgets.task_explorer(tiny_split(), PixelNearestNeighbour(), n_way=5)
    fig = plt.figure(figsize=(2, 1))
    fig.add_subplot().plot([0, 1])
    assert widgets.png_size(widgets.figure_png(fig))[0] <= 2 * style.DPI  # 2 in at most, tight
    assert (
        widgets.RENDER_SCALE == style.RENDER_SCALE
        and int(explorer.bars.width) <= style.COLUMN_INCHES * style.DISPLAY_DPI
    )
