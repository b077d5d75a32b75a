"""Interactive explorers for the chapters: ipywidgets that redraw a figure of ``oneshot_lib.viz``.

Each explorer is a widget (a ``VBox``) built by a plain function, so it can be created and
driven without a browser: set a control's ``value`` and the explorer redraws its ``image``
(an ``ipywidgets.Image`` holding a PNG), which tests can check directly. In a notebook, make
the explorer the last expression of a cell to show it.

Figures are drawn at ``RENDER_SCALE`` times the size they are shown at (``DISPLAY_DPI`` CSS pixels
per inch, as the book and the chapters show their figures: ``style``), so they stay sharp on
high-density screens and are never stretched. Where no widget can run (a static page of the course, a notebook viewer),
an explorer shows a still picture of itself and says how to use it live (run the cell in
JupyterLab): its display offers an HTML fallback beside the live widget.
"""

from __future__ import annotations

import base64
import html
import io
import struct
from collections.abc import Mapping

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from oneshot_lib.data.omniglot import OmniglotSplit
from oneshot_lib.data.tasks import Task, check_task_request, sample_task
from oneshot_lib.scoring.contract import ScorerLike, score_function, scorer_name
from oneshot_lib.scoring.rules import class_scores_of, predict
from oneshot_lib.viz.drawings import plot_character, plot_task
from oneshot_lib.viz.scores import plot_score_bars
from oneshot_lib.viz.style import DPI, RENDER_SCALE, alphabet_name, character_name

RUN_LIVE = "jupyter lab chapters/"
"""The command that opens the course, where explorers run."""


def figure_png(fig: Figure, dpi: float = DPI) -> bytes:
    """The PNG bytes of ``fig``, trimmed to what is drawn; closes it, so a notebook does not also show it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return buffer.getvalue()


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels of a PNG, read from its header. Raises ValueError if ``png`` is not one."""
    if len(png) < 24 or not png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError(f"not a PNG: {bytes(png[:8])!r}...")
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def new_image() -> ipywidgets.Image:
    """An empty, hidden Image widget for ``show_png``, never wider than the output area."""
    return ipywidgets.Image(format="png", layout=ipywidgets.Layout(display="none", max_width="100%", height="auto"))


def show_png(image: ipywidgets.Image, png: bytes) -> None:
    """Show ``png`` in ``image`` at its display size (its pixels / RENDER_SCALE), or hide ``image`` if empty.

    An Image widget with no PNG would show a broken-image icon, so an empty one is hidden.
    """
    image.value = png
    if png:
        image.width = str(round(png_size(png)[0] / RENDER_SCALE))
        image.layout.display = None
    else:
        image.width = ""
        image.layout.display = "none"


def still_image(png: bytes, alt: str) -> str:
    """An HTML <img> of ``png`` at its display size, for an explorer's static fallback."""
    width = round(png_size(png)[0] / RENDER_SCALE)
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<img src="data:image/png;base64,{data}" width="{width}" alt="{html.escape(alt)}" '
        'style="max-width: 100%; height: auto;">'
    )


class Explorer(ipywidgets.VBox):
    """An explorer: a VBox whose display also offers a still picture of it, as HTML, for static pages."""

    def still_parts(self) -> list[str]:
        """HTML paragraphs and images that picture the explorer as it is now."""
        raise NotImplementedError

    def still_html(self) -> str:
        """A still picture of the explorer and one line saying how to use it live."""
        line = (
            "<p><em>A still picture of an interactive explorer: run this cell in JupyterLab to use it "
            f"(the course opens with <code>{RUN_LIVE}</code>).</em></p>"
        )
        return '<div class="oneshot-explorer-still">\n' + "\n".join([*self.still_parts(), line]) + "\n</div>"

    def _repr_mimebundle_(self, **kwargs) -> dict:
        bundle = super()._repr_mimebundle_(**kwargs)
        # Where widgets run, their view is preferred over HTML; elsewhere, the still picture shows.
        bundle["text/html"] = self.still_html()
        return bundle


