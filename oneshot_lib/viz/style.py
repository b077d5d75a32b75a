"""What every figure shares: the colours that mean something, short alphabet names, grid shapes."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

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
