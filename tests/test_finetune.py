"""Transfer and fine-tuning on the support set: cut networks, a linear head, fine-tuned copies."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import synthetic_split

from oneshot_lib.backend import keras
from oneshot_lib.models import conv4, finetune, transfer
from oneshot_lib.scoring import evaluate

SIDE = 16


@pytest.fixture(scope="module")
def embedding() -> keras.Sequential:
    keras.utils.set_random_seed(0)
    return conv4.build_embedding(SIDE)


def random_drawings(n: int, seed: int = 0) -> np.ndarray:
    """(n, 105, 105) bool random ink."""
    return np.random.default_rng(seed).random((n, 105, 105)) < 0.1


def support_set(n_way: int = 4, k_shot: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random support drawings (n_way * k_shot, 105, 105) bool and shuffled labels (S,) int."""
    labels = np.random.default_rng(seed).permutation(np.repeat(np.arange(n_way), k_shot))
    return random_drawings(n_way * k_shot, seed), labels


@pytest.mark.parametrize("block", [1, 2, 3, 4])
def test_block_features_cut_the_network_and_share_its_layers(embedding, block):
    cut = finetune.block_features(embedding, block)
    images = np.random.default_rng(block).random((3, SIDE, SIDE, 1)).astype("float32")
    features = np.asarray(cut(images, training=False))
    assert features.shape == (3, 64 * (SIDE // 2**block) ** 2) and features.dtype == np.float32
    for name in ("conv1", "batchnorm1", f"pool{block}"):
        assert cut.get_layer(name) is embedding.get_layer(name)
    if block == 4:
        np.testing.assert_allclose(features, embedding(images, training=False), rtol=1e-6)


@pytest.mark.parametrize("block", [0, 5])
def test_block_features_refuse_blocks_the_network_lacks(embedding, block):
    with pytest.raises(ValueError, match=r"block must lie in 1\.\.4"):
        finetune.block_features(embedding, block)


def test_a_cut_network_is_scored_by_the_transfer_scorer(embedding):
    scorer = transfer.CosineScorer(finetune.block_features(embedding, 2), image_size=SIDE)
    result = evaluate.accuracy(scorer, synthetic_split(), 3, 2, n_tasks=2, seed=0)
    assert 0.0 <= result.mean <= 1.0


def test_linear_head_at_step_zero_is_the_nearest_normalised_prototype(embedding):
    support, labels = support_set()
    query = random_drawings(5, seed=1)
    head = finetune.LinearHead(embedding, image_size=SIDE, steps=0)
    logits = head.class_scores(query, support, labels, 4)
    unit = lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)  # noqa: E731
    support_features = unit(head.embed(support).astype(np.float64))
    prototypes = unit(np.stack([support_features[labels == c].mean(axis=0) for c in range(4)]))
    cosines = unit(head.embed(query).astype(np.float64)) @ prototypes.T
    assert logits.shape == (5, 4) and logits.dtype == np.float64
    np.testing.assert_array_equal(np.argsort(logits, axis=1), np.argsort(cosines, axis=1))
    np.testing.assert_allclose(logits, finetune.SCALE * cosines, atol=1e-4)


def test_linear_head_learns_its_own_support_set():
    # Unit features on a circle: class 1 sits at 50 degrees, class 0 at 0 and 90. A chord cuts
    # class 1's arc off, so the set is linearly separable, but the 90-degree drawing is nearer
    # class 1's prototype (50 degrees) than its own (27 degrees).
    angles = np.radians([0, 0, 90, 50, 50])
    features = np.stack([np.cos(angles), np.sin(angles)], axis=1).astype("float32")
    labels = np.array([0, 0, 0, 1, 1])
    prototypes = finetune.LinearHead(None, steps=0).compare_classes(features, features, labels, 2)
    fitted = finetune.LinearHead(None, steps=100, learning_rate=1.0).compare_classes(features, features, labels, 2)
    np.testing.assert_array_equal(prototypes.argmax(axis=1), [0, 0, 1, 1, 1])
    np.testing.assert_array_equal(fitted.argmax(axis=1), labels)


def test_fine_tuning_leaves_the_network_alone_and_repeats_exactly(embedding):
    support, labels = support_set(n_way=3, k_shot=2)
    query = random_drawings(4, seed=3)
    original = [weight.copy() for weight in embedding.get_weights()]
    first = finetune.FineTuned(embedding, image_size=SIDE, steps=3, learning_rate=1e-2, seed=5)
    logits = first.class_scores(query, support, labels, 3)
    for before, after in zip(original, embedding.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    again = first.class_scores(query, support, labels, 3)  # the same copy, reset for the task
    other = finetune.FineTuned(embedding, image_size=SIDE, steps=3, learning_rate=1e-2, seed=5)
    assert logits.shape == (4, 3) and logits.dtype == np.float64
    np.testing.assert_array_equal(logits, again)
    np.testing.assert_array_equal(logits, other.class_scores(query, support, labels, 3))
    frozen = finetune.LinearHead(embedding, image_size=SIDE, steps=0).class_scores(query, support, labels, 3)
    untrained = finetune.FineTuned(embedding, image_size=SIDE, steps=0).class_scores(query, support, labels, 3)
    np.testing.assert_allclose(untrained, frozen, atol=1e-4)
    assert not np.allclose(logits, frozen, atol=1e-3)


@pytest.mark.parametrize("k_shot", [1, 2])
def test_both_heads_pass_the_evaluation(embedding, k_shot):
    split = synthetic_split()
    scorers = [
        finetune.LinearHead(embedding, image_size=SIDE, steps=5),
        finetune.FineTuned(embedding, image_size=SIDE, steps=2, batchnorm_frozen=k_shot == 1),
    ]
    for scorer in scorers:
        result = evaluate.accuracy(scorer, split, 3, k_shot, n_tasks=2, within_alphabet=True, seed=0)
        assert 0.0 <= result.mean <= 1.0
        assert scorer.scores(split.images[0, :2], split.images[1:4, 0]).shape == (2, 3)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"steps": -5}, r"steps must be at least 0 \(got -5\)"),
        ({"steps": 2.5}, r"steps must be an int"),
        ({"learning_rate": float("nan")}, r"learning_rate must be a finite number > 0, got nan"),
        ({"learning_rate": 0.0}, r"learning_rate must be a finite number > 0"),
        ({"scale": -1.0}, r"scale must be a finite number > 0"),
    ],
)
@pytest.mark.parametrize("method", [finetune.LinearHead, finetune.FineTuned])
def test_fitting_settings_are_refused_at_construction(embedding, method, arguments, message):
    with pytest.raises((TypeError, ValueError), match=message):
        method(embedding, SIDE, **arguments)


