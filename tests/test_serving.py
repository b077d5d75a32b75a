"""Exporting an embedding network for serving (``models.serving``, ``--export``), read back by plain TensorFlow."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from oneshot_lib.backend import keras, tf
from oneshot_lib.classify import main
from oneshot_lib.models.conv4 import CosineScorer, build_embedding
from oneshot_lib.models.episodic import PrototypicalScorer
from oneshot_lib.models.serving import ABOUT_FILE, export_for_serving, serving_model
from oneshot_lib.scoring.baselines import PixelNearestNeighbour
from oneshot_lib.scoring.shifts import average_over_shifts


def tiny_scorer(pixels: int = 2):
    """A prototypical scorer on a tiny random Conv-4 (16x16 input, 2 blocks of 4 filters), with shifts."""
    keras.utils.set_random_seed(0)
    return average_over_shifts(PrototypicalScorer(build_embedding(16, filters=4, blocks=2), 16), pixels)


def drawings(n: int = 5) -> np.ndarray:
    return np.random.default_rng(0).random((n, 105, 105)) < 0.1


def test_the_exported_function_gives_the_keras_models_embeddings(tmp_path):
    scorer = tiny_scorer()
    path = export_for_serving(scorer, tmp_path / "served", name="tiny")
    about = json.loads((path / ABOUT_FILE).read_text())
    assert about == {
        "model": "tiny",
        "metric": "squared_euclidean",
        "embedding_size": 64,
        "test_shifts": 2,
        "input": "(n, 105, 105) float32 drawings: 1.0 ink, 0.0 paper, as Omniglot's 105x105 drawings",
    }
    loaded = tf.saved_model.load(str(path))  # plain TensorFlow: no oneshot_lib class is needed to load it
    images = drawings()
    served = loaded.serve(tf.constant(images, tf.float32)).numpy()
    np.testing.assert_allclose(served, scorer.embed(images), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(serving_model(scorer)(images.astype(np.float32)), served, rtol=1e-5, atol=1e-6)
    assert not [p for p in tmp_path.iterdir() if p.name != "served"], "no staging folder is left behind"


def test_a_model_with_paper_shifts_on_a_5x5_grid_is_served_as_it_scores(tmp_path):
    keras.utils.set_random_seed(0)
    scorer = average_over_shifts(CosineScorer(build_embedding(16, filters=4, blocks=2), 16), 12, "paper", 5)
    images = drawings(3)
    served = serving_model(scorer)(images.astype(np.float32))
    np.testing.assert_allclose(served, scorer.embed(images), rtol=1e-5, atol=1e-6)
    about = json.loads((export_for_serving(scorer, tmp_path / "served") / ABOUT_FILE).read_text())
    assert (about["test_shifts"], about["shift_fill"], about["shift_grid"]) == (12, "paper", 5)


def test_a_cosine_model_without_shifts_says_so():
    scorer = CosineScorer(build_embedding(16, filters=4, blocks=2), 16)
    model = serving_model(scorer)
    np.testing.assert_allclose(model(drawings(3).astype(np.float32)), scorer.embed(drawings(3)), rtol=1e-5, atol=1e-6)


def test_what_cannot_be_served_or_written_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match=r"does not score by comparing embeddings of single drawings"):
        export_for_serving(PixelNearestNeighbour(), tmp_path / "pixels")
    assert not (tmp_path / "pixels").exists()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "something").write_text("kept")
    with pytest.raises(ValueError, match="already exists and is not an empty folder"):
        export_for_serving(tiny_scorer(), tmp_path / "full")
    assert [p.name for p in (tmp_path / "full").iterdir()] == ["something"]
    (tmp_path / "empty").mkdir()
    export_for_serving(tiny_scorer(0), tmp_path / "empty")
    assert (tmp_path / "empty" / "saved_model.pb").is_file()


def test_the_command_exports_a_shipped_model_and_refuses_a_siamese_one(tmp_path, capsys):
    assert main(["--export", str(tmp_path / "matching"), "--model", "matching"]) == 0
    assert f"wrote the embedding network to {tmp_path / 'matching'}" in capsys.readouterr().out
    assert json.loads((tmp_path / "matching" / ABOUT_FILE).read_text())["metric"] == "cosine"
    for argv, message in [
        (["--export", str(tmp_path / "siamese"), "--model", "siamese"], "does not score by comparing embeddings"),
        (["--export", str(tmp_path / "x"), "--model", "nonesuch"], "no reference model named 'nonesuch'"),
        (["support", "--export", str(tmp_path / "y")], "--export DIR takes only --model"),
    ]:
        with pytest.raises(SystemExit) as stopped:
            main(argv)
        assert stopped.value.code == 2 and message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["matching"]


README = Path(__file__).resolve().parent.parent / "README.md"


def readme_snippet() -> str:
    """The Python block of the README's "Use a model outside the course" section."""
    section = README.read_text().split("### Use a model outside the course", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.mark.slow  # a fresh Python imports TensorFlow
@pytest.mark.parametrize("kind", [PrototypicalScorer, CosineScorer])
def test_the_readmes_example_classifies_with_plain_tensorflow(kind, tmp_path):
    symbols = {"alpha": (slice(30, 75), slice(50, 55)), "beta": (slice(50, 55), slice(30, 75))}
    for name, (rows, cols) in symbols.items():
        for number in (1, 2):
            ink = np.zeros((105, 105), bool)
            ink[rows, cols] = True
            ink[rows.start + number, cols.start + number] = False  # two drawings a little apart
            Image.fromarray(np.where(ink, 0, 255).astype(np.uint8)).save(tmp_path / f"{name}-{number}.png")
    shutil.copy(tmp_path / "beta-2.png", tmp_path / "query-1.png")
    shutil.copy(tmp_path / "alpha-2.png", tmp_path / "query-2.png")
    keras.utils.set_random_seed(0)
    export_for_serving(kind(build_embedding(16, filters=4, blocks=2), 16), tmp_path / "served/prototypical")
    check = (
        "\nimport sys\nassert not [m for m in sys.modules if m.startswith('oneshot_lib')], 'it imports oneshot_lib'\n"
    )
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", readme_snippet() + check], cwd=tmp_path, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "['beta', 'alpha']"
