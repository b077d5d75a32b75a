"""Self-supervised models: NT-Xent by hand, label-free streams, distortions, the models."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import synthetic_split

from oneshot_lib import augment, conv4, selfsupervised, transfer
from oneshot_lib.backend import keras

ops = keras.ops


def numpy(x) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(x))


def nt_xent_reference(first: np.ndarray, second: np.ndarray, temperature: float) -> float:
    """SimCLR's loss written out: the mean over all 2B views of -log softmax(partner | other views)."""
    views = np.concatenate([first, second]).astype(np.float64)
    views /= np.linalg.norm(views, axis=1, keepdims=True)
    similarities = views @ views.T / temperature
    n = len(views)
    losses = []
    for i in range(n):
        partner = (i + len(first)) % n
        others = [k for k in range(n) if k != i]
        losses.append(np.log(np.exp(similarities[i, others]).sum()) - similarities[i, partner])
    return float(np.mean(losses))


# ------------------------------------------------------------------ the losses, by hand


@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_nt_xent_by_hand(temperature):
    # Two drawings at right angles, each view identical to its partner: for every view the
    # partner has cosine 1 and the two other views cosine 0, so each term is
    # -log(e^(1/t) / (e^(1/t) + 2 e^0)) = log(1 + 2 e^(-1/t)).
    first = np.array([[1.0, 0.0], [0.0, 1.0]], dtype="float32")
    second = np.array([[3.0, 0.0], [0.0, 0.5]], dtype="float32")  # lengths do not matter
    expected = np.log(1 + 2 * np.exp(-1 / temperature))
    np.testing.assert_allclose(float(selfsupervised.nt_xent_loss(first, second, temperature)), expected, rtol=1e-6)


def test_nt_xent_by_hand_with_a_partner_further_than_a_negative():
    # Views v0 = (1, 0), v1 = (1, 0) (first views of drawings 0 and 1), v2 = (0, 1),
    # v3 = (1, 1) (their second views); temperature 1, c = cos 45 degrees.
    first = np.array([[1.0, 0.0], [1.0, 0.0]], dtype="float32")
    second = np.array([[0.0, 1.0], [1.0, 1.0]], dtype="float32")
    c = 1 / np.sqrt(2)
    # Each row: (cosine to the partner, cosines to the two negatives).
    rows = [
        (0.0, (1.0, c)),  # v0: partner v2; negatives v1, v3
        (c, (1.0, 0.0)),  # v1: partner v3; negatives v0, v2
        (0.0, (0.0, c)),  # v2: partner v0; negatives v1, v3
        (c, (c, c)),  # v3: partner v1; negatives v0, v2
    ]
    expected = np.mean([np.log(np.exp(p) + np.exp(a) + np.exp(b)) - p for p, (a, b) in rows])
    loss = float(selfsupervised.nt_xent_loss(first, second, 1.0))
    np.testing.assert_allclose(loss, expected, rtol=1e-6)
    np.testing.assert_allclose(loss, nt_xent_reference(first, second, 1.0), rtol=1e-6)


def test_nt_xent_matches_the_written_out_formula_and_is_symmetric():
    rng = np.random.default_rng(0)
    first = (rng.normal(size=(5, 3)) * rng.uniform(0.5, 3, size=(5, 1))).astype("float32")
    second = (first + 0.3 * rng.normal(size=(5, 3))).astype("float32")
    loss = float(selfsupervised.nt_xent_loss(first, second, 0.3))
    np.testing.assert_allclose(loss, nt_xent_reference(first, second, 0.3), rtol=1e-5)
    np.testing.assert_allclose(float(selfsupervised.nt_xent_loss(second, first, 0.3)), loss, rtol=1e-6)
    order = rng.permutation(5)  # the order of the drawings in the batch does not matter either
    np.testing.assert_allclose(float(selfsupervised.nt_xent_loss(first[order], second[order], 0.3)), loss, rtol=1e-6)






# ------------------------------------------------------------------ streams without labels


