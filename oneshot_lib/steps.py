"""One training step of a siamese network, written out: what ``model.fit`` does for each batch.

``model.fit`` hides the loop that learning is made of. For one batch of pairs it runs the
network forwards under a ``tf.GradientTape``, adds the L2 penalties the layers declare to the
cross-entropy, asks the tape for the gradient of that loss with respect to every trainable
weight, and lets the optimiser move each weight. ``pair_training_step`` does exactly that, in
a dozen lines, so a chapter can show it and check that it moves the weights as Keras does.
"""

from __future__ import annotations

from .backend import keras, tf


def pair_training_step(model: keras.Model, inputs: dict, targets, optimizer: keras.optimizers.Optimizer) -> dict:
    """One gradient step of ``model`` on a batch of pairs; returns what it measured.

    Args:
        model: a siamese network (``siamese.build_siamese``): {"left", "right"} -> (B, 1)
            probability of "same".
        inputs: {"left": (B, 105, 105), "right": (B, 105, 105)} float32 images, ink 1.
        targets: (B,) float32, 1.0 for a pair of one character, 0.0 otherwise.
        optimizer: the optimiser that moves the weights (its state, e.g. Adam's moments, advances).

    Returns:
        {"loss": cross-entropy + penalty, "cross_entropy": mean binary cross-entropy over the
        batch, "penalty": the sum of the layers' L2 penalties, "gradient_norms": {weight path:
        L2 norm of its gradient}}, all Python floats, measured before the weights moved.
    """
    targets = tf.convert_to_tensor(targets, tf.float32)
    with tf.GradientTape() as tape:
        probabilities = model(inputs, training=True)
        cross_entropy = keras.losses.BinaryCrossentropy()(targets, probabilities)
        penalty = tf.add_n(model.losses) if model.losses else tf.constant(0.0)
        loss = cross_entropy + penalty
    weights = model.trainable_weights
    gradients = tape.gradient(loss, weights)
    norms = {weight.path: float(tf.norm(gradient)) for weight, gradient in zip(weights, gradients, strict=True)}
    optimizer.apply_gradients(zip(gradients, weights, strict=True))
    measured = {"loss": loss, "cross_entropy": cross_entropy, "penalty": penalty}
    return {**{name: float(value) for name, value in measured.items()}, "gradient_norms": norms}
