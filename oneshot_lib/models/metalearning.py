"""Optimisation-based meta-learning: MAML, first-order MAML and Reptile, on a Conv-4 network.

Metric-based methods (``oneshot_lib.models.episodic``) learn an embedding and compare; the methods here
learn an *initialisation*: weights from which a few gradient steps on a task's support set give a
good classifier for that task. Each task is learnt by an *inner loop*; the initialisation by an
*outer loop* over many tasks.

- MAML (Finn, Abbeel and Levine, 2017): adapt to a task by ``inner_steps`` steps of gradient
  descent on its support set, score the adapted weights on its queries, and move the
  initialisation down the gradient of that query loss *through* the inner steps (a gradient of a
  gradient: nested ``tf.GradientTape``, second order).
- First-order MAML: the same, with the inner gradients treated as constants
  (``tf.stop_gradient``): the outer gradient is the query loss's gradient at the adapted weights.
- Reptile (Nichol, Achiam and Schulman, 2018): adapt on a task's images for ``inner_steps``
  steps, and move the initialisation toward the adapted weights: the difference
  (initial - adapted), averaged over the meta-batch, is handed to the run's optimiser as the
  gradient (with plain SGD at rate epsilon this is ``theta <- theta + epsilon * (adapted - theta)``).

The inner loop and each task's outer-loop step are written on the network as a function of its
weights (``oneshot_lib.models.adaptation``, which says how batch normalisation and the head are
treated). ``MAML`` and ``Reptile`` are Keras models (trained by ``model.fit`` with the run machinery:
``python -m oneshot_lib.train --model maml|reptile``, see ``oneshot_lib.training.families``) whose ``scorer()``
adapts on each task's support set inside ``scores`` (``AdaptingScorer``).
"""

from __future__ import annotations

import numpy as np

from oneshot_lib.backend import keras, tf
from oneshot_lib.data.tasks import check_whole_number
from oneshot_lib.models.adaptation import (
    adapted_query_logits,
    maml_task_gradients,
    reptile_task_difference,
    zero_head,
)
from oneshot_lib.models.backbones import BackboneModel
from oneshot_lib.models.conv4 import IMAGE_SIZE, prepare_images
from oneshot_lib.scoring.rules import check_support_labels

# ------------------------------------------------------------------ the models


class MetaLearner(BackboneModel):
    """A Conv-4 initialisation trained by an outer loop over meta-batches of tasks.

    ``train_step`` takes a meta-batch ``(episodes, query_labels)``: ``episodes`` a dict of
    "support" (T, S, H, H, 1) float32, "support_labels" (T, S) int, "query" (T, Q, H, H, 1)
    float32, and query_labels (T, Q) int (``episodic.episode_dataset`` batched by T). It averages
    each task's outer gradient (``task_gradients``, by the subclass) and lets the optimiser apply
    it, so ``model.fit`` and the run machinery train it like any model. ``call(episode)`` returns
    one episode's adapted query logits (Q, N), with ``test_inner_steps`` steps.

    Args:
        inner_steps: gradient steps on each training task.
        inner_learning_rate: the inner loop's step size (plain gradient descent).
        test_inner_steps: gradient steps on a task's support set when scoring.
        backbone: must be "conv4" (the functional network is Conv-4's).
    """

    method = "meta-learner"
    #: The fewest inner steps on a training task from which the initialisation learns anything.
    minimum_inner_steps = 1

    def __init__(
        self,
        *args,
        inner_steps: int = 5,
        inner_learning_rate: float = 0.1,
        test_inner_steps: int = 5,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        if self.backbone != "conv4":
            raise ValueError(f"{self.method} is written for the conv4 backbone, got {self.backbone!r}")
        check_inner_loop(inner_steps, inner_learning_rate, test_inner_steps)
        if inner_steps < self.minimum_inner_steps:
            raise ValueError(
                f"{self.method} needs inner_steps >= {self.minimum_inner_steps}: with a head that starts at "
                "zero, the first inner step moves only the head, so the blocks would never move"
            )
        self.inner_steps = int(inner_steps)
        self.inner_learning_rate = float(inner_learning_rate)
        self.test_inner_steps = int(test_inner_steps)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy_tracker = keras.metrics.Mean(name="accuracy")
        self.built = True  # every weight exists now; loading a checkpoint needs no sample input

    @property
    def block_weights(self) -> list:
        """The initialisation: the Conv-4 blocks' trainable weights (kernel, bias, gamma, beta per block)."""
        return self.embedding.trainable_weights

    @property
    def metrics(self) -> list:
        return [self.loss_tracker, self.accuracy_tracker]

    def call(self, episode: dict[str, tf.Tensor], training: bool | None = None) -> tf.Tensor:
        support, labels = episode["support"], episode["support_labels"]
        start = zero_head([tf.convert_to_tensor(w) for w in self.block_weights], support, tf.reduce_max(labels) + 1)
        return adapted_query_logits(
            start, support, labels, episode["query"], self.test_inner_steps, self.inner_learning_rate
        )

    def task_gradients(self, task: tuple) -> tuple[list[tf.Tensor], tf.Tensor, tf.Tensor]:
        """(gradient per block weight, loss, accuracy) of one task (support, labels, query, query labels)."""
        raise NotImplementedError

    def train_step(self, data):
        episodes, query_labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        tasks = (episodes["support"], episodes["support_labels"], episodes["query"], query_labels)
        signature = (
            [tf.TensorSpec(weight.shape, tf.float32) for weight in self.block_weights],
            tf.TensorSpec((), tf.float32),
            tf.TensorSpec((), tf.float32),
        )
        gradients, losses, accuracies = tf.map_fn(self.task_gradients, tasks, fn_output_signature=signature)
        mean_gradients = [tf.reduce_mean(gradient, axis=0) for gradient in gradients]
        self.optimizer.apply_gradients(zip(mean_gradients, self.block_weights, strict=True))
        self.loss_tracker.update_state(tf.reduce_mean(losses))
        self.accuracy_tracker.update_state(tf.reduce_mean(accuracies))
        return {metric.name: metric.result() for metric in self.metrics}

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "inner_steps": self.inner_steps,
            "inner_learning_rate": self.inner_learning_rate,
            "test_inner_steps": self.test_inner_steps,
        }

    def scorer(self, steps: int | None = None, head_only: bool = False) -> AdaptingScorer:
        """A scorer that adapts this initialisation (as it is now) on each task's support set.

        ``steps`` defaults to ``test_inner_steps``; ``head_only`` adapts only the head (ANIL's test).
        """
        return AdaptingScorer(
            self.embedding,
            self.image_size,
            self.test_inner_steps if steps is None else steps,
            self.inner_learning_rate,
            head_only=head_only,
            name=self.method,
        )