def test_rotation_batches_show_each_drawing_at_its_four_turns():
    pool = selfsupervised.drawing_pool(synthetic_split((3, 2), drawings=3))
    prepared = numpy(conv4.prepare_images(pool, 16))
    images, turns = next(iter(selfsupervised.rotation_dataset(pool, 4, image_size=16, seed=5)))
    indices, _ = next(selfsupervised.unlabelled_indices_stream(len(pool), 4, seed=5))
    assert images.shape == (16, 16, 16, 1) and turns.dtype == "int32"
    np.testing.assert_array_equal(turns, np.repeat(np.arange(4), 4))
    assert len(set(indices.tolist())) == 4  # distinct drawings
    for row, (image, turn) in enumerate(zip(numpy(images), numpy(turns), strict=True)):
        np.testing.assert_array_equal(image, np.rot90(prepared[indices[row % 4]], turn, axes=(0, 1)))


def test_rotation_turns_the_same_distorted_drawing():
    pool = selfsupervised.drawing_pool(synthetic_split((3, 2), drawings=3))
    images, _ = next(iter(selfsupervised.rotation_dataset(pool, 3, image_size=16, distortions=augment.KOCH)))
    images = numpy(images)
    for turn in range(1, 4):
        np.testing.assert_allclose(images[3 * turn : 3 * turn + 3], np.rot90(images[:3], turn, axes=(1, 2)))


def test_contrastive_batches_hold_two_views_of_each_drawing():
    pool = selfsupervised.drawing_pool(synthetic_split((3, 2), drawings=3))
    prepared = numpy(conv4.prepare_images(pool, 16))
    indices, _ = next(selfsupervised.unlabelled_indices_stream(len(pool), 4, seed=2))
    plain = selfsupervised.contrastive_dataset(pool, 4, distortions=augment.IDENTITY, image_size=16, seed=2)
    views, partners = next(iter(plain))
    assert views.shape == (8, 16, 16, 1)
    np.testing.assert_array_equal(partners, [4, 5, 6, 7, 0, 1, 2, 3])
    np.testing.assert_array_equal(numpy(views), np.concatenate([prepared[indices]] * 2))
    distorted, _ = next(iter(selfsupervised.contrastive_dataset(pool, 4, image_size=16, seed=2)))
    distorted = numpy(distorted)
    assert not np.allclose(distorted[:4], distorted[4:])  # the two views are distorted independently


