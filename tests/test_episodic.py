"""Prototypical and matching networks: the maths by hand, invariances, k-shot, episodes, a tiny fit."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import synthetic_split

from oneshot_lib.backend import keras
from oneshot_lib.data import augment
from oneshot_lib.models import conv4, episodic
from oneshot_lib.scoring import contract, rules
from oneshot_lib.training import trainer
from oneshot_lib.training.config import TrainingConfig

ops = keras.ops


def numpy(x) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(x))


# ------------------------------------------------------------------ the maths, by hand


def test_prototypes_are_class_means():
    support = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 3.0]], dtype="float32")
    prototypes = numpy(episodic.class_prototypes(support, np.array([0, 0, 1]), 2))
    np.testing.assert_allclose(prototypes, [[1.0, 0.0], [0.0, 3.0]])


def test_prototypical_logits_by_hand():
    support = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 3.0]], dtype="float32")
    query = np.array([[1.0, 1.0], [0.0, 2.0]], dtype="float32")
    logits = numpy(episodic.prototypical_logits(query, support, np.array([0, 0, 1]), 2))
    # Prototypes (1, 0) and (0, 3): squared distances 1 and 1 + 4; then 1 + 4 and 1.
    np.testing.assert_allclose(logits, [[-1.0, -5.0], [-5.0, -1.0]])


def test_matching_attention_by_hand():
    query = np.array([[1.0, 0.0]], dtype="float32")
    support = np.array([[2.0, 0.0], [0.0, 5.0], [1.0, 1.0]], dtype="float32")
    cosines = np.array([1.0, 0.0, 1 / np.sqrt(2)])
    np.testing.assert_allclose(numpy(conv4.cosine_similarities(query, support))[0], cosines, rtol=1e-6)
    for scale in (1.0, 10.0):
        expected = np.exp(scale * cosines) / np.exp(scale * cosines).sum()
        attention = numpy(episodic.matching_attention(query, support, scale))[0]
        np.testing.assert_allclose(attention, expected, rtol=1e-5)
    log_probabilities = numpy(episodic.matching_log_probabilities(attention[None], np.array([0, 1, 0]), 2))[0]
    np.testing.assert_allclose(np.exp(log_probabilities), [expected[0] + expected[2], expected[1]], rtol=1e-5)


def test_all_zero_embedding_has_cosine_zero_not_nan():
    cosines = numpy(conv4.cosine_similarities(np.zeros((1, 3), "float32"), np.eye(3, dtype="float32")))
    np.testing.assert_array_equal(cosines, np.zeros((1, 3)))


# ------------------------------------------------------------------ invariance to the support order


@pytest.mark.parametrize("method", ["prototypical", "matching"])
def test_logits_do_not_depend_on_support_order(method):
    rng = np.random.default_rng(0)
    support, query = rng.normal(size=(6, 4)).astype("float32"), rng.normal(size=(3, 4)).astype("float32")
    labels = np.array([0, 1, 2, 0, 1, 2])
    order = rng.permutation(6)

    def logits(s, y):
        if method == "prototypical":
            return numpy(episodic.prototypical_logits(query, s, y, 3))
        return numpy(episodic.matching_log_probabilities(episodic.matching_attention(query, s, 3.0), y, 3))

    np.testing.assert_allclose(logits(support[order], labels[order]), logits(support, labels), rtol=1e-5)


def tiny_episode(rng, n_way=3, k_shot=2, n_query=2, size=16):
    support = rng.random((n_way * k_shot, size, size, 1)).astype("float32")
    query = rng.random((n_way * n_query, size, size, 1)).astype("float32")
    return {"support": support, "support_labels": np.repeat(np.arange(n_way), k_shot), "query": query}


@pytest.mark.parametrize("method", ["prototypical", "matching"])
@pytest.mark.parametrize("training", [False, True])
def test_model_is_invariant_to_support_order(method, training):
    """Batch normalisation in training mode uses batch statistics: still order-free."""
    model = episodic.build_episodic(method, image_size=16, filters=4, blocks=2, seed=0)
    rng = np.random.default_rng(1)
    episode = tiny_episode(rng)
    order = rng.permutation(len(episode["support"]))
    shuffled = {
        **episode,
        "support": episode["support"][order],
        "support_labels": episode["support_labels"][order],
    }
    np.testing.assert_allclose(
        numpy(model(shuffled, training=training)),
        numpy(model(episode, training=training)),
        rtol=1e-4,
        atol=1e-5,
    )


# ------------------------------------------------------------------ scorers and k-shot aggregation


def raw_images(rng, n):
    return rng.random((n, 105, 105)) < 0.1


@pytest.fixture(scope="module")
def networks():
    return {
        method: episodic.build_episodic(method, filters=4, seed=0, initial_scale=5.0)
        if method == "matching"
        else episodic.build_episodic(method, filters=4, seed=0)
        for method in episodic.METHODS
    }


@pytest.mark.parametrize("method", ["prototypical", "matching"])
def test_scorer_shapes_and_contract(networks, method):
    scorer = networks[method].scorer()
    rng = np.random.default_rng(0)
    scores = scorer.scores(raw_images(rng, 3), raw_images(rng, 5))
    assert scores.shape == (3, 5) and scores.dtype == np.float64
    assert isinstance(scorer, contract.Scorer) and isinstance(scorer.name, str)
    assert np.all(np.isfinite(scores))


def test_scorer_columns_follow_the_support_order(networks):
    scorer = networks["prototypical"].scorer()
    rng = np.random.default_rng(0)
    query, support = raw_images(rng, 2), raw_images(rng, 6)
    order = rng.permutation(6)
    np.testing.assert_allclose(scorer.scores(query, support[order]), scorer.scores(query, support)[:, order], rtol=1e-5)


def test_one_shot_prototypical_scores_are_the_network_logits(networks):
    """With one shot per class, per-image scores are exactly the model's logits."""
    model = networks["prototypical"]
    rng = np.random.default_rng(0)
    query, support = raw_images(rng, 2), raw_images(rng, 4)
    episode = {
        "support": conv4.prepare_images(support),
        "support_labels": np.arange(4),
        "query": conv4.prepare_images(query),
    }
    np.testing.assert_allclose(model.scorer().scores(query, support), numpy(model(episode)), rtol=1e-4)


