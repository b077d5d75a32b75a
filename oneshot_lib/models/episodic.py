"""Prototypical and matching networks: embeddings trained on N-way tasks, not on pairs.

A siamese network scores every support image on its own, so its scores are not a distribution
over the support set, and it is trained on pairs but tested on N-way tasks. The networks here
are trained the way they are tested (*meta-learning*): each training step is an *episode*, a
small N-way k-shot task drawn from the training alphabets, and the loss is the cross-entropy of
the episode's queries over the episode's N classes.

Both share one embedding network (Vinyals et al. 2016; Snell et al. 2017; ``oneshot_lib.models.conv4``):
four blocks of 3x3 convolution (64 filters), batch normalisation, ReLU and 2x2 max-pooling, on
28x28 images.

- Prototypical network (Snell, Swersky and Zemel, 2017): a class's *prototype* is the mean
  embedding of its support images; a query's logits are minus its squared Euclidean distances
  to the prototypes.
- Matching network (Vinyals et al., 2016): a query attends to every support image with a
  softmax over cosine similarities, and a class's probability is the attention its images get.
  Full context embeddings (the LSTMs that let the embedding see the whole support set) are
  left out; the embedding of an image depends on that image only.

Training is plain ``model.fit``: a model's ``call`` takes an episode
``{"support", "support_labels", "query"}`` and returns (Q, N) logits, so Keras's own sparse
categorical cross-entropy, accuracy metric and callbacks apply unchanged
(``episode_dataset`` streams the episodes). ``model.scorer()`` turns a trained model into a
scorer for ``oneshot_lib.scoring.evaluate``. ``oneshot_lib.training.families`` says how a training run builds and
feeds them (``python -m oneshot_lib.train --model prototypical|matching``).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from oneshot_lib.backend import keras, tf
from oneshot_lib.data import augment
from oneshot_lib.data.omniglot import OmniglotSplit
from oneshot_lib.data.streams import gathered_dataset, seeded_index_stream, step_seed
from oneshot_lib.data.tasks import check_task_request, sample_task_indices
from oneshot_lib.models.backbones import BackboneModel, build_method
from oneshot_lib.models.conv4 import (
    IMAGE_SIZE,
    EmbeddingNetworkScorer,
    cosine_similarities,
    prepare_images,
)

ops = keras.ops


# ------------------------------------------------------------------ the maths, on embeddings


def class_prototypes(support: tf.Tensor, support_labels: tf.Tensor, n_way: int | tf.Tensor) -> tf.Tensor:
    """(n_way, D) mean embedding of each class, from support (S, D) and labels (S,) in [0, n_way).

    Every class must have at least one support image (a class without one gets NaN).
    """
    labels = ops.cast(support_labels, "int32")
    summed = ops.segment_sum(support, labels, num_segments=n_way)
    counts = ops.segment_sum(ops.ones_like(labels, dtype=support.dtype), labels, num_segments=n_way)
    return summed / counts[:, None]


def squared_distances(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """(A, B) squared Euclidean distances between the rows of a (A, D) and b (B, D).

    Computed as a sum of squared differences (exact, unlike the ``|a|^2 + |b|^2 - 2ab``
    expansion); the (A, B, D) intermediate is small at these sizes.
    """
    return ops.sum(ops.square(a[:, None, :] - b[None, :, :]), axis=-1)


def prototypical_logits(
    query: tf.Tensor, support: tf.Tensor, support_labels: tf.Tensor, n_way: int | tf.Tensor
) -> tf.Tensor:
    """(Q, n_way) minus the squared distance of each query embedding (Q, D) to each prototype."""
    return -squared_distances(query, class_prototypes(support, support_labels, n_way))


def matching_attention(query: tf.Tensor, support: tf.Tensor, scale: float | tf.Tensor = 1.0) -> tf.Tensor:
    """(Q, S) attention of each query over the support set: softmax of scale * cosine.

    Each row sums to 1. Vinyals et al. use the cosine itself (scale 1); see ``MatchingNetwork``.
    """
    return ops.softmax(scale * cosine_similarities(query, support), axis=-1)


def matching_log_probabilities(
    attention: tf.Tensor, support_labels: tf.Tensor, n_way: int | tf.Tensor, epsilon: float = 1e-12
) -> tf.Tensor:
    """(Q, n_way) log of the attention each class's support images receive, summed.

    The attention (Q, S) sums to 1 over the support set, so the result is a log-probability
    per class; its softmax is the class probability again, so it serves as logits.
    """
    labels = ops.cast(support_labels, "int32")
    per_class = ops.transpose(ops.segment_sum(ops.transpose(attention), labels, num_segments=n_way))
    return ops.log(per_class + epsilon)


# ------------------------------------------------------------------ the models


class EpisodicNetwork(BackboneModel):
    """An embedding network trained on episodes; subclasses say how queries score classes.

    ``call(episode)`` takes a dict with ``"support"`` (S, H, H, 1) float32, ``"support_labels"``
    (S,) int in [0, N) with every class present, and ``"query"`` (Q, H, H, 1) float32, and
    returns (Q, N) float32 logits. Support and query images go through the embedding in one
    batch, so batch normalisation sees the whole episode.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.built = True  # every weight exists now; loading a checkpoint needs no sample input

    def call(self, episode: dict[str, tf.Tensor], training: bool | None = None) -> tf.Tensor:
        support, query = episode["support"], episode["query"]
        labels = ops.cast(episode["support_labels"], "int32")
        n_way = ops.max(labels) + 1
        embedded = self.embedding(ops.concatenate([support, query], axis=0), training=training)
        n_support = ops.shape(support)[0]
        return self.episode_logits(embedded[n_support:], embedded[:n_support], labels, n_way)

    def episode_logits(self, query, support, support_labels, n_way) -> tf.Tensor:
        """(Q, N) logits from query (Q, D) and support (S, D) embeddings."""
        raise NotImplementedError

    def scorer(self) -> EmbeddingNetworkScorer:
        """A scorer (see ``oneshot_lib.scoring.evaluate``) that uses this network's embedding as it is now."""
        raise NotImplementedError


