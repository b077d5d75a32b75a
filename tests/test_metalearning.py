"""MAML, first-order MAML and Reptile: the inner loop, the outer gradients, the Reptile step, whole runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import chapter_from_scratch, synthetic_split, tiny_run_config

from oneshot_lib import pretrained, train
from oneshot_lib.backend import keras, tf
from oneshot_lib.models import adaptation, metalearning
from oneshot_lib.scoring import evaluate
from oneshot_lib.training import kinds, trainer
from oneshot_lib.training.config import TrainingConfig

TINY = dict(image_size=8, filters=3, blocks=2)


def tiny_model(method: str = "maml", **options) -> metalearning.MetaLearner:
    return metalearning.build_metalearner(method, seed=0, **TINY, **options)


def tiny_task(seed: int = 0, n_way: int = 3, k_shot: int = 2, n_query: int = 2, dtype: str = "float32"):
    """(episode, query_labels) with random images (n, 8, 8, 1), the support shuffled."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(n_way * k_shot)
    episode = {
        "support": tf.constant(rng.random((n_way * k_shot, 8, 8, 1)), dtype),
        "support_labels": tf.constant(np.repeat(np.arange(n_way), k_shot)[order], tf.int32),
        "query": tf.constant(rng.random((n_way * n_query, 8, 8, 1)), dtype),
    }
    return episode, tf.constant(np.repeat(np.arange(n_way), n_query), tf.int32)


def start_of(model: metalearning.MetaLearner, dtype=tf.float32) -> list[tf.Tensor]:
    return [tf.cast(tf.convert_to_tensor(weight), dtype) for weight in model.block_weights]


# ------------------------------------------------------------------ the functional network and the inner loop


def test_the_functional_network_is_the_keras_embedding_in_training_mode():
    model = tiny_model()
    images = np.random.default_rng(0).random((5, 8, 8, 1)).astype("float32")
    expected = model.embedding(images, training=True)
    np.testing.assert_allclose(adaptation.embed(start_of(model), images), expected, rtol=1e-5, atol=1e-6)
    assert metalearning.zero_head(start_of(model), images, 4)[-2].shape == (3 * 2 * 2, 4)  # 3 filters at 2x2


def test_the_inner_loop_lowers_the_support_loss_from_log_n():
    model = tiny_model()
    episode, _ = tiny_task()
    start = metalearning.zero_head(start_of(model), episode["support"], 3)
    images, labels = episode["support"], episode["support_labels"]
    before = float(adaptation.cross_entropy(start, images, labels))
    assert before == pytest.approx(np.log(3), rel=1e-6)  # a zero head: every class equally likely
    losses = [
        float(adaptation.cross_entropy(adaptation.adapt(start, images, labels, steps, 0.4), images, labels))
        for steps in (1, 5)
    ]
    assert before > losses[0] > losses[1]


def test_the_first_step_moves_only_the_zero_head_and_head_only_never_moves_the_blocks():
    model = tiny_model()
    episode, _ = tiny_task()
    start = metalearning.zero_head(start_of(model), episode["support"], 3)
    one = adaptation.adapt(start, episode["support"], episode["support_labels"], 1, 0.4)
    for before, after in zip(start[:-2], one[:-2], strict=True):
        np.testing.assert_array_equal(before, after)  # features get no gradient through a zero head
    assert np.abs(one[-2].numpy()).max() > 0
    two = adaptation.adapt(start, episode["support"], episode["support_labels"], 2, 0.4)
    assert max(np.abs(a - b).max() for a, b in zip(start[:-2], two[:-2], strict=True)) > 0
    head_only = adaptation.adapt(start, episode["support"], episode["support_labels"], 3, 0.4, head_only=True)
    for before, after in zip(start[:-2], head_only[:-2], strict=True):
        np.testing.assert_array_equal(before, after)


# ------------------------------------------------------------------ the outer gradients


def meta_loss(blocks, episode, query_labels, steps=2, rate=0.4) -> tf.Tensor:
    start = metalearning.zero_head(blocks, episode["support"], 3)
    query_logits = metalearning.adapted_query_logits(
        start, episode["support"], episode["support_labels"], episode["query"], steps, rate
    )
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(query_labels, query_logits))


def shifted(blocks: list[tf.Tensor], index: int, bump: np.ndarray) -> list[tf.Tensor]:
    return [block + bump if number == index else block for number, block in enumerate(blocks)]


