"""Test-time shifts: the wrapper averages embeddings of shifted copies and compares as before."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import tiny_run_config

from oneshot_lib import pretrained
from oneshot_lib.models import episodic
from oneshot_lib.scoring import contract, shifts
from oneshot_lib.training import config as config_module
from oneshot_lib.training import loading, trainer
from oneshot_lib.training.records import ScoringChoice
from oneshot_lib.training.run_folder import RunFolderError


class RowInk:
    """A toy embedding scorer: the embedding is the ink in each row (not shift-invariant)."""

    name = "row-ink"
    network = "the wrapped network"

    def embed(self, images):
        return np.asarray(images, np.float64).sum(axis=-1)

    def compare(self, query, support):
        return -np.abs(query[:, None] - support[None]).sum(axis=-1)

    def scores(self, query, support):
        return self.compare(self.embed(query), self.embed(support))


class RowInkPrototypes(RowInk):
    def compare_classes(self, query, support, support_labels, n_way):
        prototypes = np.stack([support[support_labels == c].mean(axis=0) for c in range(n_way)])
        return self.compare(query, prototypes)


def test_no_shift_is_the_scorer_itself():
    scorer = RowInk()
    assert shifts.average_over_shifts(scorer, 0) is scorer


def test_the_embedding_is_the_mean_over_the_nine_shifted_copies():
    images = np.random.default_rng(0).random((3, 9, 9)) < 0.3
    wrapped = shifts.average_over_shifts(RowInk(), 2)
    copies = [np.roll(images, (dy, dx), (-2, -1)) for dy in (-2, 0, 2) for dx in (-2, 0, 2)]
    expected = np.mean([RowInk().embed(copy) for copy in copies], axis=0)
    np.testing.assert_allclose(wrapped.embed(images), expected)
    # Row ink does not change under horizontal shifts, only vertical ones: a check on the axes.
    one = np.zeros((1, 9, 9), bool)
    one[0, 4, 4] = True
    np.testing.assert_allclose(wrapped.embed(one)[0, [2, 4, 6]], [1 / 3, 1 / 3, 1 / 3])
    assert wrapped.embed(one)[0].sum() == pytest.approx(1.0)
    assert wrapped.embed(np.zeros((0, 9, 9), bool)).shape == (0, 9)


def test_the_wrapper_keeps_the_class_rule_and_scores_like_its_parts():
    images = np.random.default_rng(1).random((6, 9, 9)) < 0.3
    plain = shifts.average_over_shifts(RowInk(), 1)
    with_rule = shifts.average_over_shifts(RowInkPrototypes(), 1)
    assert not isinstance(plain, contract.ClassComparer)
    assert isinstance(with_rule, contract.ClassComparer)
    query, support = images[:2], images[2:]
    np.testing.assert_allclose(plain.scores(query, support), plain.compare(plain.embed(query), plain.embed(support)))
    labels = np.array([0, 1, 0, 1])
    expected = RowInkPrototypes().compare_classes(with_rule.embed(images[:2]), with_rule.embed(images[2:]), labels, 2)
    np.testing.assert_allclose(with_rule.class_scores(images[:2], images[2:], labels, 2), expected)
    assert with_rule.name == "row-ink"
    # Other attributes are the wrapped scorer's; a class rule only where the wrapper applies the shifts.
    assert plain.embed.__self__ is plain and plain.compare.__self__ is plain
    assert plain.__class__ is shifts.ShiftAveraged and not hasattr(plain, "compare_classes")
    assert plain.network == "the wrapped network"


def test_a_scorer_without_embeddings_or_a_negative_shift_is_refused():
    with pytest.raises(TypeError, match="embeds each image"):
        shifts.average_over_shifts(lambda query, support: np.zeros((len(query), len(support))), 1)
    with pytest.raises(ValueError, match="pixels must be 0 or more"):
        shifts.ShiftAveraged(RowInk(), -1)


@pytest.mark.parametrize(
    "pixels, message",
    [(11, "at most 10"), (1000, "at most 10"), (2.5, "a whole number"), (True, "a whole number"), (-3, "0 or more")],
)
def test_shifts_that_wrap_the_drawing_or_are_not_whole_pixels_are_refused(pixels, message):
    for wrap in (shifts.average_over_shifts, shifts.ShiftAveraged):
        with pytest.raises(ValueError, match=f"pixels must be {message}"):
            wrap(RowInk(), pixels)
    assert shifts.average_over_shifts(RowInk(), np.int64(10)).pixels == 10


def test_training_on_the_validation_alphabets_needs_a_step_budget():
    with pytest.raises(ValueError, match="needs a step budget and no minutes"):
        config_module.TrainingConfig(train_on_validation_alphabets=True, minutes=5)
    with pytest.raises(ValueError, match="needs a step budget"):
        config_module.TrainingConfig(train_on_validation_alphabets=True)
    config_module.TrainingConfig(train_on_validation_alphabets=True, max_steps=10)


def test_a_run_without_selection_keeps_its_last_weights_and_scores_with_its_shifts(splits, tmp_path):
    train_data, validation_data = splits
    config = tiny_run_config("prototypical", max_steps=3, train_on_validation_alphabets=True, test_shifts=2)
    history = trainer.train(config, tmp_path, train_data=train_data, validation_data=validation_data, verbose=0)
    assert history.best_epoch == 3  # the last epoch, whatever its validation accuracy
    last, _ = loading.load_run_model(tmp_path, "last")
    best, _ = loading.load_run_model(tmp_path, "best")
    for a, b in zip(best.get_weights(), last.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    scorer = loading.load_run_scorer(tmp_path)
    assert isinstance(scorer, shifts.ShiftAveragedClasses) and scorer.pixels == 2
    saved = json.loads((tmp_path / "config.json").read_text())["config"]
    assert saved["test_shifts"] == 2 and saved["train_on_validation_alphabets"] is True


def test_a_fraction_of_the_characters_is_a_seeded_subset(splits):
    train_data, _ = splits
    half = train_data.sample_characters(0.5, seed=3)
    assert len(half) == 6 and half.sample_characters(1.0).images.shape == half.images.shape
    again = train_data.sample_characters(0.5, seed=3)
    np.testing.assert_array_equal(half.images, again.images)
    assert len(train_data.sample_characters(0.01)) == 1
    with pytest.raises(ValueError, match=r"fraction must lie in \(0, 1\]"):
        train_data.sample_characters(0.0)
    assert trainer.training_characters(train_data, tiny_run_config(label_fraction=1.0)) is train_data
    kept = trainer.training_characters(train_data, tiny_run_config(label_fraction=0.5, seed=3))
    np.testing.assert_array_equal(kept.images, half.images)


def test_a_run_trains_on_its_fraction_of_the_characters(splits, tmp_path):
    train_data, validation_data = splits
    # A tenth of 12 characters is one: too few for 3-way episodes, refused before anything is written.
    with pytest.raises(ValueError, match="n_way=3 is more characters"):
        trainer.train(
            tiny_run_config("prototypical", label_fraction=0.1),
            tmp_path / "run",
            train_data=train_data,
            validation_data=validation_data,
            verbose=0,
        )
    assert not (tmp_path / "run").exists()


def test_a_run_can_start_its_embedding_from_another_run(splits, tmp_path):
    train_data, validation_data = splits
    trainer.train(
        tiny_run_config("contrastive"),
        tmp_path / "pretext",
        train_data=train_data,
        validation_data=validation_data,
        verbose=0,
    )
    source, _ = loading.load_run_model(tmp_path / "pretext")
    config = tiny_run_config("prototypical", start_from=str(tmp_path / "pretext"), max_steps=1, learning_rate=1e-9)
    trainer.train(config, tmp_path / "tuned", train_data=train_data, validation_data=validation_data, verbose=0)
    tuned, _ = loading.load_run_model(tmp_path / "tuned", "last")
    # A step at 1e-9 barely moves the copied weights (batch norm's running statistics do move).
    for a, b in zip(
        trainer.embedding_of(source).trainable_weights, trainer.embedding_of(tuned).trainable_weights, strict=True
    ):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)
    narrower = episodic.build_episodic("prototypical", image_size=16, filters=8)
    with pytest.raises(ValueError, match="does not fit this run's"):
        trainer.copy_embedding(str(tmp_path / "pretext"), narrower)


def test_a_scoring_choice_recorded_after_training_sets_the_shifts(splits, tmp_path):
    train_data, validation_data = splits
    trainer.train(
        tiny_run_config("prototypical"), tmp_path, train_data=train_data, validation_data=validation_data, verbose=0
    )
    assert not isinstance(loading.load_run_scorer(tmp_path), shifts.ShiftAveraged)
    before = (tmp_path / "config.json").read_text()
    for pixels, chosen, message in [(11, "why", "at most 10"), (2.5, "why", "a whole number"), (3, " ", "say how")]:
        with pytest.raises(ValueError, match=message):
            pretrained.record_scoring_choice(tmp_path, pixels, chosen)
    with pytest.raises(RunFolderError, match="config.json is missing"):
        pretrained.record_scoring_choice(tmp_path / "no-run", 3, "on validation")
    assert (tmp_path / "config.json").read_text() == before  # refused before anything was written

    record = pretrained.record_scoring_choice(tmp_path, 3, "on validation")
    assert record.scoring == ScoringChoice(3, "on validation") and record.config.test_shifts == 0
    written = json.loads((tmp_path / "config.json").read_text())
    assert written == {**json.loads(before), "scoring": {"test_shifts": 3, "chosen": "on validation"}}
    assert pretrained.run_record(tmp_path) == record
    scorer = loading.load_run_scorer(tmp_path)
    assert isinstance(scorer, shifts.ShiftAveraged) and scorer.pixels == 3
    pretrained.record_scoring_choice(tmp_path, 0, "on validation, again")  # a later choice replaces it
    assert not isinstance(loading.load_run_scorer(tmp_path), shifts.ShiftAveraged)
