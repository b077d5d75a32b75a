"""A drawing pad: draw new symbols, one drawing each, then a query, and see a shipped model name it.

The logic lives in plain functions and a plain class, tested without a browser:

- ``strokes_image``: a list of strokes (each a list of (x, y) points on the pad) as an ink mask,
  drawn with the pad's round pen;
- ``PadSession``: what is on the pad (its strokes, with undo and clear), the symbols added so far
  (each made a 105x105 drawing by ``scoring.any_image.as_drawing``, as the models see it), and
  ``classify``, the pad's drawing against those symbols (``scoring.named_classes``);
- ``plot_pad``: the symbols and the query as the model sees them, and its score for each symbol.

``DrawingPad`` only wires an ``ipycanvas.Canvas`` to them: pressing, moving and lifting the
mouse, a pen or a finger draws (ipycanvas's mouse and touch events; a pen sends either), the
buttons undo a stroke, clear the pad, add the drawing as a new symbol, remove the last symbol
and classify. It knows no model: it is given the names to offer (``pretrained.available()``)
and a function that loads one (``pretrained.load``). Where widgets cannot run (the course's
static book), it shows a still picture of itself and says how to run it, as the explorers do.
"""

from __future__ import annotations

import html
import string
from collections.abc import Callable, Sequence

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
from ipycanvas import Canvas
from matplotlib.figure import Figure
from PIL import Image, ImageDraw

from oneshot_lib.scoring.any_image import as_drawing
from oneshot_lib.scoring.contract import ScorerLike
from oneshot_lib.scoring.named_classes import Prediction, predict_classes
from oneshot_lib.viz.drawings import draw_drawing
from oneshot_lib.viz.style import FIGURE_INCHES, PICK_COLOR, QUERY_COLOR, SMALL_POINTS, course_figure
from oneshot_lib.viz.widgets import Explorer, figure_png, new_image, show_png, still_image

#: The pad's side, in CSS pixels.
PAD_SIZE = 280
#: The pen's width on the pad, in its pixels: wide enough to draw with a finger.
PEN_WIDTH = 9

Stroke = list[tuple[float, float]]


def strokes_image(strokes: Sequence[Sequence[tuple[float, float]]], size: int = PAD_SIZE, pen: float = PEN_WIDTH):
    """(size, size) bool ink mask of ``strokes``, True where the pen went.

    Each stroke is a sequence of (x, y) points in the pad's pixels (x to the right, y down),
    joined by lines ``pen`` wide with round ends and joints; a stroke of one point is a dot.
    """
    picture = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(picture)
    radius = pen / 2
    for stroke in strokes:
        points = [(float(x), float(y)) for x, y in stroke]
        if len(points) > 1:
            draw.line(points, fill=255, width=max(1, round(pen)))
        for x, y in points:  # round ends and joints
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return np.asarray(picture) > 127


