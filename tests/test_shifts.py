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


# ------------------------------------------------------------------ shifts on paper, and 5x5 grids


def test_a_paper_shift_moves_the_drawing_and_lets_blank_paper_in():
    def ink(values) -> np.ndarray:  # 1 ... 16 as faint ink, 0.01 ... 0.16 (a drawing is mostly paper)
        return (np.asarray(values, np.float64) / 100).astype(np.float32)

    image = ink(np.arange(1, 17).reshape(1, 4, 4))
    copies = shifts.grid_shifted_copies(image, 1, "paper")
    assert len(copies) == 9
    down_right, up_left = copies[8][0], copies[0][0]  # moved by (1, 1) and by (-1, -1)
    np.testing.assert_array_equal(down_right, ink([[0, 0, 0, 0], [0, 1, 2, 3], [0, 5, 6, 7], [0, 9, 10, 11]]))
    np.testing.assert_array_equal(up_left, ink([[6, 7, 8, 0], [10, 11, 12, 0], [14, 15, 16, 0], [0, 0, 0, 0]]))
    np.testing.assert_array_equal(copies[4], image)  # the middle of the grid: not moved
    # A 5x5 grid: offsets -2, -1, 0, 1, 2 in each direction; (2, -2) is copy 4 * 5 + 0.
    five = shifts.grid_shifted_copies(image, 1, "paper", 5)
    assert len(five) == 25 and shifts.shift_offsets(3, 5) == (-6, -3, 0, 3, 6)
    np.testing.assert_array_equal(five[20][0], ink([[0, 0, 0, 0], [0, 0, 0, 0], [3, 4, 0, 0], [7, 8, 0, 0]]))
    # Wrapping copies on a 3x3 grid are shifted_copies' (the chapters' version), on a 5x5 np.roll's.
    for wrapped, rolled in zip(shifts.grid_shifted_copies(image, 1), shifts.shifted_copies(image, 1), strict=True):
        np.testing.assert_array_equal(wrapped, rolled)
    np.testing.assert_array_equal(shifts.grid_shifted_copies(image, 1, "wrap", 5)[0], np.roll(image, (-2, -2), (1, 2)))


def test_a_paper_shift_keeps_masks_and_reads_uint8_as_ink():
    mask = np.zeros((2, 5, 5), bool)
    mask[:, 0, 0] = True
    moved = shifts.grid_shifted_copies(mask, 2, "paper")
    assert all(copy.dtype == bool for copy in moved)
    assert moved[8][:, 2, 2].all() and moved[8].sum() == 2 and moved[0].sum() == 0  # up-left: the ink leaves
    paper = np.full((1, 5, 5), 255, np.uint8)  # as an image file holds it: 255 paper, 0 ink
    paper[0, 4, 4] = 0
    up_left = shifts.grid_shifted_copies(paper, 1, "paper")[0]
    assert up_left.dtype == np.float32
    np.testing.assert_array_equal(up_left[0], np.eye(5, dtype=np.float32)[3] * np.eye(5, dtype=np.float32)[:, [3]])


def test_averaging_over_paper_shifts_loses_what_leaves_the_frame():
    one = np.zeros((1, 9, 9), bool)
    one[0, 0, 4] = True  # ink on the top row: the shift up moves it out, the shift down to row 2
    wrapped = shifts.average_over_shifts(RowInk(), 2, "paper")
    assert type(wrapped) is shifts.GridShiftAveraged and (wrapped.fill, wrapped.grid) == ("paper", 3)
    np.testing.assert_allclose(wrapped.embed(one)[0], np.eye(9)[0] / 3 + np.eye(9)[2] / 3)
    five = shifts.average_over_shifts(RowInkPrototypes(), 1, "paper", 5)
    assert isinstance(five, contract.ClassComparer) and isinstance(five, shifts.GridShiftAveraged)
    np.testing.assert_allclose(five.embed(one)[0], (np.eye(9)[0] + np.eye(9)[1] + np.eye(9)[2]) / 5)
    assert five.embed(np.zeros((0, 9, 9), bool)).shape == (0, 9)
    # The 3x3 grid of wrapping shifts stays the class the chapters show, scoring exactly as before.
    assert type(shifts.average_over_shifts(RowInk(), 2, "wrap", 3)) is shifts.ShiftAveraged
    assert shifts.ShiftAveraged(RowInk(), 2).fill == "wrap"


