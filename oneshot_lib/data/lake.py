"""Lake's official one-shot benchmark: 20 runs of 20-way one-shot classification, 400 trials.

``all_runs.zip`` is found like the split archives (see ``archives``). Its images are drawings
of 10 evaluation alphabets; ``lake_run_drawings`` says which drawing of the evaluation split each is.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from oneshot_lib.data.archives import LAKE_RUNS, OmniglotDataError, decode_member, find_archive, open_zip, read_member
from oneshot_lib.data.omniglot import OmniglotSplit

N_LAKE_RUNS = 20
LAKE_RUN_SIZE = 20


@dataclass(frozen=True)
class LakeRun:
    """One of Lake's 20-way one-shot runs.

    Attributes:
        support: (20, 105, 105) bool, the training images, one per class, sorted by file name.
        query: (20, 105, 105) bool, the test images, sorted by file name.
        answers: (20,) int, for each query the index into ``support`` of its class.
    """

    support: np.ndarray
    query: np.ndarray
    answers: np.ndarray


def load_lake_runs(data_dir: str | os.PathLike | None = None, *, download: bool | None = None) -> list[LakeRun]:
    """Lake's 20 official runs of 20-way one-shot classification (400 trials).

    Pairs test and training files as the official ``demo_classification.py`` does: both lists
    sorted by file name, and each sorted test file's answer read from ``class_labels.txt``.

    Raises FileNotFoundError or OmniglotDataError as ``load_omniglot`` does.
    """
    archive = find_archive(LAKE_RUNS, data_dir, download)
    with open_zip(archive) as zipped:
        return [_read_lake_run(zipped, archive, f"run{number:02d}") for number in range(1, N_LAKE_RUNS + 1)]


def _read_lake_run(archive: zipfile.ZipFile, path: Path, run: str) -> LakeRun:
    try:
        labels = read_member(archive, path, f"{run}/class_labels.txt").decode()
    except KeyError as error:
        raise OmniglotDataError(
            f"{path} has no {run}/class_labels.txt: it is not the official all_runs.zip."
        ) from error
    answer_of = dict(line.split() for line in labels.splitlines() if line.strip())
    test_files = sorted(answer_of)
    train_files = sorted(answer_of.values())
    if len(test_files) != LAKE_RUN_SIZE or len(set(train_files)) != LAKE_RUN_SIZE:
        raise OmniglotDataError(f"{path}: {run}/class_labels.txt does not pair 20 test with 20 training files.")
    support = np.stack([decode_member(archive, path, name) for name in train_files])
    query = np.stack([decode_member(archive, path, name) for name in test_files])
    answers = np.array([train_files.index(answer_of[name]) for name in test_files])
    return LakeRun(support, query, answers)


def lake_run_drawings(runs: list[LakeRun], split: OmniglotSplit) -> tuple[np.ndarray, np.ndarray]:
    """Where each image of Lake's runs comes from in ``split`` (the evaluation split holds them all).

    Returns (support, query), each (n_runs, 20, 2) int: the (character row, drawing) of every
    support and query image, matched pixel for pixel. Drawing ``j`` of every character of an
    alphabet is by drawer ``j + 1`` (the file names' suffix).

    Raises ValueError if an image does not occur in ``split``.
    """
    rows = {
        np.packbits(split.images[character, drawing]).tobytes(): (character, drawing)
        for character in range(len(split))
        for drawing in range(split.images.shape[1])
    }

    def locate(images: np.ndarray) -> list[tuple[int, int]]:
        found = [rows.get(np.packbits(image).tobytes()) for image in images]
        if None in found:
            raise ValueError(f"an image of Lake's runs does not occur in the split {split.name!r}")
        return found

    support = np.array([locate(run.support) for run in runs])
    query = np.array([locate(run.query) for run in runs])
    return support, query