@keras.saving.register_keras_serializable(package="oneshot")
class PrototypicalNetwork(EpisodicNetwork):
    """Snell et al.'s prototypical network: logits are minus squared distances to prototypes."""

    def episode_logits(self, query, support, support_labels, n_way):
        return prototypical_logits(query, support, support_labels, n_way)

    def scorer(self) -> PrototypicalScorer:
        return PrototypicalScorer(self.embedding, self.image_size)


@keras.saving.register_keras_serializable(package="oneshot")
class MatchingNetwork(EpisodicNetwork):
    """Vinyals et al.'s matching network without full context embeddings.

    A query's attention over the support set is the softmax of ``scale`` times the cosine
    similarities, and a class's probability is the sum of its images' attention. Vinyals et al.
    use the bare cosine (``initial_scale=1.0, learn_scale=False``). Our embeddings are
    non-negative (ReLU, then max-pooling), so their cosines lie in [0, 1], and the softmax of a
    bare cosine can never be confident: a 20-way 1-shot query gets at most e / (e + 19), 13%,
    on its right answer. So the scale is learnt (as the exponential of a trained weight, to keep
    it positive), from 10 by default: measured on the validation alphabets, 20-way
    within-alphabet episodes, a start at 1 reached 50.8% validation accuracy after 900 episodes
    and one at 10 reached 72.3% (the scale started at 1 had only grown to 17 after 3,500).
    """

    def __init__(self, *args, initial_scale: float = 10.0, learn_scale: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if initial_scale <= 0:
            raise ValueError(f"initial_scale must be positive, got {initial_scale}")
        self.initial_scale = float(initial_scale)
        self.learn_scale = bool(learn_scale)
        self.log_scale = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(np.log(initial_scale)),
            trainable=learn_scale,
            name="log_scale",
        )

    @property
    def scale(self) -> float:
        """The current attention scale (inverse temperature)."""
        return float(np.exp(ops.convert_to_numpy(self.log_scale)))

    def episode_logits(self, query, support, support_labels, n_way):
        attention = matching_attention(query, support, ops.exp(self.log_scale))
        return matching_log_probabilities(attention, support_labels, n_way)

    def get_config(self) -> dict:
        return {**super().get_config(), "initial_scale": self.initial_scale, "learn_scale": self.learn_scale}

    def scorer(self) -> MatchingScorer:
        return MatchingScorer(self.embedding, self.image_size, scale=self.scale)


METHODS: dict[str, type[EpisodicNetwork]] = {"prototypical": PrototypicalNetwork, "matching": MatchingNetwork}


