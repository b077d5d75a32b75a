"""The chapters' one-line checks and measured values: what they print, what nbval compares, and that checks fail
loudly."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from nbval.plugin import get_sanitize_patterns

from oneshot_lib.notebook import MEASURED_MARK, check, measured
from oneshot_lib.scoring.evaluate import Accuracy


def test_check_prints_label_and_value_and_returns_nothing(capsys):
    assert check("pixel 1-NN", 0.19, between=(0.15, 0.25)) is None
    assert capsys.readouterr().out == "pixel 1-NN: 19.0%\n"


def test_check_takes_numpy_numbers(capsys):
    check("share", np.float64(0.25), below=np.float32(0.5))
    check("count", np.int64(7), equals="7", fmt="d")
    assert capsys.readouterr().out.splitlines()[1] == "count: 7"


def test_check_shows_an_accuracy_and_checks_its_mean(capsys):
    accuracy = Accuracy.from_tasks(np.array([0.5, 0.7]))
    check("siamese", accuracy, above=0.55)
    assert capsys.readouterr().out == f"siamese: {accuracy}\n"


def test_check_formats_other_numbers_and_compares_printed_figures(capsys):
    check("pairs", 183_160, equals=183_160, fmt=",d")
    check("MHD", 0.6124, equals="61.2%")
    assert capsys.readouterr().out.splitlines() == [
        "pairs: 183,160",
        "MHD: 61.2%",
    ]


@pytest.mark.parametrize(
    "bounds",
    [{"between": (0.2, 0.3)}, {"above": 0.19}, {"below": 0.1}, {"equals": "19.1%"}, {"above": 0.1, "below": 0.15}],
)
def test_check_fails_with_the_value_and_the_bound(bounds, capsys):
    with pytest.raises(AssertionError, match=r"pixel 1-NN: 19\.0%, expected"):
        check("pixel 1-NN", 0.19, **bounds)
    assert capsys.readouterr().out == ""


def test_check_without_a_bound_is_refused():
    with pytest.raises(ValueError, match="needs a bound"):
        check("nothing", 1.0)


# ------------------------------------------------------------------ values measured from training

SANITIZE_FILE = Path(__file__).parent / "nbval_sanitize.cfg"


def sanitized(text: str) -> str:
    """``text`` as nbval compares it, after every rule of the sanitize file."""
    for pattern, replacement in get_sanitize_patterns(SANITIZE_FILE.read_text(encoding="utf-8")):
        text = re.sub(pattern, replacement, text)
    return text


def test_a_measured_value_prints_as_itself_between_invisible_marks():
    shown = f"best {measured(0.4123):.1%} after {measured(3)} epochs"
    assert shown.replace(MEASURED_MARK, "") == "best 41.2% after 3 epochs"
    assert shown.count(MEASURED_MARK) == 4
    assert str(measured(Accuracy.from_tasks(np.array([0.5, 0.7])))).startswith(MEASURED_MARK + "60.0% ±")


def test_the_sanitize_file_masks_measured_values_and_nothing_around_them():
    on_one_cpu = f"accuracy {measured(0.412):.1%} ± {measured(0.008):.1%} on 320 tasks (chance 5%)"
    on_another = f"accuracy {measured(0.416):.1%} ± {measured(0.007):.1%} on 320 tasks (chance 5%)"
    assert on_one_cpu != on_another
    assert sanitized(on_one_cpu) == sanitized(on_another) == "accuracy MEASURED ± MEASURED on 320 tasks (chance 5%)"
    assert sanitized(f"{measured(0.4):.1%} on 320 tasks") != sanitized(f"{measured(0.4):.1%} on 321 tasks")


def test_padding_applies_to_the_value_not_the_marks():
    assert f"{measured(0.5):>8.1%}".replace(MEASURED_MARK, "") == f"{0.5:>8.1%}"


def test_check_marks_a_measured_value_and_bound_and_checks_them(capsys):
    check("best", measured(0.41), above=measured(0.3))
    line = capsys.readouterr().out
    assert line.replace(MEASURED_MARK, "") == "best: 41.0%\n"
    assert sanitized(line) == "best: MEASURED\n"
    with pytest.raises(AssertionError, match="expected below"):
        check("best", measured(0.41), below=0.3)
    check("best", measured(Accuracy.from_tasks(np.array([0.5, 0.7]))), between=(measured(0.5), 0.7))
    assert sanitized(capsys.readouterr().out) == "best: MEASURED\n"
