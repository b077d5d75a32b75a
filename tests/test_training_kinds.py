"""The episodic and transfer model kinds through the training machinery, and the shared streams."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import RUN_FIELDS, synthetic_split, tiny_run_config

import oneshot_lib
from oneshot_lib.data import streams
from oneshot_lib.files import sha256_of
from oneshot_lib.models import episodic, pairs, transfer
from oneshot_lib.scoring import evaluate, rules
from oneshot_lib.train import config_options, parser
from oneshot_lib.training import callbacks, kinds, loading, run_folder, trainer
from oneshot_lib.training.config import TrainingConfig

#: The config fields every run records, whatever its kind (optimiser options aside).
ALL_KINDS = ["contrastive", "maml", "masked", "matching", "prototypical", "reptile", "rotation", "siamese", "transfer"]
NEW_FIELDS = ("n_way", "k_shot", "n_query", "episode_within_alphabet", "rotate_classes", "image_size")


# ------------------------------------------------------------------ the shared stream helper


def test_seeded_index_stream_repeats_and_resumes():
    def sample(rng):
        return rng.integers(100, size=3), rng.random(2)

    first = [next(streams.seeded_index_stream(sample, seed=7)) for _ in range(2)]
    a, b = first
    np.testing.assert_array_equal(a[0], b[0])  # each call is a fresh stream from step 0
    stream = streams.seeded_index_stream(sample, seed=7)
    batches = [next(stream) for _ in range(3)]
    assert [batch[-1] for batch in batches] == [0, 1, 2]
    resumed = next(streams.seeded_index_stream(sample, seed=7, start_step=2))
    for x, y in zip(batches[2], resumed, strict=True):
        np.testing.assert_array_equal(x, y)
    other = next(streams.seeded_index_stream(sample, seed=8))
    assert not np.array_equal(other[0], batches[0][0])


def test_gathered_dataset_keeps_the_index_order():
    images = np.arange(10, dtype=np.float32) * 10

    def indices():
        return streams.seeded_index_stream(lambda rng: (rng.integers(10, size=4),), seed=3)

    signature = (streams.tf.TensorSpec((4,), streams.tf.int64), streams.tf.TensorSpec((), streams.tf.int64))
    dataset = streams.gathered_dataset(indices, signature, lambda i, step: (streams.tf.gather(images, i), step))
    expected = indices()
    for gathered, step in dataset.take(5):
        index, expected_step = next(expected)
        np.testing.assert_array_equal(gathered.numpy(), images[index])
        assert int(step) == expected_step


# ------------------------------------------------------------------ configs and the command line


def test_the_command_line_offers_every_kind_and_the_episode_flags():
    choices = next(a.choices for a in parser()._actions if a.dest == "model")
    assert sorted(choices) == ALL_KINDS
    args = parser().parse_args(
        "--output o --steps 3 --model matching --n-way 5 --k-shot 2 --n-query 3 --rotate-classes "
        "--episode-within-alphabet --image-size 32".split()
    )
    options = config_options(args)
    config = TrainingConfig(**options)
    assert (config.model, config.n_way, config.k_shot, config.n_query, config.image_size) == ("matching", 5, 2, 3, 32)
    assert config.rotate_classes and config.episode_within_alphabet
    with pytest.raises(SystemExit):
        parser().parse_args(["--output", "o", "--model", "relation"])


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(model="relation"), "unknown model 'relation'"),
        (dict(model="prototypical", image_size=8), "image_size 8 is too small"),
        (dict(model="transfer", image_size=8), "image_size 8 is too small"),
        (dict(model="matching", n_way=1), "n_way must be at least 2"),
        (dict(model="prototypical", k_shot=0), "k_shot must be at least 1"),
        (dict(model="prototypical", n_query=0), "n_query must be at least 1"),
        (dict(model="contrastive", augment=False), "needs augment=True"),
        (dict(model="contrastive", batch_size=1), "at least 2 drawings"),
        (dict(model="contrastive", distortion_strength=4.0), "distortion strength must lie in"),
        (dict(model="rotation", distortion_strength=4.0), "distortion strength must lie in"),
        (dict(model="rotation", image_size=8), "image_size 8 is too small"),
    ],
)
def test_impossible_kind_configs_are_rejected(changes, message):
    with pytest.raises(ValueError, match=message):
        kinds.kind_of(TrainingConfig(**changes))


def test_odd_batches_are_fine_outside_the_siamese_kind():
    assert TrainingConfig(model="transfer", batch_size=7).batch_size == 7
    assert TrainingConfig(model="prototypical", batch_size=7, image_size=8 * 2).batch_size == 7


def test_an_old_siamese_config_still_loads():
    old = {k: v for k, v in TrainingConfig().to_json().items() if k not in NEW_FIELDS}
    config = TrainingConfig.from_json(old)
    assert config == TrainingConfig()
    assert TrainingConfig.from_json(config.to_json()) == config
    with pytest.raises(ValueError, match="unknown training config fields"):
        TrainingConfig.from_json({**old, "ways": 5})


# ------------------------------------------------------------------ whole runs of each kind

EXPECTED_SCORERS = {
    "prototypical": episodic.PrototypicalScorer,
    "matching": episodic.MatchingScorer,
    "transfer": transfer.CosineScorer,
}


@pytest.mark.parametrize("model", sorted(EXPECTED_SCORERS))
def test_each_kind_trains_writes_its_files_and_resumes(model, splits, tmp_path):
    train_data, validation_data = splits
    folder = tmp_path / model
    history = trainer.train(
        tiny_run_config(model), folder, train_data=train_data, validation_data=validation_data, verbose=0
    )
    names = {"config.json", "history.json", "best.weights.h5", "last.keras", "log.txt"}
    assert names <= {p.name for p in folder.iterdir()}
    assert [record.step for record in history.epochs] == [1, 2]
    record = history.last
    assert 0.0 <= record.val_oneshot_accuracy <= 1.0 and np.isfinite(record.loss)
    seen = {"prototypical": "episodes_seen", "matching": "episodes_seen", "transfer": "images_seen"}[model]
    assert record.seen_name == seen and record.seen == 2 * (1 if seen == "episodes_seen" else 8)
    saved = json.loads((folder / "config.json").read_text())
    assert saved["config"]["model"] == model and saved["model"]["config"]["image_size"] == 16
    # Only what applies to the kind is recorded: no siamese L2 factors, no SGD schedule.
    assert set(saved["config"]) == set(kinds.kind_of(tiny_run_config(model)).options) | RUN_FIELDS | {"halve_lr_every"}

    scorer = loading.load_run_scorer(folder)
    assert type(scorer) is EXPECTED_SCORERS[model]
    scores = scorer.scores(train_data.images[0, :2], train_data.images[1, :3])
    assert scores.shape == (2, 3) and np.all(np.isfinite(scores))
    assert type(loading.load_run_scorer(folder, "last")) is EXPECTED_SCORERS[model]

    resumed = trainer.train(
        tiny_run_config(model, max_steps=3), folder, train_data=train_data, validation_data=validation_data, verbose=0
    )
    assert [record.step for record in resumed.epochs] == [1, 2, 3]
    assert resumed.epochs[:2] == history.epochs
    assert "resuming" in (folder / "log.txt").read_text()

    # The best checkpoint loads in full: put the last weights there and read them back.
    last, _ = loading.load_run_model(folder, "last")
    callbacks.save_weights_only(last, folder / "best.weights.h5")
    files = run_folder.RunFiles(folder)
    recorded = run_folder.read_history(files)
    run_folder.write_history(files, dataclasses.replace(recorded, best_sha256=sha256_of(files.best)))  # as runs do
    best, _ = loading.load_run_model(folder, "best")
    assert type(best) is type(last)
    for a, b in zip(best.get_weights(), last.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="another config.*image_size"):
        trainer.train(
            tiny_run_config(model, image_size=32),
            folder,
            train_data=train_data,
            validation_data=validation_data,
            verbose=0,
        )


def test_the_kinds_datasets_follow_the_config(splits):
    train_data, _ = splits
    episode, labels = next(iter(kinds.MODEL_KINDS["matching"].dataset(train_data, tiny_run_config("matching"), 0)))
    assert episode["support"].shape == (3, 16, 16, 1) and episode["query"].shape == (6, 16, 16, 1)
    assert labels.shape == (6,)
    images, labels = next(iter(kinds.MODEL_KINDS["transfer"].dataset(train_data, tiny_run_config("transfer"), 0)))
    assert images.shape == (8, 16, 16, 1) and labels.shape == (8,)
    with pytest.raises(ValueError, match="training split"):
        kinds.MODEL_KINDS["transfer"].build(tiny_run_config("transfer"), None)


# ------------------------------------------------------------------ k-shot prototypes


class InkGrid(episodic.PrototypicalScorer):
    """A prototypical scorer whose embedding is the ink of a 5x5 grid of cells (exact, batch-independent)."""

    def __init__(self):
        super().__init__(embedding=None)

    def embed(self, images):
        images = np.asarray(images, dtype=np.float64)
        return images.reshape(len(images), 5, 21, 5, 21).mean(axis=(2, 4)).reshape(len(images), -1)


def test_evaluate_uses_a_class_rule_on_both_paths_and_the_mean_rule_for_other_scorers():
    data = synthetic_split((6, 5), drawings=6, seed=2)
    arguments = dict(n_tasks=12, n_query=2, seed=3)
    scorer = InkGrid()

    class RawImagesOnly:  # the class rule without embed/compare: evaluate.accuracy's plain path
        def scores(self, query, support):
            return scorer.scores(query, support)

        def class_scores(self, query, support, support_labels, n_way):
            return scorer.class_scores(query, support, support_labels, n_way)

    for k_shot in (1, 3):
        embedded = evaluate.accuracy(scorer, data, 4, k_shot, **arguments)
        raw = evaluate.accuracy(RawImagesOnly(), data, 4, k_shot, **arguments)
        np.testing.assert_array_equal(embedded.per_task, raw.per_task)
    three_shot_means = evaluate.accuracy(lambda q, s: scorer.scores(q, s), data, 4, 3, **arguments)
    assert not np.array_equal(embedded.per_task, three_shot_means.per_task)  # the rule is not the mean here
    one_shot_means = evaluate.accuracy(lambda q, s: scorer.scores(q, s), data, 4, 1, **arguments)
    np.testing.assert_array_equal(evaluate.accuracy(scorer, data, 4, 1, **arguments).per_task, one_shot_means.per_task)
    network = episodic.build_episodic("prototypical", image_size=16, filters=4, blocks=2, seed=0)
    cosine = transfer.CosineScorer(network.embedding, 16)
    np.testing.assert_array_equal(
        evaluate.accuracy(cosine, data, 4, 2, **arguments).per_task,
        evaluate.accuracy(lambda q, s: cosine.scores(q, s), data, 4, 2, **arguments).per_task,
    )


def test_with_k_shots_the_class_mean_of_image_scores_is_not_the_prototype_rule():
    """Two tight classes and one spread-out class whose prototype is nearest to the query."""

    class Fixed(episodic.PrototypicalScorer):
        def __init__(self, table):
            super().__init__(embedding=None)
            self.table = table

        def embed(self, images):
            return self.table[np.round(np.asarray(images)[:, 0, 0] * 4).astype(int)]

    # Embeddings indexed by the ink of pixel (0, 0), in quarters: query 0 at the origin; class A's
    # shots at +-3 (prototype 0, far shots), class B's at 1 (prototype 1, tight shots).
    table = np.array([[0.0], [-3.0], [3.0], [1.0], [1.0]], dtype=np.float32)
    images = np.zeros((5, 105, 105))
    images[:, 0, 0] = np.arange(5) / 4
    scorer, labels = Fixed(table), np.array([0, 0, 1, 1])
    exact = scorer.class_scores(images[:1], images[1:], labels, 2)
    averaged = rules.class_scores(scorer.scores(images[:1], images[1:]), labels, 2)
    assert exact.argmax() == 0 and averaged.argmax() == 1  # the per-image mean would pick B


MODEL_MODULES = sorted(path.stem for path in (Path(oneshot_lib.__file__).parent / "models").glob("[!_]*.py"))


@pytest.mark.parametrize("first", MODEL_MODULES)
def test_every_kind_is_known_whichever_module_is_imported_first(first):
    code = f"import oneshot_lib.models.{first}; from oneshot_lib.training.kinds import MODEL_KINDS; "
    code += "print(sorted(MODEL_KINDS))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split("\n")[-2] == str(ALL_KINDS)


# ------------------------------------------------------------------ the controlled comparison's options


def test_pair_stream_turns_both_images_of_a_same_pair_alike(splits):
    train_data, _ = splits
    left, right, same, left_turns, right_turns, _ = next(
        pairs.pair_indices_stream(train_data, 16, seed=3, rotate_classes=True)
    )
    assert np.array_equal(left_turns[same == 1], right_turns[same == 1])
    assert set(np.concatenate([left_turns, right_turns])) <= {0, 1, 2, 3}
    inputs, _ = next(iter(pairs.pair_dataset(train_data, 16, seed=3, augment=False, rotate_classes=True)))
    first = np.rot90(train_data.images[tuple(left[0])], k=int(left_turns[0]))
    np.testing.assert_array_equal(inputs["left"].numpy()[0], first.astype(np.float32))
    unturned = next(pairs.pair_indices_stream(train_data, 16, seed=3))
    np.testing.assert_array_equal(unturned[0], left)  # the turns are drawn after the pairs


@pytest.mark.parametrize(
    "model, changes",
    [
        ("siamese", dict(size="conv4", rotate_classes=True)),
        ("prototypical", dict(backbone="koch-cpu", image_size=52)),
    ],
)
def test_an_objective_trains_on_the_other_backbone_and_reloads(model, changes, splits, tmp_path):
    train_data, validation_data = splits
    config = tiny_run_config(model, **changes)
    trainer.train(config, tmp_path, train_data=train_data, validation_data=validation_data, verbose=0)
    model_now, _ = loading.load_run_model(tmp_path, "last")
    best, _ = loading.load_run_model(tmp_path, "best")
    assert best.count_params() == model_now.count_params()
    scores = loading.load_run_scorer(tmp_path).scores(train_data.images[0, :2], train_data.images[1, :3])
    assert scores.shape == (2, 3) and np.isfinite(scores).all()


def test_an_unknown_backbone_is_refused():
    with pytest.raises(ValueError, match="unknown backbone 'resnet'"):
        kinds.kind_of(TrainingConfig(model="prototypical", backbone="resnet"))
    with pytest.raises(ValueError, match="smaller than"):
        kinds.kind_of(TrainingConfig(model="prototypical", backbone="koch-cpu", image_size=20))
