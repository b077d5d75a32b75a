"""The run config knows no model: its own defaults and bounds are the models' and the scoring layer's."""

from __future__ import annotations

import ast
from pathlib import Path

from oneshot_lib.models import masked, selfsupervised, siamese
from oneshot_lib.scoring import shifts
from oneshot_lib.training import config as config_module
from oneshot_lib.training.config import TrainingConfig


def test_the_config_defaults_are_the_models_defaults():
    defaults = TrainingConfig()
    assert (defaults.l2_conv, defaults.l2_dense) == (siamese.L2_CONV, siamese.L2_DENSE)
    assert defaults.temperature == selfsupervised.TEMPERATURE
    assert (defaults.mask_ratio, defaults.patch_size) == (masked.MASK_RATIO, masked.PATCH_SIZE)


def test_the_largest_test_time_shift_is_the_scoring_layers():
    assert config_module.MAX_TEST_SHIFTS == shifts.MAX_SHIFT
    assert f"at most {shifts.MAX_SHIFT}" in TrainingConfig.__dataclass_fields__["test_shifts"].metadata["help"]


def test_the_config_module_imports_nothing_of_the_library():
    tree = ast.parse(Path(config_module.__file__).read_text())
    imported = [
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module.startswith("oneshot")
    ]
    imported += [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name.startswith("oneshot")
    ]
    assert imported == []
