"""Transfer and fine-tuning on the support set: three ways to use a task's few labelled drawings.

A network trained on the background alphabets (a Conv-4 ``embedding`` from
``conv4.build_embedding``) meets a new task: n_way characters, k drawings of each. Its features
can be used as they are, or the support set can be used to *train* something, at test time:

1. **Frozen features, from any depth** (``block_features``): the network cut after one of its
   blocks. Earlier blocks keep more of the drawing (strokes, positions), later ones more of what
   told the background characters apart. No new scorer is needed to compare them: wrap the cut
   network in the transfer baseline's scorer,
   ``conv4.CosineScorer(block_features(embedding, 3), image_size=28)``. It scores
   by cosine, and with k shots ``evaluate`` averages a class's cosines, which is the dot product
   of the unit query feature with the mean of the class's unit features: a prototype.
2. **A linear head on frozen features** (``LinearHead``): a new softmax classifier over the
   task's n_way classes, fitted on the support embeddings alone (the network does not change).
3. **Fine-tuning** (``FineTuned``): a copy of the whole network, plus such a head, trained on
   the support drawings (distorted afresh at each step), then used on the queries.

Both heads start from the class prototypes: before any step they score a class by the cosine
with its *normalised* mean feature (scaled), and fitting moves away from that only as far as the
support set asks. That start is not the frozen baseline of 1., which averages a class's cosines
(a dot product with the unnormalised mean): with one shot the two rules are the same, with more
they can differ. ``LinearHead(..., steps=0)`` scores with the start alone, so a chapter can tell
what the change of rule gives from what the steps add.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oneshot_lib.backend import keras, tf
from oneshot_lib.data import augment
from oneshot_lib.data.tasks import check_count, check_positive_number
from oneshot_lib.models.conv4 import IMAGE_SIZE, EmbeddingNetworkScorer, check_image_size, prepare_images
from oneshot_lib.scoring.rules import check_support_labels

ops = keras.ops

#: Scale of the heads' initial logits: the cosine to each class prototype times this. Cosines lie
#: in [-1, 1], so unscaled logits would give a nearly uniform softmax whose cross-entropy pushes
#: every support image hard, right or wrong; times 10 a clear nearest prototype already gets
#: most of the probability, and the loss concentrates on the images it gets wrong.
SCALE = 10.0


# ------------------------------------------------------------------ 1. frozen features from any block


def block_features(embedding: keras.Sequential, block: int) -> keras.Model:
    """The Conv-4 ``embedding`` cut after block ``block`` (after its pooling layer), flattened.

    Args:
        embedding: a network from ``conv4.build_embedding`` (layers conv1, batchnorm1, relu1,
            pool1, ..., flatten), trained or not.
        block: 1 for the first block's features ... the number of blocks for the whole network.

    Returns:
        A ``keras.Model`` mapping (B, H, H, 1) float32 images to (B, D) float32 features, with
        D = filters * (H // 2**block)**2 (at 28x28: 12544, 3136, 576, 64). It calls the
        embedding's own layer objects, so it shares their weights: nothing is copied, and
        training either network changes both.

    Raises:
        ValueError if ``block`` is not in 1..blocks, or the network has no pooling layer of
        that block.
    """
    blocks = sum(layer.name.startswith("pool") for layer in embedding.layers)
    if not 1 <= block <= blocks:
        raise ValueError(
            f"block must lie in 1..{blocks}: the network {embedding.name!r} has {blocks} blocks "
            f"(pool1..pool{blocks}), and cutting after block {block} leaves no such layer"
        )
    names = [layer.name for layer in embedding.layers]
    if f"pool{block}" not in names:
        raise ValueError(f"the network {embedding.name!r} has no layer 'pool{block}'; its layers are {names}")
    inputs = keras.Input(embedding.input_shape[1:])
    features = inputs
    for layer in embedding.layers[: names.index(f"pool{block}") + 1]:
        features = layer(features)
    flat = keras.layers.Flatten(name="flatten")(features)
    return keras.Model(inputs, flat, name=f"{embedding.name}_block{block}")


# ------------------------------------------------------------------ heads started at the prototypes


def normalise(features: tf.Tensor, epsilon: float = 1e-8) -> tf.Tensor:
    """(n, D) float32 features scaled to unit length (an all-zero row stays zero, not NaN)."""
    features = ops.convert_to_tensor(features, "float32")
    return features / ops.sqrt(ops.sum(ops.square(features), axis=-1, keepdims=True) + epsilon)


def prototype_head(
    unit_features: tf.Tensor, labels: np.ndarray, n_way: int, scale: float = SCALE
) -> tuple[tf.Tensor, tf.Tensor]:
    """A softmax head that is the nearest-prototype classifier by cosine.

    Args:
        unit_features: (S, D) float32 unit-length support features.
        labels: (S,) int in [0, n_way), every class present.
        n_way: number of classes.
        scale: the logits' scale (``SCALE``).

    Returns:
        (weights (D, n_way), bias (n_way,)) float32: each column of ``weights`` is ``scale``
        times a class's mean feature, normalised; the bias is 0. For a unit query feature q the
        logits ``q @ weights + bias`` are ``scale * cos(q, prototype)``.
    """
    summed = tf.math.unsorted_segment_sum(unit_features, tf.constant(labels, tf.int32), n_way)
    return scale * ops.transpose(normalise(summed)), tf.zeros((n_way,), tf.float32)


def check_fitting(steps: int, learning_rate: float, scale: float) -> None:
    """Raise TypeError or ValueError, naming the value, unless ``steps`` is an int >= 0 (0: the
    prototypes themselves) and ``learning_rate`` and ``scale`` are finite numbers > 0."""
    check_count("steps", steps, 0, "0 keeps the prototypes, and fewer steps than none do not exist")
    check_positive_number("learning_rate", learning_rate)
    check_positive_number("scale", scale)


def _cross_entropy(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Mean softmax cross-entropy of (n, n_way) logits for (n,) int32 labels."""
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))


