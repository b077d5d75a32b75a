"""The explorers, driven without a browser: set a control's value, check what is drawn and said."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from conftest import synthetic_split

from oneshot_lib import widgets
from oneshot_lib.baselines import PixelNearestNeighbour
from oneshot_lib.data import OmniglotSplit

matplotlib.use("Agg")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png(explorer) -> bytes:
    """What the explorer shows: the bytes of its Image widget."""
    return bytes(explorer.image.value)


def tiny_split(sizes: tuple[int, ...] = (4, 3), identical_drawings: bool = False) -> OmniglotSplit:
    """Random ink; with ``identical_drawings`` every drawing of a character is the same image."""
    base = synthetic_split(sizes)
    images = np.repeat(base.images[:, :1], 20, axis=1) if identical_drawings else base.images
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


def test_task_explorer_reports_an_impossible_task_instead_of_failing():
    explorer = widgets.task_explorer(tiny_split(), n_way=4)
    explorer.protocol.value = True
    assert png(explorer).startswith(PNG_SIGNATURE)  # Latin has 4 characters
    explorer.n_way.value = 5
    assert explorer.status.value.startswith("No such task: n_way=5")
    assert png(explorer) == b""


def test_task_explorer_says_whether_the_scorer_is_right():
    data = tiny_split(identical_drawings=True)
    right = widgets.task_explorer(data, PixelNearestNeighbour(), n_way=5)
    assert right.status.value == "pixel 1-NN is right"

    def farthest(query, support):
        return -PixelNearestNeighbour().scores(query, support)

    wrong = widgets.task_explorer(data, farthest, n_way=5)
    assert wrong.status.value.startswith("farthest is wrong")


def test_task_explorer_refuses_an_impossible_start():
    with pytest.raises(ValueError, match="n_way=9"):
        widgets.task_explorer(tiny_split(), n_way=9)


def test_task_explorer_with_several_scorers_shows_each_verdict_and_score_bars():
    data = tiny_split(identical_drawings=True)

    def farthest(query, support):
        return -PixelNearestNeighbour().scores(query, support)

    explorer = widgets.task_explorer(data, {"pixel": PixelNearestNeighbour(), "far": farthest}, n_way=5)
    assert explorer.status.value == "pixel is right; far is wrong"
    assert bytes(explorer.bars.value).startswith(PNG_SIGNATURE)
    assert bytes(widgets.task_explorer(data, n_way=5).bars.value) == b""