@pytest.mark.parametrize("make", [selfsupervised.rotation_dataset, selfsupervised.contrastive_dataset])
def test_streams_resume_exactly(make):
    pool = selfsupervised.drawing_pool(synthetic_split((3, 2), drawings=3))
    arguments = dict(image_size=16, seed=1, distortions=augment.scaled_distortions(16))
    fresh = list(make(pool, 4, **arguments).skip(3).take(1))[0]
    resumed = list(make(pool, 4, start_step=3, **arguments).take(1))[0]
    for a, b in zip(fresh, resumed, strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_streams_refuse_anything_with_a_character_axis():
    split = synthetic_split((3, 2), drawings=3)
    for make in (selfsupervised.rotation_dataset, selfsupervised.contrastive_dataset):
        with pytest.raises(ValueError, match="flat pool.*drawing_pool"):
            make(split.images, 4, image_size=16)
    pool = selfsupervised.drawing_pool(split)
    assert pool.shape == (15, 105, 105) and np.shares_memory(pool, split.images)
    with pytest.raises(ValueError, match="larger than the pool of 15"):
        selfsupervised.rotation_dataset(pool, 16, image_size=16)
    with pytest.raises(ValueError, match="at least 2"):
        selfsupervised.contrastive_dataset(pool, 1, image_size=16)




# ------------------------------------------------------------------ distortions


def test_strengthened_widens_every_range_about_the_identity():
    assert selfsupervised.strengthened(augment.KOCH, 1.0) == augment.KOCH
    doubled = selfsupervised.strengthened(augment.KOCH, 2.0)
    assert (doubled.rotation, doubled.shear, doubled.translation) == (20.0, 0.6, 4.0)
    np.testing.assert_allclose(doubled.scale, (0.6, 1.4))
    assert doubled.probability == augment.KOCH.probability
    with pytest.raises(ValueError, match=r"\(0, 3.33\)"):
        selfsupervised.strengthened(augment.KOCH, 3.5)


def test_random_erasing_blanks_one_rectangle_per_image():
    images = np.ones((50, 20, 20, 1), dtype="float32")
    erased = numpy(selfsupervised.random_erasing(images, 3, 1.0))
    np.testing.assert_array_equal(erased, numpy(selfsupervised.random_erasing(images, 3, 1.0)))  # seeded
    for image in erased[..., 0]:
        rows, columns = np.nonzero(image == 0)
        height, width = rows.max() - rows.min() + 1, columns.max() - columns.min() + 1
        assert len(rows) == height * width  # one full rectangle
        assert 4 <= height <= 10 and 4 <= width <= 10  # sides 0.2 to 0.5 of 20
    np.testing.assert_array_equal(numpy(selfsupervised.random_erasing(images, 3, 0.0)), images)
    half = numpy(selfsupervised.random_erasing(np.ones((400, 20, 20, 1), "float32"), 4, 0.5))
    assert 0.4 < np.mean(half.min(axis=(1, 2, 3)) == 0) < 0.6


def test_contrastive_views_can_be_erased():
    pool = selfsupervised.drawing_pool(synthetic_split((3, 2), drawings=3))
    plain, _ = next(iter(selfsupervised.contrastive_dataset(pool, 4, image_size=16, seed=2)))
    erased, _ = next(iter(selfsupervised.contrastive_dataset(pool, 4, image_size=16, seed=2, erase_probability=1.0)))
    assert numpy(erased).sum() < numpy(plain).sum()
    np.testing.assert_array_equal(numpy(erased)[numpy(plain) == 0], 0)  # erasing only removes ink
    with pytest.raises(ValueError, match="erase_probability"):
        selfsupervised.contrastive_dataset(pool, 4, image_size=16, erase_probability=2.0)


# ------------------------------------------------------------------ the models


@pytest.mark.parametrize("method, outputs", [("rotation", lambda b: (b, 4)), ("contrastive", lambda b: (b, b))])
def test_models_score_with_the_embedding_alone_and_reload(method, outputs, tmp_path):
    model = selfsupervised.build_selfsupervised(method, image_size=16, filters=4, blocks=2, seed=0)
    images = np.random.default_rng(0).random((6, 16, 16, 1)).astype("float32")
    assert model(images).shape == outputs(6)
    scorer = model.scorer()
    assert type(scorer) is transfer.CosineNearestNeighbour and scorer.embedding is model.embedding
    assert scorer.name == f"{method} (cosine 1-NN)"
    rng = np.random.default_rng(1)
    query, support = rng.random((2, 105, 105)) < 0.1, rng.random((3, 105, 105)) < 0.1
    before = scorer.scores(query, support)
    head = model.head if method == "rotation" else model.projection
    head.set_weights([w + 1.0 for w in head.get_weights()])  # the head plays no part in scoring
    np.testing.assert_array_equal(model.scorer().scores(query, support), before)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert type(loaded) is type(model) and loaded.get_config() == model.get_config()
    np.testing.assert_allclose(numpy(loaded(images)), numpy(model(images)), rtol=1e-5, atol=1e-5)


def test_model_arguments_are_checked():
    with pytest.raises(ValueError, match="unknown self-supervised method 'jigsaw'"):
        selfsupervised.build_selfsupervised("jigsaw")
    with pytest.raises(ValueError, match="temperature must be positive"):
        selfsupervised.build_selfsupervised("contrastive", image_size=16, temperature=0.0)
    model = selfsupervised.build_selfsupervised("contrastive", image_size=16, temperature=0.2, projection_units=8)
    assert model.projection.output_shape == (None, 8) and model.get_config()["temperature"] == 0.2


# ------------------------------------------------------------------ configs, the command line, whole runs












