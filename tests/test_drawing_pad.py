"""The drawing pad, driven without a browser: strokes, symbols, the model's pick, and the widget's wiring."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from oneshot_lib.scoring.baselines import PixelNearestNeighbour
from oneshot_lib.viz.drawing_pad import PAD_SIZE, DrawingPad, PadSession, drawing_pad, plot_pad, strokes_image

matplotlib.use("Agg")

#: Three symbols drawn as a learner would, in pad pixels: a cross, a ring-ish square, a caret.
SYMBOLS = {
    "cross": [[(60, 60), (220, 220)], [(220, 60), (60, 220)]],
    "box": [[(70, 70), (210, 70), (210, 210), (70, 210), (70, 70)]],
    "caret": [[(50, 220), (140, 60), (230, 220)]],
}


def shifted(strokes, dx: float, dy: float, scale: float = 1.0):
    """The strokes moved by (dx, dy) and scaled about the pad's centre: the same symbol drawn again."""
    centre = PAD_SIZE / 2
    return [[(centre + scale * (x - centre) + dx, centre + scale * (y - centre) + dy) for x, y in s] for s in strokes]


def draw(target: PadSession | DrawingPad, strokes) -> None:
    """Draw ``strokes`` with the pen, on a session or on the widget: down at the first point, through the rest, up."""
    if isinstance(target, PadSession):
        down, move, up = target.pen_down, target.pen_move, target.pen_up
    else:
        down, move, up = target.press, target.move, target.lift
    for stroke in strokes:
        down(*stroke[0])
        for point in stroke[1:]:
            move(*point)
        up()


class CountingLoader:
    """``load(name)`` for the pad: pixel nearest neighbour under any name, counting the loads."""

    def __init__(self):
        self.loaded: list[str] = []

    def __call__(self, name: str):
        self.loaded.append(name)
        return PixelNearestNeighbour()


# ------------------------------------------------------------------ strokes to an image


def test_a_stroke_is_a_line_of_the_pens_width_with_round_ends_and_a_point_is_a_dot():
    ink = strokes_image([[(20, 50), (80, 50)]], size=100, pen=10)
    assert ink.shape == (100, 100) and ink.dtype == bool
    assert ink[46:55, 20:81].all() and not ink[:44].any() and not ink[57:].any()
    assert ink[50, 16] and not ink[50, 13]  # the round end reaches half the pen past the point
    dot = strokes_image([[(50, 50)]], size=100, pen=10)
    assert dot[50, 46:55].all() and dot.sum() == pytest.approx(np.pi * 25, rel=0.25)
    assert not strokes_image([], size=100).any()


# ------------------------------------------------------------------ the session: strokes, undo, symbols


def test_undo_and_clear_take_back_strokes_and_the_pen_only_draws_while_down():
    session = PadSession()
    assert session.pen_move(10, 10) is None  # the pen is up: nothing drawn
    draw(session, SYMBOLS["cross"])
    assert len(session.strokes) == 2
    assert session.undo() and len(session.strokes) == 1
    session.clear()
    assert session.strokes == [] and not session.undo()
    with pytest.raises(ValueError, match="the pad is empty: draw something first"):
        session.drawing()


def test_symbols_are_named_in_turn_or_as_given_and_the_pad_clears_for_the_next():
    session = PadSession()
    draw(session, SYMBOLS["cross"])
    assert session.add_symbol() == "A" and session.strokes == []
    draw(session, SYMBOLS["box"])
    assert session.add_symbol("  box ") == "box"
    draw(session, SYMBOLS["caret"])
    with pytest.raises(ValueError, match="there is a symbol 'box' already"):
        session.add_symbol("box")
    assert len(session.strokes) == 1, "a refused symbol leaves the pad as it was"
    assert session.add_symbol() == "B"
    assert list(session.symbols) == ["A", "box", "B"]
    assert all(d.shape == (105, 105) and d.dtype == bool for d in session.symbols.values())
    assert session.remove_last_symbol() == "B" and session.next_name() == "B"
    with pytest.raises(ValueError, match="the pad is empty"):
        session.add_symbol()


def test_a_symbol_drawn_again_elsewhere_and_smaller_is_named():
    session = PadSession()
    for name, strokes in SYMBOLS.items():
        draw(session, strokes)
        session.add_symbol(name)
    for name, strokes in SYMBOLS.items():
        session.clear()
        draw(session, shifted(strokes, dx=-30, dy=25, scale=0.6))
        prediction = session.classify(PixelNearestNeighbour())
        assert prediction.predicted == name
        assert prediction.query == "the drawing" and list(prediction.scores) == list(SYMBOLS)


