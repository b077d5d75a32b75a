"""The data layer: Omniglot and Lake's runs, tasks drawn from them, pair counting, distortions.

Its modules: ``archives`` (finding, downloading, verifying and reading the official archives),
``cache`` (the decoded cache), ``omniglot`` (``OmniglotSplit`` and its loader), ``lake`` (Lake's
runs), ``seeds``, ``tasks``, ``counting``, ``augment`` and ``streams``. The loaders are
re-exported here (``from oneshot_lib.data import load_omniglot``).
"""

from oneshot_lib.data.archives import LAKE_RUNS, SPLITS, OmniglotDataError
from oneshot_lib.data.lake import LakeRun, lake_run_drawings, load_lake_runs
from oneshot_lib.data.omniglot import VALIDATION_ALPHABETS, OmniglotSplit, load_omniglot, train_validation_split
from oneshot_lib.data.seeds import seeded_generator

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