def test_second_order_gradient_matches_finite_differences_of_the_adapted_query_loss():
    episode, query_labels = tiny_task(dtype="float64")
    blocks = start_of(tiny_model(), tf.float64)
    gradients, loss, _ = metalearning.maml_task_gradients(blocks, episode, query_labels, 2, 0.4)
    assert float(loss) == pytest.approx(float(meta_loss(blocks, episode, query_labels)), rel=1e-12)
    rng, h = np.random.default_rng(3), 1e-6
    for index in (0, 2, 3, 4, 7):  # a kernel, a gamma and a beta of each block
        position = tuple(rng.integers(size) for size in blocks[index].shape)
        bump = np.zeros(blocks[index].shape)
        bump[position] = h
        up, down = (shifted(blocks, index, sign * bump) for sign in (1, -1))
        numeric = (meta_loss(up, episode, query_labels) - meta_loss(down, episode, query_labels)) / (2 * h)
        assert float(gradients[index][position]) == pytest.approx(float(numeric), rel=1e-5, abs=1e-9)


def test_first_order_gradient_is_the_query_gradient_at_the_adapted_weights_and_not_the_second_order():
    episode, query_labels = tiny_task(seed=1)
    blocks = start_of(tiny_model())
    second, _, _ = metalearning.maml_task_gradients(blocks, episode, query_labels, 2, 0.4)
    first, _, _ = metalearning.maml_task_gradients(blocks, episode, query_labels, 2, 0.4, first_order=True)
    # The same thing by hand: adapt without any outer tape, then differentiate the query loss with
    # respect to the adapted weights as if they were the starting point.
    adapted = adaptation.adapt(
        metalearning.zero_head(blocks, episode["support"], 3), episode["support"], episode["support_labels"], 2, 0.4
    )
    with tf.GradientTape() as tape:
        tape.watch(adapted)
        both = tf.concat([episode["support"], episode["query"]], axis=0)
        query_logits = adaptation.logits(adapted, both, 6)[6:]
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(query_labels, query_logits))
    by_hand = tape.gradient(loss, adapted[:-2])
    for ours, theirs in zip(first, by_hand, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)
    largest = max(np.abs(a - b).max() / np.abs(b).max() for a, b in zip(first, second, strict=True))
    assert largest > 1e-2  # dropping the second derivatives changes the outer gradient


# ------------------------------------------------------------------ Reptile's step


def test_a_reptile_step_moves_the_initialisation_toward_the_adapted_weights_by_the_outer_rate():
    model = tiny_model("reptile", inner_steps=3, inner_learning_rate=0.3)
    model.compile(optimizer=keras.optimizers.SGD(0.25))
    tasks = [tiny_task(seed) for seed in (4, 5)]
    episodes = {name: tf.stack([task[0][name] for task in tasks]) for name in tasks[0][0]}
    query_labels = tf.stack([task[1] for task in tasks])
    before = [weight.numpy() for weight in model.block_weights]
    adapted_means = []
    for task_index in range(2):
        images = tf.concat([episodes["support"][task_index], episodes["query"][task_index]], axis=0)
        labels = tf.concat([episodes["support_labels"][task_index], query_labels[task_index]], axis=0)
        differences, _, _ = metalearning.reptile_task_difference(start_of(model), images, labels, 3, 0.3)
        adapted_means.append([b - d.numpy() for b, d in zip(before, differences, strict=True)])
    adapted = [np.mean(pair, axis=0) for pair in zip(*adapted_means, strict=True)]
    model.train_on_batch(episodes, query_labels)
    after = [weight.numpy() for weight in model.block_weights]
    for old, new, target in zip(before, after, adapted, strict=True):
        np.testing.assert_allclose(new, old + 0.25 * (target - old), rtol=1e-6, atol=1e-7)
    assert max(np.abs(new - old).max() for new, old in zip(after, before, strict=True)) > 1e-3


def test_class_balanced_order_deals_a_tasks_images_out_class_by_class():
    labels = tf.constant([2, 0, 0, 1, 2, 1, 0, 2, 1], tf.int32)
    order = adaptation.class_balanced_order(labels).numpy()
    assert sorted(order) == list(range(9))
    np.testing.assert_array_equal(labels.numpy()[order], [0, 1, 2, 0, 1, 2, 0, 1, 2])
    np.testing.assert_array_equal(order[:3], [1, 3, 0])  # each class's first image, in label order