@pytest.mark.parametrize(
    "pixels, fill, grid, message",
    [
        (3, "mirror", 3, "the fill of pixels must be one of 'wrap', 'paper', got 'mirror'"),
        (3, None, 3, "the fill of pixels must be one of"),
        (3, "paper", 4, r"the grid of pixels must be one of 3, 5 \(3x3 or 5x5\), got 4"),
        (3, "paper", 3.0, "the grid of pixels must be one of 3, 5"),
        (6, "wrap", 5, "pixels must be at most 5, got 6 times 2"),
        (105, "paper", 3, "pixels must be below 105, got 105: a shift of 105 pixels moves the drawing out"),
        (53, "paper", 5, "pixels must be below 53, got 53 times 2"),
        (-1, "paper", 3, "pixels must be 0 or more"),
        (2.0, "paper", 3, "pixels must be a whole number"),
    ],
)
def test_bad_grids_fills_and_shifts_that_leave_the_frame_are_refused(pixels, fill, grid, message):
    with pytest.raises(ValueError, match=message):
        shifts.average_over_shifts(RowInk(), pixels, fill, grid)


def test_paper_shifts_up_to_the_frame_are_allowed_and_checked_on_the_images_given():
    assert shifts.average_over_shifts(RowInk(), 104, "paper").pixels == 104
    assert shifts.average_over_shifts(RowInk(), 22, "paper", 5).grid == 5
    with pytest.raises(ValueError, match="moves the drawing out of a 9-pixel image entirely"):
        shifts.average_over_shifts(RowInk(), 5, "paper", 5).embed(np.zeros((1, 9, 9), bool))


def test_a_paper_choice_is_recorded_with_its_fill_and_grid(splits, tmp_path):
    train_data, validation_data = splits
    trainer.train(
        tiny_run_config("prototypical"), tmp_path, train_data=train_data, validation_data=validation_data, verbose=0
    )
    before = (tmp_path / "config.json").read_text()
    with pytest.raises(ValueError, match="the fill of scoring.test_shifts must be one of"):
        pretrained.record_scoring_choice(tmp_path, 3, "why", fill="blank")
    with pytest.raises(ValueError, match="at most 5"):
        pretrained.record_scoring_choice(tmp_path, 6, "why", grid=5)
    assert (tmp_path / "config.json").read_text() == before
    record = pretrained.record_scoring_choice(tmp_path, 14, "on validation", fill="paper", grid=5)
    assert (record.shift_fill, record.shift_grid, record.test_shifts) == ("paper", 5, 14)
    written = json.loads((tmp_path / "config.json").read_text())["scoring"]
    assert written == {"test_shifts": 14, "fill": "paper", "grid": 5, "chosen": "on validation"}
    scorer = loading.load_run_scorer(tmp_path)
    assert isinstance(scorer, shifts.GridShiftAveragedClasses)
    assert (scorer.pixels, scorer.fill, scorer.grid) == (14, "paper", 5)
    damaged = {**json.loads(before), "scoring": {"test_shifts": 3, "fill": "sea", "chosen": "x"}}
    (tmp_path / "config.json").write_text(json.dumps(damaged))
    with pytest.raises(RunFolderError, match="the fill of scoring.test_shifts must be one of"):
        loading.load_run_scorer(tmp_path)


def test_a_scorer_says_how_it_shifts():
    plain = RowInk()
    assert shifts.describe_shifts(plain) == "none"
    assert shifts.describe_shifts(shifts.average_over_shifts(plain, 0)) == "none"
    assert shifts.describe_shifts(shifts.average_over_shifts(plain, 3)) == "3 px, 3x3, wrap"
    assert shifts.describe_shifts(shifts.average_over_shifts(plain, 6, "paper", 5)) == "6 px, 5x5, paper"
