"""What every figure shares: its size and type sizes, the colours that mean something, short
alphabet names, grid shapes.

Every figure is drawn for the book's column: at most ``COLUMN_INCHES`` wide, its text at least
``MIN_FONT_POINTS``, shown at ``DISPLAY_DPI`` CSS pixels an inch and rendered at ``DPI``
(``RENDER_SCALE`` pixels per pixel shown), so it is sharp on a high-density screen and never
shrunk. Each plotting function of ``oneshot_lib.viz`` draws inside ``course_figure``'s rc
settings; ``show_figures_sharp`` makes a notebook show figures as the book does.
"""

from __future__ import annotations

import functools
import re
import textwrap
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TypeVar

import matplotlib.pyplot as plt
import numpy as np

COLUMN_INCHES = 7.4
"""The widest a figure may be, as saved (with its padding): the book's column at DISPLAY_DPI."""
FIGURE_INCHES = 7.2
"""The width of a full-column figure: the column less the padding a tight saved figure adds."""
DISPLAY_DPI = 100
"""CSS pixels per inch at which figures are shown, in the book as in JupyterLab."""
RENDER_SCALE = 2
"""Pixels drawn per CSS pixel shown, so a figure is sharp on a high-density screen."""
DPI = DISPLAY_DPI * RENDER_SCALE
"""Pixels per inch a figure is rendered at: 200."""
MIN_FONT_POINTS = 9.0
"""The smallest text in any figure, in points: 12.5 CSS pixels as shown."""
SMALL_POINTS = MIN_FONT_POINTS
"""Tick labels, legends, panel titles, labels inside a plot."""
TEXT_POINTS = 10.0
"""Axis labels and most text."""
TITLE_POINTS = 11.0
"""Figure and axes titles."""

COURSE_RC = {
    "figure.dpi": DISPLAY_DPI,
    "savefig.dpi": DPI,
    "font.size": TEXT_POINTS,
    "axes.titlesize": TITLE_POINTS,
    "axes.labelsize": TEXT_POINTS,
    "xtick.labelsize": SMALL_POINTS,
    "ytick.labelsize": SMALL_POINTS,
    "legend.fontsize": SMALL_POINTS,
    "legend.title_fontsize": SMALL_POINTS,
    "figure.titlesize": TITLE_POINTS,
    "figure.figsize": (FIGURE_INCHES, 4.0),
}
"""The matplotlib settings every figure of the course is drawn with."""

Drawn = TypeVar("Drawn", bound=Callable)


def course_figure(function: Drawn) -> Drawn:
    """Decorate a plotting function so that it draws with ``COURSE_RC``, whatever the caller's settings."""

    @functools.wraps(function)
    def drawn(*args, **kwargs):
        with plt.rc_context(COURSE_RC):
            return function(*args, **kwargs)

    return drawn  # type: ignore[return-value]


def show_figures_sharp() -> bool:
    """In an IPython kernel with the inline backend, show figures as the book does: rendered at
    ``DPI``, shown at ``DISPLAY_DPI`` (the inline backend's "retina" PNGs, whose metadata give
    the displayed size). A format the user chose (anything but the default PNG) is kept.

    Returns whether notebook figures are now shown so. Outside IPython it does nothing.
    """
    try:
        from IPython import get_ipython
        from matplotlib_inline.config import InlineBackend
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    config = InlineBackend.instance(parent=shell)
    if config.figure_formats == {"png"}:
        config.shell = shell
        config.figure_formats = {"retina"}  # kept when the inline backend starts later
    return "retina" in config.figure_formats


def wrap(text: str, width_inches: float, points: float = TEXT_POINTS) -> str:
    """``text`` broken into lines that fit ``width_inches`` at ``points`` (a glyph taken as 0.6 em wide)."""
    return textwrap.fill(text, max(8, int(width_inches * 72 / (0.6 * points))))


def balanced_grid(n: int, most_columns: int) -> tuple[int, int]:
    """(rows, columns) for n panels with at most ``most_columns`` columns, rows as full as can be:
    8 panels in at most 5 columns make 2 rows of 4, not 5 and 3."""
    rows = int(np.ceil(n / max(1, most_columns)))
    return rows, int(np.ceil(n / rows))


ANSWER_COLOR = "tab:green"  # the right answer, or a same-character pair
WRONG_COLOR = "tab:red"  # a wrong pick, or a different-character pair
QUERY_COLOR = "black"
HIGHLIGHT_COLOR = "tab:orange"
PICK_COLOR = "tab:blue"  # a scorer's pick, where right and wrong are not to be shown
SHIFTED_COLOR = "tab:orange"  # a shifted copy of a drawing
ORIGINAL_COLOR = "tab:blue"  # the drawing it was shifted from
HIDDEN_COLOR = "#ffd9a8"  # light orange: the hidden patches of masked prediction, behind the ink
QUIET_FRAME = "0.8"  # the thin grey frame of a drawing that is not marked


def alphabet_labels(names: Sequence[str]) -> list[str]:
    """Short display names for alphabet folder names, for crowded axes.

    Underscores become spaces and a parenthesised qualifier is dropped, unless it is what tells
    two of ``names`` apart: ``Inuktitut_(Canadian_Aboriginal_Syllabics)`` becomes ``Inuktitut``,
    but ``Japanese_(hiragana)`` and ``Japanese_(katakana)`` keep theirs.
    """
    bare = [re.sub(r"_\(.*\)$", "", name) for name in names]
    counts = Counter(bare)
    chosen = [short if counts[short] == 1 else name for name, short in zip(names, bare, strict=True)]
    return [name.replace("_", " ") for name in chosen]


def grid_shape(n: int) -> tuple[int, int]:
    """(rows, columns) of the squarest grid with at least n cells, columns >= rows."""
    n_cols = int(np.ceil(np.sqrt(n)))
    return int(np.ceil(n / n_cols)), n_cols
