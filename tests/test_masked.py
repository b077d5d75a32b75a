"""Masked prediction: the masks, the loss on hidden pixels by hand, the stream, the network, bad input, a run.

The parts it shares with the other self-supervised kinds (streams that never read a label, a
tiny run that trains, resumes and loads) are tested with them in ``test_selfsupervised.py``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import DrawingsOnly, synthetic_split, tiny_run_config

from oneshot_lib import pretrained, train
from oneshot_lib.backend import keras
from oneshot_lib.data import augment
from oneshot_lib.models import conv4, masked, selfsupervised
from oneshot_lib.train import config_options, parser
from oneshot_lib.training import kinds, loading, trainer
from oneshot_lib.training.config import TrainingConfig

ops = keras.ops


def numpy(x) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(x))


def patch_grid(masks: np.ndarray, patch_size: int) -> np.ndarray:
    """(B, g, g) of (B, S, S, 1) masks, after checking that each patch is wholly hidden or wholly in view."""
    batch, side = masks.shape[0], masks.shape[1] // patch_size
    blocks = masks[..., 0].reshape(batch, side, patch_size, side, patch_size)
    assert np.all(blocks.min(axis=(2, 4)) == blocks.max(axis=(2, 4))), "a patch is partly hidden"
    return blocks[:, :, 0, :, 0]


# ------------------------------------------------------------------ the masks


@pytest.mark.parametrize(
    "image_size, patch_size, mask_ratio, hidden",
    [(16, 4, 0.25, 4), (16, 4, 0.75, 12), (16, 2, 0.5, 32), (28, 4, 0.5, 25), (28, 7, 0.5, 8), (28, 14, 0.25, 1)],
)
def test_every_mask_hides_the_stated_number_of_whole_patches(image_size, patch_size, mask_ratio, hidden):
    assert masked.hidden_patch_count(image_size, patch_size, mask_ratio) == hidden  # 24.5 of 49 rounds up to 25
    masks = numpy(masked.patch_masks(40, image_size, patch_size, mask_ratio, seed=3))
    assert masks.shape == (40, image_size, image_size, 1) and masks.dtype == np.float32
    assert set(np.unique(masks)) == {0.0, 1.0}
    grid = patch_grid(masks, patch_size)
    np.testing.assert_array_equal(grid.sum(axis=(1, 2)), hidden)
    np.testing.assert_array_equal(masks.sum(axis=(1, 2, 3)), hidden * patch_size**2)
    assert len({g.tobytes() for g in grid}) > 1  # each image hides patches of its own


def test_masks_are_seeded_and_every_patch_is_hidden_as_often():
    first = numpy(masked.patch_masks(4, 16, 4, 0.5, seed=(1, 2)))
    np.testing.assert_array_equal(first, numpy(masked.patch_masks(4, 16, 4, 0.5, seed=(1, 2))))
    assert not np.array_equal(first, numpy(masked.patch_masks(4, 16, 4, 0.5, seed=(1, 3))))
    grid = patch_grid(numpy(masked.patch_masks(2000, 16, 4, 0.25, seed=0)), 4)
    frequencies = grid.mean(axis=0)  # each of the 16 patches: hidden in 2000 * 0.25 = 500 images on average
    assert np.all(np.abs(frequencies - 0.25) < 0.04), frequencies  # about 4 standard errors (0.0097 each)


def test_hiding_fills_the_hidden_pixels_with_paper_and_keeps_the_rest():
    images = np.random.default_rng(0).random((3, 8, 8, 1)).astype("float32")
    masks = numpy(masked.patch_masks(3, 8, 2, 0.5, seed=1))
    hidden = numpy(masked.hide(images, masks))
    np.testing.assert_array_equal(hidden[masks == 1], masked.PAPER)
    np.testing.assert_array_equal(hidden[masks == 0], images[masks == 0])


# ------------------------------------------------------------------ the loss, by hand


def hand_case():
    """One 4x4 drawing with its top-left and bottom-right 2x2 patches hidden (8 pixels).

    On the hidden pixels, two hold ink with logit ln 3 (probability 3/4: loss ln 4/3 each) and
    six hold paper with logit 0 (probability 1/2: loss ln 2 each). The visible pixels have wild
    logits against their ink, which must count for nothing.
    """
    mask = np.zeros((4, 4), "float32")
    mask[:2, :2] = mask[2:, 2:] = 1
    ink = np.zeros((4, 4), "float32")
    ink[0, 0] = ink[3, 3] = 1.0
    ink[0, 3] = ink[3, 0] = 1.0  # visible ink
    logits = np.zeros((4, 4), "float32")
    logits[0, 0] = logits[3, 3] = np.log(3.0)
    logits[mask == 0] = np.where(ink[mask == 0] > 0, -50.0, 50.0)  # wrong, and confident
    expected = (2 * np.log(4 / 3) + 6 * np.log(2)) / 8
    return ink[None, ..., None], mask[None, ..., None], logits[None, ..., None], expected


def test_the_loss_counts_the_hidden_pixels_only_by_hand():
    ink, mask, logits, expected = hand_case()
    targets = numpy(masked.reconstruction_targets(ink, mask))
    assert targets.shape == (1, 4, 4, 2)
    np.testing.assert_allclose(numpy(masked.masked_reconstruction_loss(targets, logits)), [expected], rtol=1e-6)
    other = logits.copy()
    other[mask == 0] = np.random.default_rng(0).normal(size=int((mask == 0).sum())) * 9
    np.testing.assert_allclose(numpy(masked.masked_reconstruction_loss(targets, other)), [expected], rtol=1e-6)
    # The kind trains on exactly this loss.
    kind_loss = kinds.MODEL_KINDS["masked"].loss()(targets, logits)
    np.testing.assert_allclose(float(kind_loss), expected, rtol=1e-6)


def test_the_loss_of_a_batch_is_the_mean_over_all_its_hidden_pixels():
    rng = np.random.default_rng(1)
    images = rng.random((3, 8, 8, 1)).astype("float32")
    masks = numpy(masked.patch_masks(3, 8, 2, 0.25, seed=2))
    logits = rng.normal(size=(3, 8, 8, 1)).astype("float32")
    probability = 1 / (1 + np.exp(-logits.astype(np.float64)))
    by_pixel = -(images * np.log(probability) + (1 - images) * np.log(1 - probability))
    expected = by_pixel[masks == 1].mean()
    loss = masked.MaskedReconstructionLoss()(masked.reconstruction_targets(images, masks), logits)
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)


def test_hidden_pixel_accuracy_by_hand():
    ink, mask, logits, _ = hand_case()
    # Hidden: (0, 0) and (3, 3) ink, logit ln 3 > 0: right; six paper with logit 0: counted as
    # paper (not above 0), right. Turn one hidden paper pixel to ink-logit: 7 of 8 right.
    logits = logits.copy()
    logits[0, 1, 0, 0] = 2.0
    targets = masked.reconstruction_targets(ink, mask)
    np.testing.assert_allclose(numpy(masked.hidden_pixel_accuracy(targets, logits)), [7 / 8])
    metric = masked.HiddenPixelAccuracy()
    metric.update_state(targets, logits)
    assert metric.name == "accuracy" and float(metric.result()) == pytest.approx(7 / 8)


# ------------------------------------------------------------------ the stream


def test_batches_hold_masked_drawings_and_what_to_restore():
    pool = selfsupervised.drawing_pool(synthetic_split((3, 2), drawings=3))
    prepared = numpy(conv4.prepare_images(pool, 16))
    inputs, targets = next(iter(masked.masked_dataset(pool, 4, patch_size=4, mask_ratio=0.25, image_size=16, seed=2)))
    indices, _ = next(selfsupervised.unlabelled_indices_stream(len(pool), 4, seed=2))
    inputs, targets = numpy(inputs), numpy(targets)
    assert inputs.shape == (4, 16, 16, 1) and targets.shape == (4, 16, 16, 2)
    ink, masks = targets[..., :1], targets[..., 1:]
    np.testing.assert_array_equal(ink, prepared[indices])  # no distortions: the drawings themselves
    np.testing.assert_array_equal(patch_grid(masks, 4).sum(axis=(1, 2)), 4)
    np.testing.assert_array_equal(inputs, numpy(masked.hide(ink, masks)))
    assert ink[masks == 1].sum() > 0  # some ink is hidden, to be restored


def test_the_stream_resumes_exactly_with_its_distortions_and_masks():
    pool = selfsupervised.drawing_pool(synthetic_split((3, 2), drawings=3))
    arguments = dict(image_size=16, seed=1, distortions=augment.scaled_distortions(16))
    fresh = list(masked.masked_dataset(pool, 4, **arguments).skip(3).take(1))[0]
    resumed = list(masked.masked_dataset(pool, 4, start_step=3, **arguments).take(1))[0]
    for a, b in zip(fresh, resumed, strict=True):
        np.testing.assert_array_equal(a, b)
    first = list(masked.masked_dataset(pool, 4, **arguments).take(1))[0]
    assert not np.array_equal(first[1][..., 1:], fresh[1][..., 1:])  # each step hides other patches


def test_the_stream_refuses_what_it_cannot_give():
    split = synthetic_split((3, 2), drawings=3)
    with pytest.raises(ValueError, match="flat pool.*drawing_pool"):
        masked.masked_dataset(split.images, 4, image_size=16)
    pool = selfsupervised.drawing_pool(split)
    with pytest.raises(ValueError, match="does not divide the image size 16"):
        masked.masked_dataset(pool, 4, image_size=16, patch_size=3)


# ------------------------------------------------------------------ the network


def test_the_network_restores_images_scores_with_its_embedding_alone_and_reloads(tmp_path):
    model = masked.build_masked(image_size=16, filters=4, blocks=2, head_units=8, seed=0)
    images = np.random.default_rng(0).random((6, 16, 16, 1)).astype("float32")
    assert model(images).shape == (6, 16, 16, 1)
    masks = model.masks(6, seed=1)
    np.testing.assert_array_equal(numpy(masks), numpy(masked.patch_masks(6, 16, 4, 0.5, 1)))
    restored = model.reconstruct(images, masks)
    assert restored.shape == (6, 16, 16, 1) and np.all((restored > 0) & (restored < 1))
    np.testing.assert_allclose(restored, numpy(ops.sigmoid(model(masked.hide(images, masks)))), rtol=1e-6)
    with pytest.raises(ValueError, match="one shape"):
        model.reconstruct(images, masks[:2])

    scorer = model.scorer()
    assert type(scorer) is conv4.CosineScorer and scorer.embedding is model.embedding
    rng = np.random.default_rng(1)
    query, support = rng.random((2, 105, 105)) < 0.1, rng.random((3, 105, 105)) < 0.1
    before = scorer.scores(query, support)
    model.decoder.set_weights([w + 1.0 for w in model.decoder.get_weights()])  # the decoder plays no part
    np.testing.assert_array_equal(model.scorer().scores(query, support), before)

    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert type(loaded) is masked.MaskedNetwork and loaded.get_config() == model.get_config()
    assert (loaded.patch_size, loaded.mask_ratio) == (4, 0.5)
    np.testing.assert_allclose(numpy(loaded(images)), numpy(model(images)), rtol=1e-5, atol=1e-5)


def test_the_decoder_doubles_the_side_back_to_the_image():
    decoder = masked.build_decoder(64, 28)
    assert decoder.get_layer("decoder_grid").output.shape == (None, 7, 7, 64)
    assert decoder.output_shape == (None, 28, 28, 1)
    assert masked.build_decoder(8, 32, blocks=3, filters=4).get_layer("decoder_grid").output.shape == (None, 4, 4, 4)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(image_size=28, decoder_blocks=3), "decoder does not fit the encoder.*multiple of 8.*decoder_blocks in"),
        (dict(image_size=28, decoder_blocks=0), "at least 1 block"),
        (dict(image_size=28, mask_ratio=1.0), "strictly between 0 and 1"),
        (dict(image_size=28, patch_size=6), "does not divide the image size 28"),
        (dict(image_size=16, patch_size=32), "between 1 and the image size 16"),
        (dict(image_size=16, patch_size=16), "hides 1: at least one patch must be hidden and one left in view"),
        (dict(image_size=16, patch_size=4, mask_ratio=0.01), "hides 0"),
    ],
)
def test_the_network_refuses_masks_and_decoders_that_do_not_fit(arguments, message):
    with pytest.raises(ValueError, match=message):
        masked.build_masked(**arguments)


# ------------------------------------------------------------------ bad input: usage errors before any data


BAD_OPTIONS = [
    (dict(mask_ratio=0.0), "mask_ratio must be positive"),
    (dict(mask_ratio=-0.25), "mask_ratio must be positive"),
    (dict(mask_ratio=1.0), "mask_ratio must lie strictly between 0 and 1"),
    (dict(mask_ratio=1.5), "mask_ratio must be at most 1"),
    (dict(mask_ratio=float("nan")), "mask_ratio must be a finite number"),
    (dict(patch_size=0), "patch_size must be at least 1"),
    (dict(patch_size=32), "patch_size must be between 1 and the image size 28"),
    (dict(patch_size=5), "patch_size 5 does not divide the image size 28"),
    (dict(patch_size=28), "hides 1: at least one patch must be hidden"),
    (dict(image_size=30, patch_size=5), "decoder does not fit the encoder"),
]


@pytest.mark.parametrize("changes, message", BAD_OPTIONS)
def test_bad_masking_options_are_usage_errors_before_any_data_is_loaded(changes, message, monkeypatch, capsys):
    with pytest.raises(ValueError, match=message):
        kinds.kind_of(TrainingConfig(model="masked", **changes))
    monkeypatch.setattr(train, "load_omniglot", lambda *args: pytest.fail("data loaded before the check"))
    flags = [f"--{name.replace('_', '-')}={value}" for name, value in changes.items()]
    with pytest.raises(SystemExit) as stopped:
        train.main(["--output", "unused", "--steps", "1", "--model", "masked", *flags])
    assert stopped.value.code == 2 and message in capsys.readouterr().err


def test_the_command_line_offers_the_masking_options():
    args = parser().parse_args("--output o --steps 3 --model masked --mask-ratio 0.75 --patch-size 7".split())
    config = TrainingConfig(**config_options(args))
    assert (config.model, config.mask_ratio, config.patch_size) == ("masked", 0.75, 7)
    assert kinds.kind_of(config) is kinds.MODEL_KINDS["masked"]
    assert {"mask_ratio", "patch_size"} <= set(kinds.MODEL_KINDS["masked"].options)
    assert "mask_ratio" not in kinds.MODEL_KINDS["rotation"].options
    assert "[masked]" in parser().format_help()


# ------------------------------------------------------------------ a tiny run


def test_a_tiny_run_records_its_masks_and_loads_as_a_reference_model_does(splits, tmp_path):
    train_data, validation_data = splits
    config = tiny_run_config("masked", batch_size=6, mask_ratio=0.25, patch_size=2)
    folder = tmp_path / "masked"
    trainer.train(
        config, folder, train_data=DrawingsOnly(train_data.images), validation_data=validation_data, verbose=0
    )
    saved = json.loads((folder / "config.json").read_text())
    assert (saved["config"]["mask_ratio"], saved["config"]["patch_size"]) == (0.25, 2)
    assert (saved["model"]["config"]["mask_ratio"], saved["model"]["config"]["patch_size"]) == (0.25, 2)
    history = pretrained.history(folder)
    assert history.last.metrics == {} and 0 <= history.last.accuracy <= 1  # the hidden pixels restored right
    scorer = pretrained.load(folder)
    assert scorer.name == "masked" and type(scorer) is conv4.CosineScorer
    scores = scorer.scores(train_data.images[0, :2], train_data.images[1, :3])
    assert scores.shape == (2, 3) and np.all(np.isfinite(scores))
    best, _ = loading.load_run_model(folder)
    restored = best.reconstruct(conv4.prepare_images(train_data.images[0, :2], 16), best.masks(2))
    assert restored.shape == (2, 16, 16, 1)
    with pytest.raises(ValueError, match="another config.*mask_ratio"):
        trainer.train(
            tiny_run_config("masked", batch_size=6, mask_ratio=0.5, patch_size=2),
            folder,
            train_data=DrawingsOnly(train_data.images),
            validation_data=validation_data,
            verbose=0,
        )