def test_classifying_needs_two_symbols_and_a_drawing():
    session = PadSession()
    with pytest.raises(ValueError, match="there are 0 symbols: add at least 2"):
        session.classify(PixelNearestNeighbour())
    draw(session, SYMBOLS["cross"])
    session.add_symbol()
    with pytest.raises(ValueError, match="there is 1 symbol: add at least 2"):
        session.classify(PixelNearestNeighbour())
    draw(session, SYMBOLS["box"])
    session.add_symbol()
    with pytest.raises(ValueError, match="the pad is empty"):
        session.classify(PixelNearestNeighbour())


def test_the_figure_shows_symbols_query_and_scores():
    session = PadSession()
    for name, strokes in SYMBOLS.items():
        draw(session, strokes)
        session.add_symbol(name)
    assert len(plot_pad(session.symbols).axes) == 3
    draw(session, SYMBOLS["box"])
    prediction = session.classify(PixelNearestNeighbour())
    fig = plot_pad(session.symbols, session.drawing(), prediction)
    assert len(fig.axes) == 5  # three symbols, the query, the bars
    assert [t.get_text() for t in fig.axes[-1].get_xticklabels()] == list(SYMBOLS)


# ------------------------------------------------------------------ the widget's wiring


def frontend(pad: DrawingPad, event: str, **content) -> None:
    """Send the canvas an event as the browser does (mouse: x, y; touch: a list of touches)."""
    pad.canvas._handle_frontend_event(None, {"event": event, **content}, None)


def test_the_pad_draws_with_mouse_and_touch_events_and_its_buttons_work():
    loader = CountingLoader()
    pad = drawing_pad(["first", "second"], loader, model="second")
    assert pad.status.value.startswith("Draw a symbol on the pad")
    frontend(pad, "mouse_down", x=60, y=60)
    frontend(pad, "mouse_move", x=220, y=220)
    frontend(pad, "mouse_up", x=220, y=220)
    frontend(pad, "mouse_move", x=10, y=220)  # the button is up: no line
    frontend(pad, "touch_start", touches=[{"x": 220, "y": 60}])
    frontend(pad, "touch_move", touches=[{"x": 60, "y": 220}])
    frontend(pad, "touch_end", touches=[])
    assert pad.session.strokes == SYMBOLS["cross"]
    pad.add.click()
    assert list(pad.session.symbols) == ["A"] and pad.session.strokes == []
    assert pad.status.value == "Added symbol A; 1 so far: add another." and pad.name.placeholder == "B"
    pad.classify.click()
    assert pad.status.value == "Cannot classify yet: there is 1 symbol: add at least 2 before classifying a drawing."
    draw(pad, SYMBOLS["box"])
    pad.name.value = "box"
    pad.add.click()
    assert list(pad.session.symbols) == ["A", "box"] and pad.name.value == ""
    draw(pad, shifted(SYMBOLS["cross"], 20, -20, 0.7))
    draw(pad, [[(5, 5), (6, 6)]])
    pad.undo.click()  # takes back the stray stroke
    pad.classify.click()
    assert pad.prediction.predicted == "A" and pad.status.value == "second picks A; runner-up box."
    assert loader.loaded == ["second"] and pad.image.value
    pad.model.value = "first"  # another model scores the drawing again
    assert loader.loaded == ["second", "first"] and pad.status.value.startswith("first picks A")
    pad.model.value = "second"
    assert loader.loaded == ["second", "first"], "a model is loaded once"
    pad.remove.click()
    assert list(pad.session.symbols) == ["A"] and pad.prediction is None
    pad.clear.click()
    assert pad.session.strokes == []


def test_the_still_picture_says_what_was_drawn_and_how_to_run_it():
    pad = drawing_pad(["model"], CountingLoader())
    for strokes in SYMBOLS.values():
        pad.draw_strokes(strokes)
        pad.add_symbol()
    pad.draw_strokes(SYMBOLS["caret"])
    pad.run_model()
    still = pad.still_html()
    assert "A drawing pad. Symbols drawn: A, B, C. model picks C; runner-up" in still
    assert still.count("<img ") == 1 and "jupyter lab chapters/" in still
    assert repr(pad) == "DrawingPad(model='model', symbols=['A', 'B', 'C'])"
    assert "text/html" in pad._repr_mimebundle_()


@pytest.mark.parametrize(
    ("models", "model", "message"), [([], None, "no model to offer"), (["a"], "b", "model 'b' is not among")]
)
def test_a_pad_needs_a_model_among_those_offered(models, model, message):
    with pytest.raises(ValueError, match=message):
        drawing_pad(models, CountingLoader(), model)