@tf.function(reduce_retracing=True)
def _descend(unit_features, labels, weights, bias, steps, learning_rate):
    """``steps`` full-batch gradient-descent steps of the head on the support features."""
    for _ in tf.range(steps):
        with tf.GradientTape() as tape:
            tape.watch([weights, bias])
            loss = _cross_entropy(unit_features @ weights + bias, labels)
        weight_gradient, bias_gradient = tape.gradient(loss, [weights, bias])
        weights -= learning_rate * weight_gradient
        bias -= learning_rate * bias_gradient
    return weights, bias


def fit_linear_head(
    unit_features: tf.Tensor,
    labels: np.ndarray,
    n_way: int,
    steps: int = 100,
    learning_rate: float = 0.1,
    scale: float = SCALE,
) -> tuple[tf.Tensor, tf.Tensor]:
    """(weights (D, n_way), bias (n_way,)) float32 of a softmax head fitted to (S, D) unit features.

    Starts at ``prototype_head`` and takes ``steps`` steps of full-batch gradient descent on the
    cross-entropy of the support images' labels (S,) (``steps=0`` returns the start).

    Raises ValueError for steps < 0, or a learning rate or scale that is not a finite number > 0.
    """
    check_fitting(steps, learning_rate, scale)
    weights, bias = prototype_head(unit_features, labels, n_way, scale)
    labels = tf.constant(labels, tf.int32)
    return _descend(unit_features, labels, weights, bias, tf.constant(steps), tf.constant(learning_rate, tf.float32))


# ------------------------------------------------------------------ 2. a linear head on frozen features


