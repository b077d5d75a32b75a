"""Seeded tf.data streams: indices drawn in numpy, images gathered in a parallel map, prefetched.

Every training stream of the course (pairs for the siamese network, episodes for the episodic
networks, labelled batches for the transfer classifier) has the same shape: batch ``step`` is
drawn by a numpy generator seeded by ``(seed, step)``, so a stream started at any step sees
exactly the batches an uninterrupted one would have; only those small index arrays come from
Python, and the images are gathered (and distorted) inside tf.data while the model trains.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from oneshot_lib.backend import tf
from oneshot_lib.data.seeds import seeded_generator


def seeded_index_stream(
    sample: Callable[[np.random.Generator], tuple[np.ndarray, ...]], *, seed: int = 0, start_step: int = 0
) -> Iterator[tuple]:
    """Endless ``(*sample(rng), step)`` tuples, ``rng`` a fresh ``np.random.default_rng([seed, step])``."""
    step = start_step
    while True:
        yield (*sample(seeded_generator([seed, step])), step)
        step += 1


def step_seed(seed: int, step: tf.Tensor) -> tf.Tensor:
    """(2,) int64 stateless seed ``(seed, step)`` for the random ops of one batch's map."""
    return tf.stack([tf.cast(seed, tf.int64), tf.cast(step, tf.int64)])


def gathered_dataset(
    indices: Callable[[], Iterator[tuple]], signature: tuple[tf.TensorSpec, ...], gather: Callable
) -> tf.data.Dataset:
    """``indices()`` (index tuples matching ``signature``) mapped by ``gather`` in parallel, prefetched.

    The map is deterministic, so the order of the batches is the order of the indices. The first
    indices are drawn once now, so a bad seed raises its own error here, not inside tf.data.
    """
    next(indices())
    stream = tf.data.Dataset.from_generator(indices, output_signature=signature)
    return stream.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)
