"""The course's result tables: alignment, unbreakable "±", measured marks kept, rows checked."""

from __future__ import annotations

import numpy as np
import pytest

from oneshot_lib.notebook import MEASURED_MARK
from oneshot_lib.scoring.evaluate import Accuracy
from oneshot_lib.viz.tables import NO_BREAK_SPACE, accuracy_cell, results_table


def test_a_results_table_right_aligns_number_columns_and_keeps_errors_on_one_line():
    table = results_table(["method", "accuracy", "note"], [["MHD", "61.2% ± 3.9%", "a|b"], ["1-NN", "-4.0%", "x"]])
    assert table.data.splitlines() == [
        "| method | accuracy | note |",
        "|:---|---:|:---|",
        f"| MHD | 61.2%{NO_BREAK_SPACE}±{NO_BREAK_SPACE}3.9% | a\\|b |",
        "| 1-NN | -4.0% | x |",
    ]


def test_an_accuracy_cell_marks_a_networks_numbers_and_not_a_rules():
    accuracy = Accuracy.from_tasks(np.array([0.5, 0.7]))
    network, rule = accuracy_cell(accuracy), accuracy_cell(accuracy, network=False)
    assert network.count(MEASURED_MARK) == 4 and MEASURED_MARK not in rule
    assert network.replace(MEASURED_MARK, "") == rule == "60.0% ± 10.0%"
    assert results_table(["a"], [[network]]).data.splitlines()[1] == "|---:|"


def test_a_row_of_the_wrong_length_is_named():
    with pytest.raises(ValueError, match="row 1 has 1 cells but the header has 2"):
        results_table(["a", "b"], [[1, 2], [3]])


def test_placeholders_leave_a_column_of_numbers_right_aligned():
    table = results_table(["method", "ours", "note"], [["people", "-", "-"], ["MHD", "61.2%", "-"]])
    assert table.data.splitlines()[1] == "|:---|---:|:---|"