def test_minibatches_cycle_through_whole_runs_of_images_and_drop_a_partial_one():
    images, labels = tf.reshape(tf.range(7, dtype=tf.float32), (7, 1, 1, 1)), tf.range(7)
    seen = [adaptation.minibatch(images, labels, step, 3)[1].numpy().tolist() for step in range(3)]
    assert seen == [[0, 1, 2], [3, 4, 5], [0, 1, 2]]
    assert adaptation.minibatch(images, labels, 5, 0)[1].numpy().tolist() == list(range(7))


def test_reptile_with_minibatches_adapts_each_step_on_the_next_balanced_minibatch():
    model = tiny_model("reptile")
    episode, query_labels = tiny_task(seed=6, n_way=3, k_shot=2, n_query=2)
    images = tf.concat([episode["support"], episode["query"]], axis=0)
    labels = tf.concat([episode["support_labels"], query_labels], axis=0)
    start = start_of(model)
    differences, _, _ = adaptation.reptile_task_difference(start, images, labels, 3, 0.3, batch_size=6)
    order = adaptation.class_balanced_order(labels)
    dealt_images, dealt_labels = tf.gather(images, order), tf.gather(labels, order)
    parameters = adaptation.zero_head(start, images, 3)
    for step in range(3):  # by hand: minibatches [0, 6), [6, 12), [0, 6)
        batch = slice(6 * (step % 2), 6 * (step % 2) + 6)
        with tf.GradientTape() as tape:
            tape.watch(parameters)
            loss = adaptation.cross_entropy(parameters, dealt_images[batch], dealt_labels[batch])
        parameters = [p - 0.3 * g for p, g in zip(parameters, tape.gradient(loss, parameters), strict=True)]
    for difference, initial, moved in zip(differences, start, parameters[:-2], strict=True):
        np.testing.assert_allclose(difference.numpy(), (initial - moved).numpy(), rtol=1e-5, atol=1e-6)
    full_batch, _, _ = adaptation.reptile_task_difference(start, images, labels, 3, 0.3)
    assert max(np.abs((a - b).numpy()).max() for a, b in zip(differences, full_batch, strict=True)) > 1e-4


# ------------------------------------------------------------------ the scorer


def test_the_scorer_scores_each_support_image_as_its_class_and_applies_k_shot_labels():
    model = tiny_model(test_inner_steps=2)
    scorer = model.scorer()
    rng = np.random.default_rng(0)
    images = rng.random((7, 105, 105)) < 0.1
    query, support = images[:3], images[3:]
    scores = scorer.scores(query, support)
    assert scores.shape == (3, 4) and scores.dtype == np.float64
    np.testing.assert_array_equal(scores, scorer.class_scores(query, support, np.arange(4), 4))
    two_shot = scorer.class_scores(query, support, np.array([1, 0, 0, 1]), 2)
    assert two_shot.shape == (3, 2)
    swapped = scorer.class_scores(query, support, np.array([0, 1, 1, 0]), 2)
    np.testing.assert_allclose(swapped[:, ::-1], two_shot, rtol=1e-5, atol=1e-6)  # only the labels matter
    with pytest.raises(ValueError, match="no support image"):
        scorer.class_scores(query, support, np.array([0, 0, 0, 0]), 2)
    assert type(model.scorer(steps=5).steps) is int and model.scorer(steps=5).steps == 5


def test_a_support_set_of_another_image_size_is_refused():
    scorer = tiny_model().scorer()
    with pytest.raises(ValueError, match="images of one size"):
        scorer.scores(np.zeros((2, 105, 105)), np.zeros((3, 52, 52)))
    with pytest.raises(ValueError, match="square"):
        scorer.scores(np.zeros((2, 105, 90)), np.zeros((3, 105, 90)))


