"""The inner loop of optimisation-based meta-learning, on a Conv-4 network written as a function of its weights.

``oneshot_lib.models.metalearning`` trains MAML, first-order MAML and Reptile (and scores with
them) from the pieces here: the network (``embed``, ``logits``), a task's inner loop (``adapt``)
and what each method's outer loop takes from one task (``maml_task_gradients``,
``reptile_task_difference``).

The network is written *functionally*: ``logits(parameters, images)`` takes the weights as a
list of tensors, so adapted weights are tensors computed from the initial ones, and the outer
tape sees the whole inner loop. ``parameters`` is ``[kernel_1, bias_1, gamma_1, beta_1, ...,
kernel_B, bias_B, gamma_B, beta_B, head_weights, head_bias]``: the trainable weights of
``conv4.build_embedding`` in its own order (kernels (3, 3, in, filters) float32, the rest
(filters,)), then an N-way linear head, (D, N) and (N,) float32.

Two choices, documented where MAML implementations differ:

- **The head starts every task at zero** (the "zeroing trick" of Kao, Chiu and Chen, 2022). A head
  learnt as part of the initialisation ties each of its N rows to a position in the support set,
  which is arbitrary, and fixes N (this course trains 5- or 20-way and validates 20-way). A head
  whose rows all start equal is the same as one at zero: softmax ignores what every class shares.
  The first inner step then sets each class's row to (a multiple of) its support images' mean
  feature minus the overall mean: a prototype-like linear classifier, which later steps refine.
- **Batch normalisation uses the task's own statistics, never running averages**, as Finn et al.'s
  and learn2learn's Omniglot MAML do (batch statistics at training and at test time). Here the
  statistics of a task are those of its *support* images (the images it adapts on; for Reptile's
  inner loop, all of the images it adapts on), and queries are normalised with them. Finn et al.
  normalise a query batch with its own statistics; normalising with the support set's keeps every
  query's scores independent of which other queries are scored with it, which the scorer contract
  (``oneshot_lib.scoring.evaluate``) assumes. The Keras layers' moving averages are never used or updated.
"""

from __future__ import annotations

from oneshot_lib.backend import tf

#: Batch normalisation's epsilon: Keras's default, the one ``conv4.build_embedding``'s layers use.
BATCHNORM_EPSILON = 1e-3
#: Weights per Conv-4 block in ``parameters``: kernel, bias, gamma, beta.
BLOCK_WEIGHTS = 4

Parameters = list[tf.Tensor]


# ------------------------------------------------------------------ the network, as a function of its weights


def normalise(features: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, n_statistics: int | tf.Tensor) -> tf.Tensor:
    """Batch normalisation of features (B, H, W, C) with the statistics of their first ``n_statistics`` rows.

    Mean and (biased) variance per channel over those rows and every position, as Keras's
    ``BatchNormalization`` computes them in training mode; gamma, beta (C,). Returns (B, H, W, C).
    """
    # Not tf.nn.moments: it stops the gradient through the mean inside the variance, harmless for a
    # first derivative (the variance's derivative in the mean is 0) but wrong for MAML's second.
    sample = features[:n_statistics]
    mean = tf.reduce_mean(sample, axis=[0, 1, 2])
    variance = tf.reduce_mean(tf.square(sample - mean), axis=[0, 1, 2])
    return (features - mean) * (gamma * tf.math.rsqrt(variance + BATCHNORM_EPSILON)) + beta


def embed(block_parameters: Parameters, images: tf.Tensor, n_statistics: int | tf.Tensor | None = None) -> tf.Tensor:
    """(B, D) float32 Conv-4 features of images (B, H, H, 1) float32, given the blocks' weights.

    Each block: 3x3 convolution ('same'), batch normalisation with the statistics of the first
    ``n_statistics`` images (all of them by default), ReLU, 2x2 max-pooling; then flattened. With
    the weights of a ``conv4.build_embedding`` network this is that network in training mode.
    """
    n_statistics = tf.shape(images)[0] if n_statistics is None else n_statistics
    features = images
    for start in range(0, len(block_parameters), BLOCK_WEIGHTS):
        kernel, bias, gamma, beta = block_parameters[start : start + BLOCK_WEIGHTS]
        features = tf.nn.conv2d(features, kernel, strides=1, padding="SAME") + bias
        features = tf.nn.relu(normalise(features, gamma, beta, n_statistics))
        features = tf.nn.max_pool2d(features, 2, 2, "VALID")
    return tf.reshape(features, (tf.shape(features)[0], -1))


