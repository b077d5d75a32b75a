"""Masked prediction: a Conv-4 embedding learnt by restoring hidden patches of drawings, without labels.

The third self-supervised idea of the course, beside rotation prediction and contrastive learning
(``oneshot_lib.models.selfsupervised``): hide part of an image and train the network to predict
what was hidden. To fill the gap the network must know how strokes continue and how characters
are laid out, and the embedding that holds this is what is scored.

- Context encoders (Pathak, Krahenbuhl, Donahue, Darrell and Efros, 2016, "Context Encoders:
  Feature Learning by Inpainting", CVPR, https://arxiv.org/abs/1604.07379): an encoder reads an
  image with a region blanked out, a channel-wise fully connected layer and a decoder of
  up-convolutions paint the region back, and the reconstruction loss counts the hidden region.
- Masked autoencoders (He, Chen, Xie, Li, Dollar and Girshick, 2022, "Masked Autoencoders Are
  Scalable Vision Learners", CVPR, https://arxiv.org/abs/2111.06377): the image is cut into a
  grid of square patches, a random subset of them (75% in MAE) is hidden, a light decoder that
  is thrown away after training restores the pixels, and the loss is on the hidden patches only:
  reconstructing what the encoder saw teaches nothing.

Here each training drawing, at the backbone's image size (28x28 for Conv-4), is cut into square
patches of ``patch_size`` pixels; a seeded random ``mask_ratio`` of them (``hidden_patch_count``:
exactly that many in every drawing) is filled with paper (``PAPER``), and the network reads that
masked drawing. The Conv-4 embedding (B, 64) goes through a small decoder (a dense layer to a
coarse grid, then transposed convolutions, each doubling the side: ``build_decoder``) to one
logit of ink per pixel, and the loss is the binary cross-entropy of those logits against the
drawing's ink on the hidden pixels only (``masked_reconstruction_loss``). Decoding from the
pooled embedding, not from a feature map, makes the embedding itself hold the whole drawing, as
the context encoder's bottleneck does. A hidden patch looks like paper to the encoder, so where
a drawing shows paper the network cannot tell a gap from a blank: it predicts ink there from the
context, and only the hidden pixels are scored. The decoder is discarded: the model scores like
the other self-supervised models, by the cosine of its embeddings (``conv4.CosineScorer``).

The stream (``masked_dataset``) is the other self-supervised kinds' (``selfsupervised.unlabelled_dataset``
over a flat pool of drawings, no labels), seeded by ``(seed, step)``, so a resumed run sees the
same batches and the same masks. ``oneshot_lib.training.families`` builds the training kind
(``python -m oneshot_lib.train --model masked --mask-ratio 0.5 --patch-size 4``).
"""

from __future__ import annotations

import math

import numpy as np

from oneshot_lib.backend import keras, tf
from oneshot_lib.data import augment
from oneshot_lib.data.streams import step_seed
from oneshot_lib.models.backbones import build_method
from oneshot_lib.models.conv4 import IMAGE_SIZE
from oneshot_lib.models.selfsupervised import HEAD_UNITS, SelfSupervisedNetwork, check_pool, unlabelled_dataset

ops = keras.ops

#: The fraction of a drawing's patches hidden by default. MAE hides 75% of a natural image's
#: patches, which repeat each other; a character's few strokes do not, and hiding three quarters
#: of them leaves little to tell what was drawn. Both were tried on the validation alphabets for
#: 5 minutes each (seed 0, one CPU core, 879 and 769 steps): 0.5 reached 27.7% 20-way
#: within-alphabet accuracy and was still rising, 0.75 no better than its first epoch's 24.8%,
#: against 23.5% untrained: a hint from short runs, not a verdict.
MASK_RATIO = 0.5
#: The side of a hidden patch at 28x28, in pixels: a 7x7 grid of patches, each about a stroke wide.
PATCH_SIZE = 4
#: What a hidden pixel is filled with: paper (images hold ink 1, paper 0).
PAPER = 0.0
#: The decoder's transposed convolutions, each doubling the side: 7x7 -> 14x14 -> 28x28 at 28x28.
DECODER_BLOCKS = 2


# ------------------------------------------------------------------ the masks


