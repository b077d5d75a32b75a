"""oneshot: the library behind the one-shot learning chapters.

Every method is a *scorer*, ``scores(query, support) -> (Q, S)`` similarity; see
``oneshot_lib.scoring``. The package is built in layers, each importing only those above it
in this list:

- ``data``: Omniglot and Lake's runs, tasks, pair counting, distortions, index streams;
- ``scoring``: the scorer contract, class rules, evaluation, baselines, test-time shifts,
  measures of embeddings, the benchmarks' committed comparisons;
- ``models``: the networks and their training steps;
- ``training``: configs, the registry of model kinds, run folders, the trainer;
- ``pretrained``, ``train`` and ``classify`` (the command lines) on top.

``viz`` (figures and widgets) reads only ``data`` and ``scoring``. The names a chapter types
stay short: ``from oneshot_lib import evaluate, pretrained`` imports the module of that name
from its subpackage when first used; ``from oneshot_lib import viz`` is the figures' subpackage.
"""

import importlib
import os

# Keep TensorFlow's C++ start-up messages out of notebooks and logs. Set before any module
# imports TensorFlow; a value the user set wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from oneshot_lib.data import (  # noqa: E402
    VALIDATION_ALPHABETS,
    LakeRun,
    OmniglotDataError,
    OmniglotSplit,
    load_lake_runs,
    load_omniglot,
    train_validation_split,
)
from oneshot_lib.data.tasks import Task, sample_pair_indices, sample_task, sample_task_indices  # noqa: E402

#: Short module names a chapter imports, and the subpackage each lives in.
MODULES = {
    **dict.fromkeys(("tasks", "counting", "augment", "streams"), "data"),
    **dict.fromkeys(("evaluate", "baselines", "shifts", "identity", "analysis", "comparisons", "any_image"), "scoring"),
    **dict.fromkeys(
        ("conv4", "backbones", "siamese", "pairs", "episodic", "transfer", "selfsupervised", "masked")
        + ("metalearning", "adaptation", "finetune", "steps"),
        "models",
    ),
    **dict.fromkeys(
        ("config", "kinds", "optimizers", "callbacks", "run_folder", "trainer", "distribute", "records", "loading"),
        "training",
    ),
    **dict.fromkeys(("widgets", "drawing_pad"), "viz"),
}


def __getattr__(name: str):
    if name in MODULES:
        return importlib.import_module(f"oneshot_lib.{MODULES[name]}.{name}")
    raise AttributeError(f"module 'oneshot_lib' has no attribute {name!r}")


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
