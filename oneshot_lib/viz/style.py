"""What every figure shares: its size and type sizes, the colours that mean something, short
alphabet names, grid shapes.

Every figure is drawn for the book's column: at most ``COLUMN_INCHES`` wide, its text at least
``MIN_FONT_POINTS``, shown at ``DISPLAY_DPI`` CSS pixels an inch and rendered at ``DPI``
(``RENDER_SCALE`` pixels per pixel shown), so it is sharp on a high-density screen and never
shrunk. Each plotting function of ``oneshot_lib.viz`` draws inside ``course_figure``'s rc
settings; ``show_figures_sharp`` makes a notebook show figures as the book does.

Diagrams (pictures of how a network works, not plots of measurements) are drawn on a
``DiagramFigure`` and also kept as SVG (``figure_svg``): sharp at any zoom, and the same bytes on
every run and machine, so a notebook's committed output can be compared exactly. Everything
else is shown as PNG only.
"""

from __future__ import annotations

import functools
import io
import re
import textwrap
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TypeVar

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

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


SVG_RC = {"svg.hashsalt": "oneshot", "svg.fonttype": "path", "svg.image_inline": True}
"""SVG settings that make a figure's SVG the same bytes on every run: fixed ids; text drawn as
glyph outlines of the font matplotlib ships, so it looks the same whatever fonts a reader has."""
SVG_METADATA = {"Date": None, "Creator": None}
"""No date and no matplotlib version in a figure's SVG."""


def figure_svg(fig: Figure) -> str:
    """The SVG text of ``fig``, cropped as a notebook crops figures, shown at ``DISPLAY_DPI``.

    The same figure gives the same bytes in every process: element ids come from a fixed salt,
    the date and the creator are left out, text is drawn as paths. The size is given in CSS
    pixels (``DISPLAY_DPI`` an inch), so an SVG figure shows as large as a PNG one of the same
    inches.
    """
    buffer = io.StringIO()
    with plt.rc_context(SVG_RC):
        fig.savefig(buffer, format="svg", bbox_inches="tight", dpi=DPI, metadata=SVG_METADATA)
    text = buffer.getvalue()

    def in_pixels(match: re.Match) -> str:
        return f'{match[1]}="{float(match[2]) * DISPLAY_DPI / 72:.2f}px"'

    start = text.index("<svg")
    end = text.index(">", start)
    tag = re.sub(r'(width|height)="([\d.]+)pt"', in_pixels, text[start:end])
    return text[:start] + tag + text[end:]


class DiagramFigure(Figure):
    """A Figure of a diagram: a notebook keeps it as SVG (``figure_svg``) beside the usual PNG.

    JupyterLab and the book show the SVG; JupyterLab renders no SVG of a notebook it does not
    trust (a fresh clone, say) and shows the PNG there instead. nbval skips PNG outputs and
    compares the SVG, which is the same bytes on every machine. Make one with
    ``plt.subplots(..., FigureClass=DiagramFigure)``. Data figures stay plain Figures, PNG only:
    their pixels come from measurements, whose last digits differ between machines.
    """

    def _repr_svg_(self) -> str:
        return figure_svg(self)


def show_figures_sharp() -> bool:
    """In an IPython kernel with the inline backend, show figures as the book does: rendered at
    ``DPI``, shown at ``DISPLAY_DPI`` (the inline backend's "retina" PNGs, whose metadata give
    the displayed size), and diagrams (``DiagramFigure``) as SVG too. A format the user chose
    (anything but the default PNG) is kept.

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


DISPLAY_NAMES = {"Ge_ez": "Ge'ez"}
"""Alphabet folder names whose underscore stands for something else than a space."""


def alphabet_name(name: str) -> str:
    """The name of an alphabet as a reader writes it, from its Omniglot folder name.

    ``Old_Church_Slavonic_(Cyrillic)`` becomes ``Old Church Slavonic (Cyrillic)``, ``Ge_ez``
    becomes ``Ge'ez``. Every figure, explorer and table names alphabets through this function.
    """
    name = str(name)
    return DISPLAY_NAMES.get(name, name.replace("_", " "))


def alphabet_labels(names: Sequence[str]) -> list[str]:
    """Short display names for alphabet folder names, for crowded axes.

    Each is ``alphabet_name``'s, less a parenthesised qualifier, unless it is what tells two of
    ``names`` apart: ``Inuktitut_(Canadian_Aboriginal_Syllabics)`` becomes ``Inuktitut``, but
    ``Japanese_(hiragana)`` and ``Japanese_(katakana)`` keep theirs.
    """
    bare = [re.sub(r"_\(.*\)$", "", name) for name in names]
    counts = Counter(bare)
    chosen = [short if counts[short] == 1 else name for name, short in zip(names, bare, strict=True)]
    return [alphabet_name(name) for name in chosen]


def character_name(name: str) -> str:
    """A character's folder name as a reader reads it: ``character07`` (or ``character 07``) becomes ``character 7``.

    Omniglot numbers the characters of an alphabet from 1; so does every figure of the course.
    """
    match = re.fullmatch(r"character\s*0*(\d+)", str(name))
    return f"character {match[1]}" if match else str(name)


def legend_outside(ax, *, below: bool = True, ncols: int = 1, **kwargs):
    """The legend of ``ax`` outside its frame, centred under its tick labels and x label (or above
    its title), so it covers no data whatever the data. Call it once the axes are labelled;
    ``tight_layout`` then makes room for it. Returns the Legend."""
    renderer = ax.figure.canvas.get_renderer()
    if below:
        reach = ax.bbox.y0 - ax.xaxis.get_tightbbox(renderer).y0  # pixels the ticks and label take
    else:
        reach = ax.title.get_window_extent(renderer).y1 - ax.bbox.y1 if ax.get_title() else 0.0
    pad = max(0.0, reach) * 72 / ax.figure.dpi / plt.rcParams["legend.fontsize"] + 0.4  # in font sizes
    return ax.legend(
        loc="upper center" if below else "lower center",
        bbox_to_anchor=(0.5, 0.0 if below else 1.0),
        borderaxespad=pad,
        ncols=ncols,
        frameon=False,
        **kwargs,
    )


def grid_shape(n: int) -> tuple[int, int]:
    """(rows, columns) of the squarest grid with at least n cells, columns >= rows."""
    n_cols = int(np.ceil(np.sqrt(n)))
    return int(np.ceil(n / n_cols)), n_cols