class LinearHead(EmbeddingNetworkScorer):
    """A softmax classifier over the task's classes, fitted on frozen, normalised support embeddings.

    Per task, the support and query images are embedded by the unchanged network (inference
    mode) and scaled to unit length; a head (weights (D, n_way), bias (n_way,)) starts at the
    class prototypes (``prototype_head``) and takes ``steps`` steps of full-batch gradient
    descent on the support images' cross-entropy. ``class_scores`` returns the queries'
    (Q, n_way) float64 logits.

    Why start at the prototypes: with k drawings per class and 64 dimensions, a head started at
    random separates the support set in whichever way descent happens to find first, and each
    seed finds another; started at the prototypes, step 0 is the nearest prototype by cosine with
    each class's normalised mean feature, times ``scale``, and descent only turns the weights
    where the support set disagrees with it. With one shot, step 0 ranks classes as the frozen
    cosine baseline does; with more shots it does not, because that baseline averages a class's
    cosines (the dot product with the unnormalised mean), so ``steps=0`` measures the change of
    rule on its own. The fit is deterministic (full batch, no random start), so it takes no seed.

    The head only reads embeddings, so this is an ``evaluate.EmbeddingScorer``: an evaluation
    embeds every image once and fits one head per task (``compare_classes``). ``scores`` (and
    ``compare``) fit the head with each support image as a class of its own, so with one shot
    they equal the class scores, and Lake's runs score the same method.
    """

    name = "linear head on frozen features"

    def __init__(
        self,
        embedding: keras.Model,
        image_size: int = IMAGE_SIZE,
        steps: int = 100,
        learning_rate: float = 0.1,
        *,
        scale: float = SCALE,
    ):
        check_fitting(steps, learning_rate, scale)
        super().__init__(embedding, image_size)
        self.steps = steps
        self.learning_rate = learning_rate
        self.scale = scale

    def compare(self, query: np.ndarray, support: np.ndarray) -> np.ndarray:
        """(Q, S) float64 logits of query (Q, D) embeddings, each support (S, D) image its own class."""
        return self.compare_classes(query, support, np.arange(len(support)), len(support))

    def compare_classes(
        self, query: np.ndarray, support: np.ndarray, support_labels: np.ndarray, n_way: int
    ) -> np.ndarray:
        """(Q, n_way) float64 logits of query (Q, D) embeddings, from a head fitted on support (S, D)."""
        labels = check_support_labels(support_labels, len(support), n_way)
        weights, bias = fit_linear_head(normalise(support), labels, n_way, self.steps, self.learning_rate, self.scale)
        return ops.convert_to_numpy(normalise(query) @ weights + bias).astype(np.float64)


# ------------------------------------------------------------------ 3. fine-tuning the whole network


def scale_and_shift_parameters(network: keras.Model) -> list[keras.Variable]:
    """The per-channel scale (gamma) and shift (beta) variables of ``network``'s batch normalisations.

    A Conv-4 network has four, each (filters,) float32, in layer order, gamma before beta; a
    network without batch normalisation (or with ``scale=False, center=False``) has none.
    """
    return [
        variable
        for layer in network.layers
        if isinstance(layer, keras.layers.BatchNormalization)
        for variable in (layer.gamma, layer.beta)
        if variable is not None
    ]


@dataclass
class _Tuning:
    """What fine-tuning on one task shape needs, built once and reset for every task."""

    network: keras.Model
    weights: keras.Variable
    bias: keras.Variable
    optimizer: keras.optimizers.Optimizer
    optimizer_start: list[np.ndarray]
    step: tf.types.experimental.PolymorphicFunction


