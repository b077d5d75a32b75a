"""Self-supervised kinds: NT-Xent and the rotation loss by hand, label-free streams, the models, whole runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import RUN_FIELDS, DrawingsOnly, synthetic_split, tiny_run_config

from oneshot_lib.backend import keras
from oneshot_lib.data import augment
from oneshot_lib.data.omniglot import OmniglotSplit
from oneshot_lib.models import conv4, masked, selfsupervised, transfer
from oneshot_lib.train import config_options, parser
from oneshot_lib.training import kinds, loading, trainer
from oneshot_lib.training.config import TrainingConfig

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


def ssl_config(model: str, **changes) -> TrainingConfig:
    """The tiny run, with batches of 6 drawings (12 views for the contrastive kind)."""
    return tiny_run_config(model, **{"batch_size": 6, **changes})


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


def test_the_contrastive_kind_trains_on_nt_xent_exactly():
    """The kind's compiled loss on the model's logits and partner indices is ``nt_xent_loss``."""
    rng = np.random.default_rng(1)
    first, second = rng.normal(size=(2, 4, 3)).astype("float32")
    logits = selfsupervised.nt_xent_logits(np.concatenate([first, second]), 0.1)
    assert np.all(np.diagonal(numpy(logits)) < -1e8)  # a view is never its own partner
    kind_loss = kinds.MODEL_KINDS["contrastive"].loss()(selfsupervised.positive_indices(4), logits)
    np.testing.assert_allclose(float(kind_loss), float(selfsupervised.nt_xent_loss(first, second, 0.1)), rtol=1e-6)
    np.testing.assert_array_equal(selfsupervised.positive_indices(3), [3, 4, 5, 0, 1, 2])


def test_rotation_loss_by_hand():
    """The rotation kind's loss is the 4-way cross-entropy of the turn logits."""
    loss = kinds.MODEL_KINDS["rotation"].loss()
    confident = np.log(3.0)  # logits (ln 3, 0, 0, 0): the first turn has probability 3 / 6
    logits = np.array([[confident, 0, 0, 0], [confident, 0, 0, 0], [0, 0, 0, 0]], dtype="float32")
    np.testing.assert_allclose(float(loss(np.array([0]), logits[:1])), np.log(2.0), rtol=1e-6)
    np.testing.assert_allclose(float(loss(np.array([2]), logits[1:2])), np.log(6.0), rtol=1e-6)
    np.testing.assert_allclose(float(loss(np.array([3]), logits[2:])), np.log(4.0), rtol=1e-6)  # chance
    np.testing.assert_allclose(float(loss(np.array([0, 2, 3]), logits)), np.log(48.0) / 3, rtol=1e-6)


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


@pytest.mark.parametrize("model", ["rotation", "contrastive", "masked"])
def test_the_kinds_streams_never_read_a_label(model, splits):
    """Scrambled labels give the same batches, and a split with no labels at all feeds the kind."""
    train_data, _ = splits
    kind, config = kinds.MODEL_KINDS[model], ssl_config(model)
    relabelled = OmniglotSplit(
        train_data.images,
        np.full(len(train_data), "nowhere"),
        np.random.default_rng(0).permutation(train_data.characters),
        "relabelled",
    )
    sources = (train_data, relabelled, DrawingsOnly(train_data.images))
    batches = [kind.dataset(data, config, 1).take(2) for data in sources]
    for (a_inputs, a_targets), (b_inputs, b_targets), (c_inputs, c_targets) in zip(*batches, strict=True):
        np.testing.assert_array_equal(a_inputs, b_inputs)
        np.testing.assert_array_equal(a_inputs, c_inputs)
        np.testing.assert_array_equal(a_targets, b_targets)
        np.testing.assert_array_equal(a_targets, c_targets)
    kind.check_data(DrawingsOnly(train_data.images), config)
    with pytest.raises(AttributeError):
        DrawingsOnly(train_data.images).characters  # noqa: B018 (the stand-in really has no labels)


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
    assert type(scorer) is transfer.CosineScorer and scorer.embedding is model.embedding
    assert scorer.name == f"{method} (cosine)"
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