@keras.saving.register_keras_serializable(package="oneshot")
class MAML(MetaLearner):
    """Finn et al.'s MAML: the outer gradient of the query loss through the inner loop.

    ``first_order=True`` drops the second derivatives (first-order MAML).
    """

    method = "MAML"

    def __init__(self, *args, first_order: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.first_order = bool(first_order)
        if self.first_order:
            self.method = "first-order MAML"

    def task_gradients(self, task):
        support, support_labels, query, query_labels = task
        episode = {"support": support, "support_labels": support_labels, "query": query}
        return maml_task_gradients(
            self.block_weights,
            episode,
            query_labels,
            self.inner_steps,
            self.inner_learning_rate,
            first_order=self.first_order,
        )

    def get_config(self) -> dict:
        return {**super().get_config(), "first_order": self.first_order}


@keras.saving.register_keras_serializable(package="oneshot")
class Reptile(MetaLearner):
    """Nichol et al.'s Reptile: adapt on all of a task's images, then step toward the adapted weights.

    The "gradient" handed to the optimiser is (initial - adapted), averaged over the meta-batch;
    with ``keras.optimizers.SGD(epsilon)`` the step is exactly Reptile's
    ``theta <- theta + epsilon * (mean adapted - theta)``, and Nichol et al. note that Adam can
    take it instead. Each training task adapts on its support and query images together (Reptile
    has no train/test split within a task); the reported loss and accuracy are the adapted
    network's on those images. ``inner_batch_size`` > 0 makes each inner step take the next
    minibatch of that many of them (Nichol et al.'s setting) instead of all. The head starts at
    zero, so the first inner step moves only the head: Reptile needs at least 2 inner steps for the
    blocks' weights to move at all.
    """

    method = "Reptile"
    minimum_inner_steps = 2

    def __init__(self, *args, inner_batch_size: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        check_whole_number("inner_batch_size", inner_batch_size, 0, " (0: all of a task's images)")
        self.inner_batch_size = int(inner_batch_size)

    def task_gradients(self, task):
        support, support_labels, query, query_labels = task
        images = tf.concat([support, query], axis=0)
        labels = tf.concat([tf.cast(support_labels, tf.int32), tf.cast(query_labels, tf.int32)], axis=0)
        return reptile_task_difference(
            self.block_weights,
            images,
            labels,
            self.inner_steps,
            self.inner_learning_rate,
            batch_size=self.inner_batch_size,
        )

    def get_config(self) -> dict:
        return {**super().get_config(), "inner_batch_size": self.inner_batch_size}


METHODS: dict[str, type[MetaLearner]] = {"maml": MAML, "reptile": Reptile}


def build_metalearner(method: str, *, seed: int | None = None, **kwargs) -> MetaLearner:
    """A new, uncompiled ``MAML`` or ``Reptile`` model (``method`` "maml" or "reptile").

    ``seed`` seeds Keras's initialisers; ``kwargs`` go to the model (backbone arguments,
    ``inner_steps``, ``inner_learning_rate``, ``test_inner_steps``, and ``first_order`` for MAML).
    Raises ValueError for an unknown method or bad inner-loop values.
    """
    if method not in METHODS:
        raise ValueError(f"unknown meta-learning method {method!r}: choose one of {sorted(METHODS)}")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    return METHODS[method](name=method, **kwargs)


def check_inner_loop(steps: int, learning_rate: float, test_steps: int) -> None:
    """Raise ValueError unless the step counts are whole numbers >= 1 and the rate finite and positive."""
    check_whole_number("inner_steps", steps, 1)
    check_whole_number("test_inner_steps", test_steps, 1)
    if not (isinstance(learning_rate, int | float) and np.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"inner_learning_rate must be a finite number above 0, got {learning_rate!r}")


# ------------------------------------------------------------------ scoring: the inner loop at test time


class AdaptingScorer:
    """A meta-learnt initialisation as a scorer: it adapts on each task's support set, then scores.

    ``class_scores(query, support, support_labels, n_way)`` starts from the initialisation with a
    zero N-way head, takes ``steps`` gradient steps (rate ``learning_rate``) on the support images,
    and returns the queries' (Q, n_way) float64 logits, batch-normalised with the support set's
    statistics. ``scores(query, support)`` does the same with each support image a class of its
    own, so with one shot a support image scores as its class's logit and ``evaluate``'s rules
    (the class mean of image scores; this scorer's ``class_scores`` with k shots) pick the
    adapted classifier's class. Images are raw drawings (n, H, H), resized to ``image_size``.

    The inner loop is traced once per task shape (``tf.function``); the initialisation is read
    from ``embedding``'s weights at every call.
    """

    def __init__(
        self,
        embedding: keras.Model,
        image_size: int = IMAGE_SIZE,
        steps: int = 5,
        learning_rate: float = 0.1,
        *,
        head_only: bool = False,
        name: str = "meta-learner",
    ):
        check_inner_loop(steps, learning_rate, steps)
        self.embedding = embedding
        self.image_size = image_size
        self.steps = steps
        self.learning_rate = learning_rate
        self.head_only = head_only
        self.name = name
        self._adapt = tf.function(self._adapted_logits, reduce_retracing=True)

    def _adapted_logits(self, support, support_labels, query, n_way):
        start = zero_head([tf.convert_to_tensor(w) for w in self.embedding.trainable_weights], support, n_way)
        return adapted_query_logits(
            start, support, support_labels, query, self.steps, self.learning_rate, head_only=self.head_only
        )

    def with_options(self, *, steps: int | None = None, head_only: bool | None = None) -> AdaptingScorer:
        """The same initialisation, adapting with another number of steps, or the head only (ANIL's test)."""
        return AdaptingScorer(
            self.embedding,
            self.image_size,
            self.steps if steps is None else steps,
            self.learning_rate,
            head_only=self.head_only if head_only is None else head_only,
            name=self.name,
        )

    def scores(self, query: np.ndarray, support: np.ndarray) -> np.ndarray:
        """(Q, S) float64 adapted logits of query (Q, H, H) images, each support (S, H, H) image its own class."""
        return self.class_scores(query, support, np.arange(len(support)), len(support))

    def class_scores(
        self, query: np.ndarray, support: np.ndarray, support_labels: np.ndarray, n_way: int
    ) -> np.ndarray:
        """(Q, n_way) float64 logits of query (Q, H, H) images after adapting on support (S, H, H)
        images with labels (S,) int in [0, n_way).

        Raises ValueError unless every class has a support image and query and support images are
        square images of one size.
        """
        check_same_image_size(query, support)
        labels = check_support_labels(support_labels, len(support), n_way)
        task_logits = self._adapt(
            prepare_images(support, self.image_size),
            tf.constant(labels, tf.int32),
            prepare_images(query, self.image_size),
            tf.constant(n_way, tf.int32),
        )
        return task_logits.numpy().astype(np.float64)


def check_same_image_size(query: np.ndarray, support: np.ndarray) -> None:
    """Raise ValueError unless query (Q, H, H) and support (S, H, H) hold square images of one size."""
    query_shape, support_shape = np.shape(query), np.shape(support)
    if len(query_shape) != 3 or len(support_shape) != 3 or query_shape[1:] != support_shape[1:]:
        raise ValueError(
            f"query and support must be stacks of images of one size, (Q, H, H) and (S, H, H); got "
            f"{query_shape} and {support_shape}. Pass the raw drawings of one task (105x105 for Omniglot)"
        )
    if query_shape[1] != query_shape[2]:
        raise ValueError(f"images must be square, got {query_shape[1]}x{query_shape[2]}")