class FineTuned:
    """A copy of the network plus a softmax head, trained on each task's support drawings.

    Per task: the copy is reset to the original network's weights (the original is never
    changed), a head (weights (D, n_way), bias (n_way,)) starts at the class prototypes of the
    copy's normalised features, as in ``LinearHead``, and the copy and head together take
    ``steps`` Adam steps on the cross-entropy of the support images (all of them, one batch).
    With ``distort``, each step sees Koch's affine distortions of the support drawings
    (``augment.distort``, seeded by ``(seed, step)``), so 20 or 100 images look like more.
    ``class_scores`` returns the queries' (Q, n_way) float64 logits; ``scores`` fine-tunes with
    each support image as a class of its own.

    With ``scale_and_shift_only``, the convolutions' kernels and biases stay as they are and only
    the batch normalisations' per-channel scale and shift (gamma and beta, 2 x 64 per block of a
    Conv-4) and the head are trained: a few hundred numbers to fit instead of the whole network,
    in the spirit of Sun et al. (2019), who learn such scales and shifts of a frozen deep network.

    Speed: the copy, the head, the optimizer and the compiled training step are built once per
    task shape (support size, n_way) and reset between tasks, so a task costs ``steps``
    forward-backward passes over its support set, not a new trace. That cost is the method's
    own: at 28x28 a 20-way 5-shot task (30 steps over 100 drawings) takes about 3 s of one
    core, a 1-shot task under 1 s, against 0.1 s for the frozen network.
    """

    name = "fine-tuned on the support set"

    def __init__(
        self,
        embedding: keras.Model,
        image_size: int = IMAGE_SIZE,
        steps: int = 30,
        learning_rate: float = 1e-3,
        distort: bool = True,
        seed: int = 0,
        batchnorm_frozen: bool = True,
        *,
        scale: float = SCALE,
        scale_and_shift_only: bool = False,
    ):
        check_fitting(steps, learning_rate, scale)
        check_image_size(embedding, image_size)
        if scale_and_shift_only and not scale_and_shift_parameters(embedding):
            raise ValueError(
                f"scale_and_shift_only needs batch normalisation layers with a scale and a shift, and the "
                f"network {embedding.name!r} has none; fine-tune all its weights instead"
            )
        self.scale_and_shift_only = scale_and_shift_only
        self.embedding = embedding
        self.image_size = image_size
        self.steps = steps
        self.learning_rate = learning_rate
        self.distort = distort
        self.seed = seed
        self.batchnorm_frozen = batchnorm_frozen
        self.scale = scale
        self._tunings: dict[tuple[int, int], _Tuning] = {}

    def scores(self, query: np.ndarray, support: np.ndarray) -> np.ndarray:
        """(Q, S) float64 logits of query (Q, 105, 105) images, each support image its own class."""
        return self.class_scores(query, support, np.arange(len(support)), len(support))

    def class_scores(
        self, query: np.ndarray, support: np.ndarray, support_labels: np.ndarray, n_way: int
    ) -> np.ndarray:
        """(Q, n_way) float64 logits of raw query (Q, 105, 105) images after fine-tuning on the
        raw support (S, 105, 105) images and their labels (S,) int in [0, n_way).

        Raises ValueError unless every class has a support image.
        """
        labels = check_support_labels(support_labels, len(support), n_way)
        tuning = self._tuning(len(support), n_way)
        tuning.network.set_weights(self.embedding.get_weights())
        for variable, value in zip(tuning.optimizer.variables, tuning.optimizer_start, strict=True):
            variable.assign(value)
        support_images = prepare_images(support, self.image_size)
        weights, bias = prototype_head(
            normalise(tuning.network(support_images, training=False)), labels, n_way, self.scale
        )
        tuning.weights.assign(weights)
        tuning.bias.assign(bias)
        labels = tf.constant(labels, tf.int32)
        for step in range(self.steps):
            tuning.step(support_images, labels, tf.constant([self.seed, step], tf.int32))
        query_features = normalise(tuning.network(prepare_images(query, self.image_size), training=False))
        return ops.convert_to_numpy(query_features @ tuning.weights + tuning.bias).astype(np.float64)

    def _tuning(self, n_support: int, n_way: int) -> _Tuning:
        """The copy, head, optimizer and compiled step for tasks of this shape (built on first use)."""
        if (n_support, n_way) in self._tunings:
            return self._tunings[(n_support, n_way)]
        network = keras.models.clone_model(self.embedding)
        network.set_weights(self.embedding.get_weights())
        dimensions = network.output_shape[-1]
        weights = keras.Variable(np.zeros((dimensions, n_way), np.float32), name="head_weights")
        bias = keras.Variable(np.zeros((n_way,), np.float32), name="head_bias")
        tuned = scale_and_shift_parameters(network) if self.scale_and_shift_only else network.trainable_variables
        variables = [*tuned, weights, bias]
        optimizer = keras.optimizers.Adam(self.learning_rate)
        optimizer.build(variables)
        distortions = augment.scaled_distortions(self.image_size)
        # Batch normalisation stays in inference mode: it normalises with the statistics learnt on
        # the background alphabets. Re-estimated from one batch of 20-100 support images (a few
        # per class, the same images every step) they would be noisy and unlike those the later
        # layers were trained with, and the queries would then meet a different normalisation
        # from the one the support set was fitted under. Its scale and shift are still trained.
        training = not self.batchnorm_frozen

        @tf.function
        def step(images: tf.Tensor, labels: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
            if self.distort:
                images = augment.distort(images, seed, distortions)
            with tf.GradientTape() as tape:
                features = normalise(network(images, training=training))
                loss = _cross_entropy(features @ weights + bias, labels)
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
            return loss

        start = [ops.convert_to_numpy(variable) for variable in optimizer.variables]
        tuning = _Tuning(network, weights, bias, optimizer, start, step)
        self._tunings[(n_support, n_way)] = tuning
        return tuning