class CharacterExplorer(Explorer):
    """Pick an alphabet and one of its characters; see all of that character's drawings.

    Attributes:
        alphabet: Dropdown of the split's alphabets (value: the alphabet folder name).
        character: Dropdown of the chosen alphabet's characters (value: the row in the split).
        image: Image holding the PNG of ``plot_character`` for the chosen row.
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
            options=[(alphabet_name(name), name) for name in names], value=alphabet, description="Alphabet"
        )
        self.character = ipywidgets.Dropdown(options=self._character_options(alphabet), description="Character")
        if character is not None:
            rows = {str(self.data.characters[row]): row for _, row in self.character.options}
            if character not in rows:
                raise ValueError(
                    f"character {character!r} is not in alphabet {alphabet!r}; choose one of {sorted(rows)}"
                )
            self.character.value = rows[character]
        self.image = new_image()
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
        return [(character_name(self.data.characters[row]), int(row)) for row in rows]

    def _on_alphabet(self, change: dict) -> None:
        self.character.options = self._character_options(change["new"])

    def _redraw(self, _change: dict | None = None) -> None:
        show_png(self.image, figure_png(plot_character(self.data, self.row)))

    def still_parts(self) -> list[str]:
        alphabet, character = alphabet_name(self.alphabet.value), character_name(self.data.characters[self.row])
        return [still_image(bytes(self.image.value), f"All drawings of {alphabet}, {character}")]

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


class TaskExplorer(Explorer):
    """Draw N-way k-shot tasks from a split and look at them, optionally with scorers' picks and scores.

    Attributes:
        n_way, k_shot: IntSliders. ``n_way.max`` is the most characters the chosen protocol can
            give: the largest alphabet's within one alphabet, the whole split's across alphabets.
        protocol: ToggleButtons, value ``within_alphabet`` (bool).
        seed: IntText, the seed of the task shown; ``new_task`` (a Button) adds one to it.
        show_answer: Checkbox, unticked unless the explorer was made with ``show_answer=True``:
            the reader looks for the answer first. Ticked, the right answer is framed in green,
            the bars are coloured by right and wrong, and ``status`` says whether each scorer is
            right; unticked, none of these give the answer away (bars show each scorer's pick in
            a neutral colour).
        status: Label, the task drawn and each scorer's verdict, or why no task can be drawn.
        image: Image holding the PNG of ``plot_task`` (hidden and empty when no task); each
            support drawing carries its number, 0 to S - 1.
        bars: Image holding the PNG of ``plot_score_bars``, one bar per support drawing under
            the same numbers (hidden and empty without scorers or task).
        task: the Task shown, or None when the settings give none.
        class_scores: {scorer name: (n_way,) float} each scorer's score of each class for the
            first query, by the rule ``evaluate.accuracy`` decides with (``evaluate.class_scores_of``:
            the scorer's own class rule, such as nearest neighbour's nearest drawing, else the mean
            of the class's image scores).
        picks: {scorer name: int} the class each scorer picks from its ``class_scores``, ties
            broken at random (seeded by ``seed``) as ``evaluate.accuracy`` breaks them.
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
        show_answer: bool = False,
    ):
        check_task_request(data, n_way, k_shot, 1, within_alphabet)
        self.data = data
        self.scorers = _named_scorers(scorer)
        # The most characters a task can have, by protocol (tasks.check_task_request's bounds).
        self.largest_n_way = {False: len(data), True: int(np.unique(data.alphabets, return_counts=True)[1].max())}
        self.n_way = ipywidgets.IntSlider(
            value=n_way, min=2, max=self.largest_n_way[within_alphabet], description="N-way", continuous_update=False
        )
        self.k_shot = ipywidgets.IntSlider(
            value=k_shot, min=1, max=max(k_shot, 5), description="k-shot", continuous_update=False
        )
        self.protocol = ipywidgets.ToggleButtons(
            options=[("across alphabets", False), ("within one alphabet", True)],
            value=within_alphabet,
            style={"button_width": "auto"},  # each button as wide as its label
        )
        self.seed = ipywidgets.BoundedIntText(value=seed, min=0, max=2**31 - 1, description="seed")
        self.new_task = ipywidgets.Button(description="new task")
        self.show_answer = ipywidgets.Checkbox(value=show_answer, description="show answer")
        self.status = ipywidgets.Label()
        self.image = new_image()
        self.bars = new_image()
        self.task: Task | None = None
        self.class_scores: dict[str, np.ndarray] = {}
        self.picks: dict[str, int] = {}
        controls = [
            ipywidgets.HBox([self.n_way, self.k_shot]),
            ipywidgets.HBox([self.protocol, self.show_answer]),
            ipywidgets.HBox([self.seed, self.new_task]),
        ]
        super().__init__([*controls, self.status, self.image, self.bars])
        for widget, name in ((self, "explorer"), (self.status, "status"), (self.image, "figure"), (self.bars, "bars")):
            widget.add_class(f"oneshot-{name}")  # for finding them on a page
        self._bounding = False
        for control in (self.n_way, self.k_shot, self.seed, self.show_answer):
            control.observe(self._redraw, names="value")
        self.protocol.observe(self._on_protocol, names="value")
        self.new_task.on_click(self._next_seed)
        self._redraw()

    def _next_seed(self, _button: ipywidgets.Button) -> None:
        self.seed.value += 1

    def _on_protocol(self, change: dict) -> None:
        # A lower bound lowers a larger N to it; that change must not redraw before the new protocol does.
        self._bounding = True
        try:
            self.n_way.max = self.largest_n_way[change["new"]]
        finally:
            self._bounding = False
        self._redraw()

    def _redraw(self, _change: dict | None = None) -> None:
        if self._bounding:
            return
        within = self.protocol.value
        self.task, self.class_scores, self.picks = None, {}, {}
        try:
            task = sample_task(
                self.data, self.n_way.value, self.k_shot.value, within_alphabet=within, rng=self.seed.value
            )
        except ValueError as error:
            self.status.value = f"No such task: {error}"
            show_png(self.image, b"")
            show_png(self.bars, b"")
            return
        self.task = task
        reveal = self.show_answer.value
        answer = int(task.query_labels[0])
        query, classes = task.query[:1], np.arange(task.n_way)
        predicted, verdicts, all_scores = None, [], {}
        for name, scorer in self.scorers.items():
            all_scores[name] = np.asarray(score_function(scorer)(query, task.support), dtype=float)[0]
            per_class = class_scores_of(scorer, query, task.support, task.support_labels, task.n_way)
            rng = np.random.default_rng(self.seed.value)
            pick = int(predict(per_class, classes, task.n_way, rng)[0])
            self.class_scores[name], self.picks[name] = per_class[0], pick
            predicted = pick if predicted is None else predicted
            verdicts.append(f"{name} is {'right' if pick == answer else 'wrong'}")
        protocol = "within one alphabet" if within else "across alphabets"
        if not self.scorers:
            self.status.value = f"a task from {self.data.name!r}, {protocol}"
        elif not reveal:
            self.status.value = (
                f"a task from {self.data.name!r}, {protocol}; the answer is hidden: "
                "tick show answer to check each scorer's pick"
            )
        else:
            first_wrong = predicted != answer
            self.status.value = "; ".join(verdicts) + (
                f" ({next(iter(self.scorers))}'s pick is framed in red)" if first_wrong else ""
            )
        k_shot = len(task.support) // task.n_way
        title = f"{task.n_way}-way {k_shot}-shot task: " + (
            "the answer framed in green" if reveal else "which drawings are the query's character?"
        )
        fig = plot_task(task, show_answer=reveal, predicted_class=predicted if reveal else None, title=title)
        show_png(self.image, figure_png(fig))
        if all_scores:
            bars = plot_score_bars(all_scores, task.support_labels, answer if reveal else None, self.picks)
            show_png(self.bars, figure_png(bars))
        else:
            show_png(self.bars, b"")

    def still_parts(self) -> list[str]:
        protocol = "within one alphabet" if self.protocol.value else "across alphabets"
        settings = (
            f"A {self.n_way.value}-way {self.k_shot.value}-shot task from {self.data.name!r}, {protocol}, "
            f"seed {self.seed.value}, answer {'shown' if self.show_answer.value else 'hidden'}"
        )
        if self.scorers and self.show_answer.value and self.image.value:
            settings += f": {self.status.value}"  # each scorer's verdict
        elif not self.image.value:
            settings += f". {self.status.value}"  # why there is no task
        parts = [f"<p>{html.escape(settings)}</p>"]
        if self.image.value:
            parts.append(still_image(bytes(self.image.value), f"A {self.n_way.value}-way task: {self.status.value}"))
        if self.bars.value:
            parts.append(still_image(bytes(self.bars.value), "Each scorer's scores of the support images"))
        return parts

    def __repr__(self) -> str:
        return (
            f"TaskExplorer({self.data.name!r}, n_way={self.n_way.value}, k_shot={self.k_shot.value}, "
            f"within_alphabet={self.protocol.value}, seed={self.seed.value})"
        )


