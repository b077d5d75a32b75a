"""The Conv-4 embedding network shared by the episodic, transfer and self-supervised models.

Vinyals et al. (2016) and Snell et al. (2017) embed every image with the same small network:
four blocks of 3x3 convolution (64 filters), batch normalisation, ReLU and 2x2 max-pooling, on
28x28 images, which leaves a 64-dimensional embedding. This module holds that network and what
every model built on it shares:

- ``prepare_images``: Omniglot drawings resized for the network;
- ``build_embedding``: the network itself;
- ``cosine_similarities``: the comparison of two sets of embeddings by angle;
- ``EmbeddingNetworkScorer``: the base of every scorer that embeds each image with such a
  network once and compares the embeddings (an ``evaluate.EmbeddingScorer``).
"""

from __future__ import annotations

import numpy as np

from .backend import keras, tf
from .evaluate import class_scores as mean_class_scores

ops = keras.ops

#: Side of the square images the embedding network reads (Omniglot's 105x105, resized).
IMAGE_SIZE = 28
#: Vinyals's and Snell's embedding: 4 blocks of 64 filters, which leaves a 64-dimensional
#: embedding at 28x28 (28 -> 14 -> 7 -> 3 -> 1).
FILTERS = 64
BLOCKS = 4

# ------------------------------------------------------------------ images


def prepare_images(images: np.ndarray, image_size: int = IMAGE_SIZE, chunk: int = 2048) -> tf.Tensor:
    """Omniglot drawings as the embedding network reads them.

    Args:
        images: (..., 105, 105) bool (or 0/1 numbers), True where there is ink.
        image_size: side of the output images.
        chunk: how many images to resize at once (bounds the float32 memory at 105x105).

    Returns:
        (..., image_size, image_size, 1) float32 tf.Tensor, ink 1 and paper 0, shrunk by area
        averaging (so thin strokes fade to grey rather than vanish).

    Raises:
        ValueError if the images are not at least 2-d and square.
    """
    images = np.asarray(images)
    if images.ndim < 2 or images.shape[-1] != images.shape[-2]:
        raise ValueError(f"expected square images of shape (..., H, H), got shape {images.shape}")
    batch_shape = images.shape[:-2]
    flat = images.reshape(-1, *images.shape[-2:], 1)
    resized = [
        tf.image.resize(tf.cast(flat[start : start + chunk], tf.float32), (image_size, image_size), "area")
        for start in range(0, max(len(flat), 1), chunk)
    ]
    return tf.reshape(tf.concat(resized, axis=0), (*batch_shape, image_size, image_size, 1))


# ------------------------------------------------------------------ the network


def build_embedding(
    image_size: int = IMAGE_SIZE, filters: int = FILTERS, blocks: int = BLOCKS, name: str = "embedding"
) -> keras.Sequential:
    """The 4-block convolutional embedding of Vinyals et al. and Snell et al.

    Each block is conv 3x3 ('same' padding) -> batch normalisation -> ReLU -> max-pool 2x2; the
    output is flattened. Input (B, image_size, image_size, 1) float32, output (B, D) float32
    with D = filters * (image_size // 2**blocks)**2 (64 for the defaults).

    Raises ValueError if the image is too small for that many poolings.
    """
    if image_size // 2**blocks < 1:
        raise ValueError(
            f"a {image_size}x{image_size} image cannot go through {blocks} 2x2 poolings: "
            f"use image_size >= {2**blocks} or fewer blocks"
        )
    layers: list[keras.layers.Layer] = [keras.Input((image_size, image_size, 1))]
    for block in range(1, blocks + 1):
        layers += [
            keras.layers.Conv2D(filters, 3, padding="same", name=f"conv{block}"),
            keras.layers.BatchNormalization(name=f"batchnorm{block}"),
            keras.layers.ReLU(name=f"relu{block}"),
            keras.layers.MaxPooling2D(2, name=f"pool{block}"),
        ]
    layers.append(keras.layers.Flatten(name="flatten"))
    return keras.Sequential(layers, name=name)