def test_the_command_line_offers_the_self_supervised_kinds():
    args = parser().parse_args(
        "--output o --steps 3 --model contrastive --temperature 0.2 --distortion-strength 1.5 "
        "--erase-probability 0.5 --batch-size 64".split()
    )
    config = TrainingConfig(**config_options(args))
    assert (config.model, config.temperature, config.distortion_strength, config.erase_probability) == (
        "contrastive",
        0.2,
        1.5,
        0.5,
    )
    assert kinds.kind_of(config) is kinds.MODEL_KINDS["contrastive"]
    assert parser().parse_args(["--output", "o", "--model", "rotation"]).model == "rotation"


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(erase_probability=1.5), "erase_probability must be at most 1"),
        (dict(erase_probability=-0.1), "erase_probability must be at least 0"),
        (dict(temperature=0.0), "temperature must be positive"),
        (dict(distortion_strength=0.0), "distortion_strength must be positive"),
    ],
)
def test_self_supervised_fields_have_bounds(changes, message):
    with pytest.raises(ValueError, match=message):
        TrainingConfig(model="contrastive", **changes)


def test_rotation_without_distortions_is_fine():
    assert kinds.kind_of(TrainingConfig(model="rotation", augment=False)) is kinds.MODEL_KINDS["rotation"]


@pytest.mark.parametrize("model", ["rotation", "contrastive", "masked"])
def test_each_self_supervised_kind_trains_without_labels_writes_its_files_and_resumes(model, splits, tmp_path):
    train_data, validation_data = splits
    unlabelled = DrawingsOnly(train_data.images)  # the run cannot read a training label
    folder = tmp_path / model
    history = trainer.train(
        ssl_config(model), folder, train_data=unlabelled, validation_data=validation_data, verbose=0
    )
    assert {"config.json", "history.json", "best.weights.h5", "last.keras", "log.txt"} <= {
        p.name for p in folder.iterdir()
    }
    assert [record.step for record in history.epochs] == [1, 2]
    record = history.last
    assert 0.0 <= record.val_oneshot_accuracy <= 1.0 and np.isfinite(record.loss)
    assert (record.seen_name, record.seen) == ("drawings_seen", 2 * 6)
    saved = json.loads((folder / "config.json").read_text())
    assert set(saved["config"]) == set(kinds.MODEL_KINDS[model].options) | RUN_FIELDS | {"halve_lr_every"}
    assert "rotate_classes" not in saved["config"] and saved["model"]["config"]["image_size"] == 16
    expected_log = {"rotation": "turn acc", "contrastive": "partner acc", "masked": "hidden pixel acc"}[model]
    assert expected_log in (folder / "log.txt").read_text()

    for which in ("best", "last"):
        scorer = loading.load_run_scorer(folder, which)
        assert type(scorer) is conv4.CosineScorer
        scores = scorer.scores(train_data.images[0, :2], train_data.images[1, :3])
        assert scores.shape == (2, 3) and np.all(np.isfinite(scores))

    resumed = trainer.train(
        ssl_config(model, max_steps=3), folder, train_data=unlabelled, validation_data=validation_data, verbose=0
    )
    assert [record.step for record in resumed.epochs] == [1, 2, 3]
    assert resumed.epochs[:2] == history.epochs
    best, _ = loading.load_run_model(folder, "best")
    assert type(best) is {**selfsupervised.METHODS, "masked": masked.MaskedNetwork}[model]
    with pytest.raises(ValueError, match="another config.*distortion_strength"):
        trainer.train(
            ssl_config(model, distortion_strength=2.0),
            folder,
            train_data=unlabelled,
            validation_data=validation_data,
            verbose=0,
        )