def test_k_shot_prototypical_class_scores(networks):
    """class_scores is the prototype logit; evaluate's class mean is that minus the class spread."""
    scorer = networks["prototypical"].scorer()
    rng = np.random.default_rng(0)
    query, support = raw_images(rng, 4), raw_images(rng, 6)
    labels = np.array([1, 0, 2, 0, 2, 1])
    exact = scorer.class_scores(query, support, labels, 3)
    q, s = scorer.embed(query).astype(float), scorer.embed(support).astype(float)
    prototypes = np.stack([s[labels == c].mean(0) for c in range(3)])
    np.testing.assert_allclose(exact, -((q[:, None] - prototypes[None]) ** 2).sum(-1), rtol=1e-4)
    spread = np.array([((s[labels == c] - prototypes[c]) ** 2).sum(1).mean() for c in range(3)])
    averaged = rules.class_scores(scorer.scores(query, support), labels, 3)
    np.testing.assert_allclose(averaged, exact - spread[None], rtol=1e-4)


def test_k_shot_matching_class_scores(networks):
    """Class probabilities are summed attention: k times evaluate's class mean, summing to 1."""
    scorer = networks["matching"].scorer()
    assert scorer.scale == pytest.approx(5.0)
    rng = np.random.default_rng(0)
    query, support = raw_images(rng, 4), raw_images(rng, 6)
    labels = np.array([1, 0, 2, 0, 2, 1])
    probabilities = scorer.class_scores(query, support, labels, 3)
    np.testing.assert_allclose(probabilities.sum(1), 1.0, rtol=1e-6)
    averaged = rules.class_scores(scorer.scores(query, support), labels, 3)
    np.testing.assert_allclose(probabilities, 2 * averaged, rtol=1e-6)


@pytest.mark.parametrize(
    "labels, message",
    [
        (np.array([0, 1]), "shape"),
        (np.array([0, 1, 3]), r"\[0, 3\)"),
        (np.array([0, 0, 1]), "no support image"),
    ],
)
def test_class_scores_check_labels(networks, labels, message):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=message):
        networks["prototypical"].scorer().class_scores(raw_images(rng, 1), raw_images(rng, 3), labels, 3)


# ------------------------------------------------------------------ building and saving


def test_unknown_method_and_tiny_images_are_refused():
    with pytest.raises(ValueError, match="unknown episodic method"):
        episodic.build_episodic("siamese")
    with pytest.raises(ValueError, match="2x2 poolings"):
        conv4.build_embedding(image_size=8, blocks=4)
    with pytest.raises(ValueError, match="positive"):
        episodic.MatchingNetwork(initial_scale=0.0)


def test_default_embedding_is_vinyals_and_snells():
    embedding = conv4.build_embedding()
    assert embedding.output_shape == (None, 64)
    # 4 convolutions (3x3, 64 filters) with biases, and 4 batch normalisations (4 x 64 each).
    assert embedding.count_params() == (9 * 64 + 64) + 3 * (9 * 64 * 64 + 64) + 4 * 4 * 64