def logits(parameters: Parameters, images: tf.Tensor, n_statistics: int | tf.Tensor | None = None) -> tf.Tensor:
    """(B, N) float32 logits of images (B, H, H, 1): Conv-4 features times the head, plus its bias."""
    *blocks, head_weights, head_bias = parameters
    return embed(blocks, images, n_statistics) @ head_weights + head_bias


def cross_entropy(parameters: Parameters, images: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Scalar mean cross-entropy of the network on images (B, H, H, 1) with labels (B,) int in [0, N)."""
    return tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(labels, tf.int32), logits(parameters, images))
    )


def zero_head(block_parameters: Parameters, images: tf.Tensor, n_way: int | tf.Tensor) -> Parameters:
    """``block_parameters`` followed by a zero N-way head, (D, N) and (N,), for images (B, H, H, 1).

    D is the Conv-4 feature size at that image size: filters * (H // 2**blocks)**2.
    """
    side = images.shape[1] if images.shape[1] is not None else tf.shape(images)[1]
    for _ in range(len(block_parameters) // BLOCK_WEIGHTS):
        side = side // 2
    dimensions = block_parameters[-BLOCK_WEIGHTS].shape[-1] * side * side
    dtype = block_parameters[0].dtype
    return [*block_parameters, tf.zeros((dimensions, n_way), dtype), tf.zeros((n_way,), dtype)]


# ------------------------------------------------------------------ the inner loop


def adapt(
    parameters: Parameters,
    images: tf.Tensor,
    labels: tf.Tensor,
    steps: int,
    learning_rate: float,
    *,
    first_order: bool = False,
    head_only: bool = False,
    batch_size: int = 0,
) -> Parameters:
    """The parameters after ``steps`` steps of gradient descent on one task's images.

    Each step: ``p <- p - learning_rate * dL/dp``, L the mean cross-entropy on images
    (B, H, H, 1) float32 with labels (B,) int in [0, N), batch-normalised with their own
    statistics. Written with tensors only, so a tape recording around this call sees the whole
    loop: the outer gradient of MAML flows through every step, second derivatives included.

    Args:
        first_order: treat each step's gradient as a constant (taken at ``tf.stop_gradient`` copies
            of the parameters): first-order MAML, whose outer gradient skips the second derivatives.
        head_only: adapt only the head (the last two parameters), the rest staying as given:
            ANIL's inner loop (Raghu et al., 2020).
        batch_size: step i takes the i-th run of ``batch_size`` consecutive images (starting
            again at the first when the images run out), batch-normalised with that minibatch's
            statistics; 0 (the default): every step takes all the images.
    """
    parameters = list(parameters)
    first_adapted = len(parameters) - 2 if head_only else 0
    for step in range(steps):
        step_images, step_labels = minibatch(images, labels, step, batch_size)
        # First order: the gradient is taken at a copy cut off from any outer tape, so that tape
        # neither records the inner gradient's computation nor differentiates through it.
        at = [tf.stop_gradient(parameter) for parameter in parameters] if first_order else parameters
        with tf.GradientTape() as tape:
            tape.watch(at)
            loss = cross_entropy(at, step_images, step_labels)
        gradients = tape.gradient(loss, at[first_adapted:])
        parameters[first_adapted:] = [
            parameter - learning_rate * gradient
            for parameter, gradient in zip(parameters[first_adapted:], gradients, strict=True)
        ]
    return parameters


def minibatch(images: tf.Tensor, labels: tf.Tensor, step: int, batch_size: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Step ``step``'s slice of ``batch_size`` consecutive images (B, H, H, 1) and labels (B,), cycling.

    With m = B // batch_size whole minibatches, step i takes images [j * batch_size, (j + 1) * batch_size)
    for j = i mod m (a last partial minibatch is never used). ``batch_size`` 0: all of them.
    """
    if not batch_size:
        return images, labels
    whole_batches = tf.shape(images)[0] // batch_size
    start = (step % whole_batches) * batch_size
    return images[start : start + batch_size], labels[start : start + batch_size]


def class_balanced_order(labels: tf.Tensor) -> tf.Tensor:
    """(B,) int32 order of a task's images that deals them out class by class, like cards.

    labels (B,) int in [0, N). The order lists each class's first image (by label), then each
    class's second image, and so on, so that consecutive runs of a multiple of N images hold every
    class equally (when every class has as many images).
    """
    labels = tf.cast(labels, tf.int32)
    n_way = tf.reduce_max(labels) + 1
    one_hot = tf.one_hot(labels, n_way, dtype=tf.int32)
    rank_in_class = tf.reduce_sum(tf.cumsum(one_hot, axis=0, exclusive=True) * one_hot, axis=1)
    return tf.argsort(rank_in_class * n_way + labels, stable=True)


def adapted_query_logits(
    parameters: Parameters,
    support: tf.Tensor,
    support_labels: tf.Tensor,
    query: tf.Tensor,
    steps: int,
    learning_rate: float,
    *,
    first_order: bool = False,
    head_only: bool = False,
) -> tf.Tensor:
    """(Q, N) logits of the queries (Q, H, H, 1) after adapting on support (S, H, H, 1), labels (S,).

    ``parameters`` ends with the head the task starts from (``zero_head``). The queries are
    batch-normalised with the support set's statistics (see the module docstring).
    """
    adapted = adapt(
        parameters, support, support_labels, steps, learning_rate, first_order=first_order, head_only=head_only
    )
    n_support = tf.shape(support)[0]
    return logits(adapted, tf.concat([support, query], axis=0), n_support)[n_support:]


# ------------------------------------------------------------------ the outer loop, per task


def maml_task_gradients(
    block_weights: list,
    episode: dict[str, tf.Tensor],
    query_labels: tf.Tensor,
    steps: int,
    learning_rate: float,
    *,
    first_order: bool = False,
) -> tuple[list[tf.Tensor], tf.Tensor, tf.Tensor]:
    """MAML's outer gradient of one task's query loss with respect to the initial block weights.

    Args:
        block_weights: the initialisation, the Conv-4 blocks' trainable weights (variables).
        episode: {"support": (S, H, H, 1) float32, "support_labels": (S,) int in [0, N) with every
            class present, "query": (Q, H, H, 1) float32}; query_labels (Q,) int in [0, N).

    Returns:
        (gradients, one per block weight and shaped like it; the query loss; the query accuracy),
        the last two scalar float32 tensors.
    """
    n_way = tf.reduce_max(episode["support_labels"]) + 1
    with tf.GradientTape() as tape:
        start = [tf.convert_to_tensor(weight) for weight in block_weights]
        tape.watch(start)
        query_logits = adapted_query_logits(
            zero_head(start, episode["support"], n_way),
            episode["support"],
            episode["support_labels"],
            episode["query"],
            steps,
            learning_rate,
            first_order=first_order,
        )
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(query_labels, tf.int32), query_logits)
        )
    return tape.gradient(loss, start), loss, accuracy_of(query_logits, query_labels)


