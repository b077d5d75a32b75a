"""The transfer-learning baseline: classify the training characters, then reuse the features.

The advice of the limited-data literature, and the "baseline classifier" row of Vinyals et al.
(2016): train an ordinary softmax classifier over the training characters (one class per
character), throw its last layer away, and compare new characters by the cosine similarity of
their penultimate features. No episode, no pair: the features are learnt for a 807-way (or,
with rotations, 3,228-way) classification, and one-shot learning is a nearest neighbour on top
(with k shots, each class's mean cosine: ``conv4.CosineScorer``, which the self-supervised
models score with too).

The classifier uses the same embedding network as the prototypical and matching networks
(``conv4.build_embedding``) plus one dense softmax layer, so the comparison isolates the
training objective. ``oneshot_lib.training.families`` says how a training run builds and feeds it
(``python -m oneshot_lib.train --model transfer``).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from oneshot_lib.backend import keras, tf
from oneshot_lib.data import augment
from oneshot_lib.data.omniglot import OmniglotSplit
from oneshot_lib.data.streams import gathered_dataset, seeded_index_stream, step_seed
from oneshot_lib.models.backbones import BackboneModel
from oneshot_lib.models.conv4 import BLOCKS, FILTERS, IMAGE_SIZE, CosineScorer, prepare_images


def n_classes(data: OmniglotSplit, rotate_classes: bool = False) -> int:
    """How many classes the classifier of ``data``'s characters has (4 per character with rotations)."""
    return len(data) * (4 if rotate_classes else 1)


@keras.saving.register_keras_serializable(package="oneshot")
class TransferClassifier(BackboneModel):
    """The embedding network with a dense softmax layer over the training characters.

    ``call(images)`` maps (B, H, H, 1) float32 images to (B, n_classes) float32 logits;
    ``embedding`` (the penultimate features, (B, 64) by default) is what ``scorer`` uses.
    """

    def __init__(
        self,
        n_classes: int,
        image_size: int = IMAGE_SIZE,
        filters: int = FILTERS,
        blocks: int = BLOCKS,
        backbone: str = "conv4",
        **kwargs,
    ):
        if n_classes < 2:
            raise ValueError(f"a classifier needs at least 2 classes, got n_classes={n_classes}")
        super().__init__(image_size, filters, blocks, backbone, **kwargs)
        self.n_classes = n_classes
        self.classes = keras.layers.Dense(n_classes, name="classes")
        self.classes.build(self.embedding.output_shape)
        self.built = True  # every weight exists now; loading a checkpoint needs no sample input

    def call(self, images: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        return self.classes(self.embedding(images, training=training))

    def get_config(self) -> dict:
        return {**super().get_config(), "n_classes": self.n_classes}

    def scorer(self) -> CosineScorer:
        """A scorer comparing new images by the cosine of this classifier's penultimate features."""
        return CosineScorer(self.embedding, self.image_size)


def build_classifier(
    n_classes: int,
    *,
    image_size: int = IMAGE_SIZE,
    filters: int = FILTERS,
    blocks: int = BLOCKS,
    backbone: str = "conv4",
    seed: int | None = None,
) -> TransferClassifier:
    """A new, uncompiled ``TransferClassifier`` (compile it with ``trainer.compile_model``).

    ``seed``, if given, seeds Keras's weight initialisers first. Raises ValueError if
    ``n_classes`` < 2 or the image is too small for the embedding.
    """
    if seed is not None:
        keras.utils.set_random_seed(seed)
    return TransferClassifier(n_classes, image_size, filters, blocks, backbone, name="transfer")


def labelled_indices_stream(
    data: OmniglotSplit,
    batch_size: int,
    *,
    rotate_classes: bool = False,
    seed: int = 0,
    start_step: int = 0,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]]:
    """Endless (characters (B,), drawings (B,), turns (B,), labels (B,), step) batches.

    Batch ``step`` draws ``batch_size`` drawings uniformly (with replacement) from all of
    ``data``'s, with the generator seeded by ``(seed, step)``, so it is the same whichever step
    the stream starts from. With ``rotate_classes`` each drawing is turned by a random number of
    quarter turns and its label is ``character + len(data) * turns``: four classes per character.
    """
    n_drawings = data.images.shape[1]

    def sample(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        characters = rng.integers(len(data), size=batch_size)
        drawings = rng.integers(n_drawings, size=batch_size)
        turns = rng.integers(4, size=batch_size) if rotate_classes else np.zeros(batch_size, dtype=np.int64)
        return characters, drawings, turns, characters + len(data) * turns

    return seeded_index_stream(sample, seed=seed, start_step=start_step)


def classification_dataset(
    data: OmniglotSplit,
    batch_size: int = 128,
    *,
    rotate_classes: bool = False,
    distortions: augment.Distortions | None = None,
    image_size: int = IMAGE_SIZE,
    seed: int = 0,
    start_step: int = 0,
) -> tf.data.Dataset:
    """An endless, seeded stream of (images, labels) batches for ``TransferClassifier``.

    Each element is ``(images (B, image_size, image_size, 1) float32, labels (B,) int32)``,
    labels in [0, n_classes(data, rotate_classes)). The split is resized once, up front; only
    indices come from Python (``labelled_indices_stream``), images are gathered (and, with
    ``distortions``, distorted with Koch's affine transforms seeded by ``(seed, step)``) in a
    parallel tf.data map, and prefetched.

    Pass only training alphabets (``train_validation_split``): select models on the others.

    Raises ValueError if ``data`` has fewer than 2 characters or ``batch_size`` < 1.
    """
    if len(data) < 2:
        raise ValueError(f"the split {data.name!r} has {len(data)} characters: a classifier needs at least 2")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    images = prepare_images(data.images, image_size)
    signature = (
        *(tf.TensorSpec((batch_size,), tf.int64) for _ in range(4)),
        tf.TensorSpec((), tf.int64),
    )

    def gather(characters, drawings, turns, labels, step):
        batch = augment.rotate_quarter_turns(tf.gather_nd(images, tf.stack([characters, drawings], axis=-1)), turns)
        if distortions is not None:
            batch = augment.distort(batch, step_seed(seed, step), distortions)
        return batch, tf.cast(labels, tf.int32)

    return gathered_dataset(
        lambda: labelled_indices_stream(
            data, batch_size, rotate_classes=rotate_classes, seed=seed, start_step=start_step
        ),
        signature,
        gather,
    )