def test_saved_matching_network_loads_with_its_scale(tmp_path):
    model = episodic.build_episodic("matching", image_size=16, filters=4, blocks=2, initial_scale=7.0)
    model.save(tmp_path / "matching.keras")
    loaded = keras.saving.load_model(tmp_path / "matching.keras")
    assert isinstance(loaded, episodic.MatchingNetwork) and loaded.scale == pytest.approx(7.0)
    for saved, restored in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(saved, restored)


# ------------------------------------------------------------------ episodes


def test_rotate_quarter_turns_matches_numpy():
    images = np.arange(3 * 4 * 4, dtype="float32").reshape(3, 4, 4, 1)
    turns = np.array([0, 1, 3])
    rotated = numpy(augment.rotate_quarter_turns(images, turns))
    for image, turn, result in zip(images, turns, rotated, strict=True):
        np.testing.assert_array_equal(result, np.rot90(image, turn, axes=(0, 1)))


def test_episodes_show_the_characters_their_labels_say():
    split = synthetic_split()
    dataset = episodic.episode_dataset(split, 3, 2, 4, image_size=16, seed=5, rotate_classes=True)
    images = numpy(conv4.prepare_images(split.images, 16))
    stream = episodic.episode_indices_stream(split, 3, 2, 4, seed=5, rotate_classes=True)
    for (episode, query_labels), (characters, support_drawings, query_drawings, order, turns, _) in zip(
        dataset.take(3), stream, strict=False
    ):
        support, labels = numpy(episode["support"]), numpy(episode["support_labels"])
        assert support.shape == (6, 16, 16, 1) and numpy(episode["query"]).shape == (12, 16, 16, 1)
        np.testing.assert_array_equal(numpy(query_labels), np.repeat(np.arange(3), 4))
        np.testing.assert_array_equal(np.sort(labels), np.repeat(np.arange(3), 2))
        class_major = np.repeat(np.arange(3), 2)[order]
        shot = np.tile(np.arange(2), 3)[order]
        np.testing.assert_array_equal(labels, class_major)
        for position, (c, j) in enumerate(zip(class_major, shot, strict=True)):
            expected = np.rot90(images[characters[c], support_drawings[c, j]], turns[c], axes=(0, 1))
            np.testing.assert_array_equal(support[position], expected)
        query = numpy(episode["query"])
        expected_query = np.rot90(images[characters[1], query_drawings[1, 3]], turns[1], axes=(0, 1))
        np.testing.assert_array_equal(query[4 + 3], expected_query)


def test_episode_stream_resumes_exactly():
    split = synthetic_split()
    fresh = episodic.episode_dataset(split, 3, 1, 2, image_size=16, seed=2, within_alphabet=True)
    resumed = episodic.episode_dataset(split, 3, 1, 2, image_size=16, seed=2, within_alphabet=True, start_step=4)
    expected = list(fresh.skip(4).take(2))
    for (episode, labels), (other, other_labels) in zip(expected, resumed.take(2), strict=True):
        for key in episode:
            np.testing.assert_array_equal(numpy(episode[key]), numpy(other[key]))
        np.testing.assert_array_equal(numpy(labels), numpy(other_labels))


def test_within_alphabet_episodes_stay_in_one_alphabet():
    split = synthetic_split((6, 4, 3))
    ids = split.alphabet_ids
    stream = episodic.episode_indices_stream(split, 3, within_alphabet=True)
    for characters, *_ in itertools.islice(stream, 20):
        assert len(set(ids[characters])) == 1


def test_impossible_episodes_fail_up_front():
    with pytest.raises(ValueError, match="n_way"):
        episodic.episode_dataset(synthetic_split((3, 2)), 4, within_alphabet=True, image_size=16)


@pytest.mark.parametrize("method", ["prototypical", "matching"])
def test_a_few_steps_of_fit(method):
    split = synthetic_split()
    dataset = episodic.episode_dataset(split, 3, 1, 2, image_size=16, seed=0)
    model = trainer.compile_model(
        episodic.build_episodic(method, image_size=16, filters=4, blocks=2, seed=0),
        TrainingConfig(model=method, learning_rate=1e-2),
    )
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(dataset, steps_per_epoch=3, epochs=2, verbose=0, shuffle=False)
    assert np.all(np.isfinite(history.history["loss"]))
    assert 0.0 <= history.history["accuracy"][-1] <= 1.0
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))
