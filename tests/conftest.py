"""Shared fixtures: tiny synthetic Omniglot archives and splits, built in the test itself."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from oneshot_lib.data import archives
from oneshot_lib.data.archives import ArchiveSpec
from oneshot_lib.data.omniglot import OmniglotSplit
from oneshot_lib.training.config import TrainingConfig

TINY_ALPHABETS = {"Alpha": 3, "Beta": 2}  # alphabet -> number of characters
CHAPTERS = Path(__file__).resolve().parent.parent / "chapters"


def chapter_from_scratch(chapter: str, namespace: dict, minimum_cells: int) -> dict:
    """``namespace`` after running the cells of ``chapter`` (a file in chapters/) tagged ``from-scratch``.

    Those cells hold the code the learner writes; running them here lets a test pin that it
    computes what the library computes. Fails if fewer than ``minimum_cells`` carry the tag.
    """
    cells = json.loads((CHAPTERS / chapter).read_text())["cells"]
    written = [cell for cell in cells if "from-scratch" in cell["metadata"].get("tags", [])]
    assert len(written) >= minimum_cells, f"{chapter} lost its from-scratch cells (tag them 'from-scratch')"
    for cell in written:
        exec("".join(cell["source"]), namespace)
    return namespace


def random_images(n: int, seed: int) -> np.ndarray:
    """(n, 105, 105) bool: three random bars each, so that (unlike pixel noise) images differ once shrunk."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 105, 105), bool)
    for image in images:
        for top, left, height, width in rng.integers([0, 0, 3, 3], [90, 90, 15, 60], size=(3, 4)):
            image[top : top + height, left : left + width] = True
    return images


def drawing(character: int, drawer: int, size: int = 105) -> np.ndarray:
    """(size, size) bool ink mask that encodes (character, drawer): a bar and a dot."""
    ink = np.zeros((size, size), dtype=bool)
    ink[10 + 5 * character : 14 + 5 * character, 10:90] = True
    ink[(60 + drawer) % size, (20 + drawer) % size] = True
    return ink


def png_bytes(ink: np.ndarray) -> bytes:
    """Encode an ink mask as Omniglot does: a 1-bit PNG, white (True) background."""
    buffer = io.BytesIO()
    Image.fromarray(~ink).convert("1").save(buffer, format="PNG")
    return buffer.getvalue()


def write_split_archive(
    path: Path, alphabets: dict[str, int] = TINY_ALPHABETS, drawings: int = 20, size: int = 105
) -> None:
    """A zip laid out like images_background.zip, with hand-made drawings."""
    with zipfile.ZipFile(path, "w") as archive:
        character = 0
        for alphabet, n_characters in alphabets.items():
            for number in range(1, n_characters + 1):
                for drawer in range(1, drawings + 1):
                    member = f"images_background/{alphabet}/character{number:02d}/{character:04d}_{drawer:02d}.png"
                    archive.writestr(member, png_bytes(drawing(character, drawer, size)))
                character += 1


@pytest.fixture
def cache_home(tmp_path, monkeypatch) -> Path:
    """An empty per-user cache folder, and no OMNIGLOT_DIR."""
    home = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    monkeypatch.delenv("OMNIGLOT_DIR", raising=False)
    return home / "oneshot"


@pytest.fixture
def tiny_spec(monkeypatch) -> ArchiveSpec:
    """Make 'background' expect the tiny archive's counts (2 alphabets, 5 characters)."""
    spec = ArchiveSpec("images_background.zip", "0" * 32, len(TINY_ALPHABETS), sum(TINY_ALPHABETS.values()))
    monkeypatch.setitem(archives.SPLITS, "background", spec)
    return spec


@pytest.fixture
def tiny_archive_dir(tmp_path, tiny_spec) -> Path:
    folder = tmp_path / "omniglot"
    folder.mkdir()
    write_split_archive(folder / tiny_spec.filename)
    return folder


def synthetic_split(alphabet_sizes: tuple[int, ...] = (6, 4, 3), drawings: int = 20, seed: int = 0) -> OmniglotSplit:
    """A random OmniglotSplit with the given characters per alphabet, for task and evaluation tests."""
    rng = np.random.default_rng(seed)
    n = sum(alphabet_sizes)
    images = rng.random((n, drawings, 105, 105)) < 0.1
    alphabets = np.repeat([f"A{i}" for i in range(len(alphabet_sizes))], alphabet_sizes)
    characters = np.array([f"character{i:02d}" for i in range(n)])
    return OmniglotSplit(images, alphabets, characters, "synthetic")


@pytest.fixture
def split() -> OmniglotSplit:
    return synthetic_split()


class DrawingsOnly:
    """A stand-in for a training split that holds drawings and nothing else: no characters, no
    alphabets, no length. Anything that reads a label from it fails with AttributeError."""

    def __init__(self, images: np.ndarray):
        self.images = images


#: A training run small enough for a unit test on ``splits``: two one-step epochs, every kind's
#: options tiny, 3-way validation on 4 tasks.
TINY_RUN = dict(
    batch_size=8,
    n_way=3,
    k_shot=1,
    n_query=2,
    image_size=16,
    steps_per_epoch=1,
    max_steps=2,
    val_way=3,
    val_tasks=4,
    learning_rate=1e-3,
    seed=0,
)


#: The config fields every run records whatever its kind (besides its optimiser's and its kind's options).
RUN_FIELDS = {
    "model",
    "optimizer",
    "learning_rate",
    "augment",
    "steps_per_epoch",
    "minutes",
    "max_steps",
    "patience",
    "val_way",
    "val_tasks",
    "val_within_alphabet",
    "seed",
    "test_shifts",
    "train_on_validation_alphabets",
    "label_fraction",
    "start_from",
    "mixed_precision",
}


def tiny_run_config(model: str = "siamese", **changes) -> TrainingConfig:
    """A ``TrainingConfig`` of ``TINY_RUN`` for ``model``, with ``changes`` on top."""
    return TrainingConfig(**{**TINY_RUN, "model": model, **changes})


def tiny_splits() -> tuple[OmniglotSplit, OmniglotSplit]:
    """(train, validation): random drawings; the validation split has 4-character alphabets."""
    return synthetic_split((5, 4, 3), drawings=4, seed=0), synthetic_split((4, 4), drawings=4, seed=1)


@pytest.fixture(scope="module")
def splits() -> tuple[OmniglotSplit, OmniglotSplit]:
    """``tiny_splits()``, made once per test module."""
    return tiny_splits()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every notebook cell nbval runs ``chapters``, so ``-m "not chapters"`` leaves them out.

    pytest calls this hook of every conftest with all collected items, the chapters' too.
    """
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.chapters)