class PadSession:
    """The drawing pad without its widgets: the strokes on the pad and the symbols drawn so far.

    Attributes:
        strokes: the strokes on the pad, oldest first, each a list of (x, y) points.
        symbols: {name: (105, 105) bool drawing}, the support set, one drawing per symbol, as
            the model sees them (``as_drawing`` of what was on the pad).
        size, pen: the pad's side and the pen's width, in pixels.
    """

    def __init__(self, size: int = PAD_SIZE, pen: float = PEN_WIDTH):
        self.size, self.pen = size, pen
        self.strokes: list[Stroke] = []
        self.symbols: dict[str, np.ndarray] = {}
        self.pen_is_down = False

    # -------------------------------------------------------------- drawing on the pad

    def pen_down(self, x: float, y: float) -> None:
        """Start a stroke at (x, y)."""
        self.strokes.append([(x, y)])
        self.pen_is_down = True

    def pen_move(self, x: float, y: float) -> tuple[float, float] | None:
        """Extend the stroke being drawn to (x, y); returns the point it came from, or None if the pen is up."""
        if not self.pen_is_down:
            return None
        start = self.strokes[-1][-1]
        self.strokes[-1].append((x, y))
        return start

    def pen_up(self) -> None:
        """End the stroke being drawn (nothing happens if the pen is already up)."""
        self.pen_is_down = False

    def undo(self) -> bool:
        """Remove the last stroke; False if the pad was empty."""
        self.pen_is_down = False
        if not self.strokes:
            return False
        self.strokes.pop()
        return True

    def clear(self) -> None:
        """Remove every stroke from the pad (the symbols stay)."""
        self.strokes, self.pen_is_down = [], False

    def ink(self) -> np.ndarray:
        """(size, size) bool: what is on the pad, as ``strokes_image`` draws it."""
        return strokes_image(self.strokes, self.size, self.pen)

    def drawing(self) -> np.ndarray:
        """(105, 105) bool: what is on the pad as the model sees it. Raises ValueError if the pad is empty."""
        if not self.strokes:
            raise ValueError("the pad is empty: draw something first")
        return as_drawing(self.ink())

    # -------------------------------------------------------------- the support set

    def next_name(self) -> str:
        """The first of A, B, C, ... (then S27, S28, ...) that no symbol has."""
        names = [*string.ascii_uppercase, *(f"S{n}" for n in range(27, 27 + len(self.symbols) + 1))]
        return next(name for name in names if name not in self.symbols)

    def add_symbol(self, name: str | None = None) -> str:
        """Add the pad's drawing to the support set as a new symbol, named ``name`` (default ``next_name()``),
        and clear the pad. Returns the name.

        Raises ValueError, changing nothing, if the pad is empty or the name is taken.
        """
        name = (name or "").strip() or self.next_name()
        if name in self.symbols:
            raise ValueError(f"there is a symbol {name!r} already: give the new one another name")
        self.symbols[name] = self.drawing()
        self.clear()
        return name

    def remove_last_symbol(self) -> str | None:
        """Remove the symbol added last; returns its name, or None if there was none."""
        if not self.symbols:
            return None
        name = list(self.symbols)[-1]
        del self.symbols[name]
        return name

    def classify(self, scorer: ScorerLike) -> Prediction:
        """The scorer's ``Prediction`` for the pad's drawing against the symbols (each one class, one drawing).

        Raises ValueError if there are fewer than 2 symbols or the pad is empty.
        """
        if len(self.symbols) < 2:
            raise ValueError(
                f"there {'is' if len(self.symbols) == 1 else 'are'} {len(self.symbols)} symbol"
                f"{'' if len(self.symbols) == 1 else 's'}: add at least 2 before classifying a drawing"
            )
        query = self.drawing()
        return predict_classes(scorer, {n: d[None] for n, d in self.symbols.items()}, query[None], ["the drawing"])[0]


@course_figure
def plot_pad(
    symbols: dict[str, np.ndarray], query: np.ndarray | None = None, prediction: Prediction | None = None
) -> Figure:
    """The symbols and the query as the model sees them (105x105), and the model's score of each symbol.

    ``symbols`` maps each name to its (105, 105) drawing; ``query`` is the drawing classified,
    ``prediction`` its ``Prediction`` (its pick framed and its bar in blue). Returns a new Figure.
    """
    n = len(symbols) + (query is not None)
    rows = 2 if prediction is not None else 1
    fig = plt.figure(figsize=(min(max(1.2 * n, 4.0), FIGURE_INCHES), 1.45 + 1.6 * (rows - 1)))
    grid = fig.add_gridspec(rows, max(n, 1), height_ratios=[1.0, 1.1][:rows], hspace=0.45)
    pick = prediction.predicted if prediction is not None else None
    for column, (name, drawing) in enumerate(symbols.items()):
        frame = PICK_COLOR if name == pick else None
        draw_drawing(fig.add_subplot(grid[0, column]), drawing, frame_color=frame, title=name)
    if query is not None:
        draw_drawing(fig.add_subplot(grid[0, n - 1]), query, frame_color=QUERY_COLOR, title="query")
    if prediction is not None:
        ax = fig.add_subplot(grid[1, :])
        names = list(prediction.scores)
        scores = np.array([prediction.scores[name] for name in names])
        low = scores.min() - 0.05 * (np.ptp(scores) or 1.0)
        colours = [PICK_COLOR if name == pick else "0.6" for name in names]
        ax.bar(np.arange(len(names)), scores - low, bottom=low, color=colours)
        ax.set_xticks(np.arange(len(names)), names)
        ax.set_ylabel("score")
        ax.grid(axis="y", alpha=0.3)
        ax.set_title(f"the model's score of each symbol (blue: its pick, {pick})", fontsize=SMALL_POINTS)
    return fig


