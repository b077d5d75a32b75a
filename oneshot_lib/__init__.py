"""oneshot: the library behind the one-shot learning chapters.

Every method is a *scorer*, ``scores(query, support) -> (Q, S)`` similarity; see
``oneshot_lib.evaluate``. The most used names are re-exported here.
"""

import os

# Keep TensorFlow's C++ start-up messages out of notebooks and logs. Set before any module
# imports TensorFlow; a value the user set wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from .data import (  # noqa: E402
    VALIDATION_ALPHABETS,
    LakeRun,
    OmniglotDataError,
    OmniglotSplit,
    load_lake_runs,
    load_omniglot,
    train_validation_split,
)
from .tasks import Task, sample_pair_indices, sample_task, sample_task_indices  # noqa: E402

__all__ = [
    "VALIDATION_ALPHABETS",
    "LakeRun",
    "OmniglotDataError",
    "OmniglotSplit",
    "Task",
    "load_lake_runs",
    "load_omniglot",
    "sample_pair_indices",
    "sample_task",
    "sample_task_indices",
    "train_validation_split",
]
