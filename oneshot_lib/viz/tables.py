"""The course's result tables: Markdown tables whose numbers read as numbers.

A chapter shows a table of results with ``viz.results_table(header, rows)``. It renders as a
real table in JupyterLab and in the book, right-aligns the columns that hold numbers, and keeps
a value and its error together (``61.2% ± 3.9%`` never breaks over lines). Cells are formatted
by the caller, so a measured value keeps its ``measured(...)`` mark; ``accuracy_cell`` formats an
``evaluate.Accuracy`` the course's way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from IPython.display import Markdown

from oneshot_lib.notebook import MEASURED_MARK, measured
from oneshot_lib.scoring.evaluate import Accuracy

NO_BREAK_SPACE = "\u00a0"
NO_VALUE = frozenset({"", "-", "–", "—", "not measured"})  # placeholders, aligned with either
_NUMBER_START = re.compile(rf"^[{MEASURED_MARK}]?[-+−]?[0-9.]")


def accuracy_cell(accuracy: Accuracy, *, network: bool = True) -> str:
    """``"61.2% ± 3.9%"`` for ``accuracy``; its numbers marked ``measured`` when a network computed them.

    Scores of a trained network differ in their last digits from one CPU to another; scores of a
    fixed rule (pixel 1-NN, MHD) do not, so ``network=False`` leaves them unmarked.
    """
    mark = measured if network else (lambda value: value)
    return f"{mark(accuracy.mean):.1%} ± {mark(accuracy.stderr):.1%}"


def results_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> Markdown:
    """A Markdown table with ``header`` (n strings) over ``rows`` (each n cells, any printable value).

    A column whose cells all start with a number is right-aligned, placeholders for no value
    (``""``, ``"-"``, ``"not measured"``) aside; the others are left-aligned.
    Raises ValueError if a row's length differs from the header's, naming the row.
    """
    cells = [[_cell_text(cell) for cell in row] for row in rows]
    for index, row in enumerate(cells):
        if len(row) != len(header):
            raise ValueError(f"row {index} has {len(row)} cells but the header has {len(header)}: {row}")
    numeric = [_holds_numbers([row[column] for row in cells]) for column in range(len(header))]
    lines = [
        "| " + " | ".join(_cell_text(name) for name in header) + " |",
        "|" + "|".join("---:" if right else ":---" for right in numeric) + "|",
        *("| " + " | ".join(row) + " |" for row in cells),
    ]
    return Markdown("\n".join(lines))


def _holds_numbers(column: list[str]) -> bool:
    """Whether ``column``'s cells, placeholders aside, are all numbers (and at least one is)."""
    values = [text for text in column if text.strip() not in NO_VALUE]
    return bool(values) and all(_NUMBER_START.match(text) for text in values)


def _cell_text(value: object) -> str:
    """``value`` as one table cell: ``|`` escaped, and the spaces around ``±`` made unbreakable."""
    return str(value).replace("|", r"\|").replace(" ± ", f"{NO_BREAK_SPACE}±{NO_BREAK_SPACE}")