def reptile_task_difference(
    block_weights: list,
    images: tf.Tensor,
    labels: tf.Tensor,
    steps: int,
    learning_rate: float,
    *,
    batch_size: int = 0,
) -> tuple[list[tf.Tensor], tf.Tensor, tf.Tensor]:
    """Reptile's step for one task: (initial - adapted) block weights, after ``adapt`` on its images.

    images (B, H, H, 1) float32, labels (B,) int in [0, N). The head starts at zero for every task
    and is not part of the initialisation, so only the blocks' weights move. With ``batch_size`` 0
    every inner step takes all the images; otherwise the images are dealt out class by class
    (``class_balanced_order``) and each step takes the next ``batch_size`` of them, as Nichol et
    al. do: their analysis shows Reptile's gain over joint training comes from the steps seeing
    *different* minibatches of a task. Returns (differences, one per block weight; the adapted
    network's loss and accuracy on all the images, scalar float32).
    """
    n_way = tf.reduce_max(labels) + 1
    if batch_size:
        order = class_balanced_order(labels)
        images, labels = tf.gather(images, order), tf.gather(labels, order)
    start = [tf.convert_to_tensor(weight) for weight in block_weights]
    adapted = adapt(zero_head(start, images, n_way), images, labels, steps, learning_rate, batch_size=batch_size)
    fitted = logits(adapted, images)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(labels, tf.int32), fitted))
    differences = [initial - moved for initial, moved in zip(start, adapted[:-2], strict=True)]
    return differences, loss, accuracy_of(fitted, labels)


def accuracy_of(task_logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Scalar float32 fraction of rows of (B, N) logits whose largest entry is the label (B,)."""
    predicted = tf.argmax(task_logits, axis=-1, output_type=tf.int32)
    return tf.reduce_mean(tf.cast(predicted == tf.cast(labels, tf.int32), tf.float32))