def _named_scorers(scorers: ScorerLike | Mapping[str, ScorerLike] | None) -> dict[str, ScorerLike]:
    """{name: scorer} from one scorer, a mapping of them, or None (no scorer)."""
    if scorers is None:
        return {}
    if isinstance(scorers, Mapping):
        return dict(scorers)
    return {scorer_name(scorers): scorers}


def task_explorer(
    data: OmniglotSplit,
    scorer: ScorerLike | Mapping[str, ScorerLike] | None = None,
    *,
    n_way: int = 20,
    k_shot: int = 1,
    within_alphabet: bool = False,
    seed: int = 0,
    show_answer: bool = False,
) -> TaskExplorer:
    """An explorer of N-way k-shot tasks drawn from ``data``, starting from the given settings.

    The answer is hidden until the reader ticks "show answer" (``show_answer=True`` starts with
    it shown). With a ``scorer`` (see ``oneshot_lib.scoring.evaluate``), or a {name: scorer}
    mapping of several, it also shows each scorer's scores of the support images as bars,
    numbered as the drawings are, and, while "show answer" is ticked, whether each scorer picks
    the right class for the first query (the first scorer's wrong pick is framed in red on the
    task). A scorer picks a class as
    ``evaluate.accuracy`` does, by its own class rule where it has one (``evaluate.class_scores_of``),
    which matters with k > 1 drawings per class. Raises ValueError if the starting task
    cannot be drawn (see ``tasks.check_task_request``); later impossible settings are reported
    in ``status`` instead.
    """
    return TaskExplorer(
        data, scorer, n_way=n_way, k_shot=k_shot, within_alphabet=within_alphabet, seed=seed, show_answer=show_answer
    )
