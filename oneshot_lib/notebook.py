"""Helpers for the chapters: showing library source, marking measured values, checking a claim in one
line, quiet seeded set-up."""

from __future__ import annotations

import inspect
import random

import numpy as np


def show_source(obj) -> None:
    """Display the source of a library function or class, syntax-highlighted.

    Chapters call this instead of copying code into a cell, so what the reader reads is what
    runs. Outside IPython it prints plain text.
    """
    source = inspect.getsource(obj)
    try:
        from IPython.display import Code, display
    except ImportError:
        print(source)
        return
    display(Code(source, language="python"))


MEASURED_MARK = "\u2063"  # INVISIBLE SEPARATOR: prints as nothing, so only the test sees it


class Measured:
    """A value that depends on the order of floating-point sums, marked wherever it is formatted.

    Anything a network computes (trained weights, their scores, accuracies measured with them,
    timings) comes out slightly differently on another CPU, another oneDNN kernel or another
    thread count. A chapter prints such a value as ``f"{measured(accuracy):.1%}"``: the reader sees
    the number as usual, framed by two invisible ``MEASURED_MARK`` characters, and one rule of
    ``tests/nbval_sanitize.cfg`` masks what lies between them before nbval compares outputs. The
    claim the number supports is then checked by a bound (``check``), which holds on every CPU.
    """

    def __init__(self, value) -> None:
        self.value = value

    def __format__(self, spec: str) -> str:
        return f"{MEASURED_MARK}{format(self.value, spec)}{MEASURED_MARK}"

    def __str__(self) -> str:
        return f"{MEASURED_MARK}{self.value}{MEASURED_MARK}"

    def __repr__(self) -> str:
        return f"measured({self.value!r})"


def measured(value) -> Measured:
    """Mark ``value`` (a number, an ``evaluate.Accuracy``, anything printable) as measured; see ``Measured``."""
    return value if isinstance(value, Measured) else Measured(value)


def unmarked(value) -> tuple:
    """``(value, measured)`` for a ``Measured`` value, ``(value, identity)`` for any other."""
    if isinstance(value, Measured):
        return value.value, measured
    return value, lambda plain: plain


def check(
    label: str,
    value,
    *,
    between: tuple[float, float] | None = None,
    above: float | None = None,
    below: float | None = None,
    equals=None,
    fmt: str = ".1%",
) -> None:
    """Print ``label: value``; raise AssertionError, naming the bound, if ``value`` does not meet it.

    The reader sees the number and what it is; the bound stays in the cell's code, where CI holds
    the chapter's claim to it.

    ``value`` is a number, or anything with ``mean`` (an ``evaluate.Accuracy``, whose ``str`` is
    shown and whose mean is checked). ``between=(low, high)`` means low < value < high; ``above``
    and ``below`` are strict bounds; ``equals`` compares exactly (after formatting with ``fmt``
    when it is a string, so ``equals="61.2%"`` checks the printed figure). Bounds are formatted
    with ``fmt``. A ``measured`` value or bound is shown marked (see ``Measured``) and checked as itself.
    Returns None, so a check at the end of a cell adds nothing to its output.

    Raises ValueError if no bound is given: a check that checks nothing is a print.
    """
    value, mark = unmarked(value)
    is_accuracy = not callable(getattr(value, "mean", callable))  # numpy numbers have a mean() method
    number = float(value.mean if is_accuracy else value)
    plain = number if is_accuracy else value  # an int keeps integer formats such as ",d"
    shown = str(mark(value)) if is_accuracy else format(mark(value), fmt)
    conditions = []
    if between is not None:
        (low, mark_low), (high, mark_high) = unmarked(between[0]), unmarked(between[1])
        text = f"between {mark_low(low):{fmt}} and {mark_high(high):{fmt}}"
        conditions.append((low < number < high, text))
    if above is not None:
        above, mark_above = unmarked(above)
        conditions.append((number > above, f"above {mark_above(above):{fmt}}"))
    if below is not None:
        below, mark_below = unmarked(below)
        conditions.append((number < below, f"below {mark_below(below):{fmt}}"))
    if equals is not None:
        if isinstance(equals, str):
            conditions.append((format(plain, fmt) == equals, f"= {equals}"))
        else:
            conditions.append((number == equals, f"= {equals:{fmt}}"))
    if not conditions:
        raise ValueError(f"check({label!r}) needs a bound: between, above, below or equals")
    bound = ", ".join(text for _, text in conditions)
    if not all(ok for ok, _ in conditions):
        raise AssertionError(f"{label}: {shown}, expected {bound}")
    print(f"{label}: {shown}")


def seed_everything(seed: int = 0) -> None:
    """Seed Python's, numpy's global and (if it is imported) TensorFlow's generators.

    The library itself takes explicit ``rng``/``seed`` arguments; this covers the rest,
    such as Keras weight initialisers and dropout.
    """
    random.seed(seed)
    np.random.seed(seed)
    import sys

    if "keras" in sys.modules or "tensorflow" in sys.modules:
        import keras

        keras.utils.set_random_seed(seed)


def quiet_tensorflow() -> None:
    """Import TensorFlow without its start-up noise, and keep its Python loggers quiet.

    Call it before anything imports TensorFlow or Keras (see ``oneshot_lib.backend``).
    """
    from oneshot_lib import backend  # noqa: F401  (the import does the work)

    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:
        pass