# ------------------------------------------------------------------ scoring by embeddings


def cosine_similarities(query: tf.Tensor, support: tf.Tensor, epsilon: float = 1e-8) -> tf.Tensor:
    """(Q, S) cosine of the angle between each query (Q, D) and support (S, D) embedding.

    ``epsilon`` keeps an all-zero embedding (possible after ReLU) at cosine 0 instead of NaN.
    """
    query = query / ops.sqrt(ops.sum(ops.square(query), axis=-1, keepdims=True) + epsilon)
    support = support / ops.sqrt(ops.sum(ops.square(support), axis=-1, keepdims=True) + epsilon)
    return ops.matmul(query, ops.transpose(support))



class EmbeddingNetworkScorer:
    """Base of the scorers that compare embeddings; subclasses define ``compare``.

    ``scores(query, support)`` embeds the queries and the support set once each (raw
    (n, 105, 105) bool images, resized by ``prepare_images``) and compares the embeddings.
    ``class_scores(query, support, support_labels, n_way)`` scores whole classes; by default
    it is what ``evaluate`` computes from ``scores`` (each class's mean), and subclasses
    whose method scores a class otherwise (a prototype) override ``compare_classes``.
    """

    name = "embedding"

    def __init__(self, embedding: keras.Model, image_size: int = IMAGE_SIZE, batch_size: int = 512):
        self.embedding = embedding
        self.image_size = image_size
        self.batch_size = batch_size

    def embed(self, images: np.ndarray) -> np.ndarray:
        """(n, D) float32 embeddings of raw images (n, 105, 105), in inference mode."""
        prepared = prepare_images(images, self.image_size)
        batches = [
            self.embedding(prepared[start : start + self.batch_size], training=False)
            for start in range(0, len(images), self.batch_size)
        ]
        return ops.convert_to_numpy(ops.concatenate(batches, axis=0)) if batches else np.zeros((0, 0))

    def scores(self, query: np.ndarray, support: np.ndarray) -> np.ndarray:
        """(Q, S) float64 similarity of query (Q, 105, 105) to support (S, 105, 105) images."""
        return self.compare(self.embed(query), self.embed(support))

    def compare(self, query: np.ndarray, support: np.ndarray) -> np.ndarray:
        """(Q, S) float64 scores from query (Q, D) and support (S, D) embeddings."""
        raise NotImplementedError

    def class_scores(
        self, query: np.ndarray, support: np.ndarray, support_labels: np.ndarray, n_way: int
    ) -> np.ndarray:
        """(Q, n_way) float64 score of each class for each query, from raw images.

        Raises ValueError unless support_labels is (S,) int in [0, n_way) with every class present.
        """
        support_labels = check_support_labels(support_labels, len(support), n_way)
        return self.compare_classes(self.embed(query), self.embed(support), support_labels, n_way)

    def compare_classes(
        self, query: np.ndarray, support: np.ndarray, support_labels: np.ndarray, n_way: int
    ) -> np.ndarray:
        """(Q, n_way) float64 class scores from embeddings: here each class's mean ``compare`` score."""
        return mean_class_scores(self.compare(query, support), support_labels, n_way)


def check_support_labels(support_labels: np.ndarray, n_support: int, n_way: int) -> np.ndarray:
    """support_labels as (S,) int32, after checking one label per support image, each in [0, n_way),
    every class present; raises ValueError saying which of these fails."""
    labels = np.asarray(support_labels)
    if labels.shape != (n_support,):
        raise ValueError(
            f"support_labels must have shape ({n_support},), one per support image; got {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= n_way):
        raise ValueError(
            f"support_labels must lie in [0, {n_way}); got values {labels.min()}..{labels.max()}"
        )
    missing = np.setdiff1d(np.arange(n_way), labels)
    if len(missing):
        raise ValueError(f"classes {missing.tolist()} have no support image: every class needs at least one")
    return labels.astype(np.int32)


#: The former name, which chapter 8 shows in ``finetune``'s source (its outputs are compared verbatim).
_check_labels = check_support_labels
