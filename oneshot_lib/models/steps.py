"""One training step, written out: what ``model.fit`` does for each batch.

``model.fit`` hides the loop that learning is made of. For one batch it runs the network
forwards under a ``tf.GradientTape``, adds the penalties the layers declare (L2) to the
cross-entropy, asks the tape for the gradient of that loss with respect to every trainable
weight, and lets the optimiser move each weight. ``training_step`` does exactly that, in a
dozen lines, so a chapter can show it and check that it moves the weights as Keras does;
``pair_training_step`` is it for a siamese network's batch of pairs (chapter 5) and
``episode_training_step`` for an episodic network's episode (chapter 7).
"""

from __future__ import annotations

from oneshot_lib.backend import keras, tf


def pair_training_step(model: keras.Model, inputs: dict, targets, optimizer: keras.optimizers.Optimizer) -> dict:
    """One gradient step of a siamese network on a batch of pairs; see ``training_step``.

    Args:
        model: a siamese network (``siamese.build_siamese``): {"left", "right"} -> (B, 1)
            probability of "same".
        inputs: {"left": (B, 105, 105), "right": (B, 105, 105)} float32 images, ink 1.
        targets: (B,) float32, 1.0 for a pair of one character, 0.0 otherwise.
        optimizer: the optimiser that moves the weights (its state, e.g. Adam's moments, advances).
    """
    targets = tf.convert_to_tensor(targets, tf.float32)
    return training_step(model, inputs, targets, keras.losses.BinaryCrossentropy(), optimizer)


def episode_training_step(
    model: keras.Model, episode: dict, query_labels, optimizer: keras.optimizers.Optimizer
) -> dict:
    """One gradient step of a prototypical or matching network on one episode; see ``training_step``.

    Args:
        model: an episodic network (``episodic.build_episodic``): episode -> (Q, N) logits.
        episode: {"support": (S, H, H, 1) float32, "support_labels": (S,) int, "query": (Q, H, H, 1)
            float32}, as ``episodic.episode_dataset`` streams it.
        query_labels: (Q,) int in [0, N), each query's class.
        optimizer: the optimiser that moves the weights.
    """
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    return training_step(model, episode, tf.convert_to_tensor(query_labels), loss, optimizer)


def training_step(
    model: keras.Model, inputs, targets, cross_entropy: keras.losses.Loss, optimizer: keras.optimizers.Optimizer
) -> dict:
    """One gradient step of ``model`` on one batch, measured before the weights move.

    Returns {"loss": cross-entropy + penalty, "cross_entropy": the batch's mean cross-entropy,
    "penalty": the sum of the layers' penalties (0 without any), "gradient_norms": {weight path:
    L2 norm of its gradient}}, all Python floats.
    """
    with tf.GradientTape() as tape:
        outputs = model(inputs, training=True)
        data_loss = cross_entropy(targets, outputs)
        penalty = tf.add_n(model.losses) if model.losses else tf.constant(0.0)
        loss = data_loss + penalty
    weights = model.trainable_weights
    gradients = tape.gradient(loss, weights)
    norms = {weight.path: float(tf.norm(gradient)) for weight, gradient in zip(weights, gradients, strict=True)}
    optimizer.apply_gradients(zip(gradients, weights, strict=True))
    measured = {"loss": loss, "cross_entropy": data_loss, "penalty": penalty}
    return {**{name: float(value) for name, value in measured.items()}, "gradient_norms": norms}
