"""The transfer-learning baseline: labelled batches, the classifier, the cosine scorer."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import synthetic_split

from oneshot_lib.backend import keras
from oneshot_lib.models import conv4, transfer
from oneshot_lib.scoring import contract
from oneshot_lib.training import trainer
from oneshot_lib.training.config import TrainingConfig


def test_batches_hold_the_labelled_drawings():
    split = synthetic_split()
    images = np.asarray(conv4.prepare_images(split.images, 16))
    dataset = transfer.classification_dataset(split, 8, rotate_classes=True, image_size=16, seed=3)
    stream = transfer.labelled_indices_stream(split, 8, rotate_classes=True, seed=3)
    for (batch, labels), (characters, drawings, turns, expected, _) in zip(dataset.take(2), stream, strict=False):
        assert batch.shape == (8, 16, 16, 1) and labels.dtype == "int32"
        np.testing.assert_array_equal(labels, expected)
        np.testing.assert_array_equal(expected, characters + len(split) * turns)
        for image, c, d, t in zip(np.asarray(batch), characters, drawings, turns, strict=True):
            np.testing.assert_array_equal(image, np.rot90(images[c, d], t, axes=(0, 1)))
        assert np.asarray(labels).max() < transfer.n_classes(split, rotate_classes=True)


def test_stream_resumes_exactly():
    split = synthetic_split()
    fresh = list(transfer.classification_dataset(split, 4, image_size=16, seed=1).skip(3).take(1))[0]
    resumed = list(transfer.classification_dataset(split, 4, image_size=16, seed=1, start_step=3).take(1))[0]
    for a, b in zip(fresh, resumed, strict=True):
        np.testing.assert_array_equal(a, b)


def test_bad_requests_are_refused():
    with pytest.raises(ValueError, match="at least 2"):
        transfer.build_classifier(1)
    with pytest.raises(ValueError, match="batch_size"):
        transfer.classification_dataset(synthetic_split(), 0, image_size=16)


def test_cosine_scores_by_hand():
    scorer = transfer.CosineScorer(embedding=None)
    query = np.array([[1.0, 0.0], [3.0, 4.0]], dtype="float32")
    support = np.array([[2.0, 0.0], [0.0, 1.0]], dtype="float32")
    np.testing.assert_allclose(scorer.compare(query, support), [[1.0, 0.0], [0.6, 0.8]], rtol=1e-6)


def test_scorer_shape_fit_and_reload(tmp_path):
    split = synthetic_split()
    model = trainer.compile_model(
        transfer.build_classifier(len(split), image_size=16, filters=4, blocks=2, seed=0),
        TrainingConfig(model="transfer", learning_rate=1e-2),
    )
    history = model.fit(
        transfer.classification_dataset(split, 8, image_size=16),
        steps_per_epoch=3,
        epochs=1,
        verbose=0,
        shuffle=False,
    )
    assert np.isfinite(history.history["loss"][0])
    scorer = model.scorer()
    rng = np.random.default_rng(0)
    scores = scorer.scores(rng.random((3, 105, 105)) < 0.1, rng.random((4, 105, 105)) < 0.1)
    assert scores.shape == (3, 4) and scores.dtype == np.float64 and isinstance(scorer, contract.Scorer)
    assert np.all(np.abs(scores) <= 1.0 + 1e-6)
    model.save(tmp_path / "transfer.keras")
    loaded = keras.saving.load_model(tmp_path / "transfer.keras")
    assert isinstance(loaded, transfer.TransferClassifier) and loaded.n_classes == len(split)
    same = loaded.scorer().scores(*[rng.random((2, 105, 105)) < 0.1] * 2)
    np.testing.assert_allclose(same.diagonal(), 1.0, rtol=1e-5)


def test_class_scores_are_mean_cosines():
    scorer = transfer.CosineScorer(embedding=None)
    query = np.array([[1.0, 0.0]], dtype="float32")
    support = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype="float32")
    per_class = scorer.compare_classes(query, support, np.array([0, 1, 0]), 2)
    np.testing.assert_allclose(per_class, [[(1.0 + 1 / np.sqrt(2)) / 2, 0.0]], rtol=1e-6)
