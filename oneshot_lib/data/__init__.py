"""The data layer: Omniglot and Lake's runs, tasks drawn from them, pair counting, distortions.

The loaders are re-exported here (``from oneshot_lib.data import load_omniglot``).
"""

from oneshot_lib.data.omniglot import (
    LAKE_RUNS,
    SPLITS,
    VALIDATION_ALPHABETS,
    LakeRun,
    OmniglotDataError,
    OmniglotSplit,
    lake_run_drawings,
    load_lake_runs,
    load_omniglot,
    seeded_generator,
    train_validation_split,
)

__all__ = [
    "LAKE_RUNS",
    "SPLITS",
    "VALIDATION_ALPHABETS",
    "LakeRun",
    "OmniglotDataError",
    "OmniglotSplit",
    "lake_run_drawings",
    "load_lake_runs",
    "load_omniglot",
    "seeded_generator",
    "train_validation_split",
]
