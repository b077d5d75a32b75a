"""Interactive explorers for the chapters: ipywidgets that redraw a figure from ``oneshot_lib.plots``.

Each explorer is a widget (a ``VBox``) built by a plain function, so it can be created and
driven without a browser: set a control's ``value`` and the explorer redraws its ``image``
(an ``ipywidgets.Image`` holding a PNG), which tests can check directly. In a notebook, make
the explorer the last expression of a cell to show it.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from . import plots
from .data import OmniglotSplit
from .evaluate import ScorerLike, predict, score_function
from .tasks import check_task_request, sample_task


def figure_png(fig: Figure, dpi: int = 72) -> bytes:
    """The PNG bytes of ``fig``; closes it, so a notebook does not also show it inline."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()


class CharacterExplorer(ipywidgets.VBox):
    """Pick an alphabet and one of its characters; see all of that character's drawings.

    Attributes:
        alphabet: Dropdown of the split's alphabets (value: the alphabet folder name).
        character: Dropdown of the chosen alphabet's characters (value: the row in the split).
        image: Image holding the PNG of ``plots.plot_character`` for the chosen row.
    """

    def __init__(self, data: OmniglotSplit, alphabet: str | None = None, character: str | None = None):
        if len(data) == 0:
            raise ValueError(f"the split {data.name!r} is empty: there is nothing to explore")
        names = data.alphabet_names
        alphabet = names[0] if alphabet is None else alphabet
        if alphabet not in names:
            raise ValueError(f"alphabet {alphabet!r} is not in {data.name!r}; choose one of {names}")
        self.data = data
        self.alphabet = ipywidgets.Dropdown(
            options=[(name.replace("_", " "), name) for name in names], value=alphabet, description="Alphabet"
        )
        self.character = ipywidgets.Dropdown(
            options=self._character_options(alphabet), description="Character"
        )
        if character is not None:
            rows = dict(self.character.options)
            if character not in rows:
                raise ValueError(
                    f"character {character!r} is not in alphabet {alphabet!r}; choose one of {sorted(rows)}"
                )
            self.character.value = rows[character]
        self.image = ipywidgets.Image(format="png")
        super().__init__([ipywidgets.HBox([self.alphabet, self.character]), self.image])
        # A new alphabet replaces the character options, which selects its first character; the
        # rows of two alphabets never coincide, so that always fires one redraw.
        self.alphabet.observe(self._on_alphabet, names="value")
        self.character.observe(self._redraw, names="value")
        self._redraw()

    @property
    def row(self) -> int:
        """The row in the split of the character shown."""
        return int(self.character.value)

    def _character_options(self, alphabet: str) -> list[tuple[str, int]]:
        rows = np.flatnonzero(self.data.alphabets == alphabet)
        return [(str(self.data.characters[row]), int(row)) for row in rows]

    def _on_alphabet(self, change: dict) -> None:
        self.character.options = self._character_options(change["new"])

    def _redraw(self, _change: dict | None = None) -> None:
        self.image.value = figure_png(plots.plot_character(self.data, self.row))

    def __repr__(self) -> str:
        return (
            f"CharacterExplorer({self.data.name!r}, alphabet={self.alphabet.value!r}, "
            f"character={str(self.data.characters[self.row])!r})"
        )


def character_explorer(
    data: OmniglotSplit, alphabet: str | None = None, character: str | None = None
) -> CharacterExplorer:
    """An explorer of ``data``'s characters, starting at ``alphabet``/``character`` (default: the first).

    Raises ValueError if ``data`` is empty or the alphabet or character is not in it.
    """
    return CharacterExplorer(data, alphabet, character)