# ------------------------------------------------------------------ configs


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(inner_learning_rate=0.0), "inner_learning_rate must be positive"),
        (dict(inner_learning_rate=-0.1), "inner_learning_rate must be positive"),
        (dict(inner_learning_rate=float("nan")), "inner_learning_rate must be a finite number"),
        (dict(inner_learning_rate=float("inf")), "inner_learning_rate must be a finite number"),
        (dict(inner_steps=0), "inner_steps must be at least 1"),
        (dict(inner_steps=-2), "inner_steps must be at least 1"),
        (dict(test_inner_steps=0), "test_inner_steps must be at least 1"),
        (dict(meta_batch_size=0), "meta_batch_size must be at least 1"),
    ],
)
def test_bad_inner_loop_values_are_usage_errors_before_any_data_is_loaded(changes, message, monkeypatch, capsys):
    with pytest.raises(ValueError, match=message):
        TrainingConfig(model="maml", **changes)
    monkeypatch.setattr(train, "load_omniglot", lambda *args: pytest.fail("data loaded before the check"))
    flags = [f"--{name.replace('_', '-')}={value}" for name, value in changes.items()]
    with pytest.raises(SystemExit) as stopped:
        train.main(["--output", "unused", "--steps", "1", "--model", "reptile", *flags])
    assert stopped.value.code == 2 and message.split(" must")[0] in capsys.readouterr().err


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(model="maml", backbone="koch-cpu", image_size=52), "written for the conv4 backbone"),
        (dict(model="reptile", test_shifts=2), "drop --test-shifts"),
        (dict(model="reptile", first_order=True), "first_order applies to maml only"),
        (dict(model="reptile", inner_steps=1), "reptile needs --inner-steps of at least 2"),
        (dict(model="reptile", n_way=5, k_shot=1, n_query=1, inner_batch_size=11), "more than a training task's 10"),
    ],
)
def test_configs_a_meta_learner_cannot_run_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        kinds.kind_of(TrainingConfig(**changes))


def test_bad_inner_loop_values_are_refused_by_the_library_too():
    with pytest.raises(ValueError, match="inner_learning_rate"):
        tiny_model(inner_learning_rate=float("nan"))
    with pytest.raises(ValueError, match="test_inner_steps"):
        tiny_model(test_inner_steps=0)
    with pytest.raises(ValueError, match="Reptile needs inner_steps >= 2"):
        tiny_model("reptile", inner_steps=1)
    with pytest.raises(ValueError, match="inner_batch_size must be a whole number"):
        tiny_model("reptile", inner_batch_size=-1)
    with pytest.raises(ValueError, match="unknown meta-learning method"):
        metalearning.build_metalearner("anil")


# ------------------------------------------------------------------ whole runs


@pytest.mark.parametrize(
    "model, options", [("maml", dict(first_order=False)), ("reptile", {}), ("reptile", dict(inner_batch_size=4))]
)
def test_a_tiny_run_of_each_kind_loads_and_scores_with_evaluate(model, options, splits, tmp_path):
    train_data, validation_data = splits
    config = tiny_run_config(model, meta_batch_size=2, inner_steps=2, test_inner_steps=2, **options)
    folder = tmp_path / model
    history = trainer.train(config, folder, train_data=train_data, validation_data=validation_data, verbose=0)
    assert [record.step for record in history.epochs] == [1, 2]
    assert history.last.seen == 4 and np.isfinite(history.last.loss)
    scorer = pretrained.load(folder)
    assert isinstance(scorer, metalearning.AdaptingScorer) and scorer.name == model and scorer.steps == 2
    data = synthetic_split((4, 4), drawings=5, seed=3)
    for k_shot in (1, 2):
        result = evaluate.accuracy(scorer, data, 3, k_shot, n_tasks=3, seed=0)
        assert 0.0 <= result.mean <= 1.0 and result.n_tasks == 3
    resumed = trainer.train(
        tiny_run_config(model, meta_batch_size=2, inner_steps=2, test_inner_steps=2, max_steps=3, **options),
        folder,
        train_data=train_data,
        validation_data=validation_data,
        verbose=0,
    )
    assert [record.step for record in resumed.epochs] == [1, 2, 3]


def test_inner_steps_chosen_after_training_are_what_the_loaded_scorer_adapts_with(splits, tmp_path):
    train_data, validation_data = splits
    config = tiny_run_config("reptile", meta_batch_size=2, inner_steps=2, test_inner_steps=2, max_steps=1)
    trainer.train(config, tmp_path, train_data=train_data, validation_data=validation_data, verbose=0)
    written = (tmp_path / "config.json").read_text()
    for steps in (0, 2.5, True):
        with pytest.raises(ValueError, match="test_inner_steps must be a whole number"):
            pretrained.record_scoring_choice(tmp_path, 0, "on validation", test_inner_steps=steps)
    assert (tmp_path / "config.json").read_text() == written
    record = pretrained.record_scoring_choice(tmp_path, 0, "10 steps best on validation", test_inner_steps=10)
    assert record.test_inner_steps == 10 and record.config.test_inner_steps == 2
    assert json.loads((tmp_path / "config.json").read_text())["scoring"]["test_inner_steps"] == 10
    assert pretrained.load(tmp_path).steps == 10
    pretrained.record_scoring_choice(tmp_path, 0, "the trained steps, again")  # a later choice replaces it
    assert pretrained.load(tmp_path).steps == 2