def build_episodic(method: str, *, seed: int | None = None, **kwargs) -> EpisodicNetwork:
    """A new, uncompiled prototypical or matching network (compile it with ``trainer.compile_model``).

    Args:
        method: ``"prototypical"`` or ``"matching"``; the model is named after it.
        seed: if given, seeds Keras's weight initialisers first (``keras.utils.set_random_seed``).
        kwargs: passed to the model: the backbone's ``image_size``, ``filters``, ``blocks``,
            ``backbone`` (``backbones.BackboneModel``'s defaults otherwise) and the method's own
            (e.g. ``initial_scale`` for a matching network).

    Raises ValueError for an unknown method.
    """
    return build_method(METHODS, method, "episodic", seed=seed, **kwargs)


def episode_loss() -> keras.losses.Loss:
    """The episodic loss: cross-entropy of the queries over the episode's classes, from logits."""
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def episode_metrics() -> list[keras.metrics.Metric]:
    """Training metric: the fraction of an episode's queries classified correctly."""
    return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]


# ------------------------------------------------------------------ episodes through tf.data


def episode_indices_stream(
    data: OmniglotSplit,
    n_way: int,
    k_shot: int = 1,
    n_query: int = 5,
    *,
    within_alphabet: bool = False,
    rotate_classes: bool = False,
    seed: int = 0,
    start_step: int = 0,
) -> Iterator[tuple[np.ndarray, ...]]:
    """Endless (characters, support_drawings, query_drawings, support_order, turns, step) episodes.

    Episode ``step`` is ``tasks.sample_task_indices`` (one task) with the generator seeded by
    ``(seed, step)``, so it is the same whichever step the stream starts from (a resumed run
    sees the episodes an uninterrupted one would have). Shapes: characters (n_way,), drawings
    (n_way, k_shot) and (n_way, n_query), support_order (n_way * k_shot,), turns (n_way,) int
    in [0, 4) (all 0 unless ``rotate_classes``), step a scalar int.
    """

    def sample(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        task = sample_task_indices(data, 1, n_way, k_shot, n_query, within_alphabet=within_alphabet, rng=rng)
        turns = rng.integers(4, size=n_way) if rotate_classes else np.zeros(n_way, dtype=np.int64)
        return task.characters[0], task.support_drawings[0], task.query_drawings[0], task.support_order[0], turns

    return seeded_index_stream(sample, seed=seed, start_step=start_step)


def episode_dataset(
    data: OmniglotSplit,
    n_way: int,
    k_shot: int = 1,
    n_query: int = 5,
    *,
    within_alphabet: bool = False,
    rotate_classes: bool = False,
    distortions: augment.Distortions | None = None,
    image_size: int = IMAGE_SIZE,
    seed: int = 0,
    start_step: int = 0,
) -> tf.data.Dataset:
    """An endless, seeded stream of N-way k-shot training episodes from ``data``, one per step.

    Each element is ``(episode, query_labels)``, ready for ``model.fit``:

    - ``episode["support"]``: (n_way * k_shot, image_size, image_size, 1) float32, shuffled;
    - ``episode["support_labels"]``: (n_way * k_shot,) int32 in [0, n_way);
    - ``episode["query"]``: (n_way * n_query, image_size, image_size, 1) float32, class-major;
    - ``query_labels``: (n_way * n_query,) int32.

    The split is resized once, up front (``prepare_images``). Only indices come from Python
    (``episode_indices_stream``: episode ``s`` depends on ``seed`` and ``s`` only); the images
    are gathered in a parallel tf.data map and prefetched while the model trains.

    Args:
        within_alphabet: draw each episode's characters from one alphabet (Lake's protocol).
        rotate_classes: show each class of an episode rotated by a random multiple of 90
            degrees (the same for its support and queries): the augmentation of Vinyals et al.
            and Snell et al. that turns every character into four classes.
        distortions: if given, Koch's random affine distortions (``oneshot_lib.data.augment``) of
            every image at ``image_size``, seeded by ``(seed, step)``. Their ``translation`` is in
            pixels of the resized image.
        start_step: the first episode's step number (a resumed run passes the steps done).

    Pass only training alphabets (``train_validation_split``): select models on the others.

    Raises ValueError if such episodes cannot be drawn from ``data`` (see
    ``tasks.check_task_request``).
    """
    check_task_request(data, n_way, k_shot, n_query, within_alphabet)
    images = prepare_images(data.images, image_size)
    signature = (
        tf.TensorSpec((n_way,), tf.int64),
        tf.TensorSpec((n_way, k_shot), tf.int64),
        tf.TensorSpec((n_way, n_query), tf.int64),
        tf.TensorSpec((n_way * k_shot,), tf.int64),
        tf.TensorSpec((n_way,), tf.int64),
        tf.TensorSpec((), tf.int64),
    )

    def gather(characters, support_drawings, query_drawings, support_order, turns, step):
        support = _gather_class_images(images, characters, support_drawings, turns)
        query = _gather_class_images(images, characters, query_drawings, turns)
        if distortions is not None:
            both = augment.distort(tf.concat([support, query], axis=0), step_seed(seed, step), distortions)
            support, query = both[: n_way * k_shot], both[n_way * k_shot :]
        episode = {
            "support": tf.gather(support, support_order),
            "support_labels": tf.gather(tf.repeat(tf.range(n_way), k_shot), support_order),
            "query": query,
        }
        return episode, tf.repeat(tf.range(n_way), n_query)

    return gathered_dataset(
        lambda: episode_indices_stream(
            data,
            n_way,
            k_shot,
            n_query,
            within_alphabet=within_alphabet,
            rotate_classes=rotate_classes,
            seed=seed,
            start_step=start_step,
        ),
        signature,
        gather,
    )


def _gather_class_images(images, characters, drawings, rotations) -> tf.Tensor:
    """(n_way * m, H, H, 1) class-major images[characters[c], drawings[c, j]], class c rotated."""
    n_way, per_class = tf.shape(drawings)[0], tf.shape(drawings)[1]
    rows = tf.broadcast_to(characters[:, None], tf.shape(drawings))
    picked = tf.gather_nd(images, tf.stack([rows, drawings], axis=-1))  # (n_way, m, H, H, 1)
    return tf.reshape(augment.rotate_quarter_turns(picked, rotations), (n_way * per_class, *images.shape[2:]))


# ------------------------------------------------------------------ scorers


class PrototypicalScorer(EmbeddingNetworkScorer):
    """A prototypical network as a scorer.

    ``scores`` returns minus the squared distance of each query to each support image's
    embedding. With one shot a support image is its class's prototype, so that is the network's
    own logit, and ``evaluate.accuracy`` (and the one-shot validation of a training run) apply
    the prototype rule exactly.

    With k > 1 they do not: ``evaluate`` averages each class's scores, which gives
    ``-|q - c|^2 - v_c``, where c is the prototype and v_c the mean squared distance of the class's
    embeddings to c: the prototype logit minus a penalty for a spread-out class, which can change
    the decision. No per-image score can fix that, because ``scores`` is not told which support
    images share a class (and ``|c|^2`` is not an average over the class's images). The method's
    own rule is ``class_scores``: minus the squared distance to each prototype, which
    ``evaluate.accuracy`` uses (this scorer is an ``evaluate.ClassScorer``).
    """

    name = "prototypical network"

    def compare(self, query, support):
        return -ops.convert_to_numpy(squared_distances(query, support)).astype(np.float64)

    def compare_classes(self, query, support, support_labels, n_way):
        """(Q, n_way) float64 logits: minus the squared distance of each query to each prototype."""
        logits = prototypical_logits(query, support, support_labels, n_way)
        return ops.convert_to_numpy(logits).astype(np.float64)


class MatchingScorer(EmbeddingNetworkScorer):
    """A matching network as a scorer.

    ``scores`` returns the attention (Q, S): for each query a softmax over the support set of
    ``scale`` times the cosine similarity, rows summing to 1. A class's probability is the sum
    of its images' attention, so the class mean that ``evaluate`` takes is that probability
    divided by the class's shots: the same decision whenever classes have equal shots, as every
    task here does. ``class_scores`` returns the probabilities themselves.
    """

    name = "matching network"

    def __init__(self, embedding: keras.Model, image_size: int = IMAGE_SIZE, scale: float = 10.0, **kwargs):
        super().__init__(embedding, image_size, **kwargs)
        self.scale = scale

    def compare(self, query, support):
        return ops.convert_to_numpy(matching_attention(query, support, self.scale)).astype(np.float64)

    def compare_classes(self, query, support, support_labels, n_way):
        """(Q, n_way) float64 probability of each class: the attention its support images get."""
        attention = self.compare(query, support)
        per_class = np.zeros((len(query), n_way))
        np.add.at(per_class.T, support_labels, attention.T)
        return per_class
