"""The Conv-4 embedding network shared by the episodic, transfer and self-supervised models.

Vinyals et al. (2016) and Snell et al. (2017) embed every image with the same small network:
four blocks of 3x3 convolution (64 filters), batch normalisation, ReLU and 2x2 max-pooling, on
28x28 images, which leaves a 64-dimensional embedding. This module holds that network and what
every model built on it shares:

- ``prepare_images``: Omniglot drawings resized for the network;
- ``build_embedding``: the network itself;
- ``cosine_similarities``: the comparison of two sets of embeddings by angle;
- ``EmbeddingNetworkScorer``: the base of every scorer that embeds each image with such a
  network once and compares the embeddings (an ``evaluate.EmbeddingScorer``);
- ``CosineScorer``: such a scorer by the cosine of the embeddings, with which the transfer and
  self-supervised models score.
"""

from __future__ import annotations

import numpy as np

from oneshot_lib.backend import keras, tf
from oneshot_lib.scoring.images import ink_images, ink_pair
from oneshot_lib.scoring.rules import check_support_labels
from oneshot_lib.scoring.rules import class_scores as mean_class_scores

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
        images: (..., 105, 105) drawings as ``evaluate.ink_images`` reads them: bool, True where
            there is ink (as loaded), floats with ink 1, or uint8 as image files hold them.
        image_size: side of the output images.
        chunk: how many images to resize at once (bounds the float32 memory at 105x105).

    Returns:
        (..., image_size, image_size, 1) float32 tf.Tensor, ink 1 and paper 0, shrunk by area
        averaging (so thin strokes fade to grey rather than vanish).

    Raises:
        ValueError if the images are not at least 2-d and square, or not what ``ink_images`` reads.
    """
    images = np.asarray(images)
    if images.ndim < 2 or images.shape[-1] != images.shape[-2]:
        raise ValueError(f"expected square images of shape (..., H, H), got shape {images.shape}")
    batch_shape = images.shape[:-2]
    flat = ink_images(images.reshape(-1, *images.shape[-2:]))[..., None]
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


def check_image_size(embedding: keras.Model, image_size: int) -> None:
    """Raise ValueError if ``embedding`` declares an input other than (image_size, image_size, 1) images.

    Keras would run a convolutional network with a flatten layer on images of another size and
    return features of another length, unlike any it was trained on, without a word.
    """
    shape = getattr(embedding, "input_shape", None)
    if isinstance(shape, tuple) and len(shape) == 4 and tuple(shape[1:3]) != (image_size, image_size):
        raise ValueError(
            f"the network {embedding.name!r} reads {shape[1]}x{shape[2]} images, but image_size={image_size}: "
            f"pass image_size={shape[1]}"
        )


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
        check_image_size(embedding, image_size)
        self.embedding = embedding
        self.image_size = image_size
        self.batch_size = batch_size

    def embed(self, images: np.ndarray) -> np.ndarray:
        """(n, D) float32 embeddings of raw images (n, 105, 105), in inference mode (n may be 0)."""
        prepared = prepare_images(ink_images(images), self.image_size)
        batches = [
            self.embedding(prepared[start : start + self.batch_size], training=False)
            for start in range(0, len(prepared), self.batch_size)
        ]
        if not batches:
            return np.zeros((0, self.embedding.output_shape[-1]), np.float32)
        return ops.convert_to_numpy(ops.concatenate(batches, axis=0))

    def scores(self, query: np.ndarray, support: np.ndarray) -> np.ndarray:
        """(Q, S) float64 similarity of query (Q, 105, 105) to support (S, 105, 105) images."""
        query, support = ink_pair(query, support)
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
        query, support = ink_pair(query, support)
        return self.compare_classes(self.embed(query), self.embed(support), support_labels, n_way)

    def compare_classes(
        self, query: np.ndarray, support: np.ndarray, support_labels: np.ndarray, n_way: int
    ) -> np.ndarray:
        """(Q, n_way) float64 class scores from embeddings: here each class's mean ``compare`` score."""
        return mean_class_scores(self.compare(query, support), support_labels, n_way)


class CosineScorer(EmbeddingNetworkScorer):
    """Scores by the cosine similarity of a network's features (the transfer and self-supervised models).

    ``scores`` returns the (Q, S) cosines, in [-1, 1]. With one shot, the pick is the nearest
    neighbour by cosine. With k > 1 shots it is not the nearest drawing: the scorer has no class
    rule of its own, so ``evaluate`` averages a class's cosines, which is the dot product of the
    unit query feature with the mean of the class's unit support features: a prototype of
    normalised features.
    """

    name = "transfer (cosine)"

    def compare(self, query, support):
        return ops.convert_to_numpy(cosine_similarities(query, support)).astype(np.float64)