def hidden_patch_count(image_size: int, patch_size: int, mask_ratio: float) -> int:
    """How many of the (image_size / patch_size)**2 patches of a drawing are hidden.

    ``mask_ratio`` times the number of patches, rounded to the nearest whole number (halves up).
    Raises ValueError (``check_masking``) if no patch or every patch would be hidden.
    """
    check_masking(image_size, patch_size, mask_ratio)
    return _rounded(mask_ratio * (image_size // patch_size) ** 2)


def _rounded(value: float) -> int:
    return int(math.floor(value + 0.5))


def check_masking(image_size: int, patch_size: int, mask_ratio: float) -> None:
    """Raise ValueError, saying what to change, unless ``patch_size`` patches tile an ``image_size``
    image and ``mask_ratio`` of them hides at least one patch and leaves at least one in view."""
    if not 0 < mask_ratio < 1:
        raise ValueError(
            f"mask_ratio must lie strictly between 0 and 1 (the fraction of patches hidden: 0 hides nothing, "
            f"1 leaves nothing to see), got {mask_ratio}"
        )
    if not 1 <= patch_size <= image_size:
        raise ValueError(
            f"patch_size must be between 1 and the image size {image_size}, got {patch_size}: "
            f"choose a divisor of {image_size}, e.g. {_divisors(image_size)}"
        )
    if image_size % patch_size:
        raise ValueError(
            f"patch_size {patch_size} does not divide the image size {image_size}, so the patches cannot "
            f"tile the image: choose one of {_divisors(image_size)}"
        )
    patches = (image_size // patch_size) ** 2
    hidden = _rounded(mask_ratio * patches)
    if not 0 < hidden < patches:
        raise ValueError(
            f"mask_ratio {mask_ratio} of the {patches} patch(es) of {patch_size}x{patch_size} pixels hides "
            f"{hidden}: at least one patch must be hidden and one left in view. Use smaller patches, or a "
            "mask_ratio nearer 0.5"
        )


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def patch_masks(batch_size: int, image_size: int, patch_size: int, mask_ratio: float, seed) -> tf.Tensor:
    """(batch_size, image_size, image_size, 1) float32 masks: 1 on the hidden patches' pixels, else 0.

    Each image hides exactly ``hidden_patch_count(...)`` of its grid's patches, a random choice
    of its own (MAE's: the patches of the lowest random noise), seeded by ``seed`` (an int, a
    pair or a (2,) int tensor; see ``augment.as_seed``): the same seed gives the same masks.

    Raises ValueError (``check_masking``) for patches that do not tile the image or a ratio that
    hides none or all of them.
    """
    hidden = hidden_patch_count(image_size, patch_size, mask_ratio)
    side = image_size // patch_size
    noise = tf.random.stateless_uniform((batch_size, side * side), seed=augment.as_seed(seed))
    ranks = tf.argsort(tf.argsort(noise, axis=1), axis=1)  # each row a permutation of 0 .. side**2 - 1
    grid = tf.reshape(tf.cast(ranks < hidden, tf.float32), (batch_size, side, side))
    pixels = tf.repeat(tf.repeat(grid, patch_size, axis=1), patch_size, axis=2)
    return pixels[..., None]


def hide(images: tf.Tensor, masks: tf.Tensor) -> tf.Tensor:
    """The images (B, H, W, 1) float32 with every pixel where ``masks`` (same shape, 1 hidden) is 1
    set to paper (``PAPER``): what the encoder reads."""
    images = tf.convert_to_tensor(images, tf.float32)
    return tf.where(tf.convert_to_tensor(masks, tf.float32) > 0.5, PAPER, images)


# ------------------------------------------------------------------ the loss on hidden pixels


def reconstruction_targets(images: tf.Tensor, masks: tf.Tensor) -> tf.Tensor:
    """(B, H, W, 2) float32: the drawings' ink (B, H, W, 1) and the masks (B, H, W, 1), stacked.

    The loss needs both (what to restore, and where it counts), and Keras gives a loss one target.
    """
    return tf.concat([tf.cast(images, tf.float32), tf.cast(masks, tf.float32)], axis=-1)


def masked_reconstruction_loss(targets: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """(B,) float32: each image's mean binary cross-entropy over its hidden pixels only.

    Args:
        targets: (B, H, W, 2) float32, ``reconstruction_targets``: the ink (1 ink, 0 paper, greys
            between where resizing averaged) and the mask (1 hidden).
        logits: (B, H, W, 1) logits of ink at every pixel; only the hidden ones count.

    For one image, ``sum(m * bce(y, z)) / sum(m)`` with ``bce(y, z) = -y log s(z) - (1 - y)
    log(1 - s(z))``, s the sigmoid. Every image of a batch hides as many pixels, so the mean of
    these over a batch is the mean over all its hidden pixels. An image with no hidden pixel
    gives 0.
    """
    targets = ops.cast(targets, "float32")
    ink, masks = targets[..., :1], targets[..., 1:]
    per_pixel = ops.binary_crossentropy(ink, ops.cast(logits, "float32"), from_logits=True)
    return ops.sum(per_pixel * masks, axis=(1, 2, 3)) / ops.maximum(ops.sum(masks, axis=(1, 2, 3)), 1.0)


def hidden_pixel_accuracy(targets: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """(B,) float32: the fraction of each image's hidden pixels restored right, ink (above 0.5) or paper."""
    targets = ops.cast(targets, "float32")
    ink, masks = targets[..., :1] > 0.5, targets[..., 1:]
    right = ops.cast(ops.equal(ops.cast(logits, "float32") > 0, ink), "float32")
    return ops.sum(right * masks, axis=(1, 2, 3)) / ops.maximum(ops.sum(masks, axis=(1, 2, 3)), 1.0)


@keras.saving.register_keras_serializable(package="oneshot")
class MaskedReconstructionLoss(keras.losses.Loss):
    """``masked_reconstruction_loss`` as a Keras loss: targets (B, H, W, 2), logits (B, H, W, 1)."""

    def __init__(self, name: str = "masked_reconstruction", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        return masked_reconstruction_loss(y_true, y_pred)


@keras.saving.register_keras_serializable(package="oneshot")
class HiddenPixelAccuracy(keras.metrics.MeanMetricWrapper):
    """``hidden_pixel_accuracy`` averaged over the images of an epoch (the run's training accuracy)."""

    def __init__(self, name: str = "accuracy", dtype=None):
        super().__init__(hidden_pixel_accuracy, name=name, dtype=dtype)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}


# ------------------------------------------------------------------ the stream


def masked_dataset(
    drawings: np.ndarray,
    batch_size: int = 128,
    *,
    patch_size: int = PATCH_SIZE,
    mask_ratio: float = MASK_RATIO,
    distortions: augment.Distortions | None = None,
    image_size: int = IMAGE_SIZE,
    seed: int = 0,
    start_step: int = 0,
) -> tf.data.Dataset:
    """An endless, seeded stream of masked-prediction batches from a pool of drawings.

    Each element is ``(masked (B, S, S, 1) float32, targets (B, S, S, 2) float32)``, S =
    ``image_size``: B = ``batch_size`` distinct drawings (with ``distortions``, each first
    distorted at ``image_size``), their hidden patches (``patch_masks``) filled with paper
    (``hide``), and ``reconstruction_targets`` of the drawings and masks. The distortions and
    masks of batch ``step`` are seeded by ``(seed, step)``.

    Args:
        drawings: (n_drawings, 105, 105) bool, a flat pool (``selfsupervised.drawing_pool``): no labels.

    Raises ValueError for a pool with a character axis or too few drawings
    (``selfsupervised.check_pool``), or patches that cannot be hidden so (``check_masking``).
    """
    check_pool(drawings, batch_size)
    check_masking(image_size, patch_size, mask_ratio)

    def make_batch(images, step):
        distortion_seed, mask_seed = tf.unstack(tf.random.experimental.stateless_split(step_seed(seed, step), 2))
        if distortions is not None:
            images = augment.distort(images, distortion_seed, distortions)
        masks = patch_masks(batch_size, image_size, patch_size, mask_ratio, mask_seed)
        return hide(images, masks), reconstruction_targets(images, masks)

    return unlabelled_dataset(drawings, batch_size, image_size, seed, start_step, make_batch)


# ------------------------------------------------------------------ the network


def check_decoder(image_size: int, blocks: int) -> None:
    """Raise ValueError, saying what to change, unless ``blocks`` side doublings lead from a whole
    grid back to ``image_size``."""
    if blocks < 1:
        raise ValueError(
            f"the decoder needs at least 1 block (one transposed convolution), got decoder_blocks={blocks}"
        )
    if image_size % 2**blocks:
        fitting = [n for n in range(1, blocks + 1) if image_size % 2**n == 0]
        raise ValueError(
            f"the decoder does not fit the encoder: its {blocks} transposed convolutions double the side "
            f"{blocks} times, so the image size must be a multiple of {2**blocks}, got image_size={image_size}. "
            + (f"Use decoder_blocks in {fitting}, or " if fitting else "Use ")
            + f"an image size that is a multiple of {2**blocks} (the default is {IMAGE_SIZE})"
        )


def build_decoder(
    embedding_units: int, image_size: int, blocks: int = DECODER_BLOCKS, filters: int = HEAD_UNITS
) -> keras.Sequential:
    """The decoder: (B, embedding_units) float32 embeddings -> (B, image_size, image_size, 1) ink logits.

    A dense layer (ReLU) to a (image_size / 2**blocks)-sided grid of ``filters`` channels (the
    context encoder's fully connected bridge), then ``blocks`` 3x3 transposed convolutions of
    stride 2, each doubling the side: ReLU with ``filters`` channels, the last linear with one.

    Raises ValueError (``check_decoder``) if the image side is not a multiple of 2**blocks.
    """
    check_decoder(image_size, blocks)
    side = image_size // 2**blocks
    layers: list[keras.layers.Layer] = [
        keras.Input((embedding_units,)),
        keras.layers.Dense(side * side * filters, activation="relu", name="decoder_bridge"),
        keras.layers.Reshape((side, side, filters), name="decoder_grid"),
    ]
    for block in range(1, blocks + 1):
        last = block == blocks
        layers.append(
            keras.layers.Conv2DTranspose(
                1 if last else filters,
                3,
                strides=2,
                padding="same",
                activation=None if last else "relu",
                name=f"decoder_up{block}",
            )
        )
    return keras.Sequential(layers, name="decoder")


@keras.saving.register_keras_serializable(package="oneshot")
class MaskedNetwork(SelfSupervisedNetwork):
    """Masked prediction on the embedding: restore the hidden patches of a drawing.

    ``call(masked)`` maps masked images (B, S, S, 1) float32 (``hide``) to (B, S, S, 1) float32
    logits of ink at every pixel, through the embedding and the decoder (``build_decoder``, its
    channels ``head_units``); train it with ``MaskedReconstructionLoss``. ``patch_size`` and
    ``mask_ratio`` record how it hides patches (``masks``); ``reconstruct`` shows what it
    restores. The decoder is the head that scoring leaves out: ``scorer()`` compares images by
    the cosine of their embeddings.

    Raises ValueError for patches that cannot be hidden so (``check_masking``) or a decoder
    that does not fit the image size (``check_decoder``).
    """

    def __init__(
        self,
        *args,
        patch_size: int = PATCH_SIZE,
        mask_ratio: float = MASK_RATIO,
        decoder_blocks: int = DECODER_BLOCKS,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        check_masking(self.image_size, patch_size, mask_ratio)
        self.patch_size, self.mask_ratio = patch_size, float(mask_ratio)
        self.decoder_blocks = decoder_blocks
        self.decoder = build_decoder(self.embedding_units, self.image_size, decoder_blocks, self.head_units)

    def call(self, masked: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        return self.decoder(self.embedding(masked, training=training), training=training)

    def masks(self, n: int, seed=0) -> tf.Tensor:
        """(n, S, S, 1) float32 masks as this network was trained with (``patch_masks``), seeded."""
        return patch_masks(n, self.image_size, self.patch_size, self.mask_ratio, seed)

    def reconstruct(self, images: tf.Tensor, masks: tf.Tensor) -> np.ndarray:
        """(B, S, S, 1) float32 probability of ink the network gives every pixel of ``images``
        (B, S, S, 1) float32 (``conv4.prepare_images``) when it reads them with ``masks`` hidden.

        Raises ValueError unless images and masks are both (B, S, S, 1), S this network's image size.
        """
        wanted = (self.image_size, self.image_size, 1)
        if tuple(images.shape[1:]) != wanted or tuple(images.shape) != tuple(masks.shape):
            raise ValueError(
                f"expected images and masks of one shape (B, {self.image_size}, {self.image_size}, 1), got "
                f"{tuple(images.shape)} and {tuple(masks.shape)}: prepare images with conv4.prepare_images and "
                "make masks with masks(len(images))"
            )
        logits = self(hide(images, masks), training=False)
        return ops.convert_to_numpy(ops.sigmoid(ops.cast(logits, "float32")))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "patch_size": self.patch_size,
            "mask_ratio": self.mask_ratio,
            "decoder_blocks": self.decoder_blocks,
        }


def build_masked(*, seed: int | None = None, **kwargs) -> MaskedNetwork:
    """A new, uncompiled masked-prediction network named ``"masked"`` (compile it with ``trainer.compile_model``).

    Args:
        seed: if given, seeds Keras's weight initialisers first (``keras.utils.set_random_seed``).
        kwargs: passed to ``MaskedNetwork``: the backbone's ``image_size``, ``filters``, ``blocks``,
            ``backbone``, ``head_units`` (the decoder's channels), and ``patch_size``, ``mask_ratio``,
            ``decoder_blocks``.

    Raises ValueError for an image too small for the backbone, patches that cannot be hidden so,
    or a decoder that does not fit the image size.
    """
    return build_method({"masked": MaskedNetwork}, "masked", "self-supervised", seed=seed, **kwargs)
