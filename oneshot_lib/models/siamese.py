"""Koch's siamese network and a CPU-sized sibling, from one builder; the siamese scorer.

A siamese network (Koch, Zemel and Salakhutdinov, 2015) runs two images through one
*embedding* network (the twins share every weight), joins the two embeddings by their
component-wise absolute difference (the L1 join: a vector, whose sum would be the L1 distance),
and reads the probability that both images show the same character from a single sigmoid unit
on that difference: a learned similarity, since its weights may be positive or negative. Because
``|a - b| == |b - a|`` exactly, swapping the two images gives exactly the same probability.

Koch's network (``ARCHITECTURES["koch"]``) reads 105x105 images: conv 64@10x10, conv 128@7x7,
conv 128@4x4 (each followed by ReLU and 2x2 max-pooling), conv 256@4x4 with ReLU, then a dense
layer of 4096 sigmoid units: 38,951,745 parameters, 96.9% of them in that dense layer. It is
initialised as in the paper (convolution weights N(0, 0.01), all biases N(0.5, 0.01), dense
weights N(0, 0.2)) and penalised with the blog's L2 weights (2e-4 on convolution kernels,
1e-3 on the dense kernel).

The CPU-sized sibling (``ARCHITECTURES["cpu"]``) is the same builder with a 52x52 input (the
drawing shrunk by area averaging), kernels scaled to that size (5, 3, 3, 2), a quarter of the
filters (16, 32, 32, 64) and 512 dense units: 318,497 parameters, a 1.3 MB weights file. It
was chosen by measurement on this course's machine (2 CPU cores), at batch 128 with Adam and
augmentation on: time per training step (``model.fit`` on ``pairs.pair_dataset``, idle
machine), and 20-way within-alphabet one-shot accuracy on the 320 fixed validation tasks
(``callbacks.OneShotValidation``) after 600 steps and after 3 minutes (learning rate 1e-3):

==========================================  ==========  =======  =======  =========  =========
input, filters, kernels, dense units        parameters  s/step   pairs/s  600 steps  3 minutes
==========================================  ==========  =======  =======  =========  =========
105, 64-128-128-256, 10-7-4-4, 4096 (Koch)  38,951,745  6.83     19       -          -
52, 32-64-64-128, 5-4-3-3, 512              407,617     0.298    429      27.6%      27.6% *
35, 32-64-64-128, 3-3-2-2, 512              331,329     0.098    1,308    22.7%      31.8% *
52, 16-32-32-64, 5-3-3-2, 512 (chosen)      318,497     0.083    1,551    28.7%      42.4%
==========================================  ==========  =======  =======  =========  =========

(* measured while another training job shared the 2 cores, so fewer steps fitted in 3
minutes; the 600-step column is unaffected.) Four times the filters learn no faster per step
and cost 3.6 times more per step; a 35x35 input learns less per step. Koch's network takes
6.8 s per step here: an hour of training is ~530 steps, 68,000 pairs, while the sibling sees
~5.6 million. The standard error of each validation accuracy is about 1.3 points.

Images go in as (N, 105, 105) float32, ink 1 and paper 0; the embedding network resizes them
itself, so every caller (training pipeline, scorer) feeds raw-sized drawings.

The module runs past 400 lines (this docstring, with its measurements, is 46 of them): one
network's architectures, builder, checkpoint checks and scorer. Its seam, if it grows, is the
checkpoint checks (``CheckpointMismatchError``, ``load_weights``), which only the siamese kind
uses; they stay here because errors and docstrings across the course name them as ``siamese.``'s.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from oneshot_lib.backend import keras, tf
from oneshot_lib.models import conv4
from oneshot_lib.scoring.images import ink_images

layers, ops = keras.layers, keras.ops

#: Side of the images every siamese network takes as input (Omniglot's, before resizing).
IMAGE_SIZE = 105


@dataclass(frozen=True)
class Architecture:
    """The sizes that tell Koch's network from its CPU-sized sibling.

    Attributes:
        input_size: side of the square image the first convolution reads (105: no resizing).
        filters: filters of the four convolutions.
        kernels: kernel side of the four convolutions.
        dense_units: size of the embedding (the sigmoid dense layer).
    """

    input_size: int = 105
    filters: tuple[int, int, int, int] = (64, 128, 128, 256)
    kernels: tuple[int, int, int, int] = (10, 7, 4, 4)
    dense_units: int = 4096

    @classmethod
    def from_json(cls, values: dict) -> Architecture:
        """The architecture ``describe`` (or ``dataclasses.asdict``) wrote, lists back to tuples."""
        return cls(**{name: tuple(value) if isinstance(value, list) else value for name, value in values.items()})

    def feature_map_sides(self) -> list[int]:
        """Side of the feature map after each convolution (before its pooling).

        Raises ValueError if a convolution would get a map smaller than its kernel.
        """
        sides, side = [], self.input_size
        for index, kernel in enumerate(self.kernels):
            if side < kernel:
                raise ValueError(
                    f"architecture {self}: convolution {index + 1} gets a {side}x{side} map, smaller than "
                    f"its {kernel}x{kernel} kernel; use a larger input_size or smaller kernels"
                )
            side = side - kernel + 1
            sides.append(side)
            if index < len(self.kernels) - 1:
                side //= 2
        return sides


#: Koch's network, and the CPU-sized sibling chosen by measurement (see the module docstring).
ARCHITECTURES: dict[str, Architecture] = {
    "koch": Architecture(),
    "cpu": Architecture(input_size=52, filters=(16, 32, 32, 64), kernels=(5, 3, 3, 2), dense_units=512),
}

#: Koch's initialisation: standard deviations of the weights, and the biases' mean and std.
CONV_WEIGHT_STD = 1e-2
DENSE_WEIGHT_STD = 2e-1
BIAS_MEAN, BIAS_STD = 0.5, 1e-2
#: The blog's L2 penalties (Koch tuned one per layer; the blog uses these two).
L2_CONV = 2e-4
L2_DENSE = 1e-3


#: The name of the other twin a siamese network can have: the Conv-4 embedding of the episodic
#: networks (``oneshot_lib.models.conv4``, 28x28, batch normalisation), so that training on pairs can be
#: compared with training on episodes with everything else equal (chapter 8).
CONV4_TWIN = "conv4"


def architecture(size: str | Architecture) -> Architecture:
    """``ARCHITECTURES[size]``, or ``size`` itself if it is an Architecture.

    Raises ValueError for an unknown name, listing the known ones.
    """
    if isinstance(size, Architecture):
        return size
    if size not in ARCHITECTURES:
        known = sorted([*ARCHITECTURES, CONV4_TWIN])
        raise ValueError(f"unknown siamese size {size!r}: choose one of {known}")
    return ARCHITECTURES[size]


def check_size(size: str | Architecture) -> None:
    """Raise ValueError, listing the known sizes, unless ``size`` names a twin ``build_siamese`` knows."""
    if size != CONV4_TWIN:
        architecture(size)


@keras.saving.register_keras_serializable(package="oneshot")
class L1Distance(layers.Layer):
    """The twins' join: ``|a - b|`` component-wise, (B, D) from two (B, D) embeddings.

    Symmetric exactly, in floating point too, since ``|a - b|`` and ``|b - a|`` round alike.
    """

    def call(self, inputs):
        first, second = inputs
        return ops.abs(first - second)

    def compute_output_shape(self, input_shape):
        return input_shape[0]


def _normal(mean: float, std: float, seed: int | None, offset: int) -> keras.initializers.RandomNormal:
    # One seed per initialiser: two initialisers with one seed would draw the same numbers.
    return keras.initializers.RandomNormal(mean, std, seed=None if seed is None else seed + offset)


def build_embedding(
    size: str | Architecture = "cpu",
    *,
    seed: int | None = None,
    l2_conv: float = L2_CONV,
    l2_dense: float = L2_DENSE,
    prepared: bool = False,
) -> keras.Model:
    """The twin: (N, 105, 105) float32 images (ink 1) -> (N, dense_units) float32 embeddings.

    With ``prepared``, the input is (N, input_size, input_size, 1), already resized (as
    ``conv4.prepare_images`` gives it): the twin as a backbone of the episodic networks.

    Resizes to ``input_size`` by area averaging (thin strokes turn grey rather than vanish),
    then runs the four convolutions (ReLU; 2x2 max-pooling after the first three), flattens,
    and ends with a dense layer of sigmoid units. Weights use Koch's initialisation, seeded
    by ``seed`` when given; kernels carry L2 penalties ``l2_conv`` and ``l2_dense``.

    ``size="conv4"`` gives the Conv-4 embedding instead (``conv4.build_embedding`` on the drawing
    shrunk to 28x28; no L2 penalty, batch normalisation), with the same input and the name
    ``embedding``, so the siamese network and its scorer work unchanged.

    Raises ValueError for an unknown size or an architecture whose maps shrink below a kernel.
    """
    if size == CONV4_TWIN:
        return _conv4_twin()
    arch = architecture(size)
    arch.feature_map_sides()
    if prepared:
        images = x = keras.Input((arch.input_size, arch.input_size, 1), name="images")
    else:
        images = keras.Input((IMAGE_SIZE, IMAGE_SIZE), name="images")
        x = layers.Reshape((IMAGE_SIZE, IMAGE_SIZE, 1), name="add_channel")(images)
    if not prepared and arch.input_size != IMAGE_SIZE:
        x = layers.Resizing(arch.input_size, arch.input_size, interpolation="area", name="resize")(x)
    for index, (filters, kernel) in enumerate(zip(arch.filters, arch.kernels, strict=True)):
        x = layers.Conv2D(
            filters,
            kernel,
            activation="relu",
            kernel_initializer=_normal(0.0, CONV_WEIGHT_STD, seed, 2 * index),
            bias_initializer=_normal(BIAS_MEAN, BIAS_STD, seed, 2 * index + 1),
            kernel_regularizer=keras.regularizers.L2(l2_conv),
            name=f"conv_{index + 1}",
        )(x)
        if index < len(arch.filters) - 1:
            x = layers.MaxPooling2D(name=f"pool_{index + 1}")(x)
    x = layers.Flatten(name="flatten")(x)
    features = layers.Dense(
        arch.dense_units,
        activation="sigmoid",
        kernel_initializer=_normal(0.0, DENSE_WEIGHT_STD, seed, 8),
        bias_initializer=_normal(BIAS_MEAN, BIAS_STD, seed, 9),
        kernel_regularizer=keras.regularizers.L2(l2_dense),
        name="features",
    )(x)
    return keras.Model(images, features, name="embedding")


def _conv4_twin() -> keras.Model:
    images = keras.Input((IMAGE_SIZE, IMAGE_SIZE), name="images")
    x = layers.Reshape((IMAGE_SIZE, IMAGE_SIZE, 1), name="add_channel")(images)
    x = layers.Resizing(conv4.IMAGE_SIZE, conv4.IMAGE_SIZE, interpolation="area", name="resize")(x)
    features = conv4.build_embedding(conv4.IMAGE_SIZE, name="conv4_embedding")(x)
    return keras.Model(images, features, name="embedding")


def build_siamese(
    size: str | Architecture = "cpu",
    *,
    seed: int | None = None,
    l2_conv: float = L2_CONV,
    l2_dense: float = L2_DENSE,
) -> keras.Model:
    """A siamese network: [left, right] -> (B, 1) float32 probability of "same character".

    Args:
        size: ``"koch"`` (Koch's 38,951,745-parameter network), ``"cpu"`` (the CPU-sized
            sibling), an ``Architecture``, or ``"conv4"`` (the episodic networks' embedding).
        seed: seeds every weight initialiser, so one seed builds one network.
        l2_conv, l2_dense: L2 penalty factors on the convolution and dense kernels (Keras adds
            them to the loss during training).

    Inputs ``left`` and ``right`` are (B, 105, 105) float32, ink 1 and paper 0. Both go
    through the same ``embedding`` sub-model; the layer ``l1_distance`` joins them, the dense
    unit ``head`` gives a logit and ``probability`` its sigmoid. The model is not compiled.

    Raises ValueError for an unknown size.
    """
    embedding = build_embedding(size, seed=seed, l2_conv=l2_conv, l2_dense=l2_dense)
    left = keras.Input((IMAGE_SIZE, IMAGE_SIZE), name="left")
    right = keras.Input((IMAGE_SIZE, IMAGE_SIZE), name="right")
    distance = L1Distance(name="l1_distance")([embedding(left), embedding(right)])
    logit = layers.Dense(
        1,
        kernel_initializer=_normal(0.0, DENSE_WEIGHT_STD, seed, 10),
        bias_initializer=_normal(BIAS_MEAN, BIAS_STD, seed, 11),
        name="head",
    )(distance)
    probability = layers.Activation("sigmoid", name="probability")(logit)
    name = size if isinstance(size, str) else "custom"
    return keras.Model([left, right], probability, name=f"siamese_{name}")


def describe(size: str | Architecture) -> dict:
    """The twin's architecture as a JSON-ready dict (for configs and reports); see ``from_description``."""
    if size == CONV4_TWIN:
        return {"twin": CONV4_TWIN, "image_size": conv4.IMAGE_SIZE}
    return asdict(architecture(size))


def from_description(description: dict) -> str | Architecture:
    """The ``size`` that ``describe`` described, for ``build_siamese``."""
    if description.get("twin") == CONV4_TWIN:
        return CONV4_TWIN
    return Architecture.from_json(description)


# ------------------------------------------------------------------ checkpoints


class CheckpointMismatchError(ValueError):
    """A weights file does not fit the model it is loaded into."""


def weight_shapes(model: keras.Model) -> dict[str, list[tuple[int, ...]]]:
    """{layer name: [shape of each weight]} for every layer of ``model`` that has weights."""
    shapes: dict[str, list[tuple[int, ...]]] = {}
    for weight in model.weights:
        # The layer that owns the weight: the path's last folder (a nested model adds its own).
        shapes.setdefault(weight.path.split("/")[-2], []).append(tuple(weight.shape))
    return shapes


def checkpoint_weight_shapes(path: str | Path) -> dict[str, list[tuple[int, ...]]]:
    """{layer name: [shape of each weight]} stored in a Keras ``.weights.h5`` file."""
    import h5py

    shapes: dict[str, list[tuple[int, ...]]] = {}

    def visit(name: str, item) -> None:
        if isinstance(item, h5py.Group) and name.split("/")[-1] == "vars" and len(item):
            if name.split("/")[0] == "layers":  # not the optimizer's variables
                layer = item.attrs.get("name", name)
                shapes[str(layer)] = [tuple(item[key].shape) for key in sorted(item, key=int)]

    with h5py.File(path, "r") as file:
        file.visititems(visit)
    return shapes


def load_weights(model: keras.Model, path: str | Path) -> keras.Model:
    """Load a ``.weights.h5`` checkpoint into ``model``, after checking that it fits.

    Returns ``model``. Raises FileNotFoundError if there is no such file, and
    CheckpointMismatchError, naming the layers and shapes that differ, if the checkpoint was
    saved from another architecture (Keras itself would skip or half-load such weights).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    if not path.name.endswith(".weights.h5"):
        raise ValueError(f"{path} is not a Keras weights file: the name must end in .weights.h5")
    found, expected = checkpoint_weight_shapes(path), weight_shapes(model)
    if found != expected:
        raise CheckpointMismatchError(_mismatch_message(path, model.name, found, expected))
    model.load_weights(path)
    return model


def _mismatch_message(path: Path, model_name: str, found: dict, expected: dict) -> str:
    problems = []
    for layer in expected:
        if layer not in found:
            problems.append(f"layer {layer!r} is missing from the checkpoint")
        elif found[layer] != expected[layer]:
            problems.append(f"layer {layer!r}: checkpoint has {found[layer]}, model has {expected[layer]}")
    problems += [f"the checkpoint has a layer {layer!r} the model lacks" for layer in found if layer not in expected]
    return (
        f"checkpoint {path} does not fit model {model_name!r}: "
        + "; ".join(problems[:5])
        + ("; ..." if len(problems) > 5 else "")
        + ". Build the model with the architecture the checkpoint was trained with (see the config.json "
        "beside it, e.g. build_siamese('cpu') or build_siamese('koch'))."
    )


# ------------------------------------------------------------------ the scorer


def as_model_input(images: np.ndarray) -> np.ndarray:
    """(N, 105, 105) float32, ink 1, from raw images as ``evaluate.ink_images`` reads them (bool ink
    masks, floats with ink 1, or uint8 as image files hold them).

    Raises ValueError if the images are not (N, 105, 105), or not what ``ink_images`` reads.
    """
    images = ink_images(images)
    if images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(
            f"expected images of shape (N, {IMAGE_SIZE}, {IMAGE_SIZE}), as Omniglot loads them; got {images.shape}"
        )
    return images.astype(np.float32)


class SiameseScorer:
    """A trained siamese network as a scorer (see ``oneshot_lib.scoring.evaluate``).

    ``scores(query, support)`` embeds the queries and the support set once each, in batches,
    then applies only the head (L1 distance, dense unit, sigmoid) to all Q x S pairs at once:
    Q + S runs of the twin instead of 2 Q S. The scores are the probabilities of "same
    character", computed from the logits in float64 so that confident pairs do not all round
    to 1.0 and tie.
    """

    def __init__(self, model: keras.Model, *, batch_size: int = 256, name: str = "siamese"):
        self.model = model
        self.name = name
        self.batch_size = batch_size
        self.embedding = model.get_layer("embedding")
        self.head = model.get_layer("head")
        self.distance = model.get_layer("l1_distance")
        self._embed = tf.function(
            lambda images: self.embedding(images, training=False),
            input_signature=[tf.TensorSpec((None, IMAGE_SIZE, IMAGE_SIZE), tf.float32)],
        )
        self._pair_logits = tf.function(
            lambda query, support: self.head(self.distance([query, support]))[..., 0],
            input_signature=[
                tf.TensorSpec((None, 1, None), tf.float32),
                tf.TensorSpec((1, None, None), tf.float32),
            ],
        )

    @classmethod
    def from_checkpoint(cls, path: str | Path, size: str | Architecture = "cpu", **kwargs) -> SiameseScorer:
        """A scorer from a ``.weights.h5`` checkpoint of a ``size`` network (see ``load_weights``)."""
        return cls(load_weights(build_siamese(size), path), **kwargs)

    def embed(self, images: np.ndarray) -> np.ndarray:
        """(N, D) float32 embeddings of raw images (N, 105, 105), batch by batch."""
        images = as_model_input(images)
        batches = [
            self._embed(tf.constant(images[start : start + self.batch_size]))
            for start in range(0, len(images), self.batch_size)
        ]
        if not batches:
            return np.zeros((0, self.embedding.output_shape[-1]), np.float32)
        return ops.convert_to_numpy(ops.concatenate(batches, axis=0))

    def logits(self, query: np.ndarray, support: np.ndarray, max_pairs: int = 65536) -> np.ndarray:
        """(Q, S) float32 head logits from query (Q, D) and support (S, D) embeddings.

        The model's own ``l1_distance`` and ``head`` layers run on all pairs at once, formed by
        broadcasting (Q, 1, D) against (1, S, D), ``max_pairs`` pairs at a time to bound memory.
        """
        rows = max(1, max_pairs // max(len(support), 1))
        support = tf.constant(support[None], tf.float32)
        chunks = [
            self._pair_logits(tf.constant(query[start : start + rows, None], tf.float32), support)
            for start in range(0, len(query), rows)
        ]
        if not chunks:
            return np.zeros((0, support.shape[1]), np.float32)
        return ops.convert_to_numpy(ops.concatenate(chunks, axis=0))

    def compare(self, query: np.ndarray, support: np.ndarray) -> np.ndarray:
        """(Q, S) float64 probabilities of "same" from query (Q, D) and support (S, D) embeddings."""
        return 1.0 / (1.0 + np.exp(-self.logits(query, support).astype(np.float64)))

    def scores(self, query: np.ndarray, support: np.ndarray) -> np.ndarray:
        """(Q, S) float64 probability that query i and support image j show one character.

        Takes raw images, query (Q, 105, 105) and support (S, 105, 105), bool or 0/1.
        Raises ValueError for images of another shape.
        """
        return self.compare(self.embed(query), self.embed(support))

    def pair_probabilities(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """(B,) float32 probabilities for B explicit pairs, by the full network (both twins)."""
        prediction = self.model.predict_on_batch([as_model_input(left), as_model_input(right)])
        return np.asarray(prediction)[:, 0]