class TaskExplorer(ipywidgets.VBox):
    """Draw N-way k-shot tasks from a split and look at them, optionally with scorers' picks and scores.

    Attributes:
        n_way, k_shot: IntSliders. protocol: ToggleButtons, value ``within_alphabet`` (bool).
        seed: IntText, the seed of the task shown; ``new_task`` (a Button) adds one to it.
        show_answer: Checkbox, frame the right answer in green.
        status: Label, whether each scorer is right, or why no task can be drawn.
        image: Image holding the PNG of ``plots.plot_task``.
        bars: Image holding the PNG of ``plots.plot_score_bars`` (empty without scorers).
    """

    def __init__(
        self,
        data: OmniglotSplit,
        scorer: ScorerLike | Mapping[str, ScorerLike] | None = None,
        *,
        n_way: int = 20,
        k_shot: int = 1,
        within_alphabet: bool = False,
        seed: int = 0,
        max_way: int = 50,
    ):
        check_task_request(data, n_way, k_shot, 1, within_alphabet)
        self.data = data
        self.scorers = _named_scorers(scorer)
        largest = max(n_way, min(max_way, len(data)))
        self.n_way = ipywidgets.IntSlider(
            value=n_way, min=2, max=largest, description="N-way", continuous_update=False
        )
        self.k_shot = ipywidgets.IntSlider(
            value=k_shot, min=1, max=max(k_shot, 5), description="k-shot", continuous_update=False
        )
        self.protocol = ipywidgets.ToggleButtons(
            options=[("across alphabets", False), ("within one alphabet", True)], value=within_alphabet
        )
        self.seed = ipywidgets.BoundedIntText(value=seed, min=0, max=2**31 - 1, description="seed")
        self.new_task = ipywidgets.Button(description="new task")
        self.show_answer = ipywidgets.Checkbox(value=True, description="show answer")
        self.status = ipywidgets.Label()
        self.image = ipywidgets.Image(format="png")
        self.bars = ipywidgets.Image(format="png")
        controls = [
            ipywidgets.HBox([self.n_way, self.k_shot]),
            ipywidgets.HBox([self.protocol, self.show_answer]),
            ipywidgets.HBox([self.seed, self.new_task]),
        ]
        super().__init__([*controls, self.status, self.image, self.bars])
        for control in (self.n_way, self.k_shot, self.protocol, self.seed, self.show_answer):
            control.observe(self._redraw, names="value")
        self.new_task.on_click(self._next_seed)
        self._redraw()

    def _next_seed(self, _button: ipywidgets.Button) -> None:
        self.seed.value += 1

    def _redraw(self, _change: dict | None = None) -> None:
        within = self.protocol.value
        try:
            task = sample_task(
                self.data, self.n_way.value, self.k_shot.value, within_alphabet=within, rng=self.seed.value
            )
        except ValueError as error:
            self.status.value = f"No such task: {error}"
            self.image.value = b""
            return
        predicted, verdicts, all_scores = None, [], {}
        for name, scorer in self.scorers.items():
            scores = np.asarray(score_function(scorer)(task.query[:1], task.support), dtype=float)
            rng = np.random.default_rng(self.seed.value)
            pick = int(predict(scores, task.support_labels, task.n_way, rng)[0])
            predicted = pick if predicted is None else predicted
            verdicts.append(f"{name} is {'right' if pick == task.query_labels[0] else 'wrong'}")
            all_scores[name] = scores[0]
        if not self.scorers:
            protocol = "within one alphabet" if within else "across alphabets"
            self.status.value = f"a task from {self.data.name!r}, {protocol}"
        else:
            first_wrong = predicted != task.query_labels[0]
            self.status.value = "; ".join(verdicts) + (
                f" ({next(iter(self.scorers))}'s pick is framed in red)" if first_wrong else ""
            )
        fig = plots.plot_task(task, show_answer=self.show_answer.value, predicted_class=predicted)
        self.image.value = figure_png(fig)
        self.bars.value = (
            figure_png(plots.plot_score_bars(all_scores, task.support_labels, task.query_labels[0]))
            if all_scores
            else b""
        )

    def __repr__(self) -> str:
        return (
            f"TaskExplorer({self.data.name!r}, n_way={self.n_way.value}, k_shot={self.k_shot.value}, "
            f"within_alphabet={self.protocol.value}, seed={self.seed.value})"
        )


def _scorer_name(scorer: ScorerLike) -> str:
    """A scorer's ``name`` attribute, else a function's or class's name."""
    return getattr(scorer, "name", None) or getattr(scorer, "__name__", None) or type(scorer).__name__


def _named_scorers(scorers: ScorerLike | Mapping[str, ScorerLike] | None) -> dict[str, ScorerLike]:
    """{name: scorer} from one scorer, a mapping of them, or None (no scorer)."""
    if scorers is None:
        return {}
    if isinstance(scorers, Mapping):
        return dict(scorers)
    return {_scorer_name(scorers): scorers}


def task_explorer(
    data: OmniglotSplit,
    scorer: ScorerLike | Mapping[str, ScorerLike] | None = None,
    *,
    n_way: int = 20,
    k_shot: int = 1,
    within_alphabet: bool = False,
    seed: int = 0,
) -> TaskExplorer:
    """An explorer of N-way k-shot tasks drawn from ``data``, starting from the given settings.

    With a ``scorer`` (see ``oneshot_lib.evaluate``), or a {name: scorer} mapping of several,
    it also shows whether each scorer picks the right class for the first query, and each
    scorer's scores of the support images as bars (the first scorer's wrong pick is framed
    in red on the task). Raises ValueError if the starting task cannot
    be drawn (see ``tasks.check_task_request``); later impossible settings are reported in
    ``status`` instead.
    """
    return TaskExplorer(data, scorer, n_way=n_way, k_shot=k_shot, within_alphabet=within_alphabet, seed=seed)