def test_inner_steps_are_refused_as_the_scoring_choice_of_a_model_that_does_not_adapt(splits, tmp_path):
    train_data, validation_data = splits
    config = tiny_run_config("prototypical", max_steps=1)
    trainer.train(config, tmp_path, train_data=train_data, validation_data=validation_data, verbose=0)
    with pytest.raises(ValueError, match="applies to meta-learners"):
        pretrained.record_scoring_choice(tmp_path, 0, "on validation", test_inner_steps=3)


def test_first_order_maml_trains_through_the_trainer_and_records_its_option(splits, tmp_path):
    train_data, validation_data = splits
    config = tiny_run_config("maml", meta_batch_size=2, first_order=True, max_steps=1)
    trainer.train(config, tmp_path, train_data=train_data, validation_data=validation_data, verbose=0)
    record = pretrained.run_record(tmp_path)
    assert record.config.first_order is True and record.rebuild["model"]["config"]["first_order"] is True
    assert pretrained.load(tmp_path).steps == config.test_inner_steps


def test_the_meta_batch_stream_resumes_where_it_stopped(splits):
    train_data, _ = splits
    config = tiny_run_config("reptile", meta_batch_size=2)
    stream = kinds.MODEL_KINDS["reptile"].dataset(train_data, config, 0)
    batches = [batch for batch, _ in stream.take(2)]
    assert batches[0]["support"].shape == (2, 3, 16, 16, 1) and batches[0]["query"].shape == (2, 6, 16, 16, 1)
    resumed, _ = next(iter(kinds.MODEL_KINDS["reptile"].dataset(train_data, config, 1)))
    np.testing.assert_array_equal(resumed["support"], batches[1]["support"])


def test_calling_the_model_on_an_episode_is_the_scorers_adaptation():
    model = tiny_model(test_inner_steps=2, inner_learning_rate=0.3)
    episode, _ = tiny_task(seed=6)
    start = metalearning.zero_head(start_of(model), episode["support"], 3)
    expected = metalearning.adapted_query_logits(
        start, episode["support"], episode["support_labels"], episode["query"], 2, 0.3
    )
    np.testing.assert_allclose(model(episode), expected, rtol=1e-5, atol=1e-6)
    assert model(episode).shape == (6, 3)


# ------------------------------------------------------------------ the chapter's from-scratch code

CHAPTER = "09_maml_and_reptile.ipynb"


@pytest.mark.parametrize("first_order", [False, True])
def test_the_chapters_maml_gradient_is_the_librarys(first_order):
    chapter = chapter_from_scratch(CHAPTER, {"tf": tf, "adaptation": adaptation, "np": np}, 4)
    if first_order:  # the chapter's one-line change: query_loss calls the first-order inner loop
        chapter["inner_loop"] = chapter["first_order_inner_loop"]
    model = tiny_model()
    episode, query_labels = tiny_task(k_shot=1)
    task = (episode["support"], episode["support_labels"], episode["query"], query_labels)
    ours, _ = chapter["maml_gradients"](model.block_weights, task, 2, 0.3)
    library, _, _ = adaptation.maml_task_gradients(
        model.block_weights, episode, query_labels, 2, 0.3, first_order=first_order
    )
    for mine, theirs in zip(ours, library, strict=True):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("batch_size, library_batch_size", [(3, 3), (9, 0)])
def test_the_chapters_reptile_direction_is_the_librarys(batch_size, library_batch_size):
    """With minibatches as the library deals them, and with one full batch (the library's 0)."""
    chapter = chapter_from_scratch(CHAPTER, {"tf": tf, "adaptation": adaptation, "np": np}, 4)
    model = tiny_model("reptile")
    episode, query_labels = tiny_task(k_shot=1)
    images = tf.concat([episode["support"], episode["query"]], 0)
    labels = tf.concat([episode["support_labels"], query_labels], 0)
    ours = chapter["reptile_direction"](model.block_weights, images, labels, 4, 0.3, batch_size)
    library, _, _ = adaptation.reptile_task_difference(
        model.block_weights, images, labels, 4, 0.3, batch_size=library_batch_size
    )
    for mine, theirs in zip(ours, library, strict=True):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-4, atol=1e-6)
