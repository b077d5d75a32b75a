"""The siamese network's training stream: batches of same/different pairs through tf.data.

``pair_dataset`` is an endless, seeded stream of pair batches from the training alphabets,
gathered and distorted (``oneshot_lib.data.augment``) inside tf.data, with prefetch. Batch ``s``
depends only on the seed and ``s``, so a resumed run sees exactly the batches an uninterrupted
one would have seen.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from oneshot_lib.backend import tf
from oneshot_lib.data import augment as augment_module
from oneshot_lib.data.omniglot import OmniglotSplit
from oneshot_lib.data.streams import gathered_dataset, seeded_index_stream, step_seed
from oneshot_lib.data.tasks import sample_pair_indices


def pair_indices_stream(
    data: OmniglotSplit,
    batch_size: int,
    *,
    seed: int = 0,
    start_step: int = 0,
    hard_negatives: bool = False,
    rotate_classes: bool = False,
) -> Iterator[tuple[np.ndarray, ...]]:
    """Endless (left (B, 2), right (B, 2), same (B,) float32, left_turns (B,), right_turns (B,), step).

    Batch ``step`` is ``tasks.sample_pair_indices`` with the generator seeded by
    ``(seed, step)``, so it is the same whichever step the stream starts from. The turns are 0
    unless ``rotate_classes``: then each image is turned by a random number of quarter turns,
    the same for both images of a same pair (a character turned is another class).
    """

    def sample(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        pairs = sample_pair_indices(data, batch_size, hard_negatives=hard_negatives, rng=rng)
        if not rotate_classes:
            zeros = np.zeros(batch_size, dtype=np.int64)
            return pairs.left, pairs.right, pairs.same, zeros, zeros
        left_turns = rng.integers(4, size=batch_size)
        right_turns = np.where(pairs.same == 1, left_turns, rng.integers(4, size=batch_size))
        return pairs.left, pairs.right, pairs.same, left_turns, right_turns

    return seeded_index_stream(sample, seed=seed, start_step=start_step)


def pair_dataset(
    data: OmniglotSplit,
    batch_size: int = 128,
    *,
    seed: int = 0,
    start_step: int = 0,
    augment: bool = True,
    hard_negatives: bool = False,
    rotate_classes: bool = False,
    distortions: augment_module.Distortions = augment_module.KOCH,
) -> tf.data.Dataset:
    """An endless tf.data stream of pair batches for a siamese network.

    Each element is ``({"left": (B, 105, 105), "right": (B, 105, 105)}, same (B,))``, all
    float32, ink 1: half the pairs show one character twice (same 1.0), half two characters.
    Only indices come from Python (``pair_indices_stream``, vectorised numpy); the images are
    gathered, turned (with ``rotate_classes``) and distorted in a parallel tf.data map (the
    distortion of batch ``s`` is seeded by ``(seed, s)``), and batches are prefetched while the
    model trains.

    Pass only training alphabets (``train_validation_split``): select models on the others.

    Raises ValueError (from ``sample_pair_indices``) if pairs cannot be drawn from ``data``.
    """
    sample_pair_indices(data, batch_size, hard_negatives=hard_negatives, rng=0)  # fail now, not in tf.data
    images = tf.constant(data.images)
    signature = (
        tf.TensorSpec((batch_size, 2), tf.int64),
        tf.TensorSpec((batch_size, 2), tf.int64),
        tf.TensorSpec((batch_size,), tf.float32),
        tf.TensorSpec((batch_size,), tf.int64),
        tf.TensorSpec((batch_size,), tf.int64),
        tf.TensorSpec((), tf.int64),
    )

    def gather(left, right, same, left_turns, right_turns, step):
        both = tf.cast(tf.gather_nd(images, tf.concat([left, right], axis=0)), tf.float32)
        if rotate_classes:
            turns = tf.concat([left_turns, right_turns], axis=0)
            both = augment_module.rotate_quarter_turns(both[..., None], turns)[..., 0]
        if augment:
            both = augment_module.distort(both, step_seed(seed, step), distortions)
        return {"left": both[:batch_size], "right": both[batch_size:]}, same

    return gathered_dataset(
        lambda: pair_indices_stream(
            data,
            batch_size,
            seed=seed,
            start_step=start_step,
            hard_negatives=hard_negatives,
            rotate_classes=rotate_classes,
        ),
        signature,
        gather,
    )
