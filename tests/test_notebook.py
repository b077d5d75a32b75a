"""The chapters' one-line checks: what they print, and that they fail loudly."""

from __future__ import annotations

import numpy as np
import pytest

from oneshot_lib.evaluate import Accuracy
from oneshot_lib.notebook import check


def test_check_prints_value_and_bound_and_returns_nothing(capsys):
    assert check("pixel 1-NN", 0.19, between=(0.15, 0.25)) is None
    assert capsys.readouterr().out == "pixel 1-NN: 19.0% (checked: between 15.0% and 25.0%)\n"


def test_check_takes_numpy_numbers(capsys):
    check("share", np.float64(0.25), below=np.float32(0.5))
    check("count", np.int64(7), equals="7", fmt="d")
    assert capsys.readouterr().out.splitlines()[1] == "count: 7 (checked: = 7)"


def test_check_shows_an_accuracy_and_checks_its_mean(capsys):
    accuracy = Accuracy.from_tasks(np.array([0.5, 0.7]))
    check("siamese", accuracy, above=0.55)
    assert capsys.readouterr().out == f"siamese: {accuracy} (checked: above 55.0%)\n"


def test_check_formats_other_numbers_and_compares_printed_figures(capsys):
    check("pairs", 183_160, equals=183_160, fmt=",d")
    check("MHD", 0.6124, equals="61.2%")
    assert capsys.readouterr().out.splitlines() == [
        "pairs: 183,160 (checked: = 183,160)",
        "MHD: 61.2% (checked: = 61.2%)",
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