@pytest.mark.parametrize("method", [finetune.LinearHead, finetune.FineTuned])
def test_an_empty_support_set_is_refused_not_a_crash(embedding, method):
    """Before: a head of zero classes made oneDNN abort the whole process."""
    with pytest.raises(ValueError, match="the support set is empty"):
        method(embedding, SIDE, steps=1).scores(random_drawings(2), random_drawings(0))


@pytest.mark.parametrize("method", [finetune.LinearHead, finetune.FineTuned, transfer.CosineScorer])
def test_an_image_size_the_network_does_not_read_is_refused(embedding, method):
    """Before: LinearHead ran the 16x16 network on 28x28 images without a word (FineTuned failed obscurely)."""
    with pytest.raises(ValueError, match=r"reads 16x16 images, but image_size=28: pass image_size=16"):
        method(embedding, 28)


def test_scale_and_shift_only_moves_batch_normalisation_alone(embedding):
    parameters = finetune.scale_and_shift_parameters(embedding)
    assert len(parameters) == 8 and all(tuple(variable.shape) == (64,) for variable in parameters)
    assert [variable.path.split("/")[-1] for variable in parameters[:2]] == ["gamma", "beta"]
    support, labels = support_set(n_way=3, k_shot=2)
    query = random_drawings(4, seed=3)
    tuned = finetune.FineTuned(
        embedding, image_size=SIDE, steps=3, learning_rate=1e-1, seed=5, scale_and_shift_only=True
    )
    logits = tuned.class_scores(query, support, labels, 3)
    network = tuned._tunings[(6, 3)].network
    moved = {
        variable.path
        for variable, before in zip(network.weights, embedding.get_weights(), strict=True)
        if not np.array_equal(np.asarray(variable), before)
    }
    assert moved and all(path.endswith(("gamma", "beta")) for path in moved)
    full = finetune.FineTuned(embedding, image_size=SIDE, steps=3, learning_rate=1e-1, seed=5)
    assert logits.shape == (4, 3) and not np.allclose(logits, full.class_scores(query, support, labels, 3))


def test_scale_and_shift_only_needs_batch_normalisation():
    plain = keras.Sequential([keras.Input((SIDE, SIDE, 1)), keras.layers.Flatten()], name="plain")
    assert finetune.scale_and_shift_parameters(plain) == []
    with pytest.raises(ValueError, match="has none; fine-tune all its weights instead"):
        finetune.FineTuned(plain, SIDE, scale_and_shift_only=True)