class DrawingPad(Explorer):
    """Draw symbols, one drawing each, then a query; a model scores the query against every symbol.

    Attributes:
        session: the ``PadSession`` (strokes and symbols) the widgets show and change.
        canvas: the ``ipycanvas.Canvas`` drawn on, ``PAD_SIZE`` pixels square.
        model: Dropdown of the models offered; changing it scores the drawing again.
        name: Text, the name of the next symbol (empty: the next letter).
        undo, clear, add, remove, classify: the Buttons.
        status: Label saying what happened, or what to do next.
        image: Image holding the PNG of ``plot_pad``.
        prediction: the last ``Prediction``, or None.
    """

    def __init__(
        self, models: Sequence[str], load: Callable[[str], ScorerLike], model: str | None = None, size: int = PAD_SIZE
    ):
        models = list(models)
        if not models:
            raise ValueError("no model to offer: pass the names of the models, e.g. pretrained.available()")
        model = models[0] if model is None else model
        if model not in models:
            raise ValueError(f"model {model!r} is not among those offered: choose one of {models}")
        self.session, self.load, self.scorers = PadSession(size), load, {}
        self.prediction: Prediction | None = None
        self.canvas = Canvas(width=size, height=size, layout=ipywidgets.Layout(border="1px solid #999"))
        self.canvas.add_class("oneshot-pad")
        self.model = ipywidgets.Dropdown(options=models, value=model, description="Model")
        self.name = ipywidgets.Text(placeholder=self.session.next_name(), description="Name", layout={"width": "200px"})
        button = dict(layout=ipywidgets.Layout(width="200px"))
        self.undo = ipywidgets.Button(description="undo stroke", **button)
        self.clear = ipywidgets.Button(description="clear pad", **button)
        self.add = ipywidgets.Button(description="add as a new symbol", button_style="info", **button)
        self.remove = ipywidgets.Button(description="remove last symbol", **button)
        self.classify = ipywidgets.Button(description="classify the drawing", button_style="success", **button)
        self.status = ipywidgets.Label()
        self.image = new_image()
        # A pen or a finger would otherwise scroll the page instead of drawing.
        style = ipywidgets.HTML("<style>.oneshot-pad { touch-action: none; }</style>")
        controls = ipywidgets.VBox([self.undo, self.clear, self.name, self.add, self.remove, self.classify])
        super().__init__([self.model, ipywidgets.HBox([self.canvas, controls]), self.status, self.image, style])
        for widget, name in ((self, "drawing-pad"), (self.status, "pad-status"), (self.image, "pad-figure")):
            widget.add_class(f"oneshot-{name}")
        self.canvas.on_mouse_down(self.press)
        self.canvas.on_mouse_move(self.move)
        self.canvas.on_mouse_up(self.lift)
        self.canvas.on_mouse_out(self.lift)
        self.canvas.on_touch_start(lambda touches: self.press(*touches[0]))
        self.canvas.on_touch_move(lambda touches: self.move(*touches[0]))
        self.canvas.on_touch_end(lambda touches: self.lift())
        self.canvas.on_touch_cancel(lambda touches: self.lift())
        self.undo.on_click(lambda _: self.act(self.session.undo))
        self.clear.on_click(lambda _: self.act(self.session.clear))
        self.add.on_click(lambda _: self.add_symbol())
        self.remove.on_click(lambda _: self.act(self.session.remove_last_symbol, figure=True))
        self.classify.on_click(lambda _: self.run_model())
        self.model.observe(self.on_model, names="value")
        self.repaint()
        self.show("Draw a symbol on the pad, then press 'add as a new symbol'; add two or more.")

    # -------------------------------------------------------------- the pen

    def press(self, x: float, y: float, *_) -> None:
        self.session.pen_down(x, y)
        self.canvas.fill_style = "black"
        self.canvas.fill_circle(x, y, self.session.pen / 2)

    def move(self, x: float, y: float, *_) -> None:
        start = self.session.pen_move(x, y)
        if start is not None:
            self.canvas.stroke_line(*start, x, y)

    def lift(self, *_) -> None:
        self.session.pen_up()

    def draw_strokes(self, strokes: Sequence[Sequence[tuple[float, float]]]) -> None:
        """Draw ``strokes`` on the pad as if with the pen (for a prepared example, and tests)."""
        for stroke in strokes:
            self.press(*stroke[0])
            for point in stroke[1:]:
                self.move(*point)
            self.lift()

    # -------------------------------------------------------------- the buttons

    def repaint(self) -> None:
        """Draw the pad again from the session's strokes (after undo or clear)."""
        canvas, pen = self.canvas, self.session.pen
        canvas.clear()
        canvas.fill_style = "white"
        canvas.fill_rect(0, 0, canvas.width, canvas.height)
        canvas.fill_style, canvas.stroke_style = "black", "black"
        canvas.line_width, canvas.line_cap, canvas.line_join = pen, "round", "round"
        for stroke in self.session.strokes:
            canvas.fill_circle(*stroke[0], pen / 2)
            if len(stroke) > 1:
                canvas.stroke_lines(stroke)

    def act(self, action: Callable[[], object], figure: bool = False) -> None:
        action()
        self.repaint()
        if figure:
            self.prediction = None
            self.show_figure()
        self.name.placeholder = self.session.next_name()

    def add_symbol(self, name: str | None = None) -> str | None:
        """Add the pad's drawing as a symbol named ``name`` (default: the name box, else the next letter)."""
        try:
            name = self.session.add_symbol(self.name.value if name is None else name)
        except ValueError as error:
            self.show(f"Not added: {error}.")
            return None
        self.name.value, self.name.placeholder, self.prediction = "", self.session.next_name(), None
        self.repaint()
        more = "add another" if len(self.session.symbols) < 2 else "add another, or draw a query and classify it"
        self.show(f"Added symbol {name}; {len(self.session.symbols)} so far: {more}.", figure=True)
        return name

    def on_model(self, _change: dict) -> None:
        """Another model chosen: score the drawing again if one was scored."""
        if self.prediction is not None:
            self.run_model()

    def scorer(self) -> ScorerLike:
        """The chosen model's scorer, loaded once."""
        name = self.model.value
        if name not in self.scorers:
            self.scorers[name] = self.load(name)
        return self.scorers[name]

    def run_model(self) -> Prediction | None:
        """Classify the pad's drawing with the chosen model; show its pick and scores (or what is missing)."""
        try:
            self.prediction = self.session.classify(self.scorer())
        except ValueError as error:
            self.prediction = None
            self.show(f"Cannot classify yet: {error}.", figure=True)
            return None
        p = self.prediction
        self.show(f"{self.model.value} picks {p.predicted}; runner-up {p.runner_up}.", figure=True)
        return p

    def show(self, message: str, figure: bool = False) -> None:
        if figure:  # the figure first: once the message says what was done, its figure is on show
            self.show_figure()
        self.status.value = message

    def show_figure(self) -> None:
        if not self.session.symbols:
            show_png(self.image, b"")
            return
        query = self.session.drawing() if self.prediction is not None else None
        show_png(self.image, figure_png(plot_pad(self.session.symbols, query, self.prediction)))

    # -------------------------------------------------------------- where widgets cannot run

    def still_parts(self) -> list[str]:
        names = ", ".join(self.session.symbols) or "none yet"
        parts = [f"<p>{html.escape(f'A drawing pad. Symbols drawn: {names}. {self.status.value}')}</p>"]
        if self.image.value:
            parts.append(still_image(bytes(self.image.value), "The symbols and the query as the model sees them"))
        return parts

    def __repr__(self) -> str:
        return f"DrawingPad(model={self.model.value!r}, symbols={list(self.session.symbols)})"


def drawing_pad(models: Sequence[str], load: Callable[[str], ScorerLike], model: str | None = None) -> DrawingPad:
    """A drawing pad offering ``models`` (names ``load`` turns into scorers), starting with ``model``.

    In a chapter: ``drawing_pad(pretrained.available(), pretrained.load, "prototypical")``.
    Raises ValueError if no model is offered or ``model`` is not among them.
    """
    return DrawingPad(models, load, model)
